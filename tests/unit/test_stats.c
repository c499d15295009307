/*
 * test_stats.c - durable journal counters: what a verdict counts, that
 * totals survive a stop and a start (restart), exact counts under
 * concurrent recording, a file that cannot be read is never overwritten,
 * and --stats prints the days, the mean and the projection.
 */
#include <string.h>
#include <check.h>
#include <glib/gstdio.h>
#include "log.h"
#include "stats.h"
#include "testlib.h"

static char *dir;

static void setup(void)
{
    dir = g_dir_make_tmp("sjm-stats-XXXXXX", NULL);
}

static void teardown(void)
{
    char *f = g_build_filename(dir, "journal-stats", NULL);
    g_unlink(f);
    g_free(f);
    g_rmdir(dir);
    g_free(dir);
}

static guint64 total(gint64 day, sjm_stat s)
{
    char *err = NULL;
    GTree *t = sjm_stats_read(dir, &err);
    ck_assert_ptr_nonnull(t);
    guint64 *row = g_tree_lookup(t, &day);
    guint64 n = row ? row[s] : 0;
    g_tree_destroy(t);
    return n;
}

/* 2026-11-23 and the two days after it */
#define D0 20780

/* One transaction as the plan would give it. */
static void rec(gint64 day, sjm_journal_status j, sjm_journal_reason reason, guint copies,
                sjm_signature_outcome sig, gboolean tempfailed, gboolean unbelieved, guint64 bytes)
{
    sjm_stats_sample m = {.journal = j, .reason = reason, .copies = copies, .signature = sig,
                          .tempfailed = tempfailed, .unbelieved = unbelieved, .bytes = bytes};
    sjm_stats_record_on_day(day, &m);
}
#define ADDED(n) SJM_JOURNAL_ADDED, SJM_SKIP_NONE, (n)
#define SKIPPED(r) SJM_JOURNAL_SKIPPED, (r), 0

START_TEST(counts_and_survives_restart)
{
    ck_assert(sjm_stats_start(dir, "", 0));
    rec(D0, ADDED(1), SJM_SIGNATURE_NONE, FALSE, FALSE, 1000);
    rec(D0, ADDED(2), SJM_SIGNATURE_STRIPPED, FALSE, TRUE, 500);
    rec(D0, SKIPPED(SJM_SKIP_DSN), SJM_SIGNATURE_NONE, FALSE, FALSE, 99);
    rec(D0, SKIPPED(SJM_SKIP_MDN), SJM_SIGNATURE_NONE, FALSE, FALSE, 99);
    rec(D0, SKIPPED(SJM_SKIP_PUBLIC_FOLDER), SJM_SIGNATURE_NONE, FALSE, FALSE, 99);
    rec(D0, SKIPPED(SJM_SKIP_TEMPFAIL), SJM_SIGNATURE_ERROR, TRUE, FALSE, 99);
    rec(D0, SJM_JOURNAL_FAILED, SJM_SKIP_NONE, 1, SJM_SIGNATURE_NONE, TRUE, FALSE, 99);   /* on_failure */
    rec(D0, SJM_JOURNAL_DISABLED, SJM_SKIP_NONE, 0, SJM_SIGNATURE_NONE, FALSE, FALSE, 99);
    /* Refused by the MTA and accepted anyway: no rule decided, so "other". */
    rec(D0, SJM_JOURNAL_FAILED_ACCEPTED, SJM_SKIP_NONE, 1, SJM_SIGNATURE_NONE, FALSE, FALSE, 99);
    rec(D0 + 1, ADDED(1), SJM_SIGNATURE_NONE, FALSE, FALSE, 3000);
    ck_assert(sjm_stats_flush());
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNALED), 2);
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNAL_COPIES), 3);
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNALED_BYTES), 1000 + 2 * 500);
    ck_assert_uint_eq(total(D0, SJM_STAT_SKIP_DSN), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_SKIP_MDN), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_SKIP_PUBLIC_FOLDER), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_SKIP_OTHER), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_TEMPFAILED), 2);
    ck_assert_uint_eq(total(D0, SJM_STAT_STRIPPED), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_UNBELIEVED), 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_DISABLED), 1);
    ck_assert_uint_eq(total(D0 + 1, SJM_STAT_JOURNALED_BYTES), 3000);
    sjm_stats_stop();

    /* Stopped: nothing counts (as in --inspect). */
    rec(D0, ADDED(1), SJM_SIGNATURE_NONE, FALSE, FALSE, 1);
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNALED), 2);

    /* Restart: the totals go on from the file. */
    ck_assert(sjm_stats_start(dir, "", 0));
    rec(D0, ADDED(1), SJM_SIGNATURE_NONE, FALSE, FALSE, 10);
    sjm_stats_stop();
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNALED), 3);
    ck_assert_uint_eq(total(D0, SJM_STAT_JOURNALED_BYTES), 2010);
    ck_assert_uint_eq(total(D0 + 1, SJM_STAT_JOURNALED), 1);
}
END_TEST

#define THREADS 4
#define PER_THREAD 50000

static gpointer hammer(gpointer arg)
{
    gint64 day = GPOINTER_TO_INT(arg);
    for (int i = 0; i < PER_THREAD; i++) {
        rec(day + (i % 3), ADDED(1), SJM_SIGNATURE_NONE, FALSE, FALSE, 7);
        if (i % 1000 == 0)
            sjm_stats_flush();   /* flushes racing with the adds */
    }
    return NULL;
}

START_TEST(exact_under_concurrency)
{
    ck_assert(sjm_stats_start(dir, "", 0));
    GThread *t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = g_thread_new("hammer", hammer, GINT_TO_POINTER(D0));
    for (int i = 0; i < THREADS; i++)
        g_thread_join(t[i]);
    sjm_stats_stop();
    guint64 n = 0, bytes = 0;
    for (int d = 0; d < 3; d++) {
        n += total(D0 + d, SJM_STAT_JOURNALED);
        bytes += total(D0 + d, SJM_STAT_JOURNALED_BYTES);
    }
    ck_assert_uint_eq(n, THREADS * PER_THREAD);
    ck_assert_uint_eq(bytes, 7ull * THREADS * PER_THREAD);
}
END_TEST

START_TEST(unreadable_file_kept)
{
    char *f = g_build_filename(dir, "journal-stats", NULL);
    g_file_set_contents(f, "2026-11-23 journaled 5\nnot a line\n", -1, NULL);
    ck_assert(!sjm_stats_start(dir, "", 0));
    char *err = NULL;
    ck_assert_ptr_null(sjm_stats_read(dir, &err));
    ck_assert_ptr_nonnull(strstr(err, ":2:"));
    g_free(err);
    char *text = NULL;
    g_file_get_contents(f, &text, NULL, NULL);
    ck_assert_str_eq(text, "2026-11-23 journaled 5\nnot a line\n");
    g_free(text);
    g_free(f);
}
END_TEST

START_TEST(print_mean_and_projection)
{
    char *f = g_build_filename(dir, "journal-stats", NULL);
    g_file_set_contents(f,
        "# comment\n"
        "2026-11-23 journaled 100\n2026-11-23 journal_copies 100\n2026-11-23 journaled_bytes 1000000\n"
        "2026-11-23 skipped:system:dsn 4\n"
        "2026-11-24 journaled 300\n2026-11-24 journal_copies 300\n2026-11-24 journaled_bytes 3000000\n",
        -1, NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    ck_assert_int_eq(sjm_stats_print(dir, dir, mem), 0);
    fclose(mem);
    ck_assert_ptr_nonnull(strstr(out, "2026-11-23"));
    ck_assert_ptr_nonnull(strstr(out, "2026-11-24"));
    ck_assert_ptr_nonnull(strstr(out, "skipped:system:dsn"));
    ck_assert_ptr_null(strstr(out, "skipped:system:mdn"));   /* columns only for what happened */
    ck_assert_ptr_nonnull(strstr(out, "daily mean: 200.0 messages, 2.0 MB"));
    ck_assert_ptr_nonnull(strstr(out, "one-year projection: 73000 messages, 730.0 MB of journal storage"));
    ck_assert_ptr_nonnull(strstr(out, "days at the daily mean"));
    free(out);
    g_free(f);
}
END_TEST

Suite *sjm_test_suite(void)
{
    /* What stats.c logs belongs in the test log, never the machine's syslog. */
    sjm_log_open("test_stats", TRUE, FALSE);
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_and_survives_restart);
    tcase_add_test(tc, exact_under_concurrency);
    tcase_add_test(tc, unreadable_file_kept);
    tcase_add_test(tc, print_mean_and_projection);
    suite_add_tcase(s, tc);
    return s;
}
