/*
 * smime.c - S/MIME detection and signature stripping (SPEC section 4).
 *
 * The signed content of a signature must reach the recipient byte for
 * byte, so nothing here re-serialises MIME objects: the body is scanned
 * for its structure (header blocks, boundary delimiter lines) and every
 * entity is remembered as byte offsets into its source.  Stripping then
 * writes the output as a sequence of copied ranges, which also keeps
 * memory flat: the body is read through a fixed window and written to a
 * spool that moves to disk when it grows.  GMime parses what needs real
 * MIME grammar (Content-Type and Content-Disposition parameters, RFC 2231,
 * quoting) and decodes transfer encodings; OpenSSL decides what a CMS
 * blob is.
 *
 * A message with any signed structure we cannot account for is left
 * exactly as it came (signature=malformed): half-stripping a message
 * whose structure we misread would be worse than not stripping at all.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <string.h>
#include <gmime/gmime.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include "smime.h"
#include "spool.h"

/* One part's header block; MIME part headers are a few hundred bytes, so
 * anything this large is hostile or broken and is not interpreted. */
#define HDR_BLOCK_MAX   (64 * 1024)
/* An attached message's header carries its whole trace; allow for it. */
#define MSG_HDR_BLOCK_MAX (1024 * 1024)
/* A detached signature is a few kilobytes even with a long chain. */
#define SIG_PART_MAX    (4 * 1024 * 1024)
/* Parts per message; bounds the CPU a crafted message can take. */
#define PARTS_MAX       100000
/* Never recurse deeper than this whatever max_mime_depth says. */
#define DEPTH_HARD_MAX  1000
#define WINDOW_SIZE     (64 * 1024)
#define LINE_PEEK       1024
/* Bytes of DER enough to read a ContentInfo's contentType. */
#define CMS_PEEK        64

/* ------------------------------------------------------------ sources */

/* A seekable byte source read through one window. */
typedef struct src {
    GMimeStream *stream;
    sjm_spool *spool;           /* owned when the source is an eContent */
    guint64 size;
    guchar *win;
    guint64 win_off;
    gsize win_len;
    gboolean io_error;
} src;

static src *src_new(sjm_spool *spool, gboolean owned)
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

static void src_free(src *s)
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
static const guchar *src_peek(src *s, guint64 off, gsize want, gsize *got)
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

/* Lines of [pos, end): each with its offset, full length and first bytes. */
typedef struct lines {
    src *s;
    guint64 pos, end;
    guchar head[LINE_PEEK];
} lines;

static gboolean lines_next(lines *L, guint64 *loff, guint64 *llen,
                           const guchar **p, gsize *plen)
{
    if (L->pos >= L->end || L->s->io_error)
        return FALSE;
    gsize got;
    const guchar *b = src_peek(L->s, L->pos, LINE_PEEK, &got);
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
        b = src_peek(L->s, q, WINDOW_SIZE, &got);
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
static gboolean src_read(src *s, guint64 off, gsize len, guchar *buf)
{
    while (len > 0) {
        gsize got;
        const guchar *b = src_peek(s, off, MIN(len, (gsize)WINDOW_SIZE), &got);
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

/* ------------------------------------------------------------ headers */

typedef struct field {
    char *name;
    char *value;        /* unfolded, without leading white space */
    guint64 raw_off;    /* the field's lines in the source, line ends included */
    guint64 raw_len;
} field;

static void field_free(gpointer p)
{
    field *f = p;
    g_free(f->name);
    g_free(f->value);
    g_free(f);
}

static gboolean is_content_header(const char *name)
{
    return g_ascii_strncasecmp(name, "content-", 8) == 0;
}

static const char *fields_get(GPtrArray *fields, const char *name)
{
    for (guint i = 0; fields != NULL && i < fields->len; i++) {
        field *f = g_ptr_array_index(fields, i);
        if (g_ascii_strcasecmp(f->name, name) == 0)
            return f->value;
    }
    return NULL;
}

static gboolean header_name_ok(const guchar *p, gsize len, gsize *colon)
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

static char *unfold(const guchar *p, gsize len)
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

/* --------------------------------------------------------------- tree */

typedef enum { N_LEAF, N_MULTIPART, N_SIGNED, N_OPAQUE, N_MESSAGE } nkind;

typedef struct node {
    nkind kind;
    src *s;
    guint64 start, body_start, end;
    gboolean is_message;    /* a message's header block: Content-* move on strip */
    GPtrArray *fields;      /* NULL for the top level (headers live in the txn) */
    gsize sep_off, sep_len; /* the blank line closing the header block, if any */
    gboolean strip;         /* this signed entity is replaced by its content */
    gboolean changed;       /* strip, or something below is stripped */
    GPtrArray *kids;        /* changed children (multipart) or the one inner entity */
} node;

static void node_free(gpointer p)
{
    node *n = p;
    if (n == NULL)
        return;
    if (n->fields != NULL)
        g_ptr_array_free(n->fields, TRUE);
    if (n->kids != NULL)
        g_ptr_array_free(n->kids, TRUE);
    g_free(n);
}

static void node_add_kid(node *n, node *kid)
{
    if (n->kids == NULL)
        n->kids = g_ptr_array_new_with_free_func(node_free);
    g_ptr_array_add(n->kids, kid);
}

typedef struct ctx {
    const sjm_config *cfg;
    gboolean strip;
    guint max_depth;
    guint parts;
    int detached, opaque;   /* signatures stripped */
    gboolean kept;          /* a signature seen and kept */
    gboolean encrypted;
    gboolean malformed;
    const char *why;        /* first malformation, for the log */
    GPtrArray *srcs;        /* eContent sources, freed at the end */
} ctx;

static void set_malformed(ctx *c, const char *why)
{
    if (!c->malformed)
        c->why = why;
    c->malformed = TRUE;
}

/* Read the header block at N->start; sets fields, body_start. */
static gboolean read_header_block(ctx *c, node *n)
{
    lines L = { .s = n->s, .pos = n->start, .end = n->end };
    guint64 loff, llen;
    const guchar *p;
    gsize plen;
    guint64 hdr_end = n->start;
    gboolean first = TRUE;

    n->body_start = n->end;
    while (lines_next(&L, &loff, &llen, &p, &plen)) {
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
        if (!cont && !header_name_ok(p, plen, &colon)) {
            /* No blank line: the body starts with this line. */
            n->body_start = loff;
            break;
        }
        first = FALSE;
        hdr_end = loff + llen;
        if (hdr_end - n->start > (n->is_message ? MSG_HDR_BLOCK_MAX : HDR_BLOCK_MAX)) {
            set_malformed(c, "oversized part header");
            return FALSE;
        }
    }
    if (n->s->io_error)
        return FALSE;

    gsize blen = (gsize)(hdr_end - n->start);
    n->fields = g_ptr_array_new_with_free_func(field_free);
    if (blen == 0)
        return TRUE;
    guchar *blk = g_malloc(blen);
    if (!src_read(n->s, n->start, blen, blk)) {
        g_free(blk);
        return FALSE;
    }
    if (memchr(blk, '\0', blen) != NULL) {
        g_free(blk);
        set_malformed(c, "NUL in part header");
        return FALSE;
    }
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
        header_name_ok(blk + fstart, j - fstart, &colon);
        gsize nlen = colon;
        while (nlen > 0 && (blk[fstart + nlen - 1] == ' ' || blk[fstart + nlen - 1] == '\t'))
            nlen--;
        field *f = g_new0(field, 1);
        f->name = g_strndup((const char *)blk + fstart, nlen);
        f->value = unfold(blk + fstart + colon + 1, j - fstart - colon - 1);
        f->raw_off = n->start + fstart;
        f->raw_len = j - fstart;
        g_ptr_array_add(n->fields, f);
        i = j;
    }
    g_free(blk);
    return TRUE;
}

/* Lower-case "type/subtype" and selected parameters of a Content-Type. */
typedef struct ctinfo {
    char *type;         /* "text/plain" */
    char *boundary;
    char *protocol;     /* lower case */
    char *smime_type;   /* lower case */
    char *name;
} ctinfo;

static void ctinfo_clear(ctinfo *ct)
{
    g_free(ct->type);
    g_free(ct->boundary);
    g_free(ct->protocol);
    g_free(ct->smime_type);
    g_free(ct->name);
    memset(ct, 0, sizeof *ct);
}

static char *lower_or_null(const char *s)
{
    return s != NULL ? g_ascii_strdown(s, -1) : NULL;
}

static void ctinfo_parse(const char *value, const char *dflt, ctinfo *ct)
{
    memset(ct, 0, sizeof *ct);
    if (value == NULL || *value == '\0') {
        ct->type = g_strdup(dflt);
        return;
    }
    /* Values from the MTA may still carry their folding. */
    char *flat = unfold((const guchar *)value, strlen(value));
    GMimeContentType *t = g_mime_content_type_parse(NULL, flat);
    g_free(flat);
    if (t == NULL) {
        ct->type = g_strdup(dflt);
        return;
    }
    const char *ty = g_mime_content_type_get_media_type(t);
    const char *sub = g_mime_content_type_get_media_subtype(t);
    char *full = g_strdup_printf("%s/%s", ty ? ty : "", sub ? sub : "");
    ct->type = g_ascii_strdown(full, -1);
    g_free(full);
    const char *b = g_mime_content_type_get_parameter(t, "boundary");
    ct->boundary = (b != NULL && *b != '\0') ? g_strdup(b) : NULL;
    ct->protocol = lower_or_null(g_mime_content_type_get_parameter(t, "protocol"));
    ct->smime_type = lower_or_null(g_mime_content_type_get_parameter(t, "smime-type"));
    ct->name = g_strdup(g_mime_content_type_get_parameter(t, "name"));
    g_object_unref(t);
}

static gboolean is_smime_sig_type(const char *t)
{
    return t != NULL && (strcmp(t, "application/pkcs7-signature") == 0 ||
                         strcmp(t, "application/x-pkcs7-signature") == 0);
}

static gboolean is_pkcs7_mime_type(const char *t)
{
    return strcmp(t, "application/pkcs7-mime") == 0 ||
           strcmp(t, "application/x-pkcs7-mime") == 0;
}

static gboolean name_is_p7m(const char *name)
{
    gsize n = name != NULL ? strlen(name) : 0;
    return n >= 4 && g_ascii_strcasecmp(name + n - 4, ".p7m") == 0;
}

/* pkcs7-mime, or an octet-stream whose name or filename ends in .p7m. */
static gboolean looks_pkcs7_mime(const ctinfo *ct, const char *disposition)
{
    if (is_pkcs7_mime_type(ct->type))
        return TRUE;
    if (strcmp(ct->type, "application/octet-stream") != 0)
        return FALSE;
    if (name_is_p7m(ct->name))
        return TRUE;
    gboolean hit = FALSE;
    if (disposition != NULL) {
        GMimeContentDisposition *d = g_mime_content_disposition_parse(NULL, disposition);
        if (d != NULL) {
            hit = name_is_p7m(g_mime_content_disposition_get_parameter(d, "filename"));
            g_object_unref(d);
        }
    }
    return hit;
}

/* ------------------------------------------------------------ decoding */

static GMimeContentEncoding encoding_of(const char *cte)
{
    if (cte == NULL)
        return GMIME_CONTENT_ENCODING_DEFAULT;
    char *flat = g_strstrip(unfold((const guchar *)cte, strlen(cte)));
    GMimeContentEncoding enc = g_mime_content_encoding_from_string(flat);
    g_free(flat);
    return enc;
}

/* Decode the body of N per its transfer encoding, at most MAX input bytes. */
static GByteArray *decode_body(node *n, const char *cte, guint64 max, gboolean *too_big)
{
    *too_big = FALSE;
    guint64 len = n->end - n->body_start;
    if (len > max) {
        *too_big = TRUE;
        return NULL;
    }
    GMimeContentEncoding enc = encoding_of(cte);
    gboolean pass = enc != GMIME_CONTENT_ENCODING_BASE64 &&
                    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
                    enc != GMIME_CONTENT_ENCODING_UUENCODE;
    GMimeEncoding state;
    if (!pass)
        g_mime_encoding_init_decode(&state, enc);
    GByteArray *out = g_byte_array_sized_new((guint)MIN(len, (guint64)G_MAXUINT));
    guint64 off = n->body_start;
    while (off < n->end) {
        gsize got;
        const guchar *b = src_peek(n->s, off, WINDOW_SIZE, &got);
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
static GByteArray *decode_head(node *n, const char *cte)
{
    node head = *n;
    /* Base64 needs 4 input bytes per 3 output; allow for line breaks. */
    guint64 want = CMS_PEEK * 2 + 64;
    if (head.end - head.body_start > want)
        head.end = head.body_start + want;
    gboolean too_big;
    return decode_body(&head, cte, G_MAXUINT64, &too_big);
}

/* The NID of a DER/BER ContentInfo's contentType, NID_undef if unreadable. */
static int cms_peek_type(const guchar *der, gsize len)
{
    gsize i = 0;
    if (len < 2 || der[i++] != 0x30)
        return NID_undef;
    guchar l = der[i++];
    if (l & 0x80) {
        gsize nb = l & 0x7f;
        if (nb > 4 || i + nb > len)
            return NID_undef;
        i += nb;        /* definite long form; 0x80 (indefinite) skips nothing */
    }
    if (i + 2 > len || der[i] != 0x06)
        return NID_undef;
    const unsigned char *p = der + i;
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)(len - i));
    if (obj == NULL) {
        ERR_clear_error();
        return NID_undef;
    }
    int nid = OBJ_obj2nid(obj);
    ASN1_OBJECT_free(obj);
    return nid;
}

static CMS_ContentInfo *cms_parse(const GByteArray *der)
{
    if (der == NULL || der->len == 0)
        return NULL;
    BIO *bio = BIO_new_mem_buf(der->data, (int)der->len);
    if (bio == NULL)
        return NULL;
    CMS_ContentInfo *cms = d2i_CMS_bio(bio, NULL);
    BIO_free(bio);
    if (cms == NULL)
        ERR_clear_error();
    return cms;
}

static int cms_signer_count(CMS_ContentInfo *cms)
{
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
        return 0;
    STACK_OF(CMS_SignerInfo) *si = CMS_get0_SignerInfos(cms);
    return si != NULL ? sk_CMS_SignerInfo_num(si) : 0;
}

/* ---------------------------------------------- streaming signedData */

/*
 * OpenSSL parses a CMS blob only whole, in memory, so a large opaque
 * signature would cost memory in proportion to the message.  Past
 * STREAM_THRESHOLD decoded bytes the encapsulated content is therefore
 * taken out by a small BER walker instead, which reads the transfer-decoded
 * body through a window and writes the eContent octets straight to a
 * spool.  It only walks the SignedData skeleton (RFC 5652 5.1): anything
 * it does not expect makes the blob unparseable, as OpenSSL would.
 */
static gsize stream_threshold = 1024 * 1024;

void sjm_smime_set_stream_threshold(gsize bytes)
{
    stream_threshold = bytes;
}

/* Transfer-decoded bytes of a node's body, read on demand. */
typedef struct dec {
    node *n;
    guint64 in_off;         /* next encoded byte to read */
    gboolean pass;          /* 7bit/8bit/binary: no decoding */
    GMimeEncoding st;
    guchar *out;
    gsize out_pos, out_len;
    guint64 pos;            /* decoded bytes consumed so far */
    gboolean failed;
} dec;

#define DEC_IN_CHUNK 16384

static gboolean dec_fill(dec *d)
{
    while (d->out_pos == d->out_len) {
        d->out_pos = d->out_len = 0;
        if (d->in_off >= d->n->end)
            return FALSE;
        gsize got;
        const guchar *b = src_peek(d->n->s, d->in_off, DEC_IN_CHUNK, &got);
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
static gboolean dec_read(dec *d, guchar *buf, guint64 len, sjm_spool *sink)
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

/* One identifier and length; *len = -1 for the indefinite form. */
typedef struct ber {
    guchar tag;             /* first identifier octet */
    gint64 len;
    guint64 start;          /* decoded offset of the contents */
} ber;

static gboolean ber_head(dec *d, ber *h)
{
    guchar b;
    if (!dec_read(d, &h->tag, 1, NULL))
        return FALSE;
    if ((h->tag & 0x1f) == 0x1f) {
        /* High tag numbers do not occur in the skeleton; skip their octets
         * so that such an element can still be stepped over. */
        do {
            if (!dec_read(d, &b, 1, NULL))
                return FALSE;
        } while (b & 0x80);
    }
    if (!dec_read(d, &b, 1, NULL))
        return FALSE;
    if (b == 0x80) {
        if (!(h->tag & 0x20))
            return FALSE;   /* indefinite length needs a constructed type */
        h->len = -1;
    } else if (b & 0x80) {
        guint nb = b & 0x7f;
        if (nb > 7)
            return FALSE;
        guint64 v = 0;
        for (guint i = 0; i < nb; i++) {
            if (!dec_read(d, &b, 1, NULL))
                return FALSE;
            v = (v << 8) | b;
        }
        h->len = (gint64)v;
    } else {
        h->len = b;
    }
    h->start = d->pos;
    return TRUE;
}

static gboolean ber_is_eoc(const ber *h)
{
    return h->tag == 0 && h->len == 0;
}

/* Is the constructed element H (whose contents started at h->start) done?
 * For the indefinite form this reads the next header into *NEXT. */
static gboolean ber_more(dec *d, const ber *h, ber *next, gboolean *more)
{
    if (h->len >= 0) {
        *more = d->pos < h->start + (guint64)h->len;
        if (d->pos > h->start + (guint64)h->len)
            return FALSE;
        return !*more || ber_head(d, next);
    }
    if (!ber_head(d, next))
        return FALSE;
    *more = !ber_is_eoc(next);
    return TRUE;
}

/* Skip the contents of the element whose header is H. */
static gboolean ber_skip(dec *d, const ber *h, guint depth)
{
    if (h->len >= 0)
        return dec_read(d, NULL, (guint64)h->len, NULL);
    if (depth > 64)
        return FALSE;
    for (;;) {
        ber k;
        if (!ber_head(d, &k))
            return FALSE;
        if (ber_is_eoc(&k))
            return TRUE;
        if (!ber_skip(d, &k, depth + 1))
            return FALSE;
    }
}

/* The octets of an OCTET STRING, primitive or constructed, to SINK. */
static gboolean ber_octets(dec *d, const ber *h, sjm_spool *sink, guint depth)
{
    if (h->tag == 0x04)
        return h->len >= 0 && dec_read(d, NULL, (guint64)h->len, sink);
    if (h->tag != 0x24 || depth > 64)
        return FALSE;
    ber k;
    gboolean more;
    if (!ber_more(d, h, &k, &more))
        return FALSE;
    while (more) {
        if (!ber_octets(d, &k, sink, depth + 1) || !ber_more(d, h, &k, &more))
            return FALSE;
    }
    return TRUE;
}

/* Close constructed element H: nothing may be left before its end. */
static gboolean ber_close(dec *d, const ber *h)
{
    ber k;
    gboolean more;
    return ber_more(d, h, &k, &more) && !more;
}

static const guchar OID_SIGNED_DATA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };

/*
 * Walk a ContentInfo holding SignedData; the eContent goes to SINK.
 * Returns the number of SignerInfos, or -1 when the blob is not that.
 * *HAS_CONTENT tells whether an eContent was present.
 */
static int stream_signed_data(node *n, const char *cte, sjm_spool *sink, gboolean *has_content)
{
    dec d = { .n = n, .in_off = n->body_start };
    GMimeContentEncoding enc = encoding_of(cte);
    d.pass = enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
             enc != GMIME_CONTENT_ENCODING_UUENCODE;
    if (!d.pass)
        g_mime_encoding_init_decode(&d.st, enc);
    d.out = g_malloc(DEC_IN_CHUNK + 64);
    *has_content = FALSE;
    int signers = -1;

    ber ci, oid, expl, sd, h, k, eci;
    guchar oidbuf[sizeof OID_SIGNED_DATA];
    gboolean more;
    if (!ber_head(&d, &ci) || ci.tag != 0x30 ||
        !ber_head(&d, &oid) || oid.tag != 0x06 || oid.len != (gint64)sizeof oidbuf ||
        !dec_read(&d, oidbuf, sizeof oidbuf, NULL) || memcmp(oidbuf, OID_SIGNED_DATA, sizeof oidbuf) != 0 ||
        !ber_head(&d, &expl) || expl.tag != 0xa0 ||
        !ber_head(&d, &sd) || sd.tag != 0x30)
        goto out;
    /* version, digestAlgorithms */
    if (!ber_head(&d, &h) || h.tag != 0x02 || !ber_skip(&d, &h, 0) ||
        !ber_head(&d, &h) || h.tag != 0x31 || !ber_skip(&d, &h, 0))
        goto out;
    /* encapContentInfo: eContentType, then [0] EXPLICIT OCTET STRING if present */
    if (!ber_head(&d, &eci) || eci.tag != 0x30 ||
        !ber_head(&d, &h) || h.tag != 0x06 || !ber_skip(&d, &h, 0) ||
        !ber_more(&d, &eci, &k, &more))
        goto out;
    if (more) {
        if (k.tag != 0xa0 || !ber_head(&d, &h) || !ber_octets(&d, &h, sink, 0) ||
            !ber_close(&d, &k) || !ber_close(&d, &eci))
            goto out;
        *has_content = TRUE;
    }
    /* certificates [0], crls [1], then signerInfos SET */
    if (!ber_more(&d, &sd, &h, &more) || !more)
        goto out;
    while (h.tag == 0xa0 || h.tag == 0xa1) {
        if (!ber_skip(&d, &h, 0) || !ber_more(&d, &sd, &h, &more) || !more)
            goto out;
    }
    if (h.tag != 0x31)
        goto out;
    int count = 0;
    if (!ber_more(&d, &h, &k, &more))
        goto out;
    while (more) {
        if (k.tag != 0x30 || !ber_skip(&d, &k, 0) || !ber_more(&d, &h, &k, &more))
            goto out;
        count++;
    }
    signers = count;
out:
    if (d.failed)
        n->s->io_error = TRUE;      /* a read or spool write failed: internal */
    g_free(d.out);
    return signers;
}

/* --------------------------------------------------------------- scan */

static node *scan_entity(ctx *c, src *s, guint64 start, guint64 end, guint depth,
                         gboolean is_message, gboolean frozen, const char *dflt_type);

/* Body of a top-level or part entity N, whose headers are already read. */
static void scan_body(ctx *c, node *n, const char *ctype, const char *dflt,
                      const char *cte, const char *disposition, guint depth, gboolean frozen);

typedef struct span { guint64 start, end; } span;

/*
 * The parts of the multipart N delimited by BOUNDARY.  *CLOSED tells
 * whether the close delimiter was seen.
 */
static GArray *split_parts(node *n, const char *boundary, gboolean *closed)
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

    while (lines_next(&L, &loff, &llen, &p, &plen)) {
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
                if (!src_read(n->s, e - k, k, tail))
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

static gboolean descend_ok(ctx *c, guint depth)
{
    if (depth + 1 > c->max_depth) {
        set_malformed(c, "nesting deeper than max_mime_depth");
        return FALSE;
    }
    return TRUE;
}

/* Check a detached signature part: a CMS signedData with a signer. */
static gboolean signature_part_ok(ctx *c, node *sig)
{
    const char *ctv = fields_get(sig->fields, "Content-Type");
    ctinfo ct;
    ctinfo_parse(ctv, "text/plain", &ct);
    gboolean type_ok = is_smime_sig_type(ct.type);
    ctinfo_clear(&ct);
    if (!type_ok) {
        set_malformed(c, "multipart/signed without a pkcs7-signature part");
        return FALSE;
    }
    gboolean too_big;
    GByteArray *der = decode_body(sig, fields_get(sig->fields, "Content-Transfer-Encoding"),
                                  SIG_PART_MAX, &too_big);
    if (der == NULL) {
        if (too_big)
            set_malformed(c, "oversized signature part");
        return FALSE;
    }
    CMS_ContentInfo *cms = cms_parse(der);
    g_byte_array_free(der, TRUE);
    int signers = cms != NULL ? cms_signer_count(cms) : 0;
    if (cms != NULL)
        CMS_ContentInfo_free(cms);
    if (signers < 1) {
        set_malformed(c, "signature part is not a CMS signature");
        return FALSE;
    }
    return TRUE;
}

static void scan_signed(ctx *c, node *n, const ctinfo *ct, guint depth, gboolean frozen)
{
    if (ct->boundary == NULL) {
        set_malformed(c, "multipart/signed without boundary");
        return;
    }
    if (!descend_ok(c, depth))
        return;
    gboolean closed;
    GArray *parts = split_parts(n, ct->boundary, &closed);
    if (n->s->io_error) {
        g_array_free(parts, TRUE);
        return;
    }
    if (parts->len != 2 || !closed) {
        set_malformed(c, parts->len < 2 ? "multipart/signed without a signature part"
                                        : !closed ? "multipart/signed without close delimiter"
                                                  : "multipart/signed with more than two parts");
        g_array_free(parts, TRUE);
        return;
    }
    span p1 = g_array_index(parts, span, 0), p2 = g_array_index(parts, span, 1);
    g_array_free(parts, TRUE);
    c->parts += 2;

    node *sig = g_new0(node, 1);
    sig->s = n->s;
    sig->start = p2.start;
    sig->end = p2.end;
    gboolean ok = read_header_block(c, sig) && signature_part_ok(c, sig);
    node_free(sig);
    if (!ok)
        return;

    node *content = scan_entity(c, n->s, p1.start, p1.end, depth + 1, FALSE, frozen, "text/plain");
    if (content == NULL)
        return;
    if (c->strip && !frozen) {
        n->strip = TRUE;
        n->changed = TRUE;
        c->detached++;
    } else {
        c->kept = TRUE;
    }
    n->kind = N_SIGNED;
    node_add_kid(n, content);
}

static void scan_pkcs7(ctx *c, node *n, const ctinfo *ct, const char *cte,
                       guint depth, gboolean frozen)
{
    /* Labelled pkcs7-mime: a broken blob is a broken S/MIME structure.
     * Merely named *.p7m: it may be anything, so a bad blob is left alone. */
    gboolean labelled = is_pkcs7_mime_type(ct->type);

    GByteArray *head = decode_head(n, cte);
    if (head == NULL)
        return;
    int nid = cms_peek_type(head->data, head->len);
    g_byte_array_free(head, TRUE);

    if (nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData) {
        c->encrypted = TRUE;
        return;
    }
    if (nid != NID_pkcs7_signed) {
        if (nid == NID_undef && labelled)
            set_malformed(c, "unparseable pkcs7-mime");
        return;
    }

    guint64 enc_len = n->end - n->body_start;
    sjm_spool *sp = sjm_spool_new();
    if (enc_len > stream_threshold) {
        gboolean has_content;
        int signers = stream_signed_data(n, cte, sp, &has_content);
        if (n->s->io_error || signers < 1 || !has_content) {
            if (signers < 0 && labelled && !n->s->io_error)
                set_malformed(c, "unparseable pkcs7-mime signedData");
            /* else certs-only, or a signature blob without content */
            sjm_spool_free(sp);
            return;
        }
    } else {
        gboolean too_big;
        GByteArray *der = decode_body(n, cte, G_MAXUINT32, &too_big);
        CMS_ContentInfo *cms = cms_parse(der);
        if (der != NULL)
            g_byte_array_free(der, TRUE);
        if (cms == NULL) {
            if (labelled && !n->s->io_error)
                set_malformed(c, "unparseable pkcs7-mime signedData");
            sjm_spool_free(sp);
            return;
        }
        ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
        if (cms_signer_count(cms) < 1 || pos == NULL || *pos == NULL) {
            CMS_ContentInfo_free(cms);
            sjm_spool_free(sp);
            return;
        }
        gboolean ok = sjm_spool_append(sp, ASN1_STRING_get0_data(*pos),
                                       (gsize)ASN1_STRING_length(*pos));
        CMS_ContentInfo_free(cms);
        if (!ok) {
            sjm_spool_free(sp);
            n->s->io_error = TRUE;
            return;
        }
    }
    if (!descend_ok(c, depth)) {
        sjm_spool_free(sp);
        return;
    }
    src *es = src_new(sp, TRUE);
    g_ptr_array_add(c->srcs, es);

    node *content = scan_entity(c, es, 0, es->size, depth + 1, FALSE, frozen, "text/plain");
    if (content == NULL)
        return;
    if (c->strip && !frozen) {
        n->strip = TRUE;
        n->changed = TRUE;
        c->opaque++;
    } else {
        c->kept = TRUE;
    }
    n->kind = N_OPAQUE;
    node_add_kid(n, content);
}

static void scan_multipart(ctx *c, node *n, const ctinfo *ct, guint depth, gboolean frozen)
{
    if (ct->boundary == NULL)
        return;     /* not a usable multipart; clients show it as text */
    if (!descend_ok(c, depth))
        return;
    gboolean closed;
    GArray *parts = split_parts(n, ct->boundary, &closed);
    const char *dflt = strcmp(ct->type, "multipart/digest") == 0 ? "message/rfc822" : "text/plain";
    /* The content of another kind of signature (PGP/MIME) must stay as
     * it is, or that signature breaks: look, but change nothing. */
    gboolean freeze = frozen || strcmp(ct->type, "multipart/signed") == 0;
    for (guint i = 0; i < parts->len && !c->malformed && !n->s->io_error; i++) {
        span sp = g_array_index(parts, span, i);
        if (++c->parts > PARTS_MAX) {
            set_malformed(c, "too many MIME parts");
            break;
        }
        node *kid = scan_entity(c, n->s, sp.start, sp.end, depth + 1, FALSE, freeze, dflt);
        if (kid != NULL && kid->changed) {
            node_add_kid(n, kid);
            n->changed = TRUE;
        } else {
            node_free(kid);
        }
    }
    g_array_free(parts, TRUE);
    n->kind = N_MULTIPART;
}

static void scan_message(ctx *c, node *n, const char *cte, guint depth, gboolean frozen)
{
    if (!c->cfg->strip_attached_messages)
        return;
    GMimeContentEncoding enc = encoding_of(cte);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
        return;     /* not allowed for message/rfc822; leave it as it is */
    if (!descend_ok(c, depth))
        return;
    node *inner = scan_entity(c, n->s, n->body_start, n->end, depth + 1, TRUE, frozen, "text/plain");
    n->kind = N_MESSAGE;
    if (inner != NULL && inner->changed) {
        node_add_kid(n, inner);
        n->changed = TRUE;
    } else {
        node_free(inner);
    }
}

static void scan_body(ctx *c, node *n, const char *ctype, const char *dflt,
                      const char *cte, const char *disposition, guint depth, gboolean frozen)
{
    ctinfo ct;
    if (ctype != NULL && strlen(ctype) > HDR_BLOCK_MAX) {
        set_malformed(c, "oversized Content-Type");
        return;
    }
    ctinfo_parse(ctype, dflt, &ct);
    n->kind = N_LEAF;

    if (strcmp(ct.type, "multipart/signed") == 0 && is_smime_sig_type(ct.protocol))
        scan_signed(c, n, &ct, depth, frozen);
    else if (g_str_has_prefix(ct.type, "multipart/"))
        scan_multipart(c, n, &ct, depth, frozen);
    else if (looks_pkcs7_mime(&ct, disposition))
        scan_pkcs7(c, n, &ct, cte, depth, frozen);
    else if (strcmp(ct.type, "message/rfc822") == 0)
        scan_message(c, n, cte, depth, frozen);
    ctinfo_clear(&ct);
}

static node *scan_entity(ctx *c, src *s, guint64 start, guint64 end, guint depth,
                         gboolean is_message, gboolean frozen, const char *dflt_type)
{
    if (c->malformed || s->io_error)
        return NULL;
    node *n = g_new0(node, 1);
    n->s = s;
    n->start = start;
    n->end = end;
    n->is_message = is_message;
    if (!read_header_block(c, n)) {
        node_free(n);
        return NULL;
    }
    scan_body(c, n, fields_get(n->fields, "Content-Type"), dflt_type,
              fields_get(n->fields, "Content-Transfer-Encoding"),
              fields_get(n->fields, "Content-Disposition"), depth, frozen);
    if (c->malformed || s->io_error) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* -------------------------------------------------------------- write */

typedef struct writer {
    sjm_spool *out;
    gboolean failed;
} writer;

static void put_range(writer *w, src *s, guint64 off, guint64 end)
{
    while (!w->failed && off < end) {
        gsize got;
        const guchar *b = src_peek(s, off, WINDOW_SIZE, &got);
        if (b == NULL) {
            w->failed = TRUE;
            return;
        }
        gsize n = (gsize)MIN((guint64)got, end - off);
        if (!sjm_spool_append(w->out, b, n))
            w->failed = TRUE;
        off += n;
    }
}

static void put_entity(writer *w, node *n);

/* What a stripped signed entity finally stands for. */
static node *resolve(node *n)
{
    while (n->strip && n->kids != NULL && n->kids->len == 1)
        n = g_ptr_array_index(n->kids, 0);
    return n;
}

static void put_body(writer *w, node *n)
{
    if (!n->changed) {
        put_range(w, n->s, n->body_start, n->end);
        return;
    }
    if (n->kind == N_MESSAGE) {
        put_entity(w, g_ptr_array_index(n->kids, 0));
        return;
    }
    /* A multipart: copy around the changed children. */
    guint64 cur = n->body_start;
    for (guint i = 0; i < n->kids->len; i++) {
        node *k = g_ptr_array_index(n->kids, i);
        put_range(w, n->s, cur, k->start);
        put_entity(w, k);
        cur = k->end;
    }
    put_range(w, n->s, cur, n->end);
}

static void put_entity(writer *w, node *n)
{
    if (!n->changed) {
        put_range(w, n->s, n->start, n->end);
        return;
    }
    if (!n->strip) {
        put_range(w, n->s, n->start, n->body_start);
        put_body(w, n);
        return;
    }
    node *x = resolve(n);
    if (!n->is_message) {
        /* A body part: the signed content, headers and all, takes its place. */
        put_entity(w, x);
        return;
    }
    /* An attached message: its own headers stay, its Content-* come from x. */
    for (guint i = 0; i < n->fields->len; i++) {
        field *f = g_ptr_array_index(n->fields, i);
        if (!is_content_header(f->name))
            put_range(w, n->s, f->raw_off, f->raw_off + f->raw_len);
    }
    for (guint i = 0; x->fields != NULL && i < x->fields->len; i++) {
        field *f = g_ptr_array_index(x->fields, i);
        if (is_content_header(f->name))
            put_range(w, x->s, f->raw_off, f->raw_off + f->raw_len);
    }
    if (n->sep_len > 0)
        put_range(w, n->s, n->sep_off, n->sep_off + n->sep_len);
    else if (!sjm_spool_append(w->out, "\r\n", 2))
        w->failed = TRUE;
    put_body(w, x);
}

/* Header edits making the message's Content-* fields those of X. */
static void top_header_edits(const sjm_txn *txn, node *x, sjm_verdict *v)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; txn->headers != NULL && i < txn->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (is_content_header(h->name))
            g_ptr_array_add(names, g_ascii_strdown(h->name, -1));
    }
    for (guint i = 0; x->fields != NULL && i < x->fields->len; i++) {
        field *f = g_ptr_array_index(x->fields, i);
        if (is_content_header(f->name))
            g_ptr_array_add(names, g_ascii_strdown(f->name, -1));
    }

    GHashTable *done = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (g_hash_table_contains(done, name))
            continue;
        g_hash_table_add(done, (gpointer)name);

        GPtrArray *olds = g_ptr_array_new();     /* sjm_header* */
        GPtrArray *news = g_ptr_array_new();     /* field* */
        for (guint j = 0; txn->headers != NULL && j < txn->headers->len; j++) {
            sjm_header *h = g_ptr_array_index(txn->headers, j);
            if (g_ascii_strcasecmp(h->name, name) == 0)
                g_ptr_array_add(olds, h);
        }
        for (guint j = 0; x->fields != NULL && j < x->fields->len; j++) {
            field *f = g_ptr_array_index(x->fields, j);
            if (g_ascii_strcasecmp(f->name, name) == 0)
                g_ptr_array_add(news, f);
        }
        guint common = MIN(olds->len, news->len);
        for (guint j = 0; j < common; j++) {
            sjm_header *h = g_ptr_array_index(olds, j);
            field *f = g_ptr_array_index(news, j);
            if (strcmp(h->value != NULL ? h->value : "", f->value) != 0)
                sjm_verdict_add_header(v, SJM_HDR_CHANGE, (int)j + 1, h->name, f->value);
        }
        /* Highest occurrence first, so earlier indexes stay valid whether
         * or not the MTA renumbers after a delete. */
        for (guint j = olds->len; j > common; j--) {
            sjm_header *h = g_ptr_array_index(olds, j - 1);
            sjm_verdict_add_header(v, SJM_HDR_CHANGE, (int)j, h->name, NULL);
        }
        for (guint j = common; j < news->len; j++) {
            field *f = g_ptr_array_index(news, j);
            sjm_verdict_add_header(v, SJM_HDR_ADD, 0, f->name, f->value);
        }
        g_ptr_array_free(olds, TRUE);
        g_ptr_array_free(news, TRUE);
    }
    g_hash_table_destroy(done);
    g_ptr_array_free(names, TRUE);
}

/* ---------------------------------------------------------------- API */

static const char *top_content_type(const sjm_txn *txn)
{
    return sjm_txn_header(txn, "Content-Type");
}

gboolean sjm_smime_wants_body(const sjm_config *cfg, const sjm_txn *txn, gboolean strip)
{
    if (!strip)
        return FALSE;
    ctinfo ct;
    ctinfo_parse(top_content_type(txn), "text/plain", &ct);
    gboolean want = g_str_has_prefix(ct.type, "multipart/") ||
                    looks_pkcs7_mime(&ct, sjm_txn_header(txn, "Content-Disposition")) ||
                    (cfg->strip_attached_messages && strcmp(ct.type, "message/rfc822") == 0);
    ctinfo_clear(&ct);
    return want;
}

/* Without the body: what the top-level headers say. */
static const char *classify_headers(const sjm_txn *txn)
{
    ctinfo ct;
    ctinfo_parse(top_content_type(txn), "text/plain", &ct);
    const char *r = "none";
    if (strcmp(ct.type, "multipart/signed") == 0 && is_smime_sig_type(ct.protocol))
        r = "preserved";
    else if (is_pkcs7_mime_type(ct.type) && ct.smime_type != NULL) {
        if (strcmp(ct.smime_type, "signed-data") == 0)
            r = "preserved";
        else if (strcmp(ct.smime_type, "enveloped-data") == 0 ||
                 strcmp(ct.smime_type, "authenveloped-data") == 0)
            r = "encrypted";
    }
    ctinfo_clear(&ct);
    return r;
}

gboolean sjm_smime_process(const sjm_config *cfg, const sjm_txn *txn,
                           gboolean strip, sjm_verdict *v)
{
    if (txn->body == NULL) {
        /* The body was wanted but never came: it was too large to scan. */
        if (sjm_smime_wants_body(cfg, txn, strip))
            sjm_verdict_set_signature(v, "skipped");
        else
            sjm_verdict_set_signature(v, classify_headers(txn));
        return TRUE;
    }
    guint64 size = sjm_spool_size(txn->body);
    if (cfg->max_scan_size > 0 && size > cfg->max_scan_size) {
        sjm_verdict_set_signature(v, "skipped");
        return TRUE;
    }

    ctx c = {
        .cfg = cfg,
        .strip = strip,
        .max_depth = MIN(MAX(cfg->max_mime_depth, 1u), (guint)DEPTH_HARD_MAX),
        .srcs = g_ptr_array_new_with_free_func((GDestroyNotify)src_free),
    };
    src *body = src_new(txn->body, FALSE);
    node *top = g_new0(node, 1);
    top->s = body;
    top->start = top->body_start = 0;
    top->end = body->size;
    top->is_message = TRUE;
    top->kind = N_LEAF;
    scan_body(&c, top, top_content_type(txn), "text/plain",
              sjm_txn_header(txn, "Content-Transfer-Encoding"),
              sjm_txn_header(txn, "Content-Disposition"), 0, FALSE);

    gboolean ok = TRUE;
    gboolean io_error = body->io_error;
    for (guint i = 0; i < c.srcs->len; i++)
        io_error = io_error || ((src *)g_ptr_array_index(c.srcs, i))->io_error;

    if (io_error) {
        ok = FALSE;
    } else if (c.malformed) {
        sjm_verdict_set_signature(v, "malformed");
        /* One token, so the log line stays key=value parseable. */
        char *why = g_strdelimit(g_strdup(c.why), " ", '-');
        sjm_verdict_add_extra(v, "smime_error", why);
        g_free(why);
    } else if (top->changed) {
        writer w = { .out = sjm_spool_new(), .failed = FALSE };
        node *x = top->strip ? resolve(top) : top;
        put_body(&w, x);
        if (w.failed) {
            sjm_spool_free(w.out);
            ok = FALSE;
        } else {
            if (top->strip)
                top_header_edits(txn, x, v);
            if (v->new_body != NULL)
                sjm_spool_free(v->new_body);
            v->new_body = w.out;
            sjm_verdict_set_signature(v, c.detached && c.opaque ? "stripped(detached,opaque)"
                                         : c.detached ? "stripped(detached)"
                                                      : "stripped(opaque)");
        }
    } else if (c.kept || c.detached || c.opaque) {
        sjm_verdict_set_signature(v, "preserved");
    } else {
        sjm_verdict_set_signature(v, c.encrypted ? "encrypted" : "none");
    }

    node_free(top);
    src_free(body);
    g_ptr_array_free(c.srcs, TRUE);
    return ok;
}

void sjm_smime_init(void)
{
    g_mime_init();
}

void sjm_smime_shutdown(void)
{
    g_mime_shutdown();
}
