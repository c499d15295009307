/*
 * test_delivery.c - the delivery plan: in report mode the journal
 * recipient comes off the original and a report goes to the re-injection
 * listener (tests/lib/smtp_sink.py), with on_failure and on_error
 * deciding when it cannot; with [signatures] mixed = split the legacy
 * recipients move off the transaction to a stripped copy.
 * Through a real Postfix: tests/mta/postfix/journal-report.sh.
 */
#include <string.h>
#include <check.h>
#include "config.h"
#include "core.h"
#include "delivery.h"
#include "journal.h"
#include "reinject.h"
#include "reinject_guard.h"
#include "testlib.h"

/* The finished plan of T: the journal decided, the extra messages planned. */
static sjm_plan *planned(const sjm_config *cfg, const sjm_txn *t)
{
    sjm_plan *p = sjm_plan_new();
    sjm_core_finish(cfg, t, p);
    return p;
}

static gboolean wants_whole_body(const sjm_config *cfg, const sjm_txn *t)
{
    sjm_plan *p = sjm_plan_new();
    sjm_core_open(cfg, t, p);
    gboolean whole = p->body_whole;
    sjm_plan_free(p);
    return whole;
}

static const char *reply_code(const sjm_plan *p)
{
    const char *code, *xcode, *text;
    sjm_plan_reply(p, &code, &xcode, &text);
    return code;
}

START_TEST(plan_report_mode)
{
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("j@archive.example");
    cfg->journal_mode = SJM_JOURNAL_MODE_REPORT;
    sjm_txn *t = sjm_test_txn_from_text(sjm_test_msg, -1, "alice@corp.example", "bob@corp.example", NULL);
    t->client_trusted = TRUE;
    ck_assert(wants_whole_body(cfg, t));
    sjm_plan *v = planned(cfg, t);
    ck_assert_int_eq(v->journal.status, SJM_JOURNAL_ADDED);
    ck_assert_uint_eq(v->extras->len, 1);
    ck_assert_uint_eq(v->rcpt_adds->len, 0);     /* no journal recipient on the original */

    sjm_test_sink *s = sjm_test_sink_start("normal");
    sjm_reinject_target tg = sjm_test_sink_target(s, 10);
    sjm_delivery_execute(cfg, &tg, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    char *eml = sjm_test_sink_file(s, "1.eml"), *env = sjm_test_sink_file(s, "1.env");
    /* The listener's admission token first (its guard deletes it), then
     * the report with its label at column 0 for archivers. */
    ck_assert(g_str_has_prefix(eml, SJM_REINJECT_TOKEN_HEADER ": v=1; t="));
    ck_assert_ptr_nonnull(strstr(eml, "\r\nX-MS-Journal-Report: \r\n"));
    ck_assert_str_eq(env, "MAIL FROM:<> BODY=8BITMIME\nRCPT TO:<j@archive.example> NOTIFY=NEVER\n");
    ck_assert_ptr_nonnull(strstr(sjm_test_fields(v), "reinject=report:1"));
    g_free(eml);
    g_free(env);
    sjm_plan_free(v);
    sjm_reinject_pool_drain();

    /* the listener gone: tempfail by default, nothing accepted */
    char port[16];
    g_strlcpy(port, s->port, sizeof port);
    sjm_test_sink_stop(s);
    v = planned(cfg, t);
    sjm_reinject_target gone = {.host = "127.0.0.1", .port = port, .timeout_s = 2};
    sjm_delivery_execute(cfg, &gone, v);
    ck_assert_int_eq(v->action, SJM_ACTION_TEMPFAIL);
    ck_assert_int_eq(v->refusal, SJM_REFUSAL_JOURNAL_SUBMIT);
    ck_assert_str_eq(reply_code(v), "451");
    ck_assert_str_eq(sjm_test_journal(v), "failed");
    sjm_plan_free(v);

    /* on_failure = accept: delivered, logged unjournaled, no mark claims a copy */
    cfg->journal_on_failure = SJM_ON_ERROR_ACCEPT;
    v = planned(cfg, t);
    sjm_delivery_execute(cfg, &gone, v);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_str_eq(sjm_test_journal(v), "failed:accepted-unjournaled");
    for (guint i = 0; i < v->header_edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(v->header_edits, i);
        ck_assert_msg(g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) != 0 || e->value == NULL,
                      "a journal mark is still added");
    }
    sjm_plan_free(v);

    /* the body was not kept: no report can carry it; when in doubt,
     * journal (the recipient goes back on the transaction) or tempfail */
    sjm_spool_free(t->body);
    t->body = NULL;
    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    v = planned(cfg, t);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    ck_assert_uint_eq(v->rcpt_adds->len, 1);
    ck_assert_uint_eq(v->extras->len, 0);
    ck_assert_ptr_nonnull(strstr(sjm_test_fields(v), "reinject_error=no-original-body"));
    sjm_delivery_execute(cfg, &gone, v);      /* nothing left to submit */
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    sjm_plan_free(v);
    cfg->on_error = SJM_ON_ERROR_TEMPFAIL;
    v = planned(cfg, t);
    ck_assert_int_eq(v->action, SJM_ACTION_TEMPFAIL);
    ck_assert_int_eq(v->refusal, SJM_REFUSAL_INTERNAL);
    sjm_plan_free(v);

    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(plan_split)
{
    char *text = sjm_test_corpus_read("alice.dsig.SHA256.multipart.eml", NULL);
    ck_assert_msg(text != NULL, "corpus message alice.dsig.SHA256.multipart.eml not found");
    sjm_config *cfg = sjm_config_new_default();
    cfg->journal_enabled = FALSE;
    cfg->sig_mixed = SJM_SIG_ACTION_SPLIT;
    g_strfreev(cfg->strip_for);
    cfg->strip_for = g_strsplit("*@legacy.example", ",", -1);
    sjm_txn *t = sjm_test_txn_from_text(text, -1, "alice@corp.example", "bob@corp.example",
                                        "old@legacy.example", NULL);
    ck_assert(wants_whole_body(cfg, t));
    sjm_plan *v = planned(cfg, t);
    ck_assert_uint_eq(v->extras->len, 1);
    const GPtrArray *dels = v->rcpt_dels;
    ck_assert_uint_eq(dels->len, 1);
    ck_assert_str_eq(g_ptr_array_index(dels, 0), "old@legacy.example");
    ck_assert_ptr_null(v->new_body);     /* the original stays signed */
    ck_assert_str_eq(sjm_test_signature(v), "preserved");
    /* One scan: the copy's Content-Type is the signed content's. */
    sjm_extra_message *m = g_ptr_array_index(v->extras, 0);
    ck_assert_int_eq(m->kind, SJM_EXTRA_SPLIT);
    ck_assert_ptr_nonnull(m->body);
    ck_assert_ptr_null(strstr(m->headers->str, "multipart/signed"));

    /* --inspect: described, not sent */
    sjm_delivery_execute(cfg, NULL, v);
    ck_assert_ptr_nonnull(strstr(sjm_test_fields(v), "reinject=would-split:1"));
    sjm_plan_free(v);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
    g_free(text);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("delivery");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plan_report_mode);
    tcase_add_test(tc, plan_split);
    suite_add_tcase(s, tc);
    return s;
}
