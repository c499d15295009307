/*
 * txn.c - construction and teardown of transactions.
 */
#include <string.h>
#include "txn.h"
#include "addrmatch.h"

sjm_header *sjm_header_new(const char *name, const char *value)
{
    sjm_header *h = g_new(sjm_header, 1);
    h->name = g_strdup(name);
    h->value = g_strdup(value);
    return h;
}

void sjm_header_free(gpointer p)
{
    sjm_header *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

sjm_txn *sjm_txn_new(void)
{
    sjm_txn *t = g_new0(sjm_txn, 1);
    t->queue_id = g_strdup("NOQUEUE");
    t->client_addr = g_strdup("");
    t->sender = g_strdup("");
    t->rcpts = g_ptr_array_new_with_free_func(g_free);
    t->refused = g_ptr_array_new_with_free_func(g_free);
    t->rcpts_raw = g_ptr_array_new_with_free_func(g_free);
    t->headers = g_ptr_array_new_with_free_func(sjm_header_free);
    t->start_us = g_get_monotonic_time();
    return t;
}

void sjm_txn_free(sjm_txn *t)
{
    if (!t)
        return;
    g_free(t->queue_id);
    g_free(t->client_addr);
    g_free(t->auth_name);
    g_free(t->sender);
    g_ptr_array_free(t->rcpts, TRUE);
    g_ptr_array_free(t->refused, TRUE);
    g_ptr_array_free(t->rcpts_raw, TRUE);
    g_ptr_array_free(t->headers, TRUE);
    if (t->orcpt)
        g_hash_table_unref(t->orcpt);
    sjm_spool_free(t->body);
    g_free(t);
}

void sjm_txn_set_sender(sjm_txn *t, const char *raw)
{
    g_free(t->sender);
    t->sender = sjm_addr_normalize(raw);
}

void sjm_txn_add_rcpt(sjm_txn *t, const char *raw)
{
    g_ptr_array_add(t->rcpts, sjm_addr_normalize(raw));
    /* As the client spelled it: an MTA matches a recipient deletion
     * against that, case and all. */
    char *r = g_strstrip(g_strdup(raw ? raw : ""));
    gsize n = strlen(r);
    if (n >= 2 && r[0] == '<' && r[n - 1] == '>') {
        memmove(r, r + 1, n - 2);
        r[n - 2] = '\0';
    }
    g_ptr_array_add(t->rcpts_raw, r);
}

/* RFC 3461 xtext: "+HH" stands for the byte 0xHH; anything else is itself. */
static char *xtext_decode(const char *s)
{
    GString *out = g_string_new(NULL);
    for (const char *p = s; *p; p++) {
        if (*p == '+' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2])) {
            g_string_append_c(out, (char)(g_ascii_xdigit_value(p[1]) * 16 + g_ascii_xdigit_value(p[2])));
            p += 2;
        } else {
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

void sjm_txn_set_orcpt(sjm_txn *t, const char *rcpt, const char *orcpt_xtext)
{
    if (rcpt == NULL || orcpt_xtext == NULL || g_ascii_strncasecmp(orcpt_xtext, "rfc822;", 7) != 0)
        return;
    char *addr = xtext_decode(orcpt_xtext + 7);
    g_strstrip(addr);
    /* It is written on a report line: one plain address, nothing a
     * reader could take for a second field or line. */
    gboolean plain = *addr != '\0' && strlen(addr) <= 320 && strchr(addr, '@') != NULL;
    for (const guchar *p = (const guchar *)addr; plain && *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>' || *p == '"')
            plain = FALSE;
    if (plain) {
        if (t->orcpt == NULL)
            t->orcpt = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_replace(t->orcpt, sjm_addr_normalize(rcpt), sjm_addr_normalize(addr));
    }
    g_free(addr);
}

const char *sjm_txn_orcpt(const sjm_txn *t, const char *rcpt)
{
    if (t->orcpt == NULL || rcpt == NULL)
        return NULL;
    const char *o = g_hash_table_lookup(t->orcpt, rcpt);
    return o != NULL && strcmp(o, rcpt) != 0 ? o : NULL;
}

void sjm_txn_add_header(sjm_txn *t, const char *name, const char *value)
{
    sjm_header *h = g_new(sjm_header, 1);
    h->name = g_strdup(name);
    h->value = g_strdup(value);
    g_ptr_array_add(t->headers, h);
}

const char *sjm_txn_header(const sjm_txn *t, const char *name)
{
    for (guint i = 0; i < t->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(t->headers, i);
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return h->value;
    }
    return NULL;
}

gboolean sjm_txn_local_submission(const sjm_txn *t)
{
    return t->client_addr == NULL || *t->client_addr == '\0';
}
