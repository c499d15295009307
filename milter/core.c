/*
 * core.c - the order of decisions for one transaction.  Signature work
 * comes before journaling so that in bcc mode the journal receives the
 * message as delivered (SPEC section 5).  An internal failure of the
 * core never lets a message through unjournaled: on_error=tempfail
 * refuses it, and on_error=accept passes it unchanged but still
 * journaled.  (What happens when the MTA refuses an edit is the
 * session's business: session.c.)
 */
#include <string.h>
#include "core.h"
#include "journal.h"
#include "sigpolicy.h"
#include "smime.h"

const char *sjm_core_check_rcpt(const sjm_config *cfg, const sjm_txn *txn, const char *rcpt)
{
    return sjm_journal_check_rcpt(cfg, txn, rcpt);
}

static gboolean message_wants_strip(const sjm_config *cfg, const sjm_txn *txn)
{
    return sjm_sigpolicy_for_message(cfg, txn->rcpts) == SJM_SIG_ACTION_STRIP;
}

gboolean sjm_core_wants_body(const sjm_config *cfg, const sjm_txn *txn)
{
    return sjm_smime_wants_body(cfg, txn, message_wants_strip(cfg, txn)) ||
           sjm_journal_wants_body(cfg, txn);
}

/* Drop whatever the S/MIME step had put into V, keeping journal state. */
static void reset_signature_work(sjm_verdict *v, const char *summary)
{
    g_ptr_array_set_size(v->header_edits, 0);
    sjm_spool_free(v->new_body);
    v->new_body = NULL;
    sjm_verdict_set_signature(v, summary);
}

void sjm_core_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v)
{
    gboolean ok;

    if (txn->body_failed)
        ok = FALSE;
    else
        ok = sjm_smime_process(cfg, txn, message_wants_strip(cfg, txn), v);
    if (!ok) {
        reset_signature_work(v, "error");
        if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL) {
            sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                                  "Temporary filter failure, please try again later");
            sjm_verdict_set_journal(v, "skipped:tempfail");
            return;
        }
    }
    sjm_journal_apply(cfg, txn, v);
}
