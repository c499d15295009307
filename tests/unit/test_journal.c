/*
 * test_journal.c - the journaling decision of SPEC section 5: every rule,
 * the order between them, sites, scopes, marks and protect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <check.h>
#include "config.h"
#include "txn.h"
#include "journal.h"
#include "addrmatch.h"
#include "testlib.h"

#define JOURNAL "journal@archive.example.com"

static sjm_config *cfg;

static void setup(void)
{
    cfg = sjm_config_new_default();
    /* There is no default journal mailbox. */
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup(JOURNAL);
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

static void add_site(const char *domain, const char *mailbox)
{
    sjm_site *s = g_new(sjm_site, 1);
    s->domain = g_strdup(domain);
    s->mailbox = g_strdup(mailbox);
    g_ptr_array_add(cfg->sites, s);
}

static void set_recipient(const char *addr)
{
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup(addr);
}

/* A transaction: sender, trusted flag, recipients up to NULL. */
static sjm_txn *txn_make(const char *sender, gboolean trusted, ...)
{
    sjm_txn *t = sjm_txn_new();
    sjm_txn_set_sender(t, sender);
    t->client_trusted = trusted;
    g_free(t->client_addr);
    t->client_addr = g_strdup(trusted ? "127.0.0.1" : "192.0.2.7");
    va_list ap;
    va_start(ap, trusted);
    for (const char *r; (r = va_arg(ap, const char *)) != NULL;)
        sjm_txn_add_rcpt(t, r);
    va_end(ap);
    sjm_txn_add_header(t, "From", sender);
    sjm_txn_add_header(t, "Subject", "test");
    /* (one without is given one: test_journal_report.c) */
    sjm_txn_add_header(t, "Message-ID", "<test@corp.example>");
    return t;
}

/* The summary apply() writes, e.g. "added:a,b" or "skipped:public-folder". */
static char *journal_of(sjm_txn *t)
{
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    char *s = g_strdup(sjm_test_journal(v));
    sjm_plan_free(v);
    return s;
}

#define ck_journal(t, expect) do { \
        char *got_ = journal_of(t); \
        ck_assert_str_eq(got_, expect); \
        g_free(got_); \
    } while (0)

/* ------------------------------------------------------------ addrmatch */

START_TEST(addrmatch_helpers)
{
    char *n = sjm_addr_normalize(" <Alice@Corp.EXAMPLE> ");
    ck_assert_str_eq(n, "alice@corp.example");
    ck_assert_str_eq(sjm_addr_domain(n), "corp.example");
    g_free(n);
    n = sjm_addr_normalize("<>");
    ck_assert_str_eq(n, "");
    ck_assert_str_eq(sjm_addr_domain(n), "");
    g_free(n);
    n = sjm_addr_normalize(NULL);
    ck_assert_str_eq(n, "");
    g_free(n);
    ck_assert_str_eq(sjm_addr_domain("postmaster"), "");
    ck_assert_str_eq(sjm_addr_domain("\"a@b\"@c.example"), "c.example");

    char *pats[] = { "pf-*@corp.example", "*@*.old.example", "", NULL };
    ck_assert(sjm_addr_match_any(pats, "PF-Sales@CORP.example"));
    ck_assert(sjm_addr_match_any(pats, "<pf-x@corp.example>"));
    ck_assert(sjm_addr_match_any(pats, "a@b.old.example"));
    ck_assert(!sjm_addr_match_any(pats, "a@old.example"));
    ck_assert(!sjm_addr_match_any(pats, "sales@corp.example"));
    ck_assert(!sjm_addr_match_any(NULL, "sales@corp.example"));
    char *upper[] = { "Pf-*@Corp.Example", NULL };
    ck_assert(sjm_addr_match_any(upper, "pf-1@corp.example"));

    ck_assert(sjm_domain_match("corp.example", "CORP.Example"));
    ck_assert(!sjm_domain_match("corp.example", "eu.corp.example"));
    ck_assert(sjm_domain_match("*.corp.example", "eu.corp.example"));
    ck_assert(sjm_domain_match("*.corp.example", "a.b.corp.example"));
    ck_assert(!sjm_domain_match("*.corp.example", "corp.example"));
    ck_assert(!sjm_domain_match("*.corp.example", "xcorp.example"));
    ck_assert(!sjm_domain_match("*.corp.example", ""));
    ck_assert(!sjm_domain_match("", "corp.example"));
    char *doms[] = { "a.example", "*.b.example", NULL };
    ck_assert(sjm_domain_match_any(doms, "a.example"));
    ck_assert(sjm_domain_match_any(doms, "x.b.example"));
    ck_assert(!sjm_domain_match_any(doms, "b.example"));
    ck_assert(!sjm_domain_match_any(NULL, "a.example"));
}
END_TEST

/* ------------------------------------------------------------ rules */

START_TEST(rule1_disabled_first)
{
    cfg->journal_enabled = FALSE;
    /* Would be journal-mailbox, null-sender... disabled wins. */
    sjm_txn *t = txn_make("", TRUE, JOURNAL, NULL);
    ck_journal(t, "disabled");
    sjm_txn_free(t);
    t = txn_make("alice@corp.example", FALSE, "bob@other.example", NULL);
    ck_journal(t, "disabled");
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule2_journal_mailbox)
{
    add_site("eu.example", "j-eu@archive.example.com");
    /* Before the mark, the null sender and everything else. */
    sjm_txn *t = txn_make("", TRUE, "<Journal@Archive.Example.com>", "j-eu@archive.example.com", NULL);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "up");
    ck_journal(t, "skipped:journal-mailbox");
    sjm_txn_free(t);

    t = txn_make("alice@corp.example", FALSE, JOURNAL, "bob@corp.example", NULL);
    /* A person among them: journaled, the present mailbox not added. */
    ck_journal(t, "skipped:journal-mailbox");
    sjm_txn_free(t);

    t = txn_make("alice@eu.example", FALSE, JOURNAL, "bob@corp.example", NULL);
    ck_journal(t, "added:j-eu@archive.example.com");
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule3_mark_trusted)
{
    sjm_txn *t = txn_make("", TRUE, "bob@corp.example", NULL);
    sjm_txn_add_header(t, "x-smime-journal-milter-journaled", "mx1");
    /* Unkeyed marks count only where the administrator says so. */
    ck_journal(t, "added:" JOURNAL);
    cfg->accept_unkeyed_marks = TRUE;
    /* Before null-sender. */
    ck_journal(t, "skipped:journaled-upstream");
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule3_mark_untrusted_removed)
{
    sjm_txn *t = txn_make("mallory@evil.example", FALSE, "bob@corp.example", NULL);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "forged1");
    sjm_txn_add_header(t, "X-Other", "x");
    sjm_txn_add_header(t, "X-SMIME-Journal-Milter-Journaled", "forged2");

    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "added:" JOURNAL);
    /* Deleted last first, so each index is right however the MTA counts. */
    ck_assert_uint_eq(v->header_edits->len, 3);
    sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_CHANGE);
    ck_assert_int_eq(e->index, 2);
    ck_assert_str_eq(e->name, SJM_JOURNAL_MARK_HEADER);
    ck_assert_ptr_null(e->value);
    e = g_ptr_array_index(v->header_edits, 1);
    ck_assert_int_eq(e->op, SJM_HDR_CHANGE);
    ck_assert_int_eq(e->index, 1);
    ck_assert_ptr_null(e->value);
    /* Then our own mark. */
    e = g_ptr_array_index(v->header_edits, 2);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_str_eq(e->name, SJM_JOURNAL_MARK_HEADER);
    ck_assert_str_eq(e->value, g_get_host_name());
    sjm_plan_free(v);

    /* The firewall runs even when this host does not journal. */
    cfg->journal_enabled = FALSE;
    v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "disabled");
    ck_assert_uint_eq(v->header_edits->len, 2);
    ck_assert_uint_eq(v->rcpt_adds->len, 0);
    sjm_plan_free(v);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule3_trusted_mark_kept)
{
    cfg->accept_unkeyed_marks = TRUE;
    sjm_txn *t = txn_make("alice@corp.example", TRUE, "bob@corp.example", NULL);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "mx1");
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "skipped:journaled-upstream");
    ck_assert_uint_eq(v->header_edits->len, 0);
    ck_assert_uint_eq(v->rcpt_adds->len, 0);
    sjm_plan_free(v);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule4_null_sender_label_alone)
{
    /* The null sender and a report label, without the report's body: the
     * labels alone earn nothing (test_journal_evidence.c has the bodies). */
    sjm_txn *t = txn_make("<>", FALSE, "bob@corp.example", NULL);
    sjm_txn_add_header(t, "Content-Type", "multipart/report; report-type=disposition-notification");
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
    t = txn_make("<>", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

/* The report-type the top-level Content-Type(s) claim: "-" for none. */
static const char *read_report_for(const char *ct, const char *ct2)
{
    static char buf[64];
    sjm_txn *t = txn_make("bob@corp.example", FALSE, "alice@other.example", NULL);
    if (ct)
        sjm_txn_add_header(t, "Content-Type", ct);
    if (ct2)
        sjm_txn_add_header(t, "content-type", ct2);
    char *rt = sjm_evidence_report_type(t);
    g_strlcpy(buf, rt == NULL ? "-" : *rt == '\0' ? "ambiguous"
                   : strcmp(rt, "disposition-notification") == 0 ? "mdn" : rt, sizeof buf);
    g_free(rt);
    sjm_txn_free(t);
    return buf;
}

START_TEST(rule5_read_report_parsing)
{
    ck_assert_str_eq(read_report_for("multipart/report; report-type=disposition-notification; boundary=\"x\"", NULL), "mdn");
    ck_assert_str_eq(read_report_for("Multipart/Report;\r\n\tboundary=\"b;c\";\r\n Report-Type=\"Disposition-Notification\"", NULL), "mdn");
    ck_assert_str_eq(read_report_for("multipart/report (an MDN); report-type = disposition-notification ;", NULL), "mdn");
    ck_assert_str_eq(read_report_for(" multipart / report;report-type=disposition-notification", NULL), "mdn");
    /* Other reports, other types. */
    ck_assert_str_eq(read_report_for("multipart/report; report-type=delivery-status", NULL), "delivery-status");
    ck_assert_str_eq(read_report_for("multipart/report", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/mixed; report-type=disposition-notification", NULL), "-");
    ck_assert_str_eq(read_report_for("text/plain; report-type=disposition-notification", NULL), "-");
    ck_assert_str_eq(read_report_for(NULL, NULL), "-");
    /* Ambiguity is never believed. */
    ck_assert_str_eq(read_report_for("multipart/report; report-type=disposition-notification; report-type=x", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/report; report-type=\"disposition-notification", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/report; report-type", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/report report-type=disposition-notification", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/report; report-type*=us-ascii''disposition-notification", NULL), "ambiguous");
    ck_assert_str_eq(read_report_for("text/plain", "multipart/report; report-type=disposition-notification"), "ambiguous");
    ck_assert_str_eq(read_report_for("multipart/report; report-type=disposition-notification", "text/plain"), "ambiguous");
}
END_TEST

START_TEST(rule5_forged_report_headers_journaled)
{
    /* Headers that look like reporting but do not make the message one. */
    sjm_txn *t = txn_make("mallory@evil.example", FALSE, "bob@corp.example", NULL);
    sjm_txn_add_header(t, "Content-Type", "text/plain; charset=us-ascii");
    sjm_txn_add_header(t, "Disposition-Notification-To", "mallory@evil.example");
    sjm_txn_add_header(t, "Auto-Submitted", "auto-replied");
    sjm_txn_add_header(t, "X-MS-Journal-Report", "");
    sjm_txn_add_header(t, "Report-Type", "disposition-notification");
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "forged");
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule6_system_sender)
{
    sjm_netlist_free(cfg->system_hosts);
    cfg->system_hosts = sjm_netlist_parse("192.0.2.0/24", NULL);
    set_list(&cfg->system_senders, "monitor@corp.example,repl-*@*.corp.example,*@noreply.example");
    set_list(&cfg->public_folders, "pf-*@corp.example");
    const char *senders[] = { "Monitor@CORP.example", "repl-1@dc1.corp.example", "x@noreply.example" };
    for (guint i = 0; i < G_N_ELEMENTS(senders); i++) {
        /* Before the public-folder rule. */
        sjm_txn *t = txn_make(senders[i], FALSE, "pf-sales@corp.example", NULL);
        ck_journal(t, "skipped:system:sender");
        sjm_txn_free(t);
    }
    sjm_txn *t = txn_make("repl-1@corp.example", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
    /* A pattern never matches the null sender (that is rule 4's job). */
    cfg->skip_null_sender = FALSE;
    set_list(&cfg->system_senders, "*");
    t = txn_make("", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule7_public_folder)
{
    set_list(&cfg->public_folders, "pf-*@corp.example,archive-folder@corp.example");
    cfg->journal_scope = SJM_SCOPE_INTERNAL;
    set_list(&cfg->local_domains, "corp.example");
    /* Only folders (a journal mailbox does not count): skipped, before scope. */
    sjm_txn *t = txn_make("x@outside.example", FALSE, "PF-Sales@corp.example", "archive-folder@corp.example", NULL);
    ck_journal(t, "skipped:public-folder");
    sjm_txn_free(t);
    t = txn_make("x@outside.example", TRUE, "pf-sales@corp.example", JOURNAL, NULL);
    ck_journal(t, "skipped:public-folder");
    sjm_txn_free(t);
    /* Folder plus a person: interpersonal, journaled. */
    cfg->journal_scope = SJM_SCOPE_GLOBAL;
    t = txn_make("alice@corp.example", FALSE, "pf-sales@corp.example", "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule8_scope_internal)
{
    cfg->journal_scope = SJM_SCOPE_INTERNAL;
    set_list(&cfg->local_domains, "corp.example,*.corp.example");
    struct { const char *from, *r1, *r2, *expect; } cases[] = {
        { "alice@corp.example", "bob@corp.example", NULL, "added:" JOURNAL },
        { "alice@eu.corp.example", "bob@us.dc.corp.example", "carol@corp.example", "added:" JOURNAL },
        { "alice@corp.example", "bob@corp.example", "ext@other.example", "skipped:out-of-scope" },
        { "ext@other.example", "bob@corp.example", NULL, "skipped:out-of-scope" },
        { "alice@corp.example", "bob@xcorp.example", NULL, "skipped:out-of-scope" },
        /* A journal mailbox in another domain is not a party. */
        { "alice@corp.example", "bob@corp.example", JOURNAL, "skipped:journal-mailbox" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        sjm_txn *t = txn_make(cases[i].from, FALSE, cases[i].r1, cases[i].r2, NULL);
        ck_journal(t, cases[i].expect);
        sjm_txn_free(t);
    }
    /* The null sender has no domain: outside. */
    cfg->skip_null_sender = FALSE;
    sjm_txn *t = txn_make("", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "skipped:out-of-scope");
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule8_scope_external)
{
    cfg->journal_scope = SJM_SCOPE_EXTERNAL;
    set_list(&cfg->local_domains, "corp.example,*.corp.example");
    struct { const char *from, *r1, *r2, *expect; } cases[] = {
        { "alice@corp.example", "bob@corp.example", NULL, "skipped:out-of-scope" },
        { "alice@eu.corp.example", "bob@corp.example", NULL, "skipped:out-of-scope" },
        { "alice@corp.example", "bob@corp.example", "ext@other.example", "added:" JOURNAL },
        { "ext@other.example", "bob@corp.example", NULL, "added:" JOURNAL },
        { "alice@corp.example", "ext@corp.example.evil", NULL, "added:" JOURNAL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        sjm_txn *t = txn_make(cases[i].from, FALSE, cases[i].r1, cases[i].r2, NULL);
        ck_journal(t, cases[i].expect);
        sjm_txn_free(t);
    }
    cfg->skip_null_sender = FALSE;
    sjm_txn *t = txn_make("", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule8_scope_global)
{
    set_list(&cfg->local_domains, "corp.example");
    sjm_txn *t = txn_make("alice@corp.example", FALSE, "bob@corp.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
    t = txn_make("x@other.example", FALSE, "y@else.example", NULL);
    ck_journal(t, "added:" JOURNAL);
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule9_sites)
{
    add_site("corp.example", "j-corp@archive.example.com");
    add_site("*.eu.corp.example", "j-eu@archive.example.com");
    add_site("partner.example", "j-partner@archive.example.com");
    struct { const char *from, *r1, *r2, *expect; } cases[] = {
        { "x@other.example", "y@else.example", NULL, "added:" JOURNAL },
        /* Sender's site. */
        { "alice@corp.example", "y@else.example", NULL,
          "added:" JOURNAL ",j-corp@archive.example.com" },
        /* A recipient's site, subdomain pattern. */
        { "x@other.example", "bob@paris.eu.corp.example", NULL,
          "added:" JOURNAL ",j-eu@archive.example.com" },
        /* "*.eu.corp.example" does not cover eu.corp.example itself, nor
         * does "corp.example" cover its subdomains. */
        { "x@other.example", "bob@eu.corp.example", NULL, "added:" JOURNAL },
        /* Two sites: both journals, each once, in configuration order. */
        { "bob@paris.eu.corp.example", "alice@corp.example", "carol@CORP.example",
          "added:" JOURNAL ",j-corp@archive.example.com,j-eu@archive.example.com" },
        /* A site mailbox already a recipient is not added again. */
        { "alice@corp.example", "j-corp@archive.example.com", "y@partner.example",
          "added:" JOURNAL ",j-partner@archive.example.com" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        sjm_txn *t = txn_make(cases[i].from, FALSE, cases[i].r1, cases[i].r2, NULL);
        ck_journal(t, cases[i].expect);
        sjm_txn_free(t);
    }
}
END_TEST

START_TEST(rule9_sites_only)
{
    set_recipient("");
    add_site("corp.example", "j-corp@archive.example.com");
    add_site("other.example", "j-corp@archive.example.com");
    sjm_txn *t = txn_make("x@nowhere.example", FALSE, "y@else.example", NULL);
    ck_journal(t, "skipped:out-of-scope");
    sjm_txn_free(t);
    /* Two sites sharing a mailbox: one copy. */
    t = txn_make("x@other.example", FALSE, "y@corp.example", NULL);
    ck_journal(t, "added:j-corp@archive.example.com");
    sjm_txn_free(t);
    /* Site mailbox equal to the organisation mailbox: one copy. */
    set_recipient("J-Corp@Archive.example.com");
    t = txn_make("x@other.example", FALSE, "y@corp.example", NULL);
    ck_journal(t, "added:j-corp@archive.example.com");
    sjm_txn_free(t);
}
END_TEST

START_TEST(rule9_never_a_present_recipient)
{
    sjm_txn *t = txn_make("alice@corp.example", TRUE, "<JOURNAL@archive.example.com>", "bob@x.example", NULL);
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "skipped:journal-mailbox");
    ck_assert_uint_eq(v->rcpt_adds->len, 0);
    /* Archived through the addressed journal: marked for downstream hops. */
    ck_assert_uint_eq(v->header_edits->len, 1);
    sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_str_eq(e->name, SJM_JOURNAL_MARK_HEADER);
    sjm_plan_free(v);
    sjm_txn_free(t);

    /* Only journal mailboxes addressed: nobody downstream to tell. */
    t = txn_make("alice@corp.example", TRUE, JOURNAL, NULL);
    v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "skipped:journal-mailbox");
    ck_assert_uint_eq(v->header_edits->len, 0);
    sjm_plan_free(v);
    sjm_txn_free(t);
}
END_TEST

/* ------------------------------------------------------------ apply */

START_TEST(apply_rcpt_adds_and_mark)
{
    add_site("corp.example", "j-corp@archive.example.com");
    sjm_txn *t = txn_make("alice@corp.example", TRUE, "bob@other.example", NULL);
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "added:" JOURNAL ",j-corp@archive.example.com");
    ck_assert_uint_eq(v->rcpt_adds->len, 2);
    sjm_rcpt_add *r = g_ptr_array_index(v->rcpt_adds, 0);
    ck_assert_str_eq(r->addr, JOURNAL);
    ck_assert_str_eq(r->esmtp_args, "NOTIFY=NEVER");
    r = g_ptr_array_index(v->rcpt_adds, 1);
    ck_assert_str_eq(r->addr, "j-corp@archive.example.com");
    ck_assert_str_eq(r->esmtp_args, "NOTIFY=NEVER");
    ck_assert_uint_eq(v->header_edits->len, 1);
    sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_str_eq(e->name, SJM_JOURNAL_MARK_HEADER);
    /* The mark names the host, never the journal mailboxes. */
    ck_assert_ptr_null(strstr(e->value, "archive"));
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    sjm_plan_free(v);

    cfg->notify_never = FALSE;
    v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    r = g_ptr_array_index(v->rcpt_adds, 0);
    ck_assert_ptr_null(r->esmtp_args);
    sjm_plan_free(v);
    sjm_txn_free(t);
}
END_TEST

START_TEST(apply_skip_adds_nothing)
{
    set_list(&cfg->public_folders, "pf-*@corp.example");
    sjm_txn *t = txn_make("", FALSE, "pf-x@corp.example", NULL);
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "skipped:public-folder");
    ck_assert_uint_eq(v->rcpt_adds->len, 0);
    ck_assert_uint_eq(v->header_edits->len, 0);
    ck_assert_int_eq(v->action, SJM_ACTION_CONTINUE);
    sjm_plan_free(v);
    sjm_txn_free(t);
}
END_TEST

START_TEST(decide_struct)
{
    sjm_txn *t = txn_make("alice@corp.example", FALSE, "bob@other.example", NULL);
    sjm_plan *p = sjm_plan_new();
    sjm_journal_decide(cfg, t, p);
    ck_assert_int_eq(p->journal.status, SJM_JOURNAL_ADDED);
    ck_assert_uint_eq(p->journal.mailboxes->len, 1);
    ck_assert_str_eq(g_ptr_array_index(p->journal.mailboxes, 0), JOURNAL);
    /* Deciding writes no edit: that is sjm_journal_finish's job. */
    ck_assert_uint_eq(p->rcpt_adds->len, 0);
    ck_assert_uint_eq(p->header_edits->len, 0);
    sjm_plan_free(p);
    sjm_txn_free(t);

    t = txn_make("", FALSE, JOURNAL, NULL);
    p = sjm_plan_new();
    sjm_journal_decide(cfg, t, p);
    ck_assert_int_eq(p->journal.status, SJM_JOURNAL_SKIPPED);
    ck_assert_int_eq(p->journal.reason, SJM_SKIP_JOURNAL_MAILBOX);
    ck_assert_str_eq(sjm_journal_reason_name(p->journal.reason), "journal-mailbox");
    ck_assert_uint_eq(p->journal.mailboxes->len, 0);
    sjm_plan_free(p);
    sjm_txn_free(t);
}
END_TEST

/* The rules the man page lists decide at end of header when they need
 * no body; a report label leaves the decision to end of message. */
START_TEST(decided_at_end_of_header)
{
    sjm_txn *t = txn_make("alice@corp.example", FALSE, "bob@other.example", NULL);
    sjm_plan *p = sjm_plan_new();
    sjm_journal_open(cfg, t, p);
    ck_assert(p->journal.decided);
    ck_assert(sjm_journal_may_add(p));
    ck_assert(!sjm_journal_wants_body(p));
    sjm_plan_free(p);
    sjm_txn_free(t);

    t = txn_make("", FALSE, "alice@corp.example", NULL);
    sjm_txn_add_header(t, "Content-Type", "multipart/report; report-type=delivery-status; boundary=b");
    p = sjm_plan_new();
    sjm_journal_open(cfg, t, p);
    ck_assert(!p->journal.decided);
    ck_assert(sjm_journal_may_add(p));
    ck_assert(sjm_journal_wants_body(p));
    sjm_plan_free(p);
    sjm_txn_free(t);
}
END_TEST

/* ------------------------------------------------------------ protect */

START_TEST(protect_rcpt)
{
    add_site("corp.example", "j-corp@archive.example.com");
    sjm_txn *untrusted = txn_make("mallory@evil.example", FALSE, NULL);
    sjm_txn *trusted = txn_make("alice@corp.example", TRUE, NULL);

    const char *why = sjm_journal_check_rcpt(cfg, untrusted, "<Journal@Archive.Example.COM>");
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "journal mailbox"));
    ck_assert_ptr_nonnull(strstr(why, "trusted"));
    ck_assert_ptr_nonnull(sjm_journal_check_rcpt(cfg, untrusted, "j-corp@archive.example.com"));
    ck_assert_ptr_null(sjm_journal_check_rcpt(cfg, untrusted, "bob@corp.example"));
    ck_assert_ptr_null(sjm_journal_check_rcpt(cfg, trusted, JOURNAL));

    /* A local submission is not trusted, yet never refused: Postfix's
     * non_smtpd_milters must not refuse recipients. */
    sjm_txn *local = txn_make("alice@corp.example", FALSE, NULL);
    g_free(local->client_addr);
    local->client_addr = g_strdup("");
    ck_assert_ptr_null(sjm_journal_check_rcpt(cfg, local, JOURNAL));
    sjm_txn_free(local);

    cfg->protect = FALSE;
    ck_assert_ptr_null(sjm_journal_check_rcpt(cfg, untrusted, JOURNAL));
    cfg->protect = TRUE;
    cfg->journal_enabled = FALSE;
    ck_assert_ptr_null(sjm_journal_check_rcpt(cfg, untrusted, JOURNAL));

    ck_assert(sjm_journal_is_mailbox(cfg, "J-CORP@archive.example.com"));
    ck_assert(!sjm_journal_is_mailbox(cfg, "corp@archive.example.com"));
    sjm_txn_free(untrusted);
    sjm_txn_free(trusted);
}
END_TEST

START_TEST(is_mailbox_empty_recipient)
{
    set_recipient("");
    ck_assert(!sjm_journal_is_mailbox(cfg, ""));
    ck_assert(!sjm_journal_is_mailbox(cfg, "<>"));
}
END_TEST

/* ------------------------------------------------------------ order */

/*
 * One transaction that every rule would catch; switching the rules off
 * one by one must reveal them in SPEC order.
 */
START_TEST(full_order)
{
    add_site("corp.example", "j-corp@archive.example.com");
    cfg->accept_unkeyed_marks = TRUE;
    sjm_netlist_free(cfg->system_hosts);
    cfg->system_hosts = sjm_netlist_parse("127.0.0.1", NULL);
    set_list(&cfg->system_senders, "*@*");
    set_list(&cfg->public_folders, "pf-*@corp.example");
    cfg->journal_scope = SJM_SCOPE_EXTERNAL;
    set_list(&cfg->local_domains, "corp.example");

    sjm_txn *t = txn_make("", TRUE, JOURNAL, NULL);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "mx1");
    sjm_txn_add_header(t, "Content-Type", "multipart/report; report-type=disposition-notification");

    cfg->journal_enabled = FALSE;
    ck_journal(t, "disabled");
    cfg->journal_enabled = TRUE;
    ck_journal(t, "skipped:journal-mailbox");

    g_ptr_array_set_size(t->rcpts, 0);
    sjm_txn_add_rcpt(t, "pf-sales@corp.example");
    sjm_txn_add_rcpt(t, JOURNAL);
    ck_journal(t, "skipped:journaled-upstream");

    /* (the report rules 4 and 5 need bodies: test_journal_evidence.c) */
    t->client_trusted = FALSE;
    sjm_txn_set_sender(t, "alice@corp.example");
    ck_journal(t, "skipped:system:sender");

    set_list(&cfg->system_senders, "");
    ck_journal(t, "skipped:public-folder");

    sjm_txn_add_rcpt(t, "bob@corp.example");
    ck_journal(t, "skipped:out-of-scope");

    sjm_txn_add_rcpt(t, "ext@other.example");
    /* JOURNAL is already a recipient: only the site mailbox is added. */
    ck_journal(t, "added:j-corp@archive.example.com");
    sjm_txn_free(t);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("addrmatch");
    tcase_add_test(tc, addrmatch_helpers);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rule1_disabled_first);
    tcase_add_test(tc, rule2_journal_mailbox);
    tcase_add_test(tc, rule3_mark_trusted);
    tcase_add_test(tc, rule3_mark_untrusted_removed);
    tcase_add_test(tc, rule3_trusted_mark_kept);
    tcase_add_test(tc, rule4_null_sender_label_alone);
    tcase_add_test(tc, rule5_read_report_parsing);
    tcase_add_test(tc, rule5_forged_report_headers_journaled);
    tcase_add_test(tc, rule6_system_sender);
    tcase_add_test(tc, rule7_public_folder);
    tcase_add_test(tc, rule8_scope_internal);
    tcase_add_test(tc, rule8_scope_external);
    tcase_add_test(tc, rule8_scope_global);
    tcase_add_test(tc, rule9_sites);
    tcase_add_test(tc, rule9_sites_only);
    tcase_add_test(tc, rule9_never_a_present_recipient);
    tcase_add_test(tc, full_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("apply");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, apply_rcpt_adds_and_mark);
    tcase_add_test(tc, apply_skip_adds_nothing);
    tcase_add_test(tc, decide_struct);
    tcase_add_test(tc, decided_at_end_of_header);
    tcase_add_test(tc, protect_rcpt);
    tcase_add_test(tc, is_mailbox_empty_recipient);
    suite_add_tcase(s, tc);
    return s;
}
