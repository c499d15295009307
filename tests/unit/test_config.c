/* Unit tests: configuration loader, sizes, CIDR lists. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "config.h"
#include "netlist.h"
#include "testlib.h"

static char *write_temp(const char *text)
{
    char *path = g_strdup("/tmp/sjm-test-config-XXXXXX");
    int fd = g_mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static gboolean is_unkeyed_warning(const char *w)
{
    return strstr(w, "warning: key mark_key_file in [journal]: not set") != NULL;
}

/* Drops the warning about unkeyed marks (tested by unkeyed_marks_warn)
 * from ERRORS and from C's warnings, so each case counts its own. */
static void drop_unkeyed_warning(GPtrArray *errors, sjm_config *c)
{
    for (guint i = errors->len; i > 0; i--)
        if (is_unkeyed_warning(g_ptr_array_index(errors, i - 1)))
            g_ptr_array_remove_index(errors, i - 1);
    if (c == NULL || c->warnings == NULL)
        return;
    guint keep = 0;
    for (guint i = 0; c->warnings[i]; i++) {
        if (is_unkeyed_warning(c->warnings[i]))
            g_free(c->warnings[i]);
        else
            c->warnings[keep++] = c->warnings[i];
    }
    c->warnings[keep] = NULL;
}

static sjm_config *load_text(const char *text, GPtrArray **errors_out)
{
    char *path = write_temp(text);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *c = sjm_config_load(path, errors);
    drop_unkeyed_warning(errors, c);
    unlink(path);
    g_free(path);
    if (errors_out)
        *errors_out = errors;
    else
        g_ptr_array_free(errors, TRUE);
    return c;
}

START_TEST(defaults_match_spec)
{
    sjm_config *c = sjm_config_new_default();
    ck_assert_str_eq(c->socket, "local:/run/smime-journal-milter/milter.sock");
    ck_assert_int_eq(c->on_error, SJM_ON_ERROR_TEMPFAIL);
    ck_assert_uint_eq(c->max_scan_size, 64ULL * 1024 * 1024);
    ck_assert_uint_eq(c->max_mime_depth, 32);
    ck_assert_int_eq(c->sig_action, SJM_SIG_ACTION_PRESERVE);
    ck_assert_int_eq(c->sig_mixed, SJM_SIG_ACTION_PRESERVE);
    ck_assert(!c->verify_enabled);
    ck_assert(c->journal_enabled);
    ck_assert_str_eq(c->journal_recipient, "");   /* no compiled-in journal mailbox */
    ck_assert(c->skip_null_sender && c->notify_never && c->protect);
    /* A read report is sent by a person's client: journaled unless asked. */
    ck_assert(!c->skip_read_reports);
    ck_assert_int_eq(c->journal_on_failure, SJM_ON_ERROR_TEMPFAIL);
    ck_assert(sjm_netlist_contains(c->trusted_networks, "127.0.0.1"));
    ck_assert(sjm_netlist_contains(c->trusted_networks, "::1"));
    ck_assert(!sjm_netlist_contains(c->trusted_networks, "192.0.2.1"));
    ck_assert_ptr_ne(c->authserv_id, NULL);
    ck_assert_str_ne(c->authserv_id, "");
    sjm_config_unref(c);
}
END_TEST

/* The shipped file leaves the journal mailbox to the administrator: it
 * fails with exactly that problem, and loads once a mailbox is set on
 * its commented recipient line. */
START_TEST(shipped_file_needs_a_mailbox)
{
    const char *top = getenv("abs_top_srcdir");
    char *path = g_build_filename(top ? top : "..", "etc", "smime-journal-milter.conf", NULL);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    char *text = NULL;

    ck_assert_ptr_eq(sjm_config_load(path, errors), NULL);
    /* The key the packages create at install is not here: name it too. */
    for (guint i = errors->len; i > 0; i--)
        if (strstr(g_ptr_array_index(errors, i - 1), "key mark_key_file in [journal]: cannot read"))
            g_ptr_array_remove_index(errors, i - 1);
    ck_assert_uint_eq(errors->len, 1);
    ck_assert_msg(strstr(errors->pdata[0], ": key recipient in [journal]: journaling is enabled") &&
                      strstr(errors->pdata[0], "enabled = false"),
                  "%s", (char *)errors->pdata[0]);
    g_ptr_array_free(errors, TRUE);

    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    GRegex *re = g_regex_new("^# ?recipient =.*$", G_REGEX_MULTILINE, 0, NULL);
    ck_assert(g_regex_match(re, text, 0, NULL));
    char *set0 = g_regex_replace_literal(re, text, -1, 0, "recipient = journal@archive.corp.invalid", 0, NULL);
    /* The shipped file names the key the packages create: one of ours here. */
    char *key = write_temp("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    char *keyline = g_strdup_printf("mark_key_file = %s", key);
    GRegex *kre = g_regex_new("^mark_key_file = /etc/smime-journal-milter/mark.key$", G_REGEX_MULTILINE, 0, NULL);
    ck_assert(g_regex_match(kre, set0, 0, NULL));
    char *set = g_regex_replace_literal(kre, set0, -1, 0, keyline, 0, NULL);
    sjm_config *c = load_text(set, &errors);
    ck_assert_msg(c != NULL, "%s", errors->len ? (char *)errors->pdata[0] : "?");
    ck_assert_str_eq(c->journal_recipient, "journal@archive.corp.invalid");
    ck_assert_uint_eq(g_strv_length(c->warnings), 1);   /* .invalid is reserved */
    ck_assert_ptr_nonnull(c->mark_key);
    sjm_config_unref(c);
    g_ptr_array_free(errors, TRUE);
    g_regex_unref(re);
    g_regex_unref(kre);
    unlink(key);
    g_free(key);
    g_free(keyline);
    g_free(set0);
    g_free(set);
    g_free(text);
    g_free(path);
}
END_TEST

/* Without a key no mark proves anything: -n says so, and only then. */
START_TEST(unkeyed_marks_warn)
{
    char *path = write_temp("[journal]\nrecipient = j@archive.corp-test.net\n");
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *c = sjm_config_load(path, errors);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(g_strv_length(c->warnings), 1);
    ck_assert_msg(strstr(c->warnings[0], ": warning: key mark_key_file in [journal]: not set: "
                                         "journal marks are unkeyed"), "%s", c->warnings[0]);
    sjm_config_unref(c);
    unlink(path);
    g_free(path);

    char *key = write_temp("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    char *text = g_strdup_printf("[journal]\nrecipient = j@archive.corp-test.net\nmark_key_file = %s\n", key);
    path = write_temp(text);
    c = sjm_config_load(path, errors);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(g_strv_length(c->warnings), 0);
    sjm_config_unref(c);
    unlink(path);
    g_free(path);
    g_free(text);

    /* Journaling off: no mark is written or read, nothing to warn about. */
    path = write_temp("[journal]\nenabled = false\n");
    c = sjm_config_load(path, errors);
    ck_assert_uint_eq(g_strv_length(c->warnings), 0);
    sjm_config_unref(c);
    unlink(path);
    g_free(path);
    unlink(key);
    g_free(key);
    g_ptr_array_free(errors, TRUE);
}
END_TEST

/* A configuration file is text: a NUL byte (which used to end the parse
 * silently), a control character or invalid UTF-8 is refused with its
 * line, whatever follows. */
START_TEST(binary_garbage_refused)
{
    static const struct { const char *bytes; gsize len; const char *want; } cases[] = {
        {"[journal]\nrecipient = j@corp-test.net\n\0\n[bogus]\nx=1\n", 52,
         ":3: contains a NUL byte (byte 0x00)"},
        {"[journal]\nrecipient = j@corp-test.net # \001\n", 42, ":2: contains a control character (byte 0x01)"},
        {"[journal]\n\nrecipient = j@corp-test.net\n\xff\xfe\n", 42, ":4: is not valid UTF-8 (byte 0xff)"},
        {"\x7f[journal]\n", 11, ":1: contains a control character (byte 0x7f)"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *path = g_strdup("/tmp/sjm-conf-XXXXXX");
        int fd = g_mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, cases[i].bytes, cases[i].len), (gssize)cases[i].len);
        close(fd);
        GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
        ck_assert_ptr_null(sjm_config_load(path, errors));
        ck_assert_uint_eq(errors->len, 1);
        ck_assert_msg(g_str_has_prefix(errors->pdata[0], path) && strstr(errors->pdata[0], cases[i].want),
                      "case %u: %s", i, (char *)errors->pdata[0]);
        g_ptr_array_free(errors, TRUE);
        unlink(path);
        g_free(path);
    }
}
END_TEST

/* An empty file is not a configuration: it names no journal mailbox. */
START_TEST(empty_file_names_the_ways_out)
{
    GPtrArray *errors;
    sjm_config *c = load_text("", &errors);
    ck_assert_ptr_eq(c, NULL);
    ck_assert_uint_eq(errors->len, 1);
    const char *e = errors->pdata[0];
    ck_assert_msg(strstr(e, ": key recipient in [journal]: ") && strstr(e, "set recipient = ") &&
                      strstr(e, "enabled = false") && !strstr(e, ":1:"),
                  "%s", e);
    g_ptr_array_free(errors, TRUE);

    c = load_text("[journal]\nenabled = false\n", NULL);
    ck_assert_ptr_ne(c, NULL);
    ck_assert(!c->journal_enabled);
    sjm_config_unref(c);
    c = load_text("[journal]\nsites = corp.example=j@archive.corp.example\n", NULL);
    ck_assert_ptr_ne(c, NULL);
    sjm_config_unref(c);
}
END_TEST

/* Journal mailboxes in RFC 2606 / RFC 6761 names are a warning with
 * the file and line, and only those names. */
START_TEST(reserved_journal_domains_warn)
{
    static const struct { const char *mailbox; gboolean reserved; } cases[] = {
        {"j@example.com", TRUE},       {"j@archive.example.com", TRUE},
        {"j@archive.EXAMPLE.ORG", TRUE}, {"j@example.net", TRUE},
        {"j@corp.example", TRUE},      {"j@example", TRUE},
        {"j@archive.test", TRUE},      {"j@x.invalid", TRUE},
        {"j@localhost", TRUE},         {"j@mail.localhost", TRUE},
        {"j@example.com.au", FALSE},   {"j@notexample.com", FALSE},
        {"j@mytest", FALSE},           {"j@archive.corp.de", FALSE},
        {"j@example.co", FALSE},       {"j@exampletest", FALSE},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *text = g_strdup_printf("[journal]\n\nrecipient = %s\n", cases[i].mailbox);
        GPtrArray *errors;
        sjm_config *c = load_text(text, &errors);
        ck_assert_msg(c != NULL, "%s refused", cases[i].mailbox);
        ck_assert_msg(g_strv_length(c->warnings) == (cases[i].reserved ? 1u : 0u), "%s: %u warnings",
                      cases[i].mailbox, g_strv_length(c->warnings));
        if (cases[i].reserved)
            ck_assert_msg(strstr(c->warnings[0], ":3: warning: key recipient in [journal]: "),
                          "%s", c->warnings[0]);
        sjm_config_unref(c);
        g_ptr_array_free(errors, TRUE);
        g_free(text);
    }
    /* Sites too; a disabled journal sends nothing anywhere. */
    sjm_config *c = load_text("[journal]\nsites = a.example=j@a.test; b.example=j@b.de\n", NULL);
    ck_assert_uint_eq(g_strv_length(c->warnings), 1);
    ck_assert(strstr(c->warnings[0], ":2: warning: key sites in [journal]: journal mailbox j@a.test"));
    sjm_config_unref(c);
    c = load_text("[journal]\nenabled = false\nrecipient = j@example.com\n", NULL);
    ck_assert_uint_eq(g_strv_length(c->warnings), 0);
    sjm_config_unref(c);
}
END_TEST

START_TEST(values_lists_and_sites)
{
    sjm_config *c = load_text("[signatures]\n"
                              "action = STRIP\n"
                              "strip_for = *@Legacy.Example.com , pf-*@corp.example,,\n"
                              "[journal]\n"
                              "scope = internal\n"
                              "local_domains = corp.example, *.corp.example\n"
                              "sites = corp.example=J-Corp@archive.example; eu.corp.example = j-eu@archive.example;\n"
                              "skip_null_sender = no\n"
                              "[milter]\n"
                              "max_scan_size = 512k\n"
                              "trusted_networks = 10.0.0.0/8, 2001:db8::/32\n",
                              NULL);
    ck_assert_ptr_ne(c, NULL);
    ck_assert_int_eq(c->sig_action, SJM_SIG_ACTION_STRIP);
    ck_assert_uint_eq(g_strv_length(c->strip_for), 2);
    ck_assert_str_eq(c->strip_for[0], "*@legacy.example.com");
    ck_assert_str_eq(c->strip_for[1], "pf-*@corp.example");
    ck_assert_int_eq(c->journal_scope, SJM_SCOPE_INTERNAL);
    ck_assert_uint_eq(c->sites->len, 2);
    ck_assert_str_eq(((sjm_site *)c->sites->pdata[0])->mailbox, "j-corp@archive.example");
    ck_assert_str_eq(((sjm_site *)c->sites->pdata[1])->domain, "eu.corp.example");
    ck_assert(!c->skip_null_sender);
    ck_assert_uint_eq(c->max_scan_size, 512 * 1024);
    ck_assert(sjm_netlist_contains(c->trusted_networks, "10.1.2.3"));
    ck_assert(sjm_netlist_contains(c->trusted_networks, "2001:db8:1::5"));
    ck_assert(!sjm_netlist_contains(c->trusted_networks, "127.0.0.1"));
    sjm_config_unref(c);
}
END_TEST

START_TEST(errors_carry_file_and_line)
{
    GPtrArray *errors;
    sjm_config *c = load_text("[milter]\n\n# comment\non_error = sometimes\n"
                              "[journal]\nrecipient = j@archive.corp.de\n", &errors);
    ck_assert_ptr_eq(c, NULL);
    ck_assert_uint_eq(errors->len, 1);
    ck_assert_msg(strstr(errors->pdata[0], ":4: key on_error in [milter]") != NULL, "%s",
                  (char *)errors->pdata[0]);
    g_ptr_array_free(errors, TRUE);
}
END_TEST

START_TEST(backslashes_are_literal)
{
    sjm_config *c = load_text("[verify]\nauthserv_id = mx\\01\n[journal]\nenabled = false\n", NULL);
    ck_assert_ptr_ne(c, NULL);
    ck_assert_str_eq(c->authserv_id, "mx\\01");
    sjm_config_unref(c);
}
END_TEST

START_TEST(sizes)
{
    guint64 b;
    ck_assert(sjm_parse_size("1000", &b) && b == 1000);
    ck_assert(sjm_parse_size("64M", &b) && b == 64ULL << 20);
    ck_assert(sjm_parse_size("2g", &b) && b == 2ULL << 30);
    ck_assert(sjm_parse_size("10KB", &b) && b == 10240);
    ck_assert(!sjm_parse_size("", &b));
    ck_assert(!sjm_parse_size("M", &b));
    ck_assert(!sjm_parse_size("-1", &b));
    ck_assert(!sjm_parse_size("12T", &b));
    ck_assert(!sjm_parse_size("99999999999999999999G", &b));
}
END_TEST

START_TEST(netlists)
{
    char *bad = NULL;
    sjm_netlist *l = sjm_netlist_parse("192.0.2.0/24, ::1, 10.0.0.1", &bad);
    ck_assert_ptr_ne(l, NULL);
    ck_assert(sjm_netlist_contains(l, "192.0.2.200"));
    ck_assert(sjm_netlist_contains(l, "::ffff:192.0.2.7"));   /* v4-mapped */
    ck_assert(!sjm_netlist_contains(l, "192.0.3.1"));
    ck_assert(sjm_netlist_contains(l, "10.0.0.1"));
    ck_assert(!sjm_netlist_contains(l, "10.0.0.2"));
    ck_assert(sjm_netlist_contains(l, "::1"));
    ck_assert(!sjm_netlist_contains(l, "not-an-ip"));
    ck_assert(!sjm_netlist_contains(l, ""));
    sjm_netlist_free(l);
    ck_assert_ptr_eq(sjm_netlist_parse("1.2.3.4/8x", &bad), NULL);
    ck_assert_str_eq(bad, "1.2.3.4/8x");
    g_free(bad);
    l = sjm_netlist_parse("0.0.0.0/0", NULL);
    ck_assert(sjm_netlist_contains(l, "203.0.113.9"));
    ck_assert(!sjm_netlist_contains(l, "2001:db8::1"));
    sjm_netlist_free(l);
}
END_TEST

START_TEST(print_shows_every_key)
{
    sjm_config *c = sjm_config_new_default();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sjm_config_print(c, f);
    fclose(f);
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++) {
        char *line = g_strdup_printf("\n%s = ", k->key);
        ck_assert_msg(strstr(buf, line) != NULL, "missing %s", k->key);
        g_free(line);
    }
    free(buf);
    sjm_config_unref(c);
}
END_TEST

/* The table is the one place a key is described: every row must be whole. */
START_TEST(every_row_is_complete)
{
    guint n = 0;
    for (const sjm_config_key *k = sjm_config_keys; k->section; k++, n++) {
        ck_assert_msg(k->key && *k->key && k->default_value, "row %u", n);
        ck_assert_msg(k->doc && *k->doc, "%s has no description", k->key);
        ck_assert_msg(k->type < SJM_KEY_NTYPES, "%s has no type", k->key);
        ck_assert_ptr_eq(sjm_config_find_key(k->section, k->key), k);
        if (k->type == SJM_KEY_ENUM) {
            gboolean found = FALSE;
            ck_assert_msg(k->choices && k->choices[0], "%s has no choices", k->key);
            for (const char *const *c = k->choices; *c; c++)
                found |= strcmp(*c, k->default_value) == 0;
            ck_assert_msg(found, "default of %s is not one of its choices", k->key);
        }
        if (k->type == SJM_KEY_UINT)
            ck_assert_msg(k->min <= k->max, "%s has an empty range", k->key);
        for (const sjm_config_key *o = sjm_config_keys; o != k; o++)
            ck_assert_msg(o->offset != k->offset, "%s and %s fill the same field", o->key, k->key);
    }
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_eq(sjm_config_find_key("journal", "no_such_key"), NULL);
}
END_TEST

/* A bad value in one key does not hide a bad value in another, and the
 * cross-key rules still run. */
START_TEST(every_problem_at_once)
{
    GPtrArray *errors;
    sjm_config *c = load_text("[milter]\nmax_mime_depth = 0\nreinject = nohost\n[signatures]\n"
                              "strip_for = a b, c d\n[journal]\nscope = external\n"
                              "recipient = j@archive.corp.de\n", &errors);
    ck_assert_ptr_eq(c, NULL);
    ck_assert_uint_eq(errors->len, 5);
    ck_assert(strstr(errors->pdata[0], ":2: key max_mime_depth in [milter]: \"0\" is not a number from 1 to 1000"));
    ck_assert(strstr(errors->pdata[1], ":5: key strip_for in [signatures]: \"a b\""));
    ck_assert(strstr(errors->pdata[2], ":5: key strip_for in [signatures]: \"c d\""));
    ck_assert(strstr(errors->pdata[3], ":3: key reinject in [milter]: \"nohost\" is not HOST:PORT"));
    ck_assert(strstr(errors->pdata[4], ":7: key scope in [journal]: scope internal or external needs"));
    g_ptr_array_free(errors, TRUE);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_match_spec);
    tcase_add_test(tc, shipped_file_needs_a_mailbox);
    tcase_add_test(tc, empty_file_names_the_ways_out);
    tcase_add_test(tc, unkeyed_marks_warn);
    tcase_add_test(tc, binary_garbage_refused);
    tcase_add_test(tc, reserved_journal_domains_warn);
    tcase_add_test(tc, values_lists_and_sites);
    tcase_add_test(tc, errors_carry_file_and_line);
    tcase_add_test(tc, backslashes_are_literal);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, netlists);
    tcase_add_test(tc, print_shows_every_key);
    tcase_add_test(tc, every_row_is_complete);
    tcase_add_test(tc, every_problem_at_once);
    suite_add_tcase(s, tc);
    return s;
}
