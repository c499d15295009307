/*
 * test_smime.c - S/MIME detection and stripping (SPEC section 4) on the
 * Thunderbird corpus and on messages made here with OpenSSL: the result
 * of every strip is compared with what OpenSSL itself extracts as the
 * signed content, preserved and encrypted bytes are compared byte for
 * byte, and broken input must come back untouched as "malformed".
 */
#define _GNU_SOURCE     /* memmem */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "config.h"
#include "txn.h"
#include "spool.h"
#include "smime.h"
#include "mta_file.h"
#include "testlib.h"

static sjm_config *cfg;
/* Scan knobs for run_bytes(); tests set stream_threshold 0 to walk every blob. */
static sjm_smime_opts opts = { .stream_threshold = SJM_SMIME_STREAM_THRESHOLD };

static void setup(void)
{
    cfg = sjm_config_new_default();
}

static void teardown(void)
{
    sjm_config_unref(cfg);
    cfg = NULL;
}

/* ------------------------------------------------------------ helpers */

/* What the MTA would hand over: header fields and body, split; the body
 * only when the core asked for it. */
static sjm_txn *txn_from_bytes(const char *msg, gsize len, gboolean with_body)
{
    sjm_txn *t = sjm_test_txn_from_text(msg, (gssize)len, "<alice@example.com>", "<bob@example.com>", NULL);
    if (!with_body) {
        sjm_spool_free(t->body);
        t->body = NULL;
    }
    return t;
}

static GByteArray *spool_bytes(sjm_spool *s)
{
    GByteArray *a = g_byte_array_new();
    guint64 off = 0;
    char buf[65536];
    gssize n;
    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0)
        g_byte_array_append(a, (guint8 *)buf, (guint)n);
    return a;
}

typedef struct result {
    gboolean ok;
    gboolean wants_body;
    char *signature;
    GPtrArray *headers;     /* sjm_header* after the verdict's edits */
    GByteArray *body;       /* replacement, or NULL when unchanged */
    guint nedits;
    gboolean body_on_disk;
} result;

static void result_clear(result *r)
{
    g_free(r->signature);
    if (r->headers != NULL)
        g_ptr_array_free(r->headers, TRUE);
    if (r->body != NULL)
        g_byte_array_free(r->body, TRUE);
    memset(r, 0, sizeof *r);
}

static void hdr_free(gpointer p)
{
    sjm_header *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static int nth_header(GPtrArray *hs, const char *name, int index)
{
    int seen = 0;
    for (guint i = 0; i < hs->len; i++) {
        sjm_header *h = g_ptr_array_index(hs, i);
        if (g_ascii_strcasecmp(h->name, name) == 0 && ++seen == index)
            return (int)i;
    }
    return -1;
}

/* The header fields after the verdict's edits, through the same
 * in-memory MTA and the same apply code --inspect and the session use. */
static GPtrArray *apply_edits(const sjm_txn *t, const sjm_plan *v)
{
    GPtrArray *hs = g_ptr_array_new_with_free_func(hdr_free);
    sjm_mta_file *m = sjm_mta_file_new();
    for (guint i = 0; i < t->headers->len; i++) {
        sjm_header *o = g_ptr_array_index(t->headers, i);
        sjm_mta_file_add_original_header(m, o->name, o->value, NULL);
    }
    ck_assert(sjm_session_apply_content(v, &sjm_mta_file_ops, m));
    for (guint i = 0; i < m->headers->len; i++) {
        sjm_mta_file_header *o = g_ptr_array_index(m->headers, i);
        sjm_header *h = g_new(sjm_header, 1);
        h->name = g_strdup(o->name);
        h->value = g_strdup(o->value);
        g_ptr_array_add(hs, h);
    }
    sjm_mta_file_free(m);
    return hs;
}

/* Run the module as the core does on MSG with STRIP; fills R. */
static void run_bytes(const char *msg, gsize len, gboolean strip, result *r)
{
    memset(r, 0, sizeof *r);
    sjm_txn *t = txn_from_bytes(msg, len, TRUE);
    r->wants_body = sjm_smime_wants_body(cfg, t, strip);
    sjm_plan *v = sjm_plan_new();
    r->ok = sjm_smime_process_opts(cfg, t, strip, &opts, v);
    r->signature = g_strdup(sjm_test_signature(v));
    r->nedits = v->header_edits->len;
    r->headers = apply_edits(t, v);
    if (v->new_body != NULL) {
        r->body = spool_bytes(v->new_body);
        r->body_on_disk = sjm_spool_on_disk(v->new_body);
    }
    sjm_plan_free(v);
    sjm_txn_free(t);
}

static void run_str(const char *msg, gboolean strip, result *r)
{
    run_bytes(msg, strlen(msg), strip, r);
}

/* The message as delivered: edited header fields, then the body. */
static GByteArray *delivered(const result *r, const char *orig, gsize len)
{
    GByteArray *a = g_byte_array_new();
    for (guint i = 0; i < r->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(r->headers, i);
        char *line = g_strdup_printf("%s: %s\r\n", h->name, h->value);
        g_byte_array_append(a, (guint8 *)line, (guint)strlen(line));
        g_free(line);
    }
    g_byte_array_append(a, (guint8 *)"\r\n", 2);
    if (r->body != NULL) {
        g_byte_array_append(a, r->body->data, r->body->len);
    } else {
        const char *b = strstr(orig, "\r\n\r\n");
        gsize skip = b != NULL ? (gsize)(b - orig) + 4 : 0;
        if (b == NULL && (b = strstr(orig, "\n\n")) != NULL)
            skip = (gsize)(b - orig) + 2;
        g_byte_array_append(a, (guint8 *)orig + skip, (guint)(len - skip));
    }
    return a;
}

static const char *hdr(const result *r, const char *name)
{
    int at = nth_header(r->headers, name, 1);
    return at >= 0 ? ((sjm_header *)g_ptr_array_index(r->headers, at))->value : NULL;
}

static gboolean contains(const guint8 *hay, gsize hlen, const char *needle, gsize nlen)
{
    return nlen <= hlen && memmem(hay, hlen, needle, nlen) != NULL;
}

static gboolean contains_ci(const guint8 *hay, gsize hlen, const char *needle)
{
    char *h = g_ascii_strdown((const char *)hay, (gssize)hlen);
    gboolean hit = strstr(h, needle) != NULL;
    g_free(h);
    return hit;
}

/* The body of an entity (after its first empty line). */
static const guint8 *entity_body(const guint8 *e, gsize len, gsize *blen)
{
    for (gsize i = 0; i + 1 < len; i++) {
        if (e[i] == '\n' && e[i + 1] == '\n') {
            *blen = len - i - 2;
            return e + i + 2;
        }
        if (i + 3 < len && memcmp(e + i, "\r\n\r\n", 4) == 0) {
            *blen = len - i - 4;
            return e + i + 4;
        }
        if (i == 0 && (e[0] == '\n' || memcmp(e, "\r\n", 2) == 0)) {
            gsize s = e[0] == '\n' ? 1 : 2;
            *blen = len - s;
            return e + s;
        }
    }
    *blen = len;
    return e;
}

/* Does a GMime walk of MSG find a signed S/MIME structure (outside
 * encrypted layers, which cannot be opened)? */
static void find_sig(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    (void)parent;
    gboolean *found = data;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
        g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature"))
        *found = TRUE;
    if (g_mime_content_type_is_type(ct, "multipart", "signed")) {
        const char *p = g_mime_content_type_get_parameter(ct, "protocol");
        if (p != NULL && g_strrstr(p, "pkcs7") != NULL)
            *found = TRUE;
    }
    if (g_mime_content_type_is_type(ct, "application", "pkcs7-mime")) {
        const char *st = g_mime_content_type_get_parameter(ct, "smime-type");
        if (st != NULL && g_ascii_strcasecmp(st, "signed-data") == 0)
            *found = TRUE;
    }
    if (GMIME_IS_MESSAGE_PART(part)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        if (m != NULL) {
            GMimeObject *top = g_mime_message_get_mime_part(m);
            find_sig(NULL, top, data);
            if (GMIME_IS_MULTIPART(top))
                g_mime_multipart_foreach(GMIME_MULTIPART(top), find_sig, data);
        }
    }
}

static GMimeMessage *parse_message(const guint8 *msg, gsize len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    return m;
}

static gboolean has_signature(const guint8 *msg, gsize len)
{
    GMimeMessage *m = parse_message(msg, len);
    ck_assert_ptr_nonnull(m);
    gboolean found = FALSE;
    GMimeObject *top = g_mime_message_get_mime_part(m);
    ck_assert_ptr_nonnull(top);
    find_sig(NULL, top, &found);
    if (GMIME_IS_MULTIPART(top))
        g_mime_multipart_foreach(GMIME_MULTIPART(top), find_sig, &found);
    g_object_unref(m);
    return found;
}

/* ------------------------------------------------------- OpenSSL side */

typedef struct ident {
    EVP_PKEY *key;
    X509 *cert;
} ident;

static ident *make_ident(const char *cn, gboolean ec)
{
    ident *id = g_new0(ident, 1);
    id->key = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(id->key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, id->key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    ck_assert_int_gt(X509_sign(x, id->key, EVP_sha256()), 0);
    id->cert = x;
    return id;
}

static ident *rsa_id, *ec_id;

static void ids_setup(void)
{
    setup();
    if (rsa_id == NULL) {
        rsa_id = make_ident("Test RSA", FALSE);
        ec_id = make_ident("Test EC", TRUE);
    }
}

static char *bio_string(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    return g_strndup(p, (gsize)n);
}

#define HEAD "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: test\r\n"

/* A message whose body is ENTITY signed by ID (SMIME_write_CMS output). */
static char *sign_message(const char *entity, ident *id, int flags)
{
    BIO *in = BIO_new_mem_buf(entity, -1);
    CMS_ContentInfo *cms = CMS_sign(id->cert, id->key, NULL, in, flags | CMS_STREAM);
    ck_assert_ptr_nonnull(cms);
    BIO *out = BIO_new(BIO_s_mem());
    ck_assert_int_eq(SMIME_write_CMS(out, cms, in, flags | CMS_STREAM | CMS_CRLFEOL), 1);
    char *s = bio_string(out);
    char *msg = g_strconcat(HEAD, s, NULL);
    g_free(s);
    BIO_free(out);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    return msg;
}

/* The MIME entity (no top-level header) of a signed message, for nesting. */
static char *sign_entity(const char *entity, ident *id, int flags)
{
    char *msg = sign_message(entity, id, flags);
    char *e = g_strdup(msg + strlen(HEAD));
    g_free(msg);
    /* Keep only MIME headers: drop the MIME-Version line. */
    if (g_str_has_prefix(e, "MIME-Version: 1.0\r\n")) {
        char *t = g_strdup(e + strlen("MIME-Version: 1.0\r\n"));
        g_free(e);
        e = t;
    }
    return e;
}

static char *encrypt_entity(const char *entity, ident *rcpt)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    sk_X509_push(certs, rcpt->cert);
    BIO *in = BIO_new_mem_buf(entity, -1);
    CMS_ContentInfo *cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(), CMS_STREAM | CMS_BINARY);
    ck_assert_ptr_nonnull(cms);
    BIO *out = BIO_new(BIO_s_mem());
    ck_assert_int_eq(SMIME_write_CMS(out, cms, in, CMS_STREAM | CMS_BINARY | CMS_CRLFEOL), 1);
    char *s = bio_string(out);
    BIO_free(out);
    BIO_free(in);
    CMS_ContentInfo_free(cms);
    sk_X509_free(certs);
    if (g_str_has_prefix(s, "MIME-Version: 1.0\r\n")) {
        char *t = g_strdup(s + strlen("MIME-Version: 1.0\r\n"));
        g_free(s);
        s = t;
    }
    return s;
}

/* What OpenSSL sees as the signed content of MSG (detached or opaque). */
static GByteArray *openssl_content(const guint8 *msg, gsize len)
{
    BIO *in = BIO_new_mem_buf(msg, (int)len);
    BIO *bcont = NULL;
    CMS_ContentInfo *cms = SMIME_read_CMS(in, &bcont);
    GByteArray *a = NULL;
    if (cms != NULL) {
        a = g_byte_array_new();
        if (bcont != NULL) {
            char buf[4096];
            int n;
            while ((n = BIO_read(bcont, buf, sizeof buf)) > 0)
                g_byte_array_append(a, (guint8 *)buf, (guint)n);
        } else {
            ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
            if (pos != NULL && *pos != NULL)
                g_byte_array_append(a, ASN1_STRING_get0_data(*pos), (guint)ASN1_STRING_length(*pos));
        }
        CMS_ContentInfo_free(cms);
    }
    ERR_clear_error();
    BIO_free(bcont);
    BIO_free(in);
    return a;
}

/* Does MSG verify (no chain check; the content must match the signature)? */
static gboolean openssl_verifies(const guint8 *msg, gsize len)
{
    BIO *in = BIO_new_mem_buf(msg, (int)len);
    BIO *bcont = NULL;
    CMS_ContentInfo *cms = SMIME_read_CMS(in, &bcont);
    gboolean ok = cms != NULL && CMS_verify(cms, NULL, NULL, bcont, NULL, CMS_NO_SIGNER_CERT_VERIFY) == 1;
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(bcont);
    BIO_free(in);
    return ok;
}

/* Equal once carriage returns are dropped (OpenSSL writes CRLF). */
static gboolean eq_nocr(const guint8 *a, gsize alen, const guint8 *b, gsize blen)
{
    gsize i = 0, j = 0;
    for (;;) {
        while (i < alen && a[i] == '\r')
            i++;
        while (j < blen && b[j] == '\r')
            j++;
        if (i == alen || j == blen)
            return i == alen && j == blen;
        if (a[i++] != b[j++])
            return FALSE;
    }
}

static gboolean has_bare_lf(const guint8 *m, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if (m[i] == '\n')
            return i == 0 || m[i - 1] != '\r';
    return FALSE;
}

/*
 * The stripped top level must be exactly the signed content: its body
 * bytes the content's body, its Content-* fields the content's.
 */
static void assert_top_is_content(const result *r, const GByteArray *content, gboolean lf_source)
{
    ck_assert_ptr_nonnull(r->body);
    gsize blen;
    const guint8 *b = entity_body(content->data, content->len, &blen);
    if (lf_source) {
        /* OpenSSL hands back CRLF for a message stored with LF. */
        ck_assert(eq_nocr(r->body->data, r->body->len, b, blen));
    } else {
        ck_assert_uint_eq(r->body->len, blen);
        ck_assert(memcmp(r->body->data, b, blen) == 0);
    }

    /* Every Content-* field of the content is in the message now. */
    sjm_txn *ct = txn_from_bytes((const char *)content->data, content->len, FALSE);
    guint ncontent = 0;
    for (guint i = 0; i < ct->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(ct->headers, i);
        if (g_ascii_strncasecmp(h->name, "content-", 8) != 0)
            continue;
        ncontent++;
        const char *got = hdr(r, h->name);
        ck_assert_msg(got != NULL, "%s missing", h->name);
        char *want = g_strdup(h->value);
        char *w = want, *o = want;
        for (; *w; w++)
            if (*w != '\n' && *w != '\r')
                *o++ = *w;
        *o = '\0';
        ck_assert_str_eq(got, want);
        g_free(want);
    }
    /* ... and no other Content-* field is left. */
    guint nnow = 0;
    for (guint i = 0; i < r->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(r->headers, i);
        if (g_ascii_strncasecmp(h->name, "content-", 8) == 0)
            nnow++;
    }
    ck_assert_uint_eq(nnow, ncontent);
    sjm_txn_free(ct);
}

/* -------------------------------------------------------------- corpus */

/* signature= with a scanned body: preserve and strip (attached messages on). */
static const struct expect {
    const char *file;
    const char *preserve;
    const char *strip;
} corpus_expect[] = {
    { "alice.dsig.SHA1.multipart.bad.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA1.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA1.multipart.env.eml", "encrypted", "encrypted" },
    { "alice.dsig.SHA1.multipart.mismatch-econtent.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.bad.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.env.dsig.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.env.eml", "encrypted", "encrypted" },
    { "alice.dsig.SHA256.multipart.in.mixed.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.in.mixed.with.header.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA256.multipart.mismatch-econtent.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA384.multipart.bad.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA384.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA512.multipart.bad.eml", "preserved", "stripped(detached)" },
    { "alice.dsig.SHA512.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.env.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", "preserved", "stripped(detached,opaque)" },
    { "alice.env.dsig.SHA256.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.env.eml", "encrypted", "encrypted" },
    { "alice.env.mixed.dsig.SHA256.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.env.sig.SHA256.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.future.dsig.SHA256.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.html.sig.SHA256.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.html.sig.SHA256.opaque.env.eml", "encrypted", "encrypted" },
    { "alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml", "preserved", "stripped(detached)" },
    { "alice.plain.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", "preserved", "stripped(detached,opaque)" },
    { "alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart.eml", "preserved", "stripped(detached,opaque)" },
    { "alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.sig.SHA1.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.sig.SHA1.opaque.env.eml", "encrypted", "encrypted" },
    { "alice.sig.SHA256.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.sig.SHA256.opaque.env.eml", "encrypted", "encrypted" },
    { "alice.sig.SHA384.opaque.eml", "preserved", "stripped(opaque)" },
    { "alice.sig.SHA512.opaque.eml", "preserved", "stripped(opaque)" },
    { "dual-signed-uncommon-content-type.eml", "preserved", "stripped(detached)" },
    { "multipart-alternative.eml", "encrypted", "encrypted" },
    /* A list digest whose attached messages lost their signature part: only
 * looked into with strip_attached_messages. */
    { "multiple-signatures.eml", "none", "malformed" },
    { "nested-sigs.eml", "preserved", "stripped(detached)" },
    { "outer-pgp-sig-inner-smime-enc-sig.eml", "encrypted", "encrypted" },
    { "outer-pgp-sig-inner-smime-enc.eml", "encrypted", "encrypted" },
    { "outer-smime-bad-sig-inner-pgp-enc-sig-with-mixed.eml", "preserved", "stripped(detached)" },
    { "outer-smime-bad-sig-inner-pgp-enc-sig.eml", "preserved", "stripped(detached)" },
    { "outer-smime-bad-sig-inner-pgp-enc.eml", "preserved", "stripped(detached)" },
    { "outer-smime-bad-sig-inner-smime-enc-sig.eml", "preserved", "stripped(detached)" },
    { "outer-smime-bad-sig-inner-smime-enc.eml", "preserved", "stripped(detached)" },
};
#define N_CORPUS (sizeof corpus_expect / sizeof corpus_expect[0])

/* A missing corpus is a failure, never a quiet pass. */
static gboolean load_corpus(int i, char **data, gsize *len)
{
    *data = sjm_test_corpus_read(corpus_expect[i].file, len);
    ck_assert_msg(*data != NULL, "corpus file %s missing (set SJM_CORPUS to the corpus directory)",
                  corpus_expect[i].file);
    return TRUE;
}

/* The base64 lines of every enveloped-data part, as they appear. */
static GPtrArray *enveloped_blobs(const char *msg)
{
    GPtrArray *blobs = g_ptr_array_new_with_free_func(g_free);
    const char *p = msg;
    while ((p = strstr(p, "enveloped-data")) != NULL) {
        const char *b = strstr(p, "\r\n\r\n");
        if (b == NULL)
            break;
        b += 4;
        const char *e = strstr(b, "\r\n\r\n");
        const char *d = strstr(b, "\r\n--");
        if (d != NULL && (e == NULL || d < e))
            e = d;
        if (e == NULL)
            e = b + strlen(b);
        if (e - b > 200)
            g_ptr_array_add(blobs, g_strndup(b, (gsize)(e - b)));
        p = e;
    }
    return blobs;
}

START_TEST(test_corpus_preserve)
{
    char *data;
    gsize len;
    if (!load_corpus(_i, &data, &len))
        return;
    result r;

    /* As a live transaction runs it: the body is not even wanted. */
    sjm_txn *t = txn_from_bytes(data, len, FALSE);
    ck_assert(!sjm_smime_wants_body(cfg, t, FALSE));
    sjm_plan *v = sjm_plan_new();
    ck_assert(sjm_smime_process(cfg, t, FALSE, v));
    ck_assert_ptr_null(v->new_body);
    ck_assert_uint_eq(v->header_edits->len, 0);
    ck_assert_str_ne(sjm_test_signature(v), "stripped");
    sjm_plan_free(v);
    sjm_txn_free(t);

    /* With the body scanned anyway: nothing changes, and it is classified. */
    run_bytes(data, len, FALSE, &r);
    ck_assert(r.ok);
    ck_assert_msg(strcmp(r.signature, corpus_expect[_i].preserve) == 0, "%s: %s, expected %s",
                  corpus_expect[_i].file, r.signature, corpus_expect[_i].preserve);
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);
    g_free(data);
}
END_TEST

START_TEST(test_corpus_strip)
{
    char *data;
    gsize len;
    if (!load_corpus(_i, &data, &len))
        return;
    cfg->strip_attached_messages = TRUE;
    result r;
    run_bytes(data, len, TRUE, &r);
    const char *file = corpus_expect[_i].file;
    ck_assert(r.ok);
    ck_assert(r.wants_body);
    ck_assert_msg(strcmp(r.signature, corpus_expect[_i].strip) == 0, "%s: %s, expected %s",
                  file, r.signature, corpus_expect[_i].strip);

    GByteArray *out = delivered(&r, data, len);
    if (g_str_has_prefix(r.signature, "stripped")) {
        ck_assert_ptr_nonnull(r.body);
        /* No signature left anywhere GMime can see, and it still parses. */
        ck_assert_msg(!has_signature(out->data, out->len), "%s: signature left", file);
        /* The encrypted layers went through byte for byte. */
        GPtrArray *blobs = enveloped_blobs(data);
        for (guint i = 0; i < blobs->len; i++) {
            const char *b = g_ptr_array_index(blobs, i);
            ck_assert_msg(contains(out->data, out->len, b, strlen(b)), "%s: encrypted layer changed", file);
        }
        g_ptr_array_free(blobs, TRUE);
    } else {
        ck_assert_ptr_null(r.body);
        ck_assert_uint_eq(r.nedits, 0);
    }

    /* A top-level signature over unsigned content: the result is exactly
     * what OpenSSL extracts as the signed content. */
    GByteArray *content = openssl_content((const guint8 *)data, len);
    if (content != NULL && g_str_has_prefix(r.signature, "stripped") &&
        !contains_ci(content->data, content->len, "pkcs7-signature") &&
        !contains_ci(content->data, content->len, "signed-data"))
        assert_top_is_content(&r, content, has_bare_lf((const guint8 *)data, len));
    if (content != NULL)
        g_byte_array_free(content, TRUE);
    g_byte_array_free(out, TRUE);
    result_clear(&r);
    g_free(data);
}
END_TEST

/* The streaming walker (large opaque blobs) agrees with OpenSSL on every
 * corpus file, NSS's indefinite-length encodings included. */
START_TEST(test_corpus_streaming_walker)
{
    char *data;
    gsize len;
    if (!load_corpus(_i, &data, &len))
        return;
    cfg->strip_attached_messages = TRUE;
    result a, b;
    opts.stream_threshold = SJM_SMIME_STREAM_THRESHOLD;
    run_bytes(data, len, TRUE, &a);
    opts.stream_threshold = 0;
    run_bytes(data, len, TRUE, &b);
    opts.stream_threshold = SJM_SMIME_STREAM_THRESHOLD;
    ck_assert_str_eq(a.signature, b.signature);
    ck_assert_uint_eq(a.nedits, b.nedits);
    ck_assert((a.body == NULL) == (b.body == NULL));
    if (a.body != NULL) {
        ck_assert_uint_eq(a.body->len, b.body->len);
        ck_assert(memcmp(a.body->data, b.body->data, a.body->len) == 0);
    }
    result_clear(&a);
    result_clear(&b);
    g_free(data);
}
END_TEST

/* Attached messages keep their signatures unless asked. */
START_TEST(test_corpus_attached_off)
{
    char *dir = sjm_test_corpus_dir();
    char *path = g_build_filename(dir, "nested-sigs.eml", NULL);
    char *data;
    gsize len;
    ck_assert_msg(g_file_get_contents(path, &data, &len, NULL),
                  "corpus file %s missing (set SJM_CORPUS to the corpus directory)", path);
    result r;
    cfg->strip_attached_messages = FALSE;
    run_bytes(data, len, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    GByteArray *out = delivered(&r, data, len);
    /* The outer signature is gone, the attached message's is still there. */
    ck_assert(contains_ci(out->data, out->len, "application/pkcs7-signature"));
    ck_assert_str_eq(hdr(&r, "Content-Type"),
                     "multipart/mixed; \tboundary=\"----=_Part_159674792_1533625984.1641369266416\"");
    g_byte_array_free(out, TRUE);
    result_clear(&r);

    cfg->strip_attached_messages = TRUE;
    run_bytes(data, len, TRUE, &r);
    out = delivered(&r, data, len);
    ck_assert(!contains_ci(out->data, out->len, "application/pkcs7-signature"));
    /* The attached message keeps its own header and gets its content's type. */
    ck_assert(contains(out->data, out->len, "Subject: subject 2\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n", 87));
    g_byte_array_free(out, TRUE);
    result_clear(&r);
    g_free(data);
    g_free(path);
    g_free(dir);
}
END_TEST

/* ------------------------------------------------------ generated mail */

#define TEXT_ENTITY "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" \
                    "Hello Bob,\r\n\r\nthe figures are attached.\r\n"

static char *mixed_entity(gsize attachment_bytes)
{
    GString *s = g_string_new("Content-Type: multipart/mixed; boundary=\"=_mixed_1\"\r\n\r\n"
                              "--=_mixed_1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                              "See the attachment.\r\n--=_mixed_1\r\n"
                              "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
                              "Content-Transfer-Encoding: base64\r\n"
                              "Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n");
    guint32 x = 12345;
    gsize written = 0;
    while (written < attachment_bytes) {
        guchar raw[57];
        for (int i = 0; i < 57; i++) {
            x = x * 1103515245u + 12345u;
            raw[i] = (guchar)(x >> 16);
        }
        char *b = g_base64_encode(raw, sizeof raw);
        g_string_append(s, b);
        g_string_append(s, "\r\n");
        written += strlen(b) + 2;
        g_free(b);
    }
    g_string_append(s, "--=_mixed_1--\r\n");
    return g_string_free(s, FALSE);
}

static void check_generated_strip(const char *msg, const char *expect_sig)
{
    result r;
    run_str(msg, TRUE, &r);
    ck_assert(r.ok);
    ck_assert_str_eq(r.signature, expect_sig);
    GByteArray *content = openssl_content((const guint8 *)msg, strlen(msg));
    ck_assert_ptr_nonnull(content);
    assert_top_is_content(&r, content, FALSE);
    GByteArray *out = delivered(&r, msg, strlen(msg));
    ck_assert(!has_signature(out->data, out->len));
    g_byte_array_free(out, TRUE);
    g_byte_array_free(content, TRUE);
    result_clear(&r);

    /* Preserve: no change, and the signature still verifies. */
    ck_assert(openssl_verifies((const guint8 *)msg, strlen(msg)));
    run_str(msg, FALSE, &r);
    ck_assert_str_eq(r.signature, "preserved");
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);
}

START_TEST(test_gen_detached_rsa)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    check_generated_strip(msg, "stripped(detached)");
    g_free(msg);
}
END_TEST

START_TEST(test_gen_opaque_rsa)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, 0);
    ck_assert(strstr(msg, "application/pkcs7-mime") != NULL ||
              strstr(msg, "application/x-pkcs7-mime") != NULL);
    check_generated_strip(msg, "stripped(opaque)");
    g_free(msg);
}
END_TEST

START_TEST(test_gen_detached_binary)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED | CMS_BINARY);
    check_generated_strip(msg, "stripped(detached)");
    g_free(msg);
}
END_TEST

START_TEST(test_gen_noattr_nocerts)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED | CMS_NOATTR | CMS_NOCERTS);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    result_clear(&r);
    g_free(msg);
    msg = sign_message(TEXT_ENTITY, rsa_id, CMS_NOATTR | CMS_NOCERTS);
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(opaque)");
    result_clear(&r);
    g_free(msg);
}
END_TEST

START_TEST(test_gen_ecdsa)
{
    char *msg = sign_message(TEXT_ENTITY, ec_id, CMS_DETACHED);
    check_generated_strip(msg, "stripped(detached)");
    g_free(msg);
    msg = sign_message(TEXT_ENTITY, ec_id, 0);
    check_generated_strip(msg, "stripped(opaque)");
    g_free(msg);
}
END_TEST

START_TEST(test_gen_multipart_content)
{
    char *ent = mixed_entity(4000);
    char *msg = sign_message(ent, rsa_id, CMS_DETACHED);
    check_generated_strip(msg, "stripped(detached)");
    g_free(msg);
    msg = sign_message(ent, rsa_id, 0);
    check_generated_strip(msg, "stripped(opaque)");
    g_free(msg);
    g_free(ent);
}
END_TEST

/* Bodies past the spool's memory limit: output spooled to disk, exact. */
START_TEST(test_gen_large_detached)
{
    char *ent = mixed_entity(3 * 1024 * 1024);
    char *msg = sign_message(ent, rsa_id, CMS_DETACHED);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    ck_assert(r.body_on_disk);
    GByteArray *content = openssl_content((const guint8 *)msg, strlen(msg));
    assert_top_is_content(&r, content, FALSE);
    g_byte_array_free(content, TRUE);
    result_clear(&r);
    g_free(msg);
    g_free(ent);
}
END_TEST

START_TEST(test_gen_large_opaque)
{
    /* Past the threshold: the streaming walker takes the content out. */
    char *ent = mixed_entity(2 * 1024 * 1024);
    char *msg = sign_message(ent, rsa_id, 0);
    check_generated_strip(msg, "stripped(opaque)");
    g_free(msg);
    g_free(ent);
}
END_TEST

/* The walker on small blobs too: every generated kind, and broken ones. */
START_TEST(test_walker_variants)
{
    opts.stream_threshold = 0;
    char *msg = sign_message(TEXT_ENTITY, rsa_id, 0);
    check_generated_strip(msg, "stripped(opaque)");
    g_free(msg);
    msg = sign_message(TEXT_ENTITY, ec_id, CMS_NOATTR | CMS_NOCERTS);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(opaque)");
    result_clear(&r);
    g_free(msg);
    msg = sign_message(TEXT_ENTITY, rsa_id, CMS_BINARY);
    check_generated_strip(msg, "stripped(opaque)");
    /* Truncated at every 97th byte of the blob: never stripped, never a crash. */
    const char *b = strstr(msg, "\r\n\r\n") + 4;
    gsize full = strlen(msg);
    for (gsize cut = (gsize)(b - msg) + 1; cut < full - 40; cut += 97) {
        run_bytes(msg, cut, TRUE, &r);
        ck_assert(r.ok);
        ck_assert_msg(strcmp(r.signature, "malformed") == 0, "cut %zu: %s", cut, r.signature);
        ck_assert_ptr_null(r.body);
        result_clear(&r);
    }
    g_free(msg);
    opts.stream_threshold = SJM_SMIME_STREAM_THRESHOLD;
}
END_TEST

/* Mailing-list style: the signed entity is a part of a multipart/mixed. */
static char *wrap_in_mixed(const char *entity)
{
    return g_strconcat(HEAD, "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"LIST\"\r\n\r\n"
                       "preamble\r\n--LIST\r\nContent-Type: text/plain\r\n\r\nList header\r\n"
                       "--LIST\r\n", entity, "\r\n--LIST\r\nContent-Type: text/plain\r\n\r\n"
                       "List footer\r\n--LIST--\r\nepilogue\r\n", NULL);
}

static void check_nested(const char *signed_entity, const char *expect_sig)
{
    char *msg = wrap_in_mixed(signed_entity);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, expect_sig);
    ck_assert_uint_eq(r.nedits, 0);     /* the top level is not touched */
    /* Expected: the same message with the signed entity replaced by its content. */
    char *as_msg = g_strconcat(HEAD, "MIME-Version: 1.0\r\n", signed_entity, NULL);
    GByteArray *content = openssl_content((const guint8 *)as_msg, strlen(as_msg));
    ck_assert_ptr_nonnull(content);
    char *inner = g_strndup((const char *)content->data, content->len);
    char *want = wrap_in_mixed(inner);
    gsize blen;
    const guint8 *wb = entity_body((const guint8 *)want, strlen(want), &blen);
    ck_assert_uint_eq(r.body->len, blen);
    ck_assert(memcmp(r.body->data, wb, blen) == 0);
    g_free(want);
    g_free(inner);
    g_free(as_msg);
    g_byte_array_free(content, TRUE);
    result_clear(&r);
    g_free(msg);
}

START_TEST(test_gen_nested_in_mixed)
{
    char *e = sign_entity(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    check_nested(e, "stripped(detached)");
    g_free(e);
    e = sign_entity(TEXT_ENTITY, rsa_id, 0);
    check_nested(e, "stripped(opaque)");
    g_free(e);
}
END_TEST

/* Signed, then encrypted: nothing visible to strip; encrypted stays. */
START_TEST(test_gen_signed_then_encrypted)
{
    char *s = sign_entity(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    char *enc = encrypt_entity(s, rsa_id);
    char *msg = g_strconcat(HEAD, "MIME-Version: 1.0\r\n", enc, NULL);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "encrypted");
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);
    g_free(msg);
    g_free(enc);
    g_free(s);
}
END_TEST

/* Encrypted, then signed (outer signature over an encrypted part):
 * the signature goes, the encrypted layer is kept byte for byte. */
START_TEST(test_gen_encrypted_then_signed)
{
    char *enc = encrypt_entity(TEXT_ENTITY, rsa_id);
    char *msg = sign_message(enc, rsa_id, CMS_DETACHED | CMS_BINARY);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    /* Exactly the encrypted entity's body as it stood in the message
     * (signed in binary mode, so as encrypt_entity wrote it); OpenSSL's
     * view of the signed part agrees but for line ends. */
    gsize eb_len;
    const guint8 *eb = entity_body((const guint8 *)enc, strlen(enc), &eb_len);
    ck_assert_uint_eq(r.body->len, eb_len);
    ck_assert(memcmp(r.body->data, eb, eb_len) == 0);
    GByteArray *c = openssl_content((const guint8 *)msg, strlen(msg));
    eb = entity_body(c->data, c->len, &eb_len);
    ck_assert(eq_nocr(r.body->data, r.body->len, eb, eb_len));
    ck_assert(g_str_has_prefix(hdr(&r, "Content-Type"), "application/pkcs7-mime"));
    g_byte_array_free(c, TRUE);
    result_clear(&r);
    g_free(msg);

    /* Triple wrap: signed(encrypted(signed)). */
    char *in = sign_entity(TEXT_ENTITY, ec_id, CMS_DETACHED);
    char *enc2 = encrypt_entity(in, rsa_id);
    msg = sign_message(enc2, rsa_id, 0);
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(opaque)");
    c = openssl_content((const guint8 *)msg, strlen(msg));
    eb = entity_body(c->data, c->len, &eb_len);

    ck_assert_uint_eq(r.body->len, eb_len);
    ck_assert(memcmp(r.body->data, eb, eb_len) == 0);
    eb = entity_body((const guint8 *)enc2, strlen(enc2), &eb_len);
    ck_assert(eq_nocr(r.body->data, r.body->len, eb, eb_len));
    g_byte_array_free(c, TRUE);
    result_clear(&r);
    g_free(msg);
    g_free(enc2);
    g_free(in);
    g_free(enc);
}
END_TEST

/* LF line ends (a file given to --inspect): same structure, same result. */
START_TEST(test_gen_lf_only)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    char **parts = g_strsplit(msg, "\r\n", -1);
    char *lf = g_strjoinv("\n", parts);
    g_strfreev(parts);
    result r;
    run_str(lf, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    ck_assert_str_eq((const char *)g_byte_array_append(r.body, (guint8 *)"", 1)->data,
                     "Hello Bob,\n\nthe figures are attached.\n");
    ck_assert_str_eq(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
    ck_assert_str_eq(hdr(&r, "Content-Transfer-Encoding"), "7bit");
    result_clear(&r);
    g_free(lf);
    g_free(msg);
}
END_TEST

/* Labels in any case and quoting, the legacy x- types, *.p7m octet-streams. */
static char *replace(const char *s, const char *from, const char *to)
{
    char **v = g_strsplit(s, from, -1);
    char *r = g_strjoinv(to, v);
    g_strfreev(v);
    return r;
}

START_TEST(test_gen_label_variants)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    const char *proto = strstr(msg, "protocol=\"application/") != NULL ? NULL : "x";
    (void)proto;
    result r;

    char *v1 = replace(msg, "protocol=\"application/x-pkcs7-signature\"", "PROTOCOL=Application/PKCS7-Signature");
    char *v1b = replace(v1, "protocol=\"application/pkcs7-signature\"", "PROTOCOL=Application/PKCS7-Signature");
    run_str(v1b, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    result_clear(&r);

    char *v2 = replace(msg, "application/pkcs7-signature", "application/x-pkcs7-signature");
    run_str(v2, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    result_clear(&r);

    char *opq = sign_message(TEXT_ENTITY, rsa_id, 0);
    char *v3 = replace(opq, "application/x-pkcs7-mime", "application/octet-stream");
    char *v3b = replace(v3, "application/pkcs7-mime", "application/octet-stream");
    run_str(v3b, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(opaque)");
    result_clear(&r);

    /* Labels do not decide: smime-type saying enveloped over signed data. */
    char *v4 = replace(opq, "smime-type=signed-data", "smime-type=enveloped-data");
    run_str(v4, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(opaque)");
    result_clear(&r);

    /* An octet-stream not named .p7m is just an attachment. */
    char *v5 = replace(v3b, "smime.p7m", "smime.bin");
    run_str(v5, TRUE, &r);
    ck_assert_str_eq(r.signature, "none");
    ck_assert_ptr_null(r.body);
    result_clear(&r);

    g_free(v1);
    g_free(v1b);
    g_free(v2);
    g_free(v3);
    g_free(v3b);
    g_free(v4);
    g_free(v5);
    g_free(opq);
    g_free(msg);
}
END_TEST

/* certs-only (signedData, no signer): not a signature, left alone. */
START_TEST(test_gen_certs_only)
{
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL);
    ck_assert_ptr_nonnull(cms);
    CMS_add1_cert(cms, rsa_id->cert);
    BIO *out = BIO_new(BIO_s_mem());
    i2d_CMS_bio(out, cms);
    char *der;
    long n = BIO_get_mem_data(out, &der);
    char *b64 = g_base64_encode((guchar *)der, (gsize)n);
    char *msg = g_strconcat(HEAD, "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
                            "smime-type=certs-only; name=smime.p7c\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n", b64, "\r\n", NULL);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "none");
    ck_assert_ptr_null(r.body);
    result_clear(&r);
    opts.stream_threshold = 0;
    run_str(msg, TRUE, &r);
    opts.stream_threshold = SJM_SMIME_STREAM_THRESHOLD;
    ck_assert_str_eq(r.signature, "none");
    ck_assert_ptr_null(r.body);
    result_clear(&r);
    g_free(msg);
    g_free(b64);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
}
END_TEST

START_TEST(test_pgp_untouched)
{
    const char *msg = HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"P\"\r\n\r\n"
        "--P\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        "--P\r\nContent-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\nxx\r\n-----END PGP SIGNATURE-----\r\n"
        "--P--\r\n";
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "none");
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);
}
END_TEST

/* An S/MIME signature inside PGP-signed content must survive: removing
 * it would break the PGP signature. */
START_TEST(test_smime_inside_pgp_kept)
{
    char *e = sign_entity(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    char *msg = g_strconcat(HEAD, "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"P\"\r\n\r\n"
        "--P\r\n", e, "\r\n--P\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--P--\r\n", NULL);
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "preserved");
    ck_assert_ptr_null(r.body);
    result_clear(&r);
    g_free(msg);
    g_free(e);
}
END_TEST

/* ------------------------------------------------------------ malformed */

static void check_malformed(const char *msg, gsize len)
{
    result r;
    run_bytes(msg, len, TRUE, &r);
    ck_assert(r.ok);
    ck_assert_msg(strcmp(r.signature, "malformed") == 0, "got %s", r.signature);
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);
}

static void check_malformed_str(const char *msg)
{
    check_malformed(msg, strlen(msg));
}

START_TEST(test_malformed_no_signature_part)
{
    check_malformed_str(HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n");
    /* A second part that is not a signature. */
    check_malformed_str(HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n");
}
END_TEST

START_TEST(test_malformed_garbage_signature)
{
    check_malformed_str(HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B\r\n"
        "Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "VGhpcyBpcyBub3QgYSBzaWduYXR1cmUgYXQgYWxsLg==\r\n--B--\r\n");
}
END_TEST

START_TEST(test_malformed_truncated_base64)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    /* Cut the signature part in half, then close the multipart again. */
    char *sig = strstr(msg, "name=\"smime.p7s\"");
    ck_assert_ptr_nonnull(sig);
    char *b64 = strstr(sig, "\r\n\r\n") + 4;
    gsize keep = (gsize)(b64 - msg) + 300;
    const char *bnd = strstr(msg, "boundary=\"") + 10;
    char *boundary = g_strndup(bnd, strcspn(bnd, "\""));
    char *cut = g_strdup_printf("%.*s\r\n--%s--\r\n", (int)keep, msg, boundary);
    check_malformed_str(cut);
    g_free(cut);
    g_free(boundary);

    /* Opaque: truncated blob. */
    char *opq = sign_message(TEXT_ENTITY, rsa_id, 0);
    char *b = strstr(opq, "\r\n\r\n") + 4;
    char *t = g_strndup(opq, (gsize)(b - opq) + 400);
    check_malformed_str(t);
    g_free(t);
    g_free(opq);
    g_free(msg);
}
END_TEST

START_TEST(test_malformed_boundaries)
{
    /* No boundary parameter. */
    check_malformed_str(HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n");
    /* A boundary that never occurs. */
    check_malformed_str(HEAD "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"ZZZ\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B--\r\n");
    /* A good signature, but the close delimiter is missing. */
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    char *end = g_strrstr(msg, "--\r\n");
    ck_assert_ptr_nonnull(end);
    char *t = g_strndup(msg, (gsize)(end - msg));
    char *nl = g_strrstr(t, "\r\n------");
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    check_malformed_str(t);
    g_free(t);
    g_free(msg);
}
END_TEST

START_TEST(test_malformed_nul_and_long_header)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    gsize len = strlen(msg);
    /* NUL inside the signed part's header. */
    char *copy = g_memdup2(msg, len + 1);   /* keep the NUL for strstr */
    char *ct = strstr(copy, "charset=utf-8");
    ct[3] = '\0';
    check_malformed(copy, len);
    g_free(copy);

    /* A 200 KB header line in the signed part. */
    GString *big = g_string_new("X-Long: ");
    for (int i = 0; i < 200 * 1024; i++)
        g_string_append_c(big, 'a' + i % 26);
    g_string_append(big, "\r\nContent-Type: text/plain");
    char *v = replace(msg, "Content-Type: text/plain", big->str);
    check_malformed_str(v);
    g_free(v);
    g_string_free(big, TRUE);
    g_free(msg);
}
END_TEST

static char *nest(const char *entity, int levels)
{
    GString *s = g_string_new(entity);
    for (int i = 0; i < levels; i++) {
        char *w = g_strdup_printf("Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n"
                                  "--n%d\r\n%s\r\n--n%d--\r\n", i, i, s->str, i);
        g_string_assign(s, w);
        g_free(w);
    }
    char *m = g_strconcat(HEAD, "MIME-Version: 1.0\r\n", s->str, NULL);
    g_string_free(s, TRUE);
    return m;
}

START_TEST(test_depth)
{
    char *e = sign_entity(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    result r;
    char *ok = nest(e, 10);
    run_str(ok, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    result_clear(&r);
    char *deep = nest(e, 200);
    check_malformed_str(deep);
    cfg->max_mime_depth = 5;
    check_malformed_str(ok);
    g_free(deep);
    g_free(ok);
    g_free(e);
}
END_TEST

START_TEST(test_max_scan_size)
{
    char *msg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    cfg->max_scan_size = 100;
    result r;
    run_str(msg, TRUE, &r);
    ck_assert_str_eq(r.signature, "skipped");
    ck_assert_ptr_null(r.body);
    ck_assert_uint_eq(r.nedits, 0);
    result_clear(&r);

    /* Body wanted but withheld (too large for the adapter to buffer). */
    sjm_txn *t = txn_from_bytes(msg, strlen(msg), FALSE);
    sjm_plan *v = sjm_plan_new();
    ck_assert(sjm_smime_process(cfg, t, TRUE, v));
    ck_assert_str_eq(sjm_test_signature(v), "skipped");
    sjm_plan_free(v);
    sjm_txn_free(t);
    g_free(msg);
}
END_TEST

/* Random damage to real messages: never a crash, never a half-strip. */
START_TEST(test_fuzz_corpus)
{
    GRand *rnd = g_rand_new_with_seed(20261123);
    cfg->strip_attached_messages = TRUE;
    for (guint f = 0; f < N_CORPUS; f++) {
        char *data;
        gsize len;
        if (!load_corpus((int)f, &data, &len))
            continue;
        for (int it = 0; it < 40; it++) {
            char *m = g_memdup2(data, len);
            gsize mlen = len;
            int kind = g_rand_int_range(rnd, 0, 4);
            if (kind == 0) {
                mlen = (gsize)g_rand_int_range(rnd, 1, (gint32)len);
            } else {
                int flips = g_rand_int_range(rnd, 1, 20);
                for (int k = 0; k < flips; k++) {
                    gsize at = (gsize)g_rand_int_range(rnd, 0, (gint32)len);
                    static const char pool[] = "-\r\n\0:;=\"ABab09+/ \t";
                    m[at] = kind == 1 ? (char)g_rand_int_range(rnd, 0, 256)
                                      : pool[g_rand_int_range(rnd, 0, sizeof pool - 1)];
                }
            }
            result r;
            /* Every other round through the streaming walker. */
            opts.stream_threshold = it % 2 ? 0 : SJM_SMIME_STREAM_THRESHOLD;
            run_bytes(m, mlen, TRUE, &r);
            opts.stream_threshold = SJM_SMIME_STREAM_THRESHOLD;
            ck_assert(r.ok);
            if (r.body == NULL)
                ck_assert_uint_eq(r.nedits, 0);
            result_clear(&r);
            run_bytes(m, mlen, FALSE, &r);
            ck_assert_ptr_null(r.body);
            result_clear(&r);
            g_free(m);
        }
        g_free(data);
    }
    g_rand_free(rnd);
}
END_TEST

/* ----------------------------------------------- headers-only decisions */

static gboolean wants(const char *ct, gboolean strip)
{
    sjm_txn *t = sjm_txn_new();
    sjm_txn_add_header(t, "Subject", "x");
    if (ct != NULL)
        sjm_txn_add_header(t, "Content-Type", ct);
    gboolean w = sjm_smime_wants_body(cfg, t, strip);
    sjm_txn_free(t);
    return w;
}

START_TEST(test_wants_body)
{
    ck_assert(!wants("multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x", FALSE));
    ck_assert(!wants("application/pkcs7-mime; smime-type=signed-data", FALSE));
    ck_assert(!wants(NULL, TRUE));
    ck_assert(!wants("text/plain; charset=us-ascii", TRUE));
    ck_assert(!wants("text/html", TRUE));
    ck_assert(!wants("application/pdf; name=x.p7m.pdf", TRUE));
    ck_assert(!wants("application/octet-stream; name=report.pdf", TRUE));
    ck_assert(wants("multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x", TRUE));
    ck_assert(wants("Multipart/Mixed;\n\tboundary=\"x\"", TRUE));
    ck_assert(wants("application/pkcs7-mime; smime-type=signed-data", TRUE));
    ck_assert(wants("application/x-pkcs7-mime", TRUE));
    ck_assert(wants("application/octet-stream; name=\"SMIME.P7M\"", TRUE));
    ck_assert(!wants("message/rfc822", TRUE));
    cfg->strip_attached_messages = TRUE;
    ck_assert(wants("message/rfc822", TRUE));

    sjm_txn *t = sjm_txn_new();
    sjm_txn_add_header(t, "Content-Type", "application/octet-stream");
    sjm_txn_add_header(t, "Content-Disposition", "attachment; filename=\"smime.p7m\"");
    ck_assert(sjm_smime_wants_body(cfg, t, TRUE));
    sjm_txn_free(t);
}
END_TEST

static char *classify(const char *ct, gboolean strip)
{
    sjm_txn *t = sjm_txn_new();
    if (ct != NULL)
        sjm_txn_add_header(t, "Content-Type", ct);
    sjm_plan *v = sjm_plan_new();
    ck_assert(sjm_smime_process(cfg, t, strip, v));
    ck_assert_ptr_null(v->new_body);
    char *s = g_strdup(sjm_test_signature(v));
    sjm_plan_free(v);
    sjm_txn_free(t);
    return s;
}

#define ck_classify(ct, strip, want) do { \
        char *got_ = classify(ct, strip); \
        ck_assert_str_eq(got_, want); \
        g_free(got_); \
    } while (0)

START_TEST(test_classify_headers)
{
    ck_classify("multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x", FALSE, "preserved");
    ck_classify("multipart/signed; PROTOCOL=Application/X-PKCS7-Signature; boundary=x", FALSE, "preserved");
    ck_classify("multipart/signed;\n protocol=\"application/pkcs7-signature\";\n boundary=x", FALSE, "preserved");
    ck_classify("application/pkcs7-mime; smime-type=signed-data; name=smime.p7m", FALSE, "preserved");
    ck_classify("application/pkcs7-mime; smime-type=enveloped-data", FALSE, "encrypted");
    ck_classify("application/pkcs7-mime; smime-type=authEnveloped-data", FALSE, "encrypted");
    ck_classify("application/x-pkcs7-mime; smime-type=\"enveloped-data\"", FALSE, "encrypted");
    ck_classify("application/pkcs7-mime; smime-type=compressed-data", FALSE, "none");
    ck_classify("multipart/signed; protocol=\"application/pgp-signature\"; boundary=x", FALSE, "none");
    ck_classify("multipart/mixed; boundary=x", FALSE, "none");
    ck_classify("text/plain", FALSE, "none");
    ck_classify(NULL, FALSE, "none");
    /* Strip, but the top level cannot hold a signature: no body needed. */
    ck_classify("text/plain", TRUE, "none");
}
END_TEST

/* The header edits: Content-* replaced, extra ones removed, new ones added. */
START_TEST(test_top_header_edits)
{
    const char *msg = "From: a@example.com\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"B\"\r\n"
        "Content-Description: signed\r\nSubject: s\r\nContent-Disposition: inline\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        "--B\r\nContent-Type: text/html;\r\n charset=utf-8\r\nContent-Language: de\r\n"
        "X-Other: kept out\r\n\r\n<p>hi</p>\r\n--B\r\n";
    char *sigmsg = sign_message(TEXT_ENTITY, rsa_id, CMS_DETACHED);
    /* Borrow a real signature part. */
    const char *bnd = strstr(sigmsg, "boundary=\"") + 10;
    char *boundary = g_strndup(bnd, strcspn(bnd, "\""));
    char *delim = g_strdup_printf("--%s\r\n", boundary);
    char *sigpart = strstr(strstr(sigmsg, delim) + 1, delim) + strlen(delim);
    char *full = g_strconcat(msg, sigpart, NULL);
    char *full2 = replace(full, boundary, "B");
    char *fixed = g_strdup(full2);

    result r;
    run_str(fixed, TRUE, &r);
    ck_assert_str_eq(r.signature, "stripped(detached)");
    ck_assert_str_eq(hdr(&r, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_str_eq(hdr(&r, "Content-Language"), "de");
    ck_assert_ptr_null(hdr(&r, "Content-Description"));
    ck_assert_ptr_null(hdr(&r, "Content-Disposition"));
    ck_assert_ptr_null(hdr(&r, "Content-Transfer-Encoding"));
    ck_assert_ptr_null(hdr(&r, "X-Other"));
    ck_assert_str_eq(hdr(&r, "Subject"), "s");
    ck_assert_str_eq(hdr(&r, "From"), "a@example.com");
    r.body = g_byte_array_append(r.body, (guint8 *)"", 1);
    ck_assert_str_eq((char *)r.body->data, "<p>hi</p>");
    result_clear(&r);
    g_free(fixed);
    g_free(full2);
    g_free(full);
    g_free(delim);
    g_free(boundary);
    g_free(sigmsg);
}
END_TEST

/* ---------------------------------------------------------------- main */

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("smime");

    TCase *tc = tcase_create("corpus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_corpus_preserve, 0, (int)N_CORPUS);
    tcase_add_loop_test(tc, test_corpus_strip, 0, (int)N_CORPUS);
    tcase_add_loop_test(tc, test_corpus_streaming_walker, 0, (int)N_CORPUS);
    tcase_add_test(tc, test_corpus_attached_off);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("generated");
    tcase_add_checked_fixture(tc, ids_setup, teardown);
    tcase_add_test(tc, test_gen_detached_rsa);
    tcase_add_test(tc, test_gen_opaque_rsa);
    tcase_add_test(tc, test_gen_detached_binary);
    tcase_add_test(tc, test_gen_noattr_nocerts);
    tcase_add_test(tc, test_gen_ecdsa);
    tcase_add_test(tc, test_gen_multipart_content);
    tcase_add_test(tc, test_gen_large_detached);
    tcase_add_test(tc, test_gen_large_opaque);
    tcase_add_test(tc, test_walker_variants);
    tcase_add_test(tc, test_gen_nested_in_mixed);
    tcase_add_test(tc, test_gen_signed_then_encrypted);
    tcase_add_test(tc, test_gen_encrypted_then_signed);
    tcase_add_test(tc, test_gen_lf_only);
    tcase_add_test(tc, test_gen_label_variants);
    tcase_add_test(tc, test_gen_certs_only);
    tcase_add_test(tc, test_pgp_untouched);
    tcase_add_test(tc, test_smime_inside_pgp_kept);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_checked_fixture(tc, ids_setup, teardown);
    tcase_add_test(tc, test_malformed_no_signature_part);
    tcase_add_test(tc, test_malformed_garbage_signature);
    tcase_add_test(tc, test_malformed_truncated_base64);
    tcase_add_test(tc, test_malformed_boundaries);
    tcase_add_test(tc, test_malformed_nul_and_long_header);
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_max_scan_size);
    tcase_add_test(tc, test_fuzz_corpus);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, ids_setup, teardown);
    tcase_add_test(tc, test_wants_body);
    tcase_add_test(tc, test_classify_headers);
    tcase_add_test(tc, test_top_header_edits);
    suite_add_tcase(s, tc);
    return s;
}
