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
    return sjm_test_report_text(r, NULL);
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

START_TEST(report_expanded_and_message_id)
{
    sjm_config *cfg = sjm_config_new_default();
    static const char NOID[] = "From: a@corp.example\r\nTo: team@corp.example\r\n"
                               "Subject: no id\r\n\r\nbody one\r\n";
    sjm_txn *t = sjm_test_txn_from_text(NOID, -1, "a@corp.example", "dave@corp.example",
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
    sjm_plan *v = sjm_plan_new();
    sjm_journal_add_message_id(cfg, t, v);
    ck_assert_uint_eq(v->header_edits->len, 1);
    const sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_str_eq(e->value, id);
    /* the same message again (a retry): the same id; other content: another */
    char *again = sjm_journal_message_id(cfg, t);
    ck_assert_str_eq(again, id);
    sjm_txn *t2 = sjm_test_txn_from_text("From: a@corp.example\r\nTo: team@corp.example\r\n"
                                         "Subject: no id\r\n\r\nbody two\r\n", -1,
                                         "a@corp.example", "dave@corp.example",
                                         "frank@corp.example", "eve@corp.example", NULL);
    char *other = sjm_journal_message_id(cfg, t2);
    ck_assert_str_ne(other, id);
    /* switched off, or the message has one: nothing added */
    cfg->journal_add_message_id = FALSE;
    ck_assert_ptr_null(sjm_journal_message_id(cfg, t2));
    cfg->journal_add_message_id = TRUE;
    sjm_txn *t3 = sjm_test_txn_from_text(sjm_test_msg, -1, "a@corp.example", "bob@corp.example", NULL);
    ck_assert_ptr_null(sjm_journal_message_id(cfg, t3));
    g_free(again);
    g_free(other);
    g_free(line);
    g_free(orig);
    g_free(id);
    sjm_plan_free(v);
    g_free(text);
    sjm_report_free(r);
    sjm_txn_free(t3);
    sjm_txn_free(t2);
    sjm_txn_free(t);
    g_ptr_array_free(mb, TRUE);
    sjm_config_unref(cfg);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("journal_report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, report_layout);
    tcase_add_test(tc, report_expanded_and_message_id);
    suite_add_tcase(s, tc);
    return s;
}
