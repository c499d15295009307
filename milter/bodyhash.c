/*
 * bodyhash.c - relaxed body canonicalisation and SHA-256 (bodyhash.h).
 *
 * A streaming state machine: white space and empty lines are held back
 * (as counts) until something printable shows they were not trailing,
 * so memory stays constant whatever the chunking and the body size.
 */
#include <string.h>
#include <openssl/evp.h>
#include "bodyhash.h"

/* Canonical bytes are hashed in blocks: one digest update per byte would
 * cost more than the canonicalisation itself. */
#define BLOCK 8192

struct sjm_bodyhash {
    EVP_MD_CTX *md;
    gboolean failed;
    gsize fill;
    guchar block[BLOCK];
    gboolean line_has_text;     /* the current line has a non-space byte */
    gboolean pending_space;     /* white space seen since the last text byte */
    guint64 pending_lines;      /* empty lines (CRLF) not yet written */
    gboolean pending_cr;        /* a CR not yet known to end a line */
};

sjm_bodyhash *sjm_bodyhash_new(void)
{
    sjm_bodyhash *h = g_new0(sjm_bodyhash, 1);
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
        h->failed = TRUE;
    return h;
}

void sjm_bodyhash_free(sjm_bodyhash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->md);
    g_free(h);
}

static void drain(sjm_bodyhash *h)
{
    if (!h->failed && h->fill > 0 && EVP_DigestUpdate(h->md, h->block, h->fill) != 1)
        h->failed = TRUE;
    h->fill = 0;
}

static void put(sjm_bodyhash *h, const void *p, gsize n)
{
    if (h->fill + n > BLOCK)
        drain(h);
    memcpy(h->block + h->fill, p, n);
    h->fill += n;
}

/* Empty lines held back turn out not to be trailing. */
static void flush_lines(sjm_bodyhash *h)
{
    for (; h->pending_lines > 0; h->pending_lines--)
        put(h, "\r\n", 2);
}

static void text_byte(sjm_bodyhash *h, guchar c)
{
    flush_lines(h);
    if (h->pending_space)
        put(h, " ", 1);
    h->pending_space = FALSE;
    h->line_has_text = TRUE;
    put(h, &c, 1);
}

static void end_line(sjm_bodyhash *h)
{
    if (h->line_has_text)
        put(h, "\r\n", 2);
    else
        h->pending_lines++;
    h->line_has_text = FALSE;
    h->pending_space = FALSE;
}

void sjm_bodyhash_update(sjm_bodyhash *h, const guchar *data, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        guchar c = data[i];
        if (h->pending_cr) {
            h->pending_cr = FALSE;
            if (c == '\n') {
                end_line(h);
                continue;
            }
            text_byte(h, '\r');     /* a bare CR is text */
        }
        if (c == '\r')
            h->pending_cr = TRUE;
        else if (c == '\n')
            end_line(h);
        else if (c == ' ' || c == '\t')
            h->pending_space = TRUE;
        else
            text_byte(h, c);
    }
}

gboolean sjm_bodyhash_finish(sjm_bodyhash *h, guchar out[SJM_BODYHASH_LEN])
{
    unsigned int n = 0;
    if (h->pending_cr)
        text_byte(h, '\r');
    /* A last line without its line break still ends in CRLF; trailing
     * empty lines and trailing white space are dropped. */
    if (h->line_has_text)
        put(h, "\r\n", 2);
    drain(h);
    gboolean ok = !h->failed && EVP_DigestFinal_ex(h->md, out, &n) == 1 && n == SJM_BODYHASH_LEN;
    sjm_bodyhash_free(h);
    return ok;
}

gboolean sjm_bodyhash_data(const guchar *data, gsize len, guchar out[SJM_BODYHASH_LEN])
{
    sjm_bodyhash *h = sjm_bodyhash_new();
    sjm_bodyhash_update(h, data, len);
    return sjm_bodyhash_finish(h, out);
}

gboolean sjm_bodyhash_spool(sjm_spool *s, guchar out[SJM_BODYHASH_LEN])
{
    sjm_bodyhash *h = sjm_bodyhash_new();
    guchar buf[65536];
    guint64 off = 0;
    gssize n;
    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0)
        sjm_bodyhash_update(h, buf, (gsize)n);
    if (n < 0) {
        sjm_bodyhash_free(h);
        return FALSE;
    }
    return sjm_bodyhash_finish(h, out);
}
