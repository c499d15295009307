/*
 * test_journal_report.c - the envelope journal report: its header and
 * Recipient: lines from the envelope (Bcc only for an authenticated
 * sender), the original byte for byte inside message/rfc822, the same
 * identity on a retry, and no report without the body.
 * Through a real Postfix: tests/mta/postfix/journal-report.sh.
 */
#include <string.h>
#include <check.h>
#include "config.h"
#include "journal_report.h"
#include "testlib.h"

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

START_TEST(report_layout)
{
    sjm_config *cfg = sjm_config_new_default();
    sjm_txn *t = sjm_test_txn_from_text(sjm_test_msg, -1, "<alice@corp.example>", "<bob@corp.example>",
                                        "<carol@corp.example>", "<dave@other.example>",
                                        "<eve@hidden.example>", NULL);
    t->auth_name = g_strdup("alice");
    GPtrArray *mb = g_ptr_array_new();
    g_ptr_array_add(mb, "j@archive.example");
    char *error = NULL;
    sjm_report *r = sjm_report_build(cfg, t, mb, &error);
    ck_assert_ptr_nonnull(r);
    char *text = report_text(r);
    ck_assert(g_str_has_prefix(text, "X-MS-Journal-Report: \r\n"));
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
    ck_assert_ptr_nonnull(strstr(text, sjm_test_msg));
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
    sjm_txn *t2 = sjm_test_txn_from_text("Subject: x\r\n\tRecipient: mallory@evil.example\r\n\r\nb\r\n",
                                         -1, "a@b.example", "c@d.example", NULL);
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

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("journal_report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, report_layout);
    suite_add_tcase(s, tc);
    return s;
}
