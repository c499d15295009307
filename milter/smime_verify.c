/*
 * smime_verify.c - OpenSSL CMS verification of one S/MIME signature
 * against the organisation's trust list (interface and the list of
 * results: verify.h).
 *
 * Verification is done in two steps so every failure gets its own
 * result: CMS_verify checks only the signatures and content digests
 * (CMS_NO_SIGNER_CERT_VERIFY), then each signer certificate is checked
 * against the store in an X509_STORE_CTX of our own.  The store is
 * shared by all threads and never modified after loading; the
 * verification time and the S/MIME purpose are set on the per-call
 * context, never on the store.
 *
 * Error contract: nothing here fails the caller.  Unreadable input,
 * unknown algorithms and allocation failures all become results.
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "verify.h"

struct sjm_trust {
    X509_STORE *store;
    gboolean check_crl;
};

/* ------------------------------------------------------------- loading */

/* Add every certificate and CRL of the PEM file PATH; counts what it added. */
static gboolean add_pem_file(X509_STORE *store, const char *path, int *certs, int *crls)
{
    BIO *in = BIO_new_file(path, "r");
    if (in == NULL)
        return FALSE;
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(in, NULL, NULL, NULL);
    BIO_free(in);
    if (infos == NULL)
        return FALSE;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509))
            (*certs)++;
        if (xi->crl != NULL && X509_STORE_add_crl(store, xi->crl))
            (*crls)++;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return TRUE;
}

static void add_problem(GPtrArray *errors, const char *fmt, const char *path)
{
    if (errors != NULL)
        g_ptr_array_add(errors, g_strdup_printf(fmt, path));
}

static gboolean load_anchors(X509_STORE *store, const char *path, GPtrArray *errors)
{
    int certs = 0, crls = 0;
    struct stat st;
    if (path == NULL || *path == '\0' || stat(path, &st) != 0) {
        add_problem(errors, "trust_anchors: %s: not found", path != NULL ? path : "");
        return FALSE;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d == NULL) {
            add_problem(errors, "trust_anchors: %s: cannot read directory", path);
            return FALSE;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char *f = g_build_filename(path, e->d_name, NULL);
            /* Hash links (c_rehash) point at files read anyway; the
             * store ignores the duplicates. */
            if (stat(f, &st) == 0 && S_ISREG(st.st_mode))
                (void)add_pem_file(store, f, &certs, &crls);
            g_free(f);
        }
        closedir(d);
    } else if (!add_pem_file(store, path, &certs, &crls)) {
        add_problem(errors, "trust_anchors: %s: cannot read PEM certificates", path);
        return FALSE;
    }
    ERR_clear_error();
    if (certs == 0) {
        add_problem(errors, "trust_anchors: %s: no certificate found", path);
        return FALSE;
    }
    return TRUE;
}

sjm_trust *sjm_trust_load(const char *anchors, char *const *crls, GPtrArray *errors)
{
    sjm_trust *t = g_new0(sjm_trust, 1);
    t->store = X509_STORE_new();
    gboolean ok = t->store != NULL && load_anchors(t->store, anchors, errors);
    for (char *const *p = crls; t->store != NULL && p != NULL && *p != NULL; p++) {
        if (**p == '\0')
            continue;
        int nc = 0, nr = 0;
        if (!add_pem_file(t->store, *p, &nc, &nr)) {
            add_problem(errors, "crl: %s: cannot read PEM CRLs", *p);
            ok = FALSE;
        } else if (nr == 0) {
            add_problem(errors, "crl: %s: no CRL found", *p);
            ok = FALSE;
        } else {
            t->check_crl = TRUE;
        }
    }
    ERR_clear_error();
    if (!ok) {
        sjm_trust_free(t);
        return NULL;
    }
    return t;
}

void sjm_trust_free(sjm_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    g_free(t);
}

/* ------------------------------------------------------------- results */

static time_t fixed_time;

void sjm_verify_set_time(time_t at)
{
    fixed_time = at;
}

time_t sjm_verify_time(void)
{
    return fixed_time != 0 ? fixed_time : time(NULL);
}

const char *sjm_verify_code_name(sjm_verify_code code)
{
    switch (code) {
    case SJM_VERIFY_PASS: return "pass";
    case SJM_VERIFY_FAIL: return "fail";
    case SJM_VERIFY_POLICY: return "policy";
    case SJM_VERIFY_NEUTRAL: return "neutral";
    case SJM_VERIFY_TEMPERROR: return "temperror";
    case SJM_VERIFY_PERMERROR: return "permerror";
    }
    return "permerror";
}

gboolean sjm_verify_code_invalid(sjm_verify_code code)
{
    return code != SJM_VERIFY_PASS && code != SJM_VERIFY_TEMPERROR;
}

void sjm_verify_result_clear(sjm_verify_result *r)
{
    g_free(r->identifier);
    g_free(r->serial);
    g_free(r->issuer);
    g_free(r->part);
    memset(r, 0, sizeof *r);
}

static void set(sjm_verify_result *r, sjm_verify_code code, const char *reason)
{
    r->code = code;
    r->reason = reason;
}

/* Who signed: address, serial and issuer of CERT. */
static void describe_signer(X509 *cert, sjm_verify_result *r)
{
    STACK_OF(OPENSSL_STRING) *emails = X509_get1_email(cert);
    if (emails != NULL && sk_OPENSSL_STRING_num(emails) > 0)
        r->identifier = g_ascii_strdown(sk_OPENSSL_STRING_value(emails, 0), -1);
    X509_email_free(emails);

    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (bn != NULL) {
        char *hex = BN_bn2hex(bn);
        if (hex != NULL)
            r->serial = g_strdup(hex);
        OPENSSL_free(hex);
        BN_free(bn);
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL && X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        r->issuer = g_strndup(p, (gsize)MAX(n, 0));
    }
    BIO_free(b);
}

/* Map what CMS_verify left on the error queue to a result. */
static void classify_cms_error(sjm_verify_result *r)
{
    unsigned long e;
    const char *reason = NULL;
    sjm_verify_code code = SJM_VERIFY_FAIL;
    while ((e = ERR_get_error()) != 0 && reason == NULL) {
        int lib = ERR_GET_LIB(e), why = ERR_GET_REASON(e);
        if (why == ERR_R_MALLOC_FAILURE) {
            code = SJM_VERIFY_TEMPERROR, reason = "internal";
        } else if (lib == ERR_LIB_CMS && why == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
            code = SJM_VERIFY_PERMERROR, reason = "no-certificate";
        } else if ((lib == ERR_LIB_CMS && (why == CMS_R_UNKNOWN_DIGEST_ALGORITHM ||
                                           why == CMS_R_UNSUPPORTED_TYPE ||
                                           why == CMS_R_NO_MATCHING_DIGEST ||
                                           why == CMS_R_UNKNOWN_ID)) ||
                   (lib == ERR_LIB_EVP && (why == EVP_R_UNSUPPORTED_ALGORITHM ||
                                           why == EVP_R_UNSUPPORTED_PRIVATE_KEY_ALGORITHM ||
                                           why == EVP_R_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE)) ||
                   why == ERR_R_UNSUPPORTED) {
            code = SJM_VERIFY_PERMERROR, reason = "unsupported-algorithm";
        }
    }
    ERR_clear_error();
    set(r, code, reason != NULL ? reason : "bad-signature");
}

/* Map a certificate chain error. */
static void classify_chain_error(int err, sjm_verify_result *r)
{
    switch (err) {
    case X509_V_ERR_CERT_REVOKED:
        set(r, SJM_VERIFY_FAIL, "revoked");
        break;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        set(r, SJM_VERIFY_TEMPERROR, "crl-unavailable");
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        set(r, SJM_VERIFY_POLICY, "expired");
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        set(r, SJM_VERIFY_POLICY, "not-yet-valid");
        break;
    case X509_V_ERR_INVALID_PURPOSE:
        set(r, SJM_VERIFY_POLICY, "wrong-purpose");
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        set(r, SJM_VERIFY_POLICY, "untrusted-signer");
        break;
    case X509_V_ERR_OUT_OF_MEM:
        set(r, SJM_VERIFY_TEMPERROR, "internal");
        break;
    default:
        set(r, SJM_VERIFY_POLICY, "bad-certificate");
        break;
    }
}

/* Check one signer certificate against the store; TRUE when it passes. */
static gboolean check_chain(const sjm_trust *t, X509 *signer, STACK_OF(X509) *untrusted,
                            time_t at, sjm_verify_result *r)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, signer, untrusted)) {
        X509_STORE_CTX_free(ctx);
        set(r, SJM_VERIFY_TEMPERROR, "internal");
        return FALSE;
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
    X509_STORE_CTX_set_time(ctx, 0, at);
    if (t->check_crl)
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK);
    int ok = X509_verify_cert(ctx);
    if (ok != 1)
        classify_chain_error(X509_STORE_CTX_get_error(ctx), r);
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok == 1;
}

static void verify_cms(const sjm_trust *t, CMS_ContentInfo *cms, BIO *dcont, time_t at,
                       sjm_verify_result *r)
{
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    if (sis == NULL || sk_CMS_SignerInfo_num(sis) < 1) {
        set(r, SJM_VERIFY_NEUTRAL, "unparseable");
        return;
    }
    ERR_clear_error();
    /* OpenSSL 3.0's CMS_verify copies a memory BIO into a temporary one and
     * leaks that copy when it cannot set up the digest (an unsupported
     * algorithm; LeakSanitizer found it).  A null filter in front makes the
     * content a non-memory BIO, so no copy is made. */
    BIO *shield = dcont != NULL ? BIO_new(BIO_f_null()) : NULL;
    if (shield != NULL)
        BIO_push(shield, dcont);
    int ok = CMS_verify(cms, NULL, NULL, shield != NULL ? shield : dcont, NULL,
                        CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
    if (shield != NULL) {
        BIO_pop(shield);
        BIO_free(shield);
    }
    /* Name the signer whatever the outcome, if its certificate is known. */
    X509 *first = NULL;
    CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, &first, NULL, NULL);
    if (first == NULL) {
        STACK_OF(X509) *all = CMS_get1_certs(cms);
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
        for (int i = 0; all != NULL && i < sk_X509_num(all) && first == NULL; i++)
            if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(all, i)) == 0)
                describe_signer(sk_X509_value(all, i), r);
        sk_X509_pop_free(all, X509_free);
    }
    if (first != NULL)
        describe_signer(first, r);
    if (ok != 1) {
        classify_cms_error(r);
        return;
    }
    ERR_clear_error();

    STACK_OF(X509) *untrusted = CMS_get1_certs(cms);
    set(r, SJM_VERIFY_PASS, "valid");
    for (int i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
        X509 *signer = NULL;
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), NULL, &signer, NULL, NULL);
        if (signer == NULL) {
            set(r, SJM_VERIFY_PERMERROR, "no-certificate");
            break;
        }
        if (!check_chain(t, signer, untrusted, at, r))
            break;
    }
    sk_X509_pop_free(untrusted, X509_free);
}

static CMS_ContentInfo *parse(const guchar *der, gsize len)
{
    if (der == NULL || len == 0 || len > G_MAXINT)
        return NULL;
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (cms != NULL && OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    return cms;
}

static gboolean has_bare_lf(const guchar *p, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            return TRUE;
    return FALSE;
}

static GByteArray *crlf(const guchar *p, gsize len)
{
    GByteArray *out = g_byte_array_sized_new((guint)MIN(len + len / 16, (gsize)G_MAXUINT));
    for (gsize i = 0; i < len; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            g_byte_array_append(out, (const guint8 *)"\r", 1);
        g_byte_array_append(out, p + i, 1);
    }
    return out;
}

static void verify_detached_once(const sjm_trust *t, const guchar *sig, gsize siglen,
                                 const guchar *content, gsize clen, time_t at,
                                 sjm_verify_result *r)
{
    CMS_ContentInfo *cms = parse(sig, siglen);
    if (cms == NULL) {
        ERR_clear_error();
        set(r, SJM_VERIFY_NEUTRAL, "unparseable");
        return;
    }
    BIO *b = BIO_new_mem_buf(clen > 0 ? content : (const guchar *)"", (int)MIN(clen, (gsize)G_MAXINT));
    if (b == NULL)
        set(r, SJM_VERIFY_TEMPERROR, "internal");
    else
        verify_cms(t, cms, b, at, r);
    BIO_free(b);
    CMS_ContentInfo_free(cms);
}

void sjm_verify_detached(const sjm_trust *t, const guchar *sig, gsize siglen,
                         const guchar *content, gsize clen, time_t at,
                         sjm_verify_result *r)
{
    verify_detached_once(t, sig, siglen, content, clen, at, r);
    /*
     * Signed text is digested in canonical form (CRLF line ends, RFC
     * 8551 3.1.1).  SMTP bodies arrive that way, but content inside an
     * opaque signature may carry bare LF, and MUAs (and OpenSSL's text
     * mode) canonicalise before digesting: so does this, when the bytes
     * as they are did not match.
     */
    if (r->code == SJM_VERIFY_FAIL && strcmp(r->reason, "bad-signature") == 0 &&
        has_bare_lf(content, clen)) {
        GByteArray *canon = crlf(content, clen);
        sjm_verify_result again = {0};
        verify_detached_once(t, sig, siglen, canon->data, canon->len, at, &again);
        g_byte_array_free(canon, TRUE);
        if (again.code != SJM_VERIFY_FAIL || strcmp(again.reason, "bad-signature") != 0) {
            g_free(r->identifier);
            g_free(r->serial);
            g_free(r->issuer);
            again.part = r->part;
            *r = again;
        } else {
            sjm_verify_result_clear(&again);
        }
    }
}

void sjm_verify_opaque(const sjm_trust *t, const guchar *der, gsize len, time_t at,
                       sjm_verify_result *r)
{
    CMS_ContentInfo *cms = parse(der, len);
    if (cms == NULL) {
        ERR_clear_error();
        set(r, SJM_VERIFY_NEUTRAL, "unparseable");
        return;
    }
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    if (pos == NULL || *pos == NULL)
        set(r, SJM_VERIFY_NEUTRAL, "unparseable");
    else
        verify_cms(t, cms, NULL, at, r);
    CMS_ContentInfo_free(cms);
}
