/*
 * test_session.c - the session layer (session.c) through the in-memory
 * MTA (mta_file.c): protocol order in, edits out, the failure policy
 * when the MTA refuses an edit, CRLF normalisation, the trust rule and
 * the one summary line; report mode and split through the re-injection
 * listener (tests/lib/smtp_sink.py).  The real core, S/MIME and journal
 * modules run behind it; only the MTA is simulated, the same one
 * --inspect uses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "journal.h"
#include "mta_file.h"
#include "reinject.h"
#include "session.h"
#include "smime.h"
#include "summary.h"
#include "testlib.h"

#define JOURNAL "journal@archive.corp.test"

static sjm_config *cfg;

static void setup(void)
{
    cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup(JOURNAL);
    cfg->journal_enabled = TRUE;
}

static void teardown(void)
{
    sjm_config_unref(cfg);
}

/* A plain message from a trusted client through session and MTA M. */
static sjm_session *run_plain(sjm_mta_file *m, sjm_outcome *out)
{
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s = sjm_session_new(cfg, &client, "<Alice@Corp.Test>");

    ck_assert_ptr_null(sjm_session_rcpt(s, "<bob@corp.test>"));
    sjm_mta_file_add_original_rcpt(m, "bob@corp.test");
    sjm_session_header(s, "From", "alice@corp.test");
    sjm_mta_file_add_original_header(m, "From", "alice@corp.test", "From: alice@corp.test\r\n");
    sjm_session_header(s, "Content-Type", "text/plain");
    sjm_mta_file_add_original_header(m, "Content-Type", "text/plain", "Content-Type: text/plain\r\n");
    /* Plain mail: the body streams by for the mark's digest, never stored. */
    ck_assert(sjm_session_eoh(s));
    ck_assert(sjm_session_body(s, (const guchar *)"hi\r\n", 4));
    ck_assert_ptr_null(sjm_session_txn(s)->body);
    sjm_mta_file_add_original_body(m, "hi\r\n", 4);
    sjm_session_eom(s, &sjm_mta_file_ops, m, out);
    return s;
}

static gboolean has_header(const sjm_mta_file *m, const char *name)
{
    for (guint i = 0; i < m->headers->len; i++) {
        const sjm_mta_file_header *h = g_ptr_array_index(m->headers, i);
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return TRUE;
    }
    return FALSE;
}

START_TEST(plain_message_gets_journal_recipient_and_mark)
{
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    sjm_session *s = run_plain(m, &out);

    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    ck_assert_uint_eq(m->rcpt_log->len, 1);
    ck_assert_str_eq(g_ptr_array_index(m->rcpt_log, 0), "+<" JOURNAL "> NOTIFY=NEVER");
    ck_assert_uint_eq(m->rcpts->len, 2);
    ck_assert(has_header(m, "X-SMIME-Journal-Milter-Journaled"));
    ck_assert_ptr_null(m->new_body);
    ck_assert(g_str_has_prefix(out.summary, "signature=none journal=added:" JOURNAL " "));
    ck_assert(g_str_has_prefix(out.log_line, "from=<alice@corp.test> rcpts=1 signature=none "));
    /* the log line is the summary with the envelope in front */
    ck_assert_str_eq(out.log_line + strlen("from=<alice@corp.test> rcpts=1 "), out.summary);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(refused_journal_recipient_tempfails_by_default)
{
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    sjm_session *s;

    m->refuse = SJM_MTA_REFUSE_ADD_RCPT;
    s = run_plain(m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_TEMPFAIL);
    ck_assert_str_eq(out.reply_code, "451");
    ck_assert_str_eq(out.reply_xcode, "4.3.0");
    ck_assert_ptr_nonnull(strstr(out.summary, "journal=failed action=tempfail"));
    /* nothing else was applied either */
    ck_assert(!has_header(m, "X-SMIME-Journal-Milter-Journaled"));
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(refused_journal_recipient_with_accept_claims_no_mark)
{
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    sjm_session *s;

    cfg->journal_on_failure = SJM_ON_ERROR_ACCEPT;
    m->refuse = SJM_MTA_REFUSE_ADD_RCPT;
    s = run_plain(m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    ck_assert_ptr_nonnull(strstr(out.summary, "journal=failed:accepted-unjournaled"));
    /* a downstream hop must not believe a journal that never happened */
    ck_assert(!has_header(m, "X-SMIME-Journal-Milter-Journaled"));
    ck_assert_uint_eq(m->rcpts->len, 1);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(refused_header_edit_follows_on_error)
{
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    sjm_session *s;

    m->refuse = SJM_MTA_REFUSE_HEADER;
    s = run_plain(m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_TEMPFAIL);
    ck_assert_ptr_nonnull(strstr(out.summary, " error=edit-failed"));
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);

    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    m = sjm_mta_file_new();
    m->refuse = SJM_MTA_REFUSE_HEADER;
    s = run_plain(m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    ck_assert_ptr_nonnull(strstr(out.summary, " error=edit-failed"));
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(mta_without_esmtp_args_gets_plain_recipient)
{
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    sjm_session *s;

    m->esmtp_args = FALSE;
    s = run_plain(m, &out);
    ck_assert_str_eq(g_ptr_array_index(m->rcpt_log, 0), "+<" JOURNAL ">");
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

/* The spooled body after feeding CHUNKS (NULL-terminated) to a session. */
static GString *fed_body(const char **chunks)
{
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s = sjm_session_new(cfg, &client, "<a@corp.test>");
    GString *got = g_string_new(NULL);
    guchar buf[4096];
    guint64 off = 0;
    gssize n;

    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    sjm_session_rcpt(s, "<b@corp.test>");
    sjm_session_header(s, "Content-Type", "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x");
    ck_assert(sjm_session_eoh(s));
    for (const char **c = chunks; *c; c++)
        ck_assert(sjm_session_body(s, (const guchar *)*c, strlen(*c)));
    sjm_spool *body = sjm_session_txn(s)->body;
    while ((n = sjm_spool_read(body, &off, buf, sizeof buf)) > 0)
        g_string_append_len(got, (const char *)buf, n);
    sjm_session_free(s);
    return got;
}

START_TEST(body_is_crlf_whatever_the_source)
{
    const char *lf[] = {"a\nb\n", "c\n", NULL};
    const char *crlf[] = {"a\r\nb\r\nc\r\n", NULL};
    const char *split[] = {"a\r", "\nb\r", "\n", "c\n", NULL};   /* CR|LF across chunks */
    const char *bare_cr[] = {"a\rb\n", NULL};                    /* a lone CR stays */
    GString *g;

    g = fed_body(lf);
    ck_assert_str_eq(g->str, "a\r\nb\r\nc\r\n");
    g_string_free(g, TRUE);
    g = fed_body(crlf);
    ck_assert_str_eq(g->str, "a\r\nb\r\nc\r\n");
    g_string_free(g, TRUE);
    g = fed_body(split);
    ck_assert_str_eq(g->str, "a\r\nb\r\nc\r\n");
    g_string_free(g, TRUE);
    g = fed_body(bare_cr);
    ck_assert_str_eq(g->str, "a\rb\r\n");
    g_string_free(g, TRUE);
}
END_TEST

START_TEST(body_stops_past_max_scan_size)
{
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s;
    char chunk[1000];

    cfg->sig_action = SJM_SIG_ACTION_STRIP;
    cfg->max_scan_size = 1500;
    s = sjm_session_new(cfg, &client, "<a@corp.test>");
    sjm_session_rcpt(s, "<b@corp.test>");
    sjm_session_header(s, "Content-Type", "application/pkcs7-mime; smime-type=signed-data");
    ck_assert(sjm_session_eoh(s));
    memset(chunk, 'x', sizeof chunk);
    ck_assert(sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    ck_assert(sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    /* Past max_scan_size the rest is not stored; only the digest of a
     * journaled message still wants to see it. */
    ck_assert(sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    ck_assert_uint_eq(sjm_spool_size(sjm_session_txn(s)->body), 2000);
    sjm_session_free(s);

    cfg->journal_enabled = FALSE;
    s = sjm_session_new(cfg, &client, "<a@corp.test>");
    sjm_session_rcpt(s, "<b@corp.test>");
    sjm_session_header(s, "Content-Type", "application/pkcs7-mime; smime-type=signed-data");
    ck_assert(sjm_session_eoh(s));
    ck_assert(sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    ck_assert(sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    ck_assert(!sjm_session_body(s, (const guchar *)chunk, sizeof chunk));
    ck_assert_uint_eq(sjm_spool_size(sjm_session_txn(s)->body), 2000);
    sjm_session_free(s);
}
END_TEST

START_TEST(trust_rule)
{
    sjm_client local = {NULL, NULL}, empty = {"", NULL}, loop = {"127.0.0.1", NULL},
               v6 = {"::1", NULL}, stranger = {"192.0.2.9", "alice"};

    /* A local shell user can write any header: not a trusted relay. */
    ck_assert(!sjm_session_client_trusted(cfg, &local));
    ck_assert(!sjm_session_client_trusted(cfg, &empty));
    ck_assert(sjm_session_client_trusted(cfg, &loop));
    ck_assert(sjm_session_client_trusted(cfg, &v6));
    ck_assert(!sjm_session_client_trusted(cfg, &stranger));
}
END_TEST

START_TEST(refused_recipient_is_in_the_summary)
{
    sjm_client stranger = {"192.0.2.9", NULL};
    sjm_session *s = sjm_session_new(cfg, &stranger, "<x@outside.test>");
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;

    ck_assert_ptr_nonnull(sjm_session_rcpt(s, "<" JOURNAL ">"));   /* protect */
    ck_assert_ptr_null(sjm_session_rcpt(s, "<bob@corp.test>"));
    sjm_session_header(s, "Subject", "hi");
    sjm_session_eoh(s);
    sjm_session_eom(s, &sjm_mta_file_ops, m, &out);
    ck_assert_ptr_nonnull(strstr(out.summary, " rcpt_refused=<" JOURNAL ">(550 5.7.1 "));
    ck_assert_uint_eq(sjm_session_txn(s)->rcpts->len, 1);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(no_recipient_is_rejected)
{
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s = sjm_session_new(cfg, &client, "<a@corp.test>");
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;

    sjm_session_eoh(s);
    sjm_session_eom(s, &sjm_mta_file_ops, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_REJECT);
    ck_assert_ptr_nonnull(strstr(out.summary, "journal=skipped:no-recipients action=reject"));
    ck_assert_uint_eq(m->rcpt_log->len, 0);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
}
END_TEST

START_TEST(mta_file_edits_like_postfix)
{
    sjm_mta_file *m = sjm_mta_file_new();
    const sjm_mta_ops *o = &sjm_mta_file_ops;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    sjm_mta_file_add_original_header(m, "Received", "a", "Received: a\n");
    sjm_mta_file_add_original_header(m, "X-A", "1", "X-A: 1\n");
    sjm_mta_file_add_original_header(m, "X-A", "2", "X-A:  2\n");
    sjm_mta_file_add_original_body(m, "body\r\n", 6);
    ck_assert(o->insert_header(m, 0, "X-Top", "t"));
    ck_assert(o->change_header(m, "X-A", 2, "two"));
    ck_assert(o->change_header(m, "x-a", 1, NULL));          /* delete */
    ck_assert(o->change_header(m, "X-Missing", 1, "added")); /* absent: appended */
    ck_assert(o->insert_header(m, 99, "X-End", "e\nfolded"));
    ck_assert(o->add_rcpt(m, "j@x.test", NULL));
    ck_assert(o->del_rcpt(m, "J@X.test"));
    ck_assert_uint_eq(m->rcpts->len, 0);
    ck_assert(sjm_mta_file_write(m, f, FALSE));
    fclose(f);
    ck_assert_str_eq(text, "X-Top: t\nReceived: a\nX-A: two\nX-Missing: added\n"
                           "X-End: e\nfolded\n\nbody\r\n");   /* unreplaced: as received */
    free(text);
    sjm_mta_file_free(m);
}
END_TEST

/* ------------------------------------------------ report mode and split */

/* One transaction through the session layer into an in-memory MTA. */
static void run_session(sjm_config *cfg, const char *text, const char *const *rcpts,
                        sjm_mta_file *m, sjm_outcome *out)
{
    sjm_txn *parsed = sjm_test_txn_from_text(text, -1, "a@b", NULL);
    sjm_client client = {"127.0.0.1", NULL};
    sjm_session *s = sjm_session_new(cfg, &client, "<alice@corp.example>");
    for (const char *const *r = rcpts; *r; r++) {
        ck_assert_ptr_null(sjm_session_rcpt(s, *r));
        sjm_mta_file_add_original_rcpt(m, *r);
    }
    for (guint i = 0; i < parsed->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(parsed->headers, i);
        sjm_session_header(s, h->name, h->value);
        sjm_mta_file_add_original_header(m, h->name, h->value, NULL);
    }
    ck_assert(sjm_session_eoh(s));
    const char *body = strstr(text, "\r\n\r\n") + 4;
    sjm_session_body(s, (const guchar *)body, strlen(body));
    sjm_mta_file_add_original_body(m, body, strlen(body));
    sjm_session_eom(s, &sjm_mta_file_ops, m, out);
    sjm_session_free(s);
    sjm_txn_free(parsed);
}

static gboolean logged(const sjm_mta_file *m, const char *entry)
{
    for (guint i = 0; i < m->rcpt_log->len; i++)
        if (strcmp(g_ptr_array_index(m->rcpt_log, i), entry) == 0)
            return TRUE;
    return FALSE;
}

START_TEST(session_report_and_split)
{
    char *text = sjm_test_corpus_read("alice.dsig.SHA256.multipart.eml", NULL);
    ck_assert_msg(text != NULL, "corpus message alice.dsig.SHA256.multipart.eml not found");
    sjm_test_sink *sk = sjm_test_sink_start("normal");
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("j@archive.example");
    cfg->journal_mode = SJM_JOURNAL_MODE_REPORT;
    cfg->sig_mixed = SJM_SIG_ACTION_SPLIT;
    g_strfreev(cfg->strip_for);
    cfg->strip_for = g_strsplit("*@legacy.example", ",", -1);
    g_free(cfg->reinject);
    cfg->reinject = g_strdup_printf("127.0.0.1:%s", sk->port);

    static const char *const rcpts[] = {"<bob@corp.example>", "<Old@Legacy.Example>", NULL};
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out;
    run_session(cfg, text, rcpts, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    /* no journal recipient on the transaction; the legacy one moved off it,
     * named as the client spelled it */
    for (guint i = 0; i < m->rcpt_log->len; i++)
        ck_assert_msg(strstr(g_ptr_array_index(m->rcpt_log, i), "j@archive") == NULL,
                      "journal recipient on the transaction: %s",
                      (char *)g_ptr_array_index(m->rcpt_log, i));
    ck_assert(logged(m, "-<Old@Legacy.Example>"));
    ck_assert_ptr_null(m->new_body);          /* bob keeps the signed original */
    ck_assert_ptr_nonnull(strstr(out.summary, " del_rcpt=<Old@Legacy.Example>"));
    ck_assert_ptr_nonnull(strstr(out.summary, " reinject=report:1,split:1"));
    /* journal first, then the copy */
    char *e1 = sjm_test_sink_file(sk, "1.env"), *e2 = sjm_test_sink_file(sk, "2.env"), *m2 = sjm_test_sink_file(sk, "2.eml");
    ck_assert_str_eq(e1, "MAIL FROM:<> BODY=8BITMIME\nRCPT TO:<j@archive.example> NOTIFY=NEVER\n");
    ck_assert_str_eq(e2, "MAIL FROM:<alice@corp.example> BODY=8BITMIME\nRCPT TO:<Old@Legacy.Example>\n");
    ck_assert_ptr_null(strstr(m2, "pkcs7-signature"));
    ck_assert_ptr_nonnull(strstr(m2, "This is a test message from Alice to Bob."));
    ck_assert_ptr_nonnull(strstr(m2, SJM_JOURNAL_MARK_HEADER ":"));
    g_free(e1);
    g_free(e2);
    g_free(m2);
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    /* the listener refuses the copy, on_error = accept: the legacy
     * recipient stays on the transaction and gets the original */
    cfg->on_error = SJM_ON_ERROR_ACCEPT;
    static const char *const rcpts2[] = {"<bob@corp.example>", "<refuse@legacy.example>", NULL};
    m = sjm_mta_file_new();
    run_session(cfg, text, rcpts2, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_CONTINUE);
    ck_assert(!logged(m, "-<refuse@legacy.example>"));
    ck_assert_ptr_nonnull(strstr(out.summary, "reinject_error="));
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    /* on_error = tempfail (default): the transaction is refused */
    cfg->on_error = SJM_ON_ERROR_TEMPFAIL;
    m = sjm_mta_file_new();
    run_session(cfg, text, rcpts2, m, &out);
    ck_assert_int_eq(out.action, SJM_ACTION_TEMPFAIL);
    sjm_outcome_clear(&out);
    sjm_mta_file_free(m);

    sjm_reinject_pool_drain();
    sjm_test_sink_stop(sk);
    sjm_config_unref(cfg);
    g_free(text);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_message_gets_journal_recipient_and_mark);
    tcase_add_test(tc, refused_journal_recipient_tempfails_by_default);
    tcase_add_test(tc, refused_journal_recipient_with_accept_claims_no_mark);
    tcase_add_test(tc, refused_header_edit_follows_on_error);
    tcase_add_test(tc, mta_without_esmtp_args_gets_plain_recipient);
    tcase_add_test(tc, body_is_crlf_whatever_the_source);
    tcase_add_test(tc, body_stops_past_max_scan_size);
    tcase_add_test(tc, trust_rule);
    tcase_add_test(tc, refused_recipient_is_in_the_summary);
    tcase_add_test(tc, no_recipient_is_rejected);
    tcase_add_test(tc, mta_file_edits_like_postfix);
    suite_add_tcase(s, tc);
    tc = tcase_create("reinject");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, session_report_and_split);
    suite_add_tcase(s, tc);
    return s;
}
