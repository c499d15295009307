/*
 * delivery.h - the extra messages of one transaction: envelope journal
 * reports, the original for the journal when the delivered copy was
 * stripped, and the stripped copy of a split delivery.
 *
 * DESCRIPTION
 *   The core decides what the one message of the transaction becomes
 *   (its plan, plan.h).  Some outcomes need more than one message:
 *     report mode      one envelope journal report (journal_report.h) to
 *                      the journal mailboxes; the transaction gets no
 *                      journal recipient;
 *     bcc + stripped   the delivered copy lost its signature, so the
 *                      journal recipients come off the transaction and
 *                      get the original, signed bytes as a message of
 *                      their own;
 *     mixed = split    recipients who keep signatures stay on the
 *                      (unchanged) transaction; those who get them
 *                      stripped are deleted from it (del_rcpt) and get
 *                      the stripped copy as a message of their own.
 *   The journal, in every case, receives the original.
 *
 * INTERFACE
 *   At end of header, sjm_delivery_wants_body() says whether end of
 *   message will need the whole original body.  At end of message, after
 *   the core finished the plan, sjm_delivery_plan() adds the extra
 *   messages to it (p->extras) and takes the journal recipient adds they
 *   replace off the transaction; sjm_delivery_execute() submits them
 *   (reinject.h) in the order journal first, people second, and only then
 *   may the session apply the plan's edits (recipients a split moved to
 *   their own copy included) and accept the transaction.

 * ERROR CONTRACT
 *   Nothing fails the caller; failures land in V:
 *     a journal message not accepted -> journal.on_failure: tempfail
 *       (default), or accept: a bcc-mode journal copy falls back to the
 *       journal recipient on the transaction (the stripped copy), a
 *       report is logged as lost
 *       (journal=failed:accepted-unjournaled) and no journal mark is added;
 *     a split copy not accepted -> on_error: tempfail, or accept: its
 *       recipients stay on the transaction and get the original;
 *     an internal error while planning -> on_error.
 *   A submission accepted before a later one failed is not taken back;
 *   the client's retry repeats it (same Message-ID: archives and mail
 *   readers merge it).  Nothing is ever delivered unjournaled unless
 *   journal.on_failure = accept says so.
 */
#ifndef SJM_DELIVERY_H
#define SJM_DELIVERY_H

#include "config.h"
#include "txn.h"
#include "reinject.h"

/* TRUE: end of message needs the whole body, whatever max_scan_size says
 * (a journal report must carry all of the original). */
gboolean sjm_delivery_wants_body(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p);

/* The extra messages the finished plan P needs, into p->extras. */
void sjm_delivery_plan(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);

/*
 * Submit p->extras to T, or with T NULL (--inspect) only mark them as
 * described.  Each message's status (and error) lands in P, with the
 * failure policy above.
 */
void sjm_delivery_execute(const sjm_config *cfg, const sjm_reinject_target *t, sjm_plan *p);

#endif
