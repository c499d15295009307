/*
 * test_ledger.c - the journal ledger (ledger.h, ledger_tree.h,
 * ledger_checkpoint.h): RFC 6962 hashing against the Certificate
 * Transparency reference vectors, proofs that prove and tampered ones
 * that do not, the entry format byte for byte, signed checkpoints,
 * group commit under concurrency, segments, torn-tail repair and a
 * write that fails.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include "audit.h"
#include "bodyhash.h"
#include "journal_report.h"
#include "ledger.h"
#include "ledger_checkpoint.h"
#include "plan.h"
#include "testlib.h"

/* The certificate-transparency reference leaves (RFC 6962 test data). */
static const char *const CT_LEAVES[] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const CT_ROOTS[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void unhex(const char *h, guchar *out, gsize *len)
{
    gsize n = strlen(h) / 2;
    for (gsize i = 0; i < n; i++)
        out[i] = (guchar)(g_ascii_xdigit_value(h[2 * i]) * 16 + g_ascii_xdigit_value(h[2 * i + 1]));
    if (len)
        *len = n;
}

static sjm_hash H(const char *h)
{
    sjm_hash r;
    unhex(h, r.b, NULL);
    return r;
}

static char *tohex(const sjm_hash *h)
{
    char *s = g_malloc(65);
    for (int i = 0; i < 32; i++)
        g_snprintf(s + 2 * i, 3, "%02x", h->b[i]);
    return s;
}

static sjm_hash *ct_leaves(void)
{
    sjm_hash *l = g_new(sjm_hash, 8);
    for (int i = 0; i < 8; i++) {
        guchar d[16];
        gsize n;
        unhex(CT_LEAVES[i], d, &n);
        sjm_tree_leaf_hash(d, n, &l[i]);
    }
    return l;
}

START_TEST(reference_roots)
{
    sjm_hash *l = ct_leaves();
    sjm_tree_edge e;
    sjm_tree_edge_init(&e);
    for (guint n = 0; n <= 8; n++) {
        sjm_hash r, re;
        sjm_tree_root(l, n, &r);
        sjm_tree_edge_root(&e, &re);
        char *got = tohex(&r), *got_edge = tohex(&re);
        ck_assert_msg(strcmp(got, CT_ROOTS[n]) == 0, "size %u: %s", n, got);
        ck_assert_msg(strcmp(got_edge, CT_ROOTS[n]) == 0, "edge, size %u: %s", n, got_edge);
        g_free(got);
        g_free(got_edge);
        if (n < 8)
            sjm_tree_edge_append(&e, &l[n]);
    }
    g_free(l);
}
END_TEST

static void expect_proof(GArray *p, const char *const *want, guint n)
{
    ck_assert_uint_eq(p->len, n);
    for (guint i = 0; i < n; i++) {
        char *got = tohex(&g_array_index(p, sjm_hash, i));
        ck_assert_str_eq(got, want[i]);
        g_free(got);
    }
}

START_TEST(reference_proofs)
{
    sjm_hash *l = ct_leaves();
    GArray *p = g_array_new(FALSE, FALSE, sizeof(sjm_hash));
    static const char *const inc0[] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *const inc5[] = {
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *const con1_8[] = {
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *const con6_8[] = {
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *const con2_5[] = {
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"};

    ck_assert(sjm_tree_inclusion_proof(l, 0, 8, p));
    expect_proof(p, inc0, 3);
    g_array_set_size(p, 0);
    ck_assert(sjm_tree_inclusion_proof(l, 5, 8, p));
    expect_proof(p, inc5, 3);
    g_array_set_size(p, 0);
    ck_assert(sjm_tree_consistency_proof(l, 1, 8, p));
    expect_proof(p, con1_8, 3);
    g_array_set_size(p, 0);
    ck_assert(sjm_tree_consistency_proof(l, 6, 8, p));
    expect_proof(p, con6_8, 3);
    g_array_set_size(p, 0);
    ck_assert(sjm_tree_consistency_proof(l, 2, 5, p));
    expect_proof(p, con2_5, 2);
    ck_assert(!sjm_tree_inclusion_proof(l, 8, 8, p));
    ck_assert(!sjm_tree_consistency_proof(l, 6, 5, p));
    g_array_free(p, TRUE);
    g_free(l);
}
END_TEST

/* Every proof of every shape verifies; every one-bit change does not. */
START_TEST(proofs_prove_and_tampering_fails)
{
    enum { N = 37 };
    sjm_hash l[N];
    for (guint i = 0; i < N; i++) {
        guchar d[2] = {(guchar)i, (guchar)(i * 7)};
        sjm_tree_leaf_hash(d, 2, &l[i]);
    }
    GArray *p = g_array_new(FALSE, FALSE, sizeof(sjm_hash));
    for (guint64 n = 1; n <= N; n++) {
        sjm_hash root;
        sjm_tree_root(l, n, &root);
        for (guint64 i = 0; i < n; i++) {
            g_array_set_size(p, 0);
            ck_assert(sjm_tree_inclusion_proof(l, i, n, p));
            sjm_hash *pr = (sjm_hash *)(void *)p->data;
            ck_assert_msg(sjm_tree_verify_inclusion(&l[i], i, n, pr, p->len, &root),
                          "leaf %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, i, n);
            ck_assert(!sjm_tree_verify_inclusion(&l[(i + 1) % N], i, n, pr, p->len, &root)
                      || n == 1 || (i + 1) % N == i);
            if (p->len > 0) {
                pr[p->len - 1].b[5] ^= 1;
                ck_assert(!sjm_tree_verify_inclusion(&l[i], i, n, pr, p->len, &root));
            }
        }
        for (guint64 m = 1; m <= n; m++) {
            sjm_hash old;
            sjm_tree_root(l, m, &old);
            g_array_set_size(p, 0);
            ck_assert(sjm_tree_consistency_proof(l, m, n, p));
            sjm_hash *pr = (sjm_hash *)(void *)p->data;
            ck_assert_msg(sjm_tree_verify_consistency(m, &old, n, &root, pr, p->len),
                          "%" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT, m, n);
            if (p->len > 0) {
                pr[0].b[0] ^= 1;
                ck_assert(!sjm_tree_verify_consistency(m, &old, n, &root, pr, p->len));
                pr[0].b[0] ^= 1;
            }
            if (m < n) {
                sjm_hash other = old;
                other.b[31] ^= 0x80;
                ck_assert(!sjm_tree_verify_consistency(m, &other, n, &root, pr, p->len));
            }
        }
    }
    g_array_free(p, TRUE);
}
END_TEST

/* ------------------------------------------------------------ entries */

static sjm_txn *entry_txn(void)
{
    sjm_txn *t = sjm_test_txn_from_text("From: a@example.com\r\nMessage-ID:\r\n <m1@example.com> \r\n"
                                        "Subject: x\r\n\r\nhello\r\n",
                                        -1, "<Alice@Example.com>", "<bob@example.org>",
                                        "<carol%x@example.net>", NULL);
    g_free(t->queue_id);
    t->queue_id = g_strdup("4QX1");
    t->has_body_digest = TRUE;
    for (int i = 0; i < 32; i++)
        t->body_digest[i] = (guchar)i;
    return t;
}

START_TEST(entry_bytes)
{
    sjm_config *cfg = sjm_config_new_default();
    sjm_txn *t = entry_txn();
    sjm_plan *p = sjm_plan_new();
    p->journal.status = SJM_JOURNAL_ADDED;
    g_ptr_array_add(p->journal.mailboxes, g_strdup("journal@archive.example"));
    /* 2026-01-02T03:04:05.000007Z */
    GString *e = sjm_ledger_entry_encode(cfg, t, p, G_GINT64_CONSTANT(1767323045) * G_USEC_PER_SEC + 7);
    char *want = g_strdup_printf(
        "sjm-ledger 1\n"
        "time 2026-01-02T03:04:05.000007Z\n"
        "host %s\n"
        "queue-id 4QX1\n"
        "sender alice@example.com\n"
        "rcpt bob@example.org\n"
        "rcpt carol%%25x@example.net\n"
        "message-id <m1@example.com>\n"
        "action continue\n"
        "refusal none\n"
        "journal added\n"
        "reason none\n"
        "evidence none\n"
        "mode bcc\n"
        "mailbox journal@archive.example\n"
        "signature none\n"
        "digest 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
        g_get_host_name());
    ck_assert_str_eq(e->str, want);

    sjm_ledger_entry *pe = sjm_ledger_entry_parse((const guchar *)e->str, e->len);
    ck_assert_ptr_nonnull(pe);
    ck_assert_str_eq(pe->queue_id, "4QX1");
    ck_assert_uint_eq(pe->rcpts->len, 2);
    ck_assert_str_eq(g_ptr_array_index(pe->rcpts, 1), "carol%x@example.net");
    ck_assert_str_eq(pe->message_id, "<m1@example.com>");
    ck_assert(pe->has_digest);
    ck_assert(memcmp(pe->digest, t->body_digest, 32) == 0);
    sjm_ledger_entry_free(pe);

    /* A value cannot add a line: a line break is escaped. */
    g_free(t->queue_id);
    t->queue_id = g_strdup("X\nrcpt evil@example.com");
    GString *e2 = sjm_ledger_entry_encode(cfg, t, p, 0);
    ck_assert_ptr_null(strstr(e2->str, "\nrcpt evil"));
    pe = sjm_ledger_entry_parse((const guchar *)e2->str, e2->len);
    ck_assert_str_eq(pe->queue_id, "X\nrcpt evil@example.com");
    ck_assert_uint_eq(pe->rcpts->len, 2);
    sjm_ledger_entry_free(pe);
    /* Truncated or foreign bytes are no entry. */
    ck_assert_ptr_null(sjm_ledger_entry_parse((const guchar *)e->str, e->len - 1));
    ck_assert_ptr_null(sjm_ledger_entry_parse((const guchar *)"hello\n", 6));
    g_string_free(e2, TRUE);
    g_string_free(e, TRUE);
    g_free(want);
    sjm_plan_free(p);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

START_TEST(skipped_entry_has_no_digest)
{
    sjm_config *cfg = sjm_config_new_default();
    sjm_txn *t = entry_txn();
    t->has_body_digest = FALSE;
    sjm_plan *p = sjm_plan_new();
    p->journal.status = SJM_JOURNAL_SKIPPED;
    p->journal.reason = SJM_SKIP_DSN;
    p->journal.evidence = SJM_EVIDENCE_SYSTEM_HOST;
    GString *e = sjm_ledger_entry_encode(cfg, t, p, 0);
    ck_assert_ptr_nonnull(strstr(e->str, "\njournal skipped\nreason system:dsn\nevidence "));
    ck_assert_ptr_nonnull(strstr(e->str, "\ndigest -\n"));
    ck_assert_ptr_null(strstr(e->str, "\nmailbox "));
    sjm_ledger_entry *pe = sjm_ledger_entry_parse((const guchar *)e->str, e->len);
    ck_assert(!pe->has_digest);
    ck_assert_str_eq(pe->reason, "system:dsn");
    sjm_ledger_entry_free(pe);
    g_string_free(e, TRUE);
    sjm_plan_free(p);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

/* ------------------------------------------------------------ checkpoints */

static char *tmpdir(void)
{
    char *d = g_dir_make_tmp("sjm-ledger-XXXXXX", NULL);
    ck_assert_ptr_nonnull(d);
    return d;
}

static void rm_rf(const char *d)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
}

static char *new_key(const char *dir)
{
    char *k = g_build_filename(dir, "ledger.key", NULL);
    GError *err = NULL;
    ck_assert_msg(sjm_ckpt_key_generate(k, &err), "%s", err ? err->message : "");
    ck_assert(!sjm_ckpt_key_generate(k, &err));  /* never over a key */
    g_clear_error(&err);
    return k;
}

START_TEST(checkpoint_signs_and_verifies)
{
    char *d = tmpdir();
    char *kf = new_key(d);
    GError *err = NULL;
    EVP_PKEY *k = sjm_ckpt_key_load(kf, &err);
    ck_assert_ptr_nonnull(k);
    char *vk = sjm_ckpt_verifier_key("mx.example/ledger", k, &err);
    ck_assert(g_str_has_prefix(vk, "mx.example/ledger+"));
    ck_assert_uint_eq(strlen(vk), strlen("mx.example/ledger+") + 8 + 1 + 44);
    sjm_hash root = H(CT_ROOTS[8]);
    char *note = sjm_ckpt_sign("mx.example/ledger", 8, &root, k, &err);
    ck_assert_ptr_nonnull(note);
    ck_assert(g_str_has_prefix(note, "mx.example/ledger\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
                                     "\xe2\x80\x94 mx.example/ledger "));
    sjm_checkpoint cp;
    ck_assert_msg(sjm_ckpt_verify(note, strlen(note), vk, &cp, &err), "%s", err ? err->message : "");
    ck_assert_uint_eq(cp.size, 8);
    ck_assert(memcmp(cp.root.b, root.b, 32) == 0);
    sjm_checkpoint_clear(&cp);

    /* A changed size, a changed signature, another key: refused. */
    char *forged = g_strdup(note);
    forged[strlen("mx.example/ledger\n")] = '9';
    ck_assert(!sjm_ckpt_verify(forged, strlen(forged), vk, &cp, &err));
    g_clear_error(&err);
    g_free(forged);
    forged = g_strdup(note);
    forged[strlen(forged) - 3] = forged[strlen(forged) - 3] == 'A' ? 'B' : 'A';
    ck_assert(!sjm_ckpt_verify(forged, strlen(forged), vk, &cp, &err));
    g_clear_error(&err);
    g_free(forged);
    char *kf2 = g_build_filename(d, "other.key", NULL);
    ck_assert(sjm_ckpt_key_generate(kf2, &err));
    EVP_PKEY *k2 = sjm_ckpt_key_load(kf2, &err);
    char *vk2 = sjm_ckpt_verifier_key("mx.example/ledger", k2, &err);
    ck_assert(!sjm_ckpt_verify(note, strlen(note), vk2, &cp, &err));
    g_clear_error(&err);
    /* A name with a space cannot be a key name (signed-note). */
    ck_assert_ptr_null(sjm_ckpt_sign("bad origin", 1, &root, k, &err));
    g_clear_error(&err);

    g_free(vk2);
    EVP_PKEY_free(k2);
    g_free(kf2);
    g_free(note);
    g_free(vk);
    EVP_PKEY_free(k);
    g_free(kf);
    rm_rf(d);
    g_free(d);
}
END_TEST

/* ------------------------------------------------------------ the writer */

static sjm_ledger *open_ledger(const char *dir, const char *key, guint64 seg)
{
    sjm_ledger_opts o = {dir, key, "test.example/ledger", 3600, 1000000, seg};
    GError *err = NULL;
    sjm_ledger *l = sjm_ledger_open(&o, &err);
    ck_assert_msg(l != NULL, "%s", err ? err->message : "");
    return l;
}

static void append_n(sjm_ledger *l, guint from, guint n)
{
    for (guint i = from; i < from + n; i++) {
        char *e = g_strdup_printf("entry %u\n", i);
        ck_assert(sjm_ledger_append(l, (const guchar *)e, strlen(e)));
        g_free(e);
    }
}

static gboolean collect(guint64 index, const guchar *entry, gsize len, const sjm_hash *leaf,
                        gboolean intact, gpointer data)
{
    char *want = g_strdup_printf("entry %" G_GUINT64_FORMAT "\n", index);
    ck_assert(intact);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(entry, want, len) == 0);
    g_free(want);
    g_array_append_val((GArray *)data, *leaf);
    return TRUE;
}

/* The ledger's own latest checkpoint verifies and has the root of what is on disk. */
static void check_checkpoint(const char *dir, const char *key, guint64 size)
{
    GArray *leaves = g_array_new(FALSE, FALSE, sizeof(sjm_hash));
    sjm_ledger_scan_result res;
    ck_assert(sjm_ledger_scan(dir, FALSE, collect, leaves, &res, NULL));
    ck_assert_uint_eq(res.size, size);
    ck_assert_ptr_null(res.damage);
    ck_assert_uint_eq(res.torn_bytes, 0);
    sjm_ledger_scan_result_clear(&res);
    sjm_hash root;
    sjm_tree_root((sjm_hash *)(void *)leaves->data, size, &root);

    GError *err = NULL;
    EVP_PKEY *k = sjm_ckpt_key_load(key, &err);
    char *vk = sjm_ckpt_verifier_key("test.example/ledger", k, &err);
    char *path = g_build_filename(dir, "checkpoint", NULL), *note = NULL;
    gsize len;
    ck_assert(g_file_get_contents(path, &note, &len, NULL));
    sjm_checkpoint cp;
    ck_assert_msg(sjm_ckpt_verify(note, len, vk, &cp, &err), "%s: %s", err ? err->message : "", note);
    ck_assert_uint_eq(cp.size, size);
    ck_assert(memcmp(cp.root.b, root.b, 32) == 0);
    sjm_checkpoint_clear(&cp);
    g_free(note);
    g_free(path);
    g_free(vk);
    EVP_PKEY_free(k);
    g_array_free(leaves, TRUE);
}

START_TEST(append_reopen_and_checkpoint)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 1000000);
    append_n(l, 0, 10);
    ck_assert_uint_eq(sjm_ledger_size(l), 10);
    sjm_ledger_close(l);
    check_checkpoint(ld, key, 10);
    l = open_ledger(ld, key, 1000000);
    ck_assert_uint_eq(sjm_ledger_size(l), 10);
    append_n(l, 10, 5);
    sjm_ledger_close(l);
    check_checkpoint(ld, key, 15);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

START_TEST(segments_rotate)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 3);
    append_n(l, 0, 10);
    sjm_ledger_close(l);
    for (guint first = 0; first < 10; first += 3) {
        char *n = g_strdup_printf("%s/" SJM_LEDGER_SEGMENT_FMT, ld, (guint64)first);
        ck_assert_msg(g_file_test(n, G_FILE_TEST_EXISTS), "%s", n);
        g_free(n);
    }
    check_checkpoint(ld, key, 10);
    l = open_ledger(ld, key, 3);
    append_n(l, 10, 3);
    sjm_ledger_close(l);
    check_checkpoint(ld, key, 13);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

typedef struct burst {
    sjm_ledger *l;
    guint n;
    guint ok;
} burst;

static gpointer burst_thread(gpointer data)
{
    burst *b = data;
    for (guint i = 0; i < b->n; i++) {
        char *e = g_strdup_printf("sjm-ledger 1\nthread %p entry %u\n", data, i);
        b->ok += sjm_ledger_append(b->l, (const guchar *)e, strlen(e));
        g_free(e);
    }
    return NULL;
}

START_TEST(concurrent_appends_all_land)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 1000000);
    burst b[8];
    GThread *t[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (burst){l, 60, 0};
        t[i] = g_thread_new("burst", burst_thread, &b[i]);
    }
    for (int i = 0; i < 8; i++) {
        g_thread_join(t[i]);
        ck_assert_uint_eq(b[i].ok, 60);
    }
    ck_assert_uint_eq(sjm_ledger_size(l), 480);
    sjm_ledger_close(l);
    sjm_ledger_scan_result res;
    ck_assert(sjm_ledger_scan(ld, FALSE, NULL, NULL, &res, NULL));
    ck_assert_uint_eq(res.size, 480);
    ck_assert_uint_eq(res.torn_bytes, 0);
    sjm_ledger_scan_result_clear(&res);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

/* A crash mid-write leaves part of a record: cut at the next start,
 * kept aside, and the ledger goes on from the last whole entry. */
START_TEST(torn_tail_is_repaired)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 1000000);
    append_n(l, 0, 5);
    sjm_ledger_close(l);
    char *seg = g_strdup_printf("%s/" SJM_LEDGER_SEGMENT_FMT, ld, (guint64)0);
    struct stat st;
    ck_assert_int_eq(stat(seg, &st), 0);
    off_t whole = st.st_size;
    /* Half a record: a length and a few bytes of entry. */
    FILE *f = fopen(seg, "ab");
    fwrite("\0\0\0\x09" "entry", 1, 9, f);
    fclose(f);
    sjm_ledger_scan_result res;
    ck_assert(sjm_ledger_scan(ld, FALSE, NULL, NULL, &res, NULL));
    ck_assert_uint_eq(res.size, 5);
    ck_assert_uint_eq(res.torn_bytes, 9);
    ck_assert_ptr_null(res.damage);
    sjm_ledger_scan_result_clear(&res);

    l = open_ledger(ld, key, 1000000);
    ck_assert_uint_eq(sjm_ledger_size(l), 5);
    ck_assert_int_eq(stat(seg, &st), 0);
    ck_assert_int_eq(st.st_size, whole);
    char *kept = g_strdup_printf("%s/torn-" SJM_LEDGER_SEGMENT_FMT "-%lld", ld, (guint64)0,
                                 (long long)whole);
    ck_assert_msg(g_file_test(kept, G_FILE_TEST_EXISTS), "%s", kept);
    append_n(l, 5, 2);
    sjm_ledger_close(l);
    check_checkpoint(ld, key, 7);

    /* A whole record whose entry changed is torn too when it is last... */
    f = fopen(seg, "r+b");
    fseek(f, -(long)(SJM_HASH_LEN + 2), SEEK_END);
    fputc('X', f);
    fclose(f);
    ck_assert(sjm_ledger_scan(ld, FALSE, NULL, NULL, &res, NULL));
    ck_assert_uint_eq(res.size, 6);
    sjm_ledger_scan_result_clear(&res);
    /* ...and the audit's scan still sees it, marked. */
    ck_assert(sjm_ledger_scan(ld, TRUE, NULL, NULL, &res, NULL));
    ck_assert_uint_eq(res.size, 7);
    sjm_ledger_scan_result_clear(&res);
    g_free(kept);
    g_free(seg);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

/* Damage in a closed segment is not a crash: the ledger refuses to open. */
START_TEST(damage_in_closed_segment_refuses)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 2);
    append_n(l, 0, 5);
    sjm_ledger_close(l);
    char *seg = g_strdup_printf("%s/" SJM_LEDGER_SEGMENT_FMT, ld, (guint64)0);
    FILE *f = fopen(seg, "r+b");
    fseek(f, 6, SEEK_SET);
    fputc('#', f);
    fclose(f);
    sjm_ledger_opts o = {ld, key, "test.example/ledger", 3600, 1000, 2};
    GError *err = NULL;
    ck_assert_ptr_null(sjm_ledger_open(&o, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "closed segment"));
    g_error_free(err);
    g_free(seg);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

/* A write that fails (here: the file size limit, as a full disk would)
 * is refused, leaves the segment whole, and the next write works. */
START_TEST(failed_write_is_refused_and_undone)
{
    char *d = tmpdir();
    char *key = new_key(d);
    char *ld = g_build_filename(d, "ledger", NULL);
    sjm_ledger *l = open_ledger(ld, key, 1000000);
    append_n(l, 0, 3);
    char *seg = g_strdup_printf("%s/" SJM_LEDGER_SEGMENT_FMT, ld, (guint64)0);
    struct stat st;
    ck_assert_int_eq(stat(seg, &st), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit was, lim;
    getrlimit(RLIMIT_FSIZE, &was);
    lim = was;
    lim.rlim_cur = (rlim_t)st.st_size + 10;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char big[200];
    memset(big, 'x', sizeof big);
    ck_assert(!sjm_ledger_append(l, (const guchar *)big, sizeof big));
    ck_assert_uint_eq(sjm_ledger_size(l), 3);
    struct stat after;
    ck_assert_int_eq(stat(seg, &after), 0);
    ck_assert_int_eq(after.st_size, st.st_size);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
    append_n(l, 3, 1);
    sjm_ledger_close(l);
    check_checkpoint(ld, key, 4);
    g_free(seg);
    g_free(ld);
    g_free(key);
    rm_rf(d);
    g_free(d);
}
END_TEST

/* ------------------------------------------------------------ archive copies */

static char *report_text(const sjm_report *r)
{
    return sjm_test_report_text(r, "Delivered-To: J@Archive.Example\r\n");
}

/* A Maildir stores LF line ends. */
static char *lf(const char *s)
{
    GString *o = g_string_new(NULL);
    for (; *s; s++)
        if (!(s[0] == '\r' && s[1] == '\n'))
            g_string_append_c(o, *s);
    return g_string_free(o, FALSE);
}

/* A journal report in the archive is the original it carries: the
 * original's Message-ID and body digest, as the entry records them. */
START_TEST(archive_reads_the_original_in_a_report)
{
    sjm_config *cfg = sjm_config_new_default();
    sjm_txn *t = sjm_test_txn_from_text(sjm_test_msg, -1, "<alice@corp.example>", "<bob@corp.example>",
                                        NULL);
    guchar want[32];
    ck_assert(sjm_bodyhash_spool(t->body, want));
    char *mid = sjm_ledger_message_id(sjm_txn_header(t, "Message-ID"));
    GPtrArray *mb = g_ptr_array_new();
    g_ptr_array_add(mb, "j@archive.example");
    char *error = NULL;
    sjm_report *r = sjm_report_build(cfg, t, mb, &error);
    ck_assert_ptr_nonnull(r);
    char *crlf = report_text(r);
    char *stored = lf(crlf);
    for (int form = 0; form < 2; form++) {
        const char *text = form ? stored : crlf;
        sjm_archived *a = sjm_archived_from_bytes("x", text, strlen(text));
        ck_assert(a->report);
        ck_assert_str_eq(a->mailbox, "j@archive.example");
        ck_assert_str_eq(a->message_id, mid);
        ck_assert(a->has_digest);
        ck_assert_msg(memcmp(a->digest, want, 32) == 0, "form %d", form);
        sjm_archived_free(a);
    }
    /* A bcc copy is the message itself. */
    GString *copy = g_string_new("Delivered-To: j@archive.example\nReturn-Path: <alice@corp.example>\n");
    g_string_append(copy, sjm_test_msg);
    char *copy_lf = lf(copy->str);
    sjm_archived *a = sjm_archived_from_bytes("y", copy_lf, strlen(copy_lf));
    ck_assert(!a->report);
    ck_assert_str_eq(a->message_id, mid);
    ck_assert(memcmp(a->digest, want, 32) == 0);
    sjm_archived_free(a);
    g_free(copy_lf);
    g_string_free(copy, TRUE);
    g_free(stored);
    g_free(crlf);
    sjm_report_free(r);
    g_ptr_array_free(mb, TRUE);
    g_free(mid);
    sjm_txn_free(t);
    sjm_config_unref(cfg);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tree = tcase_create("tree");
    tcase_add_test(tree, reference_roots);
    tcase_add_test(tree, reference_proofs);
    tcase_add_test(tree, proofs_prove_and_tampering_fails);
    suite_add_tcase(s, tree);
    TCase *entry = tcase_create("entry");
    tcase_add_test(entry, entry_bytes);
    tcase_add_test(entry, skipped_entry_has_no_digest);
    suite_add_tcase(s, entry);
    TCase *ck = tcase_create("checkpoint");
    tcase_add_test(ck, checkpoint_signs_and_verifies);
    suite_add_tcase(s, ck);
    TCase *w = tcase_create("writer");
    tcase_add_test(w, append_reopen_and_checkpoint);
    tcase_add_test(w, segments_rotate);
    tcase_add_test(w, concurrent_appends_all_land);
    tcase_add_test(w, torn_tail_is_repaired);
    tcase_add_test(w, damage_in_closed_segment_refuses);
    tcase_add_test(w, failed_write_is_refused_and_undone);
    suite_add_tcase(s, w);
    TCase *ar = tcase_create("archive");
    tcase_add_test(ar, archive_reads_the_original_in_a_report);
    suite_add_tcase(s, ar);
    return s;
}
