/*
 * stats.c - durable per-day journal counters (interface and contract in
 * stats.h).  The message path touches only the atomic counters of the
 * current day's slot; the flush thread owns the per-day totals and the
 * file.  A slot is reused for a new day only when its old day is four
 * days past, long after the thread (every FLUSH_SECONDS) drained it, and
 * whatever it still held is merged before reuse, under the lock the
 * thread also takes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "log.h"
#include "stats.h"

#define FLUSH_SECONDS 5
#define SLOTS 4
#define FILE_NAME "journal-stats"

static const char *const names[SJM_STAT_COUNT] = {
    [SJM_STAT_JOURNALED] = "journaled",
    [SJM_STAT_JOURNAL_COPIES] = "journal_copies",
    [SJM_STAT_JOURNALED_BYTES] = "journaled_bytes",
    [SJM_STAT_SKIP_JOURNAL_MAILBOX] = "skipped:journal-mailbox",
    [SJM_STAT_SKIP_UPSTREAM] = "skipped:journaled-upstream",
    [SJM_STAT_SKIP_DSN] = "skipped:system:dsn",
    [SJM_STAT_SKIP_MDN] = "skipped:system:mdn",
    [SJM_STAT_SKIP_SYSTEM_SENDER] = "skipped:system:sender",
    [SJM_STAT_SKIP_PUBLIC_FOLDER] = "skipped:public-folder",
    [SJM_STAT_SKIP_OUT_OF_SCOPE] = "skipped:out-of-scope",
    [SJM_STAT_SKIP_OTHER] = "skipped:other",
    [SJM_STAT_DISABLED] = "disabled",
    [SJM_STAT_STRIPPED] = "stripped",
    [SJM_STAT_TEMPFAILED] = "tempfailed",
    [SJM_STAT_UNBELIEVED] = "unbelieved-labels",
};

const char *sjm_stat_name(sjm_stat s)
{
    return s < SJM_STAT_COUNT ? names[s] : "?";
}

typedef struct {
    gint64 day;                     /* read and written with atomics */
    guint64 c[SJM_STAT_COUNT];      /* atomic adds / exchanges */
} slot;

static slot slots[SLOTS];
static gint running;                /* atomic: counting on */
static GMutex lock;                 /* totals, slot reuse, the file */
static GTree *totals;               /* day -> guint64[] */
static char *dir, *store;
static guint warn_days;
static GThread *thread;
static GMutex wake_lock;
static GCond wake;
static gboolean stopping;
static gboolean write_failed;       /* logged once until a write works */

static gint cmp_day(gconstpointer a, gconstpointer b, gpointer unused)
{
    (void)unused;
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

static guint64 *day_row(GTree *t, gint64 day)
{
    guint64 *row = g_tree_lookup(t, &day);
    if (row == NULL) {
        gint64 *k = g_new(gint64, 1);
        *k = day;
        row = g_new0(guint64, SJM_STAT_COUNT);
        g_tree_insert(t, k, row);
    }
    return row;
}

/* ------------------------------------------------------------ message path */

static void add(slot *s, sjm_stat c, guint64 n)
{
    __atomic_add_fetch(&s->c[c], n, __ATOMIC_RELAXED);
}

/* Move a slot's counts into the totals (lock held). */
static gboolean drain(slot *s)
{
    gint64 day = __atomic_load_n(&s->day, __ATOMIC_ACQUIRE);
    gboolean any = FALSE;
    if (day <= 0)
        return FALSE;
    guint64 *row = NULL;
    for (int i = 0; i < SJM_STAT_COUNT; i++) {
        guint64 n = __atomic_exchange_n(&s->c[i], 0, __ATOMIC_ACQ_REL);
        if (n == 0)
            continue;
        if (row == NULL)
            row = day_row(totals, day);
        row[i] += n;
        any = TRUE;
    }
    return any;
}

static slot *slot_for(gint64 day)
{
    slot *s = &slots[day % SLOTS];
    if (__atomic_load_n(&s->day, __ATOMIC_ACQUIRE) == day)
        return s;
    /* First message of a new day: rare, so a lock is fine. */
    g_mutex_lock(&lock);
    if (__atomic_load_n(&s->day, __ATOMIC_ACQUIRE) != day) {
        drain(s);
        __atomic_store_n(&s->day, day, __ATOMIC_RELEASE);
    }
    g_mutex_unlock(&lock);
    return s;
}

/* The counter of each skip reason; the rest count as "skipped:other". */
static sjm_stat skip_counter(sjm_journal_reason reason)
{
    switch (reason) {
    case SJM_SKIP_JOURNAL_MAILBOX: return SJM_STAT_SKIP_JOURNAL_MAILBOX;
    case SJM_SKIP_UPSTREAM: return SJM_STAT_SKIP_UPSTREAM;
    case SJM_SKIP_DSN: return SJM_STAT_SKIP_DSN;
    case SJM_SKIP_MDN: return SJM_STAT_SKIP_MDN;
    case SJM_SKIP_SYSTEM_SENDER: return SJM_STAT_SKIP_SYSTEM_SENDER;
    case SJM_SKIP_PUBLIC_FOLDER: return SJM_STAT_SKIP_PUBLIC_FOLDER;
    case SJM_SKIP_OUT_OF_SCOPE: return SJM_STAT_SKIP_OUT_OF_SCOPE;
    default: return SJM_STAT_SKIP_OTHER;
    }
}

void sjm_stats_record_on_day(gint64 day, const sjm_stats_sample *m)
{
    if (!g_atomic_int_get(&running))
        return;
    slot *s = slot_for(day);
    if (m->signature == SJM_SIGNATURE_STRIPPED)
        add(s, SJM_STAT_STRIPPED, 1);
    if (m->unbelieved)
        add(s, SJM_STAT_UNBELIEVED, 1);
    /* A tempfailed message is not delivered: nothing was journaled or
     * skipped, the client will send it again. */
    if (m->tempfailed) {
        add(s, SJM_STAT_TEMPFAILED, 1);
        return;
    }
    switch (m->journal) {
    case SJM_JOURNAL_ADDED:
        add(s, SJM_STAT_JOURNALED, 1);
        add(s, SJM_STAT_JOURNAL_COPIES, m->copies);
        add(s, SJM_STAT_JOURNALED_BYTES, m->bytes * m->copies);
        break;
    case SJM_JOURNAL_SKIPPED:
        add(s, skip_counter(m->reason), 1);
        break;
    case SJM_JOURNAL_DISABLED:
        add(s, SJM_STAT_DISABLED, 1);
        break;
    default:
        /* Refused by the MTA and accepted anyway (on_failure = accept):
         * not journaled, and no rule decided so. */
        add(s, SJM_STAT_SKIP_OTHER, 1);
        break;
    }
}

void sjm_stats_record(const sjm_stats_sample *m)
{
    sjm_stats_record_on_day(g_get_real_time() / G_USEC_PER_SEC / 86400, m);
}

void sjm_stats_record_plan(const sjm_txn *txn, const sjm_plan *p, guint64 body_bytes)
{
    if (!g_atomic_int_get(&running))
        return;
    /* The size as stored: header lines with CRLF, the blank line, the body. */
    guint64 bytes = 2 + body_bytes;
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        bytes += strlen(h->name) + 2 + (h->value ? strlen(h->value) : 0) + 2;
    }
    sjm_stats_sample m = {
        .journal = p->journal.status,
        .reason = p->journal.reason,
        .copies = p->journal.mailboxes->len,
        .signature = p->sig.outcome,
        .tempfailed = p->action == SJM_ACTION_TEMPFAIL,
        .unbelieved = p->journal.unbelieved->len > 0,
        .bytes = bytes,
    };
    sjm_stats_record(&m);
}

/* ------------------------------------------------------------ the file */

static gboolean parse_date(const char *text, gint64 *day)
{
    int y, m, d;
    char tail;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !g_date_valid_dmy(d, m, y))
        return FALSE;
    GDate date;
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, d, m, y);
    GDate epoch;
    g_date_clear(&epoch, 1);
    g_date_set_dmy(&epoch, 1, 1, 1970);
    *day = g_date_days_between(&epoch, &date);
    return TRUE;
}

GTree *sjm_stats_read(const char *stats_dir, char **error)
{
    char *path = g_build_filename(stats_dir, FILE_NAME, NULL);
    char *text = NULL;
    GError *err = NULL;
    GTree *t = g_tree_new_full(cmp_day, NULL, g_free, g_free);
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        gboolean missing = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        if (!missing) {
            *error = g_strdup_printf("%s: %s", path, err->message);
            g_tree_destroy(t);
            t = NULL;
        }
        g_error_free(err);
        g_free(path);
        return t;
    }
    char **lines = g_strsplit(text, "\n", -1);
    guint lineno = 0;
    for (char **l = lines; *l && t; l++) {
        lineno++;
        if (**l == '\0' || **l == '#')
            continue;
        char **f = g_strsplit(*l, " ", -1);
        gint64 day;
        guint64 n;
        int which = -1;
        if (g_strv_length(f) == 3)
            for (int i = 0; i < SJM_STAT_COUNT; i++)
                if (strcmp(f[1], names[i]) == 0)
                    which = i;
        if (which < 0 || !parse_date(f[0], &day) ||
            !g_ascii_string_to_unsigned(f[2], 10, 0, G_MAXUINT64, &n, NULL)) {
            *error = g_strdup_printf("%s:%u: not \"YYYY-MM-DD counter number\"", path, lineno);
            g_tree_destroy(t);
            t = NULL;
        } else {
            day_row(t, day)[which] += n;
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    return t;
}

static gboolean write_row(gpointer key, gpointer value, gpointer data)
{
    GString *out = data;
    const guint64 *row = value;
    GDate date;
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, 1, 1, 1970);
    g_date_add_days(&date, (guint)*(gint64 *)key);
    for (int i = 0; i < SJM_STAT_COUNT; i++)
        if (row[i] != 0)
            g_string_append_printf(out, "%04d-%02d-%02d %s %" G_GUINT64_FORMAT "\n",
                                   g_date_get_year(&date), g_date_get_month(&date),
                                   g_date_get_day(&date), names[i], row[i]);
    return FALSE;
}

/* Write the totals (lock held): temporary file, fsync, rename. */
static gboolean write_file(void)
{
    GString *out = g_string_new("# smime-journal-milter journal statistics: UTC day, counter, total\n");
    g_tree_foreach(totals, write_row, out);
    char *path = g_build_filename(dir, FILE_NAME, NULL);
    char *tmp = g_strconcat(path, ".tmp", NULL);
    gboolean ok = FALSE;
    FILE *f = fopen(tmp, "w");
    if (f != NULL) {
        ok = fwrite(out->str, 1, out->len, f) == out->len;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
    }
    if (!ok) {
        if (!write_failed)
            sjm_log(LOG_ERR, "journal statistics: cannot write %s: %s (counting goes on in memory)",
                    path, g_strerror(errno));
        unlink(tmp);
    } else if (write_failed) {
        sjm_log(LOG_INFO, "journal statistics: %s written again", path);
    }
    write_failed = !ok;
    g_free(tmp);
    g_free(path);
    g_string_free(out, TRUE);
    return ok;
}

gboolean sjm_stats_flush(void)
{
    if (!g_atomic_int_get(&running))
        return FALSE;
    g_mutex_lock(&lock);
    gboolean changed = FALSE;
    for (int i = 0; i < SLOTS; i++)
        changed = drain(&slots[i]) || changed;
    gboolean ok = changed || write_failed ? write_file() : TRUE;
    g_mutex_unlock(&lock);
    return ok;
}

/* ------------------------------------------------------------ free space */

typedef struct { guint64 bytes; guint days; } growth;

static gboolean sum_growth(gpointer key, gpointer value, gpointer data)
{
    (void)key;
    growth *g = data;
    g->bytes += ((guint64 *)value)[SJM_STAT_JOURNALED_BYTES];
    g->days++;
    return FALSE;
}

/* Once a day: log the free space; warn when it covers too few days. */
static void check_store(void)
{
    struct statvfs sv;
    if (store == NULL || *store == '\0')
        return;
    if (statvfs(store, &sv) != 0) {
        sjm_log(LOG_WARNING, "journal store %s: cannot check free space: %s", store, g_strerror(errno));
        return;
    }
    guint64 free_bytes = (guint64)sv.f_bavail * sv.f_frsize;
    growth g = {0, 0};
    g_mutex_lock(&lock);
    g_tree_foreach(totals, sum_growth, &g);
    g_mutex_unlock(&lock);
    double per_day = g.days ? (double)g.bytes / g.days : 0.0;
    sjm_log(LOG_INFO, "journal store %s: %.1f MB free; journal growth %.1f MB/day over %u day(s)",
            store, free_bytes / 1e6, per_day / 1e6, g.days);
    if (warn_days > 0 && per_day > 0 && free_bytes < per_day * warn_days)
        sjm_log(LOG_WARNING, "journal store %s: free space covers %.1f days of the observed growth, "
                "fewer than store_warn_days = %u", store, free_bytes / per_day, warn_days);
}

static gpointer flush_thread(gpointer unused)
{
    (void)unused;
    gint64 last_check_day = -1;
    g_mutex_lock(&wake_lock);
    while (!stopping) {
        g_mutex_unlock(&wake_lock);
        sjm_stats_flush();
        gint64 today = g_get_real_time() / G_USEC_PER_SEC / 86400;
        if (today != last_check_day) {
            check_store();
            last_check_day = today;
        }
        g_mutex_lock(&wake_lock);
        if (!stopping)
            g_cond_wait_until(&wake, &wake_lock, g_get_monotonic_time() + FLUSH_SECONDS * G_USEC_PER_SEC);
    }
    g_mutex_unlock(&wake_lock);
    return NULL;
}

gboolean sjm_stats_start(const char *stats_dir, const char *store_path, guint days)
{
    char *error = NULL;
    if (g_atomic_int_get(&running))
        return TRUE;
    if (g_mkdir_with_parents(stats_dir, 0750) != 0 || access(stats_dir, W_OK) != 0) {
        sjm_log(LOG_ERR, "journal statistics: %s is not a writable directory: %s; not counting",
                stats_dir, g_strerror(errno));
        return FALSE;
    }
    GTree *t = sjm_stats_read(stats_dir, &error);
    if (t == NULL) {
        /* Never overwrite totals that could not be read. */
        sjm_log(LOG_ERR, "journal statistics: %s; not counting until it is repaired or removed", error);
        g_free(error);
        return FALSE;
    }
    totals = t;
    dir = g_strdup(stats_dir);
    store = g_strdup(store_path ? store_path : "");
    warn_days = days;
    memset(slots, 0, sizeof slots);
    stopping = FALSE;
    write_failed = FALSE;
    g_atomic_int_set(&running, 1);
    thread = g_thread_new("sjm-stats", flush_thread, NULL);
    return TRUE;
}

void sjm_stats_stop(void)
{
    if (!g_atomic_int_get(&running))
        return;
    g_mutex_lock(&wake_lock);
    stopping = TRUE;
    g_cond_signal(&wake);
    g_mutex_unlock(&wake_lock);
    g_thread_join(thread);
    thread = NULL;
    sjm_stats_flush();
    g_atomic_int_set(&running, 0);
    g_tree_destroy(totals);
    totals = NULL;
    g_free(dir);
    g_free(store);
    dir = store = NULL;
}
