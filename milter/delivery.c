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
#include "journal.h"
#include "journal_report.h"
#include "sigpolicy.h"
#include "smime.h"

typedef enum { MSG_REPORT, MSG_JOURNAL_ORIGINAL, MSG_SPLIT } msg_kind;

typedef struct outmsg {
    msg_kind kind;
    char *sender;
    GPtrArray *rcpts;           /* of char* */
    const char *rcpt_args;      /* the same for every recipient */
    GString *headers;           /* rendered header block (not for reports) */
    sjm_spool *body;            /* borrowed from the txn, or owned_body */
    sjm_spool *owned_body;
    sjm_report *report;
} outmsg;

struct sjm_delivery {
    GPtrArray *msgs;            /* of outmsg*, in submission order */
    GPtrArray *rcpt_dels;       /* of char* */
    GPtrArray *journal_adds;    /* of sjm_rcpt_add*, taken out of the verdict */
};

static const char *const kind_name[] = {"report", "journal-original", "split"};

static void outmsg_free(outmsg *m)
{
    g_free(m->sender);
    g_ptr_array_free(m->rcpts, TRUE);
    if (m->headers)
        g_string_free(m->headers, TRUE);
    sjm_spool_free(m->owned_body);
    sjm_report_free(m->report);
    g_free(m);
}

static outmsg *outmsg_new(msg_kind kind, const char *sender, const char *rcpt_args)
{
    outmsg *m = g_new0(outmsg, 1);
    m->kind = kind;
    m->sender = g_strdup(sender);
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    m->rcpt_args = rcpt_args;
    return m;
}

/* ------------------------------------------------------------ policy */

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

gboolean sjm_delivery_wants_body(const sjm_config *cfg, const sjm_txn *txn)
{
    if (cfg->journal_enabled && cfg->journal_mode == SJM_JOURNAL_MODE_REPORT) {
        sjm_journal_decision d;
        sjm_journal_decide(cfg, txn, &d);
        gboolean add = d.add;
        sjm_journal_decision_clear(&d);
        if (add)
            return TRUE;
    }
    GPtrArray *strip = split_strip_rcpts(cfg, txn);
    if (strip == NULL)
        return FALSE;
    g_ptr_array_free(strip, TRUE);
    return sjm_smime_wants_body(cfg, txn, TRUE);
}

/* ------------------------------------------------------------ headers */

static sjm_header *header_dup(const char *name, const char *value)
{
    sjm_header *h = g_new0(sjm_header, 1);
    h->name = g_strdup(name);
    h->value = g_strdup(value);
    return h;
}

static void header_free(gpointer p)
{
    sjm_header *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

/* The edits of a verdict, as libmilter's smfi_* would apply them. */
static void apply_edits(GPtrArray *hdrs, const GPtrArray *edits)
{
    for (guint i = 0; i < edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(edits, i);
        if (e->op == SJM_HDR_ADD) {
            g_ptr_array_add(hdrs, header_dup(e->name, e->value));
        } else if (e->op == SJM_HDR_INSERT) {
            guint at = e->index < 0 ? 0 : MIN((guint)e->index, hdrs->len);
            g_ptr_array_insert(hdrs, (gint)at, header_dup(e->name, e->value));
        } else {
            int seen = 0;
            guint j;
            for (j = 0; j < hdrs->len; j++) {
                sjm_header *h = g_ptr_array_index(hdrs, j);
                if (g_ascii_strcasecmp(h->name, e->name) == 0 && ++seen == e->index)
                    break;
            }
            if (j < hdrs->len && e->value == NULL) {
                g_ptr_array_remove_index(hdrs, j);
            } else if (j < hdrs->len) {
                sjm_header *h = g_ptr_array_index(hdrs, j);
                g_free(h->value);
                h->value = g_strdup(e->value);
            } else if (e->value != NULL) {
                g_ptr_array_add(hdrs, header_dup(e->name, e->value));
            }
        }
    }
}

/* ------------------------------------------------------------ plan */

static void rcpt_add_free(gpointer p)
{
    sjm_rcpt_add *a = p;
    g_free(a->addr);
    g_free(a->esmtp_args);
    g_free(a);
}

static sjm_delivery *delivery_new(void)
{
    sjm_delivery *d = g_new0(sjm_delivery, 1);
    d->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)outmsg_free);
    d->rcpt_dels = g_ptr_array_new_with_free_func(g_free);
    return d;
}

static void internal_error(const sjm_config *cfg, sjm_verdict *v, const char *what)
{
    sjm_verdict_add_extra(v, "reinject_error", what);
    if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL)
        sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                              "Temporary filter failure, please try again later");
}

/* The stripped copy for a split: NULL when stripping changes nothing. */
static outmsg *plan_split(const sjm_config *cfg, const sjm_txn *txn, const sjm_verdict *v,
                          GPtrArray *strip_rcpts, gboolean *failed)
{
    sjm_verdict *sv = sjm_verdict_new();
    outmsg *m = NULL;
    *failed = !sjm_smime_process(cfg, txn, TRUE, sv);
    if (!*failed && sv->new_body != NULL) {
        m = outmsg_new(MSG_SPLIT, txn->sender, NULL);
        for (guint i = 0; i < strip_rcpts->len; i++)
            g_ptr_array_add(m->rcpts, g_strdup(g_ptr_array_index(strip_rcpts, i)));
        GPtrArray *hdrs = g_ptr_array_new_with_free_func(header_free);
        for (guint i = 0; i < txn->headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i);
            g_ptr_array_add(hdrs, header_dup(h->name, h->value));
        }
        /* The transaction's own edits (journal mark, header firewall)
         * first, then the stripping's Content-* edits: they touch
         * different fields, and both count from the original. */
        apply_edits(hdrs, v->header_edits);
        apply_edits(hdrs, sv->header_edits);
        m->headers = sjm_render_headers(hdrs, NULL);
        g_ptr_array_free(hdrs, TRUE);
        m->owned_body = sv->new_body;
        sv->new_body = NULL;
        m->body = m->owned_body;
    }
    sjm_verdict_free(sv);
    return m;
}

/* Put the journal recipients back on the transaction (bcc fallback). */
static void restore_journal_adds(sjm_delivery *d, sjm_verdict *v)
{
    if (d->journal_adds == NULL)
        return;
    for (guint i = 0; i < d->journal_adds->len; i++) {
        const sjm_rcpt_add *a = g_ptr_array_index(d->journal_adds, i);
        sjm_verdict_add_rcpt(v, a->addr, a->esmtp_args);
    }
}

sjm_delivery *sjm_delivery_plan(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v)
{
    if (v->action != SJM_ACTION_CONTINUE)
        return NULL;
    gboolean report = cfg->journal_mode == SJM_JOURNAL_MODE_REPORT;
    gboolean journal = v->rcpt_adds->len > 0;
    GPtrArray *strip_rcpts = split_strip_rcpts(cfg, txn);
    /* bcc mode: the delivered copy differs from the original */
    gboolean journal_original = !report && journal && v->new_body != NULL;

    if (!(report && journal) && !journal_original && strip_rcpts == NULL)
        return NULL;

    sjm_delivery *d = delivery_new();
    if (journal && (report || journal_original)) {
        /* These recipients now get their own message. */
        d->journal_adds = g_ptr_array_new_with_free_func(rcpt_add_free);
        gsize n = 0;
        gpointer *taken = g_ptr_array_steal(v->rcpt_adds, &n);
        for (gsize i = 0; i < n; i++)
            g_ptr_array_add(d->journal_adds, taken[i]);
        g_free(taken);

        /* The original's sender must never learn of the journal: the
         * original re-injected in bcc mode keeps NOTIFY=NEVER.  A report
         * is the filter's own message: from the alternate journal
         * mailbox, when named, which is told when a report fails or is
         * delayed; without one, the null sender and no notice. */
        gboolean alternate = report && *cfg->report_sender != '\0';
        outmsg *m = outmsg_new(report ? MSG_REPORT : MSG_JOURNAL_ORIGINAL,
                               report ? cfg->report_sender : txn->sender,
                               alternate ? "NOTIFY=FAILURE,DELAY" : "NOTIFY=NEVER");
        GPtrArray *mailboxes = g_ptr_array_new();
        for (guint i = 0; i < d->journal_adds->len; i++) {
            const sjm_rcpt_add *a = g_ptr_array_index(d->journal_adds, i);
            g_ptr_array_add(m->rcpts, g_strdup(a->addr));
            g_ptr_array_add(mailboxes, a->addr);
        }
        char *error = NULL;
        if (report) {
            m->report = sjm_report_build(cfg, txn, mailboxes, &error);
        } else if (txn->body == NULL || txn->body_failed) {
            error = g_strdup("original body not kept");
        } else {
            m->headers = sjm_render_headers(txn->headers, NULL);
            m->body = txn->body;
        }
        g_ptr_array_free(mailboxes, TRUE);
        if (error == NULL) {
            g_ptr_array_add(d->msgs, m);
        } else {
            /* When in doubt, journal: the recipients go back on the
             * transaction (on_error = accept), or it is tempfailed. */
            outmsg_free(m);
            restore_journal_adds(d, v);
            internal_error(cfg, v, "no-original-body");
            g_free(error);
        }
    }
    if (strip_rcpts != NULL && v->action == SJM_ACTION_CONTINUE) {
        gboolean failed = FALSE;
        outmsg *m = plan_split(cfg, txn, v, strip_rcpts, &failed);
        if (failed) {
            internal_error(cfg, v, "split-strip-failed");
        } else if (m != NULL) {
            g_ptr_array_add(d->msgs, m);
            for (guint i = 0; i < strip_rcpts->len; i++)
                g_ptr_array_add(d->rcpt_dels, g_strdup(g_ptr_array_index(strip_rcpts, i)));
        }
    }
    if (strip_rcpts)
        g_ptr_array_free(strip_rcpts, TRUE);
    return d;
}

/* ------------------------------------------------------------ execute */

static gboolean submit(const outmsg *m, const sjm_reinject_target *t, char **error)
{
    sjm_reinject_rcpt *rc = g_new0(sjm_reinject_rcpt, m->rcpts->len);
    for (guint i = 0; i < m->rcpts->len; i++) {
        rc[i].addr = g_ptr_array_index(m->rcpts, i);
        rc[i].esmtp_args = m->rcpt_args;
    }
    gboolean ok;
    if (m->report != NULL) {
        guint n;
        const sjm_piece *p = sjm_report_pieces(m->report, &n);
        ok = sjm_reinject_submit(t, m->sender, rc, m->rcpts->len, p, n, error);
    } else {
        sjm_piece p[2] = {
            {.data = (const guchar *)m->headers->str, .len = m->headers->len},
            {.spool = m->body},
        };
        ok = sjm_reinject_submit(t, m->sender, rc, m->rcpts->len, p, 2, error);
    }
    g_free(rc);
    return ok;
}

/* No journal copy exists, so no header may claim one (the header
 * firewall's deletions of strangers' marks stay). */
static void drop_marks(sjm_verdict *v)
{
    for (guint i = v->header_edits->len; i > 0; i--) {
        const sjm_header_edit *e = g_ptr_array_index(v->header_edits, i - 1);
        if (e->value != NULL && g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) == 0)
            g_ptr_array_remove_index(v->header_edits, i - 1);
    }
}

void sjm_delivery_execute(sjm_delivery *d, const sjm_config *cfg,
                          const sjm_reinject_target *t, sjm_verdict *v)
{
    GString *done = g_string_new(NULL);
    for (guint i = 0; i < d->msgs->len && v->action == SJM_ACTION_CONTINUE; i++) {
        outmsg *m = g_ptr_array_index(d->msgs, i);
        char *error = NULL;
        gboolean ok = t == NULL || submit(m, t, &error);
        if (ok) {
            g_string_append_printf(done, "%s%s%s:%u", done->len ? "," : "",
                                   t == NULL ? "would-" : "", kind_name[m->kind], m->rcpts->len);
            continue;
        }
        char *why = g_strdelimit(g_strdup(error), " ", '-');
        sjm_verdict_add_extra(v, "reinject_error", why);
        g_free(why);
        g_free(error);
        if (m->kind == MSG_SPLIT) {
            if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL) {
                sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                                      "Temporary filter failure, please try again later");
            } else {
                /* They keep the original, signature and all. */
                g_ptr_array_set_size(d->rcpt_dels, 0);
            }
        } else if (cfg->journal_on_failure == SJM_ON_ERROR_TEMPFAIL) {
            sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                                  "Journaling failed, please try again later");
            sjm_verdict_set_journal(v, "failed");
        } else if (m->kind == MSG_JOURNAL_ORIGINAL) {
            restore_journal_adds(d, v);
        } else {
            sjm_verdict_set_journal(v, "failed:accepted-unjournaled");
            drop_marks(v);
        }
    }
    if (done->len)
        sjm_verdict_add_extra(v, "reinject", done->str);
    g_string_free(done, TRUE);
}

const GPtrArray *sjm_delivery_rcpt_dels(const sjm_delivery *d)
{
    return d->rcpt_dels;
}

void sjm_delivery_free(sjm_delivery *d)
{
    if (d == NULL)
        return;
    g_ptr_array_free(d->msgs, TRUE);
    g_ptr_array_free(d->rcpt_dels, TRUE);
    if (d->journal_adds)
        g_ptr_array_free(d->journal_adds, TRUE);
    g_free(d);
}
