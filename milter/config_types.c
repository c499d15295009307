/*
 * config_types.c - how each type of configuration value is read from
 * its text, shown by --print-config and freed (sjm_key_types[], indexed
 * by sjm_key_type).
 *
 * A parser reports every bad item of a value, not just the first, and
 * always leaves its field valid for the free function (an empty list, an
 * empty netlist), so one bad key neither hides the next problem nor
 * leaks.  Lists are comma-separated with empty items dropped; addresses,
 * patterns and domains are lower-cased because matching is
 * case-insensitive.
 */
#include <errno.h>
#include <string.h>
#include "config_int.h"

#define AT(field, T) (*(T *)(field))
#define AT_CONST(field, T) (*(T const *)(field))

gboolean sjm_parse_size(const char *text, guint64 *bytes)
{
    char *end = NULL;
    guint64 n, mult = 1;

    if (!text || !g_ascii_isdigit(*text))
        return FALSE;
    errno = 0;
    n = g_ascii_strtoull(text, &end, 10);
    if (errno)
        return FALSE;
    switch (g_ascii_toupper(*end)) {
    case '\0': break;
    case 'K': mult = 1024ULL; end++; break;
    case 'M': mult = 1024ULL * 1024; end++; break;
    case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
    default: return FALSE;
    }
    if (g_ascii_toupper(*end) == 'B')
        end++;
    if (*end != '\0' || (n && mult > G_MAXUINT64 / n))
        return FALSE;
    *bytes = n * mult;
    return TRUE;
}

gboolean sjm_plausible_address(const char *a)
{
    const char *at = strrchr(a, '@');
    return at && at != a && at[1] != '\0' && !strpbrk(a, " \t<>,;\"");
}

static gboolean plausible_domain(const char *d)
{
    if (g_str_has_prefix(d, "*."))
        d += 2;
    if (*d == '\0' || *d == '.' || strpbrk(d, " \t@<>,;=\"*"))
        return FALSE;
    return TRUE;
}

static gboolean plausible_pattern(const char *p)
{
    return !strpbrk(p, " \t<>;\"");
}

/* Comma-separated list, empty items dropped, lower-cased when LOWER. */
static char **split_list(const char *text, gboolean lower)
{
    GPtrArray *out = g_ptr_array_new();
    char **items = g_strsplit(text, ",", -1);

    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        if (*item)
            g_ptr_array_add(out, lower ? g_ascii_strdown(item, -1) : g_strdup(item));
    }
    g_strfreev(items);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* ------------------------------------------------------------ strings */

static void parse_string(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    (void)ld;
    (void)k;
    AT(f, char *) = g_strdup(text);
}

static char *format_string(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)text;
    return g_strdup(AT_CONST(f, char *));
}

static void free_string(void *f)
{
    g_free(AT(f, char *));
}

static gboolean valid_socket_spec(const char *spec)
{
    const char *colon = strchr(spec, ':');

    if (!colon)
        return spec[0] == '/';
    gsize plen = colon - spec;
    const char *rest = colon + 1;
    if ((plen == 5 && strncmp(spec, "local", 5) == 0) || (plen == 4 && strncmp(spec, "unix", 4) == 0))
        return rest[0] == '/';
    if ((plen == 4 && strncmp(spec, "inet", 4) == 0) || (plen == 5 && strncmp(spec, "inet6", 5) == 0)) {
        char *port = g_strndup(rest, strcspn(rest, "@"));
        guint64 n;
        gboolean ok = g_ascii_string_to_unsigned(port, 10, 1, 65535, &n, NULL);
        g_free(port);
        return ok;
    }
    return FALSE;
}

static void parse_socket(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    AT(f, char *) = g_strdup(text);
    if (!valid_socket_spec(text))
        sjm_key_problem(ld, k->section, k->key,
                        "\"%s\" is not local:/path, inet:PORT@HOST or inet6:PORT@HOST", text);
}

static void parse_address(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    char *a = g_ascii_strdown(text, -1);

    AT(f, char *) = a;
    if (*a && !sjm_plausible_address(a))
        sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a mailbox address", a);
}

/* ----------------------------------------------------- bool, enum, numbers */

static void parse_bool(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};

    AT(f, gboolean) = FALSE;
    for (int i = 0; yes[i]; i++)
        if (g_ascii_strcasecmp(text, yes[i]) == 0)
            return (void)(AT(f, gboolean) = TRUE);
    for (int i = 0; no[i]; i++)
        if (g_ascii_strcasecmp(text, no[i]) == 0)
            return;
    sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a boolean (use true or false)", text);
}

static char *format_bool(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)text;
    return g_strdup(AT_CONST(f, gboolean) ? "true" : "false");
}

static void parse_enum(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    AT(f, int) = 0;
    for (int i = 0; k->choices[i]; i++)
        if (g_ascii_strcasecmp(text, k->choices[i]) == 0)
            return (void)(AT(f, int) = i);
    char *list = g_strjoinv("|", (char **)k->choices);
    sjm_key_problem(ld, k->section, k->key, "\"%s\" is not one of %s", text, list);
    g_free(list);
}

static char *format_enum(const sjm_config_key *k, const void *f, const char *text)
{
    (void)text;
    return g_strdup(k->choices[AT_CONST(f, int)]);
}

static void parse_size(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    guint64 n = 0;

    if (!sjm_parse_size(text, &n) || n == 0)
        sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a size (like 64M, 512K, 1G)", text);
    AT(f, guint64) = n;
}

static char *format_size(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)text;
    return g_strdup_printf("%" G_GUINT64_FORMAT, AT_CONST(f, guint64));
}

static void parse_uint(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    guint64 n = 0;

    if (!g_ascii_string_to_unsigned(text, 10, k->min, k->max, &n, NULL))
        sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a number from %" G_GUINT64_FORMAT
                        " to %" G_GUINT64_FORMAT, text, k->min, k->max);
    AT(f, guint) = (guint)n;
}

static char *format_uint(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)text;
    return g_strdup_printf("%u", AT_CONST(f, guint));
}

static void free_nothing(void *f)
{
    (void)f;
}

/* -------------------------------------------------------------- lists */

typedef gboolean (*item_check)(const char *item);

static void parse_checked_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f,
                               gboolean lower, item_check ok, const char *what)
{
    char **list = split_list(text, lower);

    AT(f, char **) = list;
    for (char **p = list; ok && *p; p++)
        if (!ok(*p))
            sjm_key_problem(ld, k->section, k->key, "\"%s\" is not %s", *p, what);
}

static void parse_address_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    parse_checked_list(ld, k, text, f, TRUE, sjm_plausible_address, "a mailbox address");
}

static void parse_glob_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    parse_checked_list(ld, k, text, f, TRUE, plausible_pattern, "an address pattern");
}

static void parse_domain_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    parse_checked_list(ld, k, text, f, TRUE, plausible_domain, "a domain (use dom or *.dom)");
}

static void parse_path_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    parse_checked_list(ld, k, text, f, FALSE, NULL, NULL);
}

static char *format_list(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)text;
    return g_strjoinv(", ", AT_CONST(f, char **));
}

static void free_list(void *f)
{
    g_strfreev(AT(f, char **));
}

/* A netlist keeps no text, so --print-config shows the value as written. */
static void parse_cidr_list(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    char *bad = NULL;
    sjm_netlist *l = sjm_netlist_parse(text, &bad);

    if (!l) {
        sjm_key_problem(ld, k->section, k->key, "\"%s\" is not an address or CIDR network", bad);
        g_free(bad);
        l = sjm_netlist_parse("", NULL);
    }
    AT(f, sjm_netlist *) = l;
}

static char *format_as_written(const sjm_config_key *k, const void *f, const char *text)
{
    (void)k;
    (void)f;
    return g_strdup(text);
}

static void free_cidr_list(void *f)
{
    sjm_netlist_free(AT(f, sjm_netlist *));
}

/* -------------------------------------------------------------- sites */

static void free_site(gpointer p)
{
    sjm_site *s = p;
    g_free(s->domain);
    g_free(s->mailbox);
    g_free(s);
}

static void parse_sites(sjm_loader *ld, const sjm_config_key *k, const char *text, void *f)
{
    GPtrArray *sites = g_ptr_array_new_with_free_func(free_site);
    char **items = g_strsplit(text, ";", -1);

    AT(f, GPtrArray *) = sites;
    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        if (*item == '\0')
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            sjm_key_problem(ld, k->section, k->key, "\"%s\" is not \"domain=mailbox\"", item);
            continue;
        }
        *eq = '\0';
        sjm_site *s = g_new0(sjm_site, 1);
        s->domain = g_ascii_strdown(g_strstrip(item), -1);
        s->mailbox = g_ascii_strdown(g_strstrip(eq + 1), -1);
        if (!plausible_domain(s->domain))
            sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a domain", s->domain);
        if (!sjm_plausible_address(s->mailbox))
            sjm_key_problem(ld, k->section, k->key, "\"%s\" is not a mailbox address", s->mailbox);
        g_ptr_array_add(sites, s);
    }
    g_strfreev(items);
}

static char *format_sites(const sjm_config_key *k, const void *f, const char *text)
{
    const GPtrArray *sites = AT_CONST(f, GPtrArray *);
    GString *s = g_string_new(NULL);

    (void)k;
    (void)text;
    for (guint i = 0; i < sites->len; i++) {
        const sjm_site *site = g_ptr_array_index(sites, i);
        g_string_append_printf(s, "%s%s=%s", i ? "; " : "", site->domain, site->mailbox);
    }
    return g_string_free(s, FALSE);
}

static void free_sites(void *f)
{
    if (AT(f, GPtrArray *))
        g_ptr_array_free(AT(f, GPtrArray *), TRUE);
}

const sjm_key_ops sjm_key_types[SJM_KEY_NTYPES] = {
    [SJM_KEY_STRING] = {"string", parse_string, format_string, free_string},
    [SJM_KEY_BOOL] = {"boolean", parse_bool, format_bool, free_nothing},
    [SJM_KEY_ENUM] = {"one of", parse_enum, format_enum, free_nothing},
    [SJM_KEY_SIZE] = {"size", parse_size, format_size, free_nothing},
    [SJM_KEY_UINT] = {"number", parse_uint, format_uint, free_nothing},
    [SJM_KEY_ADDRESS] = {"mailbox address", parse_address, format_string, free_string},
    [SJM_KEY_ADDRESS_LIST] = {"list of mailbox addresses", parse_address_list, format_list, free_list},
    [SJM_KEY_GLOB_LIST] = {"list of address patterns", parse_glob_list, format_list, free_list},
    [SJM_KEY_DOMAIN_LIST] = {"list of domains", parse_domain_list, format_list, free_list},
    [SJM_KEY_CIDR_LIST] = {"list of addresses and CIDR networks", parse_cidr_list, format_as_written,
                           free_cidr_list},
    [SJM_KEY_SOCKET] = {"socket", parse_socket, format_string, free_string},
    [SJM_KEY_SITES] = {"list of domain=mailbox", parse_sites, format_sites, free_sites},
    [SJM_KEY_PATH] = {"path", parse_string, format_string, free_string},
    [SJM_KEY_PATH_LIST] = {"list of paths", parse_path_list, format_list, free_list},
};
