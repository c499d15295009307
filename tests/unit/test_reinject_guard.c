/*
 * test_reinject_guard.c - the re-injection listener's admission check:
 * a token of ours for this envelope is admitted once; a forged, altered,
 * expired, replayed, misplaced or missing one is refused, and without a
 * key nothing is admitted.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "reinject_guard.h"
#include "testlib.h"

#define NOW ((gint64)1700000000)
#define NONCE "00112233445566778899aabbccddeeff"

static const char *const RCPTS[] = {"journal@archive.example", "bob@legacy.example"};

static GBytes *test_key(const char *text)
{
    return g_bytes_new(text, strlen(text));
}

/* sjm_guard_check for one header value. */
static sjm_guard_verdict check1(sjm_guard_replay *r, GBytes *key, gint64 now, const char *value,
                                const char *sender, const char *const *rcpts, guint n)
{
    const char *values[] = {value};
    return sjm_guard_check(r, key, now, values, 1, sender, rcpts, n);
}

START_TEST(own_token_admitted_once)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *tok = sjm_guard_token(key, NOW, NULL, "alice@corp.example", RCPTS, 2);
    ck_assert_ptr_nonnull(tok);
    ck_assert(!sjm_guard_replay_knows(r, tok));
    /* The MTA hands the envelope with angle brackets, maybe in another
     * case and order, and the value perhaps with a leading space. */
    const char *seen[] = {"<BOB@legacy.example>", "<journal@archive.example>"};
    char *spaced = g_strconcat(" ", tok, " ", NULL);
    ck_assert_int_eq(check1(r, key, NOW + 2, spaced, "<alice@corp.example>", seen, 2),
                     SJM_GUARD_ADMITTED);
    ck_assert(sjm_guard_replay_knows(r, tok));
    ck_assert_int_eq(check1(r, key, NOW + 3, tok, "<alice@corp.example>", seen, 2),
                     SJM_GUARD_REPLAYED);
    /* two tokens drawn at the same second differ */
    char *tok2 = sjm_guard_token(key, NOW, NULL, "alice@corp.example", RCPTS, 2);
    ck_assert_str_ne(tok, tok2);
    ck_assert_int_eq(check1(r, key, NOW, tok2, "alice@corp.example", RCPTS, 2), SJM_GUARD_ADMITTED);
    g_free(spaced);
    g_free(tok);
    g_free(tok2);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

START_TEST(bound_to_the_envelope)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    GBytes *other = test_key("k2-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *tok = sjm_guard_token(key, NOW, NULL, "alice@corp.example", RCPTS, 2);
    const char *one[] = {"bob@legacy.example"};
    const char *more[] = {"bob@legacy.example", "journal@archive.example", "eve@outside.example"};
    const char *swapped[] = {"eve@outside.example", "journal@archive.example"};

    ck_assert_int_eq(check1(r, key, NOW, tok, "mallory@corp.example", RCPTS, 2), SJM_GUARD_BAD_MAC);
    ck_assert_int_eq(check1(r, key, NOW, tok, "", RCPTS, 2), SJM_GUARD_BAD_MAC);
    ck_assert_int_eq(check1(r, key, NOW, tok, "alice@corp.example", one, 1), SJM_GUARD_BAD_MAC);
    ck_assert_int_eq(check1(r, key, NOW, tok, "alice@corp.example", more, 3), SJM_GUARD_BAD_MAC);
    ck_assert_int_eq(check1(r, key, NOW, tok, "alice@corp.example", swapped, 2), SJM_GUARD_BAD_MAC);
    ck_assert_int_eq(check1(r, other, NOW, tok, "alice@corp.example", RCPTS, 2), SJM_GUARD_BAD_MAC);
    /* none of the refusals spent the nonce */
    ck_assert_int_eq(check1(r, key, NOW, tok, "alice@corp.example", RCPTS, 2), SJM_GUARD_ADMITTED);
    g_free(tok);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
    g_bytes_unref(other);
}
END_TEST

START_TEST(null_sender_report)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *tok = sjm_guard_token(key, NOW, NULL, "", RCPTS, 1);
    ck_assert_int_eq(check1(r, key, NOW, tok, "<>", RCPTS, 1), SJM_GUARD_ADMITTED);
    g_free(tok);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

START_TEST(age_window)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *old = sjm_guard_token(key, NOW - SJM_REINJECT_TOKEN_MAX_AGE - 1, NULL, "a@b.example",
                                RCPTS, 1);
    char *edge = sjm_guard_token(key, NOW - SJM_REINJECT_TOKEN_MAX_AGE, NULL, "a@b.example",
                                 RCPTS, 1);
    char *ahead = sjm_guard_token(key, NOW + SJM_REINJECT_TOKEN_MAX_SKEW + 1, NULL, "a@b.example",
                                  RCPTS, 1);
    char *near = sjm_guard_token(key, NOW + SJM_REINJECT_TOKEN_MAX_SKEW, NULL, "a@b.example",
                                 RCPTS, 1);
    ck_assert_int_eq(check1(r, key, NOW, old, "a@b.example", RCPTS, 1), SJM_GUARD_EXPIRED);
    ck_assert_int_eq(check1(r, key, NOW, edge, "a@b.example", RCPTS, 1), SJM_GUARD_ADMITTED);
    ck_assert_int_eq(check1(r, key, NOW, ahead, "a@b.example", RCPTS, 1), SJM_GUARD_FUTURE);
    ck_assert_int_eq(check1(r, key, NOW, near, "a@b.example", RCPTS, 1), SJM_GUARD_ADMITTED);
    /* once its nonce is forgotten, a token is refused by its age */
    ck_assert_int_eq(check1(r, key, NOW + 1, edge, "a@b.example", RCPTS, 1), SJM_GUARD_EXPIRED);
    g_free(old);
    g_free(edge);
    g_free(ahead);
    g_free(near);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

START_TEST(forged_and_malformed)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *tok = sjm_guard_token(key, NOW, NONCE, "a@b.example", RCPTS, 1);
    ck_assert_ptr_nonnull(strstr(tok, "n=" NONCE ";"));

    /* one hex digit of the MAC changed */
    char *flipped = g_strdup(tok);
    char *last = flipped + strlen(flipped) - 1;
    *last = *last == '0' ? '1' : '0';
    ck_assert_int_eq(check1(r, key, NOW, flipped, "a@b.example", RCPTS, 1), SJM_GUARD_BAD_MAC);
    /* the time moved into the window: the MAC covers it */
    char *moved = g_strdup(tok);
    char *t = strstr(moved, "t=1700000000");
    ck_assert_ptr_nonnull(t);
    t[11] = '5';
    ck_assert_int_eq(check1(r, key, NOW, moved, "a@b.example", RCPTS, 1), SJM_GUARD_BAD_MAC);

    static const char *const bad[] = {
        "",
        "v=1",
        "v=2; t=1700000000; n=" NONCE "; mac=" "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49",
        "t=1700000000; v=1; n=" NONCE "; mac=" "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49",
        "v=1; t=-5; n=" NONCE "; mac=" "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49",
        "v=1; t=1700000000; n=short; mac=" "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49",
        "v=1; t=1700000000; n=" NONCE "; mac=" "B9857880ED0C62AA925B4F5944202EA54555F10FCAF8E27ED40F1F460F548D49",
        "v=1; t=1700000000; n=" NONCE "; mac=b985",
        "v=1; t=1700000000; n=" NONCE "; mac=" "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49; x=1",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
        ck_assert_msg(check1(r, key, NOW, bad[i], "a@b.example", RCPTS, 1) == SJM_GUARD_MALFORMED,
                      "case %u: %s", i, bad[i]);
    g_free(flipped);
    g_free(moved);
    g_free(tok);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

START_TEST(missing_several_and_no_key)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(100);
    char *tok = sjm_guard_token(key, NOW, NULL, "a@b.example", RCPTS, 1);
    char *tok2 = sjm_guard_token(key, NOW, NULL, "a@b.example", RCPTS, 1);
    const char *two[] = {tok, tok2};

    ck_assert_int_eq(sjm_guard_check(r, key, NOW, NULL, 0, "a@b.example", RCPTS, 1),
                     SJM_GUARD_NO_TOKEN);
    ck_assert_int_eq(sjm_guard_check(r, key, NOW, two, 2, "a@b.example", RCPTS, 1),
                     SJM_GUARD_SEVERAL_TOKENS);
    ck_assert_int_eq(check1(r, NULL, NOW, tok, "a@b.example", RCPTS, 1), SJM_GUARD_NO_KEY);
    ck_assert_ptr_null(sjm_guard_token(NULL, NOW, NULL, "a@b.example", RCPTS, 1));
    g_free(tok);
    g_free(tok2);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

START_TEST(replay_memory_bounded)
{
    GBytes *key = test_key("k1-0123456789abcdef0123456789abcdef");
    sjm_guard_replay *r = sjm_guard_replay_new(2);
    char *tok[3];
    for (guint i = 0; i < 3; i++)
        tok[i] = sjm_guard_token(key, NOW, NULL, "a@b.example", RCPTS, 1);
    ck_assert_int_eq(check1(r, key, NOW, tok[0], "a@b.example", RCPTS, 1), SJM_GUARD_ADMITTED);
    ck_assert_int_eq(check1(r, key, NOW, tok[1], "a@b.example", RCPTS, 1), SJM_GUARD_ADMITTED);
    /* full: refused rather than forgetting a nonce that is still good */
    ck_assert_int_eq(check1(r, key, NOW, tok[2], "a@b.example", RCPTS, 1), SJM_GUARD_REPLAY_FULL);
    /* once the first two expired, there is room again */
    char *later = sjm_guard_token(key, NOW + SJM_REINJECT_TOKEN_MAX_AGE + 1, NULL, "a@b.example",
                                  RCPTS, 1);
    ck_assert_int_eq(check1(r, key, NOW + SJM_REINJECT_TOKEN_MAX_AGE + 1, later, "a@b.example",
                            RCPTS, 1), SJM_GUARD_ADMITTED);
    for (guint i = 0; i < 3; i++)
        g_free(tok[i]);
    g_free(later);
    sjm_guard_replay_free(r);
    g_bytes_unref(key);
}
END_TEST

/* The documented format, computed independently (Python's hmac). */
START_TEST(key_derivation_and_format)
{
    sjm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mark_key = test_key("0123456789abcdef0123456789abcdef");
    GBytes *key = sjm_guard_key(&cfg);
    ck_assert_ptr_nonnull(key);
    char *tok = sjm_guard_token(key, NOW, NONCE, "Alice@corp.example", RCPTS, 2);
    ck_assert_str_eq(tok, "v=1; t=1700000000; n=" NONCE "; mac="
                          "b9857880ed0c62aa925b4f5944202ea54555f10fcaf8e27ed40f1f460f548d49");
    /* without a mark key: the process's own random key, the same each time */
    GBytes *p1 = sjm_guard_key(NULL), *p2 = sjm_guard_key(NULL);
    ck_assert_ptr_nonnull(p1);
    ck_assert(g_bytes_equal(p1, p2));
    ck_assert_int_eq((int)g_bytes_get_size(p1), 32);
    ck_assert(!g_bytes_equal(p1, key));
    ck_assert(!g_bytes_equal(key, cfg.mark_key));   /* derived, never the mark key itself */
    g_free(tok);
    g_bytes_unref(key);
    g_bytes_unref(p1);
    g_bytes_unref(p2);
    g_bytes_unref(cfg.mark_key);
}
END_TEST

START_TEST(names_and_counts)
{
    for (int v = 0; v < SJM_GUARD_VERDICT_COUNT; v++) {
        ck_assert_str_ne(sjm_guard_verdict_name(v), "?");
        for (int w = 0; w < v; w++)
            ck_assert_str_ne(sjm_guard_verdict_name(v), sjm_guard_verdict_name(w));
    }
    ck_assert_str_eq(sjm_guard_verdict_name(SJM_GUARD_VERDICT_COUNT), "?");
    ck_assert(sjm_guard_is_token_header("x-smime-journal-milter-reinject"));
    ck_assert(!sjm_guard_is_token_header("X-SMIME-Journal-Mark"));
    guint64 before = sjm_guard_counted(SJM_GUARD_BAD_MAC);
    sjm_guard_count(SJM_GUARD_BAD_MAC);
    sjm_guard_count(SJM_GUARD_VERDICT_COUNT);   /* ignored */
    ck_assert_uint_eq(sjm_guard_counted(SJM_GUARD_BAD_MAC), before + 1);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("reinject_guard");
    TCase *tc = tcase_create("reinject_guard");
    tcase_add_test(tc, own_token_admitted_once);
    tcase_add_test(tc, bound_to_the_envelope);
    tcase_add_test(tc, null_sender_report);
    tcase_add_test(tc, age_window);
    tcase_add_test(tc, forged_and_malformed);
    tcase_add_test(tc, missing_several_and_no_key);
    tcase_add_test(tc, replay_memory_bounded);
    tcase_add_test(tc, key_derivation_and_format);
    tcase_add_test(tc, names_and_counts);
    suite_add_tcase(s, tc);
    return s;
}
