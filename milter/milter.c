/*
 * milter.c - libmilter callbacks.  They only collect the envelope,
 * header fields and body into an sjm_txn and apply the verdict the core
 * returns; every decision lives in core.c and the modules it calls.
 *
 * Each transaction holds a reference to the configuration that was
 * current at MAIL FROM, so a reload never changes the rules halfway
 * through a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include "milter.h"
#include "core.h"
#include "log.h"
#include "txn.h"

typedef struct {
    char *client_addr;      /* "" for local submission (no socket address) */
    gboolean local;
    gboolean can_addrcpt_par;
    gboolean can_skip;
    gboolean noreply_conn, noreply_hdr, noreply_eoh;
    sjm_config *cfg;        /* of the current transaction */
    sjm_txn *txn;
    gboolean want_body;
} conn_ctx;

/*
 * libmilter's smfi_stop() drops every open session, including one in
 * the middle of a message.  So a stop first drains: open transactions
 * finish, new ones get a 4xx, and only then is libmilter stopped.
 */

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static sjm_config *current_config;
static gint active_transactions;
static gint draining;

void sjm_milter_set_config(sjm_config *cfg)
{
    sjm_config *old;

    pthread_mutex_lock(&config_lock);
    old = current_config;
    current_config = cfg;
    pthread_mutex_unlock(&config_lock);
    sjm_config_unref(old);
}

sjm_config *sjm_milter_get_config(void)
{
    sjm_config *c;

    pthread_mutex_lock(&config_lock);
    c = sjm_config_ref(current_config);
    pthread_mutex_unlock(&config_lock);
    return c;
}

void sjm_milter_drain(void)
{
    g_atomic_int_set(&draining, 1);
}

int sjm_milter_active_transactions(void)
{
    return g_atomic_int_get(&active_transactions);
}

static void end_transaction(conn_ctx *c)
{
    if (c->txn)
        g_atomic_int_dec_and_test(&active_transactions);
    sjm_txn_free(c->txn);
    c->txn = NULL;
    sjm_config_unref(c->cfg);
    c->cfg = NULL;
    c->want_body = FALSE;
}

static conn_ctx *get_ctx(SMFICTX *ctx)
{
    conn_ctx *c = smfi_getpriv(ctx);
    if (!c) {
        c = g_new0(conn_ctx, 1);
        c->client_addr = g_strdup("");
        smfi_setpriv(ctx, c);
    }
    return c;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                             unsigned long f2, unsigned long f3, unsigned long *pf0,
                             unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    conn_ctx *c = get_ctx(ctx);
    unsigned long want_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT
                                 | SMFIF_ADDRCPT_PAR;
    /* Connect, header and end-of-header never answer anything but
     * "continue", so the MTA need not wait for an answer: one round trip
     * per header field saved, which is most of a plain message's cost. */
    unsigned long want_steps = SMFIP_SKIP | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA
                               | SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_EOH;

    (void)f2;
    (void)f3;
    *pf0 = want_actions & f0;
    *pf1 = want_steps & f1;
    *pf2 = 0;
    *pf3 = 0;
    c->can_addrcpt_par = (f0 & SMFIF_ADDRCPT_PAR) != 0;
    c->can_skip = (f1 & SMFIP_SKIP) != 0;
    c->noreply_conn = (f1 & SMFIP_NR_CONN) != 0;
    c->noreply_hdr = (f1 & SMFIP_NR_HDR) != 0;
    c->noreply_eoh = (f1 & SMFIP_NR_EOH) != 0;
    return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    conn_ctx *c = get_ctx(ctx);
    char buf[INET6_ADDRSTRLEN] = "";

    (void)hostname;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    g_free(c->client_addr);
    c->client_addr = g_strdup(buf);
    /* No socket address: sendmail(1)/pickup, i.e. a local user. */
    c->local = (sa == NULL || buf[0] == '\0');
    return c->noreply_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    conn_ctx *c = get_ctx(ctx);
    const char *qid, *auth;

    end_transaction(c);
    if (g_atomic_int_get(&draining)) {
        smfi_setreply(ctx, "421", "4.3.2", "Mail filter is restarting, please try again later");
        return SMFIS_TEMPFAIL;
    }
    c->cfg = sjm_milter_get_config();
    c->txn = sjm_txn_new();
    g_atomic_int_inc(&active_transactions);
    g_free(c->txn->client_addr);
    c->txn->client_addr = g_strdup(c->client_addr);
    c->txn->client_trusted = c->local || sjm_netlist_contains(c->cfg->trusted_networks, c->client_addr);
    sjm_txn_set_sender(c->txn, argv[0]);
    if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL)
        c->txn->auth_name = g_strdup(auth);
    if ((qid = smfi_getsymval(ctx, "i")) != NULL) {
        g_free(c->txn->queue_id);
        c->txn->queue_id = g_strdup(qid);
    }
    return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    conn_ctx *c = get_ctx(ctx);
    const char *refusal;

    if (!c->txn)
        return SMFIS_CONTINUE;
    refusal = sjm_core_check_rcpt(c->cfg, c->txn, argv[0]);
    if (refusal) {
        sjm_log(LOG_NOTICE, "%s: from=<%s> client=[%s] rcpt=%s refused: %s", c->txn->queue_id,
                c->txn->sender, c->client_addr, argv[0], refusal);
        smfi_setreply(ctx, "550", "5.7.1", (char *)refusal);
        return SMFIS_REJECT;
    }
    sjm_txn_add_rcpt(c->txn, argv[0]);
    return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    conn_ctx *c = get_ctx(ctx);

    if (c->txn)
        sjm_txn_add_header(c->txn, name, value);
    return c->noreply_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void refresh_queue_id(SMFICTX *ctx, conn_ctx *c)
{
    const char *qid = smfi_getsymval(ctx, "i");
    if (qid && c->txn) {
        g_free(c->txn->queue_id);
        c->txn->queue_id = g_strdup(qid);
    }
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    conn_ctx *c = get_ctx(ctx);

    sfsistat done = c->noreply_eoh ? SMFIS_NOREPLY : SMFIS_CONTINUE;

    if (!c->txn)
        return done;
    refresh_queue_id(ctx, c);
    c->want_body = sjm_core_wants_body(c->cfg, c->txn);
    if (c->want_body)
        c->txn->body = sjm_spool_new();
    return done;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    conn_ctx *c = get_ctx(ctx);
    sjm_txn *t = c->txn;

    if (!t || !c->want_body || t->body_failed)
        return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
    /* One byte past max_scan_size is enough for the core to say
     * "skipped"; storing more would only fill the disk. */
    if (sjm_spool_size(t->body) > c->cfg->max_scan_size)
        return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
    if (!sjm_spool_append(t->body, chunk, len)) {
        sjm_log(LOG_ERR, "%s: cannot store the message body: %s", t->queue_id, g_strerror(errno));
        t->body_failed = TRUE;
        return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
    }
    return SMFIS_CONTINUE;
}

static gboolean add_rcpts(SMFICTX *ctx, conn_ctx *c, const sjm_verdict *v)
{
    for (guint i = 0; i < v->rcpt_adds->len; i++) {
        const sjm_rcpt_add *r = g_ptr_array_index(v->rcpt_adds, i);
        char *bracketed = g_strdup_printf("<%s>", r->addr);
        int rc;
        if (r->esmtp_args && c->can_addrcpt_par)
            rc = smfi_addrcpt_par(ctx, bracketed, (char *)r->esmtp_args);
        else
            rc = smfi_addrcpt(ctx, bracketed);
        g_free(bracketed);
        if (rc != MI_SUCCESS)
            return FALSE;
    }
    return TRUE;
}

static gboolean apply_header_edits(SMFICTX *ctx, const sjm_verdict *v)
{
    for (guint i = 0; i < v->header_edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(v->header_edits, i);
        int rc = MI_FAILURE;
        switch (e->op) {
        case SJM_HDR_ADD:
            rc = smfi_addheader(ctx, e->name, e->value);
            break;
        case SJM_HDR_INSERT:
            rc = smfi_insheader(ctx, e->index, e->name, e->value);
            break;
        case SJM_HDR_CHANGE:
            rc = smfi_chgheader(ctx, e->name, e->index, e->value);
            break;
        }
        if (rc != MI_SUCCESS)
            return FALSE;
    }
    return TRUE;
}

static gboolean replace_body(SMFICTX *ctx, sjm_spool *body)
{
    guchar buf[65536];
    guint64 off = 0;
    gssize n;

    if (sjm_spool_size(body) == 0)
        return smfi_replacebody(ctx, (unsigned char *)"", 0) == MI_SUCCESS;
    while ((n = sjm_spool_read(body, &off, buf, sizeof buf)) > 0)
        if (smfi_replacebody(ctx, buf, (int)n) != MI_SUCCESS)
            return FALSE;
    return n == 0;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    conn_ctx *c = get_ctx(ctx);
    sjm_txn *t = c->txn;
    sjm_verdict *v;
    sfsistat rc = SMFIS_CONTINUE;
    char *summary;

    if (!t)
        return SMFIS_CONTINUE;
    refresh_queue_id(ctx, c);
    v = sjm_verdict_new();
    sjm_core_finish(c->cfg, t, v);

    if (v->action == SJM_ACTION_CONTINUE && !add_rcpts(ctx, c, v)) {
        if (c->cfg->journal_on_failure == SJM_ON_ERROR_TEMPFAIL) {
            sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                                  "Cannot add the journal recipient, please try again later");
            sjm_verdict_set_journal(v, "failed");
        } else {
            sjm_verdict_set_journal(v, "failed:accepted-unjournaled");
        }
    }
    /* Postfix requires the body replacement after every other edit. */
    if (v->action == SJM_ACTION_CONTINUE
        && (!apply_header_edits(ctx, v) || (v->new_body && !replace_body(ctx, v->new_body)))) {
        if (c->cfg->on_error == SJM_ON_ERROR_TEMPFAIL)
            sjm_verdict_set_reply(v, SJM_ACTION_TEMPFAIL, "451", "4.3.0",
                                  "Temporary filter failure, please try again later");
        sjm_verdict_add_extra(v, "error", "edit-failed");
    }
    if (v->action != SJM_ACTION_CONTINUE) {
        smfi_setreply(ctx, v->reply_code, v->reply_xcode, v->reply_text);
        rc = v->action == SJM_ACTION_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_REJECT;
    }
    summary = sjm_core_summary(t, v, g_get_monotonic_time() - t->start_us);
    sjm_log(LOG_INFO, "%s: %s", t->queue_id, summary);
    g_free(summary);
    sjm_verdict_free(v);
    end_transaction(c);
    return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    conn_ctx *c = smfi_getpriv(ctx);
    if (c)
        end_transaction(c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    conn_ctx *c = smfi_getpriv(ctx);
    if (c) {
        end_transaction(c);
        g_free(c->client_addr);
        g_free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc sjm_milter_desc = {
    .xxfi_name = "smime-journal-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR,
    .xxfi_connect = cb_connect,
    .xxfi_helo = NULL,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = NULL,
    .xxfi_negotiate = cb_negotiate,
};
