/*
 * txn.h - one SMTP transaction as the core sees it, and the verdict the
 * core hands back.  The session layer (session.h) fills an sjm_txn for
 * both the milter and --inspect and applies the sjm_verdict; the core
 * only reads the one and writes the other.
 */
#ifndef SJM_TXN_H
#define SJM_TXN_H

#include <glib.h>
#include "spool.h"

typedef struct sjm_header {
    char *name;
    char *value;    /* as received, without the colon and leading space */
} sjm_header;

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

typedef enum {
    SJM_HDR_ADD,      /* append at the end of the header */
    SJM_HDR_INSERT,   /* insert at index (0 = very top) */
    SJM_HDR_CHANGE    /* change the index'th (1-based) occurrence of name; value NULL deletes */
} sjm_header_op;

typedef struct sjm_header_edit {
    sjm_header_op op;
    int index;
    char *name;
    char *value;
} sjm_header_edit;

typedef struct sjm_rcpt_add {
    char *addr;         /* without angle brackets */
    char *esmtp_args;   /* e.g. "NOTIFY=NEVER", or NULL */
} sjm_rcpt_add;

typedef enum {
    SJM_ACTION_CONTINUE,  /* deliver, after applying the edits */
    SJM_ACTION_TEMPFAIL,
    SJM_ACTION_REJECT
} sjm_action;

typedef struct sjm_verdict {
    sjm_action action;
    char *reply_code;       /* for TEMPFAIL/REJECT, e.g. "451" */
    char *reply_xcode;      /* e.g. "4.3.0" */
    char *reply_text;
    GPtrArray *header_edits;/* of sjm_header_edit*, applied in order */
    GPtrArray *rcpt_adds;   /* of sjm_rcpt_add* */
    GPtrArray *rcpt_dels;   /* of char*, envelope recipients to remove */
    sjm_spool *new_body;    /* replacement body, NULL = unchanged */
    char *signature;        /* summary value, see summary.h */
    char *journal;          /* summary value, see summary.h */
    GString *extra;         /* further " key=value" fields for the log line */
} sjm_verdict;

sjm_verdict *sjm_verdict_new(void);
void sjm_verdict_free(sjm_verdict *v);
void sjm_verdict_add_header(sjm_verdict *v, sjm_header_op op, int index,
                            const char *name, const char *value);
void sjm_verdict_add_rcpt(sjm_verdict *v, const char *addr, const char *esmtp_args);
void sjm_verdict_del_rcpt(sjm_verdict *v, const char *addr);
void sjm_verdict_set_reply(sjm_verdict *v, sjm_action action, const char *code,
                           const char *xcode, const char *text);
void sjm_verdict_set_signature(sjm_verdict *v, const char *summary);
void sjm_verdict_set_journal(sjm_verdict *v, const char *summary);
void sjm_verdict_add_extra(sjm_verdict *v, const char *key, const char *value);

#endif
