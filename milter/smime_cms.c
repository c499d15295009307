/*
 * smime_cms.c - what a CMS blob is: OpenSSL peeks at its content type,
 * counts the signers of a detached signature and takes the encapsulated
 * content out of a signedData; past a size threshold a BER walker of our
 * own takes it out instead, streaming.
 *
 * Interface: smime_int.h (smime_cms_peek_type, smime_cms_der_signers,
 * smime_cms_take_content).  Error contract: a blob that is not what is
 * expected is reported by the return value (NID_undef, 0 signers,
 * CMS_UNPARSEABLE...), OpenSSL's error queue cleared; a read or spool
 * write failure sets the source's io_error.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include "smime_int.h"

/* The NID of a DER/BER ContentInfo's contentType, NID_undef if unreadable. */
int smime_cms_peek_type(const guchar *der, gsize len)
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

/* The SignerInfos of the signedData DER (NULL allowed), 0 if it is not one. */
int smime_cms_der_signers(const GByteArray *der)
{
    CMS_ContentInfo *cms = cms_parse(der);
    int signers = cms != NULL ? cms_signer_count(cms) : 0;
    if (cms != NULL)
        CMS_ContentInfo_free(cms);
    return signers;
}

/* ---------------------------------------------- streaming signedData */

/*
 * OpenSSL parses a CMS blob only whole, in memory, so a large opaque
 * signature would cost memory in proportion to the message.  Past the
 * caller's stream threshold (bytes of the encoded body) the encapsulated content is therefore
 * taken out by a small BER walker instead, which reads the transfer-decoded
 * body through a window and writes the eContent octets straight to a
 * spool.  It only walks the SignedData skeleton (RFC 5652 5.1): anything
 * it does not expect makes the blob unparseable, as OpenSSL would.
 */

/* One identifier and length; *len = -1 for the indefinite form. */
typedef struct ber {
    guchar tag;             /* first identifier octet */
    gint64 len;
    guint64 start;          /* decoded offset of the contents */
} ber;

static gboolean ber_head(dec *d, ber *h)
{
    guchar b;
    if (!smime_dec_read(d, &h->tag, 1, NULL))
        return FALSE;
    if ((h->tag & 0x1f) == 0x1f) {
        /* High tag numbers do not occur in the skeleton; skip their octets
         * so that such an element can still be stepped over. */
        do {
            if (!smime_dec_read(d, &b, 1, NULL))
                return FALSE;
        } while (b & 0x80);
    }
    if (!smime_dec_read(d, &b, 1, NULL))
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
            if (!smime_dec_read(d, &b, 1, NULL))
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
        return smime_dec_read(d, NULL, (guint64)h->len, NULL);
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
        return h->len >= 0 && smime_dec_read(d, NULL, (guint64)h->len, sink);
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
    dec d;
    smime_dec_init(&d, n, cte);
    *has_content = FALSE;
    int signers = -1;

    ber ci, oid, expl, sd, h, k, eci;
    guchar oidbuf[sizeof OID_SIGNED_DATA];
    gboolean more;
    if (!ber_head(&d, &ci) || ci.tag != 0x30 ||
        !ber_head(&d, &oid) || oid.tag != 0x06 || oid.len != (gint64)sizeof oidbuf ||
        !smime_dec_read(&d, oidbuf, sizeof oidbuf, NULL) || memcmp(oidbuf, OID_SIGNED_DATA, sizeof oidbuf) != 0 ||
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
    smime_dec_done(&d);
    return signers;
}

/* The eContent of a small blob, by OpenSSL's parser. */
static cms_take take_in_memory(node *n, const char *cte, sjm_spool *sink)
{
    gboolean too_big;
    GByteArray *der = smime_decode_body(n, cte, G_MAXUINT32, &too_big);
    CMS_ContentInfo *cms = cms_parse(der);
    if (der != NULL)
        g_byte_array_free(der, TRUE);
    if (cms == NULL)
        return n->s->io_error ? CMS_IO_ERROR : CMS_UNPARSEABLE;
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    if (cms_signer_count(cms) < 1 || pos == NULL || *pos == NULL) {
        CMS_ContentInfo_free(cms);
        return CMS_NO_CONTENT;
    }
    gboolean ok = sjm_spool_append(sink, ASN1_STRING_get0_data(*pos),
                                   (gsize)ASN1_STRING_length(*pos));
    CMS_ContentInfo_free(cms);
    if (!ok) {
        n->s->io_error = TRUE;
        return CMS_IO_ERROR;
    }
    return CMS_CONTENT;
}

/*
 * The encapsulated content of the signedData that is N's body (in
 * transfer encoding CTE) into SINK: streamed by the walker when the body
 * is larger than STREAM_THRESHOLD, else through OpenSSL.
 */
cms_take smime_cms_take_content(node *n, const char *cte, gsize stream_threshold, sjm_spool *sink)
{
    guint64 enc_len = n->end - n->body_start;
    if (enc_len <= stream_threshold)
        return take_in_memory(n, cte, sink);
    gboolean has_content;
    int signers = stream_signed_data(n, cte, sink, &has_content);
    if (n->s->io_error)
        return CMS_IO_ERROR;
    if (signers < 0)
        return CMS_UNPARSEABLE;
    return signers < 1 || !has_content ? CMS_NO_CONTENT : CMS_CONTENT;
}
