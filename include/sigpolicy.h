/*
 * sigpolicy.h - which recipients keep S/MIME signatures, folded into one
 * decision per message ([signatures] action, strip_for, preserve_for,
 * mixed).
 *
 * INTERFACE
 *   sjm_sigpolicy_for_rcpt, sjm_sigpolicy_for_message: pure functions of
 *   the configuration and the recipients.
 *
 * ERROR CONTRACT
 *   None.
 */
#ifndef SJM_SIGPOLICY_H
#define SJM_SIGPOLICY_H

#include "config.h"

/* What recipient RCPT (normalized) should get. */
sjm_sig_action sjm_sigpolicy_for_rcpt(const sjm_config *cfg, const char *rcpt);

/* One decision for all RCPTS (char*); recipients that disagree -> mixed. */
sjm_sig_action sjm_sigpolicy_for_message(const sjm_config *cfg, const GPtrArray *rcpts);

#endif
