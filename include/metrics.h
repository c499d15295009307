/*
 * metrics.h - counters for Prometheus, served by the optional listener
 * ([metrics] listen; milter/metrics_http.c).
 *
 * One event per finished transaction, with typed values: what the
 * signature policy did, what the journal decided and why, the
 * verification results, the re-injections tried and failed, why the
 * message was tempfailed, how long end of message took and how many
 * journal bytes it caused.  Recording is a handful of relaxed atomic
 * additions, no lock and no allocation, and nothing at all while no
 * listener is configured (sjm_metrics_enable).
 *
 * Names follow Prometheus's conventions (one prefix, base units,
 * _total counters); labels carry only small closed sets, never an
 * address.  Every series exists from the start, at 0, so rate() and
 * alerts see a counter before its first event.
 *
 * INTERFACE
 *   See below: enable, record (from the plan: sjm_metrics_record_plan),
 *   render, parse_listen.
 *
 * ERROR CONTRACT
 *   Recording never fails and never blocks the message path; a bad
 *   listen spec is named by sjm_metrics_parse_listen.
 */
#ifndef SJM_METRICS_H
#define SJM_METRICS_H

#include <glib.h>
#include "verify.h"

#define SJM_METRICS_PREFIX "smime_journal_milter_"

typedef enum {
    SJM_METRICS_SIG_NONE,
    SJM_METRICS_SIG_PRESERVED,
    SJM_METRICS_SIG_STRIPPED,
    SJM_METRICS_SIG_ENCRYPTED,
    SJM_METRICS_SIG_MALFORMED,
    SJM_METRICS_SIG_SKIPPED,        /* larger than max_scan_size */
    SJM_METRICS_SIG_ERROR,
    SJM_METRICS_SIG_COUNT
} sjm_metrics_signature;

typedef enum {
    SJM_METRICS_JOURNAL_ADDED,
    SJM_METRICS_JOURNAL_SKIPPED,
    SJM_METRICS_JOURNAL_DISABLED,
    SJM_METRICS_JOURNAL_FAILED,             /* tempfailed */
    SJM_METRICS_JOURNAL_FAILED_ACCEPTED,    /* on_failure = accept: delivered unjournaled */
    SJM_METRICS_JOURNAL_COUNT
} sjm_metrics_journal;

/* Why a message was not journaled (SJM_METRICS_JOURNAL_SKIPPED only). */
typedef enum {
    SJM_METRICS_REASON_NONE,
    SJM_METRICS_REASON_JOURNAL_MAILBOX,
    SJM_METRICS_REASON_JOURNALED_UPSTREAM,
    SJM_METRICS_REASON_SYSTEM_DSN,
    SJM_METRICS_REASON_SYSTEM_MDN,
    SJM_METRICS_REASON_SYSTEM_SENDER,
    SJM_METRICS_REASON_PUBLIC_FOLDER,
    SJM_METRICS_REASON_OUT_OF_SCOPE,
    SJM_METRICS_REASON_NO_RECIPIENTS,
    SJM_METRICS_REASON_TEMPFAIL,            /* the message was tempfailed before the decision */
    SJM_METRICS_REASON_OTHER,
    SJM_METRICS_REASON_COUNT
} sjm_metrics_reason;

typedef enum {
    SJM_METRICS_REINJECT_REPORT,
    SJM_METRICS_REINJECT_JOURNAL_ORIGINAL,
    SJM_METRICS_REINJECT_SPLIT,
    SJM_METRICS_REINJECT_COUNT
} sjm_metrics_reinject;

typedef enum {
    SJM_METRICS_TEMPFAIL_NONE,
    SJM_METRICS_TEMPFAIL_JOURNAL_RECIPIENT, /* the MTA refused the added journal recipient */
    SJM_METRICS_TEMPFAIL_REINJECT,          /* the re-injection listener did not take a message */
    SJM_METRICS_TEMPFAIL_INTERNAL,          /* S/MIME processing or storage failed (on_error) */
    SJM_METRICS_TEMPFAIL_EDIT,              /* the MTA refused a header or body edit */
    SJM_METRICS_TEMPFAIL_LEDGER,            /* the ledger entry could not be made durable */
    SJM_METRICS_TEMPFAIL_COUNT
} sjm_metrics_tempfail;

#define SJM_METRICS_VERIFY_COUNT (SJM_VERIFY_PERMERROR + 1)

typedef struct sjm_metrics_event {
    sjm_metrics_signature signature;
    sjm_metrics_journal journal;
    sjm_metrics_reason reason;
    guint journal_copies;           /* journal mailboxes the message went to */
    guint64 journal_bytes;          /* message size times journal_copies */
    guint verify[SJM_METRICS_VERIFY_COUNT];     /* signatures verified, by result */
    guint reinject_attempts[SJM_METRICS_REINJECT_COUNT];
    guint reinject_failures[SJM_METRICS_REINJECT_COUNT];
    sjm_metrics_tempfail tempfail;  /* NONE unless the answer was a tempfail */
    gboolean rejected;
    gint64 eom_us;                  /* end of message: callback to answer */
} sjm_metrics_event;

/* Count from now on (TRUE) or not (FALSE, the default: --inspect and
 * a daemon without a listener pay nothing). */
void sjm_metrics_enable(gboolean on);
gboolean sjm_metrics_enabled(void);

/* One finished transaction. */
void sjm_metrics_record(const sjm_metrics_event *e);

/* Constant labels of smime_journal_milter_build_info, set once at start. */
void sjm_metrics_set_build_info(const char *version, const char *libraries);

/* Everything in the Prometheus text exposition format 0.0.4. */
GString *sjm_metrics_render(void);

/* Zero every counter (unit tests). */
void sjm_metrics_reset(void);

/*
 * "inet:PORT@HOST" or "inet6:PORT@HOST" (as [milter] socket writes it;
 * HOST an address or a name, default the loopback address): the parts,
 * or FALSE with *WHY set (g_free).
 */
gboolean sjm_metrics_parse_listen(const char *spec, gboolean *ipv6, guint16 *port, char **host,
                                  char **why);

/*
 * One finished transaction from its typed plan (metrics_plan.c): the
 * session calls it once, at end of message, beside the statistics.
 */
struct sjm_config;
struct sjm_txn;
struct sjm_plan;
void sjm_metrics_record_plan(const struct sjm_config *cfg, const struct sjm_txn *txn,
                             const struct sjm_plan *p, guint64 body_bytes, gint64 eom_us);

#endif
