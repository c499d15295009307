/*
 * journal.h - the journaling decision of SPEC section 5 and its
 * application to a verdict (journal recipients, journal marks).
 *
 * Three files implement it:
 *   journal.c           the rules in order, and the verdict;
 *   journal_evidence.c  whether a report (DSN, MDN) is genuine, by the
 *                       structure of its body;
 *   journal_mark.c      the authenticated journal mark.
 * Every skip is earned by evidence a sender cannot fabricate; every
 * label (null sender, report type, system sender, mark) that was not
 * believed is named in the decision, so the log shows attempted
 * evasions.
 */
#ifndef SJM_JOURNAL_H
#define SJM_JOURNAL_H

#include "config.h"
#include "txn.h"

/* The header that marks a message as journaled by this filter. */
#define SJM_JOURNAL_MARK_HEADER "X-SMIME-Journal-Milter-Journaled"

typedef struct sjm_journal_decision {
    gboolean add;           /* TRUE: add the mailboxes below */
    const char *reason;     /* when !add: "disabled", "journal-mailbox", "system:dsn", ... (static) */
    const char *evidence;   /* what earned a skip beyond its reason, e.g. "system-host",
                             * "mark:mac"; NULL when the reason says it all (static) */
    char *unbelieved;       /* "null-sender:no-report-label,mark:bad-mac", or NULL */
    GPtrArray *mailboxes;   /* of char*, when add */
} sjm_journal_decision;

/* Is ADDR (normalized) one of the configured journal mailboxes? */
gboolean sjm_journal_is_mailbox(const sjm_config *cfg, const char *addr);

/* NULL, or a static 550 reply text refusing RCPT (protect). */
const char *sjm_journal_check_rcpt(const sjm_config *cfg, const sjm_txn *txn,
                                   const char *rcpt);

/*
 * At end of header: does the decision need the body?  Only when the
 * top-level Content-Type claims multipart/report and a report rule is
 * on; plain mail keeps the no-body fast path.
 */
gboolean sjm_journal_wants_body(const sjm_config *cfg, const sjm_txn *txn);

/* The decision of SPEC section 5, in its order.  Clear with _clear(). */
void sjm_journal_decide(const sjm_config *cfg, const sjm_txn *txn,
                        sjm_journal_decision *d);
void sjm_journal_decision_clear(sjm_journal_decision *d);

/*
 * Decide and write into V: v->journal summary, rcpt adds, mark edits,
 * and the log fields journal_evidence= and journal_unbelieved=.
 */
void sjm_journal_apply(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v);

/* ---- journal_evidence.c */

/*
 * NULL when the top-level Content-Type is not multipart/report; else the
 * claimed report-type, lower case ("" when the label is ambiguous).
 * The caller frees it.
 */
char *sjm_evidence_report_type(const sjm_txn *txn);
/* Does the top-level Content-Type claim a report (body worth reading)? */
gboolean sjm_evidence_wants_body(const sjm_txn *txn);
/*
 * Is txn->body a genuine RFC 3464 DSN / RFC 8098 MDN?  On FALSE, *WHY
 * is a static token ("extra-parts", "returns-content", ...).
 */
gboolean sjm_evidence_dsn(const sjm_txn *txn, const char **why);
gboolean sjm_evidence_mdn(const sjm_txn *txn, const char **why);

/* ---- journal_mark.c */

/* The value of the mark this host adds (keyed when mark_key_file is set). */
char *sjm_mark_make(const sjm_config *cfg, const sjm_txn *txn, gint64 now);
/*
 * Does the mark VALUE found on TXN count?  *WHY is a static token either
 * way: the evidence ("mark:mac") or the refusal ("mark:bad-mac").
 */
gboolean sjm_mark_believed(const sjm_config *cfg, const sjm_txn *txn, const char *value,
                           const char **why);

#endif
