/*
 * authres.h - the Authentication-Results header field (RFC 8601) for
 * S/MIME results (the "smime" method of RFC 7281), and the check the
 * header firewall needs: does a field claim our authserv-id?
 *
 * One field carries exactly one smime result, so a reader that rejects
 * one property (an issuer it cannot parse, say) loses only that result.
 * Property values are RFC 2045 tokens where possible and quoted strings
 * otherwise; long fields are folded with "\n\t" as milter header values
 * are.  Nothing here fails: every input gives a well-formed field.
 *
 * INTERFACE
 *   sjm_authres_smime (one field value), sjm_authres_claims (the
 *   firewall's test), sjm_authres_apply (the header work of [verify] into
 *   the plan).
 *
 * ERROR CONTRACT
 *   Nothing fails: every input gives a well-formed field.
 */
#ifndef SJM_AUTHRES_H
#define SJM_AUTHRES_H

#include <stdio.h>      /* config.h uses FILE */
#include <glib.h>
#include "config.h"
#include "txn.h"
#include "verify.h"

#define SJM_AUTHRES_FIELD "Authentication-Results"

/*
 * The field value (without "Authentication-Results:") for R:
 *   AUTHSERV-ID; smime=CODE reason="REASON" body.smime-identifier=ADDR
 *       body.smime-part=PART body.smime-serial=HEX body.smime-issuer="DN"
 * Properties R does not know are left out; serial and issuer appear only
 * together.  Free with g_free.
 */
char *sjm_authres_smime(const char *authserv_id, const sjm_verify_result *r);

/*
 * Does the Authentication-Results field VALUE (as received, possibly
 * folded, possibly with comments) name AUTHSERV_ID as its authserv-id?
 * Compared case-insensitively, as host names are.
 */
gboolean sjm_authres_claims(const char *value, const char *authserv_id);

/* VALUE as an RFC 2045 token if it is one, else as a quoted-string. */
char *sjm_authres_quote(const char *value);

/*
 * The header work of [verify] for one message, into P: first the header
 * firewall - every Authentication-Results field that claims our
 * authserv-id is deleted unless the client is trusted
 * (txn->client_trusted) - then one field per result of RESULTS
 * (sjm_verify_result*, may be NULL) inserted at the very top in document
 * order.  The results (copied), whether a signer is in From: and the
 * count of fields removed go into p->sig for the summary.
 */
void sjm_authres_apply(const sjm_config *cfg, const sjm_txn *txn,
                       const GPtrArray *results, sjm_plan *p);

#endif
