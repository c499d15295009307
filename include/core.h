/*
 * core.h - the decisions for one transaction, free of libmilter.
 *
 * The session layer (session.c) calls these at RCPT, end of header and
 * end of message, for the milter and --inspect alike.  They only read
 * the transaction and fill a verdict.
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

/* At end of header: does end of message need the body bytes? */
gboolean sjm_core_wants_body(const sjm_config *cfg, const sjm_txn *txn);

/*
 * At end of message: fill V.  Never fails: internal errors become a
 * TEMPFAIL verdict or an unchanged message, per on_error/on_failure.
 */
void sjm_core_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v);

#endif
