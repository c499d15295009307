/*
 * journal.h - the journaling decision and its application to the
 * transaction's plan (journal recipients, journal marks).
 *
 * Three files implement it:
 *   journal.c           the rules in order, and the plan;
 *   journal_evidence.c  whether a report (DSN, MDN) returns a message of
 *                       ours (its mark), with the shape and size of a
 *                       genuine one;
 *   journal_mark.c      the authenticated journal mark.
 * Every skip is earned by evidence a sender cannot fabricate (the key,
 * or an origin the administrator names); every
 * label (null sender, report type, system sender, mark) that was not
 * believed is named in the decision, so the log shows attempted
 * evasions.
 *
 * INTERFACE
 *   See each function below; the rules run through
 *   sjm_journal_open (end of header) and sjm_journal_finish (end of
 *   message).
 *
 * ERROR CONTRACT
 *   Nothing fails: what cannot be read or verified earns no skip, and
 *   the message is journaled.
 */
#ifndef SJM_JOURNAL_H
#define SJM_JOURNAL_H

#include "config.h"
#include "txn.h"

/* The header that marks a message as journaled by this filter. */
#define SJM_JOURNAL_MARK_HEADER "X-SMIME-Journal-Milter-Journaled"

/* Is ADDR (normalized) one of the configured journal mailboxes? */
gboolean sjm_journal_is_mailbox(const sjm_config *cfg, const char *addr);

/* NULL, or a static 550 reply text refusing RCPT (protect). */
const char *sjm_journal_check_rcpt(const sjm_config *cfg, const sjm_txn *txn,
                                   const char *rcpt);

/*
 * End of header: verify every journal mark once (P->journal.marks) and
 * run the rules that need no body.  A rule that must read a report's
 * structure leaves the decision open and sets P->body_for_journal, so
 * plain mail keeps the no-body fast path.
 */
void sjm_journal_open(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);
/* Could the journal still get a copy (decided "added", or not decided)? */
gboolean sjm_journal_may_add(const sjm_plan *p);
gboolean sjm_journal_wants_body(const sjm_plan *p);

/*
 * End of message: finish the decision (opening the plan first if nobody
 * did) into P->journal, without touching P's edits.
 */
void sjm_journal_decide(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);

/*
 * End of message: decide, then write the journal's edits into P: the
 * header firewall's deletions of marks not believed, the journal
 * recipients and this host's mark.
 */
void sjm_journal_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);

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
gboolean sjm_evidence_dsn(const sjm_config *cfg, const sjm_txn *txn, const char **why);
gboolean sjm_evidence_mdn(const sjm_config *cfg, const sjm_txn *txn, const char **why);

/* ---- journal_mark.c */

/*
 * The value of the mark this host adds to a message whose header fields
 * (as delivered, sjm_header*) are HEADERS, whose body (as delivered) has
 * BODY_DIGEST (bodyhash.h) and whose envelope recipients are RCPTS
 * (char*).  Keyed when mark_key_file is set and the digest is known;
 * otherwise the host name alone, which nobody believes by default.
 */
char *sjm_mark_make(const sjm_config *cfg, GPtrArray *headers, const guchar *body_digest,
                    const GPtrArray *rcpts, gint64 now);

/* What sjm_mark_verify compares beyond the MAC. */
typedef struct sjm_mark_check_opts {
    const guchar *body_digest;  /* the body must have this digest (NULL: not compared) */
    gboolean need_body;         /* no digest is a refusal ("body-unread") */
    gboolean check_header;      /* every field but trace fields as marked */
    const GPtrArray *rcpts;     /* each (but journal mailboxes) covered; NULL: not compared */
} sjm_mark_check_opts;

/*
 * Does the keyed mark VALUE verify for header fields HEADERS
 * (sjm_header*) and what O asks?  *WHY is "mac" or the refusal:
 * "bad-mac", "body-changed", "headers-changed", "recipients-not-covered",
 * "body-unread", "unbound-v1", "malformed", "no-key-here", "unkeyed".
 */
gboolean sjm_mark_verify(const sjm_config *cfg, const char *value, GPtrArray *headers,
                         const sjm_mark_check_opts *o, const char **why);

/*
 * In a header block a report returns, the fields hops add after marking
 * (trace fields) are the only ones outside the MAC: each at most
 * SJM_MARK_TRACE_FIELD_MAX bytes, all together SJM_MARK_TRACE_MAX.
 */
#define SJM_MARK_TRACE_FIELD_MAX 2048
#define SJM_MARK_TRACE_MAX 32768
gboolean sjm_mark_returned_trace_ok(GPtrArray *headers);

/*
 * Does the mark VALUE found on TXN count (its body digest and envelope
 * recipients)?  *WHY is a static token either way: the evidence ("mac",
 * "unkeyed-trusted-client") or the refusal (see sjm_mark_verify).
 */
gboolean sjm_mark_believed(const sjm_config *cfg, const sjm_txn *txn, const char *value,
                           const char **why);

#endif
