/*
 * core.h - the decisions for one transaction, free of libmilter.
 *
 * INTERFACE
 *   The session layer (session.c) calls these at RCPT, end of header and
 *   end of message, for the milter and --inspect alike.  They read the
 *   transaction and write its plan (plan.h): opened at end of header
 *   (what the body is needed for, the journal rules that need no body,
 *   every journal mark verified once), finished at end of message (the
 *   signature outcome, the journal decision, the edits and the extra
 *   messages to submit).
 *
 * ERROR CONTRACT
 *   Nothing fails the caller: internal errors become a tempfail plan or
 *   an unchanged message, per on_error/on_failure.
 */
#ifndef SJM_CORE_H
#define SJM_CORE_H

#include "config.h"
#include "txn.h"

/*
 * At RCPT TO: NULL to accept RCPT, else the reply text of a 550 5.7.1
 * refusal (static string).  Called before RCPT is added to txn->rcpts.
 */
const char *sjm_core_check_rcpt(const sjm_config *cfg, const sjm_txn *txn,
                                const char *rcpt);

/* At end of header: open P.  Idempotent. */
void sjm_core_open(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);

/* Does end of message need the body bytes (any of P's body_for_*)? */
gboolean sjm_core_wants_body(const sjm_plan *p);

/* At end of message: finish P (opening it first if nobody did). */
void sjm_core_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p);

#endif
