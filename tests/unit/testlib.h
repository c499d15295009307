/*
 * testlib.h - what every unit test program shares (testlib.c).
 *
 * Each tests/unit/test_<module>.c holds the tests of one module and
 * defines sjm_test_suite(); testlib.c has the one main() that runs it
 * under Check, so a test file is only its module's cases.  The helpers
 * below are the ones more than one module's tests need: a transaction
 * from the text of a message, the public S/MIME corpus, and a scripted
 * SMTP listener (tests/lib/smtp_sink.py) to stand in for the MTA's
 * re-injection port.
 */
#ifndef SJM_TESTLIB_H
#define SJM_TESTLIB_H

#include <check.h>
#include <glib.h>
#include "reinject.h"
#include "txn.h"

/* Defined by each test program: the suite of the module it tests. */
Suite *sjm_test_suite(void);

/* Run the cases in main()'s process rather than one fork each, for a
 * suite whose fixtures are too costly to build per case (see
 * srunner_set_fork_status in the Check manual).  Call from
 * sjm_test_suite(). */
void sjm_test_no_fork(void);

/* A transaction as an MTA hands it over: envelope SENDER, the
 * recipients up to NULL, and the header fields and body of TEXT (LEN
 * bytes, or up to its NUL when LEN < 0; LF or CRLF line ends).  Folded
 * fields keep their line breaks as "\n" followed by the continuation
 * line; the body is every byte after the empty line, as sent.  A line
 * that is neither a field nor a continuation ends the header, as it
 * would for a parser reading broken mail. */
sjm_txn *sjm_test_txn_from_text(const char *text, gssize len, const char *sender, ...)
    G_GNUC_NULL_TERMINATED;

/*
 * What the summary line says of a finished plan: the signature= and
 * journal= values and the module fields (summary.h).  Each string lives
 * until the same function has been called a few more times, so a test
 * can compare it without freeing it.
 */
const char *sjm_test_signature(const sjm_plan *p);
const char *sjm_test_journal(const sjm_plan *p);
const char *sjm_test_fields(const sjm_plan *p);

/* The bytes of a journal report as it would be submitted, after PREFIX
 * (NULL or "": none).  g_free() the result. */
struct sjm_report;
char *sjm_test_report_text(const struct sjm_report *r, const char *prefix);

/* A small CRLF message for the re-injection paths: a folded Subject, a
 * group in To:, and a body line starting with a dot (dot-stuffing). */
extern const char sjm_test_msg[];

/* The Thunderbird S/MIME corpus: $SJM_CORPUS, else the shared corpus
 * beside the source checkout.  g_free() the result. */
char *sjm_test_corpus_dir(void);
/* The bytes of corpus file NAME (NUL-terminated; LEN may be NULL), or
 * NULL after saying on stderr which file is missing. */
char *sjm_test_corpus_read(const char *name, gsize *len);

/* A scripted SMTP listener on a loopback port of its own, writing what
 * it receives into DIR; MODE as tests/lib/smtp_sink.py documents. */
typedef struct sjm_test_sink {
    GPid pid;
    char *dir;
    char port[16];
} sjm_test_sink;

sjm_test_sink *sjm_test_sink_start(const char *mode);
/* The re-injection target that reaches the listener. */
sjm_reinject_target sjm_test_sink_target(const sjm_test_sink *s, guint timeout_s);
/* Stops the listener and removes its directory. */
void sjm_test_sink_stop(sjm_test_sink *s);
/* The contents of file NAME the listener wrote, or NULL when there is none. */
char *sjm_test_sink_file(const sjm_test_sink *s, const char *name);

#endif
