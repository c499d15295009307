/*
 * metrics_plan.c - the metrics event of one finished transaction, read
 * from its typed plan (plan.h): one case per enum value, no log text.
 * The metrics keep names of their own (metrics.h) because Prometheus
 * labels are a published interface that must not follow a rename in the
 * core; the compiler checks that every plan value is mapped.
 */
#include <string.h>
#include "config.h"
#include "metrics.h"
#include "txn.h"

static sjm_metrics_signature signature_of(sjm_signature_outcome o)
{
    switch (o) {
    case SJM_SIGNATURE_NONE: return SJM_METRICS_SIG_NONE;
    case SJM_SIGNATURE_PRESERVED: return SJM_METRICS_SIG_PRESERVED;
    case SJM_SIGNATURE_STRIPPED: return SJM_METRICS_SIG_STRIPPED;
    case SJM_SIGNATURE_ENCRYPTED: return SJM_METRICS_SIG_ENCRYPTED;
    case SJM_SIGNATURE_MALFORMED: return SJM_METRICS_SIG_MALFORMED;
    case SJM_SIGNATURE_SKIPPED: return SJM_METRICS_SIG_SKIPPED;
    case SJM_SIGNATURE_ERROR:
    case SJM_SIGNATURE_COUNT: break;
    }
    return SJM_METRICS_SIG_ERROR;
}

static sjm_metrics_journal journal_of(sjm_journal_status s)
{
    switch (s) {
    case SJM_JOURNAL_ADDED: return SJM_METRICS_JOURNAL_ADDED;
    case SJM_JOURNAL_SKIPPED: return SJM_METRICS_JOURNAL_SKIPPED;
    case SJM_JOURNAL_DISABLED: return SJM_METRICS_JOURNAL_DISABLED;
    case SJM_JOURNAL_FAILED: return SJM_METRICS_JOURNAL_FAILED;
    case SJM_JOURNAL_FAILED_ACCEPTED: return SJM_METRICS_JOURNAL_FAILED_ACCEPTED;
    case SJM_JOURNAL_STATUS_COUNT: break;
    }
    return SJM_METRICS_JOURNAL_SKIPPED;
}

static sjm_metrics_reason reason_of(sjm_journal_reason r)
{
    switch (r) {
    case SJM_SKIP_NONE: return SJM_METRICS_REASON_NONE;
    case SJM_SKIP_JOURNAL_MAILBOX: return SJM_METRICS_REASON_JOURNAL_MAILBOX;
    case SJM_SKIP_UPSTREAM: return SJM_METRICS_REASON_JOURNALED_UPSTREAM;
    case SJM_SKIP_DSN: return SJM_METRICS_REASON_SYSTEM_DSN;
    case SJM_SKIP_MDN: return SJM_METRICS_REASON_SYSTEM_MDN;
    case SJM_SKIP_SYSTEM_SENDER: return SJM_METRICS_REASON_SYSTEM_SENDER;
    case SJM_SKIP_PUBLIC_FOLDER: return SJM_METRICS_REASON_PUBLIC_FOLDER;
    case SJM_SKIP_OUT_OF_SCOPE: return SJM_METRICS_REASON_OUT_OF_SCOPE;
    case SJM_SKIP_TEMPFAIL: return SJM_METRICS_REASON_TEMPFAIL;
    case SJM_SKIP_NO_RECIPIENTS: return SJM_METRICS_REASON_NO_RECIPIENTS;
    case SJM_SKIP_COUNT: break;
    }
    return SJM_METRICS_REASON_OTHER;
}

static sjm_metrics_reinject reinject_of(sjm_extra_kind k)
{
    switch (k) {
    case SJM_EXTRA_REPORT: return SJM_METRICS_REINJECT_REPORT;
    case SJM_EXTRA_JOURNAL_ORIGINAL: return SJM_METRICS_REINJECT_JOURNAL_ORIGINAL;
    case SJM_EXTRA_SPLIT:
    case SJM_EXTRA_COUNT: break;
    }
    return SJM_METRICS_REINJECT_SPLIT;
}

static sjm_metrics_tempfail tempfail_of(sjm_refusal r)
{
    switch (r) {
    case SJM_REFUSAL_JOURNAL_RCPT: return SJM_METRICS_TEMPFAIL_JOURNAL_RECIPIENT;
    case SJM_REFUSAL_JOURNAL_SUBMIT:
    case SJM_REFUSAL_SPLIT_SUBMIT: return SJM_METRICS_TEMPFAIL_REINJECT;
    case SJM_REFUSAL_EDIT_FAILED: return SJM_METRICS_TEMPFAIL_EDIT;
    case SJM_REFUSAL_LEDGER: return SJM_METRICS_TEMPFAIL_LEDGER;
    case SJM_REFUSAL_NONE:
    case SJM_REFUSAL_INTERNAL:
    case SJM_REFUSAL_NO_RECIPIENTS:
    case SJM_REFUSAL_COUNT: break;
    }
    return SJM_METRICS_TEMPFAIL_INTERNAL;
}

void sjm_metrics_record_plan(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p,
                             guint64 body_bytes, gint64 eom_us)
{
    (void)cfg;
    if (!sjm_metrics_enabled())
        return;
    sjm_metrics_event e = {0};
    e.signature = signature_of(p->sig.outcome);
    e.journal = journal_of(p->journal.status);
    e.reason = p->journal.status == SJM_JOURNAL_SKIPPED ? reason_of(p->journal.reason)
                                                       : SJM_METRICS_REASON_NONE;
    e.eom_us = eom_us;
    e.rejected = p->action == SJM_ACTION_REJECT;
    /* Copies count only when the message goes on. */
    if (p->journal.status == SJM_JOURNAL_ADDED && p->action == SJM_ACTION_CONTINUE) {
        e.journal_copies = p->journal.mailboxes->len;
        guint64 bytes = 2 + body_bytes;
        for (guint i = 0; i < txn->headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i);
            bytes += strlen(h->name) + 2 + (h->value ? strlen(h->value) : 0) + 2;
        }
        e.journal_bytes = bytes * e.journal_copies;
    }
    for (guint i = 0; i < p->sig.results->len; i++) {
        const sjm_verify_result *r = g_ptr_array_index(p->sig.results, i);
        if ((guint)r->code < SJM_METRICS_VERIFY_COUNT)
            e.verify[r->code]++;
    }
    for (guint i = 0; i < p->extras->len; i++) {
        const sjm_extra_message *m = g_ptr_array_index(p->extras, i);
        if (m->status == SJM_EXTRA_SUBMITTED || m->status == SJM_EXTRA_FAILED)
            e.reinject_attempts[reinject_of(m->kind)]++;
        if (m->status == SJM_EXTRA_FAILED)
            e.reinject_failures[reinject_of(m->kind)]++;
    }
    if (p->action == SJM_ACTION_TEMPFAIL)
        e.tempfail = tempfail_of(p->refusal);
    sjm_metrics_record(&e);
}
