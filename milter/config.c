/*
 * config.c - read a configuration file, load every key of the table
 * (config_table.c) through its type (config_types.c), apply the
 * cross-key rules, and print the result (smime-journal-milter.conf(5)).
 *
 * GKeyFile does the parsing, but it knows neither line numbers nor
 * inline comments, so a first pass over the raw text records where each
 * section and key stands, removes " ; comment" tails and reports lines
 * that are not INI at all.  Every problem is collected, so "-n" shows an
 * administrator all of them in one run; a file with any problem yields
 * no configuration.
 */
#include <stdio.h>
#include <string.h>
#include "config_int.h"
#include "verify.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

const char *sjm_config_default_path(void)
{
    return SYSCONFDIR "/smime-journal-milter.conf";
}

const sjm_config_key *sjm_config_find_key(const char *section, const char *key)
{
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static gboolean known_section(const char *section)
{
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++)
        if (strcmp(k->section, section) == 0)
            return TRUE;
    return FALSE;
}

/* ------------------------------------------------------------ problems */

static void report(sjm_loader *ld, GPtrArray *to, guint line, const char *kind, const char *msg)
{
    if (line)
        g_ptr_array_add(to, g_strdup_printf("%s:%u: %s%s", ld->path, line, kind, msg));
    else
        g_ptr_array_add(to, g_strdup_printf("%s: %s%s", ld->path, kind, msg));
}

static void problem_at(sjm_loader *ld, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void problem_at(sjm_loader *ld, guint line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    report(ld, ld->errors, line, "", msg);
    g_free(msg);
}

static guint key_line(sjm_loader *ld, const char *section, const char *key)
{
    char *k = key ? g_strdup_printf("%s\n%s", section, key) : g_strdup(section);
    guint line = GPOINTER_TO_UINT(g_hash_table_lookup(ld->lines, k));
    g_free(k);
    return line;
}

static void key_report(sjm_loader *ld, GPtrArray *to, const char *kind, const char *section,
                       const char *key, const char *fmt, va_list ap) G_GNUC_PRINTF(6, 0);
static void key_report(sjm_loader *ld, GPtrArray *to, const char *kind, const char *section,
                       const char *key, const char *fmt, va_list ap)
{
    char *what = g_strdup_vprintf(fmt, ap);
    char *msg = g_strdup_printf("key %s in [%s]: %s", key, section, what);
    report(ld, to, key_line(ld, section, key), kind, msg);
    g_free(msg);
    g_free(what);
}

void sjm_key_problem(sjm_loader *ld, const char *section, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    key_report(ld, ld->errors, "", section, key, fmt, ap);
    va_end(ap);
}

void sjm_key_warning(sjm_loader *ld, const char *section, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    key_report(ld, ld->warnings, "warning: ", section, key, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ loading */

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
static GString *prescan(sjm_loader *ld, const char *text)
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
            if (!sjm_config_find_key(section, key)) {
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

/* Every row through its type, then the cross-key rules. */
static void load_values(sjm_loader *ld, sjm_config *c)
{
    guint n = 0;

    while (sjm_config_keys[n].section)
        n++;
    c->values = g_new0(char *, n + 1);
    for (guint i = 0; i < n; i++) {
        const sjm_config_key *k = &sjm_config_keys[i];
        char *v = NULL;
        if (ld->kf && g_key_file_has_key(ld->kf, k->section, k->key, NULL))
            v = g_key_file_get_value(ld->kf, k->section, k->key, NULL);
        c->values[i] = v ? v : g_strdup(k->default_value);
        sjm_key_types[k->type].parse(ld, k, c->values[i], (char *)c + k->offset);
    }
    for (const sjm_config_rule *r = sjm_config_rules; r->name; r++)
        r->apply(ld, c);
}

/* STRICT: a configuration with any problem is no configuration. */
static sjm_config *load_text(const char *path, const char *text, GPtrArray *errors, gboolean strict)
{
    sjm_loader ld = {path, NULL, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), errors,
                     g_ptr_array_new_with_free_func(g_free)};
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
    /* A refused file still shows its warnings, after its errors. */
    if (strict && errors->len > before)
        for (guint i = 0; i < ld.warnings->len; i++)
            g_ptr_array_add(errors, g_strdup(g_ptr_array_index(ld.warnings, i)));
    g_ptr_array_add(ld.warnings, NULL);
    c->warnings = (char **)g_ptr_array_free(ld.warnings, FALSE);
    if (ld.kf)
        g_key_file_free(ld.kf);
    if (clean)
        g_string_free(clean, TRUE);
    g_hash_table_destroy(ld.lines);
    if (strict && errors->len > before) {
        sjm_config_unref(c);
        return NULL;
    }
    return c;
}

/*
 * A configuration file is text: a NUL byte would end the parse early and
 * hide the rest of the file, and other control bytes or invalid UTF-8
 * mean the file is not what the administrator thinks it is.  The first
 * such byte is named with its line.
 */
static gboolean binary_free(const char *path, const char *text, gsize len, GPtrArray *errors)
{
    guint line = 1;
    for (gsize i = 0; i < len; i++) {
        guchar ch = (guchar)text[i];
        if (ch == '\n') {
            line++;
            continue;
        }
        if (ch < 0x20 && ch != '\t' && ch != '\r') {
            g_ptr_array_add(errors, g_strdup_printf("%s:%u: contains %s (byte 0x%02x): "
                                                    "a configuration file is text",
                                                    path, line, ch == 0 ? "a NUL byte" : "a control character", ch));
            return FALSE;
        }
        if (ch == 0x7f) {
            g_ptr_array_add(errors, g_strdup_printf("%s:%u: contains a control character (byte 0x7f): "
                                                    "a configuration file is text", path, line));
            return FALSE;
        }
    }
    const char *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad)) {
        line = 1;
        for (const char *p = text; p < bad; p++)
            line += *p == '\n';
        g_ptr_array_add(errors, g_strdup_printf("%s:%u: is not valid UTF-8 (byte 0x%02x)",
                                                path, line, (guchar)*bad));
        return FALSE;
    }
    return TRUE;
}

sjm_config *sjm_config_load(const char *path, GPtrArray *errors)
{
    char *text = NULL;
    gsize len = 0;
    GError *err = NULL;

    if (!g_file_get_contents(path, &text, &len, &err)) {
        g_ptr_array_add(errors, g_strdup_printf("%s: cannot read: %s", path, err->message));
        g_error_free(err);
        return NULL;
    }
    if (!binary_free(path, text, len, errors)) {
        g_free(text);
        return NULL;
    }
    sjm_config *c = load_text(path, text, errors, TRUE);
    g_free(text);
    return c;
}

/* TEXT as if read from PATH: -n reads the file as root and checks the
 * files it names as the filter's user. */
sjm_config *sjm_config_load_text(const char *path, const char *text, GPtrArray *errors)
{
    return load_text(path, text, errors, TRUE);
}

/* The defaults fail journal_needs_mailbox (there is no default mailbox);
 * the caller fills in what it needs. */
sjm_config *sjm_config_new_default(void)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *c = load_text("(defaults)", NULL, errors, FALSE);
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
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++)
        sjm_key_types[k->type].free((char *)c + k->offset);
    if (c->mark_key)    /* the one field that is not a row (config_table.c) */
        g_bytes_unref(c->mark_key);
    sjm_trust_free(c->verify_trust);
    g_strfreev(c->values);
    g_strfreev(c->warnings);
    g_free(c->path);
    g_free(c);
}

/* ----------------------------------------------------------- printing */

void sjm_config_print(const sjm_config *c, FILE *out)
{
    const char *section = NULL;

    fprintf(out, "# effective configuration from %s\n", c->path);
    for (guint i = 0; sjm_config_keys[i].section; i++) {
        const sjm_config_key *k = &sjm_config_keys[i];
        if (!section || strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", section ? "\n" : "", k->section);
            section = k->section;
        }
        char *v = sjm_key_types[k->type].format(k, (const char *)c + k->offset, c->values[i]);
        fprintf(out, "%s = %s\n", k->key, v);
        g_free(v);
    }
}

void sjm_config_print_keys(FILE *out)
{
    const char *section = NULL;

    fprintf(out, "# every key smime-journal-milter knows, with its default\n");
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++) {
        if (!section || strcmp(section, k->section) != 0) {
            fprintf(out, "\n[%s]\n", k->section);
            section = k->section;
        }
        fprintf(out, "# %s\n# type: %s", k->doc, sjm_key_types[k->type].name);
        if (k->type == SJM_KEY_ENUM) {
            char *list = g_strjoinv("|", (char **)k->choices);
            fprintf(out, " %s", list);
            g_free(list);
        } else if (k->type == SJM_KEY_UINT) {
            fprintf(out, " from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, k->min, k->max);
        }
        fprintf(out, "\n%s = %s\n", k->key, k->default_value);
    }
}
