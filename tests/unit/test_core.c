/*
 * Unit tests: the core's order of work and its failure handling, with
 * the real S/MIME and journal modules behind it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "smime.h"
#include "summary.h"
#include "testlib.h"

/* The defaults name no journal mailbox: these tests need one. */
static sjm_config *journal_config(void)
{
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("journal@archive.example.com");
    return cfg;
}

static sjm_txn *plain_txn(gboolean trusted)
{
    sjm_txn *t = sjm_txn_new();
    t->client_trusted = trusted;
    g_free(t->client_addr);
    t->client_addr = g_strdup(trusted ? "127.0.0.1" : "192.0.2.10");
    sjm_txn_set_sender(t, "<Alice@Corp.Example>");
    sjm_txn_add_rcpt(t, "<bob@corp.example>");
    sjm_txn_add_header(t, "From", "alice@corp.example");
    sjm_txn_add_header(t, "Subject", "hello");
    sjm_txn_add_header(t, "Content-Type", "text/plain");
    return t;
}

/* Does end of message need the body stored, for a plan opened on T? */
static gboolean wants_body(const sjm_config *cfg, const sjm_txn *t)
{
    sjm_plan *p = sjm_plan_new();
    sjm_core_open(cfg, t, p);
    gboolean want = sjm_core_wants_body(p);
    sjm_plan_free(p);
    return want;
}

START_TEST(plain_message_is_journaled_and_body_skipped)
{
    sjm_config *cfg = journal_config();
    sjm_txn *t = plain_txn(TRUE);
    sjm_plan *v = sjm_plan_new();

    ck_assert_str_eq(t->sender, "alice@corp.example");
    sjm_core_open(cfg, t, v);
    ck_assert(!sjm_core_wants_body(v));
    /* The journal mark binds the body's digest: read, never stored. */
    ck_assert(v->body_for_digest);
    sjm_core_finish(cfg, t, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_str_eq(sjm_test_signature(v), "none");
    ck_assert_str_eq(sjm_test_journal(v), "added:journal@archive.example.com");
    ck_assert_uint_eq(v->rcpt_adds->len, 1);
    sjm_rcpt_add *r = v->rcpt_adds->pdata[0];
    ck_assert_str_eq(r->addr, "journal@archive.example.com");
    ck_assert_str_eq(r->esmtp_args, "NOTIFY=NEVER");
    ck_assert_ptr_eq(v->new_body, NULL);

    char *line = sjm_summary_line(t, v, 400, TRUE);
    ck_assert_str_eq(line, "from=<alice@corp.example> rcpts=1 signature=none "
                           "journal=added:journal@archive.example.com "
                           "add_rcpt=<journal@archive.example.com>:NOTIFY=NEVER time=0.400ms");
    g_free(line);
    sjm_plan_free(v);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(internal_failure_tempfails_and_adds_nothing)
{
    sjm_config *cfg = journal_config();
    sjm_txn *t = plain_txn(TRUE);
    sjm_plan *v = sjm_plan_new();

    t->body_failed = TRUE;   /* e.g. the disk was full while storing the body */
    sjm_core_finish(cfg, t, v);
    ck_assert_int_eq(v->action, SJM_ACTION_TEMPFAIL);
    const char *code, *xcode, *text;
    sjm_plan_reply(v, &code, &xcode, &text);
    ck_assert_str_eq(code, "451");
    ck_assert_str_eq(xcode, "4.3.0");
    ck_assert_str_eq(text, "Temporary filter failure, please try again later");
    ck_assert_uint_eq(v->rcpt_adds->len, 0);
    ck_assert_uint_eq(v->header_edits->len, 0);
    ck_assert_str_eq(sjm_test_signature(v), "error");
    char *line = sjm_summary_line(t, v, 1000, TRUE);
    ck_assert_ptr_ne(strstr(line, " action=tempfail"), NULL);
    g_free(line);
    sjm_plan_free(v);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(internal_failure_with_accept_still_journals)
{
    sjm_config *cfg = journal_config();
    sjm_txn *t = plain_txn(TRUE);
    sjm_plan *v = sjm_plan_new();

    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    t->body_failed = TRUE;
    sjm_core_finish(cfg, t, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_ptr_eq(v->new_body, NULL);
    ck_assert_str_eq(sjm_test_journal(v), "added:journal@archive.example.com");
    sjm_plan_free(v);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(rcpt_check_protects_journal_from_strangers)
{
    sjm_config *cfg = journal_config();
    sjm_txn *stranger = plain_txn(FALSE);
    sjm_txn *friend = plain_txn(TRUE);

    ck_assert_ptr_ne(sjm_core_check_rcpt(cfg, stranger, "<Journal@Archive.Example.com>"), NULL);
    ck_assert_ptr_eq(sjm_core_check_rcpt(cfg, stranger, "<bob@corp.example>"), NULL);
    ck_assert_ptr_eq(sjm_core_check_rcpt(cfg, friend, "<journal@archive.example.com>"), NULL);
    cfg->protect = FALSE;
    ck_assert_ptr_eq(sjm_core_check_rcpt(cfg, stranger, "<journal@archive.example.com>"), NULL);
    sjm_txn_free(stranger);
    sjm_txn_free(friend);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(strip_policy_asks_for_signed_bodies_only)
{
    sjm_config *cfg = journal_config();
    sjm_txn *t = plain_txn(TRUE);

    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    ck_assert(!wants_body(cfg, t));   /* text/plain: nothing to strip */
    sjm_txn_free(t);
    t = sjm_txn_new();
    sjm_txn_add_rcpt(t, "bob@corp.example");
    sjm_txn_add_header(t, "Content-Type",
                       "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x");
    ck_assert(wants_body(cfg, t));
    cfg->sig_action = SJM_SIG_ACTION_PRESERVE;
    ck_assert(!wants_body(cfg, t));   /* preserve: never buffer */
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, plain_message_is_journaled_and_body_skipped);
    tcase_add_test(tc, internal_failure_tempfails_and_adds_nothing);
    tcase_add_test(tc, internal_failure_with_accept_still_journals);
    tcase_add_test(tc, rcpt_check_protects_journal_from_strangers);
    tcase_add_test(tc, strip_policy_asks_for_signed_bodies_only);
    suite_add_tcase(s, tc);
    return s;
}
