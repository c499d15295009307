/*
 * bodyhash.h - the canonical digest of a message body, as journal marks
 * bind it (smime-journal-milter.conf(5), JOURNAL MARKS).
 *
 * The body is canonicalised the way DKIM's "relaxed" body algorithm does
 * (RFC 6376 section 3.4.4), then hashed with SHA-256:
 *   - a line ends at LF; a CR right before it is dropped, so CRLF and LF
 *     bodies hash the same;
 *   - runs of spaces and tabs become one space, and those at the end of
 *     a line go;
 *   - empty lines at the end of the body go; a non-empty body ends in one
 *     CRLF.
 * The digest equals the "bh=" a DKIM signer computes with c=relaxed/..
 * and a=rsa-sha256 over the whole body, so any DKIM library can check it.
 * What later hops legitimately change (trailing white space, line ends,
 * a final newline) leaves the digest as it was; what a person could read
 * differently does not.  A relay that re-encodes the body (8bit to
 * quoted-printable) changes it: the message is then journaled again, a
 * duplicate, never a loss.
 *
 * INTERFACE
 *   sjm_bodyhash_new(), _update() with consecutive chunks of any size,
 *   _finish() into 32 bytes; sjm_bodyhash_spool() for a whole spool.
 *
 * ERROR CONTRACT
 *   _finish() and _spool() return FALSE only when OpenSSL or a spool read
 *   fails; the digest is then not to be used.
 */
#ifndef SJM_BODYHASH_H
#define SJM_BODYHASH_H

#include <glib.h>
#include "spool.h"

#define SJM_BODYHASH_LEN 32

typedef struct sjm_bodyhash sjm_bodyhash;

sjm_bodyhash *sjm_bodyhash_new(void);
void sjm_bodyhash_update(sjm_bodyhash *h, const guchar *data, gsize len);
/* The digest into OUT; frees H either way. */
gboolean sjm_bodyhash_finish(sjm_bodyhash *h, guchar out[SJM_BODYHASH_LEN]);
void sjm_bodyhash_free(sjm_bodyhash *h);

/* The digest of the bytes of S. */
gboolean sjm_bodyhash_spool(sjm_spool *s, guchar out[SJM_BODYHASH_LEN]);
/* The digest of DATA[0..LEN). */
gboolean sjm_bodyhash_data(const guchar *data, gsize len, guchar out[SJM_BODYHASH_LEN]);

#endif
