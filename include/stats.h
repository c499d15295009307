/*
 * stats.h - durable per-day journal volume counters (Exchange 5.5 SP1's
 * advice: watch the journal grow for the first days,
 * then project a year of storage).
 *
 * DESCRIPTION
 *   The message path only adds to in-memory counters with atomic
 *   operations (sjm_stats_record): no lock, no file I/O.  A background
 *   thread started by sjm_stats_start merges them every few seconds
 *   into per-day totals and writes those to STATS_DIR/journal-stats
 *   (write to a temporary file, fsync, rename), so the counters survive
 *   restarts, reloads and crashes up to the last flush.  The same thread
 *   checks the journal store's free space once a day, when it is on
 *   this host, and warns when it covers fewer than store_warn_days days
 *   of the observed growth.
 *
 *   Days are UTC calendar days.  "journaled_bytes" is what the journal
 *   stores: the message's size times the journal copies added.
 *
 * INTERFACE
 *   sjm_stats_start/_flush/_stop in the daemon, sjm_stats_record_plan per
 *   transaction, sjm_stats_read and sjm_stats_print for --stats.
 *
 * ERROR CONTRACT
 *   I/O problems are logged (at most once per kind until they clear)
 *   and never reach the message path.  Before sjm_stats_start, and in
 *   --inspect, sjm_stats_record counts nothing.
 */
#ifndef SJM_STATS_H
#define SJM_STATS_H

#include <stdio.h>
#include <glib.h>
#include "txn.h"

typedef enum {
    SJM_STAT_JOURNALED,          /* messages that got at least one journal copy */
    SJM_STAT_JOURNAL_COPIES,     /* journal recipients added */
    SJM_STAT_JOURNALED_BYTES,    /* bytes stored in the journal */
    SJM_STAT_SKIP_JOURNAL_MAILBOX,
    SJM_STAT_SKIP_UPSTREAM,
    SJM_STAT_SKIP_DSN,
    SJM_STAT_SKIP_MDN,
    SJM_STAT_SKIP_SYSTEM_SENDER,
    SJM_STAT_SKIP_PUBLIC_FOLDER,
    SJM_STAT_SKIP_OUT_OF_SCOPE,
    SJM_STAT_SKIP_OTHER,
    SJM_STAT_DISABLED,
    SJM_STAT_STRIPPED,
    SJM_STAT_TEMPFAILED,
    SJM_STAT_UNBELIEVED,         /* messages with a label that was not believed */
    SJM_STAT_COUNT
} sjm_stat;

/* The counter's name in the file and in --stats ("journaled", "skipped:system:dsn", ...). */
const char *sjm_stat_name(sjm_stat s);

/*
 * Start counting: load STATS_DIR/journal-stats and start the flush
 * thread.  STORE_PATH "" = no free-space check.  FALSE (logged) when the
 * directory is unusable; counting then stays off, the filter runs on.
 */
gboolean sjm_stats_start(const char *stats_dir, const char *store_path, guint warn_days);
/* Write what is counted now (e.g. at reload); TRUE when it is on disk. */
gboolean sjm_stats_flush(void);
/* Flush a last time and stop the thread. */
void sjm_stats_stop(void);

/* One finished transaction, as the statistics count it. */
typedef struct sjm_stats_sample {
    sjm_journal_status journal;
    sjm_journal_reason reason;      /* when SKIPPED */
    guint copies;                   /* journal copies, when ADDED */
    sjm_signature_outcome signature;
    gboolean tempfailed;
    gboolean unbelieved;            /* a label was not believed */
    guint64 bytes;                  /* the message's size */
} sjm_stats_sample;

/* Count one transaction now.  Atomic adds only. */
void sjm_stats_record(const sjm_stats_sample *m);
/* The same, from a transaction and its finished plan (size from the headers and body seen). */
void sjm_stats_record_plan(const sjm_txn *txn, const sjm_plan *p, guint64 body_bytes);

/* For tests: count as if it were day DAY (days since 1970-01-01 UTC). */
void sjm_stats_record_on_day(gint64 day, const sjm_stats_sample *m);

/*
 * The file's per-day totals: a GTree of day (gint64*, days since
 * 1970-01-01 UTC) -> guint64[SJM_STAT_COUNT], or NULL with *ERROR set.
 * A missing file is an empty tree.
 */
GTree *sjm_stats_read(const char *stats_dir, char **error);

/*
 * --stats: the per-day table, the daily mean over the observed days and
 * a one-year projection, read from STATS_DIR (and the free space of
 * STORE_PATH when set).  Returns 0, or non-zero with a message on OUT
 * when there is nothing to read.
 */
int sjm_stats_print(const char *stats_dir, const char *store_path, FILE *out);

#endif
