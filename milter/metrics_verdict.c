/*
 * metrics_verdict.c - the typed metrics event of one transaction, from
 * the verdict as the core leaves it today (its signature and journal
 * summary values and the verify/reinject fields).  A stopgap with one
 * caller, sjm_session_eom: once the core produces a typed plan, the
 * event is filled from the plan's enums and this file goes.
 */
#include <string.h>
#include "config.h"
#include "metrics.h"
#include "txn.h"

static sjm_metrics_signature signature_of(const char *s)
{
    static const struct { const char *prefix; sjm_metrics_signature v; } map[] = {
        {"none", SJM_METRICS_SIG_NONE},           {"preserved", SJM_METRICS_SIG_PRESERVED},
        {"stripped", SJM_METRICS_SIG_STRIPPED},   {"encrypted", SJM_METRICS_SIG_ENCRYPTED},
        {"malformed", SJM_METRICS_SIG_MALFORMED}, {"skipped", SJM_METRICS_SIG_SKIPPED},
    };
    for (guint i = 0; s && i < G_N_ELEMENTS(map); i++)
        if (g_str_has_prefix(s, map[i].prefix))
            return map[i].v;
    return SJM_METRICS_SIG_ERROR;
}

static sjm_metrics_reason reason_of(const char *r)
{
    static const struct { const char *name; sjm_metrics_reason v; } map[] = {
        {"journal-mailbox", SJM_METRICS_REASON_JOURNAL_MAILBOX},
        {"journaled-upstream", SJM_METRICS_REASON_JOURNALED_UPSTREAM},
        {"system:dsn", SJM_METRICS_REASON_SYSTEM_DSN},
        {"system:mdn", SJM_METRICS_REASON_SYSTEM_MDN},
        {"system:sender", SJM_METRICS_REASON_SYSTEM_SENDER},
        {"public-folder", SJM_METRICS_REASON_PUBLIC_FOLDER},
        {"out-of-scope", SJM_METRICS_REASON_OUT_OF_SCOPE},
        {"no-recipients", SJM_METRICS_REASON_NO_RECIPIENTS},
        {"tempfail", SJM_METRICS_REASON_TEMPFAIL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(map); i++)
        if (strcmp(r, map[i].name) == 0)
            return map[i].v;
    return SJM_METRICS_REASON_OTHER;
}

/* The value of " KEY=" in the verdict's extra fields, or NULL (g_free). */
static char *extra(const sjm_verdict *v, const char *key)
{
    char *needle = g_strdup_printf(" %s=", key);
    const char *p = strstr(v->extra->str, needle);
    char *value = NULL;
    if (p) {
        p += strlen(needle);
        value = g_strndup(p, strcspn(p, " "));
    }
    g_free(needle);
    return value;
}

static int reinject_kind(const char *name)
{
    if (strcmp(name, "report") == 0)
        return SJM_METRICS_REINJECT_REPORT;
    if (strcmp(name, "journal-original") == 0)
        return SJM_METRICS_REINJECT_JOURNAL_ORIGINAL;
    if (strcmp(name, "split") == 0)
        return SJM_METRICS_REINJECT_SPLIT;
    return -1;
}

void sjm_metrics_record_verdict(const sjm_config *cfg, const sjm_txn *txn, const sjm_verdict *v,
                                guint64 body_bytes, gint64 eom_us)
{
    if (!sjm_metrics_enabled())
        return;
    sjm_metrics_event e = {0};
    const char *j = v->journal ? v->journal : "";

    e.signature = signature_of(v->signature);
    e.eom_us = eom_us;
    e.rejected = v->action == SJM_ACTION_REJECT;
    if (g_str_has_prefix(j, "added:")) {
        e.journal = SJM_METRICS_JOURNAL_ADDED;
        e.journal_copies = 1;
        for (const char *c = j; *c; c++)
            e.journal_copies += *c == ',';
    } else if (g_str_has_prefix(j, "skipped:")) {
        e.journal = SJM_METRICS_JOURNAL_SKIPPED;
        e.reason = reason_of(j + 8);
    } else if (strcmp(j, "disabled") == 0) {
        e.journal = SJM_METRICS_JOURNAL_DISABLED;
    } else if (strcmp(j, "failed:accepted-unjournaled") == 0) {
        e.journal = SJM_METRICS_JOURNAL_FAILED_ACCEPTED;
    } else if (strcmp(j, "failed") == 0) {
        e.journal = SJM_METRICS_JOURNAL_FAILED;
    } else {
        e.journal = SJM_METRICS_JOURNAL_SKIPPED;
        e.reason = SJM_METRICS_REASON_OTHER;
    }
    /* Copies count only when the message goes on. */
    if (v->action != SJM_ACTION_CONTINUE)
        e.journal_copies = 0;
    if (e.journal_copies) {
        guint64 bytes = 2 + body_bytes;
        for (guint i = 0; i < txn->headers->len; i++) {
            const sjm_header *h = g_ptr_array_index(txn->headers, i);
            bytes += strlen(h->name) + 2 + (h->value ? strlen(h->value) : 0) + 2;
        }
        e.journal_bytes = bytes * e.journal_copies;
    }

    char *verify = extra(v, "verify");
    char **codes = g_strsplit(verify ? verify : "", ",", -1);
    for (char **c = codes; *c; c++)
        for (int k = 0; k < SJM_METRICS_VERIFY_COUNT; k++)
            if (strcmp(*c, sjm_verify_code_name((sjm_verify_code)k)) == 0)
                e.verify[k]++;
    g_strfreev(codes);
    g_free(verify);

    char *done = extra(v, "reinject");
    char **items = g_strsplit(done ? done : "", ",", -1);
    for (char **it = items; *it; it++) {
        char *colon = strchr(*it, ':');
        if (colon)
            *colon = '\0';
        int k = reinject_kind(*it);
        if (k >= 0)
            e.reinject_attempts[k]++;
    }
    g_strfreev(items);
    g_free(done);
    /* The submission that failed is the journal message when the journal
     * failed with it, else the split copy. */
    char *failed = extra(v, "reinject_error");
    gboolean journal_failed = e.journal == SJM_METRICS_JOURNAL_FAILED ||
                              e.journal == SJM_METRICS_JOURNAL_FAILED_ACCEPTED;
    if (failed) {
        int k = !journal_failed ? SJM_METRICS_REINJECT_SPLIT
                : cfg->journal_mode == SJM_JOURNAL_MODE_REPORT ? SJM_METRICS_REINJECT_REPORT
                : SJM_METRICS_REINJECT_JOURNAL_ORIGINAL;
        e.reinject_attempts[k]++;
        e.reinject_failures[k]++;
    }

    if (v->action == SJM_ACTION_TEMPFAIL) {
        char *err = extra(v, "error");
        if (failed)
            e.tempfail = SJM_METRICS_TEMPFAIL_REINJECT;
        else if (e.journal == SJM_METRICS_JOURNAL_FAILED)
            e.tempfail = SJM_METRICS_TEMPFAIL_JOURNAL_RECIPIENT;
        else if (err && strcmp(err, "edit-failed") == 0)
            e.tempfail = SJM_METRICS_TEMPFAIL_EDIT;
        else
            e.tempfail = SJM_METRICS_TEMPFAIL_INTERNAL;
        g_free(err);
    }
    g_free(failed);
    sjm_metrics_record(&e);
}
