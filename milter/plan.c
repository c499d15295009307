/*
 * plan.c - the typed plan of a transaction (plan.h): construction, the
 * edit helpers, the one refusal table and the one table of names per
 * enum, from which the summary line and the --stats counters take their
 * tokens.
 */
#include <string.h>
#include "plan.h"
#include "journal_report.h"

/* ------------------------------------------------------------ names */

#define NAME(table, i) ((guint)(i) < G_N_ELEMENTS(table) && (table)[i] ? (table)[i] : "?")

static const char *const signature_names[SJM_SIGNATURE_COUNT] = {
    [SJM_SIGNATURE_NONE] = "none",
    [SJM_SIGNATURE_PRESERVED] = "preserved",
    [SJM_SIGNATURE_STRIPPED] = "stripped",
    [SJM_SIGNATURE_ENCRYPTED] = "encrypted",
    [SJM_SIGNATURE_MALFORMED] = "malformed",
    [SJM_SIGNATURE_SKIPPED] = "skipped",
    [SJM_SIGNATURE_ERROR] = "error",
};

static const char *const verify_state_names[SJM_VERIFY_STATE_COUNT] = {
    [SJM_VERIFY_STATE_OFF] = "off",
    [SJM_VERIFY_STATE_NONE] = "none",
    [SJM_VERIFY_STATE_SKIPPED] = "skipped",
    [SJM_VERIFY_STATE_MALFORMED] = "malformed",
    [SJM_VERIFY_STATE_RESULTS] = "results",
};

static const char *const status_names[SJM_JOURNAL_STATUS_COUNT] = {
    [SJM_JOURNAL_ADDED] = "added",
    [SJM_JOURNAL_SKIPPED] = "skipped",
    [SJM_JOURNAL_DISABLED] = "disabled",
    [SJM_JOURNAL_FAILED] = "failed",
    [SJM_JOURNAL_FAILED_ACCEPTED] = "failed:accepted-unjournaled",
};

static const char *const reason_names[SJM_SKIP_COUNT] = {
    [SJM_SKIP_NONE] = "none",
    [SJM_SKIP_JOURNAL_MAILBOX] = "journal-mailbox",
    [SJM_SKIP_UPSTREAM] = "journaled-upstream",
    [SJM_SKIP_DSN] = "system:dsn",
    [SJM_SKIP_MDN] = "system:mdn",
    [SJM_SKIP_SYSTEM_SENDER] = "system:sender",
    [SJM_SKIP_PUBLIC_FOLDER] = "public-folder",
    [SJM_SKIP_OUT_OF_SCOPE] = "out-of-scope",
    [SJM_SKIP_TEMPFAIL] = "tempfail",
    [SJM_SKIP_NO_RECIPIENTS] = "no-recipients",
};

static const char *const evidence_names[SJM_EVIDENCE_COUNT] = {
    [SJM_EVIDENCE_NONE] = "none",
    [SJM_EVIDENCE_SYSTEM_HOST] = "system-host",
    [SJM_EVIDENCE_SYSTEM_LOGIN] = "system-login",
    [SJM_EVIDENCE_MARK_MAC] = "mark:mac",
    [SJM_EVIDENCE_MARK_UNKEYED] = "mark:unkeyed-trusted-client",
    [SJM_EVIDENCE_RETURNED_MARK] = "returned-mark:mac",
};

static const char *const label_names[SJM_LABEL_COUNT] = {
    [SJM_LABEL_REPORT] = "report",
    [SJM_LABEL_DSN] = "dsn",
    [SJM_LABEL_NULL_SENDER] = "null-sender",
    [SJM_LABEL_MDN] = "mdn",
    [SJM_LABEL_SYSTEM_SENDER] = "system-sender",
    [SJM_LABEL_MARK] = "mark",
};

static const char *const extra_names[SJM_EXTRA_COUNT] = {
    [SJM_EXTRA_REPORT] = "report",
    [SJM_EXTRA_JOURNAL_ORIGINAL] = "journal-original",
    [SJM_EXTRA_SPLIT] = "split",
};

/* Each cause's reply: the text says what the client can do about it. */
static const struct {
    const char *name;
    const char *code, *xcode, *text;
} refusals[SJM_REFUSAL_COUNT] = {
    [SJM_REFUSAL_NONE] = {"none", NULL, NULL, NULL},
    [SJM_REFUSAL_INTERNAL] = {"internal", "451", "4.3.0",
                              "Temporary filter failure, please try again later"},
    [SJM_REFUSAL_EDIT_FAILED] = {"edit-failed", "451", "4.3.0",
                                 "Temporary filter failure, please try again later"},
    [SJM_REFUSAL_JOURNAL_RCPT] = {"journal-rcpt", "451", "4.3.0",
                                  "Cannot add the journal recipient, please try again later"},
    [SJM_REFUSAL_JOURNAL_SUBMIT] = {"journal-submit", "451", "4.3.0",
                                    "Journaling failed, please try again later"},
    [SJM_REFUSAL_SPLIT_SUBMIT] = {"split-submit", "451", "4.3.0",
                                  "Temporary filter failure, please try again later"},
    [SJM_REFUSAL_NO_RECIPIENTS] = {"no-recipients", "554", "5.5.1", "No valid recipients"},
    [SJM_REFUSAL_LEDGER] = {"ledger", "451", "4.3.0",
                            "Cannot record the message in the journal ledger, please try again later"},
};

const char *sjm_signature_outcome_name(sjm_signature_outcome o) { return NAME(signature_names, o); }
const char *sjm_verify_state_name(sjm_verify_state s) { return NAME(verify_state_names, s); }
const char *sjm_journal_status_name(sjm_journal_status s) { return NAME(status_names, s); }
const char *sjm_journal_reason_name(sjm_journal_reason r) { return NAME(reason_names, r); }
const char *sjm_journal_evidence_name(sjm_journal_evidence e) { return NAME(evidence_names, e); }
const char *sjm_journal_label_name(sjm_journal_label l) { return NAME(label_names, l); }
const char *sjm_extra_kind_name(sjm_extra_kind k) { return NAME(extra_names, k); }

const char *sjm_refusal_name(sjm_refusal r)
{
    return (guint)r < SJM_REFUSAL_COUNT ? refusals[r].name : "?";
}

char *sjm_plan_signature_token(const sjm_plan *p)
{
    if (p->sig.outcome != SJM_SIGNATURE_STRIPPED)
        return g_strdup(sjm_signature_outcome_name(p->sig.outcome));
    return g_strdup_printf("stripped(%s%s%s)", p->sig.detached ? "detached" : "",
                           p->sig.detached && p->sig.opaque ? "," : "",
                           p->sig.opaque ? "opaque" : "");
}

char *sjm_plan_journal_token(const sjm_plan *p)
{
    const sjm_journal_plan *j = &p->journal;
    switch (j->status) {
    case SJM_JOURNAL_ADDED: {
        GString *s = g_string_new("added:");
        for (guint i = 0; j->mailboxes != NULL && i < j->mailboxes->len; i++)
            g_string_append_printf(s, "%s%s", i ? "," : "",
                                   (const char *)g_ptr_array_index(j->mailboxes, i));
        return g_string_free(s, FALSE);
    }
    case SJM_JOURNAL_SKIPPED:
        return g_strconcat("skipped:", sjm_journal_reason_name(j->reason), NULL);
    default:
        return g_strdup(sjm_journal_status_name(j->status));
    }
}

/* ------------------------------------------------------------ the plan */

static void free_edit(gpointer p)
{
    sjm_header_edit *e = p;
    g_free(e->name);
    g_free(e->value);
    g_free(e);
}

static void free_rcpt_add(gpointer p)
{
    sjm_rcpt_add *r = p;
    g_free(r->addr);
    g_free(r->esmtp_args);
    g_free(r);
}

static void free_result(gpointer p)
{
    sjm_verify_result_clear(p);
    g_free(p);
}

GPtrArray *sjm_edits_new(void)
{
    return g_ptr_array_new_with_free_func(free_edit);
}

sjm_plan *sjm_plan_new(void)
{
    sjm_plan *p = g_new0(sjm_plan, 1);
    p->action = SJM_ACTION_CONTINUE;
    p->header_edits = sjm_edits_new();
    p->rcpt_adds = g_ptr_array_new_with_free_func(free_rcpt_add);
    p->rcpt_dels = g_ptr_array_new_with_free_func(g_free);
    p->extras = g_ptr_array_new_with_free_func((GDestroyNotify)sjm_extra_free);
    p->sig.results = g_ptr_array_new_with_free_func(free_result);
    p->journal.status = SJM_JOURNAL_DISABLED;
    p->journal.unbelieved = g_array_new(FALSE, FALSE, sizeof(sjm_unbelieved));
    p->journal.marks = g_array_new(FALSE, FALSE, sizeof(sjm_mark_check));
    p->journal.mailboxes = g_ptr_array_new_with_free_func(g_free);
    return p;
}

void sjm_plan_free(sjm_plan *p)
{
    if (p == NULL)
        return;
    g_ptr_array_free(p->header_edits, TRUE);
    g_ptr_array_free(p->rcpt_adds, TRUE);
    g_ptr_array_free(p->rcpt_dels, TRUE);
    sjm_spool_free(p->new_body);
    if (p->split_rcpts)
        g_ptr_array_free(p->split_rcpts, TRUE);
    if (p->split_edits)
        g_ptr_array_free(p->split_edits, TRUE);
    sjm_spool_free(p->split_body);
    g_ptr_array_free(p->extras, TRUE);
    g_free(p->message_id_added);
    g_ptr_array_free(p->sig.results, TRUE);
    g_array_free(p->journal.unbelieved, TRUE);
    g_array_free(p->journal.marks, TRUE);
    g_ptr_array_free(p->journal.mailboxes, TRUE);
    g_free(p);
}

void sjm_edits_add(GPtrArray *edits, sjm_header_op op, int index,
                   const char *name, const char *value)
{
    sjm_header_edit *e = g_new(sjm_header_edit, 1);
    e->op = op;
    e->index = index;
    e->name = g_strdup(name);
    e->value = g_strdup(value);
    g_ptr_array_add(edits, e);
}

void sjm_plan_add_header(sjm_plan *p, sjm_header_op op, int index,
                         const char *name, const char *value)
{
    sjm_edits_add(p->header_edits, op, index, name, value);
}

void sjm_plan_add_rcpt(sjm_plan *p, const char *addr, const char *esmtp_args)
{
    sjm_rcpt_add *r = g_new(sjm_rcpt_add, 1);
    r->addr = g_strdup(addr);
    r->esmtp_args = g_strdup(esmtp_args);
    g_ptr_array_add(p->rcpt_adds, r);
}

void sjm_plan_del_rcpt(sjm_plan *p, const char *addr)
{
    g_ptr_array_add(p->rcpt_dels, g_strdup(addr));
}

static void refuse(sjm_plan *p, sjm_action action, sjm_refusal cause)
{
    if (p->action != SJM_ACTION_CONTINUE)
        return;
    p->action = action;
    p->refusal = cause;
}

void sjm_plan_tempfail(sjm_plan *p, sjm_refusal cause)
{
    refuse(p, SJM_ACTION_TEMPFAIL, cause);
}

void sjm_plan_reject(sjm_plan *p, sjm_refusal cause)
{
    refuse(p, SJM_ACTION_REJECT, cause);
}

void sjm_plan_reply(const sjm_plan *p, const char **code, const char **xcode,
                    const char **text)
{
    sjm_refusal r = (guint)p->refusal < SJM_REFUSAL_COUNT ? p->refusal : SJM_REFUSAL_INTERNAL;
    if (r == SJM_REFUSAL_NONE)
        r = SJM_REFUSAL_INTERNAL;
    *code = refusals[r].code;
    *xcode = refusals[r].xcode;
    *text = refusals[r].text;
}

void sjm_plan_add_unbelieved(sjm_plan *p, sjm_journal_label label, const char *why)
{
    sjm_unbelieved u = {.label = label, .why = why};
    g_array_append_val(p->journal.unbelieved, u);
}

void sjm_plan_reset_signature(sjm_plan *p, sjm_signature_outcome outcome)
{
    g_ptr_array_set_size(p->header_edits, 0);
    sjm_spool_free(p->new_body);
    p->new_body = NULL;
    if (p->split_edits)
        g_ptr_array_set_size(p->split_edits, 0);
    sjm_spool_free(p->split_body);
    p->split_body = NULL;
    g_ptr_array_set_size(p->sig.results, 0);
    p->sig.outcome = outcome;
    p->sig.detached = p->sig.opaque = 0;
}

/* ------------------------------------------------------------ extras */

sjm_extra_message *sjm_extra_new(sjm_extra_kind kind, const char *sender,
                                 const char *rcpt_args)
{
    sjm_extra_message *m = g_new0(sjm_extra_message, 1);
    m->kind = kind;
    m->status = SJM_EXTRA_PLANNED;
    m->sender = g_strdup(sender);
    m->rcpts = g_ptr_array_new_with_free_func(g_free);
    m->rcpt_args = rcpt_args;
    return m;
}

void sjm_extra_free(sjm_extra_message *m)
{
    if (m == NULL)
        return;
    g_free(m->sender);
    g_ptr_array_free(m->rcpts, TRUE);
    if (m->headers)
        g_string_free(m->headers, TRUE);
    sjm_spool_free(m->owned_body);
    sjm_report_free(m->report);
    g_free(m->error);
    g_free(m);
}
