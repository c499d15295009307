/*
 * ledger_checkpoint.h - signed checkpoints of the ledger's tree, in the
 * C2SP formats that Go's golang.org/x/mod/sumdb/note and sumdb/tlog
 * read (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
 *
 *   ORIGIN LF  SIZE LF  BASE64(ROOT) LF           the note text
 *   LF
 *   "— " NAME SP BASE64(KEYID || SIGNATURE) LF    one signature line
 *
 * SIGNATURE is Ed25519 (RFC 8032) over the note text; KEYID is the
 * first 4 bytes of SHA-256(NAME || LF || 0x01 || PUBLIC KEY).  The
 * verifier key a person gives the audit is
 * NAME "+" HEX(KEYID) "+" BASE64(0x01 || PUBLIC KEY).
 *
 * INTERFACE
 *   sjm_ckpt_key_generate, sjm_ckpt_verifier_key, sjm_ckpt_sign,
 *   sjm_ckpt_verify.
 *
 * ERROR CONTRACT
 *   Every function that can fail returns NULL/FALSE and sets ERR.
 */
#ifndef SJM_LEDGER_CHECKPOINT_H
#define SJM_LEDGER_CHECKPOINT_H

#include <glib.h>
#include <openssl/evp.h>
#include "ledger_tree.h"

/* The Ed25519 private key in PEM (PKCS#8) at PATH. */
EVP_PKEY *sjm_ckpt_key_load(const char *path, GError **err);
/* A new key at PATH (mode 0600, never over an existing file). */
gboolean sjm_ckpt_key_generate(const char *path, GError **err);
/* The verifier key of KEY under NAME. */
char *sjm_ckpt_verifier_key(const char *name, EVP_PKEY *key, GError **err);

/* The signed checkpoint of the tree (SIZE, ROOT). */
char *sjm_ckpt_sign(const char *origin, guint64 size, const sjm_hash *root, EVP_PKEY *key,
                    GError **err);

typedef struct sjm_checkpoint {
    char *origin;
    guint64 size;
    sjm_hash root;
} sjm_checkpoint;

/*
 * Parse NOTE and check it carries a valid signature by VERIFIER_KEY
 * (and the key's name is the origin).  Fills CP; FALSE with the reason.
 */
gboolean sjm_ckpt_verify(const char *note, gsize len, const char *verifier_key,
                         sjm_checkpoint *cp, GError **err);
void sjm_checkpoint_clear(sjm_checkpoint *cp);

#endif
