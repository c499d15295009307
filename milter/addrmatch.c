/*
 * addrmatch.c - address and domain matching for the signature policy
 * and the journaling rules.
 *
 * Everything compares lower-cased text: SMTP domains are case-insensitive
 * and, although local parts formally are not, no deployed mail system
 * distinguishes them, and an administrator writing "Pf-*@corp" expects
 * it to catch "pf-sales@CORP".
 */
#include <string.h>
#include "addrmatch.h"

char *sjm_addr_normalize(const char *addr)
{
    if (addr == NULL)
        return g_strdup("");

    /* Milters see "<a@b>" from RCPT/MAIL; other callers pass bare addresses. */
    const char *start = addr;
    while (*start == ' ' || *start == '\t')
        start++;
    gsize len = strlen(start);
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    if (len >= 2 && start[0] == '<' && start[len - 1] == '>') {
        start++;
        len -= 2;
    }
    return g_ascii_strdown(start, (gssize)len);
}

const char *sjm_addr_domain(const char *normalized)
{
    if (normalized == NULL)
        return "";
    /* The last '@': a quoted local part may itself contain one. */
    const char *at = strrchr(normalized, '@');
    return at != NULL ? at + 1 : "";
}

gboolean sjm_addr_match_any(char *const *patterns, const char *addr)
{
    if (patterns == NULL || addr == NULL)
        return FALSE;
    char *norm = sjm_addr_normalize(addr);
    gboolean hit = FALSE;
    for (char *const *p = patterns; *p != NULL && !hit; p++) {
        if (**p == '\0')
            continue;
        /* Patterns are lower case by contract; lower them again so a
         * caller that built the list by hand cannot get a silent miss. */
        char *pat = g_ascii_strdown(*p, -1);
        hit = g_pattern_match_simple(pat, norm);
        g_free(pat);
    }
    g_free(norm);
    return hit;
}

gboolean sjm_domain_match(const char *pattern, const char *domain)
{
    if (pattern == NULL || domain == NULL || *pattern == '\0' || *domain == '\0')
        return FALSE;

    if (pattern[0] == '*' && pattern[1] == '.') {
        /* "*.dom" covers a.dom and a.b.dom but not dom itself, nor xdom. */
        const char *base = pattern + 1;           /* ".dom" */
        gsize blen = strlen(base);
        gsize dlen = strlen(domain);
        if (blen < 2 || dlen <= blen)
            return FALSE;
        return g_ascii_strcasecmp(domain + (dlen - blen), base) == 0;
    }
    return g_ascii_strcasecmp(pattern, domain) == 0;
}

gboolean sjm_domain_match_any(char *const *patterns, const char *domain)
{
    if (patterns == NULL)
        return FALSE;
    for (char *const *p = patterns; *p != NULL; p++)
        if (sjm_domain_match(*p, domain))
            return TRUE;
    return FALSE;
}
