/*
 * test_reinject.c - the re-injection client against a scripted SMTP
 * listener on loopback (tests/journal/smtp_sink.py): dot-stuffing and
 * CRLF, ESMTP parameters sent verbatim, connection reuse, refusals,
 * missing DSN, a listener that never answers, a closed port; the
 * journal report's layout; the delivery plan for report mode and split.
 * Through a real Postfix: tests/journal/report.sh.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <check.h>
#include "config.h"
#include "txn.h"
#include "reinject.h"
#include "journal_report.h"
#include "delivery.h"
#include "journal.h"
#include "smime.h"
#include "session.h"
#include "mta_file.h"

typedef struct sink {
    GPid pid;
    char *dir;
    char port[16];
} sink;

static sink *sink_start(const char *mode)
{
    const char *src = g_getenv("abs_top_srcdir");
    sink *s = g_new0(sink, 1);
    s->dir = g_dir_make_tmp("sjm-sink.XXXXXX", NULL);
    ck_assert_ptr_nonnull(s->dir);
    char *script = g_build_filename(src ? src : ".", "tests/journal/smtp_sink.py", NULL);
    char *argv[] = {"python3", script, s->dir, (char *)mode, NULL};
    GError *err = NULL;
    ck_assert_msg(g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &s->pid, &err), "spawn: %s", err ? err->message : "");
    g_free(script);
    char *pf = g_build_filename(s->dir, "port", NULL);
    for (int i = 0; i < 600 && !g_file_test(pf, G_FILE_TEST_EXISTS); i++)
        g_usleep(50000);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(pf, &text, NULL, NULL), "the sink did not start");
    g_strlcpy(s->port, text, sizeof s->port);
    g_free(text);
    g_free(pf);
    return s;
}

static void sink_stop(sink *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    g_spawn_close_pid(s->pid);
    char *cmd = g_strdup_printf("rm -rf '%s'", s->dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(s->dir);
    g_free(s);
}

static char *sink_file(sink *s, const char *name)
{
    char *p = g_build_filename(s->dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = NULL;
    g_free(p);
    return text;
}

static sjm_reinject_target target(sink *s, guint timeout)
{
    return (sjm_reinject_target){.host = "127.0.0.1", .port = s->port, .timeout_s = timeout};
}

static gboolean send_text(const sjm_reinject_target *t, const char *rcpt, const char *args,
                          const char *text, char **error)
{
    sjm_reinject_rcpt r = {.addr = rcpt, .esmtp_args = args};
    sjm_piece p = {.data = (const guchar *)text, .len = strlen(text)};
    return sjm_reinject_submit(t, "alice@corp.example", &r, 1, &p, 1, error);
}

/* ------------------------------------------------------------ client */

START_TEST(client_stuffing_and_params)
{
    sink *s = sink_start("normal");
    sjm_reinject_target t = target(s, 10);
    char *error = NULL;
    /* dots at line starts (also the first byte), bare LF, no final EOL */
    ck_assert_msg(send_text(&t, "j@archive.example", "NOTIFY=NEVER",
                            ".top\r\nSubject: x\r\n\r\n.\r\n..two\nbare lf\r\nend", &error),
                  "%s", error);
    char *eml = sink_file(s, "1.eml"), *env = sink_file(s, "1.env");
    ck_assert_str_eq(eml, ".top\r\nSubject: x\r\n\r\n.\r\n..two\r\nbare lf\r\nend\r\n");
    ck_assert_ptr_nonnull(strstr(env, "MAIL FROM:<alice@corp.example> BODY=8BITMIME\n"));
    ck_assert_ptr_nonnull(strstr(env, "RCPT TO:<j@archive.example> NOTIFY=NEVER\n"));
    g_free(eml);
    g_free(env);

    /* a second message reuses the session */
    ck_assert(send_text(&t, "b@corp.example", NULL, "Subject: 2\r\n\r\nhi\r\n", &error));
    char *conns = sink_file(s, "connections");
    ck_assert_str_eq(conns, "1");
    g_free(conns);
    /* the listener offers PIPELINING: MAIL, RCPT and DATA went at once */
    char *piped = sink_file(s, "pipelined");
    ck_assert_ptr_nonnull(piped);
    ck_assert_str_eq(piped, "2");
    g_free(piped);
    sjm_reinject_pool_drain();
    sink_stop(s);

    /* without PIPELINING the client waits for every reply */
    s = sink_start("nopipe");
    t = target(s, 10);
    ck_assert_msg(send_text(&t, "j@archive.example", NULL, "Subject: 3\r\n\r\nhi\r\n", &error),
                  "%s", error);
    eml = sink_file(s, "1.eml");
    ck_assert_str_eq(eml, "Subject: 3\r\n\r\nhi\r\n");
    g_free(eml);
    ck_assert_ptr_null(sink_file(s, "pipelined"));
    sjm_reinject_pool_drain();
    sink_stop(s);
}
END_TEST

START_TEST(client_refusals)
{
    sink *s = sink_start("normal");
    sjm_reinject_target t = target(s, 10);
    char *error = NULL;
    ck_assert(!send_text(&t, "refuse@corp.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "RCPT"));
    g_free(error);
    char *eml = sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    /* pipelined, one recipient of two refused: the listener answers DATA
     * with 354 for the other, and the client must drop the session
     * rather than send the message to half its recipients */
    sjm_reinject_rcpt two[] = {{.addr = "ok@corp.example"}, {.addr = "refuse2@corp.example"}};
    sjm_piece p = {.data = (const guchar *)"x\r\n", .len = 3};
    ck_assert(!sjm_reinject_submit(&t, "alice@corp.example", two, 2, &p, 1, &error));
    ck_assert_ptr_nonnull(strstr(error, "RCPT TO:<refuse2@corp.example> refused"));
    g_free(error);
    eml = sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    /* the failed session was closed, the next works on a new one */
    ck_assert(send_text(&t, "ok@corp.example", NULL, "x\r\n", &error));
    char *conns = sink_file(s, "connections");
    ck_assert_str_eq(conns, "3");
    g_free(conns);
    eml = sink_file(s, "1.eml");
    ck_assert_str_eq(eml, "x\r\n");
    g_free(eml);
    sjm_reinject_pool_drain();
    sink_stop(s);

    s = sink_start("nodsn");
    t = target(s, 10);
    ck_assert(!send_text(&t, "j@archive.example", "NOTIFY=NEVER", "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "DSN"));
    g_free(error);
    eml = sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    sjm_reinject_pool_drain();
    sink_stop(s);
}
END_TEST

START_TEST(client_timeout_and_closed_port)
{
    sink *s = sink_start("hang");
    sjm_reinject_target t = target(s, 1);
    char *error = NULL;
    ck_assert(!send_text(&t, "j@archive.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "timeout"));
    g_free(error);
    char port[16];
    g_strlcpy(port, s->port, sizeof port);
    sink_stop(s);

    sjm_reinject_target closed = {.host = "127.0.0.1", .port = port, .timeout_s = 2};
    ck_assert(!send_text(&closed, "j@archive.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "cannot connect"));
    g_free(error);
}
END_TEST

/* ------------------------------------------------------------ report */

static sjm_txn *txn_from(const char *text, const char *sender, const char *auth, ...)
{
    sjm_txn *t = sjm_txn_new();
    sjm_txn_set_sender(t, sender);
    if (auth)
        t->auth_name = g_strdup(auth);
    va_list ap;
    va_start(ap, auth);
    for (const char *r; (r = va_arg(ap, const char *)) != NULL;)
        sjm_txn_add_rcpt(t, r);
    va_end(ap);
    const char *body = strstr(text, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    char *head = g_strndup(text, (gsize)(body - text));
    char **lines = g_strsplit(head, "\r\n", -1);
    GString *name = NULL, *value = NULL;
    for (guint i = 0;; i++) {
        const char *l = lines[i];
        if (l && (l[0] == ' ' || l[0] == '\t')) {
            g_string_append_printf(value, "\n%s", l);
            continue;
        }
        if (name) {
            sjm_txn_add_header(t, name->str, value->str);
            g_string_free(name, TRUE);
            g_string_free(value, TRUE);
            name = NULL;
        }
        if (!l)
            break;
        const char *c = strchr(l, ':');
        name = g_string_new_len(l, c - l);
        value = g_string_new(c[1] == ' ' ? c + 2 : c + 1);
    }
    g_strfreev(lines);
    g_free(head);
    t->body = sjm_spool_new();
    sjm_spool_append(t->body, body + 4, strlen(body + 4));
    return t;
}

static char *report_text(const sjm_report *r)
{
    guint n;
    const sjm_piece *p = sjm_report_pieces(r, &n);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < n; i++) {
        if (p[i].spool == NULL) {
            g_string_append_len(out, (const char *)p[i].data, (gssize)p[i].len);
            continue;
        }
        guint64 off = 0;
        char buf[4096];
        gssize k;
        while ((k = sjm_spool_read(p[i].spool, &off, buf, sizeof buf)) > 0)
            g_string_append_len(out, buf, k);
    }
    return g_string_free(out, FALSE);
}

static const char MSG[] =
    "From: Alice <alice@corp.example>\r\n"
    "To: Bob <bob@corp.example>, team: carol@corp.example;\r\n"
    "Cc: dave@other.example\r\n"
    "Subject: figures\r\n"
    " (folded)\r\nMessage-ID: <m1@corp.example>\r\n"
    "\r\n"
    ".body line\r\nsecond\r\n";

START_TEST(report_layout)
{
    sjm_config *cfg = sjm_config_new_default();
    sjm_txn *t = txn_from(MSG, "<alice@corp.example>", "alice", "<bob@corp.example>",
                          "<carol@corp.example>", "<dave@other.example>", "<eve@hidden.example>",
                          NULL);
    GPtrArray *mb = g_ptr_array_new();
    g_ptr_array_add(mb, "j@archive.example");
    char *error = NULL;
    sjm_report *r = sjm_report_build(cfg, t, mb, &error);
    ck_assert_ptr_nonnull(r);
    char *text = report_text(r);
    /* mailpiler restarts its recipient list at X-MS-Journal-Report:, so
     * the journal mailbox's To: must come before it */
    ck_assert(g_str_has_prefix(text, "Message-ID: <"));
    const char *to = strstr(text, "\r\nTo: <j@archive.example>\r\n");
    const char *xms = strstr(text, "\r\nX-MS-Journal-Report: \r\n");
    const char *end = strstr(text, "\r\n\r\n");
    ck_assert(to != NULL && xms != NULL && to < xms && xms < end);
    ck_assert_ptr_nonnull(strstr(text, "\r\nSender: alice@corp.example\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "\r\nSubject: figures (folded)\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "\r\nMessage-Id: <m1@corp.example>\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "\r\nTo: bob@corp.example\r\nTo: carol@corp.example\r\n"
                                       "Cc: dave@other.example\r\nBcc: eve@hidden.example\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "\r\nRecipient: bob@corp.example\r\nRecipient: carol@corp.example\r\n"
                                       "Recipient: dave@other.example\r\nRecipient: eve@hidden.example\r\n"));
    /* the original, byte for byte, inside message/rfc822 */
    ck_assert_ptr_nonnull(strstr(text, "Content-Transfer-Encoding: 8bit\r\n"
                                       "Content-Disposition: attachment\r\n\r\n"));
    ck_assert_ptr_nonnull(strstr(text, MSG));
    ck_assert_ptr_null(strstr(text, "base64"));
    /* the same transaction again (a retry): the same identity */
    sjm_report *r2 = sjm_report_build(cfg, t, mb, &error);
    ck_assert_str_eq(sjm_report_message_id(r), sjm_report_message_id(r2));
    sjm_report_free(r2);
    g_free(text);
    sjm_report_free(r);

    /* not authenticated: no To/Cc/Bcc claims, Recipient: only */
    g_free(t->auth_name);
    t->auth_name = NULL;
    r = sjm_report_build(cfg, t, mb, &error);
    text = report_text(r);
    ck_assert_ptr_null(strstr(text, "\r\nBcc: "));
    ck_assert_ptr_nonnull(strstr(text, "\r\nRecipient: eve@hidden.example\r\n"));
    g_free(text);
    sjm_report_free(r);

    /* a header cannot add a report line */
    sjm_txn *t2 = txn_from("Subject: x\r\n\tRecipient: mallory@evil.example\r\n\r\nb\r\n",
                           "a@b.example", NULL, "c@d.example", NULL);
    r = sjm_report_build(cfg, t2, mb, &error);
    text = report_text(r);
    ck_assert_ptr_null(strstr(text, "\nRecipient: mallory"));
    g_free(text);
    sjm_report_free(r);

    /* no body kept: no report */
    sjm_spool_free(t2->body);
    t2->body = NULL;
    ck_assert_ptr_null(sjm_report_build(cfg, t2, mb, &error));
    g_free(error);
    sjm_txn_free(t2);
    g_ptr_array_free(mb, TRUE);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(report_expanded_and_message_id)
{
    sjm_config *cfg = sjm_config_new_default();
    static const char NOID[] = "From: a@corp.example\r\nTo: team@corp.example\r\n"
                               "Subject: no id\r\n\r\nbody one\r\n";
    sjm_txn *t = txn_from(NOID, "a@corp.example", NULL, "dave@corp.example",
                          "frank@corp.example", "eve@corp.example", NULL);
    sjm_txn_set_orcpt(t, "<Dave@corp.example>", "rfc822;team+40x@corp.example");
    sjm_txn_set_orcpt(t, "frank@corp.example", "rfc822;Team@Corp.Example");
    /* not an address, or an address that would add a field: ignored */
    sjm_txn_set_orcpt(t, "eve@corp.example", "rfc822;x@y.example,+0D+0ARecipient:+20m@evil.example");
    sjm_txn_set_orcpt(t, "eve@corp.example", "utf-8;e@corp.example");
    ck_assert_str_eq(sjm_txn_orcpt(t, "dave@corp.example"), "team@x@corp.example");
    ck_assert_str_eq(sjm_txn_orcpt(t, "frank@corp.example"), "team@corp.example");
    ck_assert_ptr_null(sjm_txn_orcpt(t, "eve@corp.example"));
    sjm_txn_set_orcpt(t, "eve@corp.example", "rfc822;eve@corp.example");
    ck_assert_ptr_null(sjm_txn_orcpt(t, "eve@corp.example"));   /* not expanded */

    GPtrArray *mb = g_ptr_array_new();
    g_ptr_array_add(mb, "j@archive.example");
    char *error = NULL;
    sjm_report *r = sjm_report_build(cfg, t, mb, &error);
    char *text = report_text(r);
    ck_assert_ptr_nonnull(strstr(text, "\r\nRecipient: frank@corp.example, Expanded: team@corp.example\r\n"
                                       "Recipient: eve@corp.example\r\n"));
    ck_assert_ptr_null(strstr(text, "evil"));
    /* no Message-ID: the original in the report carries the one the
     * delivered copy gets, at the end of its header */
    char *id = sjm_journal_message_id(cfg, t);
    ck_assert_ptr_nonnull(id);
    char *line = g_strdup_printf("\r\nMessage-Id: %s\r\n", id);
    ck_assert_ptr_nonnull(strstr(text, line));
    char *orig = g_strdup_printf("Subject: no id\r\nMessage-ID: %s\r\n\r\nbody one\r\n", id);
    ck_assert_ptr_nonnull(strstr(text, orig));
    sjm_verdict *v = sjm_verdict_new();
    sjm_journal_add_message_id(cfg, t, v);
    ck_assert_uint_eq(v->header_edits->len, 1);
    const sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_str_eq(e->value, id);
    /* the same message again (a retry): the same id; other content: another */
    char *again = sjm_journal_message_id(cfg, t);
    ck_assert_str_eq(again, id);
    sjm_txn *t2 = txn_from("From: a@corp.example\r\nTo: team@corp.example\r\n"
                           "Subject: no id\r\n\r\nbody two\r\n",
                           "a@corp.example", NULL, "dave@corp.example",
                           "frank@corp.example", "eve@corp.example", NULL);
    char *other = sjm_journal_message_id(cfg, t2);
    ck_assert_str_ne(other, id);
    /* switched off, or the message has one: nothing added */
    cfg->journal_add_message_id = FALSE;
    ck_assert_ptr_null(sjm_journal_message_id(cfg, t2));
    cfg->journal_add_message_id = TRUE;
    sjm_txn *t3 = txn_from(MSG, "a@corp.example", NULL, "bob@corp.example", NULL);
    ck_assert_ptr_null(sjm_journal_message_id(cfg, t3));
    g_free(again);
    g_free(other);
    g_free(line);
    g_free(orig);
    g_free(id);
    sjm_verdict_free(v);
    g_free(text);
    sjm_report_free(r);
    sjm_txn_free(t3);
    sjm_txn_free(t2);
    sjm_txn_free(t);
    g_ptr_array_free(mb, TRUE);
    sjm_config_unref(cfg);
}
END_TEST

/* ------------------------------------------------------------ plan */

START_TEST(plan_report_mode)
{
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("j@archive.example");
    cfg->journal_mode = SJM_JOURNAL_MODE_REPORT;
    sjm_txn *t = txn_from(MSG, "alice@corp.example", NULL, "bob@corp.example", NULL);
    t->client_trusted = TRUE;
    ck_assert(sjm_delivery_wants_body(cfg, t));
    sjm_verdict *v = sjm_verdict_new();
    sjm_journal_apply(cfg, t, v);
    ck_assert_uint_eq(v->rcpt_adds->len, 1);
    sjm_delivery *d = sjm_delivery_plan(cfg, t, v);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(v->rcpt_adds->len, 0);     /* no journal recipient on the original */

    sink *s = sink_start("normal");
    sjm_reinject_target tg = target(s, 10);
    sjm_delivery_execute(d, cfg, &tg, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    char *eml = sink_file(s, "1.eml"), *env = sink_file(s, "1.env");
    ck_assert_ptr_nonnull(strstr(eml, "\r\nX-MS-Journal-Report: \r\n"));
    ck_assert_str_eq(env, "MAIL FROM:<> BODY=8BITMIME\nRCPT TO:<j@archive.example> NOTIFY=NEVER\n");
    ck_assert_ptr_nonnull(strstr(v->extra->str, "reinject=report:1"));
    g_free(eml);
    g_free(env);
    sjm_delivery_free(d);
    sjm_verdict_free(v);
    sjm_reinject_pool_drain();

    /* the listener gone: tempfail by default, nothing accepted */
    char port[16];
    g_strlcpy(port, s->port, sizeof port);
    sink_stop(s);
    v = sjm_verdict_new();
    sjm_journal_apply(cfg, t, v);
    d = sjm_delivery_plan(cfg, t, v);
    sjm_reinject_target gone = {.host = "127.0.0.1", .port = port, .timeout_s = 2};
    sjm_delivery_execute(d, cfg, &gone, v);
    ck_assert_int_eq(v->action, SJM_ACTION_TEMPFAIL);
    ck_assert_str_eq(v->reply_code, "451");
    ck_assert_str_eq(v->journal, "failed");
    sjm_delivery_free(d);
    sjm_verdict_free(v);

    /* on_failure = accept: delivered, logged unjournaled, no mark claims a copy */
    cfg->journal_on_failure = SJM_ON_ERROR_ACCEPT;
    v = sjm_verdict_new();
    sjm_journal_apply(cfg, t, v);
    d = sjm_delivery_plan(cfg, t, v);
    sjm_delivery_execute(d, cfg, &gone, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_str_eq(v->journal, "failed:accepted-unjournaled");
    for (guint i = 0; i < v->header_edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(v->header_edits, i);
        ck_assert_msg(g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) != 0 || e->value == NULL,
                      "a journal mark is still added");
    }
    sjm_delivery_free(d);
    sjm_verdict_free(v);

    /* the body was not kept: no report can carry it; when in doubt,
     * journal (the recipient goes back on the transaction) or tempfail */
    sjm_spool_free(t->body);
    t->body = NULL;
    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    v = sjm_verdict_new();
    sjm_journal_apply(cfg, t, v);
    d = sjm_delivery_plan(cfg, t, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_uint_eq(v->rcpt_adds->len, 1);
    sjm_delivery_execute(d, cfg, &gone, v);      /* nothing left to submit */
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    sjm_delivery_free(d);
    sjm_verdict_free(v);
    cfg->on_error = SJM_ON_ERROR_TEMPFAIL;
    v = sjm_verdict_new();
    sjm_journal_apply(cfg, t, v);
    d = sjm_delivery_plan(cfg, t, v);
    ck_assert_int_eq(v->action, SJM_ACTION_TEMPFAIL);
    sjm_delivery_free(d);
    sjm_verdict_free(v);

    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(plan_split)
{
    const char *src = g_getenv("abs_top_srcdir");
    char *path = g_build_filename(src ? src : ".", "..", "shared", "corpus", "thunderbird",
                                  "alice.dsig.SHA256.multipart.eml", NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)
        && !g_file_get_contents("/work/shared/corpus/thunderbird/alice.dsig.SHA256.multipart.eml",
                                &text, NULL, NULL))
        ck_abort_msg("corpus message %s not found", path);
    g_free(path);
    sjm_config *cfg = sjm_config_new_default();
    cfg->journal_enabled = FALSE;
    cfg->sig_mixed = SJM_SIG_ACTION_SPLIT;
    g_strfreev(cfg->strip_for);
    cfg->strip_for = g_strsplit("*@legacy.example", ",", -1);
    sjm_txn *t = txn_from(text, "alice@corp.example", NULL, "bob@corp.example",
                          "old@legacy.example", NULL);
    ck_assert(sjm_delivery_wants_body(cfg, t));
    sjm_verdict *v = sjm_verdict_new();
    sjm_delivery *d = sjm_delivery_plan(cfg, t, v);
    ck_assert_ptr_nonnull(d);
    const GPtrArray *dels = sjm_delivery_rcpt_dels(d);
    ck_assert_uint_eq(dels->len, 1);
    ck_assert_str_eq(g_ptr_array_index(dels, 0), "old@legacy.example");
    ck_assert_ptr_null(v->new_body);     /* the original stays signed */

    /* --inspect: described, not sent */
    sjm_delivery_execute(d, cfg, NULL, v);
    ck_assert_ptr_nonnull(strstr(v->extra->str, "reinject=would-split:1"));
    sjm_delivery_free(d);
    sjm_verdict_free(v);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
    g_free(text);
}
END_TEST

/* ------------------------------------------------------------ session */

static char *corpus_signed(void)
{
    const char *src = g_getenv("abs_top_srcdir");
    char *path = g_build_filename(src ? src : ".", "..", "shared", "corpus", "thunderbird",
                                  "alice.dsig.SHA256.multipart.eml", NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)
        && !g_file_get_contents("/work/shared/corpus/thunderbird/alice.dsig.SHA256.multipart.eml",
                                &text, NULL, NULL))
        ck_abort_msg("corpus message %s not found", path);
    g_free(path);
    return text;
}

/* One transaction through the session layer into an in-memory MTA. */
static void run_session(sjm_config *cfg, const char *text, const char *const *rcpts,
                        sjm_mta_file *m, sjm_outcome *out)
{
    sjm_txn *parsed = txn_from(text, "a@b", NULL, NULL);
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s = sjm_session_new(cfg, &client, "<alice@corp.example>");
    for (const char *const *r = rcpts; *r; r++) {
        ck_assert_ptr_null(sjm_session_rcpt(s, *r));
        sjm_mta_file_add_original_rcpt(m, *r);
    }
    for (guint i = 0; i < parsed->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(parsed->headers, i);
        sjm_session_header(s, h->name, h->value);
        sjm_mta_file_add_original_header(m, h->name, h->value, NULL);
    }
    ck_assert(sjm_session_eoh(s));
    const char *body = strstr(text, "\r\n\r\n") + 4;
    sjm_session_body(s, (const guchar *)body, strlen(body));
    sjm_mta_file_add_original_body(m, body, strlen(body));
    sjm_session_eom(s, &sjm_mta_file_ops, m, out);
    sjm_session_free(s);
    sjm_txn_free(parsed);
}

static gboolean logged(const sjm_mta_file *m, const char *entry)
{
    for (guint i = 0; i < m->rcpt_log->len; i++)
        if (strcmp(g_ptr_array_index(m->rcpt_log, i), entry) == 0)
            return TRUE;
    return FALSE;
}

START_TEST(session_report_and_split)
{
    char *text = corpus_signed();
    sink *sk = sink_start("normal");
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("j@archive.example");
    cfg->journal_mode = SJM_JOURNAL_MODE_REPORT;
    cfg->sig_mixed = SJM_SIG_ACTION_SPLIT;
    g_strfreev(cfg->strip_for);
    cfg->strip_for = g_strsplit("*@legacy.example", ",", -1);
    g_free(cfg->reinject);
    cfg->reinject = g_strdup_printf("127.0.0.1:%s", sk->port);

    static const char *const rcpts[] = {"<bob@corp.example>", "<Old@Legacy.Example>", NULL};
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    run_session(cfg, text, rcpts, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    /* no journal recipient on the transaction; the legacy one moved off it,
     * named as the client spelled it */
    for (guint i = 0; i < m->rcpt_log->len; i++)
        ck_assert_msg(strstr(g_ptr_array_index(m->rcpt_log, i), "j@archive") == NULL,
                      "journal recipient on the transaction: %s",
                      (char *)g_ptr_array_index(m->rcpt_log, i));
    ck_assert(logged(m, "-<Old@Legacy.Example>"));
    ck_assert_ptr_null(m->new_body);          /* bob keeps the signed original */
    ck_assert_ptr_nonnull(strstr(out.summary, " del_rcpt=<Old@Legacy.Example>"));
    ck_assert_ptr_nonnull(strstr(out.summary, " reinject=report:1,split:1"));
    /* journal first, then the copy */
    char *e1 = sink_file(sk, "1.env"), *e2 = sink_file(sk, "2.env"), *m2 = sink_file(sk, "2.eml");
    ck_assert_str_eq(e1, "MAIL FROM:<> BODY=8BITMIME\nRCPT TO:<j@archive.example> NOTIFY=NEVER\n");
    ck_assert_str_eq(e2, "MAIL FROM:<alice@corp.example> BODY=8BITMIME\nRCPT TO:<Old@Legacy.Example>\n");
    ck_assert_ptr_null(strstr(m2, "pkcs7-signature"));
    ck_assert_ptr_nonnull(strstr(m2, "This is a test message from Alice to Bob."));
    ck_assert_ptr_nonnull(strstr(m2, SJM_JOURNAL_MARK_HEADER ":"));
    g_free(e1);
    g_free(e2);
    g_free(m2);
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    /* the listener refuses the copy, on_error = accept: the legacy
     * recipient stays on the transaction and gets the original */
    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    static const char *const rcpts2[] = {"<bob@corp.example>", "<refuse@legacy.example>", NULL};
    m = sjm_mta_file_new();
    run_session(cfg, text, rcpts2, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    ck_assert(!logged(m, "-<refuse@legacy.example>"));
    ck_assert_ptr_nonnull(strstr(out.summary, "reinject_error="));
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    /* on_error = tempfail (default): the transaction is refused */
    cfg->on_error = SJM_ON_ERROR_TEMPFAIL;
    m = sjm_mta_file_new();
    run_session(cfg, text, rcpts2, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_TEMPFAIL);
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    sjm_reinject_pool_drain();
    sink_stop(sk);
    sjm_config_unref(cfg);
    g_free(text);
}
END_TEST

static Suite *reinject_suite(void)
{
    Suite *s = suite_create("reinject");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, client_stuffing_and_params);
    tcase_add_test(tc, client_refusals);
    tcase_add_test(tc, client_timeout_and_closed_port);
    suite_add_tcase(s, tc);
    tc = tcase_create("report");
    tcase_add_test(tc, report_layout);
    tcase_add_test(tc, report_expanded_and_message_id);
    suite_add_tcase(s, tc);
    tc = tcase_create("plan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plan_report_mode);
    tcase_add_test(tc, plan_split);
    tcase_add_test(tc, session_report_and_split);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    sjm_smime_init();
    SRunner *sr = srunner_create(reinject_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sjm_smime_shutdown();
    return failed == 0 ? 0 : 1;
}
