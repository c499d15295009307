/*
 * summary.h - the one line that says what the filter did with a
 * message: logged per message by the daemon (after the queue id) and
 * printed by --inspect.  Both come from sjm_summary_line(), so they
 * cannot drift.
 *
 * The fields, in order:
 *   from=<SENDER> rcpts=N          only in the log line (with_envelope)
 *   signature=VALUE                one of:
 *       none                no S/MIME in the message
 *       preserved           signed, left byte-identical
 *       stripped(KINDS)     signatures removed; KINDS e.g. detached,opaque
 *       encrypted           encrypted S/MIME, never touched
 *       malformed           a signed structure that could not be parsed,
 *                           passed unchanged (a reason token may follow)
 *       skipped             larger than max_scan_size, passed unchanged
 *       error               internal failure; per on_error
 *   journal=VALUE                  one of:
 *       added:ADDR[,ADDR]   journal recipients added
 *       skipped:REASON      not journaled, with the rule that decided
 *       disabled            [journal] enabled = false
 *       failed              adding the recipient failed; tempfailed
 *       failed:accepted-unjournaled   it failed and on_failure = accept
 *   action=tempfail|reject reply="CODE XCODE TEXT"   when not accepted
 *   add_rcpt=<ADDR>[:ESMTP]        each recipient the filter added
 *   del_rcpt=<ADDR>                each recipient the filter deleted (split:
 *                                  it gets a re-injected stripped copy)
 *   rcpt_refused=ADDR(REPLY)       each RCPT the filter refused
 *   smime_error=WHY                after signature=malformed
 *   authres_removed=N verify=... verify_reason= verify_part= verify_signer=
 *   verify_from=                   [verify] results, one list item per signature
 *   journal_evidence= journal_unbelieved=   what earned a skip, labels not believed
 *   reinject_error= reinject=KIND:N,...     extra messages submitted (would-... in --inspect)
 *   error=edit-failed              an edit the MTA refused, on_error = accept
 *   time=MS ms                     time since MAIL FROM, in milliseconds
 *
 * INTERFACE
 *   sjm_summary_line (the whole line) and sjm_summary_fields (the module
 *   fields alone, for tests).
 *
 * ERROR CONTRACT
 *   None: it formats a finished plan.
 */
#ifndef SJM_SUMMARY_H
#define SJM_SUMMARY_H

#include "txn.h"

char *sjm_summary_line(const sjm_txn *txn, const sjm_plan *p, gint64 elapsed_us,
                       gboolean with_envelope);
/* The module fields alone (" smime_error=... verify=... journal_evidence=...
 * reinject=... error=..."), each with its leading space; "" when none. */
char *sjm_summary_fields(const sjm_plan *p);

#endif
