/*
 * test_metrics.c - the Prometheus counters: nothing counted while
 * disabled, a typed event lands in exactly its series, the histogram's
 * buckets are cumulative and agree with its count, out-of-range values
 * never write outside the tables, and the listen spec is parsed as the
 * man page says.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "testlib.h"

/* The value of the exposition line that starts with SERIES + " ", or -1. */
static double value(const char *text, const char *series)
{
    char *needle = g_strdup_printf("\n%s ", series);
    const char *p = strstr(text, needle);
    double v = p ? g_ascii_strtod(p + strlen(needle), NULL) : -1;
    g_free(needle);
    return v;
}

#define M SJM_METRICS_PREFIX

START_TEST(disabled_counts_nothing)
{
    sjm_metrics_reset();
    sjm_metrics_enable(FALSE);
    sjm_metrics_event e = {.journal = SJM_METRICS_JOURNAL_ADDED, .journal_copies = 1};
    sjm_metrics_record(&e);
    GString *o = sjm_metrics_render();
    ck_assert(value(o->str, M "messages_total{journal=\"added\",reason=\"\"}") == 0);
    g_string_free(o, TRUE);
}
END_TEST

START_TEST(typed_event_lands_in_its_series)
{
    sjm_metrics_reset();
    sjm_metrics_enable(TRUE);
    sjm_metrics_event e = {
        .signature = SJM_METRICS_SIG_STRIPPED,
        .journal = SJM_METRICS_JOURNAL_SKIPPED,
        .reason = SJM_METRICS_REASON_SYSTEM_DSN,
        .tempfail = SJM_METRICS_TEMPFAIL_REINJECT,
        .eom_us = 3000,
    };
    e.verify[SJM_VERIFY_PASS] = 2;
    e.reinject_attempts[SJM_METRICS_REINJECT_SPLIT] = 1;
    e.reinject_failures[SJM_METRICS_REINJECT_SPLIT] = 1;
    sjm_metrics_record(&e);
    sjm_metrics_event j = {.journal = SJM_METRICS_JOURNAL_ADDED, .journal_copies = 2,
                           .journal_bytes = 2000, .eom_us = 20000000};
    sjm_metrics_record(&j);
    GString *o = sjm_metrics_render();
    ck_assert(value(o->str, M "messages_total{journal=\"skipped\",reason=\"system_dsn\"}") == 1);
    ck_assert(value(o->str, M "messages_total{journal=\"added\",reason=\"\"}") == 1);
    ck_assert(value(o->str, M "signature_outcomes_total{outcome=\"stripped\"}") == 1);
    ck_assert(value(o->str, M "signature_outcomes_total{outcome=\"none\"}") == 1);
    ck_assert(value(o->str, M "verify_results_total{result=\"pass\"}") == 2);
    ck_assert(value(o->str, M "reinject_failures_total{kind=\"split\"}") == 1);
    ck_assert(value(o->str, M "tempfails_total{cause=\"reinject\"}") == 1);
    ck_assert(value(o->str, M "journal_copies_total") == 2);
    ck_assert(value(o->str, M "journal_bytes_total") == 2000);
    /* 3 ms falls in le=0.005 and above; 20 s only in le=30 and +Inf. */
    ck_assert(value(o->str, M "eom_duration_seconds_bucket{le=\"0.0025\"}") == 0);
    ck_assert(value(o->str, M "eom_duration_seconds_bucket{le=\"0.005\"}") == 1);
    ck_assert(value(o->str, M "eom_duration_seconds_bucket{le=\"10\"}") == 1);
    ck_assert(value(o->str, M "eom_duration_seconds_bucket{le=\"30\"}") == 2);
    ck_assert(value(o->str, M "eom_duration_seconds_bucket{le=\"+Inf\"}") == 2);
    ck_assert(value(o->str, M "eom_duration_seconds_count") == 2);
    ck_assert(value(o->str, M "eom_duration_seconds_sum") == 20.003);
    /* A skip reason on a non-skip decision is not a series of its own. */
    ck_assert_ptr_null(strstr(o->str, "journal=\"added\",reason=\"system"));
    g_string_free(o, TRUE);
}
END_TEST

START_TEST(out_of_range_values_stay_inside)
{
    sjm_metrics_reset();
    sjm_metrics_enable(TRUE);
    sjm_metrics_event e = {.signature = (sjm_metrics_signature)99,
                           .journal = (sjm_metrics_journal)99,
                           .reason = (sjm_metrics_reason)99,
                           .tempfail = (sjm_metrics_tempfail)99};
    sjm_metrics_record(&e);
    GString *o = sjm_metrics_render();
    ck_assert(value(o->str, M "signature_outcomes_total{outcome=\"error\"}") == 1);
    ck_assert(value(o->str, M "messages_total{journal=\"skipped\",reason=\"other\"}") == 1);
    g_string_free(o, TRUE);
}
END_TEST

START_TEST(listen_spec)
{
    gboolean v6 = TRUE;
    guint16 port = 0;
    char *host = NULL, *why = NULL;
    ck_assert(sjm_metrics_parse_listen("inet:9101@127.0.0.1", &v6, &port, &host, &why));
    ck_assert(!v6);
    ck_assert_uint_eq(port, 9101);
    ck_assert_str_eq(host, "127.0.0.1");
    g_free(host);
    ck_assert(sjm_metrics_parse_listen("inet6:9101", &v6, &port, &host, &why));
    ck_assert(v6);
    ck_assert_str_eq(host, "::1");
    g_free(host);
    ck_assert(!sjm_metrics_parse_listen("local:/run/x.sock", NULL, NULL, NULL, &why));
    ck_assert_ptr_nonnull(strstr(why, "inet:PORT@HOST"));
    g_free(why);
    ck_assert(!sjm_metrics_parse_listen("inet:0@127.0.0.1", NULL, NULL, NULL, &why));
    g_free(why);
    ck_assert(!sjm_metrics_parse_listen("inet:99999", NULL, NULL, NULL, &why));
    g_free(why);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, disabled_counts_nothing);
    tcase_add_test(tc, typed_event_lands_in_its_series);
    tcase_add_test(tc, out_of_range_values_stay_inside);
    tcase_add_test(tc, listen_spec);
    suite_add_tcase(s, tc);
    return s;
}
