/*
 * stats_print.c - "smime-journal-milter --stats": the per-day journal
 * counters, their daily mean over the observed days and a one-year
 * storage projection (interface in stats.h).
 *
 * The projection is the mean day times 365: the first and the current
 * day are usually partial, which the table shows, so an administrator
 * can judge the figure rather than trust it blindly.  It reads the file
 * the daemon writes (every few seconds), never the daemon itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include "stats.h"

typedef struct {
    FILE *out;
    gboolean shown[SJM_STAT_COUNT];
    guint64 sum[SJM_STAT_COUNT];
    guint days;
} printer;

static const sjm_stat columns[] = {
    SJM_STAT_JOURNALED, SJM_STAT_JOURNAL_COPIES, SJM_STAT_JOURNALED_BYTES,
    SJM_STAT_SKIP_JOURNAL_MAILBOX, SJM_STAT_SKIP_UPSTREAM, SJM_STAT_SKIP_DSN, SJM_STAT_SKIP_MDN,
    SJM_STAT_SKIP_SYSTEM_SENDER, SJM_STAT_SKIP_PUBLIC_FOLDER, SJM_STAT_SKIP_OUT_OF_SCOPE,
    SJM_STAT_SKIP_OTHER, SJM_STAT_DISABLED, SJM_STAT_STRIPPED, SJM_STAT_TEMPFAILED,
    SJM_STAT_UNBELIEVED,
};

static char *human_bytes(double b)
{
    const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (b >= 1000.0 && u < 5) {
        b /= 1000.0;
        u++;
    }
    return g_strdup_printf(u == 0 ? "%.0f %s" : "%.1f %s", b, unit[u]);
}

static void day_name(gint64 day, char *buf, gsize len)
{
    GDate d;
    g_date_clear(&d, 1);
    g_date_set_dmy(&d, 1, 1, 1970);
    g_date_add_days(&d, (guint)day);
    g_snprintf(buf, len, "%04d-%02d-%02d", g_date_get_year(&d), g_date_get_month(&d),
               g_date_get_day(&d));
}

static gboolean mark_shown(gpointer key, gpointer value, gpointer data)
{
    (void)key;
    printer *p = data;
    const guint64 *row = value;
    for (int i = 0; i < SJM_STAT_COUNT; i++)
        if (row[i] != 0)
            p->shown[i] = TRUE;
    return FALSE;
}

static void header(printer *p)
{
    fprintf(p->out, "%-10s", "day");
    for (guint i = 0; i < G_N_ELEMENTS(columns); i++)
        if (p->shown[columns[i]])
            fprintf(p->out, " %*s", (int)MAX(strlen(sjm_stat_name(columns[i])), 10),
                    sjm_stat_name(columns[i]));
    fputc('\n', p->out);
}

static gboolean print_row(gpointer key, gpointer value, gpointer data)
{
    printer *p = data;
    const guint64 *row = value;
    char name[16];
    day_name(*(gint64 *)key, name, sizeof name);
    fprintf(p->out, "%-10s", name);
    for (guint i = 0; i < G_N_ELEMENTS(columns); i++) {
        sjm_stat c = columns[i];
        if (!p->shown[c])
            continue;
        fprintf(p->out, " %*" G_GUINT64_FORMAT, (int)MAX(strlen(sjm_stat_name(c)), 10), row[c]);
        p->sum[c] += row[c];
    }
    fputc('\n', p->out);
    p->days++;
    return FALSE;
}

int sjm_stats_print(const char *stats_dir, const char *store_path, FILE *out)
{
    char *error = NULL;
    GTree *t = sjm_stats_read(stats_dir, &error);
    if (t == NULL) {
        fprintf(out, "smime-journal-milter: %s\n", error);
        g_free(error);
        return 1;
    }
    printer p = {.out = out};
    g_tree_foreach(t, mark_shown, &p);
    fprintf(out, "journal statistics from %s (UTC days)\n", stats_dir);
    if (g_tree_nnodes(t) == 0) {
        fprintf(out, "no days observed yet\n");
        g_tree_destroy(t);
        return 0;
    }
    header(&p);
    g_tree_foreach(t, print_row, &p);

    fprintf(out, "%-10s", "mean/day");
    for (guint i = 0; i < G_N_ELEMENTS(columns); i++)
        if (p.shown[columns[i]])
            fprintf(out, " %*.1f", (int)MAX(strlen(sjm_stat_name(columns[i])), 10),
                    (double)p.sum[columns[i]] / p.days);
    fputc('\n', out);

    double msgs = (double)p.sum[SJM_STAT_JOURNALED] / p.days;
    double bytes = (double)p.sum[SJM_STAT_JOURNALED_BYTES] / p.days;
    char *per_day = human_bytes(bytes), *year = human_bytes(bytes * 365);
    fprintf(out, "\nobserved %u day(s): %" G_GUINT64_FORMAT " messages journaled, %" G_GUINT64_FORMAT
            " journal copies, %" G_GUINT64_FORMAT " bytes\n", p.days, p.sum[SJM_STAT_JOURNALED],
            p.sum[SJM_STAT_JOURNAL_COPIES], p.sum[SJM_STAT_JOURNALED_BYTES]);
    fprintf(out, "daily mean: %.1f messages, %s\n", msgs, per_day);
    fprintf(out, "one-year projection: %.0f messages, %s of journal storage\n", msgs * 365, year);
    g_free(per_day);
    g_free(year);

    if (store_path != NULL && *store_path != '\0') {
        struct statvfs sv;
        if (statvfs(store_path, &sv) != 0) {
            fprintf(out, "journal store %s: cannot check free space: %s\n", store_path, g_strerror(errno));
        } else {
            double free_bytes = (double)sv.f_bavail * sv.f_frsize;
            char *f = human_bytes(free_bytes);
            if (bytes > 0)
                fprintf(out, "journal store %s: %s free, %.0f days at the daily mean\n",
                        store_path, f, free_bytes / bytes);
            else
                fprintf(out, "journal store %s: %s free\n", store_path, f);
            g_free(f);
        }
    }
    g_tree_destroy(t);
    return 0;
}
