/*
 * summary.c - the per-message summary line (fields documented in
 * summary.h).  The log line and --inspect print the same text, so an
 * administrator can reproduce a logged decision with --inspect and
 * compare the two lines field for field.
 */
#include "summary.h"

char *sjm_summary_line(const sjm_txn *txn, const sjm_verdict *v, gint64 elapsed_us,
                       gboolean with_envelope)
{
    GString *line = g_string_new(NULL);

    if (with_envelope)
        g_string_append_printf(line, "from=<%s> rcpts=%u ", txn->sender, txn->rcpts->len);
    g_string_append_printf(line, "signature=%s journal=%s", v->signature, v->journal);
    if (v->action != SJM_ACTION_CONTINUE)
        g_string_append_printf(line, " action=%s reply=\"%s %s %s\"",
                               v->action == SJM_ACTION_TEMPFAIL ? "tempfail" : "reject",
                               v->reply_code, v->reply_xcode, v->reply_text);
    for (guint i = 0; i < v->rcpt_adds->len; i++) {
        const sjm_rcpt_add *r = g_ptr_array_index(v->rcpt_adds, i);
        g_string_append_printf(line, " add_rcpt=<%s>%s%s", r->addr,
                               r->esmtp_args ? ":" : "", r->esmtp_args ? r->esmtp_args : "");
    }
    for (guint i = 0; i < v->rcpt_dels->len; i++)
        g_string_append_printf(line, " del_rcpt=<%s>", (const char *)g_ptr_array_index(v->rcpt_dels, i));
    for (guint i = 0; i < txn->refused->len; i++)
        g_string_append_printf(line, " rcpt_refused=%s", (const char *)g_ptr_array_index(txn->refused, i));
    g_string_append(line, v->extra->str);
    g_string_append_printf(line, " time=%.3fms", (double)elapsed_us / 1000.0);
    return g_string_free(line, FALSE);
}
