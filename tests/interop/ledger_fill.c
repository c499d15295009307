/*
 * ledger_fill.c - append N entries to a ledger through the filter's own
 * writer (ledger.h), for the interoperability test and the audit
 * benchmark:
 *   ledger_fill DIR KEY ORIGIN FIRST N [MAILDIR]
 * Without MAILDIR the entries are minimal; with it, each entry journals
 * a small message <fill-I@test.example> to j@archive.example, entry made
 * by sjm_ledger_entry_encode (the daemon's code) and the message written
 * to MAILDIR/new as the archive would hold it.  Closing writes the signed
 * checkpoint of the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bodyhash.h"
#include "ledger.h"

static GString *real_entry(const sjm_config *cfg, long i, const char *maildir)
{
    char *body = g_strdup_printf("Message %ld of the audit benchmark.\n", i);
    char *text = g_strdup_printf("Delivered-To: j@archive.example\nFrom: alice@corp.example\n"
                                 "To: bob@corp.example\nSubject: fill %ld\n"
                                 "Message-ID: <fill-%ld@test.example>\n\n%s", i, i, body);
    char *path = g_strdup_printf("%s/new/%ld.fill", maildir, i);
    if (!g_file_set_contents(path, text, -1, NULL)) {
        fprintf(stderr, "ledger_fill: cannot write %s\n", path);
        exit(1);
    }
    sjm_txn *t = sjm_txn_new();
    sjm_txn_set_sender(t, "<alice@corp.example>");
    sjm_txn_add_rcpt(t, "<bob@corp.example>");
    char *mid = g_strdup_printf("<fill-%ld@test.example>", i);
    sjm_txn_add_header(t, "Message-ID", mid);
    g_free(t->queue_id);
    t->queue_id = g_strdup_printf("F%08lX", i);
    t->has_body_digest = sjm_bodyhash_data((const guchar *)body, strlen(body), t->body_digest);
    sjm_plan *p = sjm_plan_new();
    p->journal.status = SJM_JOURNAL_ADDED;
    g_ptr_array_add(p->journal.mailboxes, g_strdup("j@archive.example"));
    GString *e = sjm_ledger_entry_encode(cfg, t, p, g_get_real_time());
    sjm_plan_free(p);
    sjm_txn_free(t);
    g_free(mid);
    g_free(path);
    g_free(text);
    g_free(body);
    return e;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: ledger_fill DIR KEY ORIGIN FIRST N [MAILDIR]\n");
        return 64;
    }
    const char *maildir = argc == 7 ? argv[6] : NULL;
    if (maildir) {
        char *nd = g_build_filename(maildir, "new", NULL);
        g_mkdir_with_parents(nd, 0755);
        g_free(nd);
    }
    sjm_ledger_opts o = {argv[1], argv[2], argv[3], 3600, 1000000, 7};
    if (maildir)
        o.segment_entries = 1000000;
    GError *err = NULL;
    sjm_ledger *l = sjm_ledger_open(&o, &err);
    if (!l) {
        fprintf(stderr, "ledger_fill: %s\n", err->message);
        return 1;
    }
    sjm_config *cfg = sjm_config_new_default();
    long first = atol(argv[4]), n = atol(argv[5]);
    for (long i = first; i < first + n; i++) {
        GString *e = maildir ? real_entry(cfg, i, maildir)
                             : g_string_new(NULL);
        if (!maildir)
            g_string_printf(e, SJM_LEDGER_MAGIC "\ntime 2026-01-01T00:00:00.000000Z\nqueue-id Q%ld\n", i);
        if (!sjm_ledger_append(l, (const guchar *)e->str, e->len)) {
            fprintf(stderr, "ledger_fill: append %ld failed\n", i);
            return 1;
        }
        g_string_free(e, TRUE);
    }
    sjm_config_unref(cfg);
    sjm_ledger_close(l);
    return 0;
}
