/*
 * session.c - one transaction's lifecycle (session.h): the only path
 * from MTA events to the core and back, taken by the daemon and by
 * --inspect alike.
 *
 * The failure policy lives here because only here is it known whether
 * the MTA accepted the edits: a journal recipient the MTA refused
 * follows [journal] on_failure (default tempfail: no message is
 * delivered unjournaled), any other refused edit follows on_error.
 */
#include <errno.h>
#include <string.h>
#include "session.h"
#include "core.h"
#include "bodyhash.h"
#include "delivery.h"
#include "journal.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "mta_file.h"
#include "stats.h"
#include "summary.h"

struct sjm_session {
    sjm_config *cfg;
    sjm_txn *txn;
    sjm_plan *plan;         /* opened at end of header */
    sjm_bodyhash *digest;   /* the body's canonical digest, while a mark needs it */
    gboolean want_body;
    gboolean full_body;     /* a journal report carries the whole original */
    gboolean dry_run;       /* --inspect: describe re-injections, send nothing */
    gboolean last_cr;       /* the previous body chunk ended in CR */
    guint64 body_seen;      /* body bytes the adapter handed in, stored or not */
};

gboolean sjm_session_client_trusted(const sjm_config *cfg, const sjm_client *client)
{
    /* No socket address: sendmail(1)/pickup, i.e. a local user, who can
     * write any header; trust is earned by a relay in trusted_networks
     * (and journal marks by their key, journal_mark.c). */
    if (client->addr == NULL || client->addr[0] == '\0')
        return FALSE;   /* the same test as sjm_txn_local_submission() */
    return sjm_netlist_contains(cfg->trusted_networks, client->addr);
}

sjm_session *sjm_session_new(sjm_config *cfg, const sjm_client *client, const char *sender)
{
    sjm_session *s = g_new0(sjm_session, 1);

    s->cfg = sjm_config_ref(cfg);
    s->txn = sjm_txn_new();
    g_free(s->txn->client_addr);
    s->txn->client_addr = g_strdup(client->addr ? client->addr : "");
    s->txn->client_trusted = sjm_session_client_trusted(cfg, client);
    s->txn->auth_name = g_strdup(client->auth_name);
    sjm_txn_set_sender(s->txn, sender);
    return s;
}

void sjm_session_free(sjm_session *s)
{
    if (!s)
        return;
    sjm_plan_free(s->plan);
    sjm_bodyhash_free(s->digest);
    sjm_txn_free(s->txn);
    sjm_config_unref(s->cfg);
    g_free(s);
}

void sjm_session_set_queue_id(sjm_session *s, const char *queue_id)
{
    if (!queue_id || !*queue_id)
        return;
    g_free(s->txn->queue_id);
    s->txn->queue_id = g_strdup(queue_id);
}

const sjm_txn *sjm_session_txn(const sjm_session *s)
{
    return s->txn;
}

const char *sjm_session_rcpt(sjm_session *s, const char *rcpt)
{
    const char *refusal = sjm_core_check_rcpt(s->cfg, s->txn, rcpt);

    if (refusal) {
        g_ptr_array_add(s->txn->refused, g_strdup_printf("%s(550 5.7.1 %s)", rcpt, refusal));
        return refusal;
    }
    sjm_txn_add_rcpt(s->txn, rcpt);
    return NULL;
}

void sjm_session_rcpt_orcpt(sjm_session *s, const char *rcpt, const char *orcpt)
{
    sjm_txn_set_orcpt(s->txn, rcpt, orcpt);
}

void sjm_session_header(sjm_session *s, const char *name, const char *value)
{
    sjm_txn_add_header(s->txn, name, value);
}

gboolean sjm_session_eoh(sjm_session *s)
{
    if (s->plan == NULL) {
        s->plan = sjm_plan_new();
        sjm_core_open(s->cfg, s->txn, s->plan);
    }
    s->full_body = s->txn->rcpts->len > 0 && s->plan->body_whole;
    s->want_body = s->txn->rcpts->len > 0 && sjm_core_wants_body(s->plan);
    if (s->want_body)
        s->txn->body = sjm_spool_new();
    /* A mark binds the body's digest: every byte is read, none stored
     * unless something above wants the body itself. */
    if (s->txn->rcpts->len > 0 && s->plan->body_for_digest && s->digest == NULL)
        s->digest = sjm_bodyhash_new();
    return s->want_body || s->digest != NULL;
}

static gboolean store(sjm_session *s, const void *data, gsize len)
{
    if (len == 0 || sjm_spool_append(s->txn->body, data, len))
        return TRUE;
    sjm_log(LOG_ERR, "%s: cannot store the message body: %s", s->txn->queue_id, g_strerror(errno));
    s->txn->body_failed = TRUE;
    return FALSE;
}

gboolean sjm_session_body(sjm_session *s, const guchar *chunk, gsize len)
{
    sjm_txn *t = s->txn;
    const guchar *run = chunk, *end = chunk + len, *nl;

    /* The journal statistics' message size: MTAs send the first chunk
     * even of a body that is skipped (Postfix: up to 64 KB). */
    s->body_seen += len;
    if (s->digest != NULL)
        sjm_bodyhash_update(s->digest, chunk, len);
    if (!s->want_body || t->body_failed)
        return s->digest != NULL;
    /* One byte past max_scan_size is enough for the core to say
     * "skipped"; storing more would only fill the disk -- unless a
     * journal report must carry the whole original (it spools to disk). */
    if (!s->full_body && sjm_spool_size(t->body) > s->cfg->max_scan_size)
        return s->digest != NULL;
    /* MTAs hand milters CRLF; a file may have LF.  The core sees one form. */
    for (const guchar *p = chunk; p < end && (nl = memchr(p, '\n', (gsize)(end - p))); p = nl + 1) {
        gboolean has_cr = nl > chunk ? nl[-1] == '\r' : s->last_cr;
        if (has_cr)
            continue;
        if (!store(s, run, (gsize)(nl - run)) || !store(s, "\r\n", 2))
            return s->digest != NULL;
        run = nl + 1;
    }
    if (!store(s, run, (gsize)(end - run)))
        return s->digest != NULL;
    if (len > 0)
        s->last_cr = chunk[len - 1] == '\r';
    return TRUE;
}

/* ------------------------------------------------------------ applying */

static gboolean apply_rcpts(const sjm_plan *p, const sjm_mta_ops *ops, void *mta)
{
    gboolean esmtp = ops->can_esmtp_args(mta);

    for (guint i = 0; i < p->rcpt_adds->len; i++) {
        const sjm_rcpt_add *r = g_ptr_array_index(p->rcpt_adds, i);
        if (!ops->add_rcpt(mta, r->addr, esmtp ? r->esmtp_args : NULL))
            return FALSE;
    }
    for (guint i = 0; i < p->rcpt_dels->len; i++)
        if (!ops->del_rcpt(mta, g_ptr_array_index(p->rcpt_dels, i)))
            return FALSE;
    return TRUE;
}

static gboolean apply_body(sjm_spool *body, const sjm_mta_ops *ops, void *mta)
{
    guchar buf[65536];
    guint64 off = 0;
    gssize n;

    if (sjm_spool_size(body) == 0)
        return ops->replace_body(mta, (const guchar *)"", 0);
    while ((n = sjm_spool_read(body, &off, buf, sizeof buf)) > 0)
        if (!ops->replace_body(mta, buf, (gsize)n))
            return FALSE;
    return n == 0;
}

gboolean sjm_session_apply_content(const sjm_plan *p, const sjm_mta_ops *ops, void *mta)
{
    return sjm_edits_apply(p->header_edits, ops, mta, FALSE)
        && (!p->new_body || apply_body(p->new_body, ops, mta));
}

/* The plan's edits through OPS, in the order Postfix requires (body last). */
static void apply_plan(const sjm_config *cfg, sjm_plan *p, const sjm_mta_ops *ops, void *mta)
{
    gboolean unjournaled = FALSE;

    if (!apply_rcpts(p, ops, mta)) {
        if (cfg->journal_on_failure == SJM_ON_ERROR_TEMPFAIL) {
            sjm_plan_tempfail(p, SJM_REFUSAL_JOURNAL_RCPT);
            p->journal.status = SJM_JOURNAL_FAILED;
            return;
        }
        p->journal.status = SJM_JOURNAL_FAILED_ACCEPTED;
        unjournaled = TRUE;
    }
    /* SKIP_MARK: the journal recipient was not added, so no header may claim it was. */
    if (!sjm_edits_apply(p->header_edits, ops, mta, unjournaled)
        || (p->new_body && !apply_body(p->new_body, ops, mta))) {
        if (cfg->on_error == SJM_ON_ERROR_TEMPFAIL)
            sjm_plan_tempfail(p, SJM_REFUSAL_EDIT_FAILED);
        p->problems |= SJM_PROBLEM_EDIT_FAILED;
    }
}

void sjm_session_dry_run(sjm_session *s)
{
    s->dry_run = TRUE;
}

/*
 * The extra messages (delivery.h) go to the MTA before any edit of this
 * transaction and before it is accepted: fail-closed.
 */
static void reinject(sjm_session *s, sjm_plan *p)
{
    if (p->extras->len == 0)
        return;
    char *host = NULL, *port = NULL;
    /* The loader checked the form; a failure here only leaves host NULL,
     * which the submission reports as an error (fail-closed). */
    sjm_split_host_port(s->cfg->reinject, &host, &port);
    sjm_reinject_target t = {.host = host ? host : "", .port = port ? port : "",
                             .timeout_s = s->cfg->reinject_timeout};
    sjm_delivery_execute(s->cfg, s->dry_run ? NULL : &t, p);
    g_free(host);
    g_free(port);
}

void sjm_session_eom(sjm_session *s, const sjm_mta_ops *ops, void *mta, sjm_outcome *out)
{
    gint64 elapsed, eom_start = g_get_monotonic_time();

    memset(out, 0, sizeof *out);
    if (s->plan == NULL)
        sjm_session_eoh(s);
    sjm_plan *p = s->plan;
    if (s->digest != NULL) {
        s->txn->has_body_digest = sjm_bodyhash_finish(s->digest, s->txn->body_digest);
        s->digest = NULL;
    }
    if (s->txn->rcpts->len == 0) {
        /* Only a file can get here: an MTA never reaches DATA without one. */
        sjm_plan_reject(p, SJM_REFUSAL_NO_RECIPIENTS);
        p->journal.status = SJM_JOURNAL_SKIPPED;
        p->journal.reason = SJM_SKIP_NO_RECIPIENTS;
    } else {
        sjm_core_finish(s->cfg, s->txn, p);
        if (p->action == SJM_ACTION_CONTINUE)
            reinject(s, p);
        if (p->action == SJM_ACTION_CONTINUE)
            apply_plan(s->cfg, p, ops, mta);
    }
    /* The ledger entry is on disk before the MTA hears the answer: an
     * accepted message always has one.  One that cannot be written
     * refuses the message (the client retries), whatever was decided. */
    if (!s->dry_run && !sjm_ledger_record(s->cfg, s->txn, p) && p->action == SJM_ACTION_CONTINUE)
        sjm_plan_tempfail(p, SJM_REFUSAL_LEDGER);
    out->action = p->action;
    if (p->action != SJM_ACTION_CONTINUE) {
        const char *code, *xcode, *text;
        sjm_plan_reply(p, &code, &xcode, &text);
        out->reply_code = g_strdup(code);
        out->reply_xcode = g_strdup(xcode);
        out->reply_text = g_strdup(text);
    }
    guint64 size = MAX(s->body_seen, s->txn->body ? sjm_spool_size(s->txn->body) : 0);
    sjm_stats_record_plan(s->txn, p, size);
    sjm_metrics_record_plan(s->cfg, s->txn, p, size, g_get_monotonic_time() - eom_start);
    elapsed = g_get_monotonic_time() - s->txn->start_us;
    out->summary = sjm_summary_line(s->txn, p, elapsed, FALSE);
    out->log_line = sjm_summary_line(s->txn, p, elapsed, TRUE);
}

const sjm_plan *sjm_session_plan(const sjm_session *s)
{
    return s->plan;
}

void sjm_outcome_clear(sjm_outcome *out)
{
    g_free(out->reply_code);
    g_free(out->reply_xcode);
    g_free(out->reply_text);
    g_free(out->summary);
    g_free(out->log_line);
    memset(out, 0, sizeof *out);
}
