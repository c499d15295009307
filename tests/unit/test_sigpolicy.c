/*
 * test_sigpolicy.c - [signatures] action, strip_for, preserve_for and
 * mixed folded into one decision per message.
 */
#include <stdio.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <check.h>
#include "config.h"
#include "sigpolicy.h"
#include "testlib.h"

static sjm_config *cfg;

static void setup(void)
{
    cfg = sjm_config_new_default();
}

static void teardown(void)
{
    sjm_config_unref(cfg);
    cfg = NULL;
}

static void set_list(char ***field, const char *csv)
{
    g_strfreev(*field);
    *field = g_strsplit(csv, ",", -1);
}

/* The message decision for a comma-separated recipient list. */
static sjm_sig_action for_rcpts(const char *csv)
{
    GPtrArray *r = g_ptr_array_new_with_free_func(g_free);
    char **v = g_strsplit(csv, ",", -1);
    for (char **p = v; *p != NULL; p++)
        if (**p != '\0')
            g_ptr_array_add(r, g_strdup(*p));
    g_strfreev(v);
    sjm_sig_action a = sjm_sigpolicy_for_message(cfg, r);
    g_ptr_array_free(r, TRUE);
    return a;
}

START_TEST(test_defaults_preserve)
{
    ck_assert_int_eq(cfg->sig_action, SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "a@example.com"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(for_rcpts("a@example.com,b@example.org"), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_action_strip)
{
    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "a@example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(for_rcpts("a@example.com,b@example.org"), SJM_SIG_ACTION_STRIP);
}
END_TEST

START_TEST(test_strip_for_patterns)
{
    set_list(&cfg->strip_for, "*@legacy.example.com,pf-*@corp.example,*@*.old.example");
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "bob@legacy.example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "pf-sales@corp.example"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "x@mail.old.example"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "sales@corp.example"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "x@old.example"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "bob@legacy.example.com.evil"), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_patterns_case_insensitive)
{
    set_list(&cfg->strip_for, "*@legacy.example.com");
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "Bob@LEGACY.Example.COM"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "<bob@legacy.example.com>"), SJM_SIG_ACTION_STRIP);
}
END_TEST

START_TEST(test_preserve_for_wins)
{
    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    set_list(&cfg->strip_for, "*@legacy.example.com");
    set_list(&cfg->preserve_for, "ceo@legacy.example.com,*@pki.example");
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "ceo@legacy.example.com"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "bob@legacy.example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "ca@pki.example"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "anyone@else.example"), SJM_SIG_ACTION_STRIP);
}
END_TEST

START_TEST(test_mixed_preserve)
{
    set_list(&cfg->strip_for, "*@legacy.example.com");
    cfg->sig_mixed = SJM_SIG_ACTION_PRESERVE;
    ck_assert_int_eq(for_rcpts("a@legacy.example.com,b@new.example"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(for_rcpts("b@new.example,a@legacy.example.com"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(for_rcpts("a@legacy.example.com,c@legacy.example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(for_rcpts("b@new.example,d@new.example"), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_mixed_strip)
{
    set_list(&cfg->strip_for, "*@legacy.example.com");
    cfg->sig_mixed = SJM_SIG_ACTION_STRIP;
    ck_assert_int_eq(for_rcpts("a@legacy.example.com,b@new.example"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(for_rcpts("b@new.example,a@legacy.example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(for_rcpts("b@new.example"), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_mixed_with_preserve_for_under_strip)
{
    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    set_list(&cfg->preserve_for, "*@pki.example");
    cfg->sig_mixed = SJM_SIG_ACTION_PRESERVE;
    ck_assert_int_eq(for_rcpts("a@x.example,ca@pki.example"), SJM_SIG_ACTION_PRESERVE);
    cfg->sig_mixed = SJM_SIG_ACTION_STRIP;
    ck_assert_int_eq(for_rcpts("a@x.example,ca@pki.example"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(for_rcpts("ca@pki.example"), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_no_recipients)
{
    ck_assert_int_eq(sjm_sigpolicy_for_message(cfg, NULL), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(for_rcpts(""), SJM_SIG_ACTION_PRESERVE);
    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    ck_assert_int_eq(for_rcpts(""), SJM_SIG_ACTION_STRIP);
}
END_TEST

START_TEST(test_empty_pattern_entries_ignored)
{
    set_list(&cfg->strip_for, "");
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, "a@example.com"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(cfg, ""), SJM_SIG_ACTION_PRESERVE);
}
END_TEST

START_TEST(test_config_file_values)
{
    /* The loader's lists feed the policy unchanged (lower-cased globs). */
    char *path = g_build_filename(g_get_tmp_dir(), "sjm-sigpolicy-XXXXXX.conf", NULL);
    int fd = g_mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *ini = "[signatures]\naction = preserve\nstrip_for = *@Legacy.Example.com, pf-*@corp.example\n"
                      "preserve_for = boss@legacy.example.com\nmixed = strip\n"
                      "[journal]\nenabled = false\n";
    ck_assert(g_file_set_contents(path, ini, -1, NULL));
    close(fd);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *c = sjm_config_load(path, errors);
    for (guint i = 0; i < errors->len; i++)
        fprintf(stderr, "%s\n", (char *)g_ptr_array_index(errors, i));
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(c, "x@legacy.example.com"), SJM_SIG_ACTION_STRIP);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(c, "boss@legacy.example.com"), SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(sjm_sigpolicy_for_rcpt(c, "pf-a@corp.example"), SJM_SIG_ACTION_STRIP);
    GPtrArray *r = g_ptr_array_new();
    g_ptr_array_add(r, "x@legacy.example.com");
    g_ptr_array_add(r, "boss@legacy.example.com");
    ck_assert_int_eq(sjm_sigpolicy_for_message(c, r), SJM_SIG_ACTION_STRIP);
    g_ptr_array_free(r, TRUE);
    sjm_config_unref(c);
    g_ptr_array_free(errors, TRUE);
    g_unlink(path);
    g_free(path);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("sigpolicy");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults_preserve);
    tcase_add_test(tc, test_action_strip);
    tcase_add_test(tc, test_strip_for_patterns);
    tcase_add_test(tc, test_patterns_case_insensitive);
    tcase_add_test(tc, test_preserve_for_wins);
    tcase_add_test(tc, test_mixed_preserve);
    tcase_add_test(tc, test_mixed_strip);
    tcase_add_test(tc, test_mixed_with_preserve_for_under_strip);
    tcase_add_test(tc, test_no_recipients);
    tcase_add_test(tc, test_empty_pattern_entries_ignored);
    tcase_add_test(tc, test_config_file_values);
    suite_add_tcase(s, tc);
    return s;
}
