/*
 * journal_report.c - build the envelope journal report of one
 * transaction (layout and contract in journal_report.h).
 *
 * The report is assembled as pieces (generated text, the rendered
 * original header block, the original body spool, the closing boundary)
 * so the original's bytes are streamed from the spool into the SMTP
 * session and never copied or re-encoded.
 */
#include <string.h>
#include <sys/random.h>
#include <gmime/gmime.h>
#include "journal_report.h"
#include "journal.h"
#include "addrmatch.h"

struct sjm_report {
    GString *head;          /* report header, part 1, part 2's MIME header */
    GString *orig_headers;  /* the original's header block */
    GString *tail;          /* closing boundary */
    char *message_id;
    sjm_piece pieces[4];
    guint n_pieces;
};

GString *sjm_render_headers(const GPtrArray *headers, const char *skip)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(headers, i);
        if (skip != NULL && g_ascii_strcasecmp(h->name, skip) == 0)
            continue;
        g_string_append(out, h->name);
        g_string_append(out, ": ");
        for (const char *p = h->value ? h->value : ""; *p; p++) {
            if (*p == '\n' && (p == h->value || p[-1] != '\r'))
                g_string_append_c(out, '\r');
            g_string_append_c(out, *p);
        }
        g_string_append(out, "\r\n");
    }
    g_string_append(out, "\r\n");
    return out;
}

/* One report line's value: unfolded, no CR/LF, at most ~900 bytes. */
static void append_value(GString *out, const char *value)
{
    gsize start = out->len;
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        g_string_append_c(out, *p);
    }
    if (out->len - start > 900) {
        gsize cut = start + 900;
        /* do not leave half a UTF-8 sequence behind */
        while (cut > start && ((guchar)out->str[cut] & 0xC0) == 0x80)
            cut--;
        g_string_truncate(out, cut);
    }
}

/* The normalized addresses of every To (or Cc) field. */
static GHashTable *header_addrs(const sjm_txn *txn, const char *name)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, name) != 0 || h->value == NULL)
            continue;
        InternetAddressList *list = internet_address_list_parse(NULL, h->value);
        if (list == NULL)
            continue;
        GPtrArray *to_visit = g_ptr_array_new();
        for (int k = 0; k < internet_address_list_length(list); k++)
            g_ptr_array_add(to_visit, internet_address_list_get_address(list, k));
        for (guint k = 0; k < to_visit->len; k++) {
            InternetAddress *a = g_ptr_array_index(to_visit, k);
            if (INTERNET_ADDRESS_IS_GROUP(a)) {
                InternetAddressList *m =
                    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
                for (int j = 0; m && j < internet_address_list_length(m); j++)
                    g_ptr_array_add(to_visit, internet_address_list_get_address(m, j));
            } else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
                const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
                if (addr && *addr)
                    g_hash_table_add(set, sjm_addr_normalize(addr));
            }
        }
        g_ptr_array_free(to_visit, TRUE);
        g_object_unref(list);
    }
    return set;
}

/* The envelope and header fields (Received excepted: it carries the
 * MTA's queue id, new on every retry) and the body size. */
static GChecksum *txn_checksum(const sjm_txn *txn)
{
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, (const guchar *)txn->sender, (gssize)strlen(txn->sender) + 1);
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        g_checksum_update(ck, (const guchar *)r, (gssize)strlen(r) + 1);
    }
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, "Received") == 0)
            continue;
        g_checksum_update(ck, (const guchar *)h->name, (gssize)strlen(h->name) + 1);
        if (h->value)
            g_checksum_update(ck, (const guchar *)h->value, (gssize)strlen(h->value) + 1);
    }
    char size[32];
    g_snprintf(size, sizeof size, "%" G_GUINT64_FORMAT,
               txn->body ? sjm_spool_size(txn->body) : (guint64)0);
    g_checksum_update(ck, (const guchar *)size, (gssize)strlen(size));
    return ck;
}

static char *stable_id(const sjm_txn *txn)
{
    GChecksum *ck = txn_checksum(txn);
    char *id = g_strdup_printf("<%.32s.journal-report@%s>", g_checksum_get_string(ck),
                               g_get_host_name());
    g_checksum_free(ck);
    return id;
}

/* ------------------------------------------------------- Message-ID */

static gboolean blank(const char *s)
{
    for (; s != NULL && *s; s++)
        if (!g_ascii_isspace(*s))
            return FALSE;
    return TRUE;
}

char *sjm_journal_message_id(const sjm_config *cfg, const sjm_txn *txn)
{
    if (!cfg->journal_add_message_id || !blank(sjm_txn_header(txn, "Message-ID")))
        return NULL;
    GChecksum *ck = txn_checksum(txn);
    if (txn->has_body_digest) {
        /* The body's digest, read for the journal mark: the same content
         * gives the same identity, a retry included. */
        g_checksum_update(ck, txn->body_digest, sizeof txn->body_digest);
        char *id = g_strdup_printf("<%.32s.sjm@%s>", g_checksum_get_string(ck), g_get_host_name());
        g_checksum_free(ck);
        return id;
    }
    gboolean whole = txn->body != NULL && !txn->body_failed;
    if (whole) {
        /* A retried transaction gets the same identity, and two messages
         * alike in every header and size but not in content get two. */
        guchar buf[65536];
        guint64 off = 0;
        gssize n;
        while ((n = sjm_spool_read(txn->body, &off, buf, sizeof buf)) > 0)
            g_checksum_update(ck, buf, n);
        whole = n == 0;
    }
    if (!whole) {
        /* Without the content, the MTA's queue id keeps two messages
         * apart (no copy of this one is ever submitted again). */
        g_checksum_update(ck, (const guchar *)txn->queue_id, (gssize)strlen(txn->queue_id) + 1);
    }
    char *id = g_strdup_printf("<%.32s.sjm@%s>", g_checksum_get_string(ck), g_get_host_name());
    g_checksum_free(ck);
    return id;
}

void sjm_journal_add_message_id(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    char *id = sjm_journal_message_id(cfg, txn);
    if (id == NULL)
        return;
    /* Appended, as Postfix's cleanup(8) adds a missing one; outside any
     * signature, which covers a MIME part and never the top-level header. */
    if (sjm_txn_header(txn, "Message-ID") == NULL)
        sjm_plan_add_header(p, SJM_HDR_ADD, 0, "Message-ID", id);
    else
        sjm_plan_add_header(p, SJM_HDR_CHANGE, 1, "Message-ID", id);
    g_free(p->message_id_added);
    p->message_id_added = id;
}

GString *sjm_journal_render_original(const sjm_config *cfg, const sjm_txn *txn)
{
    char *id = sjm_journal_message_id(cfg, txn);
    if (id == NULL)
        return sjm_render_headers(txn->headers, NULL);
    GPtrArray *hdrs = g_ptr_array_new();
    sjm_header added = {.name = "Message-ID", .value = id};
    gboolean replaced = FALSE;
    for (guint i = 0; i < txn->headers->len; i++) {
        sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (!replaced && g_ascii_strcasecmp(h->name, "Message-ID") == 0) {
            g_ptr_array_add(hdrs, &added);
            replaced = TRUE;
        } else {
            g_ptr_array_add(hdrs, h);
        }
    }
    if (!replaced)
        g_ptr_array_add(hdrs, &added);
    GString *out = sjm_render_headers(hdrs, NULL);
    g_ptr_array_free(hdrs, TRUE);
    g_free(id);
    return out;
}

static char *random_boundary(void)
{
    guchar rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        for (guint i = 0; i < sizeof rnd; i++)
            rnd[i] = (guchar)g_random_int();
    }
    GString *b = g_string_new("=_sjm_report_");
    for (guint i = 0; i < sizeof rnd; i++)
        g_string_append_printf(b, "%02x", rnd[i]);
    return g_string_free(b, FALSE);
}

static gboolean is_8bit(const char *s, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if ((guchar)s[i] >= 0x80)
            return TRUE;
    return FALSE;
}

/* Part 1: the envelope, one line per fact. */
static void append_rcpt(GString *t, const char *field, const sjm_txn *txn, const char *r)
{
    g_string_append(t, field);
    append_value(t, r);
    const char *from = sjm_txn_orcpt(txn, r);
    if (from != NULL) {
        g_string_append(t, ", Expanded: ");
        append_value(t, from);
    }
    g_string_append(t, "\r\n");
}

static GString *envelope_text(const sjm_config *cfg, const sjm_txn *txn, const char *message_id)
{
    GString *t = g_string_new("Sender: ");
    append_value(t, *txn->sender ? txn->sender : "<>");
    g_string_append(t, "\r\nSubject: ");
    append_value(t, sjm_txn_header(txn, "Subject"));
    g_string_append(t, "\r\nMessage-Id: ");
    append_value(t, message_id ? message_id : sjm_txn_header(txn, "Message-ID"));
    g_string_append(t, "\r\n");

    GPtrArray *parties = g_ptr_array_new();
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        if (!sjm_journal_is_mailbox(cfg, r))
            g_ptr_array_add(parties, (gpointer)r);
    }
    /* Only an authenticated submission's header fields say who the
     * author meant as To, Cc or Bcc; a stranger's To field is a claim. */
    if (txn->auth_name != NULL && *txn->auth_name) {
        GHashTable *to = header_addrs(txn, "To"), *cc = header_addrs(txn, "Cc");
        for (guint i = 0; i < parties->len; i++) {
            const char *r = g_ptr_array_index(parties, i);
            /* An expanded recipient has the role of what it expanded from. */
            const char *from = sjm_txn_orcpt(txn, r);
            const char *role = g_hash_table_contains(to, r) ? "To: "
                             : g_hash_table_contains(cc, r) ? "Cc: "
                             : from && g_hash_table_contains(to, from) ? "To: "
                             : from && g_hash_table_contains(cc, from) ? "Cc: " : "Bcc: ";
            append_rcpt(t, role, txn, r);
        }
        g_hash_table_unref(to);
        g_hash_table_unref(cc);
    }
    for (guint i = 0; i < parties->len; i++)
        append_rcpt(t, "Recipient: ", txn, g_ptr_array_index(parties, i));
    g_ptr_array_free(parties, TRUE);
    return t;
}

static void rfc5322_date(GString *out)
{
    GDateTime *now = g_date_time_new_now_local();
    char *d = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S %z");
    g_string_append(out, d);
    g_free(d);
    g_date_time_unref(now);
}

sjm_report *sjm_report_build(const sjm_config *cfg, const sjm_txn *txn,
                             const GPtrArray *mailboxes, char **error)
{
    *error = NULL;
    if (txn->body == NULL || txn->body_failed) {
        *error = g_strdup("the original body was not kept, so no journal report can carry it");
        return NULL;
    }
    sjm_report *r = g_new0(sjm_report, 1);
    r->message_id = stable_id(txn);
    char *boundary = random_boundary();
    char *added_id = sjm_journal_message_id(cfg, txn);
    GString *env = envelope_text(cfg, txn, added_id);
    g_free(added_id);

    /* The journal mailboxes' To: comes before X-MS-Journal-Report:
     * because mailpiler starts the recipient list afresh at that field
     * and would otherwise store the journal mailbox as a recipient of
     * every message. */
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "Message-ID: %s\r\nDate: ", r->message_id);
    rfc5322_date(h);
    g_string_append_printf(h, "\r\nFrom: Journal <MAILER-DAEMON@%s>\r\nTo: ", g_get_host_name());
    for (guint i = 0; i < mailboxes->len; i++)
        g_string_append_printf(h, "%s<%s>", i ? ", " : "", (char *)g_ptr_array_index(mailboxes, i));
    g_string_append(h, "\r\n" SJM_REPORT_HEADER ": \r\nSubject: ");
    append_value(h, sjm_txn_header(txn, "Subject"));
    g_string_append_printf(h, "\r\nAuto-Submitted: auto-generated\r\n"
                              "MIME-Version: 1.0\r\n"
                              "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                              "This is an envelope journal report.\r\n\r\n"
                              "--%s\r\n"
                              "Content-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: %s\r\n\r\n",
                           boundary, boundary, is_8bit(env->str, env->len) ? "8bit" : "7bit");
    g_string_append_len(h, env->str, (gssize)env->len);
    g_string_append_printf(h, "\r\n--%s\r\n"
                              "Content-Type: message/rfc822\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n"
                              "Content-Disposition: attachment\r\n\r\n", boundary);
    g_string_free(env, TRUE);
    r->head = h;
    r->orig_headers = sjm_journal_render_original(cfg, txn);
    /* The original may end without a line break; the boundary needs one. */
    r->tail = g_string_new(NULL);
    g_string_printf(r->tail, "\r\n--%s--\r\n", boundary);
    g_free(boundary);

    r->pieces[0] = (sjm_piece){.data = (const guchar *)r->head->str, .len = r->head->len};
    r->pieces[1] = (sjm_piece){.data = (const guchar *)r->orig_headers->str,
                               .len = r->orig_headers->len};
    r->pieces[2] = (sjm_piece){.spool = txn->body};
    r->pieces[3] = (sjm_piece){.data = (const guchar *)r->tail->str, .len = r->tail->len};
    r->n_pieces = 4;
    return r;
}

const sjm_piece *sjm_report_pieces(const sjm_report *r, guint *n_pieces)
{
    *n_pieces = r->n_pieces;
    return r->pieces;
}

const char *sjm_report_message_id(const sjm_report *r)
{
    return r->message_id;
}

void sjm_report_free(sjm_report *r)
{
    if (r == NULL)
        return;
    g_string_free(r->head, TRUE);
    g_string_free(r->orig_headers, TRUE);
    g_string_free(r->tail, TRUE);
    g_free(r->message_id);
    g_free(r);
}
