/*
 * reinject.h - submit a new message back to the MTA over SMTP.
 *
 * DESCRIPTION
 *   A milter can edit only the one message of its transaction.  Journal
 *   reports, the original for the journal when the delivered copy was
 *   stripped, and the stripped copy of a split delivery are new messages:
 *   this module hands them to an SMTP listener of the MTA (Postfix: a
 *   second smtpd in master.cf, see etc/postfix-master.cf.snippet).  That
 *   listener runs this filter as its milter, which there only checks the
 *   per-message token delivery.c puts on every submission
 *   (reinject_guard.h): nothing is filtered twice, and nothing but the
 *   filter's own messages gets through.
 *
 * INTERFACE
 *   sjm_reinject_submit() sends one message (sender, recipients with
 *   their ESMTP arguments, content as a list of pieces) and returns TRUE
 *   only after the listener answered 250 to the end of DATA, i.e. after
 *   the MTA has taken responsibility for it.  Connections are kept in a
 *   small process-wide pool and reused (RSET-free: each successful
 *   transaction leaves the session ready for the next MAIL); a pooled
 *   connection that turns out dead before DATA is replaced once.
 *
 * ERROR CONTRACT
 *   FALSE with *error set (g_free it) on any failure: connection refused,
 *   timeout (every wait is bounded by the target's timeout), a non-2xx
 *   reply to MAIL/RCPT/DATA or to the final dot.  On FALSE the message
 *   may, in one case only, have been accepted: the reply to the final dot
 *   was lost (timeout or disconnect after the dot was sent).  Callers
 *   tempfail then; the retry may deliver that one message twice, which is
 *   why re-injected messages carry stable identities (see
 *   journal_report.h).  Thread-safe.
 */
#ifndef SJM_REINJECT_H
#define SJM_REINJECT_H

#include <glib.h>
#include "spool.h"

typedef struct sjm_reinject_target {
    const char *host;       /* numeric address or name, e.g. "127.0.0.1" */
    const char *port;       /* service, e.g. "10026" */
    guint timeout_s;        /* bound on connect and on every reply */
} sjm_reinject_target;

/* One piece of message content: bytes, or a whole spool. */
typedef struct sjm_piece {
    const guchar *data;
    gsize len;
    sjm_spool *spool;       /* when non-NULL, data/len are ignored */
} sjm_piece;

typedef struct sjm_reinject_rcpt {
    const char *addr;       /* without angle brackets */
    const char *esmtp_args; /* e.g. "NOTIFY=NEVER", or NULL */
} sjm_reinject_rcpt;

/*
 * Submit one message.  SENDER "" is the null sender.  The content is
 * the concatenation of PIECES, CRLF line ends (bare LF is sent as CRLF);
 * dot-stuffing and the terminating dot are done here.
 */
gboolean sjm_reinject_submit(const sjm_reinject_target *t, const char *sender,
                             const sjm_reinject_rcpt *rcpts, guint n_rcpts,
                             const sjm_piece *pieces, guint n_pieces,
                             char **error);

/*
 * "host:port" or "[v6addr]:port" (port 1-65535): TRUE when well formed,
 * and then, for non-NULL HOST/PORT, its parts (new strings).
 */
gboolean sjm_split_host_port(const char *text, char **host, char **port);

/* Close every pooled connection (at shutdown, and in tests). */
void sjm_reinject_pool_drain(void);

/* Counters for tests and benchmarks: connections opened since start. */
guint sjm_reinject_connections_opened(void);

#endif
