/*
 * mta_file.c - the in-memory MTA of mta_file.h.  Edits follow what
 * Postfix does with the milter requests (src/cleanup/cleanup_milter.c):
 * header indexes count fields by name from 1, changing a field that is
 * not there adds it, inserting past the end appends, and a replaced body
 * is whatever the filter sent, in order.
 */
#include <errno.h>
#include <string.h>
#include "mta_file.h"
#include "journal.h"

static void free_header(gpointer p)
{
    sjm_mta_file_header *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h->raw);
    g_free(h);
}

sjm_mta_file *sjm_mta_file_new(void)
{
    sjm_mta_file *m = g_new0(sjm_mta_file, 1);
    m->headers = g_ptr_array_new_with_free_func(free_header);
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    m->rcpt_log = g_ptr_array_new_with_free_func(g_free);
    m->body = sjm_spool_new();
    m->esmtp_args = TRUE;
    return m;
}

void sjm_mta_file_free(sjm_mta_file *m)
{
    if (!m)
        return;
    g_ptr_array_free(m->headers, TRUE);
    g_ptr_array_free(m->rcpts, TRUE);
    g_ptr_array_free(m->rcpt_log, TRUE);
    sjm_spool_free(m->body);
    sjm_spool_free(m->new_body);
    g_free(m);
}

static sjm_mta_file_header *new_header(const char *name, const char *value, const char *raw)
{
    sjm_mta_file_header *h = g_new0(sjm_mta_file_header, 1);
    h->name = g_strdup(name);
    h->value = g_strdup(value);
    h->raw = g_strdup(raw);
    return h;
}

void sjm_mta_file_add_original_header(sjm_mta_file *m, const char *name,
                                      const char *value, const char *raw)
{
    g_ptr_array_add(m->headers, new_header(name, value, raw));
}

void sjm_mta_file_add_original_rcpt(sjm_mta_file *m, const char *addr)
{
    g_ptr_array_add(m->rcpts, g_strdup_printf("<%s>", addr));
}

gboolean sjm_mta_file_add_original_body(sjm_mta_file *m, const void *data, gsize len)
{
    return sjm_spool_append(m->body, data, len);
}

gboolean sjm_mta_file_parse_refuse(const char *name, unsigned *bits)
{
    static const struct { const char *name; unsigned bit; } edits[] = {
        {"add-rcpt", SJM_MTA_REFUSE_ADD_RCPT},
        {"del-rcpt", SJM_MTA_REFUSE_DEL_RCPT},
        {"header", SJM_MTA_REFUSE_HEADER},
        {"body", SJM_MTA_REFUSE_BODY},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(edits); i++)
        if (strcmp(name, edits[i].name) == 0) {
            *bits |= edits[i].bit;
            return TRUE;
        }
    return FALSE;
}

/* ------------------------------------------------------------ the ops */

static gboolean op_add_rcpt(void *mta, const char *addr, const char *esmtp_args)
{
    sjm_mta_file *m = mta;

    if (m->refuse & SJM_MTA_REFUSE_ADD_RCPT)
        return FALSE;
    g_ptr_array_add(m->rcpts, g_strdup_printf("<%s>", addr));
    g_ptr_array_add(m->rcpt_log, g_strdup_printf("+<%s>%s%s", addr, esmtp_args ? " " : "",
                                                 esmtp_args ? esmtp_args : ""));
    return TRUE;
}

static gboolean op_del_rcpt(void *mta, const char *addr)
{
    sjm_mta_file *m = mta;
    char *want = g_strdup_printf("<%s>", addr);
    gboolean found = FALSE;

    if (!(m->refuse & SJM_MTA_REFUSE_DEL_RCPT)) {
        for (guint i = m->rcpts->len; i-- > 0;)
            if (g_ascii_strcasecmp(g_ptr_array_index(m->rcpts, i), want) == 0) {
                g_ptr_array_remove_index(m->rcpts, i);
                found = TRUE;
            }
        g_ptr_array_add(m->rcpt_log, g_strdup_printf("-%s", want));
    }
    g_free(want);
    /* Postfix answers a delete of an unknown recipient with success too. */
    return !(m->refuse & SJM_MTA_REFUSE_DEL_RCPT) || found;
}

static gboolean op_add_header(void *mta, const char *name, const char *value)
{
    sjm_mta_file *m = mta;

    if (m->refuse & SJM_MTA_REFUSE_HEADER)
        return FALSE;
    g_ptr_array_add(m->headers, new_header(name, value, NULL));
    return TRUE;
}

static gboolean op_insert_header(void *mta, int index, const char *name, const char *value)
{
    sjm_mta_file *m = mta;

    if (m->refuse & SJM_MTA_REFUSE_HEADER)
        return FALSE;
    if (index >= (int)m->headers->len)
        g_ptr_array_add(m->headers, new_header(name, value, NULL));
    else
        g_ptr_array_insert(m->headers, MAX(index, 0), new_header(name, value, NULL));
    return TRUE;
}

static gint find_nth(GPtrArray *headers, const char *name, int index)
{
    int seen = 0;

    for (guint i = 0; i < headers->len; i++) {
        sjm_mta_file_header *h = g_ptr_array_index(headers, i);
        if (g_ascii_strcasecmp(h->name, name) == 0 && ++seen == index)
            return (gint)i;
    }
    return -1;
}

static gboolean op_change_header(void *mta, const char *name, int index, const char *value)
{
    sjm_mta_file *m = mta;
    gint at;

    if (m->refuse & SJM_MTA_REFUSE_HEADER)
        return FALSE;
    at = find_nth(m->headers, name, index);
    if (at < 0) {
        if (value)
            g_ptr_array_add(m->headers, new_header(name, value, NULL));
    } else if (!value) {
        g_ptr_array_remove_index(m->headers, (guint)at);
    } else {
        sjm_mta_file_header *h = g_ptr_array_index(m->headers, at);
        g_free(h->value);
        g_free(h->raw);
        h->value = g_strdup(value);
        h->raw = NULL;
    }
    return TRUE;
}

static gboolean op_replace_body(void *mta, const guchar *chunk, gsize len)
{
    sjm_mta_file *m = mta;

    if (m->refuse & SJM_MTA_REFUSE_BODY)
        return FALSE;
    if (!m->new_body)
        m->new_body = sjm_spool_new();
    return sjm_spool_append(m->new_body, chunk, len);
}

static gboolean op_can_esmtp_args(void *mta)
{
    return ((sjm_mta_file *)mta)->esmtp_args;
}

const sjm_mta_ops sjm_mta_file_ops = {
    .add_rcpt = op_add_rcpt,
    .del_rcpt = op_del_rcpt,
    .add_header = op_add_header,
    .insert_header = op_insert_header,
    .change_header = op_change_header,
    .replace_body = op_replace_body,
    .can_esmtp_args = op_can_esmtp_args,
};

/* ------------------------------------------------------------ writing */

static void put_value(FILE *out, const char *value, const char *eol)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\n')
            fputs(eol, out);
        else if (*p != '\r')
            fputc(*p, out);
    }
}

/* Copy S to OUT, turning CRLF into LF unless CRLF is wanted. */
static gboolean put_body(sjm_spool *s, FILE *out, gboolean crlf)
{
    guchar buf[65536];
    guint64 off = 0;
    gssize n;
    gboolean pending_cr = FALSE;

    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0) {
        if (crlf) {
            if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
                return FALSE;
            continue;
        }
        for (gssize i = 0; i < n; i++) {
            if (pending_cr && buf[i] != '\n')
                fputc('\r', out);
            pending_cr = buf[i] == '\r';
            if (!pending_cr)
                fputc(buf[i], out);
        }
    }
    if (pending_cr)
        fputc('\r', out);
    return n == 0 && !ferror(out);
}

gboolean sjm_mta_file_write(sjm_mta_file *m, FILE *out, gboolean crlf)
{
    const char *eol = crlf ? "\r\n" : "\n";

    for (guint i = 0; i < m->headers->len; i++) {
        sjm_mta_file_header *h = g_ptr_array_index(m->headers, i);
        if (h->raw) {
            fputs(h->raw, out);
            continue;
        }
        fprintf(out, "%s: ", h->name);
        put_value(out, h->value, eol);
        fputs(eol, out);
    }
    fputs(eol, out);
    if (!(m->new_body ? put_body(m->new_body, out, crlf) : put_body(m->body, out, TRUE)))
        return FALSE;
    return fflush(out) == 0 && !ferror(out);
}

GString *sjm_mta_file_header_block(const sjm_mta_file *m)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < m->headers->len; i++) {
        const sjm_mta_file_header *h = g_ptr_array_index(m->headers, i);
        if (h->raw) {
            g_string_append(out, h->raw);
            continue;
        }
        g_string_append_printf(out, "%s: ", h->name);
        for (const char *p = h->value ? h->value : ""; *p; p++) {
            if (*p == '\n')
                g_string_append(out, "\r\n");
            else if (*p != '\r')
                g_string_append_c(out, *p);
        }
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
    return out;
}

gboolean sjm_edits_apply(const GPtrArray *edits, const sjm_mta_ops *ops, void *mta,
                         gboolean skip_mark)
{
    for (guint i = 0; i < edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(edits, i);
        gboolean ok = TRUE;
        if (skip_mark && g_ascii_strcasecmp(e->name, SJM_JOURNAL_MARK_HEADER) == 0)
            continue;
        switch (e->op) {
        case SJM_HDR_ADD:
            ok = ops->add_header(mta, e->name, e->value);
            break;
        case SJM_HDR_INSERT:
            ok = ops->insert_header(mta, e->index, e->name, e->value);
            break;
        case SJM_HDR_CHANGE:
            ok = ops->change_header(mta, e->name, e->index, e->value);
            break;
        }
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

sjm_mta_file *sjm_mta_file_from_headers(const GPtrArray *headers)
{
    sjm_mta_file *m = sjm_mta_file_new();
    for (guint i = 0; i < headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(headers, i);
        sjm_mta_file_add_original_header(m, h->name, h->value, NULL);
    }
    return m;
}

GPtrArray *sjm_mta_file_header_list(const sjm_mta_file *m)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(sjm_header_free);
    for (guint i = 0; i < m->headers->len; i++) {
        const sjm_mta_file_header *h = g_ptr_array_index(m->headers, i);
        g_ptr_array_add(out, sjm_header_new(h->name, h->value));
    }
    return out;
}
