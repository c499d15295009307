/*
 * inspect.c - --inspect: one message file through the session layer, as
 * a live transaction goes through it, with the in-memory MTA of
 * mta_file.h standing in for Postfix.
 *
 * This file only plays the MTA's part: it splits the file into header
 * fields and body the way the milter protocol delivers them, feeds the
 * session in protocol order, and writes what the in-memory MTA holds
 * afterwards.  The session sees CRLF either way, as it does from a real
 * MTA; the output keeps the file's bytes where the filter changed
 * nothing, and its line ends (those of its first line) where it did.
 *
 * DIAGNOSTICS
 *   0 when the dry run ran (whatever it decided); 1 with a message on
 *   stderr when the file could not be read or the result not written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "inspect.h"
#include "mta_file.h"
#include "session.h"

/*
 * Read the header block from F into M, feeding each field to S.  Stops
 * after the empty line; *crlf says whether the file's first line ends in
 * CRLF.  A line that is not a header field ends the header and is left
 * in LEFTOVER as the start of the body.  FALSE on read error.
 */
static gboolean read_header_block(FILE *f, sjm_mta_file *m, gboolean *crlf, GString *leftover)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    sjm_mta_file_header *cur = NULL;
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
            g_string_append_len(leftover, line, len);
            break;
        }
        char *name = g_strndup(line, colon - line);
        g_strchomp(name);
        const char *v = colon + 1;
        while (v < line + content && (*v == ' ' || *v == '\t'))
            v++;
        char *value = g_strndup(v, line + content - v);
        char *raw = g_strndup(line, len);
        sjm_mta_file_add_original_header(m, name, value, raw);
        cur = g_ptr_array_index(m->headers, m->headers->len - 1);
        g_free(name);
        g_free(value);
        g_free(raw);
    }
    free(line);
    return !ferror(f);
}

/* The body: into the MTA's copy, and into the session while it wants it. */
static gboolean feed_body(FILE *in, GString *leftover, sjm_mta_file *m, sjm_session *s)
{
    char buf[65536];
    size_t n;
    gboolean want = sjm_session_eoh(s), ok = TRUE;

    if (leftover->len > 0) {
        ok = sjm_mta_file_add_original_body(m, leftover->str, leftover->len);
        if (want)
            want = sjm_session_body(s, (const guchar *)leftover->str, leftover->len);
    }
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        ok = sjm_mta_file_add_original_body(m, buf, n);
        if (want)
            want = sjm_session_body(s, (const guchar *)buf, n);
    }
    return ok && !ferror(in);
}

int sjm_inspect_run(sjm_config *cfg, const sjm_inspect_args *a)
{
    sjm_mta_file *m = sjm_mta_file_new();
    GString *leftover = g_string_new(NULL);
    sjm_client client = {a->client_addr, a->auth_name};
    sjm_session *s = NULL;
    sjm_outcome out = {0};
    FILE *in = NULL, *outf = NULL;
    gboolean crlf = FALSE;
    int rc = 1;

    m->refuse = a->refuse;
    in = fopen(a->message_path, "rb");
    if (!in) {
        fprintf(stderr, "smime-journal-milter: %s: %s\n", a->message_path, g_strerror(errno));
        goto done;
    }
    /* Envelope, header fields and body in protocol order. */
    s = sjm_session_new(cfg, &client, a->from);
    sjm_session_set_queue_id(s, "INSPECT");
    sjm_session_dry_run(s);
    for (guint i = 0; i < a->rcpts->len; i++) {
        const char *rcpt = g_ptr_array_index(a->rcpts, i);
        if (sjm_session_rcpt(s, rcpt) == NULL)
            sjm_mta_file_add_original_rcpt(m, rcpt);
    }
    if (!read_header_block(in, m, &crlf, leftover)) {
        fprintf(stderr, "smime-journal-milter: %s: read error\n", a->message_path);
        goto done;
    }
    for (guint i = 0; i < m->headers->len; i++) {
        sjm_mta_file_header *h = g_ptr_array_index(m->headers, i);
        sjm_session_header(s, h->name, h->value);
    }
    if (!feed_body(in, leftover, m, s)) {
        fprintf(stderr, "smime-journal-milter: %s: %s\n", a->message_path, g_strerror(errno));
        goto done;
    }
    sjm_session_eom(s, &sjm_mta_file_ops, m, &out);

    outf = a->output_path ? fopen(a->output_path, "wb") : stdout;
    if (!outf) {
        fprintf(stderr, "smime-journal-milter: %s: %s\n", a->output_path, g_strerror(errno));
        goto done;
    }
    if (out.action == SJM_ACTION_CONTINUE && !sjm_mta_file_write(m, outf, crlf)) {
        fprintf(stderr, "smime-journal-milter: writing the result failed: %s\n", g_strerror(errno));
        goto done;
    }
    fprintf(stderr, "%s\n", out.summary);
    rc = 0;

done:
    if (outf && outf != stdout)
        fclose(outf);
    if (in)
        fclose(in);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    g_string_free(leftover, TRUE);
    sjm_mta_file_free(m);
    return rc;
}
