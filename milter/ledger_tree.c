/*
 * ledger_tree.c - RFC 6962 / RFC 9162 Merkle tree hashing (ledger_tree.h).
 *
 * The recursive definitions below follow RFC 9162 section 2.1.1 (MTH),
 * 2.1.3.1 (PATH) and 2.1.4.1 (SUBPROOF) literally; the verifiers follow
 * the iterative algorithms of 2.1.3.2 and 2.1.4.2, so the two halves
 * check each other in the unit tests.
 */
#include <string.h>
#include "ledger_tree.h"

static void hash2(guchar prefix, const guchar *a, gsize alen, const guchar *b, gsize blen,
                  sjm_hash *out)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    gsize len = SJM_HASH_LEN;

    g_checksum_update(c, &prefix, 1);
    if (alen)
        g_checksum_update(c, a, (gssize)alen);
    if (blen)
        g_checksum_update(c, b, (gssize)blen);
    g_checksum_get_digest(c, out->b, &len);
    g_checksum_free(c);
}

void sjm_tree_leaf_hash(const guchar *entry, gsize len, sjm_hash *out)
{
    hash2(0x00, entry, len, NULL, 0, out);
}

void sjm_tree_node_hash(const sjm_hash *left, const sjm_hash *right, sjm_hash *out)
{
    sjm_hash r = *right;    /* OUT may be LEFT or RIGHT */
    sjm_hash l = *left;
    hash2(0x01, l.b, SJM_HASH_LEN, r.b, SJM_HASH_LEN, out);
}

void sjm_tree_empty_root(sjm_hash *out)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    gsize len = SJM_HASH_LEN;
    g_checksum_get_digest(c, out->b, &len);
    g_checksum_free(c);
}

/* ------------------------------------------------------------ right edge */

void sjm_tree_edge_init(sjm_tree_edge *e)
{
    memset(e, 0, sizeof *e);
}

/* Each set low bit of the size is a perfect subtree the new leaf
 * completes: merge them, as a binary counter carries. */
void sjm_tree_edge_append(sjm_tree_edge *e, const sjm_hash *leaf)
{
    sjm_hash h = *leaf;
    for (guint64 n = e->size; n & 1; n >>= 1)
        sjm_tree_node_hash(&e->h[--e->n], &h, &h);
    e->h[e->n++] = h;
    e->size++;
}

/* The root folds the subtrees from the smallest (rightmost) up. */
void sjm_tree_edge_root(const sjm_tree_edge *e, sjm_hash *out)
{
    if (e->n == 0) {
        sjm_tree_empty_root(out);
        return;
    }
    sjm_hash h = e->h[e->n - 1];
    for (guint i = e->n - 1; i-- > 0;)
        sjm_tree_node_hash(&e->h[i], &h, &h);
    *out = h;
}

/* ------------------------------------------------------------ whole tree */

/* The largest power of two smaller than N (N > 1). */
static guint64 split(guint64 n)
{
    guint64 k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static void mth(const sjm_hash *d, guint64 n, sjm_hash *out)
{
    if (n == 0) {
        sjm_tree_empty_root(out);
        return;
    }
    if (n == 1) {
        *out = d[0];
        return;
    }
    guint64 k = split(n);
    sjm_hash l, r;
    mth(d, k, &l);
    mth(d + k, n - k, &r);
    sjm_tree_node_hash(&l, &r, out);
}

void sjm_tree_root(const sjm_hash *leaves, guint64 size, sjm_hash *out)
{
    mth(leaves, size, out);
}

static void path(const sjm_hash *d, guint64 m, guint64 n, GArray *proof)
{
    if (n <= 1)
        return;
    guint64 k = split(n);
    sjm_hash h;
    if (m < k) {
        path(d, m, k, proof);
        mth(d + k, n - k, &h);
    } else {
        path(d + k, m - k, n - k, proof);
        mth(d, k, &h);
    }
    g_array_append_val(proof, h);
}

gboolean sjm_tree_inclusion_proof(const sjm_hash *leaves, guint64 index, guint64 size, GArray *proof)
{
    if (index >= size)
        return FALSE;
    path(leaves, index, size, proof);
    return TRUE;
}

static void subproof(const sjm_hash *d, guint64 m, guint64 n, gboolean b, GArray *proof)
{
    sjm_hash h;
    if (m == n) {
        if (!b) {
            mth(d, n, &h);
            g_array_append_val(proof, h);
        }
        return;
    }
    guint64 k = split(n);
    if (m <= k) {
        subproof(d, m, k, b, proof);
        mth(d + k, n - k, &h);
    } else {
        subproof(d + k, m - k, n - k, FALSE, proof);
        mth(d, k, &h);
    }
    g_array_append_val(proof, h);
}

gboolean sjm_tree_consistency_proof(const sjm_hash *leaves, guint64 old, guint64 size, GArray *proof)
{
    if (old > size)
        return FALSE;
    if (old == 0 || old == size)
        return TRUE;
    subproof(leaves, old, size, TRUE, proof);
    return TRUE;
}

/* ------------------------------------------------------------ verifiers */

static gboolean eq(const sjm_hash *a, const sjm_hash *b)
{
    return memcmp(a->b, b->b, SJM_HASH_LEN) == 0;
}

gboolean sjm_tree_verify_inclusion(const sjm_hash *leaf, guint64 index, guint64 size,
                                   const sjm_hash *proof, guint n, const sjm_hash *root)
{
    if (index >= size)
        return FALSE;
    guint64 fn = index, sn = size - 1;
    sjm_hash r = *leaf;
    for (guint i = 0; i < n; i++) {
        if (sn == 0)
            return FALSE;
        if ((fn & 1) || fn == sn) {
            sjm_tree_node_hash(&proof[i], &r, &r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            sjm_tree_node_hash(&r, &proof[i], &r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && eq(&r, root);
}

gboolean sjm_tree_verify_consistency(guint64 old, const sjm_hash *old_root, guint64 size,
                                     const sjm_hash *root, const sjm_hash *proof, guint n)
{
    if (old > size)
        return FALSE;
    if (old == size)
        return n == 0 && eq(old_root, root);
    if (old == 0)
        return n == 0;
    /* An old tree that is a perfect subtree is its own first node. */
    gboolean pow2 = (old & (old - 1)) == 0;
    const sjm_hash *first = pow2 ? old_root : (n > 0 ? &proof[0] : NULL);
    guint i = pow2 ? 0 : 1;
    if (first == NULL)
        return FALSE;
    guint64 fn = old - 1, sn = size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    sjm_hash fr = *first, sr = *first;
    for (; i < n; i++) {
        if (sn == 0)
            return FALSE;
        if ((fn & 1) || fn == sn) {
            sjm_tree_node_hash(&proof[i], &fr, &fr);
            sjm_tree_node_hash(&proof[i], &sr, &sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            sjm_tree_node_hash(&sr, &proof[i], &sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && eq(&fr, old_root) && eq(&sr, root);
}
