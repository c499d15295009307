/*
 * verify.h - S/MIME signature verification against the organisation's
 * trust list ([verify] in smime-journal-milter.conf(5)), independent of MIME: callers
 * hand in the CMS DER of a signature (and, for a detached signature, the
 * exact bytes of the signed entity) and get a result they can put into
 * Authentication-Results (authres.h) and the log.
 *
 * The trust store (sjm_trust) is built once per configuration load and
 * owned by the configuration, so a SIGHUP reload rebuilds it and no
 * message ever pays for reading certificate files.  It is only read
 * while verifying, so one store serves every thread at once.
 *
 * Results (RFC 7281 codes, with a reason token for the log and the
 * Authentication-Results reason):
 *   pass       valid            signature intact, signer chains to a trust
 *                               anchor, emailProtection, not revoked, valid
 *                               at the arrival time
 *   fail       bad-signature    content or signed attributes altered
 *   fail       revoked          signer certificate on a configured CRL
 *   policy     untrusted-signer signature intact, chain does not reach a
 *                               trust anchor (self-signed, unknown CA)
 *   policy     expired          signer or CA certificate expired (or not
 *              not-yet-valid    yet valid) at the arrival time
 *   policy     wrong-purpose    certificate not for emailProtection
 *   policy     bad-certificate  any other certificate chain error
 *   neutral    unparseable      not a CMS signedData with a signer
 *   permerror  no-certificate   the signer's certificate is not in the
 *                               message
 *   permerror  unsupported-algorithm  digest or signature algorithm
 *                               OpenSSL cannot compute
 *   temperror  crl-unavailable  revocation checking is on, but no current
 *                               CRL for the signer's issuer
 *   temperror  internal         out of memory or another internal failure
 * None of these is an error for the caller: every input yields a result.
 *
 * INTERFACE
 *   sjm_trust_load per configuration load; sjm_verify_detached and
 *   sjm_verify_opaque per signature.
 *
 * ERROR CONTRACT
 *   sjm_trust_load returns NULL and names each problem by its key;
 *   verification never fails the caller: every input yields a result.
 */
#ifndef SJM_VERIFY_H
#define SJM_VERIFY_H

#include <time.h>
#include <glib.h>

typedef enum {
    SJM_VERIFY_PASS,
    SJM_VERIFY_FAIL,
    SJM_VERIFY_POLICY,
    SJM_VERIFY_NEUTRAL,
    SJM_VERIFY_TEMPERROR,
    SJM_VERIFY_PERMERROR
} sjm_verify_code;

typedef struct sjm_verify_result {
    sjm_verify_code code;
    const char *reason;     /* static token, see above */
    char *identifier;       /* signer's e-mail address, NULL if none */
    char *serial;           /* signer certificate serial, hex; NULL if unknown */
    char *issuer;           /* its issuer, RFC 4514 string; NULL if unknown */
    char *part;             /* IMAP-style part number; set by the caller */
} sjm_verify_result;

typedef struct sjm_trust sjm_trust;

/*
 * Build a store from ANCHORS (a PEM file, or a directory whose regular
 * files are read as PEM; files without certificates are skipped) and the
 * NULL-terminated list of PEM CRL files CRLS (NULL or empty: no
 * revocation checking).  On failure returns NULL and appends one message
 * per problem to ERRORS (char*, g_free'd by the caller), each starting
 * with the offending key ("trust_anchors: ..." or "crl: ...").
 */
sjm_trust *sjm_trust_load(const char *anchors, char *const *crls, GPtrArray *errors);
void sjm_trust_free(sjm_trust *t);

/* A detached signature SIG over the exact bytes CONTENT, checked at AT. */
void sjm_verify_detached(const sjm_trust *t, const guchar *sig, gsize siglen,
                         const guchar *content, gsize clen, time_t at,
                         sjm_verify_result *r);

/* An opaque signature: the content is inside DER. */
void sjm_verify_opaque(const sjm_trust *t, const guchar *der, gsize len, time_t at,
                       sjm_verify_result *r);

void sjm_verify_result_clear(sjm_verify_result *r);

/* "pass", "fail", ... as in RFC 7281. */
const char *sjm_verify_code_name(sjm_verify_code code);

/* Is a result of this code "invalid" for [verify] on_invalid = strip?
 * Everything but pass and temperror (a transient failure says nothing
 * about the signature). */
gboolean sjm_verify_code_invalid(sjm_verify_code code);

/*
 * The time signatures are checked at: the message's arrival (now) unless
 * a test fixed it with sjm_verify_set_time (0 = back to now).  For
 * --inspect --verify-time and the unit tests only: certificates in a
 * test corpus expire, live mail must be judged when it arrives.
 */
void sjm_verify_set_time(time_t at);
time_t sjm_verify_time(void);

#endif
