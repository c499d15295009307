/*
 * journal.c - which journal mailboxes a message goes to (SPEC section 5)
 * and how that lands in a verdict.
 *
 * The rules run in the SPEC's order and the first that applies decides,
 * so a compliance officer can read one reason per message in the log.
 * Anything uncertain journals: every skip needs positive evidence that
 * the sender cannot write, i.e. structure (a genuine DSN or MDN,
 * journal_evidence.c), origin (a system sender from a named system host
 * or login) or a key (an authenticated mark, journal_mark.c).  A label
 * that was not believed is named in the log (journal_unbelieved=), so an
 * operator sees attempted evasions.
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
    /* Local submissions are not trusted, but non_smtpd_milters must never
     * refuse a recipient: Postfix would bounce the local user's mail. */
    if (txn->client_trusted || txn->client_addr == NULL || *txn->client_addr == '\0')
        return NULL;
    if (!sjm_journal_is_mailbox(cfg, rcpt))
        return NULL;
    return "Recipient is a journal mailbox and accepts mail only from trusted hosts";
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

/* The value of the N'th (1-based) mark. */
static const char *mark_value(const sjm_txn *txn, guint n)
{
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) == 0 && --n == 0)
            return h->value ? h->value : "";
    }
    return "";
}

static void unbelieved(sjm_journal_decision *d, const char *label, const char *why)
{
    char *token = g_strconcat(label, why ? ":" : "", why ? why : "", NULL);
    if (d->unbelieved == NULL) {
        d->unbelieved = token;
        return;
    }
    char *joined = g_strconcat(d->unbelieved, ",", token, NULL);
    g_free(d->unbelieved);
    g_free(token);
    d->unbelieved = joined;
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

gboolean sjm_journal_wants_body(const sjm_config *cfg, const sjm_txn *txn)
{
    return cfg->journal_enabled && (cfg->skip_null_sender || cfg->skip_read_reports) &&
           sjm_evidence_wants_body(txn);
}

/* Rule 3: the first mark that verifies decides; the others are named. */
static gboolean marked_upstream(const sjm_config *cfg, const sjm_txn *txn,
                                sjm_journal_decision *d)
{
    const char *evidence = NULL;
    for (guint n = count_marks(txn); n > 0; n--) {
        const char *why;
        if (sjm_mark_believed(cfg, txn, mark_value(txn, n), &why))
            evidence = why;
        else
            unbelieved(d, why, NULL);
    }
    d->evidence = evidence;
    return evidence != NULL;
}

/*
 * Rules 4 and 5: a report label is believed only with the structure of a
 * genuine report (journal_evidence.c), and a DSN only from the null sender
 * (RFC 3461 section 6.2); the null sender alone earns nothing.
 */
static const char *system_report(const sjm_config *cfg, const sjm_txn *txn,
                                 sjm_journal_decision *d)
{
    char *rt = sjm_evidence_report_type(txn);
    gboolean null_sender = *txn->sender == '\0';
    gboolean dsn_label = rt != NULL && strcmp(rt, "delivery-status") == 0;
    gboolean mdn_label = rt != NULL && strcmp(rt, "disposition-notification") == 0;
    const char *why = NULL, *result = NULL;

    if (rt != NULL && *rt == '\0' && (cfg->skip_null_sender || cfg->skip_read_reports))
        unbelieved(d, "report", "ambiguous-label");
    if (cfg->skip_null_sender && null_sender && !mdn_label) {
        if (sjm_evidence_dsn(txn, &why))
            result = "system:dsn";
        else
            unbelieved(d, dsn_label ? "dsn" : "null-sender", why);
    } else if (cfg->skip_null_sender && dsn_label) {
        unbelieved(d, "dsn", "sender-not-null");
    }
    if (result == NULL && cfg->skip_read_reports && mdn_label) {
        if (sjm_evidence_mdn(txn, &why))
            result = "system:mdn";
        else
            unbelieved(d, "mdn", why);
    }
    g_free(rt);
    return result;
}

static gboolean login_named(const sjm_config *cfg, const char *login)
{
    char *lower = g_ascii_strdown(login, -1);
    gboolean hit = FALSE;
    for (char **p = cfg->system_logins; !hit && p != NULL && *p != NULL; p++)
        hit = g_pattern_match_simple(*p, lower);
    g_free(lower);
    return hit;
}

/*
 * Rule 6: a system sender is an address anyone can type; it counts only
 * from a host the administrator names as a system source, and from an
 * authenticated session only with a login the administrator names
 * (an ordinary user on a system host stays an ordinary user).
 */
static gboolean system_sender(const sjm_config *cfg, const sjm_txn *txn,
                              sjm_journal_decision *d)
{
    if (*txn->sender == '\0' || !sjm_addr_match_any(cfg->system_senders, txn->sender))
        return FALSE;
    if (txn->auth_name != NULL && *txn->auth_name != '\0') {
        if (login_named(cfg, txn->auth_name)) {
            d->evidence = "system-login";
            return TRUE;
        }
        unbelieved(d, "system-sender", "login-not-named");
        return FALSE;
    }
    if (txn->client_addr != NULL && *txn->client_addr != '\0' &&
        sjm_netlist_contains(cfg->system_hosts, txn->client_addr)) {
        d->evidence = "system-host";
        return TRUE;
    }
    unbelieved(d, "system-sender", *txn->client_addr ? "not-a-system-host" : "local-submission");
    return FALSE;
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

    /* 3: a mark only counts when it is authenticated (journal_mark.c). */
    if (marked_upstream(cfg, txn, d)) {
        skip(d, "journaled-upstream");
        return;
    }

    /* 4, 5: reports, by their structure. */
    const char *report = system_report(cfg, txn, d);
    if (report != NULL) {
        skip(d, report);
        return;
    }

    /* 6: system senders, by their origin. */
    if (system_sender(cfg, txn, d)) {
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
    g_free(d->unbelieved);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------ verdict */

/* Tells a downstream filter not to journal again.  The host name and the
 * MAC alone: the journal mailboxes stay undisclosed to the recipients,
 * who all see this field. */
static void add_mark(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v)
{
    char *value = sjm_mark_make(cfg, txn, g_get_real_time() / G_USEC_PER_SEC);
    sjm_verdict_add_header(v, SJM_HDR_ADD, 0, SJM_JOURNAL_MARK_HEADER, value);
    g_free(value);
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
     * a downstream filter must never see a mark this host does not
     * believe.  Deleting from the last occurrence backwards keeps every
     * index right whether or not the MTA still counts a deleted field.
     */
    for (guint n = count_marks(txn); n > 0; n--) {
        const char *why;
        if (!sjm_mark_believed(cfg, txn, mark_value(txn, n), &why))
            sjm_verdict_add_header(v, SJM_HDR_CHANGE, (int)n, SJM_JOURNAL_MARK_HEADER, NULL);
    }

    sjm_journal_decision d;
    sjm_journal_decide(cfg, txn, &d);
    if (d.evidence != NULL)
        sjm_verdict_add_extra(v, "journal_evidence", d.evidence);
    if (d.unbelieved != NULL)
        sjm_verdict_add_extra(v, "journal_unbelieved", d.unbelieved);

    if (!d.add) {
        char *summary = strcmp(d.reason, "disabled") == 0
            ? g_strdup("disabled") : g_strconcat("skipped:", d.reason, NULL);
        sjm_verdict_set_journal(v, summary);
        g_free(summary);
        /* A journal mailbox addressed alongside people already archives the
         * message; without the mark, a downstream filter that gets only the
         * people's copy would journal it a second time. */
        if (strcmp(d.reason, "journal-mailbox") == 0 && has_party(cfg, txn))
            add_mark(cfg, txn, v);
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

    add_mark(cfg, txn, v);
    sjm_journal_decision_clear(&d);
}
