/* Unit tests: body spool in memory and on disk. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "spool.h"
#include "testlib.h"

static GByteArray *read_all(sjm_spool *s)
{
    GByteArray *out = g_byte_array_new();
    guint64 off = 0;
    guint8 buf[7];   /* odd size: exercise partial reads */
    gssize n;
    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0)
        g_byte_array_append(out, buf, (guint)n);
    ck_assert_int_eq(n, 0);
    return out;
}

static GByteArray *stream_all(sjm_spool *s)
{
    GMimeStream *st = sjm_spool_stream(s);
    GByteArray *out = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(out);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    ck_assert_int_ge(g_mime_stream_write_to_stream(st, mem), 0);
    g_object_unref(mem);
    g_object_unref(st);
    return out;
}

START_TEST(small_stays_in_memory)
{
    sjm_spool *s = sjm_spool_new_with_limit(64);
    ck_assert(sjm_spool_append(s, "hello ", 6));
    ck_assert(sjm_spool_append(s, "world", 5));
    ck_assert(!sjm_spool_on_disk(s));
    ck_assert_uint_eq(sjm_spool_size(s), 11);
    GByteArray *a = read_all(s);
    ck_assert_uint_eq(a->len, 11);
    ck_assert(memcmp(a->data, "hello world", 11) == 0);
    g_byte_array_free(a, TRUE);
    GByteArray *b = stream_all(s);
    ck_assert(b->len == 11 && memcmp(b->data, "hello world", 11) == 0);
    g_byte_array_free(b, TRUE);
    sjm_spool_free(s);
}
END_TEST

START_TEST(large_moves_to_disk_intact)
{
    sjm_spool *s = sjm_spool_new_with_limit(1000);
    GByteArray *want = g_byte_array_new();
    for (int i = 0; i < 500; i++) {
        char line[64];
        int n = g_snprintf(line, sizeof line, "line %d of the body\r\n", i);
        ck_assert(sjm_spool_append(s, line, (gsize)n));
        g_byte_array_append(want, (guint8 *)line, (guint)n);
    }
    ck_assert(sjm_spool_on_disk(s));
    ck_assert_uint_eq(sjm_spool_size(s), want->len);
    GByteArray *a = read_all(s);
    ck_assert(a->len == want->len && memcmp(a->data, want->data, want->len) == 0);
    GByteArray *b = stream_all(s);
    ck_assert(b->len == want->len && memcmp(b->data, want->data, want->len) == 0);
    /* A second stream starts at the beginning again. */
    GByteArray *c = stream_all(s);
    ck_assert_uint_eq(c->len, want->len);
    g_byte_array_free(a, TRUE);
    g_byte_array_free(b, TRUE);
    g_byte_array_free(c, TRUE);
    g_byte_array_free(want, TRUE);
    sjm_spool_free(s);
}
END_TEST

START_TEST(empty_spool)
{
    sjm_spool *s = sjm_spool_new();
    guint64 off = 0;
    char buf[4];
    ck_assert_uint_eq(sjm_spool_size(s), 0);
    ck_assert_int_eq(sjm_spool_read(s, &off, buf, sizeof buf), 0);
    ck_assert(sjm_spool_append(s, "", 0));
    sjm_spool_free(s);
}
END_TEST

START_TEST(unwritable_tmpdir_fails_cleanly)
{
    sjm_spool *s = sjm_spool_new_with_limit(4);
    g_setenv("TMPDIR", "/nonexistent-sjm-dir", TRUE);
    ck_assert(sjm_spool_append(s, "abc", 3));
    ck_assert(!sjm_spool_append(s, "defgh", 5));   /* must report, not crash */
    g_unsetenv("TMPDIR");
    sjm_spool_free(s);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *su = suite_create("spool");
    TCase *tc = tcase_create("spool");
    tcase_add_test(tc, small_stays_in_memory);
    tcase_add_test(tc, large_moves_to_disk_intact);
    tcase_add_test(tc, empty_spool);
    tcase_add_test(tc, unwritable_tmpdir_fails_cleanly);
    suite_add_tcase(su, tc);
    return su;
}
