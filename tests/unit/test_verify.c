/*
 * test_verify.c - S/MIME signature verification (smime_verify.c) and the
 * Authentication-Results fields (authres.c) on signatures made here with
 * OpenSSL under a throw-away PKI (pki.h): every result code and reason
 * verify.h documents is produced by the input that should produce it.
 */
#define _GNU_SOURCE     /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include "pki.h"
#include "verify.h"
#include "authres.h"
#include "config.h"
#include "smime.h"
#include "txn.h"
#include "testlib.h"

static pki_id *ca, *alice, *ec, *revoked, *selfsigned, *server, *expired, *other_ca;
static char *dir, *ca_path, *crl_path, *stale_crl_path, *other_crl_path;
static sjm_trust *trust, *trust_crl;

static const char content[] =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nThe quarterly figures.\r\n";

static void pki_setup(void)
{
    ca = pki_make("Test CA", NULL, FALSE, NULL, TRUE, NULL, -86400L * 7, 86400L * 30);
    other_ca = pki_make("Other CA", NULL, FALSE, NULL, TRUE, NULL, -86400, 86400L * 30);
    alice = pki_make("alice", "Alice@corp.example", FALSE, ca, FALSE, "emailProtection", -3600, 86400L * 10);
    ec = pki_make("alice ec", "alice@corp.example", TRUE, ca, FALSE, "emailProtection", -3600, 86400L * 10);
    revoked = pki_make("mallory", "mallory@corp.example", FALSE, ca, FALSE, "emailProtection", -3600, 86400L * 10);
    server = pki_make("www", "www@corp.example", FALSE, ca, FALSE, "serverAuth", -3600, 86400L * 10);
    expired = pki_make("old", "old@corp.example", TRUE, ca, FALSE, "emailProtection", -86400L * 2, -86400);
    selfsigned = pki_make("eve", "eve@evil.example", FALSE, NULL, FALSE, "emailProtection", -3600, 86400L * 10);

    dir = g_dir_make_tmp("sjm-verify-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    ca_path = pki_write_cert(dir, "ca.pem", ca->cert);
    X509_CRL *crl = pki_crl(ca, revoked, FALSE);
    crl_path = pki_write_crl(dir, "ca.crl", crl);
    X509_CRL_free(crl);
    crl = pki_crl(ca, NULL, TRUE);
    stale_crl_path = pki_write_crl(dir, "stale.crl", crl);
    X509_CRL_free(crl);
    crl = pki_crl(other_ca, NULL, FALSE);
    other_crl_path = pki_write_crl(dir, "other.crl", crl);
    X509_CRL_free(crl);

    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    trust = sjm_trust_load(ca_path, NULL, errors);
    char *crls[] = { crl_path, NULL };
    trust_crl = sjm_trust_load(ca_path, crls, errors);
    ck_assert_uint_eq(errors->len, 0);
    ck_assert_ptr_nonnull(trust);
    ck_assert_ptr_nonnull(trust_crl);
    g_ptr_array_free(errors, TRUE);
}

static void rm_dir(const char *d)
{
    GDir *g = g_dir_open(d, 0, NULL);
    const char *n;
    while (g != NULL && (n = g_dir_read_name(g)) != NULL) {
        char *p = g_build_filename(d, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            rm_dir(p);
        else
            g_unlink(p);
        g_free(p);
    }
    if (g != NULL)
        g_dir_close(g);
    g_rmdir(d);
}

static void pki_teardown(void)
{
    sjm_trust_free(trust);
    sjm_trust_free(trust_crl);
    pki_free(ca); pki_free(other_ca); pki_free(alice); pki_free(ec); pki_free(revoked);
    pki_free(server); pki_free(expired); pki_free(selfsigned);
    rm_dir(dir);
    g_free(dir); g_free(ca_path); g_free(crl_path); g_free(stale_crl_path); g_free(other_crl_path);
}

/* ------------------------------------------------------------ helpers */

static void detached(const sjm_trust *t, pki_id *id, int flags, const char *signed_text,
                     const char *checked_text, sjm_verify_result *r)
{
    GByteArray *sig = pki_sign(id, signed_text, strlen(signed_text), flags | CMS_DETACHED);
    memset(r, 0, sizeof *r);
    sjm_verify_detached(t, sig->data, sig->len, (const guchar *)checked_text,
                        strlen(checked_text), time(NULL), r);
    g_byte_array_free(sig, TRUE);
}

static void expect(const sjm_verify_result *r, sjm_verify_code code, const char *reason)
{
    ck_assert_str_eq(sjm_verify_code_name(r->code), sjm_verify_code_name(code));
    ck_assert_str_eq(r->reason, reason);
}

static char *serial_hex(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = BN_bn2hex(bn);
    char *s = g_strdup(h);
    OPENSSL_free(h);
    BN_free(bn);
    return s;
}

/* ---------------------------------------------------------- pass cases */

START_TEST(test_pass_rsa_detached)
{
    sjm_verify_result r;
    detached(trust, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    ck_assert_str_eq(r.identifier, "alice@corp.example");
    char *s = serial_hex(alice->cert);
    ck_assert_str_eq(r.serial, s);
    g_free(s);
    ck_assert_str_eq(r.issuer, "CN=Test CA,O=sjm test");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_pass_rsa_opaque)
{
    GByteArray *der = pki_sign(alice, content, strlen(content), 0);
    sjm_verify_result r = {0};
    sjm_verify_opaque(trust, der->data, der->len, time(NULL), &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    ck_assert_str_eq(r.identifier, "alice@corp.example");
    sjm_verify_result_clear(&r);
    g_byte_array_free(der, TRUE);
}
END_TEST

START_TEST(test_pass_ecdsa)
{
    sjm_verify_result r;
    detached(trust, ec, 0, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    GByteArray *der = pki_sign(ec, content, strlen(content), 0);
    memset(&r, 0, sizeof r);
    sjm_verify_opaque(trust, der->data, der->len, time(NULL), &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    g_byte_array_free(der, TRUE);
}
END_TEST

START_TEST(test_pass_rsa_pss)
{
    GByteArray *sig = pki_sign(alice, content, strlen(content), CMS_DETACHED | PKI_PSS);
    /* It really is PSS: the signature algorithm OID id-RSASSA-PSS. */
    static const guchar pss_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a };
    ck_assert_ptr_nonnull(memmem(sig->data, sig->len, pss_oid, sizeof pss_oid));
    sjm_verify_result r = {0};
    sjm_verify_detached(trust, sig->data, sig->len, (const guchar *)content, strlen(content),
                        time(NULL), &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    g_byte_array_free(sig, TRUE);
}
END_TEST

START_TEST(test_pass_noattr)
{
    sjm_verify_result r;
    detached(trust, alice, CMS_NOATTR, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_pass_canonical_crlf)
{
    /* Signed in canonical form, handed over with bare LF (content found
     * inside an opaque signature): judged as MUAs judge it. */
    sjm_verify_result r;
    detached(trust, alice, 0, content, "Content-Type: text/plain; charset=us-ascii\n\n"
             "The quarterly figures.\n", &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    /* Really altered text still fails after canonicalisation. */
    detached(trust, alice, 0, content, "Content-Type: text/plain; charset=us-ascii\n\n"
             "The quarterly figureZ.\n", &r);
    expect(&r, SJM_VERIFY_FAIL, "bad-signature");
    sjm_verify_result_clear(&r);
    /* Signed with bare LF (binary): the bytes as they are. */
    detached(trust, alice, 0, "a\nb\n", "a\nb\n", &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_pass_directory_anchors)
{
    /* A directory of PEM files, with a file that is not a certificate. */
    char *d = g_build_filename(dir, "anchors", NULL);
    g_mkdir(d, 0700);
    g_free(pki_write_cert(d, "other.pem", other_ca->cert));
    g_free(pki_write_cert(d, "test-ca.crt", ca->cert));
    char *readme = g_build_filename(d, "README", NULL);
    g_file_set_contents(readme, "not a certificate\n", -1, NULL);
    g_free(readme);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_trust *t = sjm_trust_load(d, NULL, errors);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(errors->len, 0);
    sjm_verify_result r;
    detached(t, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    sjm_trust_free(t);
    g_ptr_array_free(errors, TRUE);
    g_free(d);
}
END_TEST

START_TEST(test_pass_with_crl)
{
    sjm_verify_result r;
    detached(trust_crl, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
}
END_TEST

/* ---------------------------------------------------------- the others */

START_TEST(test_untrusted_selfsigned)
{
    sjm_verify_result r;
    detached(trust, selfsigned, 0, content, content, &r);
    expect(&r, SJM_VERIFY_POLICY, "untrusted-signer");
    ck_assert_str_eq(r.identifier, "eve@evil.example");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_untrusted_other_ca)
{
    /* Signed under our CA, but the store only trusts another one. */
    char *other = pki_write_cert(dir, "other-only.pem", other_ca->cert);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_trust *t = sjm_trust_load(other, NULL, errors);
    ck_assert_ptr_nonnull(t);
    sjm_verify_result r;
    detached(t, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_POLICY, "untrusted-signer");
    sjm_verify_result_clear(&r);
    sjm_trust_free(t);
    g_ptr_array_free(errors, TRUE);
    g_free(other);
}
END_TEST

START_TEST(test_tampered_detached)
{
    sjm_verify_result r;
    char *forged = g_strdup(content);
    forged[strlen(forged) - 4] = 'X';
    detached(trust, alice, 0, content, forged, &r);
    expect(&r, SJM_VERIFY_FAIL, "bad-signature");
    ck_assert_str_eq(r.identifier, "alice@corp.example");
    sjm_verify_result_clear(&r);
    /* Without signed attributes the signature itself covers the content. */
    detached(trust, alice, CMS_NOATTR, content, forged, &r);
    expect(&r, SJM_VERIFY_FAIL, "bad-signature");
    sjm_verify_result_clear(&r);
    g_free(forged);
}
END_TEST

START_TEST(test_tampered_opaque)
{
    GByteArray *der = pki_sign(alice, content, strlen(content), 0);
    guchar *at = memmem(der->data, der->len, "quarterly", 9);
    ck_assert_ptr_nonnull(at);
    at[0] = 'Q';
    sjm_verify_result r = {0};
    sjm_verify_opaque(trust, der->data, der->len, time(NULL), &r);
    expect(&r, SJM_VERIFY_FAIL, "bad-signature");
    sjm_verify_result_clear(&r);
    g_byte_array_free(der, TRUE);
}
END_TEST

START_TEST(test_revoked)
{
    sjm_verify_result r;
    detached(trust_crl, revoked, 0, content, content, &r);
    expect(&r, SJM_VERIFY_FAIL, "revoked");
    ck_assert_str_eq(r.identifier, "mallory@corp.example");
    sjm_verify_result_clear(&r);
    /* Without a CRL configured nobody knows. */
    detached(trust, revoked, 0, content, content, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_crl_unavailable)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *stale[] = { stale_crl_path, NULL };
    sjm_trust *t = sjm_trust_load(ca_path, stale, errors);
    ck_assert_ptr_nonnull(t);
    sjm_verify_result r;
    detached(t, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_TEMPERROR, "crl-unavailable");
    sjm_verify_result_clear(&r);
    sjm_trust_free(t);
    /* A CRL only for another CA: none for the signer's issuer. */
    char *other[] = { other_crl_path, NULL };
    t = sjm_trust_load(ca_path, other, errors);
    ck_assert_ptr_nonnull(t);
    detached(t, alice, 0, content, content, &r);
    expect(&r, SJM_VERIFY_TEMPERROR, "crl-unavailable");
    ck_assert(!sjm_verify_code_invalid(r.code));
    sjm_verify_result_clear(&r);
    sjm_trust_free(t);
    g_ptr_array_free(errors, TRUE);
}
END_TEST

START_TEST(test_no_certificate)
{
    sjm_verify_result r;
    detached(trust, alice, CMS_NOCERTS, content, content, &r);
    expect(&r, SJM_VERIFY_PERMERROR, "no-certificate");
    ck_assert_ptr_null(r.identifier);
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_unsupported_algorithm)
{
    /* Rename SHA-256 (2.16.840.1.101.3.4.2.1) to an arc nobody implements
     * everywhere it appears: the digest cannot be computed. */
    GByteArray *sig = pki_sign(alice, content, strlen(content), CMS_DETACHED | CMS_NOATTR);
    static const guchar sha256[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
    int patched = 0;
    for (guchar *p = sig->data; (p = memmem(p, sig->len - (gsize)(p - sig->data), sha256, sizeof sha256)) != NULL; p++) {
        p[sizeof sha256 - 1] = 0x7f;
        patched++;
    }
    ck_assert_int_ge(patched, 2);
    sjm_verify_result r = {0};
    sjm_verify_detached(trust, sig->data, sig->len, (const guchar *)content, strlen(content),
                        time(NULL), &r);
    expect(&r, SJM_VERIFY_PERMERROR, "unsupported-algorithm");
    sjm_verify_result_clear(&r);
    g_byte_array_free(sig, TRUE);
}
END_TEST

START_TEST(test_wrong_purpose)
{
    sjm_verify_result r;
    detached(trust, server, 0, content, content, &r);
    expect(&r, SJM_VERIFY_POLICY, "wrong-purpose");
    sjm_verify_result_clear(&r);
}
END_TEST

START_TEST(test_expired_and_time)
{
    sjm_verify_result r;
    detached(trust, expired, 0, content, content, &r);
    expect(&r, SJM_VERIFY_POLICY, "expired");
    sjm_verify_result_clear(&r);

    /* The same signature judged at a time when the certificate was valid. */
    GByteArray *sig = pki_sign(expired, content, strlen(content), CMS_DETACHED);
    memset(&r, 0, sizeof r);
    sjm_verify_detached(trust, sig->data, sig->len, (const guchar *)content, strlen(content),
                        time(NULL) - 86400L * 3 / 2, &r);
    expect(&r, SJM_VERIFY_PASS, "valid");
    sjm_verify_result_clear(&r);
    /* Before alice's certificate existed. */
    g_byte_array_free(sig, TRUE);
    sig = pki_sign(alice, content, strlen(content), CMS_DETACHED);
    sjm_verify_detached(trust, sig->data, sig->len, (const guchar *)content, strlen(content),
                        time(NULL) - 7200, &r);
    expect(&r, SJM_VERIFY_POLICY, "not-yet-valid");
    sjm_verify_result_clear(&r);
    g_byte_array_free(sig, TRUE);

    ck_assert_int_le(labs((long)(sjm_verify_time() - time(NULL))), 1);
    sjm_verify_set_time(1000000000);
    ck_assert_int_eq((long)sjm_verify_time(), 1000000000L);
    sjm_verify_set_time(0);
    ck_assert_int_le(labs((long)(sjm_verify_time() - time(NULL))), 1);
}
END_TEST

START_TEST(test_unparseable)
{
    sjm_verify_result r = {0};
    sjm_verify_detached(trust, (const guchar *)"garbage", 7, (const guchar *)content,
                        strlen(content), time(NULL), &r);
    expect(&r, SJM_VERIFY_NEUTRAL, "unparseable");
    sjm_verify_result_clear(&r);
    sjm_verify_opaque(trust, NULL, 0, time(NULL), &r);
    expect(&r, SJM_VERIFY_NEUTRAL, "unparseable");
    sjm_verify_result_clear(&r);
    /* A detached signature handed over as opaque has no content. */
    GByteArray *sig = pki_sign(alice, content, strlen(content), CMS_DETACHED);
    sjm_verify_opaque(trust, sig->data, sig->len, time(NULL), &r);
    expect(&r, SJM_VERIFY_NEUTRAL, "unparseable");
    sjm_verify_result_clear(&r);
    /* Truncated DER. */
    sjm_verify_detached(trust, sig->data, sig->len / 2, (const guchar *)content,
                        strlen(content), time(NULL), &r);
    expect(&r, SJM_VERIFY_NEUTRAL, "unparseable");
    sjm_verify_result_clear(&r);
    g_byte_array_free(sig, TRUE);
    ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_trust_load_errors)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    ck_assert_ptr_null(sjm_trust_load("/nonexistent/anchors.pem", NULL, errors));
    ck_assert_uint_eq(errors->len, 1);
    ck_assert(g_str_has_prefix(g_ptr_array_index(errors, 0), "trust_anchors: /nonexistent/anchors.pem"));
    g_ptr_array_set_size(errors, 0);

    char *empty = g_build_filename(dir, "empty.pem", NULL);
    g_file_set_contents(empty, "", 0, NULL);
    ck_assert_ptr_null(sjm_trust_load(empty, NULL, errors));
    ck_assert_uint_eq(errors->len, 1);
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 0), "no certificate"));
    g_ptr_array_set_size(errors, 0);

    /* A CRL file that holds a certificate instead, and a missing one:
     * both named. */
    char *crls[] = { ca_path, "/nonexistent/x.crl", NULL };
    ck_assert_ptr_null(sjm_trust_load(ca_path, crls, errors));
    ck_assert_uint_eq(errors->len, 2);
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 0), "crl: "));
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 0), "no CRL found"));
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 1), "/nonexistent/x.crl"));
    g_free(empty);
    g_ptr_array_free(errors, TRUE);
}
END_TEST

/* ------------------------------------------------------------ authres */

START_TEST(test_authres_format)
{
    sjm_verify_result r = {
        .code = SJM_VERIFY_PASS, .reason = "valid",
        .identifier = "alice@corp.example", .serial = "1A2B",
        .issuer = "CN=Test CA,O=sjm test", .part = "2",
    };
    char *f = sjm_authres_smime("mx.corp.example", &r);
    ck_assert_str_eq(f, "mx.corp.example; smime=pass reason=\"valid\"\n"
                        "\tbody.smime-identifier=alice@corp.example body.smime-part=2\n"
                        "\tbody.smime-serial=1A2B body.smime-issuer=\"CN=Test CA,O=sjm test\"");
    g_free(f);

    /* Serial without issuer: neither; nothing unknown is invented. */
    sjm_verify_result s = { .code = SJM_VERIFY_PERMERROR, .reason = "no-certificate",
                            .serial = "01", .part = "1.2" };
    f = sjm_authres_smime("mx", &s);
    ck_assert_str_eq(f, "mx; smime=permerror reason=\"no-certificate\"\n\tbody.smime-part=1.2");
    g_free(f);
}
END_TEST

START_TEST(test_authres_quoting)
{
    sjm_verify_result r = {
        .code = SJM_VERIFY_FAIL, .reason = "bad-signature",
        .identifier = "\"odd local\"@corp.example", .serial = "FF",
        .issuer = "CN=A \\\"quoted\\\" CA,O=x\\,y", .part = "1",
    };
    char *f = sjm_authres_smime("mx", &r);
    ck_assert_ptr_nonnull(strstr(f, "body.smime-identifier=\"\\\"odd local\\\"@corp.example\""));
    ck_assert_ptr_nonnull(strstr(f, "body.smime-issuer=\"CN=A \\\\\\\"quoted\\\\\\\" CA,O=x\\\\,y\""));
    /* Every line of the folded field fits. */
    char **lines = g_strsplit(f, "\n", -1);
    for (char **l = lines; *l; l++)
        ck_assert_int_le(strlen(*l) + (l == lines ? strlen("Authentication-Results: ") : 0), 78);
    g_strfreev(lines);
    g_free(f);

    char *q = sjm_authres_quote("a\"b\\c\r\nd");
    ck_assert_str_eq(q, "\"a\\\"b\\\\cd\"");
    g_free(q);
    q = sjm_authres_quote("token-1.2");
    ck_assert_str_eq(q, "token-1.2");
    g_free(q);
}
END_TEST

START_TEST(test_authres_claims)
{
    ck_assert(sjm_authres_claims("mx.corp.example; smime=pass", "mx.corp.example"));
    ck_assert(sjm_authres_claims("MX.Corp.Example;\n\tsmime=pass", "mx.corp.example"));
    ck_assert(sjm_authres_claims(" (forged (nested)) mx.corp.example 1; none", "mx.corp.example"));
    ck_assert(sjm_authres_claims("\"mx.corp.example\"; smime=pass", "mx.corp.example"));
    ck_assert(sjm_authres_claims("mx.corp.example;smime=pass", "mx.corp.example"));
    ck_assert(!sjm_authres_claims("mx.corp.example.evil; smime=pass", "mx.corp.example"));
    ck_assert(!sjm_authres_claims("other.example; smime=pass mx.corp.example", "mx.corp.example"));
    ck_assert(!sjm_authres_claims("", "mx.corp.example"));
    ck_assert(!sjm_authres_claims("(unterminated comment mx.corp.example", "mx.corp.example"));
    /* What we write, we recognise. */
    sjm_verify_result r = { .code = SJM_VERIFY_PASS, .reason = "valid" };
    char *f = sjm_authres_smime("mx.corp.example", &r);
    ck_assert(sjm_authres_claims(f, "mx.corp.example"));
    g_free(f);
}
END_TEST

/* ------------------------------------------------ body only when needed */

static gboolean wants(const sjm_config *c, const char *ctype, gboolean strip)
{
    sjm_txn *t = sjm_txn_new();
    if (ctype != NULL)
        sjm_txn_add_header(t, "Content-Type", ctype);
    gboolean w = sjm_smime_wants_body(c, t, strip);
    sjm_txn_free(t);
    return w;
}

START_TEST(test_wants_body)
{
    sjm_config *c = sjm_config_new_default();
    ck_assert(!wants(c, "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b", FALSE));
    c->verify_enabled = TRUE;
    /* Plain mail is never read, verification on or off. */
    ck_assert(!wants(c, NULL, FALSE));
    ck_assert(!wants(c, "text/plain; charset=us-ascii", FALSE));
    ck_assert(!wants(c, "text/html", TRUE));
    ck_assert(!wants(c, "application/pdf", FALSE));
    /* Anything that can carry a signature is, even when nothing is stripped. */
    ck_assert(wants(c, "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b", FALSE));
    ck_assert(wants(c, "application/pkcs7-mime; smime-type=signed-data", FALSE));
    ck_assert(wants(c, "multipart/mixed; boundary=b", FALSE));
    sjm_config_unref(c);
}
END_TEST

Suite *sjm_test_suite(void)
{
    /* One process: the PKI is made once (RSA keys take a while). */
    sjm_test_no_fork();
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("verify");
    tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pass_rsa_detached);
    tcase_add_test(tc, test_pass_rsa_opaque);
    tcase_add_test(tc, test_pass_ecdsa);
    tcase_add_test(tc, test_pass_rsa_pss);
    tcase_add_test(tc, test_pass_noattr);
    tcase_add_test(tc, test_pass_canonical_crlf);
    tcase_add_test(tc, test_pass_directory_anchors);
    tcase_add_test(tc, test_pass_with_crl);
    tcase_add_test(tc, test_untrusted_selfsigned);
    tcase_add_test(tc, test_untrusted_other_ca);
    tcase_add_test(tc, test_tampered_detached);
    tcase_add_test(tc, test_tampered_opaque);
    tcase_add_test(tc, test_revoked);
    tcase_add_test(tc, test_crl_unavailable);
    tcase_add_test(tc, test_no_certificate);
    tcase_add_test(tc, test_unsupported_algorithm);
    tcase_add_test(tc, test_wrong_purpose);
    tcase_add_test(tc, test_expired_and_time);
    tcase_add_test(tc, test_unparseable);
    tcase_add_test(tc, test_trust_load_errors);
    suite_add_tcase(s, tc);

    TCase *ar = tcase_create("authres");
    tcase_add_test(ar, test_authres_format);
    tcase_add_test(ar, test_authres_quoting);
    tcase_add_test(ar, test_authres_claims);
    tcase_add_test(ar, test_wants_body);
    suite_add_tcase(s, ar);
    return s;
}
