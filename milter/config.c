/*
 * config.c - load and validate the configuration file (SPEC section 3).
 *
 * GKeyFile does the parsing, but it knows neither line numbers nor
 * inline comments, so a first pass over the raw text records where each
 * section and key stands, removes " ; comment" tails and reports lines
 * that are not INI at all.  Every problem is collected, so "-n" shows an
 * administrator all of them in one run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

const sjm_config_key sjm_config_keys[] = {
    {"milter", "socket", "local:/run/smime-journal-milter/milter.sock"},
    {"milter", "user", "smime-journal-milter"},
    {"milter", "on_error", "tempfail"},
    {"milter", "trusted_networks", "127.0.0.0/8, ::1"},
    {"milter", "max_scan_size", "64M"},
    {"milter", "max_mime_depth", "32"},
    {"signatures", "action", "preserve"},
    {"signatures", "strip_for", ""},
    {"signatures", "preserve_for", ""},
    {"signatures", "mixed", "preserve"},
    {"signatures", "strip_attached_messages", "false"},
    {"verify", "enabled", "false"},
    {"verify", "trust_anchors", "/etc/ssl/certs/ca-certificates.crt"},
    {"verify", "crl", ""},
    {"verify", "authserv_id", ""},
    {"verify", "on_invalid", "keep"},
    {"journal", "enabled", "true"},
    {"journal", "mode", "bcc"},
    {"journal", "recipient", "journal@archive.example.com"},
    {"journal", "sites", ""},
    {"journal", "scope", "global"},
    {"journal", "local_domains", ""},
    {"journal", "public_folders", ""},
    {"journal", "system_senders", ""},
    {"journal", "skip_null_sender", "true"},
    {"journal", "skip_read_reports", "true"},
    {"journal", "notify_never", "true"},
    {"journal", "protect", "true"},
    {"journal", "on_failure", "tempfail"},
    {NULL, NULL, NULL},
};

const char *sjm_config_default_path(void)
{
    return SYSCONFDIR "/smime-journal-milter.conf";
}

/* ------------------------------------------------------------ loading */

typedef struct {
    const char *path;
    GKeyFile *kf;
    GHashTable *lines;      /* "section\nkey" or "section" -> line number */
    GPtrArray *errors;
} loader;

static void problem_at(loader *ld, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void problem_at(loader *ld, guint line, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line)
        g_ptr_array_add(ld->errors, g_strdup_printf("%s:%u: %s", ld->path, line, msg));
    else
        g_ptr_array_add(ld->errors, g_strdup_printf("%s: %s", ld->path, msg));
    g_free(msg);
}

static guint key_line(loader *ld, const char *section, const char *key)
{
    char *k = key ? g_strdup_printf("%s\n%s", section, key) : g_strdup(section);
    guint line = GPOINTER_TO_UINT(g_hash_table_lookup(ld->lines, k));
    g_free(k);
    return line;
}

static void key_problem(loader *ld, const char *section, const char *key,
                        const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void key_problem(loader *ld, const char *section, const char *key,
                        const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    problem_at(ld, key_line(ld, section, key), "key %s in [%s]: %s", key, section, msg);
    g_free(msg);
}

static gboolean known_section(const char *section)
{
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++)
        if (strcmp(k->section, section) == 0)
            return TRUE;
    return FALSE;
}

static const sjm_config_key *known_key(const char *section, const char *key)
{
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

/* An inline comment starts at ';' or '#' that follows white space. */
static void strip_inline_comment(char *value)
{
    for (char *p = value; *p; p++) {
        if ((*p == ';' || *p == '#') && p > value && g_ascii_isspace(p[-1])) {
            *p = '\0';
            break;
        }
    }
    g_strchomp(value);
}

/*
 * First pass: build the cleaned text GKeyFile will parse and the line
 * map; report non-INI lines, unknown sections/keys and duplicates.
 */
static GString *prescan(loader *ld, const char *text)
{
    GString *clean = g_string_new(NULL);
    char **lines = g_strsplit(text, "\n", -1);
    char *section = NULL;

    for (guint i = 0; lines[i]; i++) {
        guint lineno = i + 1;
        char *line = g_strstrip(lines[i]);

        if (*line == '\0' || *line == '#' || *line == ';') {
            g_string_append_c(clean, '\n');
            continue;
        }
        if (*line == '[') {
            char *end = strchr(line, ']');
            if (!end || end[1] != '\0') {
                problem_at(ld, lineno, "malformed section header \"%s\"", line);
                g_string_append_c(clean, '\n');
                continue;
            }
            g_free(section);
            section = g_strndup(line + 1, end - line - 1);
            if (!known_section(section))
                problem_at(ld, lineno, "unknown section [%s]", section);
            else if (g_hash_table_contains(ld->lines, section))
                problem_at(ld, lineno, "section [%s] appears twice", section);
            else
                g_hash_table_insert(ld->lines, g_strdup(section), GUINT_TO_POINTER(lineno));
            g_string_append_printf(clean, "[%s]\n", section);
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
            problem_at(ld, lineno, "not a \"key = value\" line: \"%.60s\"", line);
            g_string_append_c(clean, '\n');
            continue;
        }
        *eq = '\0';
        char *key = g_strstrip(line);
        char *value = g_strstrip(eq + 1);
        strip_inline_comment(value);
        if (!section) {
            problem_at(ld, lineno, "key %s outside of any section", key);
            g_string_append_c(clean, '\n');
            continue;
        }
        if (known_section(section)) {
            char *k = g_strdup_printf("%s\n%s", section, key);
            if (!known_key(section, key)) {
                problem_at(ld, lineno, "unknown key %s in [%s]", key, section);
                g_free(k);
            } else if (g_hash_table_contains(ld->lines, k)) {
                problem_at(ld, lineno, "key %s in [%s] is set twice (first on line %u)", key,
                           section, GPOINTER_TO_UINT(g_hash_table_lookup(ld->lines, k)));
                g_free(k);
            } else {
                g_hash_table_insert(ld->lines, k, GUINT_TO_POINTER(lineno));
            }
        }
        /* Values are read with g_key_file_get_value, which does not
         * unescape: backslashes stay literal, as administrators expect. */
        g_string_append_printf(clean, "%s=%s\n", key, value);
    }
    g_free(section);
    g_strfreev(lines);
    return clean;
}

/* The value of a key, or its compiled-in default. */
static char *get_value(loader *ld, const char *section, const char *key)
{
    char *v = NULL;

    if (ld->kf && g_key_file_has_key(ld->kf, section, key, NULL))
        v = g_key_file_get_value(ld->kf, section, key, NULL);
    if (!v) {
        const sjm_config_key *k = known_key(section, key);
        g_assert(k != NULL);
        v = g_strdup(k->default_value);
    }
    return v;
}

static gboolean parse_bool_text(const char *t, gboolean *out)
{
    static const char *yes[] = {"true", "yes", "on", "1", NULL};
    static const char *no[] = {"false", "no", "off", "0", NULL};

    for (int i = 0; yes[i]; i++)
        if (g_ascii_strcasecmp(t, yes[i]) == 0)
            return *out = TRUE, TRUE;
    for (int i = 0; no[i]; i++)
        if (g_ascii_strcasecmp(t, no[i]) == 0)
            return *out = FALSE, TRUE;
    return FALSE;
}

static gboolean get_bool(loader *ld, const char *section, const char *key)
{
    char *v = get_value(ld, section, key);
    gboolean b = FALSE;

    if (!parse_bool_text(v, &b))
        key_problem(ld, section, key, "\"%s\" is not a boolean (use true or false)", v);
    g_free(v);
    return b;
}

/* CHOICES is a NULL-terminated list; the result is its index. */
static int get_enum(loader *ld, const char *section, const char *key, const char *const *choices)
{
    char *v = get_value(ld, section, key);

    for (int i = 0; choices[i]; i++) {
        if (g_ascii_strcasecmp(v, choices[i]) == 0) {
            g_free(v);
            return i;
        }
    }
    char *list = g_strjoinv("|", (char **)choices);
    key_problem(ld, section, key, "\"%s\" is not one of %s", v, list);
    g_free(list);
    g_free(v);
    return 0;
}

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

/* Comma-separated list, lower-cased, empty items dropped. */
static char **split_list(const char *text)
{
    GPtrArray *out = g_ptr_array_new();
    char **items = g_strsplit(text, ",", -1);

    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        if (*item)
            g_ptr_array_add(out, g_ascii_strdown(item, -1));
    }
    g_strfreev(items);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean plausible_address(const char *a)
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

static char **get_domain_list(loader *ld, const char *section, const char *key)
{
    char *v = get_value(ld, section, key);
    char **list = split_list(v);

    for (char **p = list; *p; p++)
        if (!plausible_domain(*p))
            key_problem(ld, section, key, "\"%s\" is not a domain (use dom or *.dom)", *p);
    g_free(v);
    return list;
}

static char **get_pattern_list(loader *ld, const char *section, const char *key)
{
    char *v = get_value(ld, section, key);
    char **list = split_list(v);

    for (char **p = list; *p; p++)
        if (strpbrk(*p, " \t<>;\""))
            key_problem(ld, section, key, "\"%s\" is not an address pattern", *p);
    g_free(v);
    return list;
}

static void free_site(gpointer p)
{
    sjm_site *s = p;
    g_free(s->domain);
    g_free(s->mailbox);
    g_free(s);
}

static GPtrArray *get_sites(loader *ld)
{
    GPtrArray *sites = g_ptr_array_new_with_free_func(free_site);
    char *v = get_value(ld, "journal", "sites");
    char **items = g_strsplit(v, ";", -1);

    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        if (*item == '\0')
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            key_problem(ld, "journal", "sites", "\"%s\" is not \"domain=mailbox\"", item);
            continue;
        }
        *eq = '\0';
        char *dom = g_ascii_strdown(g_strstrip(item), -1);
        char *mbox = g_ascii_strdown(g_strstrip(eq + 1), -1);
        if (!plausible_domain(dom))
            key_problem(ld, "journal", "sites", "\"%s\" is not a domain", dom);
        if (!plausible_address(mbox))
            key_problem(ld, "journal", "sites", "\"%s\" is not a mailbox address", mbox);
        sjm_site *s = g_new0(sjm_site, 1);
        s->domain = dom;
        s->mailbox = mbox;
        g_ptr_array_add(sites, s);
    }
    g_strfreev(items);
    g_free(v);
    return sites;
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

static void check_readable(loader *ld, const char *section, const char *key, const char *path)
{
    if (access(path, R_OK) != 0)
        key_problem(ld, section, key, "cannot read \"%s\": %s", path, g_strerror(errno));
}

static void load_values(loader *ld, sjm_config *c)
{
    static const char *const on_error[] = {"tempfail", "accept", NULL};
    static const char *const sig_action[] = {"preserve", "strip", NULL};
    static const char *const on_invalid[] = {"keep", "strip", NULL};
    static const char *const mode[] = {"bcc", "report", NULL};
    static const char *const scope[] = {"global", "internal", "external", NULL};
    char *v;

    /* [milter] */
    c->socket = get_value(ld, "milter", "socket");
    if (!valid_socket_spec(c->socket))
        key_problem(ld, "milter", "socket",
                    "\"%s\" is not local:/path, inet:PORT@HOST or inet6:PORT@HOST", c->socket);
    c->user = get_value(ld, "milter", "user");
    c->on_error = get_enum(ld, "milter", "on_error", on_error);
    v = get_value(ld, "milter", "trusted_networks");
    char *bad = NULL;
    c->trusted_networks = sjm_netlist_parse(v, &bad);
    c->trusted_networks_text = g_strdup(v);
    if (!c->trusted_networks) {
        key_problem(ld, "milter", "trusted_networks", "\"%s\" is not an address or CIDR network", bad);
        g_free(bad);
        c->trusted_networks = sjm_netlist_parse("", NULL);
    }
    g_free(v);
    v = get_value(ld, "milter", "max_scan_size");
    if (!sjm_parse_size(v, &c->max_scan_size) || c->max_scan_size == 0)
        key_problem(ld, "milter", "max_scan_size", "\"%s\" is not a size (like 64M, 512K, 1G)", v);
    g_free(v);
    v = get_value(ld, "milter", "max_mime_depth");
    guint64 depth = 0;
    if (!g_ascii_string_to_unsigned(v, 10, 1, 1000, &depth, NULL))
        key_problem(ld, "milter", "max_mime_depth", "\"%s\" is not a number from 1 to 1000", v);
    c->max_mime_depth = (guint)depth;
    g_free(v);

    /* [signatures] */
    c->sig_action = get_enum(ld, "signatures", "action", sig_action);
    c->strip_for = get_pattern_list(ld, "signatures", "strip_for");
    c->preserve_for = get_pattern_list(ld, "signatures", "preserve_for");
    c->sig_mixed = get_enum(ld, "signatures", "mixed", sig_action);
    c->strip_attached_messages = get_bool(ld, "signatures", "strip_attached_messages");

    /* [verify] */
    c->verify_enabled = get_bool(ld, "verify", "enabled");
    c->trust_anchors = get_value(ld, "verify", "trust_anchors");
    v = get_value(ld, "verify", "crl");
    c->crl = g_strsplit(v, ",", -1);
    for (char **p = c->crl; *p; p++)
        g_strstrip(*p);
    g_free(v);
    c->authserv_id = get_value(ld, "verify", "authserv_id");
    if (*c->authserv_id == '\0') {
        g_free(c->authserv_id);
        c->authserv_id = g_strdup(g_get_host_name());
    }
    c->verify_on_invalid = get_enum(ld, "verify", "on_invalid", on_invalid);
    if (c->verify_enabled) {
        /* Honest refusal: an administrator who asks for verification
         * must not believe messages are being verified. */
        key_problem(ld, "verify", "enabled",
                    "signature verification is not available in this version (set enabled = false)");
        check_readable(ld, "verify", "trust_anchors", c->trust_anchors);
        for (char **p = c->crl; *p; p++)
            if (**p)
                check_readable(ld, "verify", "crl", *p);
    }

    /* [journal] */
    c->journal_enabled = get_bool(ld, "journal", "enabled");
    c->journal_mode = get_enum(ld, "journal", "mode", mode);
    if (c->journal_mode == SJM_JOURNAL_MODE_REPORT)
        key_problem(ld, "journal", "mode",
                    "report mode is not available in this version (use mode = bcc)");
    v = get_value(ld, "journal", "recipient");
    c->journal_recipient = g_ascii_strdown(v, -1);
    g_free(v);
    if (*c->journal_recipient && !plausible_address(c->journal_recipient))
        key_problem(ld, "journal", "recipient", "\"%s\" is not a mailbox address", c->journal_recipient);
    c->sites = get_sites(ld);
    c->journal_scope = get_enum(ld, "journal", "scope", scope);
    c->local_domains = get_domain_list(ld, "journal", "local_domains");
    c->public_folders = get_pattern_list(ld, "journal", "public_folders");
    c->system_senders = get_pattern_list(ld, "journal", "system_senders");
    c->skip_null_sender = get_bool(ld, "journal", "skip_null_sender");
    c->skip_read_reports = get_bool(ld, "journal", "skip_read_reports");
    c->notify_never = get_bool(ld, "journal", "notify_never");
    c->protect = get_bool(ld, "journal", "protect");
    c->journal_on_failure = get_enum(ld, "journal", "on_failure", on_error);

    if (c->journal_enabled && *c->journal_recipient == '\0' && c->sites->len == 0)
        key_problem(ld, "journal", "recipient",
                    "journaling is enabled but neither recipient nor sites names a journal mailbox");
    if (c->journal_scope != SJM_SCOPE_GLOBAL && c->local_domains[0] == NULL)
        key_problem(ld, "journal", "scope",
                    "scope internal or external needs local_domains to tell inside from outside");
}

static sjm_config *load_text(const char *path, const char *text, GPtrArray *errors)
{
    loader ld = {path, NULL, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), errors};
    guint before = errors->len;
    sjm_config *c = g_new0(sjm_config, 1);
    GString *clean = NULL;

    c->refcount = 1;
    c->path = g_strdup(path);
    if (text) {
        GError *err = NULL;
        clean = prescan(&ld, text);
        ld.kf = g_key_file_new();
        if (!g_key_file_load_from_data(ld.kf, clean->str, clean->len, G_KEY_FILE_NONE, &err)) {
            problem_at(&ld, 0, "%s", err->message);
            g_error_free(err);
        }
    }
    load_values(&ld, c);
    if (ld.kf)
        g_key_file_free(ld.kf);
    if (clean)
        g_string_free(clean, TRUE);
    g_hash_table_destroy(ld.lines);
    if (errors->len > before) {
        sjm_config_unref(c);
        return NULL;
    }
    return c;
}

sjm_config *sjm_config_load(const char *path, GPtrArray *errors)
{
    char *text = NULL;
    GError *err = NULL;

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        g_ptr_array_add(errors, g_strdup_printf("%s: cannot read: %s", path, err->message));
        g_error_free(err);
        return NULL;
    }
    if (memchr(text, '\0', strlen(text) + 1) != text + strlen(text)) {
        g_ptr_array_add(errors, g_strdup_printf("%s: contains a NUL byte", path));
        g_free(text);
        return NULL;
    }
    sjm_config *c = load_text(path, text, errors);
    g_free(text);
    return c;
}

sjm_config *sjm_config_new_default(void)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *c = load_text("(defaults)", NULL, errors);
    g_assert(c != NULL);
    g_ptr_array_free(errors, TRUE);
    return c;
}

sjm_config *sjm_config_ref(sjm_config *cfg)
{
    g_atomic_int_inc(&cfg->refcount);
    return cfg;
}

void sjm_config_unref(sjm_config *c)
{
    if (!c || !g_atomic_int_dec_and_test(&c->refcount))
        return;
    g_free(c->path);
    g_free(c->socket);
    g_free(c->user);
    sjm_netlist_free(c->trusted_networks);
    g_free(c->trusted_networks_text);
    g_strfreev(c->strip_for);
    g_strfreev(c->preserve_for);
    g_free(c->trust_anchors);
    g_strfreev(c->crl);
    g_free(c->authserv_id);
    g_free(c->journal_recipient);
    if (c->sites)
        g_ptr_array_free(c->sites, TRUE);
    g_strfreev(c->local_domains);
    g_strfreev(c->public_folders);
    g_strfreev(c->system_senders);
    g_free(c);
}

/* ----------------------------------------------------------- printing */

static const char *enum_name(int v, const char *a, const char *b, const char *c)
{
    return v == 0 ? a : v == 1 ? b : c;
}

static char *join_list(char *const *list)
{
    return g_strjoinv(", ", (char **)list);
}

static char *value_text(const sjm_config *c, const char *section, const char *key)
{
#define IS(s, k) (strcmp(section, s) == 0 && strcmp(key, k) == 0)
#define B(x) g_strdup((x) ? "true" : "false")
    if (IS("milter", "socket")) return g_strdup(c->socket);
    if (IS("milter", "user")) return g_strdup(c->user);
    if (IS("milter", "on_error")) return g_strdup(enum_name(c->on_error, "tempfail", "accept", NULL));
    if (IS("milter", "trusted_networks")) return g_strdup(c->trusted_networks_text);
    if (IS("milter", "max_scan_size")) return g_strdup_printf("%" G_GUINT64_FORMAT, c->max_scan_size);
    if (IS("milter", "max_mime_depth")) return g_strdup_printf("%u", c->max_mime_depth);
    if (IS("signatures", "action")) return g_strdup(enum_name(c->sig_action, "preserve", "strip", NULL));
    if (IS("signatures", "strip_for")) return join_list(c->strip_for);
    if (IS("signatures", "preserve_for")) return join_list(c->preserve_for);
    if (IS("signatures", "mixed")) return g_strdup(enum_name(c->sig_mixed, "preserve", "strip", NULL));
    if (IS("signatures", "strip_attached_messages")) return B(c->strip_attached_messages);
    if (IS("verify", "enabled")) return B(c->verify_enabled);
    if (IS("verify", "trust_anchors")) return g_strdup(c->trust_anchors);
    if (IS("verify", "crl")) return join_list(c->crl);
    if (IS("verify", "authserv_id")) return g_strdup(c->authserv_id);
    if (IS("verify", "on_invalid")) return g_strdup(enum_name(c->verify_on_invalid, "keep", "strip", NULL));
    if (IS("journal", "enabled")) return B(c->journal_enabled);
    if (IS("journal", "mode")) return g_strdup(enum_name(c->journal_mode, "bcc", "report", NULL));
    if (IS("journal", "recipient")) return g_strdup(c->journal_recipient);
    if (IS("journal", "sites")) {
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < c->sites->len; i++) {
            const sjm_site *site = g_ptr_array_index(c->sites, i);
            g_string_append_printf(s, "%s%s=%s", i ? "; " : "", site->domain, site->mailbox);
        }
        return g_string_free(s, FALSE);
    }
    if (IS("journal", "scope")) return g_strdup(enum_name(c->journal_scope, "global", "internal", "external"));
    if (IS("journal", "local_domains")) return join_list(c->local_domains);
    if (IS("journal", "public_folders")) return join_list(c->public_folders);
    if (IS("journal", "system_senders")) return join_list(c->system_senders);
    if (IS("journal", "skip_null_sender")) return B(c->skip_null_sender);
    if (IS("journal", "skip_read_reports")) return B(c->skip_read_reports);
    if (IS("journal", "notify_never")) return B(c->notify_never);
    if (IS("journal", "protect")) return B(c->protect);
    if (IS("journal", "on_failure")) return g_strdup(enum_name(c->journal_on_failure, "tempfail", "accept", NULL));
#undef IS
#undef B
    return NULL;
}

void sjm_config_print(const sjm_config *c, FILE *out)
{
    const char *section = NULL;

    fprintf(out, "# effective configuration from %s\n", c->path);
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++) {
        if (!section || strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", section ? "\n" : "", k->section);
            section = k->section;
        }
        char *v = value_text(c, k->section, k->key);
        fprintf(out, "%s = %s\n", k->key, v ? v : "");
        g_free(v);
    }
}
