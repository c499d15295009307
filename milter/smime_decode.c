/*
 * smime_decode.c - transfer decoding (base64, quoted-printable, uuencode;
 * anything else passes as it is) of an entity's body: whole into memory
 * with a size cap, just its head, or streamed through a small buffer for
 * the BER walker.
 *
 * Interface: smime_int.h (smime_encoding_of, smime_decode_body,
 * smime_decode_head, smime_dec_*).
 * Error contract: a read failure sets the source's io_error and gives
 * NULL/FALSE; a body over the cap gives NULL with *too_big set.  Bad
 * encoded input is decoded as GMime decodes it, never an error.
 */
#include <string.h>
#include "smime_int.h"

GMimeContentEncoding smime_encoding_of(const char *cte)
{
    if (cte == NULL)
        return GMIME_CONTENT_ENCODING_DEFAULT;
    char *flat = g_strstrip(sjm_mimehdr_unfold((const guchar *)cte, strlen(cte)));
    GMimeContentEncoding enc = g_mime_content_encoding_from_string(flat);
    g_free(flat);
    return enc;
}

/* Set up ST to decode CTE; TRUE when the bytes need no decoding at all. */
static gboolean decoder_start(const char *cte, GMimeEncoding *st)
{
    GMimeContentEncoding enc = smime_encoding_of(cte);
    gboolean pass = enc != GMIME_CONTENT_ENCODING_BASE64 &&
                    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
                    enc != GMIME_CONTENT_ENCODING_UUENCODE;
    if (!pass)
        g_mime_encoding_init_decode(st, enc);
    return pass;
}

/* Decode the body of N per its transfer encoding, at most MAX input bytes. */
GByteArray *smime_decode_body(node *n, const char *cte, guint64 max, gboolean *too_big)
{
    *too_big = FALSE;
    guint64 len = n->end - n->body_start;
    if (len > max) {
        *too_big = TRUE;
        return NULL;
    }
    GMimeEncoding state;
    gboolean pass = decoder_start(cte, &state);
    GByteArray *out = g_byte_array_sized_new((guint)MIN(len, (guint64)G_MAXUINT));
    guint64 off = n->body_start;
    while (off < n->end) {
        gsize got;
        const guchar *b = smime_src_peek(n->s, off, WINDOW_SIZE, &got);
        if (b == NULL) {
            g_byte_array_free(out, TRUE);
            return NULL;
        }
        gsize take = (gsize)MIN((guint64)got, n->end - off);
        if (pass) {
            g_byte_array_append(out, b, (guint)take);
        } else {
            guint old = out->len;
            g_byte_array_set_size(out, old + (guint)g_mime_encoding_outlen(&state, take));
            gsize w = g_mime_encoding_step(&state, (const char *)b, take, (char *)out->data + old);
            g_byte_array_set_size(out, old + (guint)w);
        }
        off += take;
    }
    if (!pass) {
        guint old = out->len;
        g_byte_array_set_size(out, old + (guint)g_mime_encoding_outlen(&state, 0) + 16);
        gsize w = g_mime_encoding_flush(&state, "", 0, (char *)out->data + old);
        g_byte_array_set_size(out, old + (guint)w);
    }
    return out;
}

/* Decode just the start of N's body (enough for a ContentInfo header). */
GByteArray *smime_decode_head(node *n, const char *cte)
{
    node head = *n;
    /* Base64 needs 4 input bytes per 3 output; allow for line breaks. */
    guint64 want = CMS_PEEK * 2 + 64;
    if (head.end - head.body_start > want)
        head.end = head.body_start + want;
    gboolean too_big;
    return smime_decode_body(&head, cte, G_MAXUINT64, &too_big);
}


#define DEC_IN_CHUNK 16384

/* The streaming reader of N's transfer-decoded body. */
void smime_dec_init(dec *d, node *n, const char *cte)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->in_off = n->body_start;
    d->pass = decoder_start(cte, &d->st);
    /* A decoder step writes at most a few bytes more than it reads. */
    d->out = g_malloc(DEC_IN_CHUNK + 64);
}

void smime_dec_done(dec *d)
{
    g_free(d->out);
    d->out = NULL;
}

/* Refill the output buffer; FALSE at the end of the body or on failure. */
static gboolean dec_fill(dec *d)
{
    while (d->out_pos == d->out_len) {
        d->out_pos = d->out_len = 0;
        if (d->in_off >= d->n->end)
            return FALSE;
        gsize got;
        const guchar *b = smime_src_peek(d->n->s, d->in_off, DEC_IN_CHUNK, &got);
        if (b == NULL) {
            d->failed = TRUE;
            return FALSE;
        }
        gsize take = (gsize)MIN((guint64)MIN(got, (gsize)DEC_IN_CHUNK), d->n->end - d->in_off);
        d->in_off += take;
        if (d->pass) {
            memcpy(d->out, b, take);
            d->out_len = take;
        } else {
            d->out_len = g_mime_encoding_step(&d->st, (const char *)b, take, (char *)d->out);
        }
    }
    return TRUE;
}

/* Exactly LEN decoded bytes into BUF (NULL: skip them), or FALSE. */
gboolean smime_dec_read(dec *d, guchar *buf, guint64 len, sjm_spool *sink)
{
    while (len > 0) {
        if (!dec_fill(d))
            return FALSE;
        gsize n = (gsize)MIN((guint64)(d->out_len - d->out_pos), len);
        if (buf != NULL) {
            memcpy(buf, d->out + d->out_pos, n);
            buf += n;
        }
        if (sink != NULL && !sjm_spool_append(sink, d->out + d->out_pos, n)) {
            d->failed = TRUE;
            return FALSE;
        }
        d->out_pos += n;
        d->pos += n;
        len -= n;
    }
    return TRUE;
}

