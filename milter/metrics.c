/*
 * metrics.c - the counters behind the Prometheus listener, and their
 * text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * libmilter runs each connection in its own thread, so every counter is
 * a 64-bit integer bumped with a relaxed atomic add: a scrape may see
 * one message's counters half added, which Prometheus's rate() does not
 * notice, and no message ever waits for a scrape.
 */
#include <string.h>
#include "metrics.h"

#define ADD(x, n) __atomic_fetch_add(&(x), (guint64)(n), __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static gint enabled;

static const char *const sig_name[SJM_METRICS_SIG_COUNT] = {
    "none", "preserved", "stripped", "encrypted", "malformed", "skipped", "error"};
static const char *const journal_name[SJM_METRICS_JOURNAL_COUNT] = {
    "added", "skipped", "disabled", "failed", "failed_accepted_unjournaled"};
static const char *const reason_name[SJM_METRICS_REASON_COUNT] = {
    "", "journal_mailbox", "journaled_upstream", "system_dsn", "system_mdn", "system_sender",
    "public_folder", "out_of_scope", "no_recipients", "tempfail", "other"};
static const char *const reinject_name[SJM_METRICS_REINJECT_COUNT] = {
    "report", "journal_original", "split"};
static const char *const tempfail_name[SJM_METRICS_TEMPFAIL_COUNT] = {
    "", "journal_recipient", "reinject", "internal_error", "edit_refused", "ledger"};

/* End-of-message time: a filter that answers in well under a millisecond
 * on plain mail and in tens to hundreds on large signed mail, up to the
 * re-injection timeout. */
static const gint64 bucket_us[] = {100,    250,    500,     1000,    2500,    5000,    10000,
                                   25000,  50000,  100000,  250000,  500000,  1000000, 2500000,
                                   5000000, 10000000, 30000000};
#define NBUCKETS G_N_ELEMENTS(bucket_us)

static struct {
    guint64 messages[SJM_METRICS_JOURNAL_COUNT][SJM_METRICS_REASON_COUNT];
    guint64 signatures[SJM_METRICS_SIG_COUNT];
    guint64 verify[SJM_METRICS_VERIFY_COUNT];
    guint64 reinject_attempts[SJM_METRICS_REINJECT_COUNT];
    guint64 reinject_failures[SJM_METRICS_REINJECT_COUNT];
    guint64 tempfails[SJM_METRICS_TEMPFAIL_COUNT];
    guint64 rejects;
    guint64 journal_copies;
    guint64 journal_bytes;
    guint64 eom_buckets[NBUCKETS];  /* not cumulative: rendering adds up */
    guint64 eom_count;
    guint64 eom_sum_us;
} m;

static char *build_version;
static char *build_libraries;
static gint64 start_time;

void sjm_metrics_enable(gboolean on)
{
    if (on && start_time == 0)
        start_time = g_get_real_time() / G_USEC_PER_SEC;
    g_atomic_int_set(&enabled, on ? 1 : 0);
}

gboolean sjm_metrics_enabled(void)
{
    return g_atomic_int_get(&enabled) != 0;
}

void sjm_metrics_reset(void)
{
    memset(&m, 0, sizeof m);
}

void sjm_metrics_set_build_info(const char *version, const char *libraries)
{
    g_free(build_version);
    g_free(build_libraries);
    build_version = g_strdup(version);
    build_libraries = g_strdup(libraries);
}

void sjm_metrics_record(const sjm_metrics_event *e)
{
    if (!sjm_metrics_enabled())
        return;
    /* Out-of-range values are a caller's bug; count them where they
     * cannot hide a real category rather than write past an array. */
    guint j = (guint)e->journal < SJM_METRICS_JOURNAL_COUNT ? (guint)e->journal : SJM_METRICS_JOURNAL_SKIPPED;
    guint r = (guint)e->reason < SJM_METRICS_REASON_COUNT ? (guint)e->reason : SJM_METRICS_REASON_OTHER;
    if (j != SJM_METRICS_JOURNAL_SKIPPED)
        r = SJM_METRICS_REASON_NONE;
    else if (r == SJM_METRICS_REASON_NONE)
        r = SJM_METRICS_REASON_OTHER;
    ADD(m.messages[j][r], 1);
    guint s = (guint)e->signature < SJM_METRICS_SIG_COUNT ? (guint)e->signature : SJM_METRICS_SIG_ERROR;
    ADD(m.signatures[s], 1);
    for (guint i = 0; i < SJM_METRICS_VERIFY_COUNT; i++)
        if (e->verify[i])
            ADD(m.verify[i], e->verify[i]);
    for (guint i = 0; i < SJM_METRICS_REINJECT_COUNT; i++) {
        if (e->reinject_attempts[i])
            ADD(m.reinject_attempts[i], e->reinject_attempts[i]);
        if (e->reinject_failures[i])
            ADD(m.reinject_failures[i], e->reinject_failures[i]);
    }
    if (e->tempfail != SJM_METRICS_TEMPFAIL_NONE && (guint)e->tempfail < SJM_METRICS_TEMPFAIL_COUNT)
        ADD(m.tempfails[e->tempfail], 1);
    if (e->rejected)
        ADD(m.rejects, 1);
    if (e->journal_copies) {
        ADD(m.journal_copies, e->journal_copies);
        ADD(m.journal_bytes, e->journal_bytes);
    }
    gint64 us = MAX(e->eom_us, 0);
    guint b = 0;
    while (b < NBUCKETS && us > bucket_us[b])
        b++;
    if (b < NBUCKETS)
        ADD(m.eom_buckets[b], 1);
    ADD(m.eom_count, 1);
    ADD(m.eom_sum_us, us);
}

/* ------------------------------------------------------------ exposition */

static void head(GString *o, const char *name, const char *type, const char *help)
{
    g_string_append_printf(o, "# HELP " SJM_METRICS_PREFIX "%s %s\n# TYPE " SJM_METRICS_PREFIX "%s %s\n",
                           name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(GString *o, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            g_string_append_c(o, '\\');
        if (*v == '\n')
            g_string_append(o, "\\n");
        else
            g_string_append_c(o, *v);
    }
}

static void one_label(GString *o, const char *name, const char *label, const char *value, guint64 n)
{
    g_string_append_printf(o, SJM_METRICS_PREFIX "%s{%s=\"%s\"} %" G_GUINT64_FORMAT "\n", name, label,
                           value, n);
}

GString *sjm_metrics_render(void)
{
    GString *o = g_string_sized_new(8192);

    head(o, "messages_total", "counter",
         "Messages that reached end of data, by journal decision and the reason for a skip.");
    for (guint j = 0; j < SJM_METRICS_JOURNAL_COUNT; j++) {
        for (guint r = 0; r < SJM_METRICS_REASON_COUNT; r++) {
            if ((j == SJM_METRICS_JOURNAL_SKIPPED) != (r != SJM_METRICS_REASON_NONE))
                continue;
            g_string_append_printf(o, SJM_METRICS_PREFIX "messages_total{journal=\"%s\",reason=\"%s\"} %"
                                   G_GUINT64_FORMAT "\n", journal_name[j], reason_name[r],
                                   GET(m.messages[j][r]));
        }
    }
    head(o, "signature_outcomes_total", "counter",
         "Messages by what the S/MIME signature policy did to them.");
    for (guint i = 0; i < SJM_METRICS_SIG_COUNT; i++)
        one_label(o, "signature_outcomes_total", "outcome", sig_name[i], GET(m.signatures[i]));
    head(o, "verify_results_total", "counter",
         "S/MIME signatures verified, by RFC 7281 result.");
    for (guint i = 0; i < SJM_METRICS_VERIFY_COUNT; i++)
        one_label(o, "verify_results_total", "result", sjm_verify_code_name((sjm_verify_code)i),
                  GET(m.verify[i]));
    head(o, "reinject_attempts_total", "counter",
         "Messages submitted to the re-injection listener, by kind.");
    for (guint i = 0; i < SJM_METRICS_REINJECT_COUNT; i++)
        one_label(o, "reinject_attempts_total", "kind", reinject_name[i], GET(m.reinject_attempts[i]));
    head(o, "reinject_failures_total", "counter",
         "Submissions the re-injection listener did not accept, by kind.");
    for (guint i = 0; i < SJM_METRICS_REINJECT_COUNT; i++)
        one_label(o, "reinject_failures_total", "kind", reinject_name[i], GET(m.reinject_failures[i]));
    head(o, "tempfails_total", "counter", "Messages answered with a temporary failure, by cause.");
    for (guint i = 1; i < SJM_METRICS_TEMPFAIL_COUNT; i++)
        one_label(o, "tempfails_total", "cause", tempfail_name[i], GET(m.tempfails[i]));
    head(o, "rejects_total", "counter", "Messages the filter rejected.");
    g_string_append_printf(o, SJM_METRICS_PREFIX "rejects_total %" G_GUINT64_FORMAT "\n", GET(m.rejects));
    head(o, "journal_copies_total", "counter", "Journal copies requested (one per journal mailbox).");
    g_string_append_printf(o, SJM_METRICS_PREFIX "journal_copies_total %" G_GUINT64_FORMAT "\n",
                           GET(m.journal_copies));
    head(o, "journal_bytes_total", "counter",
         "Bytes sent to the journal: message size times journal copies.");
    g_string_append_printf(o, SJM_METRICS_PREFIX "journal_bytes_total %" G_GUINT64_FORMAT "\n",
                           GET(m.journal_bytes));

    head(o, "eom_duration_seconds", "histogram",
         "Time from the end of a message to the filter's answer, re-injection included.");
    guint64 cum = 0;
    for (guint b = 0; b < NBUCKETS; b++) {
        cum += GET(m.eom_buckets[b]);
        g_string_append_printf(o, SJM_METRICS_PREFIX "eom_duration_seconds_bucket{le=\"%g\"} %"
                               G_GUINT64_FORMAT "\n", bucket_us[b] / 1e6, cum);
    }
    guint64 count = GET(m.eom_count);
    g_string_append_printf(o, SJM_METRICS_PREFIX "eom_duration_seconds_bucket{le=\"+Inf\"} %"
                           G_GUINT64_FORMAT "\n", MAX(count, cum));
    g_string_append_printf(o, SJM_METRICS_PREFIX "eom_duration_seconds_sum %.6f\n",
                           GET(m.eom_sum_us) / 1e6);
    g_string_append_printf(o, SJM_METRICS_PREFIX "eom_duration_seconds_count %" G_GUINT64_FORMAT "\n",
                           MAX(count, cum));

    head(o, "build_info", "gauge", "Always 1; the labels say which build and libraries run.");
    g_string_append(o, SJM_METRICS_PREFIX "build_info{version=\"");
    label_value(o, build_version ? build_version : "unknown");
    g_string_append(o, "\",libraries=\"");
    label_value(o, build_libraries ? build_libraries : "");
    g_string_append(o, "\"} 1\n");
    head(o, "start_time_seconds", "gauge", "When the filter started counting, seconds since 1970.");
    g_string_append_printf(o, SJM_METRICS_PREFIX "start_time_seconds %" G_GINT64_FORMAT "\n", start_time);
    return o;
}

/* ------------------------------------------------------------ listen spec */

gboolean sjm_metrics_parse_listen(const char *spec, gboolean *ipv6, guint16 *port, char **host,
                                  char **why)
{
    const char *rest;
    gboolean v6;

    if (g_str_has_prefix(spec, "inet6:")) {
        v6 = TRUE;
        rest = spec + 6;
    } else if (g_str_has_prefix(spec, "inet:")) {
        v6 = FALSE;
        rest = spec + 5;
    } else {
        *why = g_strdup_printf("\"%s\" is not inet:PORT@HOST or inet6:PORT@HOST "
                               "(Prometheus scrapes over TCP)", spec);
        return FALSE;
    }
    const char *at = strchr(rest, '@');
    char *p = g_strndup(rest, at ? (gsize)(at - rest) : strlen(rest));
    guint64 n = 0;
    gboolean ok = g_ascii_string_to_unsigned(p, 10, 1, 65535, &n, NULL);
    g_free(p);
    if (!ok) {
        *why = g_strdup_printf("\"%s\": the port must be a number from 1 to 65535", spec);
        return FALSE;
    }
    if (ipv6)
        *ipv6 = v6;
    if (port)
        *port = (guint16)n;
    if (host)
        *host = g_strdup(at && at[1] ? at + 1 : v6 ? "::1" : "127.0.0.1");
    return TRUE;
}
