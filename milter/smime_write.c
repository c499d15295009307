/*
 * smime_write.c - the output of a strip: the new body written as a
 * sequence of ranges copied from the sources (so signed content reaches
 * the recipient byte for byte), and the edits that give the message's
 * top-level header the Content-* fields of what replaces it.
 *
 * Interface: smime_int.h (smime_resolve, smime_write_body,
 * smime_top_header_edits).  Error contract: smime_write_body() returns
 * NULL when a read or a spool write failed; smime_top_header_edits()
 * cannot fail.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <string.h>
#include "smime_int.h"

/* The output spool; FAILED once a read or a write went wrong. */
typedef struct writer {
    sjm_spool *out;
    gboolean failed;
} writer;

static void put_range(writer *w, src *s, guint64 off, guint64 end)
{
    while (!w->failed && off < end) {
        gsize got;
        const guchar *b = smime_src_peek(s, off, WINDOW_SIZE, &got);
        if (b == NULL) {
            w->failed = TRUE;
            return;
        }
        gsize n = (gsize)MIN((guint64)got, end - off);
        if (!sjm_spool_append(w->out, b, n))
            w->failed = TRUE;
        off += n;
    }
}

static void put_entity(writer *w, node *n);

/* What a stripped signed entity finally stands for. */
node *smime_resolve(node *n)
{
    while (n->strip && n->kids != NULL && n->kids->len == 1)
        n = g_ptr_array_index(n->kids, 0);
    return n;
}

static void put_body(writer *w, node *n)
{
    if (!n->changed) {
        put_range(w, n->s, n->body_start, n->end);
        return;
    }
    if (n->kind == N_MESSAGE) {
        put_entity(w, g_ptr_array_index(n->kids, 0));
        return;
    }
    /* A multipart: copy around the changed children. */
    guint64 cur = n->body_start;
    for (guint i = 0; i < n->kids->len; i++) {
        node *k = g_ptr_array_index(n->kids, i);
        put_range(w, n->s, cur, k->start);
        put_entity(w, k);
        cur = k->end;
    }
    put_range(w, n->s, cur, n->end);
}

static void put_entity(writer *w, node *n)
{
    if (!n->changed) {
        put_range(w, n->s, n->start, n->end);
        return;
    }
    if (!n->strip) {
        put_range(w, n->s, n->start, n->body_start);
        put_body(w, n);
        return;
    }
    node *x = smime_resolve(n);
    if (!n->is_message) {
        /* A body part: the signed content, headers and all, takes its place. */
        put_entity(w, x);
        return;
    }
    /* An attached message: its own headers stay, its Content-* come from x. */
    for (guint i = 0; i < n->fields->len; i++) {
        sjm_mime_field *f = g_ptr_array_index(n->fields, i);
        if (!sjm_mimehdr_is_content_field(f->name))
            put_range(w, n->s, f->raw_off, f->raw_off + f->raw_len);
    }
    for (guint i = 0; x->fields != NULL && i < x->fields->len; i++) {
        sjm_mime_field *f = g_ptr_array_index(x->fields, i);
        if (sjm_mimehdr_is_content_field(f->name))
            put_range(w, x->s, f->raw_off, f->raw_off + f->raw_len);
    }
    if (n->sep_len > 0)
        put_range(w, n->s, n->sep_off, n->sep_off + n->sep_len);
    else if (!sjm_spool_append(w->out, "\r\n", 2))
        w->failed = TRUE;
    put_body(w, x);
}

sjm_spool *smime_write_body(node *x)
{
    writer w = { .out = sjm_spool_new(), .failed = FALSE };
    put_body(&w, x);
    if (w.failed) {
        sjm_spool_free(w.out);
        return NULL;
    }
    return w.out;
}

/* Header edits making the message's Content-* fields those of X. */
void smime_top_header_edits(const sjm_txn *txn, node *x, GPtrArray *edits)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; txn->headers != NULL && i < txn->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (sjm_mimehdr_is_content_field(h->name))
            g_ptr_array_add(names, g_ascii_strdown(h->name, -1));
    }
    for (guint i = 0; x->fields != NULL && i < x->fields->len; i++) {
        sjm_mime_field *f = g_ptr_array_index(x->fields, i);
        if (sjm_mimehdr_is_content_field(f->name))
            g_ptr_array_add(names, g_ascii_strdown(f->name, -1));
    }

    GHashTable *done = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (g_hash_table_contains(done, name))
            continue;
        g_hash_table_add(done, (gpointer)name);

        GPtrArray *olds = g_ptr_array_new();     /* sjm_header* */
        GPtrArray *news = g_ptr_array_new();     /* field* */
        for (guint j = 0; txn->headers != NULL && j < txn->headers->len; j++) {
            sjm_header *h = g_ptr_array_index(txn->headers, j);
            if (g_ascii_strcasecmp(h->name, name) == 0)
                g_ptr_array_add(olds, h);
        }
        for (guint j = 0; x->fields != NULL && j < x->fields->len; j++) {
            sjm_mime_field *f = g_ptr_array_index(x->fields, j);
            if (g_ascii_strcasecmp(f->name, name) == 0)
                g_ptr_array_add(news, f);
        }
        guint common = MIN(olds->len, news->len);
        for (guint j = 0; j < common; j++) {
            sjm_header *h = g_ptr_array_index(olds, j);
            sjm_mime_field *f = g_ptr_array_index(news, j);
            if (strcmp(h->value != NULL ? h->value : "", f->value) != 0)
                sjm_edits_add(edits, SJM_HDR_CHANGE, (int)j + 1, h->name, f->value);
        }
        /* Highest occurrence first, so earlier indexes stay valid whether
         * or not the MTA renumbers after a delete. */
        for (guint j = olds->len; j > common; j--) {
            sjm_header *h = g_ptr_array_index(olds, j - 1);
            sjm_edits_add(edits, SJM_HDR_CHANGE, (int)j, h->name, NULL);
        }
        for (guint j = common; j < news->len; j++) {
            sjm_mime_field *f = g_ptr_array_index(news, j);
            sjm_edits_add(edits, SJM_HDR_ADD, 0, f->name, f->value);
        }
        g_ptr_array_free(olds, TRUE);
        g_ptr_array_free(news, TRUE);
    }
    g_hash_table_destroy(done);
    g_ptr_array_free(names, TRUE);
}
