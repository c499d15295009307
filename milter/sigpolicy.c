/*
 * sigpolicy.c - which recipients keep S/MIME signatures ([signatures]).
 *
 * A milter can only hand the MTA one body per message, so the per-recipient
 * wishes are folded into a single decision; when recipients disagree the
 * administrator's "mixed" setting decides rather than the first recipient,
 * so the outcome does not depend on RCPT order.
 */
#include <stdio.h>     /* config.h uses FILE without including it */
#include "sigpolicy.h"
#include "addrmatch.h"

sjm_sig_action sjm_sigpolicy_for_rcpt(const sjm_config *cfg, const char *rcpt)
{
    /* preserve_for is documented as "always keep": it wins over strip_for,
     * so an exception carved out of a broad strip pattern stays an exception. */
    if (sjm_addr_match_any(cfg->preserve_for, rcpt))
        return SJM_SIG_ACTION_PRESERVE;
    if (sjm_addr_match_any(cfg->strip_for, rcpt))
        return SJM_SIG_ACTION_STRIP;
    return cfg->sig_action;
}

sjm_sig_action sjm_sigpolicy_for_message(const sjm_config *cfg, const GPtrArray *rcpts)
{
    if (rcpts == NULL || rcpts->len == 0)
        return cfg->sig_action;

    gboolean any_strip = FALSE, any_preserve = FALSE;
    for (guint i = 0; i < rcpts->len; i++) {
        if (sjm_sigpolicy_for_rcpt(cfg, g_ptr_array_index(rcpts, i)) == SJM_SIG_ACTION_STRIP)
            any_strip = TRUE;
        else
            any_preserve = TRUE;
    }
    if (any_strip && any_preserve)
        return cfg->sig_mixed;
    return any_strip ? SJM_SIG_ACTION_STRIP : SJM_SIG_ACTION_PRESERVE;
}
