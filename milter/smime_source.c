/*
 * smime_source.c - how the S/MIME scan reads a message: a byte source
 * over a spool read through one fixed window (so memory stays flat
 * whatever the message size), the line reader over a byte range, the
 * header block of an entity, and the parts between multipart delimiters.
 *
 * Interface: smime_int.h (smime_src_*, smime_lines_next, smime_read_header_block,
 * smime_split_parts).  Error contract: a read failure sets the source's
 * io_error and the function returns FALSE/NULL or stops early; a header
 * block that cannot be interpreted marks the scan malformed.
 */
#include <string.h>
#include "smime_int.h"

/* A source reading SPOOL, which it frees at the end when OWNED. */
src *smime_src_new(sjm_spool *spool, gboolean owned)
{
    src *s = g_new0(src, 1);
    s->stream = sjm_spool_stream(spool);
    s->spool = owned ? spool : NULL;
    s->size = sjm_spool_size(spool);
    s->win = g_malloc(WINDOW_SIZE);
    if (s->stream == NULL) {
        /* Out of file descriptors: report it as an internal failure. */
        s->size = 0;
        s->io_error = TRUE;
    }
    return s;
}

void smime_src_free(src *s)
{
    if (s == NULL)
        return;
    if (s->stream != NULL)
        g_object_unref(s->stream);
    if (s->spool != NULL)
        sjm_spool_free(s->spool);
    g_free(s->win);
    g_free(s);
}

/*
 * Bytes at OFF: returns a pointer into the window and in *GOT how many
 * bytes follow it there, at least min(WANT, size - OFF) unless reading
 * failed (then NULL).  WANT must not exceed WINDOW_SIZE.
 */
const guchar *smime_src_peek(src *s, guint64 off, gsize want, gsize *got)
{
    *got = 0;
    if (off >= s->size)
        return s->win;
    guint64 need = MIN((guint64)want, s->size - off);
    if (off >= s->win_off && off + need <= s->win_off + s->win_len) {
        *got = (gsize)(s->win_off + s->win_len - off);
        return s->win + (off - s->win_off);
    }
    if (g_mime_stream_seek(s->stream, (gint64)off, GMIME_STREAM_SEEK_SET) < 0) {
        s->io_error = TRUE;
        return NULL;
    }
    gsize fill = 0;
    gsize cap = (gsize)MIN((guint64)WINDOW_SIZE, s->size - off);
    while (fill < cap) {
        gssize n = g_mime_stream_read(s->stream, (char *)s->win + fill, cap - fill);
        if (n <= 0)
            break;
        fill += (gsize)n;
    }
    s->win_off = off;
    s->win_len = fill;
    if (fill < need) {
        s->io_error = TRUE;
        return NULL;
    }
    *got = fill;
    return s->win;
}

/* The next line of L: its offset and full length, and its first bytes
 * (at most LINE_PEEK of a line longer than the window). */
gboolean smime_lines_next(lines *L, guint64 *loff, guint64 *llen, const guchar **p, gsize *plen)
{
    if (L->pos >= L->end || L->s->io_error)
        return FALSE;
    gsize got;
    const guchar *b = smime_src_peek(L->s, L->pos, LINE_PEEK, &got);
    if (b == NULL)
        return FALSE;
    gsize lim = (gsize)MIN((guint64)got, L->end - L->pos);
    const guchar *nl = memchr(b, '\n', lim);
    *loff = L->pos;
    if (nl != NULL || L->pos + lim >= L->end) {
        gsize len = nl != NULL ? (gsize)(nl - b) + 1 : lim;
        *llen = len;
        *p = b;
        *plen = len;
        L->pos += len;
        return TRUE;
    }
    /* Longer than the window: keep its head, walk on to its end. */
    gsize keep = MIN(lim, (gsize)LINE_PEEK);
    memcpy(L->head, b, keep);
    *p = L->head;
    *plen = keep;
    guint64 q = L->pos + lim;
    while (q < L->end) {
        b = smime_src_peek(L->s, q, WINDOW_SIZE, &got);
        if (b == NULL)
            return FALSE;
        lim = (gsize)MIN((guint64)got, L->end - q);
        nl = memchr(b, '\n', lim);
        if (nl != NULL) {
            q += (guint64)(nl - b) + 1;
            break;
        }
        q += lim;
    }
    *llen = q - L->pos;
    L->pos = q;
    return TRUE;
}

/* Copy [off, off+len) of S into BUF (len <= what the caller allocated). */
gboolean smime_src_read(src *s, guint64 off, gsize len, guchar *buf)
{
    while (len > 0) {
        gsize got;
        const guchar *b = smime_src_peek(s, off, MIN(len, (gsize)WINDOW_SIZE), &got);
        if (b == NULL)
            return FALSE;
        gsize n = MIN(got, len);
        memcpy(buf, b, n);
        buf += n;
        off += n;
        len -= n;
    }
    return TRUE;
}

gboolean smime_read_header_block(ctx *c, node *n)
{
    lines L = { .s = n->s, .pos = n->start, .end = n->end };
    guint64 loff, llen;
    const guchar *p;
    gsize plen;
    guint64 hdr_end = n->start;
    gboolean first = TRUE;

    n->body_start = n->end;
    while (smime_lines_next(&L, &loff, &llen, &p, &plen)) {
        gboolean blank = (llen == 1 && p[0] == '\n') ||
                         (llen == 2 && p[0] == '\r' && p[1] == '\n');
        if (blank) {
            n->sep_off = loff;
            n->sep_len = (gsize)llen;
            n->body_start = loff + llen;
            break;
        }
        gsize colon;
        gboolean cont = !first && (p[0] == ' ' || p[0] == '\t');
        if (!cont && !sjm_mimehdr_name_ok(p, plen, &colon)) {
            /* No blank line: the body starts with this line. */
            n->body_start = loff;
            break;
        }
        first = FALSE;
        hdr_end = loff + llen;
        if (hdr_end - n->start > (n->is_message ? MSG_HDR_BLOCK_MAX : HDR_BLOCK_MAX)) {
            smime_set_malformed(c, "oversized part header");
            return FALSE;
        }
    }
    if (n->s->io_error)
        return FALSE;

    gsize blen = (gsize)(hdr_end - n->start);
    if (blen == 0) {
        n->fields = sjm_mimehdr_split_block(NULL, 0, n->start);
        return TRUE;
    }
    guchar *blk = g_malloc(blen);
    if (!smime_src_read(n->s, n->start, blen, blk)) {
        g_free(blk);
        return FALSE;
    }
    if (memchr(blk, '\0', blen) != NULL) {
        g_free(blk);
        smime_set_malformed(c, "NUL in part header");
        return FALSE;
    }
    n->fields = sjm_mimehdr_split_block(blk, blen, n->start);
    g_free(blk);
    return TRUE;
}

/*
 * The parts of the multipart N delimited by BOUNDARY.  *CLOSED tells
 * whether the close delimiter was seen.
 */
GArray *smime_split_parts(node *n, const char *boundary, gboolean *closed)
{
    GArray *parts = g_array_new(FALSE, FALSE, sizeof(span));
    gsize blen = strlen(boundary);
    lines L = { .s = n->s, .pos = n->body_start, .end = n->end };
    guint64 loff, llen;
    const guchar *p;
    gsize plen;
    gboolean open = FALSE;
    span cur = { 0, 0 };
    *closed = FALSE;

    while (smime_lines_next(&L, &loff, &llen, &p, &plen)) {
        if (plen < blen + 2 || p[0] != '-' || p[1] != '-' ||
            memcmp(p + 2, boundary, blen) != 0)
            continue;
        /* After the boundary: "--" closes; else only transport padding. */
        gsize k = blen + 2;
        gboolean close = plen >= k + 2 && p[k] == '-' && p[k + 1] == '-';
        if (!close) {
            gsize m = k;
            while (m < plen && (p[m] == ' ' || p[m] == '\t' || p[m] == '\r' || p[m] == '\n'))
                m++;
            if (m < plen || llen > plen)
                continue;
        }
        if (open) {
            /* The line break before a delimiter belongs to the delimiter. */
            guint64 e = loff;
            gsize k = (gsize)MIN(e - cur.start, 2);
            guchar tail[2];
            if (k > 0) {
                if (!smime_src_read(n->s, e - k, k, tail))
                    break;
                if (k == 2 && tail[0] == '\r' && tail[1] == '\n')
                    e -= 2;
                else if (tail[k - 1] == '\n')
                    e -= 1;
            }
            cur.end = e;
            g_array_append_val(parts, cur);
        }
        if (close) {
            *closed = TRUE;
            open = FALSE;
            break;
        }
        open = TRUE;
        cur.start = loff + llen;
    }
    if (open) {
        cur.end = n->end;
        g_array_append_val(parts, cur);
    }
    return parts;
}
