/*
 * summary.c - the per-message summary line (fields documented in
 * summary.h), formatted once from the finished plan.  The log line and
 * --inspect print the same text, so an administrator can reproduce a
 * logged decision with --inspect and compare the two lines field for
 * field.
 */
#include <string.h>
#include "summary.h"

static void field(GString *line, const char *key, const char *value)
{
    g_string_append_printf(line, " %s=%s", key, value);
}

/* One log token from free text: no spaces, never empty. */
static void add_token(GString *s, const char *item, char sep)
{
    if (s->len > 0)
        g_string_append_c(s, sep);
    for (const char *p = item != NULL && *item ? item : "-"; *p; p++)
        g_string_append_c(s, (*p == ' ' || *p == ',' || *p == '=' || (guchar)*p < ' ') ? '_' : *p);
}

static void verify_fields(GString *line, const sjm_signature_plan *sig)
{
    if (sig->authres_removed > 0) {
        char *n = g_strdup_printf("%u", sig->authres_removed);
        field(line, "authres_removed", n);
        g_free(n);
    }
    if (sig->verify == SJM_VERIFY_STATE_OFF)
        return;
    if (sig->verify != SJM_VERIFY_STATE_RESULTS) {
        field(line, "verify", sjm_verify_state_name(sig->verify));
        return;
    }
    GString *codes = g_string_new(NULL), *reasons = g_string_new(NULL),
            *signers = g_string_new(NULL), *parts = g_string_new(NULL);
    gboolean any_signer = FALSE;
    for (guint i = 0; i < sig->results->len; i++) {
        const sjm_verify_result *r = g_ptr_array_index(sig->results, i);
        add_token(codes, sjm_verify_code_name(r->code), ',');
        add_token(reasons, r->reason, ',');
        add_token(signers, r->identifier, ',');
        add_token(parts, r->part, ',');
        any_signer = any_signer || r->identifier != NULL;
    }
    field(line, "verify", codes->str);
    field(line, "verify_reason", reasons->str);
    field(line, "verify_part", parts->str);
    field(line, "verify_signer", signers->str);
    field(line, "verify_from", !any_signer ? "unknown" : sig->signer_in_from ? "match" : "mismatch");
    g_string_free(codes, TRUE);
    g_string_free(reasons, TRUE);
    g_string_free(signers, TRUE);
    g_string_free(parts, TRUE);
}

static void journal_fields(GString *line, const sjm_journal_plan *j)
{
    if (j->evidence != SJM_EVIDENCE_NONE)
        field(line, "journal_evidence", sjm_journal_evidence_name(j->evidence));
    if (j->unbelieved->len == 0)
        return;
    GString *u = g_string_new(NULL);
    for (guint i = 0; i < j->unbelieved->len; i++) {
        const sjm_unbelieved *b = &g_array_index(j->unbelieved, sjm_unbelieved, i);
        g_string_append_printf(u, "%s%s%s%s", i ? "," : "", sjm_journal_label_name(b->label),
                               b->why ? ":" : "", b->why ? b->why : "");
    }
    field(line, "journal_unbelieved", u->str);
    g_string_free(u, TRUE);
}

static void extra_fields(GString *line, const sjm_plan *p)
{
    if (p->problems & SJM_PROBLEM_NO_ORIGINAL_BODY)
        field(line, "reinject_error", "no-original-body");
    GString *done = g_string_new(NULL);
    for (guint i = 0; i < p->extras->len; i++) {
        const sjm_extra_message *m = g_ptr_array_index(p->extras, i);
        if (m->status == SJM_EXTRA_FAILED) {
            char *why = g_strdelimit(g_strdup(m->error ? m->error : "unknown"), " ", '-');
            field(line, "reinject_error", why);
            g_free(why);
        } else if (m->status == SJM_EXTRA_SUBMITTED || m->status == SJM_EXTRA_DESCRIBED) {
            g_string_append_printf(done, "%s%s%s:%u", done->len ? "," : "",
                                   m->status == SJM_EXTRA_DESCRIBED ? "would-" : "",
                                   sjm_extra_kind_name(m->kind), m->rcpts->len);
        }
    }
    if (done->len)
        field(line, "reinject", done->str);
    g_string_free(done, TRUE);
    if (p->problems & SJM_PROBLEM_EDIT_FAILED)
        field(line, "error", "edit-failed");
}

char *sjm_summary_fields(const sjm_plan *p)
{
    GString *line = g_string_new(NULL);
    if (p->sig.outcome == SJM_SIGNATURE_MALFORMED && p->sig.malformed_why != NULL) {
        /* One token, so the log line stays key=value parseable. */
        char *why = g_strdelimit(g_strdup(p->sig.malformed_why), " ", '-');
        field(line, "smime_error", why);
        g_free(why);
    }
    verify_fields(line, &p->sig);
    journal_fields(line, &p->journal);
    extra_fields(line, p);
    return g_string_free(line, FALSE);
}

char *sjm_summary_line(const sjm_txn *txn, const sjm_plan *p, gint64 elapsed_us,
                       gboolean with_envelope)
{
    GString *line = g_string_new(NULL);
    char *signature = sjm_plan_signature_token(p);
    char *journal = sjm_plan_journal_token(p);

    if (with_envelope)
        g_string_append_printf(line, "from=<%s> rcpts=%u ", txn->sender, txn->rcpts->len);
    g_string_append_printf(line, "signature=%s journal=%s", signature, journal);
    g_free(signature);
    g_free(journal);
    if (p->action != SJM_ACTION_CONTINUE) {
        const char *code, *xcode, *text;
        sjm_plan_reply(p, &code, &xcode, &text);
        g_string_append_printf(line, " action=%s reply=\"%s %s %s\"",
                               p->action == SJM_ACTION_TEMPFAIL ? "tempfail" : "reject",
                               code, xcode, text);
    }
    for (guint i = 0; i < p->rcpt_adds->len; i++) {
        const sjm_rcpt_add *r = g_ptr_array_index(p->rcpt_adds, i);
        g_string_append_printf(line, " add_rcpt=<%s>%s%s", r->addr,
                               r->esmtp_args ? ":" : "", r->esmtp_args ? r->esmtp_args : "");
    }
    for (guint i = 0; i < p->rcpt_dels->len; i++)
        g_string_append_printf(line, " del_rcpt=<%s>", (const char *)g_ptr_array_index(p->rcpt_dels, i));
    for (guint i = 0; i < txn->refused->len; i++)
        g_string_append_printf(line, " rcpt_refused=%s", (const char *)g_ptr_array_index(txn->refused, i));
    char *fields = sjm_summary_fields(p);
    g_string_append(line, fields);
    g_free(fields);
    g_string_append_printf(line, " time=%.3fms", (double)elapsed_us / 1000.0);
    return g_string_free(line, FALSE);
}
