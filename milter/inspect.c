/*
 * inspect.c - --inspect.  It plays the MTA's part: splits the file into
 * header fields and body the way the milter protocol delivers them,
 * calls the core at the same points, and applies the verdict's edits to
 * its own copy of the header the way the MTA would.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "inspect.h"
#include "core.h"

typedef struct {
    char *name;
    char *value;    /* folded lines joined with "\n", no CR */
    char *raw;      /* the field exactly as in the file, NULL once edited */
} out_header;

static void free_out_header(gpointer p)
{
    out_header *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h->raw);
    g_free(h);
}

/*
 * Read the header block from F into HEADERS.  Stops after the empty
 * line; *crlf says whether the file uses CRLF.  FALSE on read error.
 */
static gboolean read_header_block(FILE *f, GPtrArray *headers, gboolean *crlf, GString *leftover)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    out_header *cur = NULL;
    gboolean first = TRUE;

    while ((n = getline(&line, &cap, f)) > 0) {
        gsize len = (gsize)n;
        gboolean has_lf = line[len - 1] == '\n';
        gsize content = len - (has_lf ? 1 : 0);
        if (content > 0 && line[content - 1] == '\r')
            content--;
        if (first) {
            *crlf = (content + 1 < len && line[content] == '\r');
            first = FALSE;
        }
        if (content == 0)   /* the empty line ending the header */
            break;
        if ((line[0] == ' ' || line[0] == '\t') && cur) {
            char *v = g_strdup_printf("%s\n%.*s", cur->value, (int)content, line);
            g_free(cur->value);
            cur->value = v;
            char *r = g_strconcat(cur->raw, line, NULL);
            g_free(cur->raw);
            cur->raw = r;
            continue;
        }
        const char *colon = memchr(line, ':', content);
        if (!colon || colon == line) {
            /* Not a header field: the header ends here and this is body. */
            g_string_append_len(leftover, line, len);
            break;
        }
        cur = g_new0(out_header, 1);
        cur->name = g_strndup(line, colon - line);
        g_strchomp(cur->name);
        const char *v = colon + 1;
        while (v < line + content && (*v == ' ' || *v == '\t'))
            v++;
        cur->value = g_strndup(v, line + content - v);
        cur->raw = g_strndup(line, len);
        g_ptr_array_add(headers, cur);
    }
    free(line);
    return !ferror(f);
}

/* The index'th (1-based) header named NAME, as the MTA counts. */
static gint find_nth(GPtrArray *headers, const char *name, int index)
{
    int seen = 0;
    for (guint i = 0; i < headers->len; i++) {
        out_header *h = g_ptr_array_index(headers, i);
        if (g_ascii_strcasecmp(h->name, name) == 0 && ++seen == index)
            return (gint)i;
    }
    return -1;
}

static void apply_edits(GPtrArray *headers, const sjm_verdict *v)
{
    for (guint i = 0; i < v->header_edits->len; i++) {
        const sjm_header_edit *e = g_ptr_array_index(v->header_edits, i);
        out_header *h;
        gint at;

        switch (e->op) {
        case SJM_HDR_ADD:
        case SJM_HDR_INSERT:
            h = g_new0(out_header, 1);
            h->name = g_strdup(e->name);
            h->value = g_strdup(e->value);
            if (e->op == SJM_HDR_ADD || e->index >= (int)headers->len)
                g_ptr_array_add(headers, h);
            else
                g_ptr_array_insert(headers, MAX(e->index, 0), h);
            break;
        case SJM_HDR_CHANGE:
            at = find_nth(headers, e->name, e->index);
            if (at < 0) {
                /* libmilter: changing a header that is not there adds it. */
                if (e->value) {
                    h = g_new0(out_header, 1);
                    h->name = g_strdup(e->name);
                    h->value = g_strdup(e->value);
                    g_ptr_array_add(headers, h);
                }
            } else if (!e->value) {
                g_ptr_array_remove_index(headers, (guint)at);
            } else {
                h = g_ptr_array_index(headers, at);
                g_free(h->value);
                g_free(h->raw);
                h->value = g_strdup(e->value);
                h->raw = NULL;
            }
            break;
        }
    }
}

static gboolean write_headers(FILE *out, GPtrArray *headers, gboolean crlf)
{
    const char *eol = crlf ? "\r\n" : "\n";

    for (guint i = 0; i < headers->len; i++) {
        out_header *h = g_ptr_array_index(headers, i);
        if (h->raw) {
            fputs(h->raw, out);
            continue;
        }
        fprintf(out, "%s: ", h->name);
        for (const char *p = h->value; *p; p++) {
            if (*p == '\n')
                fputs(eol, out);
            else if (*p != '\r')
                fputc(*p, out);
        }
        fputs(eol, out);
    }
    fputs(eol, out);
    return !ferror(out);
}

static gboolean copy_spool(sjm_spool *s, FILE *out)
{
    char buf[65536];
    guint64 off = 0;
    gssize n;

    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
            return FALSE;
    return n == 0;
}

static gboolean copy_rest(FILE *in, FILE *out)
{
    char buf[65536];
    size_t n;

    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            return FALSE;
    return !ferror(in);
}

int sjm_inspect_run(const sjm_config *cfg, const sjm_inspect_args *a)
{
    GPtrArray *headers = g_ptr_array_new_with_free_func(free_out_header);
    GString *leftover = g_string_new(NULL);
    sjm_txn *txn = sjm_txn_new();
    sjm_verdict *v = sjm_verdict_new();
    FILE *in = NULL, *out = NULL;
    gboolean crlf = FALSE;
    long body_start;
    int rc = 1;

    in = fopen(a->message_path, "rb");
    if (!in) {
        fprintf(stderr, "smime-journal-milter: %s: %s\n", a->message_path, g_strerror(errno));
        goto done;
    }
    if (!read_header_block(in, headers, &crlf, leftover)) {
        fprintf(stderr, "smime-journal-milter: %s: read error\n", a->message_path);
        goto done;
    }
    body_start = ftell(in);

    /* Envelope, in protocol order. */
    g_free(txn->client_addr);
    txn->client_addr = g_strdup(a->client_addr ? a->client_addr : "");
    txn->client_trusted = a->client_addr == NULL
                          || sjm_netlist_contains(cfg->trusted_networks, a->client_addr);
    txn->auth_name = g_strdup(a->auth_name);
    g_free(txn->queue_id);
    txn->queue_id = g_strdup("INSPECT");
    sjm_txn_set_sender(txn, a->from);
    for (guint i = 0; i < a->rcpts->len; i++) {
        const char *rcpt = g_ptr_array_index(a->rcpts, i);
        const char *refusal = sjm_core_check_rcpt(cfg, txn, rcpt);
        if (refusal) {
            char *esc = g_strdup_printf("%s(550 5.7.1 %s)", rcpt, refusal);
            sjm_verdict_add_extra(v, "rcpt_refused", esc);
            g_free(esc);
            continue;
        }
        sjm_txn_add_rcpt(txn, rcpt);
    }
    for (guint i = 0; i < headers->len; i++) {
        out_header *h = g_ptr_array_index(headers, i);
        sjm_txn_add_header(txn, h->name, h->value);
    }

    if (txn->rcpts->len == 0) {
        sjm_verdict_set_reply(v, SJM_ACTION_REJECT, "554", "5.5.1", "No valid recipients");
        sjm_verdict_set_journal(v, "skipped:no-recipients");
    } else {
        if (sjm_core_wants_body(cfg, txn)) {
            char buf[65536];
            size_t n;
            txn->body = sjm_spool_new();
            if (!sjm_spool_append(txn->body, leftover->str, leftover->len))
                txn->body_failed = TRUE;
            while (!txn->body_failed && (n = fread(buf, 1, sizeof buf, in)) > 0)
                if (!sjm_spool_append(txn->body, buf, n))
                    txn->body_failed = TRUE;
        }
        sjm_core_finish(cfg, txn, v);
    }

    out = a->output_path ? fopen(a->output_path, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "smime-journal-milter: %s: %s\n", a->output_path, g_strerror(errno));
        goto done;
    }
    if (v->action == SJM_ACTION_CONTINUE) {
        gboolean ok;
        apply_edits(headers, v);
        ok = write_headers(out, headers, crlf);
        if (ok && v->new_body)
            ok = copy_spool(v->new_body, out);
        else if (ok) {
            fwrite(leftover->str, 1, leftover->len, out);
            ok = fseek(in, body_start, SEEK_SET) == 0 && copy_rest(in, out);
        }
        if (!ok || fflush(out) != 0) {
            fprintf(stderr, "smime-journal-milter: writing the result failed: %s\n", g_strerror(errno));
            goto done;
        }
    }

    gint64 elapsed = g_get_monotonic_time() - txn->start_us;
    GString *line = g_string_new(NULL);
    g_string_append_printf(line, "signature=%s journal=%s", v->signature, v->journal);
    if (v->action != SJM_ACTION_CONTINUE)
        g_string_append_printf(line, " action=%s reply=\"%s %s %s\"",
                               v->action == SJM_ACTION_TEMPFAIL ? "tempfail" : "reject",
                               v->reply_code, v->reply_xcode, v->reply_text);
    for (guint i = 0; i < v->rcpt_adds->len; i++) {
        const sjm_rcpt_add *r = g_ptr_array_index(v->rcpt_adds, i);
        g_string_append_printf(line, " add_rcpt=<%s>%s%s", r->addr,
                               r->esmtp_args ? ":" : "", r->esmtp_args ? r->esmtp_args : "");
    }
    g_string_append_printf(line, "%s time_us=%" G_GINT64_FORMAT, v->extra->str, elapsed);
    fprintf(stderr, "%s\n", line->str);
    g_string_free(line, TRUE);
    rc = 0;

done:
    if (out && out != stdout)
        fclose(out);
    if (in)
        fclose(in);
    g_string_free(leftover, TRUE);
    g_ptr_array_free(headers, TRUE);
    sjm_txn_free(txn);
    sjm_verdict_free(v);
    return rc;
}
