/* Unit tests: the MIME header grammar (include/mimehdr.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>
#include "mimehdr.h"
#include "testlib.h"

/* Parse V in MODE; the result as "type/subtype;name=value;..." or NULL. */
static char *render(const char *v, sjm_ct_mode mode)
{
    sjm_content_type ct;
    gboolean ok = sjm_content_type_parse(v, mode, &ct);
    GString *s = NULL;
    if (ok) {
        s = g_string_new(NULL);
        g_string_printf(s, "%s/%s", ct.type, ct.subtype);
        for (guint i = 0; i < ct.params->len; i++) {
            sjm_mime_param *p = g_ptr_array_index(ct.params, i);
            g_string_append_printf(s, ";%s=%s", p->name, p->value);
        }
    }
    sjm_content_type_clear(&ct);
    return s != NULL ? g_string_free(s, FALSE) : NULL;
}

static void expect(const char *v, sjm_ct_mode mode, const char *want)
{
    char *got = render(v, mode);
    if (want == NULL)
        ck_assert_msg(got == NULL, "[%s] parsed as %s", v, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "[%s]: %s, want %s", v,
                      got ? got : "(fail)", want);
    g_free(got);
}

START_TEST(strict_accepts_rfc2045)
{
    expect("Multipart/Report; Report-Type=\"Disposition-Notification\"", SJM_CT_STRICT,
           "multipart/report;report-type=Disposition-Notification");
    expect(" multipart/report (a (nested) comment) ;\r\n\treport-type = x ;", SJM_CT_STRICT,
           "multipart/report;report-type=x");
    expect("text/plain; a=\"q\\\"uo;ted\"; a=2", SJM_CT_STRICT, "text/plain;a=q\"uo;ted;a=2");
}
END_TEST

START_TEST(strict_rejects_junk)
{
    const char *bad[] = {
        "", "garbage", "multipart/", "/report", "multipart/report report-type=x",
        "multipart/report; report-type", "multipart/report; report-type=\"x",
        "multipart/report; =x", "multipart/report (unclosed", "multipart/report; a=b c",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
        expect(bad[i], SJM_CT_STRICT, NULL);
    expect(NULL, SJM_CT_STRICT, NULL);
}
END_TEST

START_TEST(lenient_reads_as_clients_do)
{
    expect("Text/Plain; Name*0=a; name*1=b", SJM_CT_LENIENT, "text/plain;name=ab");
    expect("multipart/report report-type=x", SJM_CT_LENIENT, "multipart/report");
    expect("garbage", SJM_CT_LENIENT, "application/octet-stream");
    expect("", SJM_CT_LENIENT, NULL);
}
END_TEST

START_TEST(param_lookup_any_case_first_wins)
{
    sjm_content_type ct;
    ck_assert(sjm_content_type_parse("multipart/mixed; BOUNDARY=a; boundary=b", SJM_CT_STRICT, &ct));
    ck_assert_str_eq(sjm_content_type_param(&ct, "Boundary"), "a");
    ck_assert_uint_eq(sjm_content_type_param_count(&ct, "boundary"), 2);
    ck_assert_ptr_null(sjm_content_type_param(&ct, "charset"));
    sjm_content_type_clear(&ct);
}
END_TEST

START_TEST(header_block_fields)
{
    const char blk[] = "Content-Type : text/plain;\r\n charset=us-ascii\r\nX-A:b\r\n";
    gsize colon;
    ck_assert(sjm_mimehdr_name_ok((const guchar *)blk, sizeof blk - 1, &colon));
    ck_assert_uint_eq(colon, 13);
    ck_assert(!sjm_mimehdr_name_ok((const guchar *)" x: y", 5, &colon));
    ck_assert(!sjm_mimehdr_name_ok((const guchar *)"no colon here", 13, &colon));
    GPtrArray *f = sjm_mimehdr_split_block((const guchar *)blk, sizeof blk - 1, 100);
    ck_assert_uint_eq(f->len, 2);
    sjm_mime_field *a = g_ptr_array_index(f, 0), *b = g_ptr_array_index(f, 1);
    ck_assert_str_eq(a->name, "Content-Type");
    ck_assert_str_eq(a->value, "text/plain; charset=us-ascii");
    ck_assert_uint_eq(a->raw_off, 100);
    ck_assert_uint_eq(a->raw_len, 47);
    ck_assert_uint_eq(b->raw_off, 147);
    ck_assert_str_eq(sjm_mimehdr_field_value(f, "x-a"), "b");
    ck_assert(sjm_mimehdr_is_content_field(a->name));
    ck_assert(!sjm_mimehdr_is_content_field(b->name));
    g_ptr_array_free(f, TRUE);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *su = suite_create("mimehdr");
    TCase *tc = tcase_create("mimehdr");
    tcase_add_test(tc, strict_accepts_rfc2045);
    tcase_add_test(tc, strict_rejects_junk);
    tcase_add_test(tc, lenient_reads_as_clients_do);
    tcase_add_test(tc, param_lookup_any_case_first_wins);
    tcase_add_test(tc, header_block_fields);
    suite_add_tcase(su, tc);
    return su;
}
