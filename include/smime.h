/*
 * smime.h - S/MIME detection and signature stripping over a whole
 * message.  Reads the headers and the spooled body of a transaction and
 * writes its outcome into the transaction's plan: the signature outcome,
 * the verification results, top-level Content-* header edits and a
 * replacement body (and, for a split, the stripped copy's).
 *
 * INTERFACE
 *   sjm_smime_wants_body at end of header; sjm_smime_process at end of
 *   message; init and shutdown once per process.
 *
 * ERROR CONTRACT
 *   Bad input sets the outcome malformed and passes the message
 *   unchanged; only an internal failure (I/O, memory) returns FALSE.
 */
#ifndef SJM_SMIME_H
#define SJM_SMIME_H

#include "config.h"
#include "txn.h"

/*
 * From the top-level headers alone: can stripping (STRIP true) or a
 * scan possibly change or need the body?  FALSE lets the adapter skip
 * the body entirely.
 */
gboolean sjm_smime_wants_body(const sjm_config *cfg, const sjm_txn *txn, gboolean strip);

/* Whose signatures go: nobody's (but [verify]'s drops), everybody's, or
 * the legacy recipients' of a split, rendered apart from the rest. */
typedef enum {
    SJM_SMIME_PRESERVE,
    SJM_SMIME_STRIP,
    SJM_SMIME_SPLIT
} sjm_smime_mode;

/*
 * Sets p->sig (outcome, counts, verification) and, when stripping, adds
 * header edits and p->new_body; for SPLIT also p->split_body and
 * p->split_edits, from the same single scan.  txn->body may be NULL
 * (body was skipped): then only the headers are classified.  Returns
 * FALSE only on an internal failure (out of memory, temp file write
 * error); the message then passes per on_error and the caller resets the
 * signature work (sjm_plan_reset_signature).
 */
gboolean sjm_smime_process(const sjm_config *cfg, const sjm_txn *txn,
                           sjm_smime_mode mode, sjm_plan *p);

/* Knobs of one scan that are not configuration. */
typedef struct sjm_smime_opts {
    /*
     * Opaque signatures whose encoded size exceeds this have their
     * content taken out by a streaming walker instead of OpenSSL's
     * in-memory parser, so memory stays flat.  Tests set 0 to run every
     * blob through the walker.
     */
    gsize stream_threshold;
} sjm_smime_opts;

#define SJM_SMIME_STREAM_THRESHOLD (1024 * 1024)

/* sjm_smime_process() with OPTS; NULL means the defaults above. */
gboolean sjm_smime_process_opts(const sjm_config *cfg, const sjm_txn *txn, sjm_smime_mode mode,
                                const sjm_smime_opts *opts, sjm_plan *p);

/* Library initialisation (GMime, OpenSSL), once per process. */
void sjm_smime_init(void);
void sjm_smime_shutdown(void);

#endif
