/*
 * core.c - the order of decisions for one transaction (core.h).
 *
 * Signature work comes before journaling so that in bcc mode the journal
 * receives the message as delivered, unless that copy was stripped (then
 * delivery.c sends the journal the original).  An internal failure of
 * the core never lets a message through unjournaled: on_error = tempfail
 * refuses it, and on_error = accept passes it unchanged but still
 * journaled.  (What happens when the MTA refuses an edit is the
 * session's business: session.c.)
 */
#include <string.h>
#include "core.h"
#include "delivery.h"
#include "journal.h"
#include "sigpolicy.h"
#include "smime.h"

const char *sjm_core_check_rcpt(const sjm_config *cfg, const sjm_txn *txn, const char *rcpt)
{
    return sjm_journal_check_rcpt(cfg, txn, rcpt);
}

/* Recipients who get signatures stripped, when mixed = split divides them,
 * as the client gave them (for the deletion and the copy's RCPT TO). */
static GPtrArray *split_strip_rcpts(const sjm_config *cfg, const sjm_txn *txn)
{
    if (cfg->sig_mixed != SJM_SIG_ACTION_SPLIT)
        return NULL;
    GPtrArray *strip = g_ptr_array_new_with_free_func(g_free);
    guint keep = 0;
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        /* A journal mailbox addressed directly keeps the original. */
        if (!sjm_journal_is_mailbox(cfg, r)
            && sjm_sigpolicy_for_rcpt(cfg, r) == SJM_SIG_ACTION_STRIP)
            g_ptr_array_add(strip, g_strdup(txn->rcpts_raw->len == txn->rcpts->len
                                            ? g_ptr_array_index(txn->rcpts_raw, i) : r));
        else
            keep++;
    }
    if (strip->len == 0 || keep == 0) {
        g_ptr_array_free(strip, TRUE);
        return NULL;
    }
    return strip;
}

static sjm_smime_mode smime_mode(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p)
{
    if (p->split_rcpts != NULL)
        return SJM_SMIME_SPLIT;
    return sjm_sigpolicy_for_message(cfg, txn->rcpts) == SJM_SIG_ACTION_STRIP
        ? SJM_SMIME_STRIP : SJM_SMIME_PRESERVE;
}

void sjm_core_open(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    if (p->opened)
        return;
    p->opened = TRUE;
    p->split_rcpts = split_strip_rcpts(cfg, txn);
    sjm_journal_open(cfg, txn, p);
    p->body_for_smime = sjm_smime_wants_body(cfg, txn, smime_mode(cfg, txn, p) != SJM_SMIME_PRESERVE);
    p->body_whole = sjm_delivery_wants_body(cfg, txn, p);
}

gboolean sjm_core_wants_body(const sjm_plan *p)
{
    return p->body_for_smime || p->body_for_journal || p->body_whole;
}

void sjm_core_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    sjm_core_open(cfg, txn, p);
    gboolean ok = !txn->body_failed && sjm_smime_process(cfg, txn, smime_mode(cfg, txn, p), p);
    if (!ok) {
        sjm_plan_reset_signature(p, SJM_SIGNATURE_ERROR);
        if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL) {
            sjm_plan_tempfail(p, SJM_REFUSAL_INTERNAL);
            p->journal.status = SJM_JOURNAL_SKIPPED;
            p->journal.reason = SJM_SKIP_TEMPFAIL;
            return;
        }
    }
    sjm_journal_finish(cfg, txn, p);
    sjm_delivery_plan(cfg, txn, p);
}
