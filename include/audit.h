/*
 * audit.h - smime-journal-milter --audit: does the archive hold every
 * message the ledger says was journaled, unaltered, and nothing else;
 * and is the ledger the one its signed checkpoints describe?
 *
 * Files: audit.c (ledgers, checkpoints, matching, the report) and
 * audit_archive.c (reading Maildir, a directory of .eml files or an
 * mbox, and the original inside a journal report).
 *
 * INTERFACE
 *   sjm_audit_run (the whole audit, its report and exit status);
 *   sjm_archived_from_bytes for one archived copy.
 *
 * ERROR CONTRACT
 *   Every problem is a finding in the report or an exit status, never a
 *   crash; the status says which kind:
 *
 * EXIT STATUS (smime-journal-milter(8), AUDIT)
 *   0  complete: every check passed
 *   1  the archive disagrees with the ledger (missing, altered or
 *      unlisted copies) -- the ledger itself is sound
 *   2  the ledger or its checkpoints are not what was signed (truncated,
 *      rewritten, forged), whatever the archive says
 *   64 usage, 66 an input cannot be read
 */
#ifndef SJM_AUDIT_H
#define SJM_AUDIT_H

#include <glib.h>

#define SJM_AUDIT_OK 0
#define SJM_AUDIT_ARCHIVE 1
#define SJM_AUDIT_LEDGER 2

typedef struct sjm_audit_opts {
    GPtrArray *ledgers;         /* of const char*: ledger directories */
    GPtrArray *verifier_keys;   /* of const char*: NAME+ID+KEY, one per origin */
    GPtrArray *trusted;         /* of const char*: trusted checkpoint files */
    const char *maildir;        /* one of these three */
    const char *eml_dir;
    const char *mbox;
    const char *find;           /* --find MESSAGE-ID: answer only that */
    gboolean json;
} sjm_audit_opts;

int sjm_audit_run(const sjm_audit_opts *o);

/* ---- audit_archive.c */

typedef struct sjm_archived {
    char *where;            /* path, or mbox:N */
    char *message_id;       /* of the journaled original, as entries record it */
    char *mailbox;          /* Delivered-To (lower case), NULL when absent */
    gboolean has_digest;
    guchar digest[32];      /* body digest of the original (bodyhash.h) */
    gboolean report;        /* the copy was a journal report */
    gboolean used;
} sjm_archived;

/* One message's bytes as an archived copy: a report is unwrapped. */
sjm_archived *sjm_archived_from_bytes(const char *where, const char *data, gsize len);
void sjm_archived_free(gpointer a);

/* Every message under the source O names; NULL with ERR when unreadable.
 * PROGRESS is called now and then with the count read so far. */
GPtrArray *sjm_archive_read(const sjm_audit_opts *o, void (*progress)(guint64 n), GError **err);

#endif
