/*
 * journal.c - which journal mailboxes a message goes to, and how that
 * lands in the transaction's plan.
 *
 * The rules run in the order smime-journal-milter.conf(5) lists them
 * (JOURNALING DECISIONS), one row each in the table below, and the first
 * that applies decides,
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
#include "bodyhash.h"
#include "mta_file.h"
#include "journal_report.h"

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
    if (txn->client_trusted || sjm_txn_local_submission(txn))
        return NULL;
    if (!sjm_journal_is_mailbox(cfg, rcpt))
        return NULL;
    return "Recipient is a journal mailbox and accepts mail only from trusted hosts";
}

/* ------------------------------------------------------------ helpers */

static const char *mark_value(const sjm_txn *txn, guint n)
{
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) == 0 && --n == 0)
            return h->value ? h->value : "";
    }
    return "";
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

static gboolean login_named(const sjm_config *cfg, const char *login)
{
    char *lower = g_ascii_strdown(login, -1);
    gboolean hit = FALSE;
    for (char **p = cfg->system_logins; !hit && p != NULL && *p != NULL; p++)
        hit = g_pattern_match_simple(*p, lower);
    g_free(lower);
    return hit;
}

/* Recipients who are parties to the conversation (not journal mailboxes),
 * and how many of them are public folders. */
static guint count_parties(const sjm_config *cfg, const sjm_txn *txn, guint *folders)
{
    guint parties = 0;
    *folders = 0;
    for (guint i = 0; i < txn->rcpts->len; i++) {
        const char *r = g_ptr_array_index(txn->rcpts, i);
        if (sjm_journal_is_mailbox(cfg, r))
            continue;
        parties++;
        if (sjm_addr_match_any(cfg->public_folders, r))
            (*folders)++;
    }
    return parties;
}

/* ------------------------------------------------------------ the rules */

typedef enum {
    RULE_PASSES,        /* does not apply: the next rule decides */
    RULE_DECIDES,       /* applies: the plan says how */
    RULE_NEEDS_BODY     /* cannot tell before the body is there */
} rule_result;

typedef struct rule_ctx {
    const sjm_config *cfg;
    const sjm_txn *txn;
    gboolean body_ready;    /* end of message: txn->body is what there is */
} rule_ctx;

typedef struct journal_rule {
    sjm_journal_reason reason;      /* the skip it decides (NONE: not a skip) */
    rule_result (*applies)(const rule_ctx *c, sjm_plan *p);
} journal_rule;

static rule_result rule_disabled(const rule_ctx *c, sjm_plan *p)
{
    (void)p;
    return c->cfg->journal_enabled ? RULE_PASSES : RULE_DECIDES;
}

/* Nothing but journal mailboxes.  An empty recipient list is not taken
 * for that: no MTA gets there, and if one did, journaling would err on
 * the side of a copy. */
static rule_result rule_journal_mailbox(const rule_ctx *c, sjm_plan *p)
{
    guint folders;
    (void)p;
    return c->txn->rcpts->len > 0 && count_parties(c->cfg, c->txn, &folders) == 0
        ? RULE_DECIDES : RULE_PASSES;
}

/* Every mark on the message, verified once: they bind the body, so not
 * before end of message. */
static void verify_marks(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    if (p->journal.marks_checked)
        return;
    p->journal.marks_checked = TRUE;
    /* Last first: the order the header firewall deletes them in. */
    for (guint n = p->journal.mark_fields; n > 0; n--) {
        sjm_mark_check m = {.occurrence = n};
        m.believed = sjm_mark_believed(cfg, txn, mark_value(txn, n), &m.why);
        g_array_append_val(p->journal.marks, m);
    }
}

/* A mark counts only when it is authenticated and covers this body and
 * these recipients (journal_mark.c). */
static rule_result rule_upstream(const rule_ctx *c, sjm_plan *p)
{
    GArray *marks = p->journal.marks;
    if (p->journal.mark_fields == 0)
        return RULE_PASSES;
    if (!c->body_ready)
        return RULE_NEEDS_BODY;
    verify_marks(c->cfg, c->txn, p);
    for (guint i = 0; i < marks->len; i++) {
        const sjm_mark_check *m = &g_array_index(marks, sjm_mark_check, i);
        if (!m->believed)
            sjm_plan_add_unbelieved(p, SJM_LABEL_MARK, m->why);
        else
            p->journal.evidence = strcmp(m->why, "mac") == 0 ? SJM_EVIDENCE_MARK_MAC
                                                              : SJM_EVIDENCE_MARK_UNKEYED;
    }
    return p->journal.evidence != SJM_EVIDENCE_NONE ? RULE_DECIDES : RULE_PASSES;
}

static gboolean report_labelled(const sjm_txn *txn, const char *type)
{
    char *rt = sjm_evidence_report_type(txn);
    gboolean hit = rt != NULL && strcmp(rt, type) == 0;
    g_free(rt);
    return hit;
}

/*
 * A DSN is believed only with the structure of a genuine report
 * (journal_evidence.c), and only from the null sender (RFC 3461 section
 * 6.2); the null sender alone earns nothing.
 */
static rule_result rule_dsn(const rule_ctx *c, sjm_plan *p)
{
    const sjm_config *cfg = c->cfg;
    const sjm_txn *txn = c->txn;
    gboolean null_sender = *txn->sender == '\0';
    gboolean dsn_label = report_labelled(txn, "delivery-status");
    gboolean mdn_label = report_labelled(txn, "disposition-notification");

    if (cfg->skip_null_sender && null_sender && !mdn_label) {
        if (!c->body_ready && sjm_evidence_wants_body(txn))
            return RULE_NEEDS_BODY;
    }
    char *rt = sjm_evidence_report_type(txn);
    if (rt != NULL && *rt == '\0' && (cfg->skip_null_sender || cfg->skip_read_reports))
        sjm_plan_add_unbelieved(p, SJM_LABEL_REPORT, "ambiguous-label");
    g_free(rt);
    if (cfg->skip_null_sender && null_sender && !mdn_label) {
        const char *why = NULL;
        if (sjm_evidence_dsn(cfg, txn, &why)) {
            p->journal.evidence = SJM_EVIDENCE_RETURNED_MARK;
            return RULE_DECIDES;
        }
        sjm_plan_add_unbelieved(p, dsn_label ? SJM_LABEL_DSN : SJM_LABEL_NULL_SENDER, why);
    } else if (cfg->skip_null_sender && dsn_label) {
        sjm_plan_add_unbelieved(p, SJM_LABEL_DSN, "sender-not-null");
    }
    return RULE_PASSES;
}

static rule_result rule_mdn(const rule_ctx *c, sjm_plan *p)
{
    if (!c->cfg->skip_read_reports || !report_labelled(c->txn, "disposition-notification"))
        return RULE_PASSES;
    if (!c->body_ready)
        return RULE_NEEDS_BODY;
    const char *why = NULL;
    if (sjm_evidence_mdn(c->cfg, c->txn, &why)) {
        p->journal.evidence = SJM_EVIDENCE_RETURNED_MARK;
        return RULE_DECIDES;
    }
    sjm_plan_add_unbelieved(p, SJM_LABEL_MDN, why);
    return RULE_PASSES;
}

/*
 * A system sender is an address anyone can type; it counts only from a
 * host the administrator names as a system source, and from an
 * authenticated session only with a login the administrator names (an
 * ordinary user on a system host stays an ordinary user).
 */
static rule_result rule_system_sender(const rule_ctx *c, sjm_plan *p)
{
    const sjm_config *cfg = c->cfg;
    const sjm_txn *txn = c->txn;
    if (*txn->sender == '\0' || !sjm_addr_match_any(cfg->system_senders, txn->sender))
        return RULE_PASSES;
    if (txn->auth_name != NULL && *txn->auth_name != '\0') {
        if (login_named(cfg, txn->auth_name)) {
            p->journal.evidence = SJM_EVIDENCE_SYSTEM_LOGIN;
            return RULE_DECIDES;
        }
        sjm_plan_add_unbelieved(p, SJM_LABEL_SYSTEM_SENDER, "login-not-named");
        return RULE_PASSES;
    }
    gboolean local = sjm_txn_local_submission(txn);
    if (!local && sjm_netlist_contains(cfg->system_hosts, txn->client_addr)) {
        p->journal.evidence = SJM_EVIDENCE_SYSTEM_HOST;
        return RULE_DECIDES;
    }
    sjm_plan_add_unbelieved(p, SJM_LABEL_SYSTEM_SENDER,
                            local ? "local-submission" : "not-a-system-host");
    return RULE_PASSES;
}

/* A post that reaches a person as well is interpersonal mail. */
static rule_result rule_public_folder(const rule_ctx *c, sjm_plan *p)
{
    guint folders, parties = count_parties(c->cfg, c->txn, &folders);
    (void)p;
    return parties > 0 && folders == parties ? RULE_DECIDES : RULE_PASSES;
}

static rule_result rule_out_of_scope(const rule_ctx *c, sjm_plan *p)
{
    (void)p;
    return in_scope(c->cfg, c->txn) ? RULE_PASSES : RULE_DECIDES;
}

/* In the order of smime-journal-milter.conf(5), JOURNALING DECISIONS. */
static const journal_rule rules[] = {
    {SJM_SKIP_NONE, rule_disabled},
    {SJM_SKIP_JOURNAL_MAILBOX, rule_journal_mailbox},
    {SJM_SKIP_UPSTREAM, rule_upstream},
    {SJM_SKIP_DSN, rule_dsn},
    {SJM_SKIP_MDN, rule_mdn},
    {SJM_SKIP_SYSTEM_SENDER, rule_system_sender},
    {SJM_SKIP_PUBLIC_FOLDER, rule_public_folder},
    {SJM_SKIP_OUT_OF_SCOPE, rule_out_of_scope},
};

static void skip(sjm_plan *p, sjm_journal_reason reason)
{
    p->journal.status = reason == SJM_SKIP_NONE ? SJM_JOURNAL_DISABLED : SJM_JOURNAL_SKIPPED;
    p->journal.reason = reason;
}

/* The last rule: every journal mailbox that applies. */
static void choose_mailboxes(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    GPtrArray *chosen = p->journal.mailboxes;
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
        p->journal.status = SJM_JOURNAL_ADDED;
        return;
    }
    /* Only sites configured and none touched: the message lies outside
     * every journal's scope.  Otherwise every applicable journal mailbox
     * is already an envelope recipient and receives the message as such. */
    skip(p, applies ? SJM_SKIP_JOURNAL_MAILBOX : SJM_SKIP_OUT_OF_SCOPE);
}

/* Run the rules from where the plan stands; FALSE while one waits for the body. */
static gboolean run_rules(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p,
                          gboolean body_ready)
{
    rule_ctx c = {.cfg = cfg, .txn = txn, .body_ready = body_ready};
    sjm_journal_plan *j = &p->journal;
    for (; j->next_rule < G_N_ELEMENTS(rules); j->next_rule++) {
        rule_result r = rules[j->next_rule].applies(&c, p);
        if (r == RULE_NEEDS_BODY)
            return FALSE;
        if (r == RULE_DECIDES) {
            skip(p, rules[j->next_rule].reason);
            j->decided = TRUE;
            return TRUE;
        }
    }
    choose_mailboxes(cfg, txn, p);
    j->decided = TRUE;
    return TRUE;
}

/* ------------------------------------------------------------ the plan */

void sjm_journal_open(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) == 0)
            p->journal.mark_fields++;
    }
    gboolean waiting = !run_rules(cfg, txn, p, FALSE);
    sjm_journal_plan *j = &p->journal;
    /* The digest is wanted where a mark is verified or written: marks on
     * the message, a copy for the journal (or no decision yet), or a
     * journal mailbox among the recipients (marked for the others). */
    p->body_for_digest = j->mark_fields > 0
        || (cfg->journal_enabled
            && (waiting || j->status == SJM_JOURNAL_ADDED
                || (j->status == SJM_JOURNAL_SKIPPED && j->reason == SJM_SKIP_JOURNAL_MAILBOX)));
    /* Waiting for the digest (a mark) needs no stored body, unless a
     * report rule after it will read the report's structure. */
    p->body_for_journal = waiting
        && (rules[j->next_rule].applies != rule_upstream
            || ((cfg->skip_null_sender || cfg->skip_read_reports) && sjm_evidence_wants_body(txn)));
}

void sjm_journal_decide(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    if (!p->opened) {
        sjm_journal_open(cfg, txn, p);
        p->opened = TRUE;
    }
    if (!p->journal.decided)
        run_rules(cfg, txn, p, TRUE);
}

gboolean sjm_journal_wants_body(const sjm_plan *p)
{
    return p->body_for_journal;
}

gboolean sjm_journal_may_add(const sjm_plan *p)
{
    return !p->journal.decided || p->journal.status == SJM_JOURNAL_ADDED;
}

/* Tells a downstream filter not to journal again.  The host name, the
 * body digest, recipient tags and the MAC: the journal mailboxes and the
 * Bcc recipients stay undisclosed to the recipients, who all see this
 * field.  The digest is that of the body as delivered. */
static void add_mark(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    guchar stripped[SJM_BODYHASH_LEN];
    const guchar *digest = txn->has_body_digest ? txn->body_digest : NULL;
    if (p->new_body != NULL)
        digest = sjm_bodyhash_spool(p->new_body, stripped) ? stripped : NULL;
    /* The header as delivered: the edits made so far (Authentication-
     * Results, stripped Content-* fields, strangers' marks removed). */
    sjm_mta_file *m = sjm_mta_file_from_headers(txn->headers);
    sjm_edits_apply(p->header_edits, &sjm_mta_file_ops, m, FALSE);
    GPtrArray *delivered = sjm_mta_file_header_list(m);
    sjm_mta_file_free(m);
    char *value = sjm_mark_make(cfg, delivered, digest, txn->rcpts, g_get_real_time() / G_USEC_PER_SEC);
    g_ptr_array_free(delivered, TRUE);
    sjm_plan_add_header(p, SJM_HDR_ADD, 0, SJM_JOURNAL_MARK_HEADER, value);
    g_free(value);
}

static gboolean has_party(const sjm_config *cfg, const sjm_txn *txn)
{
    guint folders;
    return count_parties(cfg, txn, &folders) > 0;
}

void sjm_journal_finish(const sjm_config *cfg, const sjm_txn *txn, sjm_plan *p)
{
    /*
     * Header firewall, whatever the decision (even with journaling off):
     * a downstream filter must never see a mark this host does not
     * believe.  Deleting from the last occurrence backwards keeps every
     * index right whether or not the MTA still counts a deleted field.
     */
    sjm_journal_decide(cfg, txn, p);
    verify_marks(cfg, txn, p);
    for (guint i = 0; i < p->journal.marks->len; i++) {
        const sjm_mark_check *m = &g_array_index(p->journal.marks, sjm_mark_check, i);
        if (!m->believed)
            sjm_plan_add_header(p, SJM_HDR_CHANGE, (int)m->occurrence, SJM_JOURNAL_MARK_HEADER, NULL);
    }

    if (p->journal.status != SJM_JOURNAL_ADDED) {
        /* A journal mailbox addressed alongside people already archives the
         * message; without the mark, a downstream filter that gets only the
         * people's copy would journal it a second time. */
        if (p->journal.status == SJM_JOURNAL_SKIPPED
            && p->journal.reason == SJM_SKIP_JOURNAL_MAILBOX && has_party(cfg, txn))
            add_mark(cfg, txn, p);
        return;
    }
    for (guint i = 0; i < p->journal.mailboxes->len; i++)
        sjm_plan_add_rcpt(p, g_ptr_array_index(p->journal.mailboxes, i),
                          cfg->notify_never ? "NOTIFY=NEVER" : NULL);
    /* Before the mark, so the mark binds the identity as delivered. */
    sjm_journal_add_message_id(cfg, txn, p);
    add_mark(cfg, txn, p);
}
