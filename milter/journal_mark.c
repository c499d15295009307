/*
 * journal_mark.c - journal marks that say "already journaled" and that
 * only the organisation's filters can write.
 *
 * INTERFACE (journal.h)
 *   sjm_mark_make()      the value of the mark this host adds;
 *   sjm_mark_believed()  whether one mark found on a message counts.
 *
 * A keyed mark is "HOST; v=1; t=UNIXTIME; mac=HEX", the MAC being
 * HMAC-SHA256 under [journal] mark_key_file over the version, the time
 * and the message's identity: the header fields Message-ID, Date, From,
 * To, Cc and Subject, unfolded and with runs of white space made one
 * space.  Whoever lacks the key cannot make one, whatever host or login
 * they send from (local submissions included), and a mark copied onto a
 * message with another identity does not verify.  The body is not
 * covered: hashing it would mean reading every journaled body, which the
 * no-body fast path exists to avoid; what a mark binds is documented in
 * smime-journal-milter.conf(5).  A hop that rewrites one of those fields
 * (canonical_maps, masquerading) breaks the MAC, and the message is
 * journaled once more: a duplicate, never a loss.
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

#define MARK_VERSION "1"

static const char *const identity_fields[] = {
    "Message-ID", "Date", "From", "To", "Cc", "Subject", NULL,
};

/* NAME ":" value, unfolded and white space collapsed, for each occurrence. */
static void add_identity(GString *out, const sjm_txn *txn)
{
    for (const char *const *f = identity_fields; *f; f++) {
        for (guint i = 0; i < txn->headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i);
            if (g_ascii_strcasecmp(h->name, *f) != 0)
                continue;
            g_string_append_printf(out, "%s:", *f);
            gboolean space = FALSE;
            gsize start = out->len;
            for (const char *p = h->value ? h->value : ""; *p; p++) {
                if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
                    space = TRUE;
                    continue;
                }
                if (space && out->len > start)
                    g_string_append_c(out, ' ');
                space = FALSE;
                g_string_append_c(out, *p);
            }
            g_string_append_c(out, '\n');
        }
    }
}

/* Lower-case hex HMAC-SHA256 of the mark's content; NULL when OpenSSL fails. */
static char *compute_mac(GBytes *key, const char *t, const sjm_txn *txn)
{
    GString *msg = g_string_new("sjm-journal-mark\nv=" MARK_VERSION "\nt=");
    g_string_append(msg, t);
    g_string_append_c(msg, '\n');
    add_identity(msg, txn);

    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    gsize keylen = 0;
    const void *k = g_bytes_get_data(key, &keylen);
    char *hex = NULL;
    if (HMAC(EVP_sha256(), k, (int)keylen, (const unsigned char *)msg->str, msg->len,
             mac, &maclen) != NULL) {
        hex = g_malloc(maclen * 2 + 1);
        for (unsigned int i = 0; i < maclen; i++)
            snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    g_string_free(msg, TRUE);
    return hex;
}

char *sjm_mark_make(const sjm_config *cfg, const sjm_txn *txn, gint64 now)
{
    const char *host = g_get_host_name();
    if (cfg->mark_key == NULL)
        return g_strdup(host);
    char t[32];
    g_snprintf(t, sizeof t, "%" G_GINT64_FORMAT, now);
    char *mac = compute_mac(cfg->mark_key, t, txn);
    if (mac == NULL)
        return g_strdup(host);  /* an unkeyed mark: believed nowhere by default */
    char *v = g_strdup_printf("%s; v=" MARK_VERSION "; t=%s; mac=%s", host, t, mac);
    g_free(mac);
    return v;
}

/* The value of "; NAME=" in a mark, or NULL. */
static char *param(const char *value, const char *name)
{
    char **items = g_strsplit(value, ";", -1);
    char *found = NULL;
    gsize n = strlen(name);
    for (char **p = items + (items[0] ? 1 : 0); *p && !found; p++) {
        char *item = g_strstrip(*p);
        if (g_ascii_strncasecmp(item, name, n) == 0 && item[n] == '=')
            found = g_strdup(g_strstrip(item + n + 1));
    }
    g_strfreev(items);
    return found;
}

static gboolean client_is_trusted_relay(const sjm_txn *txn)
{
    return txn->client_trusted && !sjm_txn_local_submission(txn);
}

gboolean sjm_mark_believed(const sjm_config *cfg, const sjm_txn *txn, const char *value,
                           const char **why)
{
    const char *v = value ? value : "";
    char *mac = param(v, "mac");
    if (mac == NULL) {
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

    gboolean ok = FALSE;
    char *ver = param(v, "v");
    char *t = param(v, "t");
    if (cfg->mark_key == NULL) {
        *why = "no-key-here";
    } else if (ver == NULL || strcmp(ver, MARK_VERSION) != 0 || t == NULL || *t == '\0' ||
               strspn(t, "0123456789") != strlen(t)) {
        *why = "malformed";
    } else {
        char *want = compute_mac(cfg->mark_key, t, txn);
        char *lower = g_ascii_strdown(mac, -1);
        ok = want != NULL && strlen(lower) == strlen(want) &&
             CRYPTO_memcmp(lower, want, strlen(want)) == 0;
        g_free(lower);
        *why = ok ? "mac" : "bad-mac";
        g_free(want);
    }
    g_free(ver);
    g_free(t);
    g_free(mac);
    return ok;
}
