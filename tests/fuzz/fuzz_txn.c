/*
 * fuzz_txn.c - libFuzzer target: one whole transaction, header fields and
 * body in, verdict and delivered bytes out.
 *
 * Input: byte 0 chooses the policy (bit 0: strip instead of preserve,
 * bit 1: strip_attached_messages, bit 2: null sender, bit 3: a second
 * recipient, carol, who keeps signatures under the strip policies, so
 * "mixed = preserve" decides); the rest is the
 * message as the MTA would hand it over (LF or CRLF).  The header is split
 * into fields the way the milter protocol delivers them, the body goes
 * through the same spool, and the core decides, as in a live transaction.
 * Journaling is on in every configuration.
 *
 * Besides crashes, leaks and undefined behaviour, the target aborts on
 * a broken contract: a verdict without summary fields, a journal
 * decision "added:" without the recipient added, a replacement body in
 * preserve mode, a rejection of a message whose recipients were
 * accepted.
 *
 * Built twice: with clang -fsanitize=fuzzer,address,undefined by
 * tests/fuzz/run.sh, and with any compiler against replay.c, which
 * calls LLVMFuzzerTestOneInput on saved inputs in "make check".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core.h"

#define ENSURE(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_txn: contract broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
    abort(); } } while (0)

static sjm_config *configs[4];

/* Read a replacement body to the end, as the MTA would. */
static void drain_spool(sjm_spool *s)
{
    char buf[8192];
    guint64 off = 0;
    gssize n;

    while ((n = sjm_spool_read(s, &off, buf, sizeof buf)) > 0)
        ;
    ENSURE(n == 0 && off == sjm_spool_size(s));
}

static sjm_config *load_config(const char *text)
{
    char path[] = "/tmp/sjm-fuzz-conf.XXXXXX";
    int fd = mkstemp(path);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *cfg;

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror("fuzz_txn: temp config");
        exit(2);
    }
    close(fd);
    cfg = sjm_config_load(path, errors);
    unlink(path);
    if (!cfg) {
        for (guint i = 0; i < errors->len; i++)
            fprintf(stderr, "fuzz_txn: %s\n", (char *)g_ptr_array_index(errors, i));
        exit(2);
    }
    g_ptr_array_free(errors, TRUE);
    return cfg;
}

static void init_configs(void)
{
    static const char *texts[4] = {
        "[signatures]\naction = preserve\n"
        "[journal]\nrecipient = journal@archive.example\n",
        "[signatures]\naction = strip\npreserve_for = carol@corp.example\n"
        "[journal]\nrecipient = journal@archive.example\n",
        "[signatures]\naction = preserve\nstrip_attached_messages = true\n"
        "[journal]\nrecipient = journal@archive.example\n",
        "[signatures]\naction = strip\nstrip_attached_messages = true\n"
        "preserve_for = carol@corp.example\n"
        "[journal]\nrecipient = journal@archive.example\n",
    };
    if (configs[0])
        return;
    g_mime_init();
    for (int i = 0; i < 4; i++)
        configs[i] = load_config(texts[i]);
}

/* Header fields of DATA[0..LEN) into TXN; returns the offset of the body. */
static gsize split_header(const guchar *data, gsize len, sjm_txn *txn)
{
    gsize pos = 0;
    GString *name = NULL, *value = NULL;

    while (pos < len) {
        const guchar *nl = memchr(data + pos, '\n', len - pos);
        gsize end = nl ? (gsize)(nl - data) : len;
        gsize next = nl ? end + 1 : len;
        gsize content = end;
        if (content > pos && data[content - 1] == '\r')
            content--;
        if (content == pos) {           /* the empty line */
            pos = next;
            break;
        }
        if ((data[pos] == ' ' || data[pos] == '\t') && name) {
            g_string_append_c(value, '\n');
            g_string_append_len(value, (const char *)data + pos, content - pos);
            pos = next;
            continue;
        }
        const guchar *colon = memchr(data + pos, ':', content - pos);
        if (!colon || colon == data + pos)
            break;                      /* not a field: the body starts here */
        if (name) {
            sjm_txn_add_header(txn, name->str, value->str);
            g_string_free(name, TRUE);
            g_string_free(value, TRUE);
        }
        name = g_string_new_len((const char *)data + pos, colon - (data + pos));
        const guchar *v = colon + 1;
        while (v < data + content && (*v == ' ' || *v == '\t'))
            v++;
        value = g_string_new_len((const char *)v, data + content - v);
        pos = next;
    }
    if (name) {
        sjm_txn_add_header(txn, name->str, value->str);
        g_string_free(name, TRUE);
        g_string_free(value, TRUE);
    }
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init_configs();
    guint8 sel = data[0];
    gboolean strip = sel & 1;
    sjm_config *cfg = configs[sel & 3];
    sjm_txn *txn = sjm_txn_new();
    sjm_verdict *v = sjm_verdict_new();

    data++;
    size--;
    g_free(txn->client_addr);
    txn->client_addr = g_strdup("192.0.2.1");
    txn->client_trusted = FALSE;
    g_free(txn->queue_id);
    txn->queue_id = g_strdup("FUZZ");
    sjm_txn_set_sender(txn, (sel & 4) ? "<>" : "<alice@corp.example>");
    ENSURE(sjm_core_check_rcpt(cfg, txn, "<bob@example.com>") == NULL);
    sjm_txn_add_rcpt(txn, "<bob@example.com>");
    if (sel & 8) {
        ENSURE(sjm_core_check_rcpt(cfg, txn, "<carol@corp.example>") == NULL);
        sjm_txn_add_rcpt(txn, "<carol@corp.example>");
    }
    gsize body_at = split_header(data, size, txn);

    if (sjm_core_wants_body(cfg, txn)) {
        txn->body = sjm_spool_new();
        /* In chunks, as libmilter hands it over. */
        for (gsize off = body_at; off < size && !txn->body_failed; off += 65535)
            if (!sjm_spool_append(txn->body, data + off, MIN((gsize)65535, size - off)))
                txn->body_failed = TRUE;
    }
    sjm_core_finish(cfg, txn, v);

    ENSURE(v->signature != NULL && v->journal != NULL);
    ENSURE(v->action != SJM_ACTION_REJECT);
    if (v->action == SJM_ACTION_CONTINUE) {
        /* Preserve, or a recipient who keeps signatures (mixed = preserve). */
        if (!strip || (sel & 8))
            ENSURE(v->new_body == NULL);
        if (g_str_has_prefix(v->journal, "added:")) {
            gboolean found = FALSE;
            for (guint i = 0; i < v->rcpt_adds->len; i++) {
                const sjm_rcpt_add *r = g_ptr_array_index(v->rcpt_adds, i);
                if (strcmp(r->addr, "journal@archive.example") == 0)
                    found = TRUE;
            }
            ENSURE(found);
        }
        /* With a real sender only a genuine read report escapes the journal. */
        if (!(sel & 4))
            ENSURE(g_str_has_prefix(v->journal, "added:")
                   || strcmp(v->journal, "skipped:system:read-report") == 0);
        if (v->new_body)
            drain_spool(v->new_body);
    }
    char *line = sjm_core_summary(txn, v, 0);
    ENSURE(line && strstr(line, "journal=") != NULL);
    g_free(line);
    sjm_txn_free(txn);
    sjm_verdict_free(v);
    return 0;
}
