/*
 * authres.c - Authentication-Results fields for S/MIME results (RFC 8601
 * syntax, RFC 7281 "smime" method) and the authserv-id test the header
 * firewall uses.  Interface and contract: authres.h.
 */
#include <string.h>
#include <gmime/gmime.h>
#include "authres.h"
#include "mimehdr.h"

/* Folded lines stay under this many characters where a break is possible. */
#define FOLD_AT 76

/* RFC 2045 token: any ASCII printable except SPACE and tspecials. */
static gboolean is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return FALSE;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 127 || strchr("()<>@,;:\\\"/[]?=", *p) != NULL)
            return FALSE;
    return TRUE;
}

char *sjm_authres_quote(const char *value)
{
    if (is_token(value))
        return g_strdup(value);
    GString *q = g_string_new("\"");
    for (const unsigned char *p = (const unsigned char *)(value != NULL ? value : ""); *p; p++) {
        /* Control characters cannot appear even quoted; they never come
         * from OpenSSL's RFC 2253 output, which escapes them. */
        if (*p < ' ' || *p == 127)
            continue;
        if (*p == '"' || *p == '\\')
            g_string_append_c(q, '\\');
        g_string_append_c(q, (char)*p);
    }
    g_string_append_c(q, '"');
    return g_string_free(q, FALSE);
}

/* An address as RFC 8601's pvalue [local-part] "@" domain-name when it is
 * a plain dot-atom address, else as a quoted string. */
static char *address_value(const char *addr)
{
    const char *at = strrchr(addr, '@');
    gboolean plain = at != NULL && at != addr && at[1] != '\0';
    for (const char *p = addr; plain && p < at; p++)
        plain = g_ascii_isalnum(*p) || strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL;
    for (const char *p = at != NULL ? at + 1 : ""; plain && *p; p++)
        plain = g_ascii_isalnum(*p) || *p == '-' || *p == '.';
    return plain ? g_strdup(addr) : sjm_authres_quote(addr);
}

/* Append " ITEM", breaking the line before it when it would grow long. */
static void add_item(GString *f, gsize *line, const char *item)
{
    gsize len = strlen(item);
    if (*line + 1 + len > FOLD_AT) {
        g_string_append(f, "\n\t");
        *line = 8;
    } else {
        g_string_append_c(f, ' ');
        *line += 1;
    }
    g_string_append(f, item);
    *line += len;
}

static void add_prop(GString *f, gsize *line, const char *name, char *value)
{
    char *item = g_strdup_printf("%s=%s", name, value);
    add_item(f, line, item);
    g_free(item);
    g_free(value);
}

char *sjm_authres_smime(const char *authserv_id, const sjm_verify_result *r)
{
    char *id = sjm_authres_quote(authserv_id);
    GString *f = g_string_new(id);
    g_free(id);
    g_string_append_c(f, ';');
    /* "Authentication-Results: " precedes the value on the first line. */
    gsize line = strlen(SJM_AUTHRES_FIELD) + 2 + f->len;

    char *method = g_strdup_printf("smime=%s", sjm_verify_code_name(r->code));
    add_item(f, &line, method);
    g_free(method);
    if (r->reason != NULL)
        add_prop(f, &line, "reason", g_strdup_printf("\"%s\"", r->reason));
    if (r->identifier != NULL)
        add_prop(f, &line, "body.smime-identifier", address_value(r->identifier));
    if (r->part != NULL)
        add_prop(f, &line, "body.smime-part", sjm_authres_quote(r->part));
    if (r->serial != NULL && r->issuer != NULL) {
        add_prop(f, &line, "body.smime-serial", sjm_authres_quote(r->serial));
        add_prop(f, &line, "body.smime-issuer", sjm_authres_quote(r->issuer));
    }
    return g_string_free(f, FALSE);
}

gboolean sjm_authres_claims(const char *value, const char *authserv_id)
{
    if (value == NULL || authserv_id == NULL)
        return FALSE;
    const char *p = sjm_mimehdr_skip_cfws(value, NULL);
    GString *id = g_string_new(NULL);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (*p != '\r' && *p != '\n')
                g_string_append_c(id, *p);
        }
    } else {
        for (; *p && *p > ' ' && *p != ';' && *p != '(' && *p != '"'; p++)
            g_string_append_c(id, *p);
    }
    gboolean same = id->len > 0 && g_ascii_strcasecmp(id->str, authserv_id) == 0;
    g_string_free(id, TRUE);
    return same;
}

/* ------------------------------------------------------ header edits */

/* Does ADDR appear among the mailboxes of the From: field? */
static gboolean from_has(const sjm_txn *txn, const char *addr)
{
    const char *from = sjm_txn_header(txn, "From");
    if (from == NULL || addr == NULL)
        return FALSE;
    gboolean found = FALSE;
    InternetAddressList *list = internet_address_list_parse(NULL, from);
    for (int i = 0; list != NULL && i < internet_address_list_length(list) && !found; i++) {
        InternetAddress *a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char *m = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            found = m != NULL && g_ascii_strcasecmp(m, addr) == 0;
        }
    }
    if (list != NULL)
        g_object_unref(list);
    return found;
}

static sjm_verify_result *result_dup(const sjm_verify_result *r)
{
    sjm_verify_result *d = g_new0(sjm_verify_result, 1);
    d->code = r->code;
    d->reason = r->reason;
    d->identifier = g_strdup(r->identifier);
    d->serial = g_strdup(r->serial);
    d->issuer = g_strdup(r->issuer);
    d->part = g_strdup(r->part);
    return d;
}

void sjm_authres_apply(const sjm_config *cfg, const sjm_txn *txn,
                       const GPtrArray *results, sjm_plan *p)
{
    /* The firewall.  Highest occurrence first, so the lower indexes stay
     * right whether or not the MTA renumbers after a delete; before our
     * own fields are inserted, so no index ever points at one of ours. */
    if (!txn->client_trusted && txn->headers != NULL) {
        int count = 0;
        for (guint i = 0; i < txn->headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i);
            if (g_ascii_strcasecmp(h->name, SJM_AUTHRES_FIELD) == 0)
                count++;
        }
        for (guint i = txn->headers->len; i > 0 && count > 0; i--) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i - 1);
            if (g_ascii_strcasecmp(h->name, SJM_AUTHRES_FIELD) != 0)
                continue;
            if (sjm_authres_claims(h->value, cfg->authserv_id)) {
                sjm_plan_add_header(p, SJM_HDR_CHANGE, count, h->name, NULL);
                p->sig.authres_removed++;
            }
            count--;
        }
    }

    guint n = results != NULL ? results->len : 0;
    if (n == 0)
        return;
    /* Each inserted at the top: the last first, so they read in order. */
    for (guint i = n; i > 0; i--) {
        const sjm_verify_result *r = g_ptr_array_index(results, i - 1);
        char *value = sjm_authres_smime(cfg->authserv_id, r);
        sjm_plan_add_header(p, SJM_HDR_INSERT, 0, SJM_AUTHRES_FIELD, value);
        g_free(value);
    }
    p->sig.verify = SJM_VERIFY_STATE_RESULTS;
    for (guint i = 0; i < n; i++) {
        const sjm_verify_result *r = g_ptr_array_index(results, i);
        g_ptr_array_add(p->sig.results, result_dup(r));
        p->sig.signer_in_from = p->sig.signer_in_from || from_has(txn, r->identifier);
    }
}
