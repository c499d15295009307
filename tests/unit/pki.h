/*
 * pki.h - a throw-away PKI for the verification tests, made with the
 * OpenSSL library at test time: a CA, signers with the emailProtection
 * EKU and an e-mail SAN (RSA, ECDSA), one revoked on a CRL, one with the
 * wrong purpose, one expired, and an untrusted self-signed one.  Header
 * only (static functions), so each test program takes what it uses.
 */
#ifndef SJM_TEST_PKI_H
#define SJM_TEST_PKI_H

#include <string.h>
#include <check.h>
#include <glib.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

typedef struct pki_id {
    EVP_PKEY *key;
    X509 *cert;
} pki_id;

static long pki_serial = 0x1000;

static void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    ck_assert_ptr_nonnull(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/*
 * A certificate for CN (and EMAIL when not NULL) with a fresh key (EC
 * P-256 when EC), issued by CA (self-signed when NULL), valid from
 * NOT_BEFORE to NOT_AFTER seconds relative to now, with extended key
 * usage EKU (NULL: none) - or a CA certificate when IS_CA.
 */
static pki_id *pki_make(const char *cn, const char *email, gboolean ec, pki_id *ca,
                        gboolean is_ca, const char *eku, long not_before, long not_after)
{
    pki_id *id = g_new0(pki_id, 1);
    id->key = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(id->key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), pki_serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after);
    X509_set_pubkey(x, id->key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"sjm test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca->cert) : n);
    X509 *issuer = ca != NULL ? ca->cert : NULL;
    if (is_ca) {
        pki_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
        pki_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        pki_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
        pki_ext(x, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    }
    pki_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (eku != NULL)
        pki_ext(x, issuer, NID_ext_key_usage, eku);
    if (email != NULL) {
        char *san = g_strdup_printf("email:%s", email);
        pki_ext(x, issuer, NID_subject_alt_name, san);
        g_free(san);
    }
    ck_assert_int_gt(X509_sign(x, ca != NULL ? ca->key : id->key, EVP_sha256()), 0);
    id->cert = x;
    return id;
}

static void pki_free(pki_id *id)
{
    if (id == NULL)
        return;
    EVP_PKEY_free(id->key);
    X509_free(id->cert);
    g_free(id);
}

/* A CRL by CA revoking REVOKED (may be NULL), current for a day or, when
 * STALE, expired an hour ago. */
static X509_CRL *pki_crl(pki_id *ca, pki_id *revoked, gboolean stale)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert));
    ASN1_TIME *t = ASN1_TIME_new();
    X509_gmtime_adj(t, stale ? -7200 : -3600);
    X509_CRL_set1_lastUpdate(crl, t);
    X509_gmtime_adj(t, stale ? -3600 : 86400);
    X509_CRL_set1_nextUpdate(crl, t);
    if (revoked != NULL) {
        X509_REVOKED *r = X509_REVOKED_new();
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked->cert));
        X509_gmtime_adj(t, -1800);
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
    }
    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    ck_assert_int_gt(X509_CRL_sign(crl, ca->key, EVP_sha256()), 0);
    return crl;
}

static char *pki_write_cert(const char *dir, const char *name, X509 *x)
{
    char *path = g_build_filename(dir, name, NULL);
    BIO *b = BIO_new_file(path, "w");
    ck_assert_ptr_nonnull(b);
    PEM_write_bio_X509(b, x);
    BIO_free(b);
    return path;
}

static char *pki_write_crl(const char *dir, const char *name, X509_CRL *crl)
{
    char *path = g_build_filename(dir, name, NULL);
    BIO *b = BIO_new_file(path, "w");
    ck_assert_ptr_nonnull(b);
    PEM_write_bio_X509_CRL(b, crl);
    BIO_free(b);
    return path;
}

/* PKI_PSS: sign with RSASSA-PSS padding. */
#define PKI_PSS 0x40000000

/* The DER of a signature by ID over DATA (detached unless CMS flags say
 * otherwise; CMS_NOCERTS, CMS_NOATTR and PKI_PSS as given). */
static GByteArray *pki_sign(pki_id *id, const void *data, gsize len, int flags)
{
    gboolean pss = (flags & PKI_PSS) != 0;
    flags &= ~PKI_PSS;
    BIO *in = BIO_new_mem_buf(data, (int)len);
    CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, in, flags | CMS_BINARY | CMS_PARTIAL);
    ck_assert_ptr_nonnull(cms);
    CMS_SignerInfo *si = CMS_add1_signer(cms, id->cert, id->key, EVP_sha256(),
                                         (flags & (CMS_NOCERTS | CMS_NOATTR)) |
                                         (pss ? CMS_KEY_PARAM : 0));
    ck_assert_ptr_nonnull(si);
    if (pss) {
        EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 0);
    }
    BIO_free(in);
    in = BIO_new_mem_buf(data, (int)len);
    ck_assert_int_eq(CMS_final(cms, in, NULL, flags | CMS_BINARY), 1);
    BIO_free(in);
    unsigned char *der = NULL;
    int n = i2d_CMS_ContentInfo(cms, &der);
    ck_assert_int_gt(n, 0);
    GByteArray *out = g_byte_array_new();
    g_byte_array_append(out, der, (guint)n);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    return out;
}

#endif
