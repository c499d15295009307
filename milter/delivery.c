/*
 * delivery.c - plan and submit the extra messages of a transaction
 * (what and why in delivery.h).
 *
 * Order matters for a fail-closed milter.  Everything here runs at end
 * of message before the adapter answers the MTA, so the transaction is
 * accepted only after every extra message was accepted by the MTA's
 * re-injection listener.  Journal messages go first: if a later
 * submission fails and the client retries, the repeated message is one
 * only the archive sees (and merges by Message-ID), never a second copy
 * in a person's mailbox.  The recipient deletions of a split are applied
 * by the adapter after the submissions, so an on_error=accept fallback
 * can still leave those recipients on the transaction.
 */
#include <string.h>
#include "delivery.h"
#include "bodyhash.h"
#include "journal.h"
#include "journal_report.h"
#include "log.h"
#include "mimehdr.h"
#include "mta_file.h"
#include "reinject_guard.h"
#include "smime.h"

gboolean sjm_delivery_wants_body(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p)
{
    if (cfg->journal_enabled && cfg->journal_mode == SJM_JOURNAL_MODE_REPORT
        && sjm_journal_may_add(p))
        return TRUE;
    return p->split_rcpts != NULL && sjm_smime_wants_body(cfg, txn, TRUE);
}

/* ------------------------------------------------------------ plan */

/*
 * The split copy's header: the original fields, the transaction's own
 * edits but its Content-* ones (journal mark, header firewall,
 * Authentication-Results: one set, made once), then the stripping's
 * Content-* edits, all through the in-memory MTA's edit semantics.
 */
/* Does the transaction get a mark of ours? */
static gboolean marked(const sjm_plan *p)
{
    for (guint i = 0; i < p->header_edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(p->header_edits, i);
        if (e->value != NULL && g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) == 0)
            return TRUE;
    }
    return FALSE;
}

static GString *split_headers(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p)
{
    sjm_mta_file *m = sjm_mta_file_from_headers(txn->headers);
    GPtrArray *common = g_ptr_array_new();
    for (guint i = 0; i < p->header_edits->len; i++) {
        sjm_header_edit *e = g_ptr_array_index(p->header_edits, i);
        if (!sjm_mimehdr_is_content_field(e->name))
            g_ptr_array_add(common, e);
    }
    /* The transaction's mark binds its own body and header: the copy
     * gets one of its own. */
    sjm_edits_apply(common, &sjm_mta_file_ops, m, TRUE);
    if (p->split_edits != NULL)
        sjm_edits_apply(p->split_edits, &sjm_mta_file_ops, m, FALSE);
    g_ptr_array_free(common, TRUE);
    if (marked(p)) {
        GPtrArray *now = sjm_mta_file_header_list(m);
        guchar digest[SJM_BODYHASH_LEN];
        gboolean have = sjm_bodyhash_spool(p->split_body, digest);
        char *mark = sjm_mark_make(cfg, now, have ? digest : NULL, p->split_rcpts,
                                   g_get_real_time() / G_USEC_PER_SEC);
        sjm_mta_file_ops.add_header(m, SJM_JOURNAL_MARK_HEADER, mark);
        g_free(mark);
        g_ptr_array_free(now, TRUE);
    }
    GString *block = sjm_mta_file_header_block(m);
    sjm_mta_file_free(m);
    return block;
}

static void internal_error(const sjm_config *cfg, sjm_plan *p, sjm_problem problem)
{
    p->problems |= problem;
    if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL)
        sjm_plan_tempfail(p, SJM_REFUSAL_INTERNAL);
}

/* Put the journal recipients back on the transaction (bcc fallback). */
static void restore_journal_adds(const sjm_config *cfg, sjm_plan *p)
{
    for (guint i = 0; i < p->journal.mailboxes->len; i++)
        sjm_plan_add_rcpt(p, g_ptr_array_index(p->journal.mailboxes, i),
                          cfg->notify_never ? "NOTIFY=NEVER" : NULL);
}

void sjm_delivery_plan(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    if (p->action != SJM_ACTION_CONTINUE)
        return;
    gboolean report = cfg->journal_mode == SJM_JOURNAL_MODE_REPORT;
    gboolean journal = p->rcpt_adds->len > 0;
    /* bcc mode: the delivered copy differs from the original */
    gboolean journal_original = !report && journal && p->new_body != NULL;

    if (journal && (report || journal_original)) {
        /* These recipients now get a message of their own. */
        g_ptr_array_set_size(p->rcpt_adds, 0);
        /* The original's sender must never learn of the journal: the
         * original re-injected in bcc mode keeps NOTIFY=NEVER.  A report
         * is the filter's own message: from the alternate journal
         * mailbox, when named, which is told when a report fails or is
         * delayed; without one, the null sender and no notice. */
        gboolean alternate = report && *cfg->report_sender != '\0';
        sjm_extra_message *m = sjm_extra_new(report ? SJM_EXTRA_REPORT : SJM_EXTRA_JOURNAL_ORIGINAL,
                                             report ? cfg->report_sender : txn->sender,
                                             alternate ? "NOTIFY=FAILURE,DELAY" : "NOTIFY=NEVER");
        for (guint i = 0; i < p->journal.mailboxes->len; i++)
            g_ptr_array_add(m->rcpts, g_strdup(g_ptr_array_index(p->journal.mailboxes, i)));
        char *error = NULL;
        if (report) {
            m->report = sjm_report_build(cfg, txn, p->journal.mailboxes, &error);
        } else if (txn->body == NULL || txn->body_failed) {
            error = g_strdup("original body not kept");
        } else {
            m->headers = sjm_journal_render_original(cfg, txn);
            m->body = txn->body;
        }
        if (error == NULL) {
            g_ptr_array_add(p->extras, m);
        } else {
            /* When in doubt, journal: the recipients go back on the
             * transaction (on_error = accept), or it is tempfailed. */
            sjm_extra_free(m);
            restore_journal_adds(cfg, p);
            internal_error(cfg, p, SJM_PROBLEM_NO_ORIGINAL_BODY);
            g_free(error);
        }
    }
    if (p->split_rcpts != NULL && p->split_body != NULL && p->action == SJM_ACTION_CONTINUE) {
        sjm_extra_message *m = sjm_extra_new(SJM_EXTRA_SPLIT, txn->sender, NULL);
        for (guint i = 0; i < p->split_rcpts->len; i++) {
            g_ptr_array_add(m->rcpts, g_strdup(g_ptr_array_index(p->split_rcpts, i)));
            sjm_plan_del_rcpt(p, g_ptr_array_index(p->split_rcpts, i));
        }
        m->headers = split_headers(cfg, txn, p);
        m->body = p->split_body;
        g_ptr_array_add(p->extras, m);
    }
}

/* ------------------------------------------------------------ execute */

/*
 * The token that lets the message through the listener (reinject_guard.h)
 * goes on top of its header, bound to this envelope; without one the
 * listener refuses the message, so a failure here is a failed submission.
 */
static gboolean submit(const sjm_config *cfg, const sjm_extra_message *m,
                       const sjm_reinject_target *t, char **error)
{
    GPtrArray *addrs = m->rcpts;
    GBytes *key = sjm_guard_key(cfg);
    char *token = sjm_guard_token(key, g_get_real_time() / G_USEC_PER_SEC, NULL, m->sender,
                                  (const char *const *)addrs->pdata, addrs->len);
    if (key != NULL)
        g_bytes_unref(key);
    if (token == NULL) {
        *error = g_strdup("no re-injection token could be made (no key)");
        return FALSE;
    }
    char *field = g_strconcat(SJM_REINJECT_TOKEN_HEADER ": ", token, "\r\n", NULL);
    g_free(token);

    sjm_reinject_rcpt *rc = g_new0(sjm_reinject_rcpt, addrs->len);
    for (guint i = 0; i < addrs->len; i++) {
        rc[i].addr = g_ptr_array_index(addrs, i);
        rc[i].esmtp_args = m->rcpt_args;
    }
    GArray *pieces = g_array_new(FALSE, TRUE, sizeof(sjm_piece));
    sjm_piece top = {.data = (const guchar *)field, .len = strlen(field)};
    g_array_append_val(pieces, top);
    if (m->report != NULL) {
        guint n;
        const sjm_piece *pc = sjm_report_pieces(m->report, &n);
        g_array_append_vals(pieces, pc, n);
    } else {
        sjm_piece pc[2] = {
            {.data = (const guchar *)m->headers->str, .len = m->headers->len},
            {.spool = m->body},
        };
        g_array_append_vals(pieces, pc, 2);
    }
    gboolean ok = sjm_reinject_submit(t, m->sender, rc, addrs->len, (const sjm_piece *)pieces->data,
                                      pieces->len, error);
    /* Queued, yet never admitted by this process's guard: the listener
     * does not run this filter, so anyone on this host can use it to get
     * mail past the journal.  Only the configuration can close that. */
    if (ok && !sjm_guard_replay_knows(sjm_guard_replay_process(), field))
        sjm_log(LOG_ERR, "reinject-guard=unguarded: the re-injection listener %s:%s queued a "
                "message without this filter's admission: it runs without this filter as its milter "
                "(or another instance of it, sharing the mark key, admitted it), and so lets "
                "any local process bypass the journal; see smime-journal-milter(8)",
                t->host, t->port);
    g_array_free(pieces, TRUE);
    g_free(rc);
    g_free(field);
    return ok;
}

/* No journal copy exists, so no header may claim one (the header
 * firewall's deletions of strangers' marks stay). */
static void drop_marks(sjm_plan *p)
{
    for (guint i = p->header_edits->len; i > 0; i--) {
        const sjm_header_edit *e = g_ptr_array_index(p->header_edits, i - 1);
        if (e->value != NULL && g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) == 0)
            g_ptr_array_remove_index(p->header_edits, i - 1);
    }
}

/* The split copy's recipients stay on the transaction: they get the
 * original, signature and all. */
static void keep_split_rcpts(sjm_plan *p)
{
    for (guint i = p->rcpt_dels->len; i > 0; i--)
        for (guint j = 0; p->split_rcpts != NULL && j < p->split_rcpts->len; j++)
            if (strcmp(g_ptr_array_index(p->rcpt_dels, i - 1),
                       g_ptr_array_index(p->split_rcpts, j)) == 0) {
                g_ptr_array_remove_index(p->rcpt_dels, i - 1);
                break;
            }
}

void sjm_delivery_execute(const sjm_config *cfg, const sjm_reinject_target *t, sjm_plan *p)
{
    for (guint i = 0; i < p->extras->len && p->action == SJM_ACTION_CONTINUE; i++) {
        sjm_extra_message *m = g_ptr_array_index(p->extras, i);
        if (t == NULL) {
            m->status = SJM_EXTRA_DESCRIBED;
            continue;
        }
        if (submit(cfg, m, t, &m->error)) {
            m->status = SJM_EXTRA_SUBMITTED;
            continue;
        }
        m->status = SJM_EXTRA_FAILED;
        if (m->kind == SJM_EXTRA_SPLIT) {
            if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL)
                sjm_plan_tempfail(p, SJM_REFUSAL_SPLIT_SUBMIT);
            else
                keep_split_rcpts(p);
        } else if (cfg->journal_on_failure == SJM_ON_ERROR_TEMPFAIL) {
            sjm_plan_tempfail(p, SJM_REFUSAL_JOURNAL_SUBMIT);
            p->journal.status = SJM_JOURNAL_FAILED;
        } else if (m->kind == SJM_EXTRA_JOURNAL_ORIGINAL) {
            restore_journal_adds(cfg, p);
        } else {
            p->journal.status = SJM_JOURNAL_FAILED_ACCEPTED;
            drop_marks(p);
        }
    }
}
