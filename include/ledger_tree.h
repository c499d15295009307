/*
 * ledger_tree.h - the Merkle tree over the ledger's entries, hashed as
 * RFC 6962 section 2.1 (and RFC 9162 section 2.1.1) define it:
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 * with the left subtree of n leaves holding the largest power of two
 * smaller than n.
 *
 * DESCRIPTION
 *   The filter keeps only the tree's right edge (sjm_tree_edge): one
 *   hash per set bit of the size, at most 64, so its memory is the same
 *   at ten entries or ten billion.  The audit, which reads every leaf
 *   anyway, computes roots and proofs from an array of leaf hashes
 *   (RFC 9162 section 2.1.3 inclusion proofs, 2.1.4 consistency proofs).
 *
 * INTERFACE
 *   leaf and node hashes, the compact right edge (init, append, root),
 *   and roots and proofs over a list of leaves for the audit.
 *
 * ERROR CONTRACT
 *   The proof functions return FALSE for indices out of range; the
 *   verifiers return FALSE for any proof that does not prove.
 */
#ifndef SJM_LEDGER_TREE_H
#define SJM_LEDGER_TREE_H

#include <glib.h>

#define SJM_HASH_LEN 32

typedef struct sjm_hash {
    guchar b[SJM_HASH_LEN];
} sjm_hash;

void sjm_tree_leaf_hash(const guchar *entry, gsize len, sjm_hash *out);
void sjm_tree_node_hash(const sjm_hash *left, const sjm_hash *right, sjm_hash *out);
void sjm_tree_empty_root(sjm_hash *out);

/* The right edge: the roots of the perfect subtrees, largest first. */
typedef struct sjm_tree_edge {
    guint64 size;
    guint n;
    sjm_hash h[64];
} sjm_tree_edge;

void sjm_tree_edge_init(sjm_tree_edge *e);
void sjm_tree_edge_append(sjm_tree_edge *e, const sjm_hash *leaf);
void sjm_tree_edge_root(const sjm_tree_edge *e, sjm_hash *out);

/* From an array of N leaf hashes: the root of the first SIZE. */
void sjm_tree_root(const sjm_hash *leaves, guint64 size, sjm_hash *out);
/* The inclusion proof of leaf INDEX in the tree of the first SIZE leaves
 * (hashes appended to PROOF, a GArray of sjm_hash). */
gboolean sjm_tree_inclusion_proof(const sjm_hash *leaves, guint64 index, guint64 size, GArray *proof);
/* The consistency proof from the tree of OLD leaves to that of SIZE. */
gboolean sjm_tree_consistency_proof(const sjm_hash *leaves, guint64 old, guint64 size, GArray *proof);

/* RFC 9162 section 2.1.3.2: does PROOF put LEAF at INDEX under ROOT of SIZE? */
gboolean sjm_tree_verify_inclusion(const sjm_hash *leaf, guint64 index, guint64 size,
                                   const sjm_hash *proof, guint n, const sjm_hash *root);
/* RFC 9162 section 2.1.4.2: is the tree (SIZE, ROOT) an append-only
 * extension of (OLD, OLD_ROOT) by PROOF? */
gboolean sjm_tree_verify_consistency(guint64 old, const sjm_hash *old_root, guint64 size,
                                     const sjm_hash *root, const sjm_hash *proof, guint n);

#endif
