/*
 * journal_report.h - the Exchange-compatible envelope journal report
 * ([journal] mode = report in smime-journal-milter.conf(5)) and the
 * "original as received" that it carries.
 *
 * INTERFACE
 *   sjm_report_build() turns a transaction (envelope, header fields as
 *   received, the original body in txn->body) into a report: a list of
 *   pieces for reinject.h.  The pieces point into the transaction, which
 *   must outlive the report.
 *
 *   Layout, as mailpiler and other Exchange-report readers parse it:
 *     Message-ID, Date, From, To (the journal mailboxes),
 *     X-MS-Journal-Report:           column 0, this spelling, after To:
 *                                    (mailpiler restarts its recipient
 *                                    list there), Subject,
 *     Auto-Submitted: auto-generated, MIME-Version,
 *     Content-Type: multipart/mixed
 *     part 1  text/plain, 7bit or 8bit (never base64/QP), one line each:
 *             Sender: <envelope sender>     ("<>" for the null sender)
 *             Subject: / Message-Id:        (from the original, unfolded)
 *             To: / Cc: / Bcc: <addr>       only for authenticated
 *                                           submissions, per the original
 *                                           To/Cc fields (else Bcc)
 *             Recipient: <addr>             every envelope recipient,
 *                                           always (see below), with
 *                                           ", Expanded: <addr>" when its
 *                                           ORCPT names another address
 *     part 2  message/rfc822: the original header fields and body bytes,
 *             not re-encoded (Content-Transfer-Encoding: 8bit).
 *   Every envelope recipient is on a Recipient: line because mailpiler,
 *   when it merges a duplicate Message-Id, keeps only Recipient: (and
 *   X-Piler-Envelope-To) addresses; To/Cc/Bcc lines are extra detail for
 *   readers that know Exchange's internal-sender form.  Values from the
 *   sender are unfolded and stripped of CR/LF, so no sender can add a
 *   report line.
 *
 *   The report's own Message-ID is derived from the envelope and the
 *   original's header fields (Received excepted) and body size, so the
 *   report of a retried transaction has the same identity as the first.
 *
 * ERROR CONTRACT
 *   NULL (with *error) when the body was not kept (txn->body NULL or
 *   body_failed): a report without the original is not evidence.
 */
#ifndef SJM_JOURNAL_REPORT_H
#define SJM_JOURNAL_REPORT_H

#include "config.h"
#include "txn.h"
#include "reinject.h"

#define SJM_REPORT_HEADER "X-MS-Journal-Report"

/*
 * The Message-ID a journaled message without one (absent or blank) is
 * given when [journal] add_message_id is on, else NULL.  Derived from the
 * envelope, header fields and the body's digest (or the body, when only
 * that was kept), so a retry gets the same one; failing both, from those
 * fields and the MTA's queue id.  Archives file messages by
 * Message-ID; mailpiler's SMTP path files every message without one
 * under the same key, so the second would never be archived.
 */
char *sjm_journal_message_id(const sjm_config *cfg, const sjm_txn *txn);
/* The one place the filter adds that Message-ID to the delivered message. */
void sjm_journal_add_message_id(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);
/* The original's header block as the journal gets it: as received, with
 * that Message-ID where the delivered copy has it. */
GString *sjm_journal_render_original(const sjm_config *cfg, const sjm_txn *txn);

typedef struct sjm_report sjm_report;

/* MAILBOXES (char*) are the journal mailboxes the report is sent to. */
sjm_report *sjm_report_build(const sjm_config *cfg, const sjm_txn *txn,
                             const GPtrArray *mailboxes, char **error);
const sjm_piece *sjm_report_pieces(const sjm_report *r, guint *n_pieces);
const char *sjm_report_message_id(const sjm_report *r);
void sjm_report_free(sjm_report *r);

/*
 * HEADERS (sjm_header*) as a CRLF header block ending in the empty line,
 * each field "Name: value" with folded lines kept.  Fields named SKIP
 * (case-insensitive, may be NULL) are left out.
 */
GString *sjm_render_headers(const GPtrArray *headers, const char *skip);

#endif
