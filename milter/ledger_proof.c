/*
 * ledger_proof.c - smime-journal-milter --prove (ledger.h): the proofs a
 * third party checks against signed checkpoints without trusting this
 * program -- an inclusion proof that entry I is in the tree of SIZE
 * entries (RFC 9162 section 2.1.3), or a consistency proof that the tree
 * of SIZE entries extends the one of OLD (section 2.1.4).  One hash per
 * line, standard base64, in the RFC's order (leaf side first), as Go's
 * golang.org/x/mod/sumdb/tlog RecordProof and TreeProof hold them.
 */
#include <stdio.h>
#include "ledger.h"

static gboolean keep_leaf(guint64 index, const guchar *entry, gsize len, const sjm_hash *leaf,
                          gboolean intact, gpointer data)
{
    (void)index;
    (void)entry;
    (void)len;
    (void)intact;
    g_array_append_val((GArray *)data, *leaf);
    return TRUE;
}

int sjm_ledger_prove(const char *dir, guint64 size, gint64 index, gint64 old)
{
    GArray *leaves = g_array_new(FALSE, FALSE, sizeof(sjm_hash));
    sjm_ledger_scan_result res;
    GError *err = NULL;
    int rc = 0;
    if (!sjm_ledger_scan(dir, FALSE, keep_leaf, leaves, &res, &err)) {
        fprintf(stderr, "smime-journal-milter: %s\n", err->message);
        g_error_free(err);
        g_array_free(leaves, TRUE);
        return 66;
    }
    GArray *proof = g_array_new(FALSE, FALSE, sizeof(sjm_hash));
    const sjm_hash *l = (const sjm_hash *)(const void *)leaves->data;
    gboolean ok = size <= leaves->len
                  && (index >= 0 ? sjm_tree_inclusion_proof(l, (guint64)index, size, proof)
                                 : sjm_tree_consistency_proof(l, (guint64)old, size, proof));
    if (!ok) {
        fprintf(stderr, "smime-journal-milter: --prove: no such proof in %s (%u entries)\n", dir,
                leaves->len);
        rc = 65;
    }
    for (guint i = 0; ok && i < proof->len; i++) {
        char *b = g_base64_encode(g_array_index(proof, sjm_hash, i).b, SJM_HASH_LEN);
        printf("%s\n", b);
        g_free(b);
    }
    g_array_free(proof, TRUE);
    g_array_free(leaves, TRUE);
    sjm_ledger_scan_result_clear(&res);
    return rc;
}
