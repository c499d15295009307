/*
 * journal_mark.c - journal marks that say "already journaled" and that
 * only the organisation's filters can write.
 *
 * INTERFACE (journal.h)
 *   sjm_mark_make()      the value of the mark this host adds;
 *   sjm_mark_believed()  whether one mark found on a message counts.
 *
 * A keyed mark is
 *   HOST; v=2; t=UNIXTIME; b=BODY; r=TAGS; mac=HEX
 * where BODY is the canonical digest of the body the recipients got
 * (bodyhash.h, base64), TAGS one 8-character tag per envelope recipient
 * the journal recorded (base64url of the first 48 bits of an HMAC of the
 * address under the key, so a reader of the header learns nothing about
 * Bcc recipients without the key), and the MAC HMAC-SHA256 under
 * [journal] mark_key_file over the version, the host, the time, BODY,
 * TAGS and the message's identity: the header fields Message-ID, Date,
 * From, To, Cc and Subject, unfolded and with runs of white space made
 * one space.  Whoever lacks the key cannot make one, whatever host or
 * login they send from (local submissions included).  A later hop
 * believes a mark only when the MAC verifies, the body it received has
 * the same digest, every header field but trace fields is as marked, and
 * every one of its envelope recipients has a tag:
 * a mark copied onto other content, or the same message resent to a new
 * recipient, proves nothing and the message is journaled.  A hop that
 * rewrites an identity field (canonical_maps, masquerading) or
 * re-encodes the body breaks the mark and the message is journaled once
 * more: a duplicate, never a loss.  Version 1 marks (identity only) are
 * no longer believed.
 *
 * An unkeyed mark (the host name alone, as written before keys existed)
 * counts only with accept_unkeyed_marks, and only from a client in
 * trusted_networks: never from a local submission, where any shell user
 * can write headers.
 *
 * ERRORS
 *   None: whatever does not parse or verify is not believed, with a
 *   static reason token (no spaces) for the log.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "journal.h"
#include "addrmatch.h"
#include "bodyhash.h"

#define MARK_VERSION "2"
/* Bytes of a recipient tag: collisions need about 2^24 recipients. */
#define TAG_BYTES 6
/* Tags per folded line of the header. */
#define TAGS_PER_LINE 8

static const char *const identity_fields[] = {
    "Message-ID", "Date", "From", "To", "Cc", "Subject", NULL,
};

/*
 * Fields that hops after this one add on the way to a mailbox and that
 * a returned header block legitimately carries beyond what was marked:
 * trace and authentication results (RFC 5321 section 4.4, RFC 8601,
 * RFC 6376, RFC 8617) and what content filters stamp.  They are left out
 * of the header digest; in a returned header block their size is bounded
 * instead (see sjm_mark_verify_returned).
 */
static const char *const trace_fields[] = {
    "Received", "Return-Path", "Delivered-To", "X-Original-To", "Received-SPF",
    "Authentication-Results", "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature",
    "ARC-Authentication-Results", "X-Spam-*", "X-Virus-*", NULL,
};

static gboolean is_trace(const char *name)
{
    for (const char *const *f = trace_fields; *f; f++) {
        gsize n = strlen(*f);
        if ((*f)[n - 1] == '*' ? g_ascii_strncasecmp(name, *f, n - 1) == 0
                               : g_ascii_strcasecmp(name, *f) == 0)
            return TRUE;
    }
    return FALSE;
}

/* VALUE unfolded, white space runs made one space, trimmed. */
static void add_collapsed(GString *out, const char *value)
{
    gboolean space = FALSE;
    gsize start = out->len;
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            space = TRUE;
            continue;
        }
        if (space && out->len > start)
            g_string_append_c(out, ' ');
        space = FALSE;
        g_string_append_c(out, *p);
    }
}

/* NAME ":" value, collapsed, for each occurrence of each identity field. */
static void add_identity(GString *out, GPtrArray *headers)
{
    for (const char *const *f = identity_fields; *f; f++) {
        for (guint i = 0; headers != NULL && i < headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(headers, i);
            if (g_ascii_strcasecmp(h->name, *f) != 0)
                continue;
            g_string_append_printf(out, "%s:", *f);
            add_collapsed(out, h->value);
            g_string_append_c(out, '\n');
        }
    }
}

/* Base64 SHA-256 over every field but trace fields and marks, in order. */
static char *header_digest(GPtrArray *headers)
{
    GString *all = g_string_new(NULL);
    for (guint i = 0; headers != NULL && i < headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(headers, i);
        if (is_trace(h->name) || g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) == 0)
            continue;
        char *lower = g_ascii_strdown(h->name, -1);
        g_string_append_printf(all, "%s:", lower);
        g_free(lower);
        add_collapsed(all, h->value);
        g_string_append_c(all, '\n');
    }
    guchar md[SJM_BODYHASH_LEN];
    unsigned int n = 0;
    char *out = NULL;
    if (EVP_Digest(all->str, all->len, md, &n, EVP_sha256(), NULL) == 1)
        out = g_base64_encode(md, n);
    g_string_free(all, TRUE);
    return out;
}

static gboolean hmac(GBytes *key, const void *msg, gsize len, unsigned char *out, unsigned int *outlen)
{
    gsize keylen = 0;
    const void *k = g_bytes_get_data(key, &keylen);
    return HMAC(EVP_sha256(), k, (int)keylen, msg, len, out, outlen) != NULL;
}

/* What a mark's MAC covers, apart from the identity fields. */
typedef struct mark_parts {
    char *host, *t, *body, *head, *tags;
} mark_parts;

/* Lower-case hex HMAC-SHA256 of the mark's content; NULL when OpenSSL fails. */
static char *compute_mac(GBytes *key, const mark_parts *m, GPtrArray *headers)
{
    GString *msg = g_string_new("sjm-journal-mark\nv=" MARK_VERSION "\n");
    g_string_append_printf(msg, "host=%s\nt=%s\nb=%s\nh=%s\nr=%s\n", m->host, m->t, m->body,
                           m->head, m->tags);
    add_identity(msg, headers);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *hex = NULL;
    if (hmac(key, msg->str, msg->len, mac, &maclen)) {
        hex = g_malloc(maclen * 2 + 1);
        for (unsigned int i = 0; i < maclen; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    g_string_free(msg, TRUE);
    return hex;
}

/* The tag of one recipient (8 characters of base64url), or NULL. */
static char *rcpt_tag(GBytes *key, const char *t, const char *addr)
{
    char *norm = sjm_addr_normalize(addr);
    char *msg = g_strdup_printf("sjm-journal-rcpt\nt=%s\n%s", t, norm);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *tag = NULL;
    if (hmac(key, msg, strlen(msg), mac, &maclen)) {
        tag = g_base64_encode(mac, TAG_BYTES);
        g_strdelimit(tag, "+", '-');
        g_strdelimit(tag, "/", '_');
    }
    g_free(msg);
    g_free(norm);
    return tag;
}

static char *digest_text(const guchar digest[SJM_BODYHASH_LEN])
{
    return g_base64_encode(digest, SJM_BODYHASH_LEN);
}

char *sjm_mark_make(const sjm_config *cfg, GPtrArray *headers, const guchar *body_digest,
                    const GPtrArray *rcpts, gint64 now)
{
    const char *host = g_get_host_name();
    if (cfg->mark_key == NULL || body_digest == NULL)
        return g_strdup(host);  /* an unkeyed mark: believed nowhere by default */
    char t[32];
    g_snprintf(t, sizeof t, "%" G_GINT64_FORMAT, now);
    GString *tags = g_string_new(NULL), *folded = g_string_new(NULL);
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < rcpts->len; i++) {
        char *tag = rcpt_tag(cfg->mark_key, t, g_ptr_array_index(rcpts, i));
        ok = tag != NULL;
        /* Folded so that a thousand recipients stay within the line
         * length RFC 5322 allows; folding white space is not part of it. */
        if (ok && i > 0 && i % TAGS_PER_LINE == 0)
            g_string_append(folded, "\n\t");
        if (ok) {
            g_string_append(tags, tag);
            g_string_append(folded, tag);
        }
        g_free(tag);
    }
    mark_parts m = {.host = (char *)host, .t = t, .body = digest_text(body_digest),
                    .head = header_digest(headers), .tags = tags->str};
    char *mac = ok && m.head != NULL ? compute_mac(cfg->mark_key, &m, headers) : NULL;
    char *v = mac == NULL ? g_strdup(host)
        : g_strdup_printf("%s; v=" MARK_VERSION "; t=%s; b=%s;\n\th=%s;%sr=%s; mac=%s", host, t,
                          m.body, m.head, rcpts->len > TAGS_PER_LINE ? "\n\t" : " ", folded->str, mac);
    g_free(mac);
    g_free(m.body);
    g_free(m.head);
    g_string_free(tags, TRUE);
    g_string_free(folded, TRUE);
    return v;
}

/* The value of "; NAME=" in a mark with all white space removed, or NULL. */
static char *param(const char *value, const char *name)
{
    char **items = g_strsplit(value, ";", -1);
    char *found = NULL;
    gsize n = strlen(name);
    for (char **p = items + (items[0] ? 1 : 0); *p && !found; p++) {
        char *item = g_strstrip(*p);
        if (g_ascii_strncasecmp(item, name, n) == 0 && item[n] == '=') {
            GString *v = g_string_new(NULL);
            for (const char *c = item + n + 1; *c; c++)
                if (!g_ascii_isspace(*c))
                    g_string_append_c(v, *c);
            found = g_string_free(v, FALSE);
        }
    }
    g_strfreev(items);
    return found;
}

/* The host a mark names: its first item, trimmed. */
static char *mark_host(const char *value)
{
    const char *semi = strchr(value, ';');
    char *host = g_strndup(value, semi ? (gsize)(semi - value) : strlen(value));
    return g_strstrip(host);
}

static gboolean client_is_trusted_relay(const sjm_txn *txn)
{
    return txn->client_trusted && !sjm_txn_local_submission(txn);
}

/* Is every recipient in RCPTS (that is not a journal mailbox) among TAGS? */
static gboolean rcpts_covered(const sjm_config *cfg, const char *t, const char *tags,
                              const GPtrArray *rcpts)
{
    gsize ntags = strlen(tags);
    if (ntags % 8 != 0)
        return FALSE;
    for (guint i = 0; i < rcpts->len; i++) {
        const char *r = g_ptr_array_index(rcpts, i);
        if (sjm_journal_is_mailbox(cfg, r))
            continue;
        char *tag = rcpt_tag(cfg->mark_key, t, r);
        gboolean found = FALSE;
        for (gsize j = 0; tag != NULL && !found && j < ntags; j += 8)
            found = CRYPTO_memcmp(tags + j, tag, 8) == 0;
        g_free(tag);
        if (!found)
            return FALSE;
    }
    return TRUE;
}

static gboolean text_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strlen(a) == strlen(b) && CRYPTO_memcmp(a, b, strlen(a)) == 0;
}

gboolean sjm_mark_verify(const sjm_config *cfg, const char *value, GPtrArray *headers,
                         const sjm_mark_check_opts *o, const char **why)
{
    const char *v = value ? value : "";
    mark_parts m = {0};
    char *mac = param(v, "mac"), *ver = param(v, "v");
    gboolean ok = FALSE;
    m.t = param(v, "t");
    m.body = param(v, "b");
    m.head = param(v, "h");
    m.tags = param(v, "r");
    m.host = mark_host(v);
    if (mac == NULL) {
        *why = "unkeyed";
    } else if (cfg->mark_key == NULL) {
        *why = "no-key-here";
    } else if (ver != NULL && strcmp(ver, "1") == 0) {
        /* Identity fields only: it says nothing about what was journaled. */
        *why = "unbound-v1";
    } else if (ver == NULL || strcmp(ver, MARK_VERSION) != 0 || m.t == NULL || *m.t == '\0' ||
               strspn(m.t, "0123456789") != strlen(m.t) || m.body == NULL || m.head == NULL ||
               m.tags == NULL) {
        *why = "malformed";
    } else {
        char *want = compute_mac(cfg->mark_key, &m, headers);
        char *lower = g_ascii_strdown(mac, -1);
        gboolean mac_ok = text_eq(lower, want);
        g_free(lower);
        g_free(want);
        char *have = o->body_digest != NULL ? digest_text(o->body_digest) : NULL;
        char *head = o->check_header ? header_digest(headers) : NULL;
        if (!mac_ok)
            *why = "bad-mac";
        else if (o->need_body && have == NULL)
            *why = "body-unread";
        else if (have != NULL && !text_eq(have, m.body))
            *why = "body-changed";
        else if (o->check_header && !text_eq(head, m.head))
            *why = "headers-changed";
        else if (o->rcpts != NULL && !rcpts_covered(cfg, m.t, m.tags, o->rcpts))
            *why = "recipients-not-covered";
        else
            ok = TRUE;
        if (ok)
            *why = "mac";
        g_free(have);
        g_free(head);
    }
    g_free(m.host);
    g_free(m.t);
    g_free(m.body);
    g_free(m.head);
    g_free(m.tags);
    g_free(ver);
    g_free(mac);
    return ok;
}

gboolean sjm_mark_returned_trace_ok(GPtrArray *headers)
{
    gsize total = 0;
    for (guint i = 0; headers != NULL && i < headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(headers, i);
        if (!is_trace(h->name))
            continue;
        gsize n = strlen(h->name) + 2 + (h->value ? strlen(h->value) : 0);
        if (n > SJM_MARK_TRACE_FIELD_MAX)
            return FALSE;
        total += n;
    }
    return total <= SJM_MARK_TRACE_MAX;
}

gboolean sjm_mark_believed(const sjm_config *cfg, const sjm_txn *txn, const char *value,
                           const char **why)
{
    const char *v = value ? value : "";
    char *mac = param(v, "mac");
    gboolean keyed = mac != NULL;
    g_free(mac);
    if (!keyed) {
        if (!cfg->accept_unkeyed_marks) {
            *why = "unkeyed";
            return FALSE;
        }
        if (!client_is_trusted_relay(txn)) {
            *why = "unkeyed-untrusted-client";
            return FALSE;
        }
        *why = "unkeyed-trusted-client";
        return TRUE;
    }
    /* Identity, body, recipients and every header field but trace fields:
     * a field added under a copied mark could carry a letter. */
    sjm_mark_check_opts o = {
        .body_digest = txn->has_body_digest ? txn->body_digest : NULL,
        .need_body = TRUE,
        .check_header = TRUE,
        .rcpts = txn->rcpts,
    };
    return sjm_mark_verify(cfg, v, txn->headers, &o, why);
}
