/*
 * test_reinject.c - the re-injection client against a scripted SMTP
 * listener on loopback (tests/lib/smtp_sink.py): dot-stuffing and
 * CRLF, ESMTP parameters sent verbatim, connection reuse, refusals,
 * missing DSN, a listener that never answers, a closed port.
 * Through a real Postfix: tests/mta/postfix/journal-report.sh.
 */
#include <string.h>
#include <check.h>
#include "reinject.h"
#include "testlib.h"

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
    sjm_test_sink *s = sjm_test_sink_start("normal");
    sjm_reinject_target t = sjm_test_sink_target(s, 10);
    char *error = NULL;
    /* dots at line starts (also the first byte), bare LF, no final EOL */
    ck_assert_msg(send_text(&t, "j@archive.example", "NOTIFY=NEVER",
                            ".top\r\nSubject: x\r\n\r\n.\r\n..two\nbare lf\r\nend", &error),
                  "%s", error);
    char *eml = sjm_test_sink_file(s, "1.eml"), *env = sjm_test_sink_file(s, "1.env");
    ck_assert_str_eq(eml, ".top\r\nSubject: x\r\n\r\n.\r\n..two\r\nbare lf\r\nend\r\n");
    ck_assert_ptr_nonnull(strstr(env, "MAIL FROM:<alice@corp.example> BODY=8BITMIME\n"));
    ck_assert_ptr_nonnull(strstr(env, "RCPT TO:<j@archive.example> NOTIFY=NEVER\n"));
    g_free(eml);
    g_free(env);

    /* a second message reuses the session */
    ck_assert(send_text(&t, "b@corp.example", NULL, "Subject: 2\r\n\r\nhi\r\n", &error));
    char *conns = sjm_test_sink_file(s, "connections");
    ck_assert_str_eq(conns, "1");
    g_free(conns);
    /* the listener offers PIPELINING: MAIL, RCPT and DATA went at once */
    char *piped = sjm_test_sink_file(s, "pipelined");
    ck_assert_ptr_nonnull(piped);
    ck_assert_str_eq(piped, "2");
    g_free(piped);
    sjm_reinject_pool_drain();
    sjm_test_sink_stop(s);

    /* without PIPELINING the client waits for every reply */
    s = sjm_test_sink_start("nopipe");
    t = sjm_test_sink_target(s, 10);
    ck_assert_msg(send_text(&t, "j@archive.example", NULL, "Subject: 3\r\n\r\nhi\r\n", &error),
                  "%s", error);
    eml = sjm_test_sink_file(s, "1.eml");
    ck_assert_str_eq(eml, "Subject: 3\r\n\r\nhi\r\n");
    g_free(eml);
    ck_assert_ptr_null(sjm_test_sink_file(s, "pipelined"));
    sjm_reinject_pool_drain();
    sjm_test_sink_stop(s);
}
END_TEST

START_TEST(client_refusals)
{
    sjm_test_sink *s = sjm_test_sink_start("normal");
    sjm_reinject_target t = sjm_test_sink_target(s, 10);
    char *error = NULL;
    ck_assert(!send_text(&t, "refuse@corp.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "RCPT"));
    g_free(error);
    char *eml = sjm_test_sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    /* pipelined, one recipient of two refused: the listener answers DATA
     * with 354 for the other, and the client must drop the session
     * rather than send the message to half its recipients */
    sjm_reinject_rcpt two[] = {{.addr = "ok@corp.example"}, {.addr = "refuse2@corp.example"}};
    sjm_piece p = {.data = (const guchar *)"x\r\n", .len = 3};
    ck_assert(!sjm_reinject_submit(&t, "alice@corp.example", two, 2, &p, 1, &error));
    ck_assert_ptr_nonnull(strstr(error, "RCPT TO:<refuse2@corp.example> refused"));
    g_free(error);
    eml = sjm_test_sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    /* the failed session was closed, the next works on a new one */
    ck_assert(send_text(&t, "ok@corp.example", NULL, "x\r\n", &error));
    char *conns = sjm_test_sink_file(s, "connections");
    ck_assert_str_eq(conns, "3");
    g_free(conns);
    eml = sjm_test_sink_file(s, "1.eml");
    ck_assert_str_eq(eml, "x\r\n");
    g_free(eml);
    sjm_reinject_pool_drain();
    sjm_test_sink_stop(s);

    s = sjm_test_sink_start("nodsn");
    t = sjm_test_sink_target(s, 10);
    ck_assert(!send_text(&t, "j@archive.example", "NOTIFY=NEVER", "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "DSN"));
    g_free(error);
    eml = sjm_test_sink_file(s, "1.eml");
    ck_assert_ptr_null(eml);
    sjm_reinject_pool_drain();
    sjm_test_sink_stop(s);
}
END_TEST

START_TEST(client_timeout_and_closed_port)
{
    sjm_test_sink *s = sjm_test_sink_start("hang");
    sjm_reinject_target t = sjm_test_sink_target(s, 1);
    char *error = NULL;
    ck_assert(!send_text(&t, "j@archive.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "timeout"));
    g_free(error);
    char port[16];
    g_strlcpy(port, s->port, sizeof port);
    sjm_test_sink_stop(s);

    sjm_reinject_target closed = {.host = "127.0.0.1", .port = port, .timeout_s = 2};
    ck_assert(!send_text(&closed, "j@archive.example", NULL, "x\r\n", &error));
    ck_assert_ptr_nonnull(strstr(error, "cannot connect"));
    g_free(error);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("reinject");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, client_stuffing_and_params);
    tcase_add_test(tc, client_refusals);
    tcase_add_test(tc, client_timeout_and_closed_port);
    suite_add_tcase(s, tc);
    return s;
}
