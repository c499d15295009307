/*
 * testlib.c - the one main() of every unit test program, and the helpers
 * testlib.h describes.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "journal_report.h"
#include "smime.h"
#include "spool.h"
#include "testlib.h"
#include "summary.h"

/* Makefile.am passes both, so a test binary finds the sources and the
 * corpus beside its own checkout wherever that is. */
#ifndef SJM_CORPUS_DIR
#error "SJM_CORPUS_DIR must name the shared corpus (see Makefile.am)"
#endif
#ifndef SJM_TEST_LIBDIR
#error "SJM_TEST_LIBDIR must name tests/lib of the source tree (see Makefile.am)"
#endif

static gboolean no_fork;

void sjm_test_no_fork(void)
{
    no_fork = TRUE;
}

int main(void)
{
    /* GMime backs every header and body parse, in the modules under
     * test and in the helpers alike. */
    sjm_smime_init();
    SRunner *sr = srunner_create(sjm_test_suite());
    if (no_fork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sjm_smime_shutdown();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ------------------------------------------------------- transactions */

sjm_txn *sjm_test_txn_from_text(const char *text, gssize slen, const char *sender, ...)
{
    gsize len = slen < 0 ? strlen(text) : (gsize)slen;
    sjm_txn *t = sjm_txn_new();
    sjm_txn_set_sender(t, sender);
    va_list ap;
    va_start(ap, sender);
    for (const char *r; (r = va_arg(ap, const char *)) != NULL;)
        sjm_txn_add_rcpt(t, r);
    va_end(ap);

    gsize i = 0;
    GString *value = NULL;
    char *name = NULL;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        gsize e = nl != NULL ? (gsize)(nl - text) + 1 : len;
        gsize l = e - i;
        while (l > 0 && (text[i + l - 1] == '\n' || text[i + l - 1] == '\r'))
            l--;
        if (l == 0) {
            i = e;
            break;
        }
        if (text[i] == ' ' || text[i] == '\t') {
            if (value != NULL) {
                g_string_append_c(value, '\n');
                g_string_append_len(value, text + i, (gssize)l);
            }
        } else {
            const char *colon = memchr(text + i, ':', l);
            if (colon == NULL)
                break;
            if (name != NULL) {
                sjm_txn_add_header(t, name, value->str);
                g_free(name);
                g_string_free(value, TRUE);
            }
            name = g_strndup(text + i, (gsize)(colon - (text + i)));
            gsize vs = (gsize)(colon - text) + 1;
            if (vs < i + l && text[vs] == ' ')
                vs++;
            value = g_string_new_len(text + vs, (gssize)(i + l - vs));
        }
        i = e;
    }
    if (name != NULL) {
        sjm_txn_add_header(t, name, value->str);
        g_free(name);
        g_string_free(value, TRUE);
    }
    t->body = sjm_spool_new();
    sjm_spool_append(t->body, text + i, len - i);
    return t;
}

const char sjm_test_msg[] =
    "From: Alice <alice@corp.example>\r\n"
    "To: Bob <bob@corp.example>, team: carol@corp.example;\r\n"
    "Cc: dave@other.example\r\n"
    "Subject: figures\r\n"
    " (folded)\r\nMessage-ID: <m1@corp.example>\r\n"
    "\r\n"
    ".body line\r\nsecond\r\n";

/* ------------------------------------------------------------- corpus */

char *sjm_test_corpus_dir(void)
{
    const char *env = g_getenv("SJM_CORPUS");
    return g_strdup(env != NULL && *env != '\0' ? env : SJM_CORPUS_DIR);
}

char *sjm_test_corpus_read(const char *name, gsize *len)
{
    char *dir = sjm_test_corpus_dir();
    char *path = g_build_filename(dir, name, NULL);
    char *data = NULL;
    if (!g_file_get_contents(path, &data, len, NULL)) {
        fprintf(stderr, "corpus file missing: %s (set SJM_CORPUS to the corpus directory)\n", path);
        data = NULL;
    }
    g_free(path);
    g_free(dir);
    return data;
}

/* --------------------------------------------------------------- sink */

sjm_test_sink *sjm_test_sink_start(const char *mode)
{
    sjm_test_sink *s = g_new0(sjm_test_sink, 1);
    s->dir = g_dir_make_tmp("sjm-sink.XXXXXX", NULL);
    ck_assert_ptr_nonnull(s->dir);
    char *script = g_build_filename(SJM_TEST_LIBDIR, "smtp_sink.py", NULL);
    char *argv[] = {"python3", script, s->dir, (char *)mode, NULL};
    GError *err = NULL;
    ck_assert_msg(g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &s->pid, &err), "spawn: %s", err ? err->message : "");
    g_free(script);
    /* The sink writes its port once it listens; python3 starts slowly
     * on a loaded machine, so wait up to 30 s. */
    char *pf = g_build_filename(s->dir, "port", NULL);
    for (int i = 0; i < 600 && !g_file_test(pf, G_FILE_TEST_EXISTS); i++)
        g_usleep(50000);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(pf, &text, NULL, NULL), "the sink did not start");
    g_strlcpy(s->port, text, sizeof s->port);
    g_free(text);
    g_free(pf);
    return s;
}

sjm_reinject_target sjm_test_sink_target(const sjm_test_sink *s, guint timeout_s)
{
    return (sjm_reinject_target){.host = "127.0.0.1", .port = s->port, .timeout_s = timeout_s};
}

void sjm_test_sink_stop(sjm_test_sink *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    g_spawn_close_pid(s->pid);
    char *cmd = g_strdup_printf("rm -rf '%s'", s->dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(s->dir);
    g_free(s);
}

char *sjm_test_sink_file(const sjm_test_sink *s, const char *name)
{
    char *p = g_build_filename(s->dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = NULL;
    g_free(p);
    return text;
}

/* ------------------------------------------------------------ plans */

/* Returned strings stay valid for this many calls. */
#define KEEP 8

static const char *keep(char *s)
{
    static char *ring[KEEP];
    static guint next;
    g_free(ring[next]);
    ring[next] = s;
    next = (next + 1) % KEEP;
    return s;
}

const char *sjm_test_signature(const sjm_plan *p)
{
    return keep(sjm_plan_signature_token(p));
}

const char *sjm_test_journal(const sjm_plan *p)
{
    return keep(sjm_plan_journal_token(p));
}

const char *sjm_test_fields(const sjm_plan *p)
{
    return keep(sjm_summary_fields(p));
}

char *sjm_test_report_text(const struct sjm_report *r, const char *prefix)
{
    guint n;
    const sjm_piece *p = sjm_report_pieces(r, &n);
    GString *out = g_string_new(prefix);
    for (guint i = 0; i < n; i++) {
        if (p[i].spool == NULL) {
            g_string_append_len(out, (const char *)p[i].data, (gssize)p[i].len);
            continue;
        }
        guint64 off = 0;
        char buf[4096];
        gssize k;
        while ((k = sjm_spool_read(p[i].spool, &off, buf, sizeof buf)) > 0)
            g_string_append_len(out, buf, k);
    }
    return g_string_free(out, FALSE);
}
