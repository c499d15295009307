/*
 * addrmatch.h - address and domain matching shared by the signature
 * policy and the journaling rules.  Patterns are case-insensitive shell
 * globs over the whole address; domains in "local_domains" and "sites"
 * are exact, or "*.dom" for every subdomain of dom (not dom itself).
 *
 * INTERFACE
 *   sjm_addr_normalize, sjm_addr_domain, sjm_addr_match_any, sjm_domain_match
 *   and sjm_domain_match_any, pure functions over strings.
 *
 * ERROR CONTRACT
 *   None: an address that does not parse matches nothing.
 */
#ifndef SJM_ADDRMATCH_H
#define SJM_ADDRMATCH_H

#include <glib.h>

/* Strip one pair of angle brackets, lower-case.  Returns a new string. */
char *sjm_addr_normalize(const char *addr);

/* The domain part of a normalized address ("" when there is none). */
const char *sjm_addr_domain(const char *normalized);

/* Does ADDR (any case) match any glob in PATTERNS (lower case)? */
gboolean sjm_addr_match_any(char *const *patterns, const char *addr);

/* Does DOMAIN equal PATTERN or, for "*.x" patterns, lie below x? */
gboolean sjm_domain_match(const char *pattern, const char *domain);
gboolean sjm_domain_match_any(char *const *patterns, const char *domain);

#endif
