/*
 * txn.h - one SMTP transaction as the core sees it.  The session layer
 * (session.h) fills an sjm_txn for both the milter and --inspect; the
 * core only reads it and writes the transaction's plan (plan.h).
 *
 * INTERFACE
 *   sjm_txn_new and _free, the setters the session calls in protocol
 *   order, sjm_txn_header and sjm_txn_local_submission.
 *
 * ERROR CONTRACT
 *   None: addresses are normalised as given.
 */
#ifndef SJM_TXN_H
#define SJM_TXN_H

#include <glib.h>
#include "spool.h"
#include "plan.h"

typedef struct sjm_header {
    char *name;
    char *value;    /* as received, without the colon and leading space */
} sjm_header;

sjm_header *sjm_header_new(const char *name, const char *value);
void sjm_header_free(gpointer h);

typedef struct sjm_txn {
    char *queue_id;         /* "NOQUEUE" until the MTA tells */
    char *client_addr;      /* textual IP, "" when unknown (local submission) */
    gboolean client_trusted;/* client_addr in trusted_networks, or local submission */
    char *auth_name;        /* SASL login, NULL when not authenticated */
    char *sender;           /* normalized (no <>, lower case); "" = null sender */
    GPtrArray *rcpts;       /* of char*, normalized envelope recipients */
    GPtrArray *refused;     /* of char*, "ADDR(REPLY)" for each RCPT refused */
    GPtrArray *rcpts_raw;   /* of char*, the same as given (no <>), same order */
    GPtrArray *headers;     /* of sjm_header*, in order */
    GHashTable *orcpt;      /* normalized rcpt -> the address it was expanded from
                             * (RCPT TO ORCPT=rfc822;..., RFC 3461), normalized;
                             * NULL until a recipient carries one */
    sjm_spool *body;        /* NULL when the core said it does not need the body */
    gboolean body_failed;   /* storing the body failed (disk full): internal error */
    gboolean has_body_digest;   /* the whole body was seen and digested */
    guchar body_digest[32];     /* its canonical digest (bodyhash.h) */
    gint64 start_us;        /* g_get_monotonic_time() at MAIL FROM */
} sjm_txn;

sjm_txn *sjm_txn_new(void);
void sjm_txn_free(sjm_txn *txn);
void sjm_txn_set_sender(sjm_txn *txn, const char *raw);
void sjm_txn_add_rcpt(sjm_txn *txn, const char *raw);
/* Record RCPT's ORCPT parameter value (xtext, "rfc822;ADDR"); a value
 * that is not an rfc822 address is ignored. */
void sjm_txn_set_orcpt(sjm_txn *txn, const char *rcpt, const char *orcpt_xtext);
/* The address RCPT was expanded from, or NULL (none, or the same). */
const char *sjm_txn_orcpt(const sjm_txn *txn, const char *rcpt);
void sjm_txn_add_header(sjm_txn *txn, const char *name, const char *value);
/* Value of the first header named NAME (case-insensitive), or NULL. */
const char *sjm_txn_header(const sjm_txn *txn, const char *name);
/*
 * Did the message come from a local process (sendmail(1), pickup) rather
 * than over a network connection?  The MTA then names no client address.
 */
gboolean sjm_txn_local_submission(const sjm_txn *txn);

#endif
