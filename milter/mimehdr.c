/*
 * mimehdr.c - the MIME header grammar (see mimehdr.h for the interface
 * and why there is a lenient and a strict Content-Type reading).
 *
 * Error contract: pure functions over strings; bad input gives FALSE or
 * a default, never a log line or an abort.
 */
#include <string.h>
#include <gmime/gmime.h>
#include "mimehdr.h"

gboolean sjm_mimehdr_name_ok(const guchar *p, gsize len, gsize *colon)
{
    gsize i = 0;
    while (i < len && p[i] > 32 && p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return FALSE;
    /* Obsolete syntax allows white space before the colon. */
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i >= len || p[i] != ':')
        return FALSE;
    *colon = i;
    return TRUE;
}

char *sjm_mimehdr_unfold(const guchar *p, gsize len)
{
    GString *v = g_string_sized_new(len);
    gsize i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    for (; i < len; i++)
        if (p[i] != '\r' && p[i] != '\n')
            g_string_append_c(v, (char)p[i]);
    return g_string_free(v, FALSE);
}

static void field_free(gpointer p)
{
    sjm_mime_field *f = p;
    g_free(f->name);
    g_free(f->value);
    g_free(f);
}

GPtrArray *sjm_mimehdr_split_block(const guchar *blk, gsize blen, guint64 base)
{
    GPtrArray *fields = g_ptr_array_new_with_free_func(field_free);
    gsize i = 0;
    while (i < blen) {
        gsize fstart = i;
        /* A field runs to the end of its last continuation line. */
        gsize j = fstart;
        for (;;) {
            const guchar *nl = memchr(blk + j, '\n', blen - j);
            j = nl != NULL ? (gsize)(nl - blk) + 1 : blen;
            if (j >= blen || (blk[j] != ' ' && blk[j] != '\t'))
                break;
        }
        gsize colon = 0;
        sjm_mimehdr_name_ok(blk + fstart, j - fstart, &colon);
        gsize nlen = colon;
        while (nlen > 0 && (blk[fstart + nlen - 1] == ' ' || blk[fstart + nlen - 1] == '\t'))
            nlen--;
        sjm_mime_field *f = g_new0(sjm_mime_field, 1);
        f->name = g_strndup((const char *)blk + fstart, nlen);
        f->value = sjm_mimehdr_unfold(blk + fstart + colon + 1, j - fstart - colon - 1);
        f->raw_off = base + fstart;
        f->raw_len = j - fstart;
        g_ptr_array_add(fields, f);
        i = j;
    }
    return fields;
}

const char *sjm_mimehdr_field_value(GPtrArray *fields, const char *name)
{
    for (guint i = 0; fields != NULL && i < fields->len; i++) {
        sjm_mime_field *f = g_ptr_array_index(fields, i);
        if (g_ascii_strcasecmp(f->name, name) == 0)
            return f->value;
    }
    return NULL;
}

gboolean sjm_mimehdr_is_content_field(const char *name)
{
    return g_ascii_strncasecmp(name, "content-", 8) == 0;
}

/* ------------------------------------------------------- Content-Type */

static void param_free(gpointer p)
{
    sjm_mime_param *m = p;
    g_free(m->name);
    g_free(m->value);
    g_free(m);
}

static void add_param(sjm_content_type *ct, const char *name, gsize nlen, char *value)
{
    sjm_mime_param *m = g_new(sjm_mime_param, 1);
    m->name = g_ascii_strdown(name, (gssize)nlen);
    m->value = value;
    g_ptr_array_add(ct->params, m);
}

static gboolean parse_lenient(const char *flat, sjm_content_type *ct)
{
    GMimeContentType *t = g_mime_content_type_parse(NULL, flat);
    if (t == NULL)
        return FALSE;
    const char *ty = g_mime_content_type_get_media_type(t);
    const char *sub = g_mime_content_type_get_media_subtype(t);
    ct->type = g_ascii_strdown(ty != NULL ? ty : "", -1);
    ct->subtype = g_ascii_strdown(sub != NULL ? sub : "", -1);
    GMimeParamList *l = g_mime_content_type_get_parameters(t);
    int n = l != NULL ? g_mime_param_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        GMimeParam *p = g_mime_param_list_get_parameter_at(l, i);
        const char *v = g_mime_param_get_value(p);
        add_param(ct, g_mime_param_get_name(p), strlen(g_mime_param_get_name(p)),
                  g_strdup(v != NULL ? v : ""));
    }
    g_object_unref(t);
    return TRUE;
}

/* The strict reader's position in the value. */
typedef struct cursor {
    const char *p;
    gboolean bad;
} cursor;

const char *sjm_mimehdr_skip_cfws(const char *p, gboolean *bad)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        for (int depth = 0;;) {
            char ch = *p;
            if (ch == '\0') {
                if (bad != NULL)
                    *bad = TRUE;
                return p;
            }
            p += (ch == '\\' && p[1] != '\0') ? 2 : 1;
            if (ch == '(')
                depth++;
            else if (ch == ')' && --depth == 0)
                break;
        }
    }
}

static void skip_cfws(cursor *c)
{
    c->p = sjm_mimehdr_skip_cfws(c->p, &c->bad);
}

/* RFC 2045 token characters. */
static gboolean tchar(char ch)
{
    return ch > ' ' && ch < 127 && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* Length of the token at the cursor, which moves past it. */
static gsize token(cursor *c, const char **start)
{
    *start = c->p;
    while (tchar(*c->p))
        c->p++;
    return (gsize)(c->p - *start);
}

/* A parameter value: a token or a quoted string, unquoted; NULL if neither. */
static char *param_value(cursor *c)
{
    const char *s;
    if (*c->p != '"') {
        gsize n = token(c, &s);
        return n > 0 ? g_strndup(s, n) : NULL;
    }
    GString *v = g_string_new(NULL);
    for (c->p++; *c->p != '"'; c->p++) {
        if (*c->p == '\\' && c->p[1] != '\0')
            c->p++;
        if (*c->p == '\0') {
            g_string_free(v, TRUE);
            return NULL;
        }
        g_string_append_c(v, *c->p);
    }
    c->p++;
    return g_string_free(v, FALSE);
}

static gboolean parse_strict(const char *flat, sjm_content_type *ct)
{
    cursor c = { .p = flat, .bad = FALSE };
    const char *s;
    gsize n;
    skip_cfws(&c);
    if ((n = token(&c, &s)) == 0)
        return FALSE;
    ct->type = g_ascii_strdown(s, (gssize)n);
    skip_cfws(&c);
    if (*c.p != '/')
        return FALSE;
    c.p++;
    skip_cfws(&c);
    if ((n = token(&c, &s)) == 0)
        return FALSE;
    ct->subtype = g_ascii_strdown(s, (gssize)n);
    for (;;) {
        skip_cfws(&c);
        if (c.bad || *c.p == '\0')
            return !c.bad;
        if (*c.p != ';')
            return FALSE;
        c.p++;
        skip_cfws(&c);
        if (*c.p == '\0')
            return !c.bad;      /* a trailing ';' is common and harmless */
        n = token(&c, &s);
        skip_cfws(&c);
        if (n == 0 || *c.p != '=')
            return FALSE;
        c.p++;
        skip_cfws(&c);
        char *v = param_value(&c);
        if (v == NULL)
            return FALSE;
        add_param(ct, s, n, v);
    }
}

gboolean sjm_content_type_parse(const char *value, sjm_ct_mode mode, sjm_content_type *ct)
{
    memset(ct, 0, sizeof *ct);
    ct->params = g_ptr_array_new_with_free_func(param_free);
    if (value == NULL || *value == '\0')
        return FALSE;
    /* Values from the MTA may still carry their folding. */
    char *flat = sjm_mimehdr_unfold((const guchar *)value, strlen(value));
    gboolean ok = mode == SJM_CT_STRICT ? parse_strict(flat, ct) : parse_lenient(flat, ct);
    g_free(flat);
    return ok;
}

void sjm_content_type_clear(sjm_content_type *ct)
{
    g_free(ct->type);
    g_free(ct->subtype);
    if (ct->params != NULL)
        g_ptr_array_free(ct->params, TRUE);
    memset(ct, 0, sizeof *ct);
}

const char *sjm_content_type_param(const sjm_content_type *ct, const char *name)
{
    for (guint i = 0; ct->params != NULL && i < ct->params->len; i++) {
        sjm_mime_param *m = g_ptr_array_index(ct->params, i);
        if (g_ascii_strcasecmp(m->name, name) == 0)
            return m->value;
    }
    return NULL;
}

guint sjm_content_type_param_count(const sjm_content_type *ct, const char *name)
{
    guint n = 0;
    for (guint i = 0; ct->params != NULL && i < ct->params->len; i++) {
        sjm_mime_param *m = g_ptr_array_index(ct->params, i);
        n += g_ascii_strcasecmp(m->name, name) == 0;
    }
    return n;
}
