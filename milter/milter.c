/*
 * milter.c - libmilter callbacks: each hands its event to the session
 * layer (session.c) and translates the answer into libmilter's terms.
 * What libmilter alone knows stays here: protocol negotiation, macros
 * ({i}, {auth_authen}), the smfi_* calls behind the session's table of
 * MTA operations, the current configuration and the drain on stop.
 *
 * Each session holds a reference to the configuration that was current
 * at MAIL FROM, so a reload never changes the rules halfway through a
 * message.
 *
 * A connection whose {daemon_name} is [milter] reinject_daemon_name is
 * the MTA's re-injection listener: there no session runs (nothing is
 * journaled or stripped twice, so re-injection is loop-free), and a
 * message is queued only with this filter's own token (reinject_guard.h),
 * which is deleted on the way; anything else gets 550 5.7.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include "milter.h"
#include "log.h"
#include "reinject_guard.h"
#include "session.h"

typedef struct {
    char *client_addr;      /* "" for local submission (no socket address) */
    gboolean can_addrcpt_par;
    gboolean can_skip;
    gboolean noreply_conn, noreply_hdr, noreply_eoh;
    sjm_session *session;   /* the current transaction, NULL between them */
    char *daemon_name;      /* the MTA's {daemon_name} at connect, "" when not sent */
    gboolean listener;      /* the re-injection listener: admit our tokens only */
    gboolean in_listener_txn;
    char *listener_sender;  /* MAIL FROM as given, on the listener */
    GPtrArray *listener_rcpts;
    GPtrArray *tokens;      /* values of the token header in this message */
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
    if (c->session)
        g_atomic_int_dec_and_test(&active_transactions);
    sjm_session_free(c->session);
    c->session = NULL;
    c->in_listener_txn = FALSE;
    g_clear_pointer(&c->listener_sender, g_free);
    g_ptr_array_set_size(c->listener_rcpts, 0);
    g_ptr_array_set_size(c->tokens, 0);
}

static conn_ctx *get_ctx(SMFICTX *ctx)
{
    conn_ctx *c = smfi_getpriv(ctx);
    if (!c) {
        c = g_new0(conn_ctx, 1);
        c->client_addr = g_strdup("");
        c->daemon_name = g_strdup("");
        c->listener_rcpts = g_ptr_array_new_with_free_func(g_free);
        c->tokens = g_ptr_array_new_with_free_func(g_free);
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
                                 | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT;
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
    /* Postfix's cleanup(8) presents sendmail(1)/pickup mail as 127.0.0.1
     * with client port 0, which no TCP client can have: that is a local
     * submission, not a client in trusted_networks or system_hosts. */
    in_port_t port = 1;
    if (sa && sa->sa_family == AF_INET)
        port = ((struct sockaddr_in *)sa)->sin_port;
    else if (sa && sa->sa_family == AF_INET6)
        port = ((struct sockaddr_in6 *)sa)->sin6_port;
    g_free(c->client_addr);
    c->client_addr = g_strdup(port == 0 ? "" : buf);
    /* Both MTAs send {daemon_name} at connect by default (Postfix:
     * milter_connect_macros; Sendmail: confMILTER_MACROS_CONNECT). */
    const char *daemon = smfi_getsymval(ctx, "{daemon_name}");
    g_free(c->daemon_name);
    c->daemon_name = g_strdup(daemon ? daemon : "");
    sjm_config *cfg = sjm_milter_get_config();
    c->listener = cfg && strcmp(c->daemon_name, cfg->reinject_daemon_name) == 0;
    sjm_config_unref(cfg);
    return c->noreply_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static void refresh_queue_id(SMFICTX *ctx, conn_ctx *c)
{
    if (c->session)
        sjm_session_set_queue_id(c->session, smfi_getsymval(ctx, "i"));
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    conn_ctx *c = get_ctx(ctx);
    sjm_config *cfg;
    sjm_client client;

    end_transaction(c);
    if (c->listener) {
        /* Not held by a drain: the transactions that drain waits for
         * are the ones re-injecting here. */
        c->in_listener_txn = TRUE;
        c->listener_sender = g_strdup(argv[0]);
        return SMFIS_CONTINUE;
    }
    if (g_atomic_int_get(&draining)) {
        smfi_setreply(ctx, "421", "4.3.2", "Mail filter is restarting, please try again later");
        return SMFIS_TEMPFAIL;
    }
    client.addr = c->client_addr;
    client.auth_name = smfi_getsymval(ctx, "{auth_authen}");
    cfg = sjm_milter_get_config();
    c->session = sjm_session_new(cfg, &client, argv[0]);
    sjm_config_unref(cfg);
    g_atomic_int_inc(&active_transactions);
    refresh_queue_id(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    conn_ctx *c = get_ctx(ctx);
    const char *refusal;

    if (c->in_listener_txn) {
        g_ptr_array_add(c->listener_rcpts, g_strdup(argv[0]));
        return SMFIS_CONTINUE;
    }
    if (!c->session)
        return SMFIS_CONTINUE;
    refusal = sjm_session_rcpt(c->session, argv[0]);
    if (refusal) {
        const sjm_txn *t = sjm_session_txn(c->session);
        sjm_log(LOG_NOTICE, "%s: from=<%s> client=[%s] rcpt=%s refused: %s", t->queue_id,
                t->sender, c->client_addr, argv[0], refusal);
        smfi_setreply(ctx, "550", "5.7.1", (char *)refusal);
        return SMFIS_REJECT;
    }
    /* After address expansion (Postfix: a second smtpd behind a
     * content_filter hop), ORCPT names the address a recipient was
     * expanded from; smtp(8) sends it when the next hop offers DSN. */
    for (int i = 1; argv[i] != NULL; i++)
        if (g_ascii_strncasecmp(argv[i], "ORCPT=", 6) == 0)
            sjm_session_rcpt_orcpt(c->session, argv[0], argv[i] + 6);
    return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    conn_ctx *c = get_ctx(ctx);

    if (sjm_guard_is_token_header(name) && c->tokens->len < 16)
        g_ptr_array_add(c->tokens, g_strdup(value));
    if (c->session)
        sjm_session_header(c->session, name, value);
    return c->noreply_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    conn_ctx *c = get_ctx(ctx);

    if (c->session) {
        refresh_queue_id(ctx, c);
        sjm_session_eoh(c->session);
    }
    return c->noreply_eoh ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    conn_ctx *c = get_ctx(ctx);

    /* (the listener's guard needs no body: the token binds the envelope) */
    if (c->session && sjm_session_body(c->session, chunk, len))
        return SMFIS_CONTINUE;
    return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
}

/* ------------------------------------------- the session's MTA operations */

typedef struct {
    SMFICTX *ctx;
    conn_ctx *c;
} milter_mta;

static gboolean mta_add_rcpt(void *mta, const char *addr, const char *esmtp_args)
{
    milter_mta *m = mta;
    char *bracketed = g_strdup_printf("<%s>", addr);
    int rc = esmtp_args ? smfi_addrcpt_par(m->ctx, bracketed, (char *)esmtp_args)
                        : smfi_addrcpt(m->ctx, bracketed);
    g_free(bracketed);
    return rc == MI_SUCCESS;
}

static gboolean mta_del_rcpt(void *mta, const char *addr)
{
    milter_mta *m = mta;
    char *bracketed = g_strdup_printf("<%s>", addr);
    int rc = smfi_delrcpt(m->ctx, bracketed);
    g_free(bracketed);
    return rc == MI_SUCCESS;
}

static gboolean mta_add_header(void *mta, const char *name, const char *value)
{
    return smfi_addheader(((milter_mta *)mta)->ctx, (char *)name, (char *)value) == MI_SUCCESS;
}

static gboolean mta_insert_header(void *mta, int index, const char *name, const char *value)
{
    return smfi_insheader(((milter_mta *)mta)->ctx, index, (char *)name, (char *)value)
           == MI_SUCCESS;
}

static gboolean mta_change_header(void *mta, const char *name, int index, const char *value)
{
    return smfi_chgheader(((milter_mta *)mta)->ctx, (char *)name, index, (char *)value)
           == MI_SUCCESS;
}

static gboolean mta_replace_body(void *mta, const guchar *chunk, gsize len)
{
    return smfi_replacebody(((milter_mta *)mta)->ctx, (unsigned char *)chunk, (int)len)
           == MI_SUCCESS;
}

static gboolean mta_can_esmtp_args(void *mta)
{
    return ((milter_mta *)mta)->c->can_addrcpt_par;
}

static const sjm_mta_ops milter_ops = {
    .add_rcpt = mta_add_rcpt,
    .del_rcpt = mta_del_rcpt,
    .add_header = mta_add_header,
    .insert_header = mta_insert_header,
    .change_header = mta_change_header,
    .replace_body = mta_replace_body,
    .can_esmtp_args = mta_can_esmtp_args,
};

/* The verdict of the guard for the message in C; the envelope as the MTA gave it. */
static sjm_guard_verdict guard_verdict(conn_ctx *c, const char *sender, GPtrArray *rcpts)
{
    sjm_config *cfg = sjm_milter_get_config();
    GBytes *key = sjm_guard_key(cfg);
    sjm_guard_verdict v = sjm_guard_check(sjm_guard_replay_process(), key,
                                          g_get_real_time() / G_USEC_PER_SEC,
                                          (const char *const *)c->tokens->pdata, c->tokens->len,
                                          sender, (const char *const *)rcpts->pdata, rcpts->len);
    if (key)
        g_bytes_unref(key);
    sjm_config_unref(cfg);
    return v;
}

static sfsistat listener_eom(SMFICTX *ctx, conn_ctx *c)
{
    const char *qid = smfi_getsymval(ctx, "i");
    sjm_guard_verdict v = guard_verdict(c, c->listener_sender, c->listener_rcpts);
    GString *rcpts = g_string_new(NULL);
    for (guint i = 0; i < c->listener_rcpts->len; i++)
        g_string_append_printf(rcpts, "%s%s", i ? "," : "",
                               (const char *)g_ptr_array_index(c->listener_rcpts, i));
    sfsistat rc = SMFIS_CONTINUE;

    if (v == SJM_GUARD_ADMITTED) {
        /* The token is spent; it must not reach a mailbox either. */
        if (smfi_chgheader(ctx, (char *)SJM_REINJECT_TOKEN_HEADER, 1, NULL) != MI_SUCCESS) {
            sjm_log(LOG_ERR, "%s: reinject-guard=error sender=%s recipients=%s: cannot delete "
                    "the token header",
                    qid ? qid : "NOQUEUE", c->listener_sender, rcpts->str);
            smfi_setreply(ctx, "451", "4.3.0", "Re-injection token could not be removed");
            rc = SMFIS_TEMPFAIL;
        } else {
            sjm_log(LOG_INFO, "%s: reinject-guard=admitted sender=%s recipients=%s",
                    qid ? qid : "NOQUEUE", c->listener_sender, rcpts->str);
        }
    } else {
        sjm_log(LOG_WARNING, "%s: reinject-guard=%s client=[%s] daemon=%s sender=%s "
                "recipients=%s: refused, only this filter may submit on the re-injection listener",
                qid ? qid : "NOQUEUE", sjm_guard_verdict_name(v), c->client_addr, c->daemon_name,
                c->listener_sender ? c->listener_sender : "", rcpts->str);
        smfi_setreply(ctx, "550", "5.7.1",
                      "This listener takes only mail the journaling filter submits");
        rc = SMFIS_REJECT;
    }
    sjm_guard_count(v);
    g_string_free(rcpts, TRUE);
    end_transaction(c);
    return rc;
}

/*
 * A message of ours (a valid token) arriving where the listener is not
 * recognised means {daemon_name} does not match [milter]
 * reinject_daemon_name: refusing it makes the re-injection, and so the
 * original transaction, fail (tempfail), rather than filter it twice.
 */
static gboolean own_message_elsewhere(SMFICTX *ctx, conn_ctx *c)
{
    if (c->tokens->len == 0)
        return FALSE;
    const sjm_txn *t = sjm_session_txn(c->session);
    sjm_guard_verdict v = guard_verdict(c, t->sender, t->rcpts);
    if (v != SJM_GUARD_ADMITTED && v != SJM_GUARD_REPLAYED && v != SJM_GUARD_EXPIRED
        && v != SJM_GUARD_FUTURE)
        return FALSE;   /* a stranger's header: the message is filtered as any other */
    sjm_config *cfg = sjm_milter_get_config();
    sjm_log(LOG_ERR, "%s: reinject-guard=wrong-daemon: a message this filter submitted came "
            "back on daemon \"%s\", not on [milter] reinject_daemon_name \"%s\": tempfailed, "
            "see smime-journal-milter(8)", t->queue_id, c->daemon_name,
            cfg ? cfg->reinject_daemon_name : "");
    sjm_config_unref(cfg);
    smfi_setreply(ctx, "451", "4.7.1", "Re-injected message on the wrong listener");
    return TRUE;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    conn_ctx *c = get_ctx(ctx);
    milter_mta mta = {ctx, c};
    sjm_outcome out;
    sfsistat rc = SMFIS_CONTINUE;

    if (c->in_listener_txn)
        return listener_eom(ctx, c);
    if (!c->session)
        return SMFIS_CONTINUE;
    refresh_queue_id(ctx, c);
    if (own_message_elsewhere(ctx, c)) {
        end_transaction(c);
        return SMFIS_TEMPFAIL;
    }
    sjm_session_eom(c->session, &milter_ops, &mta, &out);
    if (out.action != SJM_ACTION_CONTINUE) {
        smfi_setreply(ctx, out.reply_code, out.reply_xcode, out.reply_text);
        rc = out.action == SJM_ACTION_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_REJECT;
    }
    sjm_log(LOG_INFO, "%s: %s", sjm_session_txn(c->session)->queue_id, out.log_line);
    sjm_outcome_clear(&out);
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
        g_free(c->daemon_name);
        g_ptr_array_free(c->listener_rcpts, TRUE);
        g_ptr_array_free(c->tokens, TRUE);
        g_free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc sjm_milter_desc = {
    .xxfi_name = "smime-journal-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR
                  | SMFIF_DELRCPT,
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
