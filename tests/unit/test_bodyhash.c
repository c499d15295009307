/*
 * test_bodyhash.c - bodyhash.c: the digest does not depend on how the
 * body is cut into chunks (the MTA decides that), and the changes later
 * hops make (trailing white space, line ends, trailing empty lines) leave
 * it as it was while a changed word does not.  That it is DKIM's relaxed
 * body hash is checked against dkimpy in tests/cli/bodyhash-dkim.sh.
 */
#include <string.h>
#include <check.h>
#include "bodyhash.h"
#include "testlib.h"

static void digest_of(const char *text, guchar out[SJM_BODYHASH_LEN])
{
    ck_assert(sjm_bodyhash_data((const guchar *)text, strlen(text), out));
}

static gboolean same(const char *a, const char *b)
{
    guchar x[SJM_BODYHASH_LEN], y[SJM_BODYHASH_LEN];
    digest_of(a, x);
    digest_of(b, y);
    return memcmp(x, y, sizeof x) == 0;
}

START_TEST(chunking_does_not_matter)
{
    static const char *const bodies[] = {
        "Hello  Bob,\r\n\r\n  see you\tat noon. \r\n\r\n\r\n",
        "a\rb\r\n\r\r\n \r\nlast",
        "",
        "\r\n\r\n",
    };
    for (guint b = 0; b < G_N_ELEMENTS(bodies); b++) {
        guchar whole[SJM_BODYHASH_LEN];
        digest_of(bodies[b], whole);
        gsize len = strlen(bodies[b]);
        /* every chunk size, so a CR and its LF, or a run of spaces, fall
         * on both sides of a chunk boundary */
        for (gsize step = 1; step <= len + 1; step++) {
            sjm_bodyhash *h = sjm_bodyhash_new();
            for (gsize off = 0; off < len; off += step)
                sjm_bodyhash_update(h, (const guchar *)bodies[b] + off, MIN(step, len - off));
            guchar d[SJM_BODYHASH_LEN];
            ck_assert(sjm_bodyhash_finish(h, d));
            ck_assert_msg(memcmp(d, whole, sizeof d) == 0, "body %u, chunks of %zu", b, step);
        }
    }
}
END_TEST

START_TEST(what_hops_change_and_what_they_do_not)
{
    const char *body = "Hello Bob,\r\nsee you at noon.\r\n";
    ck_assert(same(body, "Hello Bob,   \r\nsee you at noon.\t\r\n"));
    ck_assert(same(body, "Hello Bob,\nsee you at noon.\n"));
    ck_assert(same(body, "Hello Bob,\r\nsee you at noon.\r\n\r\n\r\n"));
    ck_assert(same(body, "Hello Bob,\r\nsee you at noon."));
    ck_assert(same(body, "Hello  Bob,\r\nsee you \t at noon.\r\n"));
    ck_assert(!same(body, "Hello Bob,\r\nsee you at ten.\r\n"));
    ck_assert(!same(body, "Hello Bob,\r\n\r\nsee you at noon.\r\n"));
    ck_assert(!same(body, "HelloBob,\r\nsee you at noon.\r\n"));
    ck_assert(!same(body, "Hello Bob, see you at noon.\r\n"));
}
END_TEST

START_TEST(spool_equals_data)
{
    const char *body = "line one\r\nline two  \r\n";
    sjm_spool *s = sjm_spool_new();
    ck_assert(sjm_spool_append(s, body, strlen(body)));
    guchar a[SJM_BODYHASH_LEN], b[SJM_BODYHASH_LEN];
    ck_assert(sjm_bodyhash_spool(s, a));
    digest_of(body, b);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    sjm_spool_free(s);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("bodyhash");
    TCase *tc = tcase_create("digest");
    tcase_add_test(tc, chunking_does_not_matter);
    tcase_add_test(tc, what_hops_change_and_what_they_do_not);
    tcase_add_test(tc, spool_equals_data);
    suite_add_tcase(s, tc);
    return s;
}
