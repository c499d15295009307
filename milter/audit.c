/*
 * audit.c - smime-journal-milter --audit (audit.h): prove or refute that
 * the archive is complete.
 *
 * Three questions, in this order:
 *   1. Is each ledger what its signers signed?  Every checkpoint's
 *      signature (c2sp.org/signed-note), then the root of the ledger's
 *      first SIZE stored leaf hashes against every checkpoint and the
 *      trusted one (RFC 9162: a tree that grew by appending has every
 *      earlier tree as its prefix).  Each entry's bytes are checked
 *      against its stored leaf hash: an edited entry shows alone.
 *   2. For each entry that journaled a message, is there a copy for each
 *      journal mailbox with the entry's Message-ID and body digest?
 *      A copy with the Message-ID but another digest is "altered".
 *   3. Which archive messages has no entry claimed?
 * The exit status says which kind of discrepancy was found (audit.h).
 */
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "ledger.h"
#include "ledger_checkpoint.h"

/* A journaled entry: what the matching and the report need. */
typedef struct jentry {
    char *ledger;
    guint64 index;
    sjm_ledger_entry *e;
    guint found;            /* copies matched */
} jentry;

typedef struct disc {
    const char *kind;
    char *text;             /* for people */
    char *json;             /* the object's members after "kind" */
} disc;

typedef struct audit {
    const sjm_audit_opts *o;
    GPtrArray *disc;        /* of disc* */
    GPtrArray *journaled;   /* of jentry* */
    GPtrArray *found;       /* of jentry*: --find matches, any decision */
    GPtrArray *addressed;   /* of jentry*: accepted, not journaled, body digested */
    GHashTable *skipped;    /* reason -> count (GUINT_TO_POINTER) */
    guint64 entries, refused, direct;
    GPtrArray *notes;       /* of disc*: findings that are no discrepancy */
    gboolean ledger_bad, truncated;
    gint64 last_progress;
} audit;

static void jentry_free(gpointer p)
{
    jentry *j = p;
    g_free(j->ledger);
    sjm_ledger_entry_free(j->e);
    g_free(j);
}

static void disc_free(gpointer p)
{
    disc *d = p;
    g_free(d->text);
    g_free(d->json);
    g_free(d);
}

/* Strings made for one report live until the audit ends. */
static GPtrArray *pool;

static char *keep(char *s)
{
    g_ptr_array_add(pool, s);
    return s;
}

static char *join(GPtrArray *a)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < a->len; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", (char *)g_ptr_array_index(a, i));
    return g_string_free(s, FALSE);
}

static const char *jstr(const char *s)
{
    GString *o = g_string_new("\"");
    for (const guchar *p = (const guchar *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf(o, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf(o, "\\u%04x", *p);
        else
            g_string_append_c(o, (char)*p);
    }
    g_string_append_c(o, '"');
    return keep(g_string_free(o, FALSE));
}

static void add(audit *a, const char *kind, char *text, char *json)
{
    disc *d = g_new0(disc, 1);
    d->kind = kind;
    d->text = text;
    d->json = json;
    g_ptr_array_add(a->disc, d);
}

static void progress(guint64 n)
{
    static gint64 last;
    gint64 now = g_get_monotonic_time();
    if (now - last >= 2 * G_USEC_PER_SEC) {
        fprintf(stderr, "audit: %" G_GUINT64_FORMAT " archive messages read\n", n);
        last = now;
    }
}

/* ------------------------------------------------------------ ledgers */

typedef struct scan {
    audit *a;
    const char *dir;
    GArray *leaves;         /* of sjm_hash: stored leaf hashes */
} scan;

static gboolean visit(guint64 index, const guchar *entry, gsize len, const sjm_hash *leaf,
                      gboolean intact, gpointer data)
{
    scan *s = data;
    audit *a = s->a;
    g_array_append_val(s->leaves, *leaf);
    a->entries++;
    sjm_ledger_entry *e = sjm_ledger_entry_parse(entry, len);
    if (!intact) {
        a->ledger_bad = TRUE;
        add(a, "entry-rewritten",
            g_strdup_printf("entry-rewritten: %s entry %" G_GUINT64_FORMAT
                            " (queue id %s): its bytes are not the ones its leaf hash was made of",
                            s->dir, index, e ? e->queue_id : "?"),
            g_strdup_printf("\"ledger\":%s,\"index\":%" G_GUINT64_FORMAT, jstr(s->dir), index));
    }
    if (!e) {
        a->ledger_bad = TRUE;
        add(a, "entry-unreadable",
            g_strdup_printf("entry-unreadable: %s entry %" G_GUINT64_FORMAT, s->dir, index),
            g_strdup_printf("\"ledger\":%s,\"index\":%" G_GUINT64_FORMAT, jstr(s->dir), index));
        return TRUE;
    }
    gboolean wanted = a->o->find && strcmp(a->o->find, e->message_id) == 0;
    jentry *j = NULL;
    if (strcmp(e->action, "continue") != 0) {
        a->refused++;
    } else if (strcmp(e->journal, "added") == 0) {
        j = g_new0(jentry, 1);
        g_ptr_array_add(a->journaled, j);
    } else {
        char *k = g_strdup_printf("%s:%s", e->journal, e->reason);
        gpointer old = g_hash_table_lookup(a->skipped, k);
        g_hash_table_replace(a->skipped, k, GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
        /* Mail addressed to a journal mailbox itself reaches the archive
         * without being journaled: its entry accounts for the copy. */
        if (e->has_digest && !wanted) {
            j = g_new0(jentry, 1);
            g_ptr_array_add(a->addressed, j);
        }
    }
    if (wanted && !j)
        j = g_new0(jentry, 1);
    if (!j) {
        sjm_ledger_entry_free(e);
        return TRUE;
    }
    j->ledger = g_strdup(s->dir);
    j->index = index;
    j->e = e;
    if (wanted)
        g_ptr_array_add(a->found, j);
    return TRUE;
}

typedef struct cp {
    char *where;
    sjm_checkpoint c;
} cp;

static void cp_free(gpointer p)
{
    cp *c = p;
    g_free(c->where);
    sjm_checkpoint_clear(&c->c);
    g_free(c);
}

static gint by_size(gconstpointer x, gconstpointer y)
{
    const cp *a = *(cp *const *)x, *b = *(cp *const *)y;
    return a->c.size < b->c.size ? -1 : a->c.size > b->c.size;
}

/* Verify the note at PATH with the key its origin names. */
static cp *check_note(audit *a, const char *path, gboolean trusted)
{
    char *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, &len, &err)) {
        add(a, "checkpoint-unreadable", g_strdup_printf("checkpoint-unreadable: %s", err->message),
            g_strdup_printf("\"file\":%s", jstr(path)));
        g_error_free(err);
        a->ledger_bad = TRUE;
        return NULL;
    }
    cp *c = g_new0(cp, 1);
    c->where = g_strdup(path);
    gboolean ok = FALSE;
    char *why = NULL;
    for (guint i = 0; !ok && i < a->o->verifier_keys->len; i++) {
        g_clear_error(&err);
        ok = sjm_ckpt_verify(text, len, g_ptr_array_index(a->o->verifier_keys, i), &c->c, &err);
        if (!ok && !why)
            why = g_strdup(err->message);
    }
    g_clear_error(&err);
    g_free(text);
    if (!ok) {
        a->ledger_bad = TRUE;
        add(a, trusted ? "trusted-checkpoint-invalid" : "checkpoint-forged",
            g_strdup_printf("%s: %s: %s", trusted ? "trusted-checkpoint-invalid" : "checkpoint-forged",
                            path, why ? why : "no verifier key given"),
            g_strdup_printf("\"file\":%s", jstr(path)));
        g_free(why);
        cp_free(c);
        return NULL;
    }
    g_free(why);
    return c;
}

static void check_ledger(audit *a, const char *dir, GPtrArray *trusted)
{
    scan s = {a, dir, g_array_new(FALSE, FALSE, sizeof(sjm_hash))};
    sjm_ledger_scan_result res;
    GError *err = NULL;
    if (!sjm_ledger_scan(dir, TRUE, visit, &s, &res, &err)) {
        a->ledger_bad = TRUE;
        add(a, "ledger-unreadable", g_strdup_printf("ledger-unreadable: %s", err->message),
            g_strdup_printf("\"ledger\":%s", jstr(dir)));
        g_error_free(err);
        g_array_free(s.leaves, TRUE);
        return;
    }
    guint64 n = s.leaves->len;

    /* Every checkpoint the ledger keeps, and the trusted ones of its origin. */
    GPtrArray *cps = g_ptr_array_new_with_free_func(cp_free);
    char *cpdir = g_build_filename(dir, "checkpoints", NULL);
    GDir *d = g_dir_open(cpdir, 0, NULL);
    const char *name;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    while (d && (name = g_dir_read_name(d)) != NULL)
        if (name[0] != '.')
            g_ptr_array_add(names, g_build_filename(cpdir, name, NULL));
    if (d)
        g_dir_close(d);
    g_ptr_array_add(names, g_build_filename(dir, "checkpoint", NULL));
    char *origin = NULL;
    for (guint i = 0; i < names->len; i++) {
        const char *path = g_ptr_array_index(names, i);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            continue;
        cp *c = check_note(a, path, FALSE);
        if (c) {
            if (!origin)
                origin = g_strdup(c->c.origin);
            g_ptr_array_add(cps, c);
        }
    }
    gboolean anchored = FALSE;
    for (guint i = 0; i < trusted->len; i++) {
        cp *t = g_ptr_array_index(trusted, i);
        if (origin && strcmp(t->c.origin, origin) == 0) {
            cp *c = g_new0(cp, 1);
            c->where = g_strdup(t->where);
            c->c = t->c;
            c->c.origin = g_strdup(t->c.origin);
            g_ptr_array_add(cps, c);
            anchored = TRUE;
        }
    }
    if (!anchored && trusted->len > 0 && cps->len > 0)
        fprintf(stderr, "audit: warning: no trusted checkpoint names origin %s (%s)\n",
                origin ? origin : "?", dir);

    /* Walk the stored leaves once, comparing the root at each size. */
    g_ptr_array_sort(cps, by_size);
    sjm_tree_edge edge;
    sjm_tree_edge_init(&edge);
    guint64 i = 0;
    const cp *longest_cut = NULL;
    gboolean rewritten = FALSE;
    for (guint k = 0; k < cps->len; k++) {
        const cp *c = g_ptr_array_index(cps, k);
        if (c->c.size > n) {
            longest_cut = c;
            continue;
        }
        for (; i < c->c.size; i++)
            sjm_tree_edge_append(&edge, &g_array_index(s.leaves, sjm_hash, i));
        sjm_hash root;
        sjm_tree_edge_root(&edge, &root);
        if (memcmp(root.b, c->c.root.b, SJM_HASH_LEN) != 0 && !rewritten) {
            rewritten = TRUE;
            a->ledger_bad = TRUE;
            add(a, "ledger-rewritten",
                g_strdup_printf("ledger-rewritten: %s: the first %" G_GUINT64_FORMAT
                                " entries are not those %s signed", dir, c->c.size, c->where),
                g_strdup_printf("\"ledger\":%s,\"size\":%" G_GUINT64_FORMAT ",\"checkpoint\":%s",
                                jstr(dir), c->c.size, jstr(c->where)));
        }
    }
    if (longest_cut) {
        a->ledger_bad = TRUE;
        a->truncated = TRUE;
        add(a, "ledger-truncated",
            g_strdup_printf("ledger-truncated: %s holds %" G_GUINT64_FORMAT " entries (%"
                            G_GUINT64_FORMAT " bytes of a partial one) but %s signed %"
                            G_GUINT64_FORMAT, dir, n, res.torn_bytes, longest_cut->where,
                            longest_cut->c.size),
            g_strdup_printf("\"ledger\":%s,\"entries\":%" G_GUINT64_FORMAT ",\"signed\":%"
                            G_GUINT64_FORMAT ",\"checkpoint\":%s", jstr(dir), n,
                            longest_cut->c.size, jstr(longest_cut->where)));
    } else if (res.torn_bytes > 0) {
        /* A crash between write and fsync, never acknowledged: the
         * filter cuts it at its next start. */
        fprintf(stderr, "audit: note: %s ends in %" G_GUINT64_FORMAT
                " bytes of an unfinished write (cut at the next start)\n", dir, res.torn_bytes);
    }
    if (cps->len == 0 && n > 0) {
        a->ledger_bad = TRUE;
        add(a, "no-checkpoint", g_strdup_printf("no-checkpoint: %s has no valid checkpoint", dir),
            g_strdup_printf("\"ledger\":%s", jstr(dir)));
    }
    g_free(origin);
    g_ptr_array_free(names, TRUE);
    g_free(cpdir);
    g_ptr_array_free(cps, TRUE);
    sjm_ledger_scan_result_clear(&res);
    g_array_free(s.leaves, TRUE);
}

/* ------------------------------------------------------------ the archive */

static char *hex(const guchar *d)
{
    char *h = g_malloc(65);
    for (int i = 0; i < 32; i++)
        g_snprintf(h + 2 * i, 3, "%02x", d[i]);
    return h;
}

static gboolean same_box(const sjm_archived *c, const char *mailbox)
{
    return c->mailbox == NULL || g_ascii_strcasecmp(c->mailbox, mailbox) == 0;
}

/* Is the message of J archived for BOX under another entry? */
static gboolean archived_elsewhere(GPtrArray *l, const jentry *j, const char *box)
{
    for (guint k = 0; l && k < l->len; k++) {
        const sjm_archived *c = g_ptr_array_index(l, k);
        if (c->used && same_box(c, box) && c->has_digest && j->e->has_digest
            && memcmp(c->digest, j->e->digest, 32) == 0)
            return TRUE;
    }
    return FALSE;
}

static void match(audit *a, GPtrArray *archive)
{
    GHashTable *by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify)g_ptr_array_unref);
    for (guint i = 0; i < archive->len; i++) {
        sjm_archived *c = g_ptr_array_index(archive, i);
        GPtrArray *l = g_hash_table_lookup(by_id, c->message_id);
        if (!l) {
            l = g_ptr_array_new();
            g_hash_table_insert(by_id, c->message_id, l);
        }
        g_ptr_array_add(l, c);
    }
    /* Exact matches first, so an altered copy is never taken for the
     * copy of another entry with the same Message-ID. */
    for (int pass = 0; pass < 2; pass++) {
        for (guint i = 0; i < a->journaled->len; i++) {
            jentry *j = g_ptr_array_index(a->journaled, i);
            GPtrArray *l = g_hash_table_lookup(by_id, j->e->message_id);
            for (guint m = 0; m < j->e->mailboxes->len; m++) {
                const char *box = g_ptr_array_index(j->e->mailboxes, m);
                if (pass == 1 && (j->found >> m) & 1)
                    continue;
                sjm_archived *hit = NULL;
                for (guint k = 0; l && k < l->len && !hit; k++) {
                    sjm_archived *c = g_ptr_array_index(l, k);
                    if (c->used || !same_box(c, box))
                        continue;
                    if (pass == 1 || (c->has_digest && j->e->has_digest
                                      && memcmp(c->digest, j->e->digest, 32) == 0))
                        hit = c;
                }
                if (hit) {
                    hit->used = TRUE;
                    if (m < 32)
                        j->found |= 1u << m;
                }
                if (pass == 0)
                    continue;
                char *rcpts = join(j->e->rcpts);
                char *want = j->e->has_digest ? hex(j->e->digest) : g_strdup("-");
                if (hit) {
                    char *got = hit->has_digest ? hex(hit->digest) : g_strdup("-");
                    add(a, "altered",
                        g_strdup_printf("altered: %s (queue id %s, %s, from <%s> to %s): the copy "
                                        "for %s has body digest %s, the ledger says %s",
                                        hit->where, j->e->queue_id, j->e->time, j->e->sender, rcpts,
                                        box, got, want),
                        g_strdup_printf("\"where\":%s,\"queue_id\":%s,\"time\":%s,\"sender\":%s,"
                                        "\"mailbox\":%s,\"message_id\":%s,\"digest\":\"%s\","
                                        "\"ledger_digest\":\"%s\",\"ledger\":%s,\"index\":%"
                                        G_GUINT64_FORMAT, jstr(hit->where), jstr(j->e->queue_id),
                                        jstr(j->e->time), jstr(j->e->sender), jstr(box),
                                        jstr(j->e->message_id), got, want, jstr(j->ledger), j->index));
                    g_free(got);
                } else if (archived_elsewhere(l, j, box)) {
                    /* The filter wrote the entry, but the MTA did not
                     * complete the transaction (the filter was killed
                     * before answering, the MTA failed after it): the
                     * client retried, and the retry's entry has the copy. */
                    disc *d = g_new0(disc, 1);
                    d->kind = "unconfirmed";
                    d->text = g_strdup_printf("unconfirmed: queue id %s, %s, Message-ID %s: no copy "
                                              "of its own; the same message is archived under a "
                                              "later entry (a transaction the MTA did not finish)",
                                              j->e->queue_id, j->e->time, j->e->message_id);
                    d->json = g_strdup_printf("\"queue_id\":%s,\"message_id\":%s,\"ledger\":%s,"
                                              "\"index\":%" G_GUINT64_FORMAT, jstr(j->e->queue_id),
                                              jstr(j->e->message_id), jstr(j->ledger), j->index);
                    g_ptr_array_add(a->notes, d);
                } else {
                    add(a, "missing",
                        g_strdup_printf("missing: queue id %s, %s, from <%s> to %s, Message-ID %s: "
                                        "no copy for %s",
                                        j->e->queue_id, j->e->time, j->e->sender, rcpts,
                                        j->e->message_id, box),
                        g_strdup_printf("\"queue_id\":%s,\"time\":%s,\"sender\":%s,\"rcpts\":%s,"
                                        "\"mailbox\":%s,\"message_id\":%s,\"ledger\":%s,\"index\":%"
                                        G_GUINT64_FORMAT, jstr(j->e->queue_id), jstr(j->e->time),
                                        jstr(j->e->sender), jstr(rcpts), jstr(box),
                                        jstr(j->e->message_id), jstr(j->ledger), j->index));
                }
                g_free(want);
                g_free(rcpts);
            }
        }
    }
    /* Copies delivered to a journal mailbox as an envelope recipient. */
    for (guint i = 0; i < a->addressed->len; i++) {
        jentry *j = g_ptr_array_index(a->addressed, i);
        GPtrArray *l = g_hash_table_lookup(by_id, j->e->message_id);
        for (guint r = 0; l && r < j->e->rcpts->len; r++) {
            const char *rcpt = g_ptr_array_index(j->e->rcpts, r);
            for (guint k = 0; k < l->len; k++) {
                sjm_archived *c = g_ptr_array_index(l, k);
                if (!c->used && c->mailbox && g_ascii_strcasecmp(c->mailbox, rcpt) == 0
                    && c->has_digest && memcmp(c->digest, j->e->digest, 32) == 0) {
                    c->used = TRUE;
                    a->direct++;
                    break;
                }
            }
        }
    }
    guint unlisted = 0;
    for (guint i = 0; i < archive->len; i++) {
        sjm_archived *c = g_ptr_array_index(archive, i);
        if (c->used)
            continue;
        unlisted++;
        /* A truncated ledger explains its own unlisted copies: they are
         * counted with the truncation, not reported as planted. */
        if (a->truncated)
            continue;
        add(a, "no-entry",
            g_strdup_printf("no-entry: %s (Message-ID %s): no ledger entry journaled it",
                            c->where, c->message_id),
            g_strdup_printf("\"where\":%s,\"message_id\":%s", jstr(c->where), jstr(c->message_id)));
    }
    if (a->truncated && unlisted > 0)
        fprintf(stderr, "audit: %u archive message(s) have no entry; the cut entries may be theirs\n",
                unlisted);
    g_hash_table_destroy(by_id);
}

/* ------------------------------------------------------------ the report */

static void print_find(audit *a, GPtrArray *archive)
{
    if (a->found->len == 0) {
        printf("%s: not in the ledger: the filter decided no message with this Message-ID\n",
               a->o->find);
        return;
    }
    for (guint i = 0; i < a->found->len; i++) {
        jentry *j = g_ptr_array_index(a->found, i);
        sjm_ledger_entry *e = j->e;
        printf("%s entry %" G_GUINT64_FORMAT ": %s queue id %s from <%s>: action=%s journal=%s",
               j->ledger, j->index, e->time, e->queue_id, e->sender, e->action, e->journal);
        if (strcmp(e->journal, "added") != 0)
            printf(" reason=%s evidence=%s", e->reason, e->evidence);
        if (e->mailboxes->len) {
            char *boxes = join(e->mailboxes);
            printf(" mailboxes=%s", boxes);
            g_free(boxes);
        }
        guint copies = 0;
        for (guint k = 0; archive && k < archive->len; k++) {
            sjm_archived *c = g_ptr_array_index(archive, k);
            if (strcmp(c->message_id, e->message_id) == 0 && c->has_digest && e->has_digest
                && memcmp(c->digest, e->digest, 32) == 0)
                copies++;
        }
        if (archive)
            printf(" archive-copies=%u", copies);
        printf("\n");
    }
}

static void print_report(audit *a, guint64 archived, int rc)
{
    if (a->o->json) {
        printf("{\"result\":\"%s\",\"exit\":%d,\"entries\":%" G_GUINT64_FORMAT
               ",\"journaled\":%u,\"refused\":%" G_GUINT64_FORMAT ",\"archive_messages\":%"
               G_GUINT64_FORMAT ",\"addressed_to_journal\":%" G_GUINT64_FORMAT ",\"skipped\":{",
               rc == 0 ? "complete" : "discrepancies", rc, a->entries, a->journaled->len,
               a->refused, archived, a->direct);
        GHashTableIter it;
        gpointer k, v;
        gboolean first = TRUE;
        g_hash_table_iter_init(&it, a->skipped);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            printf("%s%s:%u", first ? "" : ",", jstr(k), GPOINTER_TO_UINT(v));
            first = FALSE;
        }
        printf("},\"discrepancies\":[");
        for (guint i = 0; i < a->disc->len; i++) {
            disc *d = g_ptr_array_index(a->disc, i);
            printf("%s{\"kind\":\"%s\",%s}", i ? "," : "", d->kind, d->json);
        }
        printf("],\"notes\":[");
        for (guint i = 0; i < a->notes->len; i++) {
            disc *d = g_ptr_array_index(a->notes, i);
            printf("%s{\"kind\":\"%s\",%s}", i ? "," : "", d->kind, d->json);
        }
        printf("]}\n");
        return;
    }
    for (guint i = 0; i < a->disc->len; i++)
        printf("%s\n", ((disc *)g_ptr_array_index(a->disc, i))->text);
    for (guint i = 0; i < a->notes->len; i++)
        printf("%s\n", ((disc *)g_ptr_array_index(a->notes, i))->text);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, a->skipped);
    while (g_hash_table_iter_next(&it, &k, &v))
        printf("not journaled: %u entr%s %s\n", GPOINTER_TO_UINT(v),
               GPOINTER_TO_UINT(v) == 1 ? "y" : "ies", (char *)k);
    printf("%s: %" G_GUINT64_FORMAT " entries, %u journaled, %" G_GUINT64_FORMAT
           " refused, %" G_GUINT64_FORMAT " archive messages (%" G_GUINT64_FORMAT
           " addressed to a journal mailbox), %u discrepanc%s\n",
           rc == 0 ? "complete" : "INCOMPLETE", a->entries, a->journaled->len, a->refused,
           archived, a->direct, a->disc->len, a->disc->len == 1 ? "y" : "ies");
}

int sjm_audit_run(const sjm_audit_opts *o)
{
    audit a = {.o = o};
    pool = g_ptr_array_new_with_free_func(g_free);
    a.disc = g_ptr_array_new_with_free_func(disc_free);
    a.notes = g_ptr_array_new_with_free_func(disc_free);
    a.journaled = g_ptr_array_new_with_free_func(jentry_free);
    a.found = g_ptr_array_new();
    a.addressed = g_ptr_array_new_with_free_func(jentry_free);
    a.skipped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int rc = SJM_AUDIT_OK;

    GPtrArray *trusted = g_ptr_array_new_with_free_func(cp_free);
    for (guint i = 0; i < o->trusted->len; i++) {
        cp *c = check_note(&a, g_ptr_array_index(o->trusted, i), TRUE);
        if (c)
            g_ptr_array_add(trusted, c);
    }
    for (guint i = 0; i < o->ledgers->len; i++)
        check_ledger(&a, g_ptr_array_index(o->ledgers, i), trusted);

    GPtrArray *archive = NULL;
    if (o->maildir || o->eml_dir || o->mbox) {
        GError *err = NULL;
        archive = sjm_archive_read(o, progress, &err);
        if (!archive) {
            fprintf(stderr, "smime-journal-milter: --audit: %s\n", err->message);
            g_error_free(err);
            rc = 66;
            goto out;
        }
        if (!o->find)
            match(&a, archive);
    }
    if (o->find) {
        print_find(&a, archive);
        rc = a.found->len > 0 ? SJM_AUDIT_OK : SJM_AUDIT_ARCHIVE;
        goto out;
    }
    if (a.ledger_bad)
        rc = SJM_AUDIT_LEDGER;
    else if (a.disc->len > 0)
        rc = SJM_AUDIT_ARCHIVE;
    print_report(&a, archive ? archive->len : 0, rc);
out:
    /* --find's matches that are also journaled are owned by journaled. */
    for (guint i = 0; i < a.found->len; i++) {
        jentry *j = g_ptr_array_index(a.found, i);
        gboolean owned = FALSE;
        for (guint k = 0; k < a.journaled->len && !owned; k++)
            owned = g_ptr_array_index(a.journaled, k) == j;
        if (!owned)
            jentry_free(j);
    }
    g_ptr_array_free(a.found, TRUE);
    g_ptr_array_free(a.addressed, TRUE);
    if (archive)
        g_ptr_array_free(archive, TRUE);
    g_ptr_array_free(trusted, TRUE);
    g_hash_table_destroy(a.skipped);
    g_ptr_array_free(a.journaled, TRUE);
    g_ptr_array_free(a.disc, TRUE);
    g_ptr_array_free(a.notes, TRUE);
    g_ptr_array_free(pool, TRUE);
    pool = NULL;
    return rc;
}
