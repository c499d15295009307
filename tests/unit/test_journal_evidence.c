/*
 * test_journal_evidence.c - journal_evidence.c and journal_mark.c: each
 * skip is proven by this organisation's key or by origin, and each rule
 * has a genuine example that is skipped and forged ones that are
 * journaled.
 *   DSN   null sender, RFC 3464 structure, and the message it returns
 *         carries a mark of ours that verifies (whole: body too)
 *   MDN   journaled by default; with skip_read_reports, RFC 8098
 *         structure, short text and a marked original's header
 *   system sender from a system host or login
 *   marks  MAC over identity, body digest and recipient tags: copied
 *          onto another body, resent to a new recipient -> journaled
 * plus the no-body fast path: plain mail never stores the body.
 */
#include <stdarg.h>
#include <string.h>
#include <check.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include "config.h"
#include "txn.h"
#include "journal.h"
#include "bodyhash.h"
#include "testlib.h"

#define JOURNAL "journal@archive.example.com"
#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

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

/* A message: sender, client address ("" = local), then header lines
 * "Name: value" up to NULL; the body (LF turned into CRLF) or NULL. */
static sjm_txn *msg(const char *sender, const char *client, const char *body, ...)
{
    GString *text = g_string_new("From: someone@corp.example\r\n"
                                 "Message-ID: <m1@corp.example>\r\n"
                                 "Subject: hello\r\n");
    va_list ap;
    va_start(ap, body);
    for (const char *h; (h = va_arg(ap, const char *)) != NULL;)
        g_string_append_printf(text, "%s\r\n", h);
    va_end(ap);
    g_string_append(text, "\r\n");
    for (const char *p = body ? body : ""; *p; p++) {
        if (*p == '\n')
            g_string_append_c(text, '\r');
        g_string_append_c(text, *p);
    }
    sjm_txn *t = sjm_test_txn_from_text(text->str, (gssize)text->len, sender, "bob@corp.example", NULL);
    g_string_free(text, TRUE);
    /* What the session computes while the body streams by. */
    t->has_body_digest = body != NULL && sjm_bodyhash_spool(t->body, t->body_digest);
    g_free(t->client_addr);
    t->client_addr = g_strdup(client);
    if (!body) {
        sjm_spool_free(t->body);
        t->body = NULL;
    }
    return t;
}

/* journal summary and the journal_unbelieved/evidence log fields */
static char *outcome(sjm_txn *t)
{
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    char *s = g_strconcat(sjm_test_journal(v), sjm_test_fields(v), NULL);
    sjm_plan_free(v);
    return s;
}

#define ck_outcome(t, expect) do { \
        char *got_ = outcome(t); \
        ck_assert_str_eq(got_, expect); \
        g_free(got_); \
    } while (0)

/* ------------------------------------------------------------ fixtures */

#define DSN_CT "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\""
#define MDN_CT "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"B2\""

#define DSN_TEXT \
    "--B1\n" \
    "Content-Description: Notification\n" \
    "Content-Type: text/plain; charset=us-ascii\n\n" \
    "I'm sorry to have to inform you that your message could not\n" \
    "be delivered to one or more recipients.\n\n"
#define DSN_STATUS \
    "--B1\n" \
    "Content-Description: Delivery report\n" \
    "Content-Type: message/delivery-status\n\n" \
    "Reporting-MTA: dns; mx.other.example\n" \
    "Arrival-Date: Mon, 23 Nov 2026 12:00:00 +0000\n\n" \
    "Final-Recipient: rfc822; nobody@other.example\n" \
    "Action: failed\n" \
    "Status: 5.1.1\n" \
    "Diagnostic-Code: smtp; 550 5.1.1 unknown user\n\n"
#define DSN_ORIGINAL \
    "--B1\n" \
    "Content-Description: Undelivered Message\n" \
    "Content-Type: message/rfc822\n\n" \
    "From: alice@corp.example\n" \
    "Subject: lunch\n\n" \
    "See you at noon.\n\n"

#define MDN_TEXT \
    "--B2\n" \
    "Content-Type: text/plain; charset=UTF-8\n\n" \
    "This is a Return Receipt for the mail that you sent to bob@corp.example.\n\n"
#define MDN_REPORT \
    "--B2\n" \
    "Content-Type: message/disposition-notification; name=\"MDNPart2.txt\"\n" \
    "Content-Disposition: inline\n\n" \
    "Reporting-UA: mail.corp.example; Thunderbird\n" \
    "Final-Recipient: rfc822;bob@corp.example\n" \
    "Original-Message-ID: <x@corp.example>\n" \
    "Disposition: manual-action/MDN-sent-manually; displayed\n\n"

#define ORIGINAL_HEAD \
    "From: alice@corp.example\n" \
    "To: nobody@other.example\n" \
    "Subject: lunch\n" \
    "Message-ID: <x@corp.example>\n"
#define ORIGINAL_BODY "See you at noon.\n"

static void use_key(const char *hex)
{
    if (cfg->mark_key)
        g_bytes_unref(cfg->mark_key);
    cfg->mark_key = hex ? g_bytes_new(hex, strlen(hex)) : NULL;
}

/* A message this host journaled, as it left: HEAD, our mark, BODY (LF). */
static char *marked(const char *head, const char *body)
{
    char *text = g_strconcat(head, "\n", body, NULL);
    sjm_txn *o = sjm_test_txn_from_text(text, -1, "alice@corp.example", "nobody@other.example", NULL);
    guchar digest[SJM_BODYHASH_LEN];
    ck_assert(sjm_bodyhash_spool(o->body, digest));
    char *mark = sjm_mark_make(cfg, o->headers, digest, o->rcpts, 1764072000);
    ck_assert_ptr_nonnull(strstr(mark, "mac="));
    char *out = g_strconcat(head, SJM_JOURNAL_MARK_HEADER ": ", mark, "\n\n", body, NULL);
    g_free(mark);
    g_free(text);
    sjm_txn_free(o);
    return out;
}

/* The header block of a marked message (what text/rfc822-headers returns). */
static char *marked_head(const char *head)
{
    char *m = marked(head, ORIGINAL_BODY);
    char *blank = strstr(m, "\n\n");
    blank[1] = '\0';
    return m;
}

/* A DSN (LF) whose third part is PART_TYPE holding RETURNED. */
static char *dsn_returning(const char *part_type, const char *returned)
{
    return g_strdup_printf("This is a MIME-encapsulated message.\n\n" DSN_TEXT DSN_STATUS
                           "--B1\nContent-Description: Undelivered Message\n"
                           "Content-Type: %s\n\n%s\n--B1--\n", part_type, returned);
}

static char *mdn_returning(const char *text_part, const char *head)
{
    return g_strdup_printf("%s" MDN_REPORT "--B2\nContent-Type: text/rfc822-headers; name=\"MDNPart3.txt\"\n"
                           "Content-Disposition: inline\n\n%s\n--B2--\n", text_part, head);
}

/* A genuine bounce of a journaled message: the whole of it, and its header only. */
static char *genuine_dsn_full(void)
{
    char *m = marked(ORIGINAL_HEAD, ORIGINAL_BODY);
    char *d = dsn_returning("message/rfc822", m);
    g_free(m);
    return d;
}

static char *genuine_dsn_full_with(const char *marked_message)
{
    return dsn_returning("message/rfc822", marked_message);
}

/* ------------------------------------------------------------ DSN */

START_TEST(dsn_genuine_skipped)
{
    use_key(KEY_HEX);
    char *body = genuine_dsn_full();
    sjm_txn *t = msg("", "198.51.100.1", body, DSN_CT, NULL);
    sjm_plan *p = sjm_plan_new();
    sjm_journal_open(cfg, t, p);
    ck_assert(sjm_journal_wants_body(p));
    sjm_plan_free(p);
    ck_outcome(t, "skipped:system:dsn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    /* From a local process too: the mark, not the client, decides. */
    t = msg("", "", body, DSN_CT, NULL);
    ck_outcome(t, "skipped:system:dsn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    g_free(body);

    /* Headers only: RFC 3464 allows either form of the original. */
    char *head = marked_head(ORIGINAL_HEAD);
    body = dsn_returning("text/rfc822-headers", head);
    t = msg("", "198.51.100.1", body, DSN_CT, NULL);
    ck_outcome(t, "skipped:system:dsn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    g_free(body);
    /* ... with the trace fields later hops prepend. */
    char *traced = g_strconcat("Received: from mx.corp.example by mx.other.example; Mon, 23 Nov 2026\n"
                               "Authentication-Results: mx.other.example; dkim=none\n", head, NULL);
    body = dsn_returning("text/rfc822-headers", traced);
    t = msg("", "198.51.100.1", body, DSN_CT, NULL);
    ck_outcome(t, "skipped:system:dsn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    g_free(body);
    g_free(traced);

    /* multipart/alternative text. */
    body = g_strdup_printf("--B1\nContent-Type: multipart/alternative; boundary=A\n\n--A\n"
                           "Content-Type: text/plain\n\nfailed\n--A\nContent-Type: text/html\n\n<p>failed</p>\n"
                           "--A--\n\n" DSN_STATUS "--B1\nContent-Type: text/rfc822-headers\n\n%s\n--B1--\n", head);
    t = msg("", "", body, DSN_CT, NULL);
    ck_outcome(t, "skipped:system:dsn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    g_free(body);
    g_free(head);

    /* skip_null_sender off: a genuine DSN is journaled like anything else. */
    cfg->skip_null_sender = FALSE;
    body = genuine_dsn_full();
    t = msg("", "198.51.100.1", body, DSN_CT, NULL);
    ck_outcome(t, "added:" JOURNAL);
    sjm_txn_free(t);
    g_free(body);
}
END_TEST

START_TEST(dsn_forged_journaled)
{
    use_key(KEY_HEX);
    char *genuine = genuine_dsn_full();
    struct { const char *sender, *ct, *body, *expect; } cases[] = {
        /* A hand-written or auto-reply with the null sender. */
        { "", "Content-Type: text/plain", "Out of office until Monday.\n",
          "added:" JOURNAL " journal_unbelieved=null-sender:no-report-label" },
        { "", NULL, "Dear Bob, the contract is attached.\n",
          "added:" JOURNAL " journal_unbelieved=null-sender:no-report-label" },
        /* The label over a body that is not a report. */
        { "", DSN_CT, "--B1\nContent-Type: text/plain\n\nthe real letter\n--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:too-few-parts" },
        { "", DSN_CT, DSN_TEXT "--B1\nContent-Type: application/pdf\n\nJVBERi0=\n--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:no-delivery-status-part" },
        { "", DSN_CT, DSN_TEXT "--B1\nContent-Type: message/delivery-status\n\nHello: Bob\n\n--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:report-fields" },
        { "", DSN_CT, DSN_TEXT DSN_STATUS DSN_ORIGINAL
              "--B1\nContent-Type: application/zip\n\nUEsDBA==\n--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:extra-parts" },
        { "", DSN_CT, "--B1\nContent-Type: application/pdf\n\nJVBERi0=\n\n" DSN_STATUS "--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:first-part-not-text" },
        { "", DSN_CT, DSN_TEXT DSN_STATUS "--B1\nContent-Type: application/pdf\n\nJVBERi0=\n--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:third-part-not-original" },
        /* A perfect structure returning a letter nobody journaled (RET=FULL
         * asks for exactly this shape): content, whoever sends it. */
        { "", DSN_CT, DSN_TEXT DSN_STATUS DSN_ORIGINAL "--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:returns-unmarked" },
        /* Returning nothing proves nothing. */
        { "", DSN_CT, DSN_TEXT DSN_STATUS "--B1--\n",
          "added:" JOURNAL " journal_unbelieved=dsn:returns-nothing" },
        /* A genuine structure from an ordinary sender is not a DSN. */
        { "mallory@evil.example", DSN_CT, genuine,
          "added:" JOURNAL " journal_unbelieved=dsn:sender-not-null" },
    };
    const char *clients[] = {"192.0.2.7", "", "127.0.0.1"};  /* inbound, local, relay */
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (guint c = 0; c < G_N_ELEMENTS(clients); c++) {
            sjm_txn *t = cases[i].ct ? msg(cases[i].sender, clients[c], cases[i].body, cases[i].ct, NULL)
                                     : msg(cases[i].sender, clients[c], cases[i].body, NULL);
            ck_outcome(t, cases[i].expect);
            sjm_txn_free(t);
        }
    }
    g_free(genuine);
    /* The label without the body (too large, not read): journaled. */
    sjm_txn *t = msg("", "192.0.2.7", NULL, DSN_CT, NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=dsn:body-unread");
    sjm_txn_free(t);
}
END_TEST

/* A marked message returned with another body, another mark, more
 * header, or more text than a genuine report has: journaled. */
START_TEST(dsn_dressed_up_journaled)
{
    use_key(KEY_HEX);
    char *m = marked(ORIGINAL_HEAD, ORIGINAL_BODY);
    char *swapped = g_strdup(m);
    char *b = strstr(swapped, "See you at noon.");
    memcpy(b, "Sell the shares", 15);
    char *other = marked("From: alice@corp.example\nTo: nobody@other.example\nSubject: other\n"
                         "Message-ID: <y@corp.example>\n", ORIGINAL_BODY);
    /* the other message's mark on this message's header */
    char *mark_line = strstr(other, SJM_JOURNAL_MARK_HEADER);
    char *mark_end = strstr(mark_line, "\n\n");
    char *mark = g_strndup(mark_line, (gsize)(mark_end - mark_line + 1));
    char *wrong_mark = g_strconcat(ORIGINAL_HEAD, mark, "\n", ORIGINAL_BODY, NULL);
    char *head = marked_head(ORIGINAL_HEAD);
    char *letter_head = g_strconcat(head, "X-Letter: the merger closes on Friday; tell no one\n", NULL);
    GString *long_trace = g_string_new(NULL);
    for (int i = 0; i < 40; i++)
        g_string_append_printf(long_trace, "Received: from relay%d (%s)\n", i,
                               "a sentence of a letter hidden in a comment, again and again, and again");
    for (int i = 0; i < 600; i++)
        g_string_append(long_trace, "Received: from x by y; Mon, 23 Nov 2026 12:00:00 +0000\n");
    g_string_append(long_trace, head);
    char *fill = g_strnfill(20000, 'x');
    char *long_text = g_strdup_printf("--B1\nContent-Type: text/plain\n\n%s\n\n" DSN_STATUS
                                      "--B1\nContent-Type: text/rfc822-headers\n\n%s\n--B1--\n", fill, head);

    struct { char *body; const char *why; } cases[] = {
        { dsn_returning("message/rfc822", swapped), "dsn:returned-mark:body-changed" },
        { dsn_returning("message/rfc822", wrong_mark), "dsn:returned-mark:bad-mac" },
        { dsn_returning("text/rfc822-headers", letter_head), "dsn:returned-mark:headers-changed" },
        { dsn_returning("text/rfc822-headers", long_trace->str), "dsn:returned-trace-too-long" },
        { g_strdup(long_text), "dsn:text-too-long" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        sjm_txn *t = msg("", "192.0.2.7", cases[i].body, DSN_CT, NULL);
        char *want = g_strconcat("added:" JOURNAL " journal_unbelieved=", cases[i].why, NULL);
        ck_outcome(t, want);
        g_free(want);
        sjm_txn_free(t);
        g_free(cases[i].body);
    }
    /* The key elsewhere, none here: the genuine bounce is journaled. */
    use_key(NULL);
    char *genuine = genuine_dsn_full_with(m);
    sjm_txn *t = msg("", "192.0.2.7", genuine, DSN_CT, NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=dsn:returned-mark:no-key-here");
    sjm_txn_free(t);
    g_free(genuine);

    g_free(fill);
    g_free(long_text);
    g_string_free(long_trace, TRUE);
    g_free(letter_head);
    g_free(head);
    g_free(wrong_mark);
    g_free(mark);
    g_free(other);
    g_free(swapped);
    g_free(m);
}
END_TEST

/* ------------------------------------------------------------ MDN */

START_TEST(mdn_journaled_by_default)
{
    use_key(KEY_HEX);
    char *head = marked_head(ORIGINAL_HEAD);
    char *body = mdn_returning(MDN_TEXT, head);
    /* A person's client sends it, with free text: interpersonal mail. */
    ck_assert(!cfg->skip_read_reports);
    sjm_txn *t = msg("bob@corp.example", "192.0.2.7", body, MDN_CT, NULL);
    ck_outcome(t, "added:" JOURNAL);
    sjm_txn_free(t);
    g_free(body);
    g_free(head);
}
END_TEST

START_TEST(mdn_genuine_skipped_when_asked)
{
    use_key(KEY_HEX);
    cfg->skip_read_reports = TRUE;
    char *head = marked_head(ORIGINAL_HEAD);
    char *body = mdn_returning(MDN_TEXT, head);
    /* From a user's client (ordinary sender) and from the null sender. */
    sjm_txn *t = msg("bob@corp.example", "192.0.2.7", body, MDN_CT, NULL);
    sjm_plan *p = sjm_plan_new();
    sjm_journal_open(cfg, t, p);
    ck_assert(sjm_journal_wants_body(p));
    sjm_plan_free(p);
    ck_outcome(t, "skipped:system:mdn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    t = msg("", "192.0.2.7", body, MDN_CT, NULL);
    ck_outcome(t, "skipped:system:mdn journal_evidence=returned-mark:mac");
    sjm_txn_free(t);
    g_free(body);
    g_free(head);
}
END_TEST

START_TEST(mdn_forged_journaled)
{
    use_key(KEY_HEX);
    cfg->skip_read_reports = TRUE;
    char *head = marked_head(ORIGINAL_HEAD);
    char *fill = g_strnfill(9000, 'x');
    char *long_text = g_strdup_printf("--B2\nContent-Type: text/plain\n\n%s\n\n", fill);
    g_free(fill);
    char *letter_head = g_strconcat(head, "X-Letter: the merger closes on Friday; tell no one\n", NULL);
    struct { char *body; const char *expect; } cases[] = {
        /* The whole original returned: content. */
        { g_strdup(MDN_TEXT MDN_REPORT "--B2\nContent-Type: message/rfc822\n\nFrom: a@b.example\n\nsecret plans\n--B2--\n"),
          "mdn:returns-content" },
        /* A "headers" part with a body after the headers. */
        { g_strdup(MDN_TEXT MDN_REPORT "--B2\nContent-Type: text/rfc822-headers\n\nFrom: a@b.example\n\nsecret plans\n--B2--\n"),
          "mdn:headers-part-has-body" },
        /* An attachment instead of the report. */
        { g_strdup(MDN_TEXT "--B2\nContent-Type: application/pdf\n\nJVBERi0=\n--B2--\n"), "mdn:no-disposition-part" },
        /* A fourth part. */
        { g_strdup_printf(MDN_TEXT MDN_REPORT "--B2\nContent-Type: text/rfc822-headers\n\n%s\n"
                          "--B2\nContent-Type: application/zip\n\nUEsDBA==\n--B2--\n", head),
          "mdn:extra-parts" },
        /* A letter in the human-readable part, under a genuine header. */
        { mdn_returning(long_text, head), "mdn:text-too-long" },
        /* A letter in the headers part, beside a genuine mark. */
        { mdn_returning(MDN_TEXT, letter_head), "mdn:returned-mark:headers-changed" },
        /* A header nobody journaled. */
        { mdn_returning(MDN_TEXT, ORIGINAL_HEAD), "mdn:returns-unmarked" },
        /* No original header at all: nothing proves it. */
        { g_strdup(MDN_TEXT MDN_REPORT "--B2--\n"), "mdn:returns-nothing" },
        /* Fields that are not a disposition. */
        { g_strdup(MDN_TEXT "--B2\nContent-Type: message/disposition-notification\n\nSubject: hi\n\n--B2--\n"),
          "mdn:report-fields" },
        /* Not multipart at all under the label (no boundary). */
        { g_strdup("just text\n"), "mdn:too-few-parts" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        sjm_txn *t = msg("mallory@evil.example", "192.0.2.7", cases[i].body, MDN_CT, NULL);
        char *want = g_strconcat("added:" JOURNAL " journal_unbelieved=", cases[i].expect, NULL);
        ck_outcome(t, want);
        g_free(want);
        sjm_txn_free(t);
        g_free(cases[i].body);
    }
    g_free(long_text);
    g_free(letter_head);
    g_free(head);
}
END_TEST

/* Does end of message need the body stored, for a plan opened on T? */
static gboolean wants_body(const sjm_txn *t)
{
    sjm_plan *p = sjm_plan_new();
    sjm_journal_open(cfg, t, p);
    gboolean want = sjm_journal_wants_body(p);
    sjm_plan_free(p);
    return want;
}

START_TEST(fast_path_plain_mail)
{
    /* Plain and ordinary multipart mail never need the body stored. */
    sjm_txn *t = msg("alice@corp.example", "192.0.2.7", NULL, "Content-Type: text/plain", NULL);
    ck_assert(!wants_body(t));
    ck_outcome(t, "added:" JOURNAL);
    sjm_txn_free(t);
    t = msg("alice@corp.example", "192.0.2.7", NULL, "Content-Type: multipart/mixed; boundary=x", NULL);
    ck_assert(!wants_body(t));
    sjm_txn_free(t);
    /* A null sender without a report label: journaled from the headers alone. */
    t = msg("", "192.0.2.7", NULL, NULL);
    ck_assert(!wants_body(t));
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=null-sender:no-report-label");
    sjm_txn_free(t);
    /* Journaling off: nothing to read. */
    cfg->journal_enabled = FALSE;
    t = msg("", "192.0.2.7", NULL, DSN_CT, NULL);
    ck_assert(!wants_body(t));
    sjm_txn_free(t);
}
END_TEST

/* ------------------------------------------------------------ system senders */

static void system_config(void)
{
    g_strfreev(cfg->system_senders);
    cfg->system_senders = g_strsplit("monitor@corp.example,repl-*@corp.example", ",", -1);
    sjm_netlist_free(cfg->system_hosts);
    cfg->system_hosts = sjm_netlist_parse("10.1.0.0/16", NULL);
    g_strfreev(cfg->system_logins);
    cfg->system_logins = g_strsplit("replicator", ",", -1);
}

START_TEST(system_sender_genuine)
{
    system_config();
    sjm_txn *t = msg("monitor@corp.example", "10.1.2.3", NULL, NULL);
    ck_outcome(t, "skipped:system:sender journal_evidence=system-host");
    sjm_txn_free(t);
    /* A named login, from anywhere. */
    t = msg("repl-7@corp.example", "203.0.113.9", NULL, NULL);
    t->auth_name = g_strdup("replicator");
    ck_outcome(t, "skipped:system:sender journal_evidence=system-login");
    sjm_txn_free(t);
}
END_TEST

START_TEST(system_sender_forged)
{
    system_config();
    /* From outside. */
    sjm_txn *t = msg("monitor@corp.example", "192.0.2.7", NULL, NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=system-sender:not-a-system-host");
    sjm_txn_free(t);
    /* An ordinary authenticated user, even on a system host. */
    t = msg("monitor@corp.example", "10.1.2.3", NULL, NULL);
    t->auth_name = g_strdup("alice");
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=system-sender:login-not-named");
    sjm_txn_free(t);
    /* A local shell user (sendmail(1)). */
    t = msg("monitor@corp.example", "", NULL, NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=system-sender:local-submission");
    sjm_txn_free(t);
    /* No system hosts configured at all: never believed. */
    sjm_netlist_free(cfg->system_hosts);
    cfg->system_hosts = sjm_netlist_parse("", NULL);
    t = msg("monitor@corp.example", "10.1.2.3", NULL, NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=system-sender:not-a-system-host");
    sjm_txn_free(t);
}
END_TEST

/* ------------------------------------------------------------ marks */

/* The mark this host would write for T, under the current key. */
static char *mark_for(sjm_txn *t)
{
    guchar digest[SJM_BODYHASH_LEN];
    ck_assert(sjm_bodyhash_spool(t->body, digest));
    return sjm_mark_make(cfg, t->headers, digest, t->rcpts, 1764072000);
}

START_TEST(mark_keyed_genuine)
{
    use_key(KEY_HEX);
    sjm_txn *t = msg("alice@corp.example", "", "hello\n", NULL);
    char *m = mark_for(t);
    ck_assert_ptr_nonnull(strstr(m, "; v=2; t=1764072000; b="));
    /* Recipients are tags: no address is disclosed to readers. */
    ck_assert_ptr_null(strstr(m, "bob@"));
    ck_assert_uint_eq(strlen(strstr(m, "mac=") + 4), 64);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, m);
    /* Believed from any client, local submission included: the key decides. */
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "skipped:journaled-upstream");
    ck_assert_str_eq(sjm_test_fields(v), " journal_evidence=mark:mac");
    ck_assert_uint_eq(v->header_edits->len, 0);   /* kept for the next hop */
    sjm_plan_free(v);
    /* Folding and white space do not matter. */
    sjm_txn_free(t);
    t = msg("alice@corp.example", "192.0.2.7", "hello\n", NULL);
    sjm_header *subj = g_ptr_array_index(t->headers, 2);
    g_free(subj->value);
    subj->value = g_strdup("hello");
    char *m2 = mark_for(t);
    g_free(subj->value);
    subj->value = g_strdup(" hello\r\n\t");
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, m2);
    ck_outcome(t, "skipped:journaled-upstream journal_evidence=mark:mac");
    g_free(m);
    g_free(m2);
    sjm_txn_free(t);
}
END_TEST

START_TEST(mark_forged_journaled)
{
    use_key(KEY_HEX);
    sjm_txn *src = msg("alice@corp.example", "", "hello\n", NULL);
    char *good = mark_for(src);
    sjm_txn_free(src);

    /* A mark copied onto another message (other Subject). */
    sjm_txn *t = msg("alice@corp.example", "", "hello\n", NULL);
    sjm_header *subj = g_ptr_array_index(t->headers, 2);
    g_free(subj->value);
    subj->value = g_strdup("another message");
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, good);
    sjm_plan *v = sjm_plan_new();
    sjm_journal_finish(cfg, t, v);
    ck_assert_str_eq(sjm_test_journal(v), "added:" JOURNAL);
    ck_assert_str_eq(sjm_test_fields(v), " journal_unbelieved=mark:bad-mac");
    /* removed, then ours added */
    ck_assert_uint_eq(v->header_edits->len, 2);
    sjm_header_edit *e = g_ptr_array_index(v->header_edits, 0);
    ck_assert_int_eq(e->op, SJM_HDR_CHANGE);
    ck_assert_ptr_null(e->value);
    e = g_ptr_array_index(v->header_edits, 1);
    ck_assert_int_eq(e->op, SJM_HDR_ADD);
    ck_assert_ptr_nonnull(strstr(e->value, "mac="));
    sjm_plan_free(v);
    sjm_txn_free(t);

    /* Made with another key; malformed; unkeyed from a local shell user. */
    struct { const char *mark, *client, *why; } cases[] = {
        { "mx1; v=2; t=1764072000; b=AAAA; h=AAAA; r=AAAAAAAA; "
          "mac=0000000000000000000000000000000000000000000000000000000000000000",
          "127.0.0.1", "mark:bad-mac" },
        { "mx1; v=2; t=1764072000; mac=00", "127.0.0.1", "mark:malformed" },
        { "mx1; v=2; t=soon; b=A; h=A; r=A; mac=00", "127.0.0.1", "mark:malformed" },
        /* The old form binds neither body nor recipients. */
        { "mx1; v=1; t=1764072000; mac=0000000000000000000000000000000000000000000000000000000000000000",
          "127.0.0.1", "mark:unbound-v1" },
        { "mx1", "", "mark:unkeyed" },
        { "mx1", "127.0.0.1", "mark:unkeyed" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        t = msg("alice@corp.example", cases[i].client, NULL, NULL);
        t->client_trusted = TRUE;
        sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, cases[i].mark);
        char *want = g_strconcat("added:" JOURNAL " journal_unbelieved=", cases[i].why, NULL);
        ck_outcome(t, want);
        g_free(want);
        sjm_txn_free(t);
    }

    /* The right key elsewhere, none here: not believed. */
    use_key(NULL);
    t = msg("alice@corp.example", "127.0.0.1", "hello\n", NULL);
    t->client_trusted = TRUE;
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, good);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=mark:no-key-here");
    sjm_txn_free(t);
    g_free(good);
}
END_TEST

START_TEST(mark_unkeyed_migration)
{
    cfg->accept_unkeyed_marks = TRUE;
    /* From a trusted relay: believed (migration). */
    sjm_txn *t = msg("alice@corp.example", "127.0.0.1", NULL, NULL);
    t->client_trusted = TRUE;
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "mx-old");
    ck_outcome(t, "skipped:journaled-upstream journal_evidence=mark:unkeyed-trusted-client");
    sjm_txn_free(t);
    /* From a local submission, even one the session calls trusted: never. */
    t = msg("alice@corp.example", "", NULL, NULL);
    t->client_trusted = TRUE;
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "mx-old");
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=mark:unkeyed-untrusted-client");
    sjm_txn_free(t);
    /* From outside. */
    t = msg("alice@corp.example", "192.0.2.7", NULL, NULL);
    sjm_txn_add_header(t, SJM_JOURNAL_MARK_HEADER, "mx-old");
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=mark:unkeyed-untrusted-client");
    sjm_txn_free(t);
}
END_TEST

/* Anyone who got a marked message can copy the mark: it must not let
 * other content or other recipients past the journal. */
START_TEST(mark_binds_body_and_recipients)
{
    use_key(KEY_HEX);
    char *m = marked(ORIGINAL_HEAD, ORIGINAL_BODY);
    char *head_end = strstr(m, "\n\n");
    char *head = g_strndup(m, (gsize)(head_end - m + 1));
    GString *text = g_string_new(NULL);

    /* The journaled message at the next hop, to a covered recipient. */
    g_string_printf(text, "%s\n%s", head, ORIGINAL_BODY);
    sjm_txn *t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
    ck_assert(sjm_bodyhash_spool(t->body, t->body_digest));
    t->has_body_digest = TRUE;
    ck_outcome(t, "skipped:journaled-upstream journal_evidence=mark:mac");
    /* Trailing white space and line ends changed on the way: the same body. */
    sjm_txn_free(t);
    g_string_printf(text, "%s\nSee  you at noon.   \r\n\r\n\n", head);
    t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
    ck_assert(sjm_bodyhash_spool(t->body, t->body_digest));
    t->has_body_digest = TRUE;
    ck_outcome(t, "skipped:journaled-upstream journal_evidence=mark:mac");
    sjm_txn_free(t);

    struct { const char *body, *rcpt2; const char *why; } cases[] = {
        /* The body swapped under the copied mark. */
        { "Sell the shares.\n", NULL, "mark:body-changed" },
        /* The same message redirected to a new recipient. */
        { ORIGINAL_BODY, "", "mark:recipients-not-covered" },
        /* A recipient added beside the covered one. */
        { ORIGINAL_BODY, "carol@other.example", "mark:recipients-not-covered" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_string_printf(text, "%s\n%s", head, cases[i].body);
        if (cases[i].rcpt2 == NULL)
            t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
        else if (*cases[i].rcpt2 == '\0')
            t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "eve@other.example", NULL);
        else
            t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example",
                                       cases[i].rcpt2, NULL);
        ck_assert(sjm_bodyhash_spool(t->body, t->body_digest));
        t->has_body_digest = TRUE;
        char *want = g_strconcat("added:" JOURNAL " journal_unbelieved=", cases[i].why, NULL);
        ck_outcome(t, want);
        g_free(want);
        sjm_txn_free(t);
    }
    /* A field added under the copied mark (a letter in the header). */
    g_string_printf(text, "%sX-Letter: the merger closes on Friday\n\n%s", head, ORIGINAL_BODY);
    t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
    ck_assert(sjm_bodyhash_spool(t->body, t->body_digest));
    t->has_body_digest = TRUE;
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=mark:headers-changed");
    sjm_txn_free(t);
    /* ... while trace fields later hops add are not the mark's business. */
    g_string_printf(text, "Received: from mx.corp.example by mx2.corp.example\n%s\n%s", head, ORIGINAL_BODY);
    t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
    ck_assert(sjm_bodyhash_spool(t->body, t->body_digest));
    t->has_body_digest = TRUE;
    ck_outcome(t, "skipped:journaled-upstream journal_evidence=mark:mac");
    sjm_txn_free(t);
    /* The body never read: not believed. */
    g_string_printf(text, "%s\n%s", head, ORIGINAL_BODY);
    t = sjm_test_txn_from_text(text->str, -1, "alice@corp.example", "nobody@other.example", NULL);
    ck_outcome(t, "added:" JOURNAL " journal_unbelieved=mark:body-unread");
    sjm_txn_free(t);
    g_string_free(text, TRUE);
    g_free(head);
    g_free(m);
}
END_TEST

START_TEST(mark_key_file_loading)
{
    char *dir = g_dir_make_tmp("sjm-mark-XXXXXX", NULL);
    char *key = g_build_filename(dir, "mark.key", NULL);
    char *conf = g_build_filename(dir, "f.conf", NULL);
    char *text = g_strdup_printf("[journal]\nrecipient = journal@archive.corp.internal\nmark_key_file = %s\n", key);
    g_file_set_contents(conf, text, -1, NULL);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);

    g_file_set_contents(key, "short\n", -1, NULL);
    ck_assert_ptr_null(sjm_config_load(conf, errors));
    ck_assert_uint_eq(errors->len, 1);
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 0), "32 or more"));

    g_ptr_array_set_size(errors, 0);
    g_file_set_contents(key, KEY_HEX "\n", -1, NULL);
    sjm_config *c = sjm_config_load(conf, errors);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(g_bytes_get_size(c->mark_key), 64);   /* newline not key material */
    sjm_config_unref(c);

    g_ptr_array_set_size(errors, 0);
    g_unlink(key);
    ck_assert_ptr_null(sjm_config_load(conf, errors));
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(errors, 0), "cannot read"));

    g_ptr_array_free(errors, TRUE);
    g_unlink(conf);
    g_rmdir(dir);
    g_free(text);
    g_free(conf);
    g_free(key);
    g_free(dir);
}
END_TEST

Suite *sjm_test_suite(void)
{
    Suite *s = suite_create("journal_evidence");
    TCase *tc = tcase_create("reports");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dsn_genuine_skipped);
    tcase_add_test(tc, dsn_forged_journaled);
    tcase_add_test(tc, dsn_dressed_up_journaled);
    tcase_add_test(tc, mdn_journaled_by_default);
    tcase_add_test(tc, mdn_genuine_skipped_when_asked);
    tcase_add_test(tc, mdn_forged_journaled);
    tcase_add_test(tc, fast_path_plain_mail);
    suite_add_tcase(s, tc);

    tc = tcase_create("origin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, system_sender_genuine);
    tcase_add_test(tc, system_sender_forged);
    tcase_add_test(tc, mark_keyed_genuine);
    tcase_add_test(tc, mark_forged_journaled);
    tcase_add_test(tc, mark_unkeyed_migration);
    tcase_add_test(tc, mark_binds_body_and_recipients);
    tcase_add_test(tc, mark_key_file_loading);
    suite_add_tcase(s, tc);
    return s;
}
