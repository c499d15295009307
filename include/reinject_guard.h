/*
 * reinject_guard.h - the re-injection listener admits only what this
 * filter submitted: a per-message token under a key, checked by the
 * filter itself, which runs as the listener's milter.
 *
 * DESCRIPTION
 *   Journal reports, the original for the journal and split copies are
 *   submitted to an SMTP listener of the MTA ([milter] reinject).  That
 *   listener must not be a way around the filter: any local process can
 *   connect to a loopback port.  So the listener keeps this filter as
 *   its milter, and the filter recognises a listener connection by the
 *   MTA's {daemon_name} macro ([milter] reinject_daemon_name).  There it
 *   neither journals nor strips (re-injection stays loop-free); it
 *   admits a message only when it carries exactly one token header
 *
 *     X-SMIME-Journal-Milter-Reinject: v=1; t=TIME; n=NONCE; mac=HEX
 *
 *   whose MAC verifies for the envelope the listener saw, whose time is
 *   recent and whose nonce was never admitted before; the header is
 *   deleted before the message is queued.  Everything else is refused.
 *
 *   The MAC is lower-case hex HMAC-SHA256, under the token key, of
 *     "sjm-reinject\nv=1\nt=TIME\nn=NONCE\nfrom=SENDER\n"
 *   followed by "to=RCPT\n" for each recipient, the recipients sorted
 *   bytewise; addresses lower-cased, without angle brackets, the null
 *   sender as "".  The token key is HMAC-SHA256(mark key,
 *   "sjm-reinject-token-key") when [journal] mark_key_file is set, so
 *   that every filter instance sharing that key may check another's
 *   tokens; without it, 32 random bytes drawn once per process (the
 *   process that writes a token is the one that checks it).
 *
 * INTERFACE
 *   sjm_guard_key() gives the key under a configuration,
 *   sjm_guard_token() makes a header value, sjm_guard_check() decides
 *   for the header values a message carried.  The replay memory is an
 *   object of its own (sjm_guard_replay), one per process in the daemon
 *   (sjm_guard_replay_process()), one per case in the unit tests.
 *
 * ERROR CONTRACT
 *   Fail-closed: when no key can be made (the random source failed)
 *   sjm_guard_token() returns NULL and the submission fails;
 *   sjm_guard_check() admits nothing it cannot verify.  Thread-safe.
 */
#ifndef SJM_REINJECT_GUARD_H
#define SJM_REINJECT_GUARD_H

#include <glib.h>
#include "config.h"

#define SJM_REINJECT_TOKEN_HEADER "X-SMIME-Journal-Milter-Reinject"
/* A token is good this long after it was made (seconds): re-injection
 * happens while the original transaction waits, within seconds. */
#define SJM_REINJECT_TOKEN_MAX_AGE 300
/* ... and this far in the future, for clocks of several hosts sharing
 * the key (one host's filter reads its own clock). */
#define SJM_REINJECT_TOKEN_MAX_SKEW 60

/* What the guard decided for one message on the listener. */
typedef enum {
    SJM_GUARD_ADMITTED,         /* a token of ours, first use: header deleted, queued */
    SJM_GUARD_NO_TOKEN,
    SJM_GUARD_SEVERAL_TOKENS,
    SJM_GUARD_MALFORMED,
    SJM_GUARD_BAD_MAC,          /* not ours, or for another envelope */
    SJM_GUARD_EXPIRED,          /* older than SJM_REINJECT_TOKEN_MAX_AGE */
    SJM_GUARD_FUTURE,
    SJM_GUARD_REPLAYED,         /* this nonce was admitted before */
    SJM_GUARD_NO_KEY,
    SJM_GUARD_REPLAY_FULL,      /* too many live nonces to remember one more */
    SJM_GUARD_VERDICT_COUNT
} sjm_guard_verdict;

/* "admitted", "no-token", "bad-mac", ... (the log's and the counters' names). */
const char *sjm_guard_verdict_name(sjm_guard_verdict v);

/* The nonces admitted within the last SJM_REINJECT_TOKEN_MAX_AGE seconds. */
typedef struct sjm_guard_replay sjm_guard_replay;
/* At most MAX live nonces; beyond that a new one is refused (REPLAY_FULL). */
sjm_guard_replay *sjm_guard_replay_new(guint max);
void sjm_guard_replay_free(sjm_guard_replay *r);
/* The daemon's one replay memory. */
sjm_guard_replay *sjm_guard_replay_process(void);

/* The token key under CFG (a new reference), NULL when none could be made. */
GBytes *sjm_guard_key(const sjm_config *cfg);

/*
 * A header value for a message from SENDER to the N_RCPTS RCPTS, made at
 * NOW (seconds since the epoch); NULL when KEY is NULL or no nonce could
 * be drawn.  NONCE NULL draws a random one (tests pass their own).
 */
char *sjm_guard_token(GBytes *key, gint64 now, const char *nonce, const char *sender,
                      const char *const *rcpts, guint n_rcpts);

/*
 * The verdict for a message that carried the N_VALUES token header
 * VALUES, with envelope SENDER and RCPTS as the MTA gave them (angle
 * brackets allowed), at NOW.  An admitted nonce is remembered in REPLAY.
 */
sjm_guard_verdict sjm_guard_check(sjm_guard_replay *replay, GBytes *key, gint64 now,
                                  const char *const *values, guint n_values,
                                  const char *sender, const char *const *rcpts, guint n_rcpts);

/*
 * Did REPLAY admit the token TOKEN_VALUE?  After the listener accepted a
 * submission it must have, when the listener runs this filter: the
 * submitting side asks, to find a listener left without its guard.
 */
gboolean sjm_guard_replay_knows(sjm_guard_replay *r, const char *token_value);

/* The daemon's count of each verdict since start (for logs and tests). */
void sjm_guard_count(sjm_guard_verdict v);
guint64 sjm_guard_counted(sjm_guard_verdict v);

/* Is NAME the token header (any case)? */
gboolean sjm_guard_is_token_header(const char *name);

#endif
