/*
 * ledger.h - the journal ledger: one append-only entry per transaction
 * the filter decides, made durable before the MTA hears the answer, and
 * hashed into a Merkle tree whose signed checkpoints prove that nobody
 * rewrote it (smime-journal-milter(8), JOURNAL LEDGER; the entry format
 * is documented there byte for byte).
 *
 * Files implementing it:
 *   ledger_entry.c       the entry: encoding from a finished plan, parsing;
 *   ledger_store.c       segment files: framing, scanning, torn-tail repair;
 *   ledger.c             the writer thread (group commit) and checkpoints;
 *   ledger_tree.c        RFC 6962 hashing (ledger_tree.h);
 *   ledger_checkpoint.c  signed notes (ledger_checkpoint.h).
 *
 * INTERFACE
 *   sjm_ledger_start/record/stop for the daemon (one writer thread),
 *   sjm_ledger_entry_encode/parse for the entry format, sjm_ledger_scan and
 *   _repair for segment files (the audit and start-up).
 *
 * ERROR CONTRACT
 *   sjm_ledger_record() returns FALSE when the entry is not on disk; the
 *   session then refuses the message (SJM_REFUSAL_LEDGER), so no message
 *   the MTA accepted lacks its entry.
 */
#ifndef SJM_LEDGER_H
#define SJM_LEDGER_H

#include <glib.h>
#include "config.h"
#include "ledger_tree.h"
#include "txn.h"

/* ------------------------------------------------------------ entries */

#define SJM_LEDGER_MAGIC "sjm-ledger 1"

/* One entry, parsed (the audit's view; strings are the names plan.c prints). */
typedef struct sjm_ledger_entry {
    char *time;             /* RFC 3339 UTC */
    char *host;
    char *queue_id;
    char *sender;           /* "" = null sender */
    GPtrArray *rcpts;       /* of char* */
    char *message_id;       /* "" when the message had none */
    char *action;           /* continue, tempfail, reject */
    char *refusal;
    char *journal;          /* sjm_journal_status_name */
    char *reason;
    char *evidence;
    char *mode;             /* bcc, report */
    GPtrArray *mailboxes;   /* of char* */
    char *signature;        /* the summary's signature= token */
    gboolean has_digest;
    guchar digest[32];
} sjm_ledger_entry;

/* The entry of a finished plan, at time NOW_US (g_get_real_time()). */
GString *sjm_ledger_entry_encode(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p,
                                 gint64 now_us);
/* NULL when DATA is not an entry of this format. */
sjm_ledger_entry *sjm_ledger_entry_parse(const guchar *data, gsize len);
void sjm_ledger_entry_free(sjm_ledger_entry *e);
/* A Message-ID field value as entries record it: no line breaks, trimmed. */
char *sjm_ledger_message_id(const char *value);

/* ------------------------------------------------------------ segments */

/* ledger-NNNNNNNNNNNNNNNNNNNN.sjl: the index of the segment's first entry. */
#define SJM_LEDGER_SEGMENT_FMT "ledger-%020" G_GUINT64_FORMAT ".sjl"
/* A record: 4-byte big-endian length, the entry, its leaf hash. */
#define SJM_LEDGER_RECORD_OVERHEAD (4 + SJM_HASH_LEN)

/* Called for each record in index order; FALSE stops the scan.  LEAF
 * is the stored leaf hash; INTACT says whether it is the entry's. */
typedef gboolean (*sjm_ledger_visit)(guint64 index, const guchar *entry, gsize len,
                                     const sjm_hash *leaf, gboolean intact, gpointer data);

typedef struct sjm_ledger_scan_result {
    guint64 size;           /* entries found intact */
    char *last_segment;     /* path, NULL when there is none */
    guint64 last_first;     /* index of its first entry */
    guint64 last_bytes;     /* intact bytes in it */
    guint64 torn_bytes;     /* bytes after them (a torn tail), 0 when clean */
    char *damage;           /* NULL, or why an entry short of the tail is bad */
} sjm_ledger_scan_result;

/*
 * Read every segment of DIR in order, checking each record's leaf hash
 * against its entry.  A bad record in the last segment's tail is a torn
 * write (sjm_ledger_repair cuts it); one anywhere else is damage.
 * With ALL, a record whose framing holds but whose hash does not match
 * is visited (INTACT FALSE) and the scan goes on: the audit's view.
 * FALSE (with ERR) when DIR cannot be read.
 */
gboolean sjm_ledger_scan(const char *dir, gboolean all, sjm_ledger_visit visit, gpointer data,
                         sjm_ledger_scan_result *res, GError **err);
void sjm_ledger_scan_result_clear(sjm_ledger_scan_result *r);
/* Cut RES's torn tail, keeping the bytes in DIR/torn-<segment>-<offset>. */
gboolean sjm_ledger_repair(const char *dir, const sjm_ledger_scan_result *res, GError **err);
/* The framed record of ENTRY into OUT. */
void sjm_ledger_frame(const guchar *entry, gsize len, GByteArray *out);

/* ------------------------------------------------------------ the writer */

typedef struct sjm_ledger sjm_ledger;

typedef struct sjm_ledger_opts {
    const char *dir;
    const char *key_file;           /* Ed25519 PEM private key */
    const char *origin;             /* checkpoint origin and key name */
    guint checkpoint_interval;      /* seconds */
    guint checkpoint_entries;
    guint64 segment_entries;
} sjm_ledger_opts;

/* Repair the tail, rebuild the tree's right edge, start the writer. */
sjm_ledger *sjm_ledger_open(const sjm_ledger_opts *o, GError **err);
/* Append ENTRY; returns once it is on disk (TRUE) or cannot be (FALSE). */
gboolean sjm_ledger_append(sjm_ledger *l, const guchar *entry, gsize len);
/* Entries on disk. */
guint64 sjm_ledger_size(sjm_ledger *l);
/* Write a checkpoint now (the writer does so on its schedule). */
gboolean sjm_ledger_checkpoint_now(sjm_ledger *l);
/* Stop the writer after a last checkpoint. */
void sjm_ledger_close(sjm_ledger *l);

/* The daemon's ledger: none unless [ledger] dir is set. */
gboolean sjm_ledger_start(const sjm_config *cfg);
void sjm_ledger_stop(void);
/*
 * The entry of the finished plan, durable: TRUE when it is on disk or
 * there is no ledger configured, FALSE when the message must be refused.
 */
gboolean sjm_ledger_record(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p);

/* --prove: print the inclusion proof of entry INDEX (when >= 0) or the
 * consistency proof from OLD entries, in the tree of SIZE entries of DIR.
 * Returns an exit status. */
int sjm_ledger_prove(const char *dir, guint64 size, gint64 index, gint64 old);

/* The origin a configuration names (host name based when unset). */
char *sjm_ledger_origin(const sjm_config *cfg);

#endif
