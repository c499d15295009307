/*
 * ledger_entry.c - one ledger entry: what the plan decided, as text
 * another implementation can read (smime-journal-milter(8), JOURNAL
 * LEDGER, "Entry format").
 *
 * The entry is lines "NAME SP VALUE LF" in a fixed order after the line
 * "sjm-ledger 1".  Values are the plan's typed decisions through their
 * name functions (plan.c), never log text.  In a value, '%', bytes below
 * 0x20 and 0x7F are written %XX (upper-case hex) so a value never holds
 * a line break; everything else, UTF-8 included, is as it was.
 */
#include <string.h>
#include "ledger.h"

static void put(GString *s, const char *name, const char *value)
{
    g_string_append(s, name);
    g_string_append_c(s, ' ');
    for (const guchar *p = (const guchar *)(value ? value : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%')
            g_string_append_printf(s, "%%%02X", *p);
        else
            g_string_append_c(s, (char)*p);
    }
    g_string_append_c(s, '\n');
}

char *sjm_ledger_message_id(const char *value)
{
    if (value == NULL)
        return g_strdup("");
    GString *s = g_string_new(NULL);
    for (const char *p = value; *p; p++)
        if (*p != '\r' && *p != '\n')
            g_string_append_c(s, *p);
    g_strstrip(s->str);
    s->len = strlen(s->str);
    return g_string_free(s, FALSE);
}

static const char *action_name(sjm_action a)
{
    switch (a) {
    case SJM_ACTION_CONTINUE: return "continue";
    case SJM_ACTION_TEMPFAIL: return "tempfail";
    case SJM_ACTION_REJECT: return "reject";
    }
    return "?";
}

GString *sjm_ledger_entry_encode(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p,
                                 gint64 now_us)
{
    GString *s = g_string_new(SJM_LEDGER_MAGIC "\n");
    GDateTime *t = g_date_time_new_from_unix_utc(now_us / G_USEC_PER_SEC);
    char *when = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    char *stamp = g_strdup_printf("%s.%06dZ", when, (int)(now_us % G_USEC_PER_SEC));
    /* The identity the journal receives: the one the filter added, if any. */
    char *msgid = sjm_ledger_message_id(p->message_id_added ? p->message_id_added
                                                            : sjm_txn_header(txn, "Message-ID"));
    char *sig = sjm_plan_signature_token(p);

    put(s, "time", stamp);
    put(s, "host", g_get_host_name());
    put(s, "queue-id", txn->queue_id);
    put(s, "sender", txn->sender);
    for (guint i = 0; i < txn->rcpts->len; i++)
        put(s, "rcpt", g_ptr_array_index(txn->rcpts, i));
    put(s, "message-id", msgid);
    put(s, "action", action_name(p->action));
    put(s, "refusal", sjm_refusal_name(p->refusal));
    put(s, "journal", sjm_journal_status_name(p->journal.status));
    put(s, "reason", sjm_journal_reason_name(p->journal.reason));
    put(s, "evidence", sjm_journal_evidence_name(p->journal.evidence));
    put(s, "mode", cfg->journal_mode == SJM_JOURNAL_MODE_REPORT ? "report" : "bcc");
    if (p->journal.mailboxes)
        for (guint i = 0; i < p->journal.mailboxes->len; i++)
            put(s, "mailbox", g_ptr_array_index(p->journal.mailboxes, i));
    put(s, "signature", sig);
    /* The journal gets the original body in either mode (a bcc copy of
     * a stripped message is the original, re-injected), so the digest
     * the archive must show is the one of the body as received. */
    if (txn->has_body_digest) {
        char hex[2 * SJM_HASH_LEN + 1];
        for (guint i = 0; i < SJM_HASH_LEN; i++)
            g_snprintf(hex + 2 * i, 3, "%02x", txn->body_digest[i]);
        put(s, "digest", hex);
    } else {
        put(s, "digest", "-");
    }
    g_free(sig);
    g_free(msgid);
    g_free(stamp);
    g_free(when);
    g_date_time_unref(t);
    return s;
}

/* ------------------------------------------------------------ parsing */

static char *unescape(const char *v, gsize len)
{
    GString *s = g_string_sized_new(len);
    for (gsize i = 0; i < len; i++) {
        if (v[i] == '%' && i + 2 < len
            && g_ascii_isxdigit(v[i + 1]) && g_ascii_isxdigit(v[i + 2])) {
            g_string_append_c(s, (char)(g_ascii_xdigit_value(v[i + 1]) * 16
                                        + g_ascii_xdigit_value(v[i + 2])));
            i += 2;
        } else {
            g_string_append_c(s, v[i]);
        }
    }
    return g_string_free(s, FALSE);
}

void sjm_ledger_entry_free(sjm_ledger_entry *e)
{
    if (!e)
        return;
    g_free(e->time);
    g_free(e->host);
    g_free(e->queue_id);
    g_free(e->sender);
    g_ptr_array_free(e->rcpts, TRUE);
    g_free(e->message_id);
    g_free(e->action);
    g_free(e->refusal);
    g_free(e->journal);
    g_free(e->reason);
    g_free(e->evidence);
    g_free(e->mode);
    g_ptr_array_free(e->mailboxes, TRUE);
    g_free(e->signature);
    g_free(e);
}

static gboolean set_once(char **field, char *value)
{
    if (*field) {
        g_free(value);
        return FALSE;
    }
    *field = value;
    return TRUE;
}

sjm_ledger_entry *sjm_ledger_entry_parse(const guchar *data, gsize len)
{
    const char *p = (const char *)data, *end = p + len;
    gsize magic = strlen(SJM_LEDGER_MAGIC "\n");
    if (len < magic || memcmp(p, SJM_LEDGER_MAGIC "\n", magic) != 0 || data[len - 1] != '\n')
        return NULL;
    sjm_ledger_entry *e = g_new0(sjm_ledger_entry, 1);
    e->rcpts = g_ptr_array_new_with_free_func(g_free);
    e->mailboxes = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = TRUE;
    char *digest = NULL;
    for (p += magic; ok && p < end;) {
        const char *nl = memchr(p, '\n', (gsize)(end - p));
        const char *sp = memchr(p, ' ', (gsize)(nl - p));
        if (sp == NULL) {
            ok = FALSE;
            break;
        }
        char *name = g_strndup(p, (gsize)(sp - p));
        char *value = unescape(sp + 1, (gsize)(nl - sp - 1));
        if (strcmp(name, "rcpt") == 0)
            g_ptr_array_add(e->rcpts, value);
        else if (strcmp(name, "mailbox") == 0)
            g_ptr_array_add(e->mailboxes, value);
        else if (strcmp(name, "time") == 0) ok = set_once(&e->time, value);
        else if (strcmp(name, "host") == 0) ok = set_once(&e->host, value);
        else if (strcmp(name, "queue-id") == 0) ok = set_once(&e->queue_id, value);
        else if (strcmp(name, "sender") == 0) ok = set_once(&e->sender, value);
        else if (strcmp(name, "message-id") == 0) ok = set_once(&e->message_id, value);
        else if (strcmp(name, "action") == 0) ok = set_once(&e->action, value);
        else if (strcmp(name, "refusal") == 0) ok = set_once(&e->refusal, value);
        else if (strcmp(name, "journal") == 0) ok = set_once(&e->journal, value);
        else if (strcmp(name, "reason") == 0) ok = set_once(&e->reason, value);
        else if (strcmp(name, "evidence") == 0) ok = set_once(&e->evidence, value);
        else if (strcmp(name, "mode") == 0) ok = set_once(&e->mode, value);
        else if (strcmp(name, "signature") == 0) ok = set_once(&e->signature, value);
        else if (strcmp(name, "digest") == 0) ok = set_once(&digest, value);
        else
            g_free(value);  /* a later version's field: readable, ignored */
        g_free(name);
        p = nl + 1;
    }
    ok = ok && e->time && e->host && e->queue_id && e->sender && e->message_id && e->action
         && e->refusal && e->journal && e->reason && e->evidence && e->mode && e->signature && digest;
    if (ok && strcmp(digest, "-") != 0) {
        ok = strlen(digest) == 2 * SJM_HASH_LEN;
        for (guint i = 0; ok && i < SJM_HASH_LEN; i++) {
            if (!g_ascii_isxdigit(digest[2 * i]) || !g_ascii_isxdigit(digest[2 * i + 1]))
                ok = FALSE;
            else
                e->digest[i] = (guchar)(g_ascii_xdigit_value(digest[2 * i]) * 16
                                        + g_ascii_xdigit_value(digest[2 * i + 1]));
        }
        e->has_digest = ok;
    }
    g_free(digest);
    if (!ok) {
        sjm_ledger_entry_free(e);
        return NULL;
    }
    return e;
}
