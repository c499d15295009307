/*
 * test_netlist.c - CIDR lists for trusted_networks: IPv4, IPv6,
 * v4-mapped v6, boundaries, and the bad entry named on error.
 */
#include <check.h>
#include <stdlib.h>
#include "netlist.h"
#include "testlib.h"

START_TEST(v4_prefix_boundaries)
{
    char *bad = NULL;
    sjm_netlist *l = sjm_netlist_parse("192.0.2.0/25, 10.0.0.1", &bad);
    ck_assert_ptr_nonnull(l);
    ck_assert(sjm_netlist_contains(l, "192.0.2.0"));
    ck_assert(sjm_netlist_contains(l, "192.0.2.127"));
    ck_assert(!sjm_netlist_contains(l, "192.0.2.128"));
    ck_assert(sjm_netlist_contains(l, "10.0.0.1"));     /* a bare address is a /32 */
    ck_assert(!sjm_netlist_contains(l, "10.0.0.2"));
    ck_assert(sjm_netlist_contains(l, "::ffff:192.0.2.5"));   /* v4-mapped */
    ck_assert(!sjm_netlist_contains(l, ""));
    ck_assert(!sjm_netlist_contains(l, "not-an-address"));
    sjm_netlist_free(l);
}
END_TEST

START_TEST(v6_prefixes)
{
    char *bad = NULL;
    sjm_netlist *l = sjm_netlist_parse("2001:db8::/33, ::1", &bad);
    ck_assert_ptr_nonnull(l);
    ck_assert(sjm_netlist_contains(l, "2001:db8:7fff::1"));
    ck_assert(!sjm_netlist_contains(l, "2001:db8:8000::1"));
    ck_assert(sjm_netlist_contains(l, "::1"));
    ck_assert(!sjm_netlist_contains(l, "127.0.0.1"));
    sjm_netlist_free(l);
}
END_TEST

START_TEST(bad_entry_is_named)
{
    char *bad = NULL;
    ck_assert_ptr_null(sjm_netlist_parse("127.0.0.0/8, 300.1.2.3/8", &bad));
    ck_assert_str_eq(bad, "300.1.2.3/8");
    g_free(bad);
    bad = NULL;
    ck_assert_ptr_null(sjm_netlist_parse("10.0.0.0/33", &bad));
    ck_assert_str_eq(bad, "10.0.0.0/33");
    g_free(bad);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("netlist");
    TCase *tc = tcase_create("netlist");
    tcase_add_test(tc, v4_prefix_boundaries);
    tcase_add_test(tc, v6_prefixes);
    tcase_add_test(tc, bad_entry_is_named);
    suite_add_tcase(s, tc);
    return s;
}
