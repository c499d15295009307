/*
 * journal.c - which journal mailboxes a message goes to (SPEC section 5)
 * and how that lands in a verdict.
 *
 * The rules run in the SPEC's order and the first that applies decides,
 * so a compliance officer can read one reason per message in the log.
 * Anything uncertain journals: every skip needs positive evidence, and
 * the evidence a remote sender can fabricate (marks) is only believed
 * from trusted hosts.
 *
 * Scope, as an Exchange administrator knows it from journal rules:
 *   internal  the sender AND every recipient are inside the organisation
 *             (their domains match local_domains);
 *   external  at least one party is outside: an outside sender, or an
 *             inside sender writing to at least one outside recipient;
 *   global    everything.
 * internal and external are complements, so running one filter with each
 * scope splits the traffic without gaps or overlap.  The null sender has
 * no domain, hence counts as outside.  Journal mailboxes among the
 * recipients are not parties to the conversation and are left out of the
 * scope, public-folder and "every recipient" tests.
 */
#include <stdio.h>
#include <string.h>
#include "journal.h"
#include "addrmatch.h"

/* ------------------------------------------------------------ mailboxes */

static gboolean same_addr(const char *configured, const char *norm)
{
    char *c = sjm_addr_normalize(configured);
    gboolean same = *c != '\0' && strcmp(c, norm) == 0;
    g_free(c);
    return same;
}

gboolean sjm_journal_is_mailbox(const sjm_config *cfg, const char *addr)
{
    if (cfg == NULL || addr == NULL)
        return FALSE;
    char *norm = sjm_addr_normalize(addr);
    gboolean hit = FALSE;
    if (cfg->journal_recipient != NULL && same_addr(cfg->journal_recipient, norm))
        hit = TRUE;
    for (guint i = 0; !hit && cfg->sites != NULL && i < cfg->sites->len; i++) {
        const sjm_site *s = g_ptr_array_index(cfg->sites, i);
        hit = same_addr(s->mailbox, norm);
    }
    g_free(norm);
    return hit;
}

const char *sjm_journal_check_rcpt(const sjm_config *cfg, const sjm_txn *txn,
                                   const char *rcpt)
{
    /* With journaling off the configured mailboxes are not in use, and
     * refusing mail to them would surprise more than it protects. */
    if (!cfg->journal_enabled || !cfg->protect)
        return NULL;
    if (txn->client_trusted)
        return NULL;
    if (!sjm_journal_is_mailbox(cfg, rcpt))
        return NULL;
    return "Recipient is a journal mailbox and accepts mail only from trusted hosts";
}

/* ------------------------------------------------------------ read reports */

/* Skip folding white space and (nested) comments. */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        int depth = 0;
        while (*p) {
            if (*p == '\\' && p[1]) {
                p += 2;
                continue;
            }
            if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0) {
                p++;
                break;
            }
            p++;
        }
        if (depth > 0)
            return p;   /* unterminated comment: at the end of the value */
    }
}

/* RFC 2045 token characters. */
static gboolean is_token_char(char c)
{
    return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A token at *P (advanced past it), or NULL when there is none. */
static char *take_token(const char **p)
{
    const char *s = *p;
    while (is_token_char(**p))
        (*p)++;
    return *p > s ? g_ascii_strdown(s, *p - s) : NULL;
}

/* A token or quoted-string value at *P, unquoted; NULL when malformed. */
static char *take_value(const char **p)
{
    if (**p != '"')
        return take_token(p);
    GString *out = g_string_new(NULL);
    (*p)++;
    while (**p && **p != '"') {
        if (**p == '\\' && (*p)[1])
            (*p)++;
        g_string_append_c(out, g_ascii_tolower(**p));
        (*p)++;
    }
    if (**p != '"') {
        g_string_free(out, TRUE);
        return NULL;
    }
    (*p)++;
    return g_string_free(out, FALSE);
}

/*
 * A read report (MDN, RFC 8098) by its one top-level Content-Type:
 * multipart/report with exactly one report-type parameter equal to
 * disposition-notification.  Duplicate Content-Type fields, a second
 * report-type or anything unparseable mean "not a read report": a
 * message whose readers may see something else must stay journaled.
 */
static gboolean is_read_report(const sjm_txn *txn)
{
    const char *ct = NULL;
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, "Content-Type") != 0)
            continue;
        if (ct != NULL)
            return FALSE;
        ct = h->value ? h->value : "";
    }
    if (ct == NULL)
        return FALSE;

    gboolean ok = FALSE;
    int report_types = 0;
    gboolean mdn = FALSE;
    const char *p = skip_cfws(ct);
    char *type = take_token(&p);
    p = skip_cfws(p);
    char *subtype = NULL;
    if (type && *p == '/') {
        p = skip_cfws(p + 1);
        subtype = take_token(&p);
    }
    if (!type || !subtype || strcmp(type, "multipart") != 0 || strcmp(subtype, "report") != 0)
        goto out;

    for (;;) {
        p = skip_cfws(p);
        if (*p == '\0')
            break;
        if (*p != ';')
            goto out;
        p = skip_cfws(p + 1);
        if (*p == '\0')
            break;      /* a trailing ';' is common and harmless */
        char *name = take_token(&p);
        p = skip_cfws(p);
        if (!name || *p != '=') {
            g_free(name);
            goto out;
        }
        p = skip_cfws(p + 1);
        char *value = take_value(&p);
        if (!value) {
            g_free(name);
            goto out;
        }
        if (strcmp(name, "report-type") == 0) {
            report_types++;
            mdn = strcmp(value, "disposition-notification") == 0;
        }
        g_free(name);
        g_free(value);
    }
    ok = report_types == 1 && mdn;
out:
    g_free(type);
    g_free(subtype);
    return ok;
}

/* ------------------------------------------------------------ decision */

static guint count_marks(const sjm_txn *txn)
{
    guint n = 0;
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) == 0)
            n++;
    }
    return n;
}

static gboolean is_local(const sjm_config *cfg, const char *addr)
{
    const char *dom = sjm_addr_domain(addr);
    return *dom != '\0' && sjm_domain_match_any(cfg->local_domains, dom);
}

static gboolean in_scope(const sjm_config *cfg, const sjm_txn *txn)
{
    if (cfg->journal_scope == SJM_SCOPE_GLOBAL)
        return TRUE;

    gboolean internal = is_local(cfg, txn->sender);
    for (guint i = 0; internal && i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        if (!sjm_journal_is_mailbox(cfg, r) && !is_local(cfg, r))
            internal = FALSE;
    }
    return cfg->journal_scope == SJM_SCOPE_INTERNAL ? internal : !internal;
}

static gboolean in_list(GPtrArray *list, const char *norm)
{
    for (guint i = 0; i < list->len; i++)
        if (strcmp(g_ptr_array_index(list, i), norm) == 0)
            return TRUE;
    return FALSE;
}

/* Add MAILBOX unless it is already a recipient or already chosen. */
static void choose(GPtrArray *chosen, GPtrArray *present, const char *mailbox)
{
    char *norm = sjm_addr_normalize(mailbox);
    if (*norm == '\0' || in_list(present, norm) || in_list(chosen, norm)) {
        g_free(norm);
        return;
    }
    g_ptr_array_add(chosen, norm);
}

static gboolean site_applies(const sjm_config *cfg, const sjm_site *site,
                             const sjm_txn *txn)
{
    if (sjm_domain_match(site->domain, sjm_addr_domain(txn->sender)))
        return TRUE;
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        if (!sjm_journal_is_mailbox(cfg, r) && sjm_domain_match(site->domain, sjm_addr_domain(r)))
            return TRUE;
    }
    return FALSE;
}

static void skip(sjm_journal_decision *d, const char *reason)
{
    d->add = FALSE;
    d->reason = reason;
}

void sjm_journal_decide(const sjm_config *cfg, const sjm_txn *txn,
                        sjm_journal_decision *d)
{
    memset(d, 0, sizeof *d);

    /* 1 */
    if (!cfg->journal_enabled) {
        skip(d, "disabled");
        return;
    }

    /* 2: nothing but journal mailboxes.  An empty recipient list is not
     * taken for that: no MTA gets there, and if one did, journaling would
     * err on the side of a copy. */
    guint parties = 0, folders = 0;
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        if (sjm_journal_is_mailbox(cfg, r))
            continue;
        parties++;
        if (sjm_addr_match_any(cfg->public_folders, r))
            folders++;
    }
    if (txn->rcpts->len > 0 && parties == 0) {
        skip(d, "journal-mailbox");
        return;
    }

    /* 3: only a trusted hop's mark counts; apply() removes the others. */
    if (txn->client_trusted && count_marks(txn) > 0) {
        skip(d, "journaled-upstream");
        return;
    }

    /* 4-6: system traffic.  All three are claims the sender makes. */
    if (cfg->skip_null_sender && *txn->sender == '\0') {
        skip(d, "system:null-sender");
        return;
    }
    if (cfg->skip_read_reports && is_read_report(txn)) {
        skip(d, "system:read-report");
        return;
    }
    if (*txn->sender != '\0' && sjm_addr_match_any(cfg->system_senders, txn->sender)) {
        skip(d, "system:sender");
        return;
    }

    /* 7: a post that reaches a person as well is interpersonal mail. */
    if (parties > 0 && folders == parties) {
        skip(d, "public-folder");
        return;
    }

    /* 8 */
    if (!in_scope(cfg, txn)) {
        skip(d, "out-of-scope");
        return;
    }

    /* 9 */
    GPtrArray *chosen = g_ptr_array_new_with_free_func(g_free);
    gboolean applies = FALSE;
    if (cfg->journal_recipient != NULL && *cfg->journal_recipient != '\0') {
        applies = TRUE;
        choose(chosen, txn->rcpts, cfg->journal_recipient);
    }
    for (guint i = 0; cfg->sites != NULL && i < cfg->sites->len; i++) {
        const sjm_site *s = g_ptr_array_index(cfg->sites, i);
        if (site_applies(cfg, s, txn)) {
            applies = TRUE;
            choose(chosen, txn->rcpts, s->mailbox);
        }
    }

    if (chosen->len > 0) {
        d->add = TRUE;
        d->mailboxes = chosen;
        return;
    }
    g_ptr_array_free(chosen, TRUE);
    /* Only sites configured and none touched: the message lies outside
     * every journal's scope.  Otherwise every applicable journal mailbox
     * is already an envelope recipient and receives the message as such. */
    skip(d, applies ? "journal-mailbox" : "out-of-scope");
}

void sjm_journal_decision_clear(sjm_journal_decision *d)
{
    if (d->mailboxes != NULL)
        g_ptr_array_free(d->mailboxes, TRUE);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------ verdict */

/* Tells a downstream hop that trusts this host not to journal again.  The
 * host name alone: the journal mailboxes stay undisclosed to the
 * recipients, who all see this field. */
static void add_mark(sjm_verdict *v)
{
    sjm_verdict_add_header(v, SJM_HDR_ADD, 0, SJM_JOURNAL_MARK_HEADER, g_get_host_name());
}

static gboolean has_party(const sjm_config *cfg, const sjm_txn *txn)
{
    for (guint i = 0; i < txn->rcpts->len; i++)
        if (!sjm_journal_is_mailbox(cfg, g_ptr_array_index(txn->rcpts, i)))
            return TRUE;
    return FALSE;
}

void sjm_journal_apply(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v)
{
    /*
     * Header firewall, whatever the decision (even with journaling off):
     * a downstream filter that trusts this host must never see a mark a
     * stranger wrote.  Deleting from the last occurrence backwards keeps
     * every index right whether or not the MTA still counts a deleted
     * field.
     */
    if (!txn->client_trusted) {
        for (guint n = count_marks(txn); n > 0; n--)
            sjm_verdict_add_header(v, SJM_HDR_CHANGE, (int)n, SJM_JOURNAL_MARK_HEADER, NULL);
    }

    sjm_journal_decision d;
    sjm_journal_decide(cfg, txn, &d);

    if (!d.add) {
        char *summary = strcmp(d.reason, "disabled") == 0
            ? g_strdup("disabled") : g_strconcat("skipped:", d.reason, NULL);
        sjm_verdict_set_journal(v, summary);
        g_free(summary);
        /* A journal mailbox addressed alongside people already archives the
         * message; without the mark, a trusted downstream hop that gets
         * only the people's copy would journal it a second time. */
        if (strcmp(d.reason, "journal-mailbox") == 0 && has_party(cfg, txn))
            add_mark(v);
        sjm_journal_decision_clear(&d);
        return;
    }

    GString *summary = g_string_new("added:");
    for (guint i = 0; i < d.mailboxes->len; i++) {
        const char *mb = g_ptr_array_index(d.mailboxes, i);
        sjm_verdict_add_rcpt(v, mb, cfg->notify_never ? "NOTIFY=NEVER" : NULL);
        if (i > 0)
            g_string_append_c(summary, ',');
        g_string_append(summary, mb);
    }
    sjm_verdict_set_journal(v, summary->str);
    g_string_free(summary, TRUE);

    add_mark(v);
    sjm_journal_decision_clear(&d);
}
