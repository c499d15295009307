/*
 * session.h - one SMTP transaction from MAIL FROM to end of message: the
 * single path that the milter callbacks and --inspect both drive.
 *
 * DESCRIPTION
 *   An adapter (milter.c for libmilter, inspect.c for a file) feeds the
 *   session the envelope, the header fields and the body in protocol
 *   order; the session owns everything else:
 *     - the trust decision for the client (sjm_session_client_trusted);
 *     - CRLF normalisation of the body, whatever the source hands in;
 *     - the calls into the core (core.h) at RCPT, end of header and end
 *       of message;
 *     - applying the plan through a table of MTA operations
 *       (sjm_mta_ops): libmilter's smfi_* in the daemon, an in-memory
 *       message (mta_file.h) in --inspect and the unit tests;
 *     - the failure policy: journal.on_failure when the MTA refuses to
 *       add a journal recipient, on_error when any other edit fails;
 *     - the one summary line (summary.h).
 *
 * INTERFACE
 *   sjm_session_new, _rcpt, _header, _eoh, _body, _eom in protocol order;
 *   sjm_session_apply_content for tests; sjm_session_client_trusted.
 *
 * ERROR CONTRACT
 *   Nothing here fails the caller: every internal problem becomes a
 *   plan (tempfail or accept, per the configuration) and is named in
 *   the summary.
 */
#ifndef SJM_SESSION_H
#define SJM_SESSION_H

#include "config.h"
#include "txn.h"

/* Who is talking to the MTA, as the MTA tells at connect and MAIL. */
typedef struct sjm_client {
    const char *addr;       /* textual IP; NULL or "" = local submission */
    const char *auth_name;  /* SASL login, NULL when not authenticated */
} sjm_client;

/*
 * How a plan reaches the MTA.  Each operation returns FALSE when the
 * MTA refused it.  Addresses come without angle brackets; esmtp_args is
 * NULL when there are none (and is dropped by an MTA that cannot take
 * them, which reports that through can_esmtp_args).
 */
typedef struct sjm_mta_ops {
    gboolean (*add_rcpt)(void *mta, const char *addr, const char *esmtp_args);
    gboolean (*del_rcpt)(void *mta, const char *addr);
    gboolean (*add_header)(void *mta, const char *name, const char *value);
    gboolean (*insert_header)(void *mta, int index, const char *name, const char *value);
    /* index'th (1-based) field NAME; value NULL deletes it */
    gboolean (*change_header)(void *mta, const char *name, int index, const char *value);
    /* called with consecutive chunks of the new body, at least once */
    gboolean (*replace_body)(void *mta, const guchar *chunk, gsize len);
    gboolean (*can_esmtp_args)(void *mta);
} sjm_mta_ops;

/* What the adapter answers the MTA at end of message. */
typedef struct sjm_outcome {
    sjm_action action;      /* CONTINUE = accept (edits applied) */
    char *reply_code;       /* for TEMPFAIL/REJECT */
    char *reply_xcode;
    char *reply_text;
    char *summary;          /* the summary line as --inspect prints it */
    char *log_line;         /* the same with the envelope, as logged after the queue id */
} sjm_outcome;

typedef struct sjm_session sjm_session;

/*
 * MAIL FROM: a new transaction under CFG (a reference is taken and held
 * until the session is freed, so a reload never changes the rules
 * halfway through a message).  SENDER is the raw MAIL FROM argument.
 */
sjm_session *sjm_session_new(sjm_config *cfg, const sjm_client *client,
                             const char *sender);
void sjm_session_free(sjm_session *s);

/* The queue id, whenever the MTA tells it (Postfix: from DATA on). */
void sjm_session_set_queue_id(sjm_session *s, const char *queue_id);

/* RCPT TO: NULL when accepted, else the text of a 550 5.7.1 refusal. */
const char *sjm_session_rcpt(sjm_session *s, const char *rcpt);
/* An accepted RCPT's ORCPT parameter value (RFC 3461), as the MTA gave it. */
void sjm_session_rcpt_orcpt(sjm_session *s, const char *rcpt, const char *orcpt);

/* One header field, value as received (folded lines joined by "\n"). */
void sjm_session_header(sjm_session *s, const char *name, const char *value);

/* End of header: TRUE when end of message needs the body bytes. */
gboolean sjm_session_eoh(sjm_session *s);

/*
 * A chunk of the body.  Bare LF becomes CRLF.  Returns FALSE when the
 * session needs no more body bytes (the adapter may skip the rest).
 */
gboolean sjm_session_body(sjm_session *s, const guchar *chunk, gsize len);

/*
 * End of message: decide, apply the plan through OPS on MTA, apply the
 * failure policy, and fill OUT (free with sjm_outcome_clear).
 */
void sjm_session_eom(sjm_session *s, const sjm_mta_ops *ops, void *mta, sjm_outcome *out);
void sjm_outcome_clear(sjm_outcome *out);

/*
 * The plan's header edits and replacement body through OPS (the part of
 * sjm_session_eom after the recipients), for tests that run a module
 * without a session.  FALSE when the MTA refused an edit.
 */
gboolean sjm_session_apply_content(const sjm_plan *p, const sjm_mta_ops *ops, void *mta);

/* The plan, once end of header opened it (NULL before); after end of
 * message it is the finished plan, for adapters that count or log it. */
const sjm_plan *sjm_session_plan(const sjm_session *s);

/*
 * --inspect: journal reports and split copies are described in the
 * summary (reinject=would-...), not submitted to the MTA.
 */
void sjm_session_dry_run(sjm_session *s);

/* The transaction gathered so far (for log lines of adapters). */
const sjm_txn *sjm_session_txn(const sjm_session *s);

/*
 * The trust rule, in one place: is this client's journal mark and
 * Authentication-Results header to be believed?
 */
gboolean sjm_session_client_trusted(const sjm_config *cfg, const sjm_client *client);

#endif
