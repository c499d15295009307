/*
 * test_addrmatch.c - address normalisation and the glob/domain matching
 * that strip_for, preserve_for, public_folders, system_senders,
 * local_domains and sites all rely on.
 */
#include <check.h>
#include <stdlib.h>
#include "addrmatch.h"
#include "testlib.h"

START_TEST(normalize_strips_brackets_and_case)
{
    char *a = sjm_addr_normalize("<Alice@Corp.Example>");
    ck_assert_str_eq(a, "alice@corp.example");
    g_free(a);
    a = sjm_addr_normalize("<>");
    ck_assert_str_eq(a, "");
    g_free(a);
    a = sjm_addr_normalize("bob@x.test");
    ck_assert_str_eq(a, "bob@x.test");
    g_free(a);
}
END_TEST

START_TEST(domain_of_address)
{
    ck_assert_str_eq(sjm_addr_domain("alice@corp.example"), "corp.example");
    ck_assert_str_eq(sjm_addr_domain("postmaster"), "");
    ck_assert_str_eq(sjm_addr_domain(""), "");
}
END_TEST

START_TEST(globs_are_whole_address_and_case_insensitive)
{
    char *pats[] = {"*@legacy.example.com", "pf-*@corp.example", NULL};
    ck_assert(sjm_addr_match_any(pats, "Bob@Legacy.Example.COM"));
    ck_assert(sjm_addr_match_any(pats, "pf-sales@corp.example"));
    ck_assert(!sjm_addr_match_any(pats, "bob@legacy.example.com.evil.test"));
    ck_assert(!sjm_addr_match_any(pats, "xpf-sales@corp.example"));
    ck_assert(!sjm_addr_match_any(NULL, "bob@x.test"));
}
END_TEST

START_TEST(domain_patterns)
{
    char *doms[] = {"corp.example", "*.eu.corp.example", NULL};
    ck_assert(sjm_domain_match("corp.example", "CORP.example"));
    ck_assert(!sjm_domain_match("corp.example", "sub.corp.example"));
    ck_assert(sjm_domain_match("*.corp.example", "sub.corp.example"));
    ck_assert(!sjm_domain_match("*.corp.example", "corp.example"));
    ck_assert(!sjm_domain_match("*.corp.example", "evilcorp.example"));
    ck_assert(sjm_domain_match_any(doms, "paris.eu.corp.example"));
    ck_assert(!sjm_domain_match_any(doms, "eu.corp.example"));
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("addrmatch");
    TCase *tc = tcase_create("addrmatch");
    tcase_add_test(tc, normalize_strips_brackets_and_case);
    tcase_add_test(tc, domain_of_address);
    tcase_add_test(tc, globs_are_whole_address_and_case_insensitive);
    tcase_add_test(tc, domain_patterns);
    suite_add_tcase(s, tc);
    return s;
}
