/*
 * fuzz_txn.c - libFuzzer target: one whole transaction, header fields and
 * body in, verdict and delivered bytes out.
 *
 * Input: byte 0 chooses the policy (bit 0: strip instead of preserve,
 * bit 1: strip_attached_messages, bit 2: null sender, bit 3: a second
 * recipient, carol, who keeps signatures under the strip policies, so
 * "mixed = preserve" decides; bits 4-6: the MTA refuses to add
 * recipients / to change header fields / to replace the body); the rest
 * is the message as the MTA would hand it over (LF or CRLF).  It goes
 * through the session layer (session.h) exactly as the milter callbacks
 * drive it, header field by field and the body in chunks, into the
 * in-memory MTA (mta_file.h), which is then written out as it would be
 * delivered.  Journaling is on in every configuration.
 *
 * Besides crashes, leaks and undefined behaviour, the target aborts on
 * a broken contract: no summary line; a message accepted with
 * journal=added: whose journal recipient the MTA does not hold (a
 * journal copy into the void); a replaced body in preserve mode or in
 * the written message not matching; a rejection of a message whose
 * recipients were accepted; an accepted message from a real sender that
 * is neither journaled nor a genuine read report.
 *
 * Built twice: with clang -fsanitize=fuzzer,address,undefined by
 * tests/robustness/fuzz/run.sh, and with any compiler against replay.c, which
 * calls LLVMFuzzerTestOneInput on saved inputs in "make check".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "session.h"
#include "mta_file.h"

#define ENSURE(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_txn: contract broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
    abort(); } } while (0)

static sjm_config *configs[4];

/* The body as an MTA hands it to the milter: CRLF line ends. */
static GString *to_crlf(const guchar *data, gsize len)
{
    GString *out = g_string_sized_new(len + len / 16);

    for (gsize i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            g_string_append_c(out, '\r');
        g_string_append_c(out, (char)data[i]);
    }
    return out;
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

/*
 * Header fields of DATA[0..LEN) into the session and the MTA; returns the
 * offset of the body.  Folded lines are joined with "\n", as Postfix
 * hands them to a milter.
 */
static gsize split_header(const guchar *data, gsize len, sjm_session *s, sjm_mta_file *m)
{
    gsize pos = 0, field_at = 0;
    GString *name = NULL, *value = NULL;

#define FLUSH() do { if (name) { \
        char *raw = g_strndup((const char *)data + field_at, pos - field_at); \
        sjm_mta_file_add_original_header(m, name->str, value->str, raw); \
        sjm_session_header(s, name->str, value->str); \
        g_free(raw); g_string_free(name, TRUE); g_string_free(value, TRUE); name = NULL; } } while (0)

    while (pos < len) {
        const guchar *nl = memchr(data + pos, '\n', len - pos);
        gsize end = nl ? (gsize)(nl - data) : len;
        gsize next = nl ? end + 1 : len;
        gsize content = end;
        if (content > pos && data[content - 1] == '\r')
            content--;
        if (content == pos) {           /* the empty line */
            FLUSH();
            pos = next;
            return pos;
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
        FLUSH();
        field_at = pos;
        name = g_string_new_len((const char *)data + pos, colon - (data + pos));
        const guchar *v = colon + 1;
        while (v < data + content && (*v == ' ' || *v == '\t'))
            v++;
        value = g_string_new_len((const char *)v, data + content - v);
        pos = next;
    }
    FLUSH();
#undef FLUSH
    return pos;
}

static gboolean has_rcpt(const sjm_mta_file *m, const char *addr)
{
    for (guint i = 0; i < m->rcpts->len; i++)
        if (strstr(g_ptr_array_index(m->rcpts, i), addr))
            return TRUE;
    return FALSE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init_configs();
    guint8 sel = data[0];
    gboolean strip = sel & 1;
    sjm_config *cfg = configs[sel & 3];
    sjm_client client = {"192.0.2.1", NULL};
    sjm_mta_file *m = sjm_mta_file_new();
    sjm_outcome out = {0};

    data++;
    size--;
    m->esmtp_args = TRUE;
    if (sel & 16)
        m->refuse |= SJM_MTA_REFUSE_ADD_RCPT;
    if (sel & 32)
        m->refuse |= SJM_MTA_REFUSE_HEADER;
    if (sel & 64)
        m->refuse |= SJM_MTA_REFUSE_BODY;
    sjm_session *s = sjm_session_new(cfg, &client, (sel & 4) ? "<>" : "<alice@corp.example>");
    sjm_session_set_queue_id(s, "FUZZ");
    ENSURE(sjm_session_rcpt(s, "<bob@example.com>") == NULL);
    sjm_mta_file_add_original_rcpt(m, "<bob@example.com>");
    if (sel & 8) {
        ENSURE(sjm_session_rcpt(s, "<carol@corp.example>") == NULL);
        sjm_mta_file_add_original_rcpt(m, "<carol@corp.example>");
    }
    gsize body_at = split_header(data, size, s, m);

    GString *body = to_crlf(data + body_at, size - body_at);
    ENSURE(sjm_mta_file_add_original_body(m, body->str, body->len));
    gboolean want = sjm_session_eoh(s);
    /* In the chunks libmilter uses, as received (the session makes CRLF). */
    for (gsize off = body_at; want && off < size; off += 65535)
        want = sjm_session_body(s, data + off, MIN((gsize)65535, size - off));
    sjm_session_eom(s, &sjm_mta_file_ops, m, &out);

    ENSURE(out.summary != NULL && strstr(out.summary, "signature=") && strstr(out.summary, "journal="));
    ENSURE(out.action != SJM_ACTION_REJECT);
    if (out.action == SJM_ACTION_CONTINUE) {
        if (!strip || (sel & 8))
            ENSURE(m->new_body == NULL);
        if (strstr(out.summary, "journal=added:"))
            ENSURE(has_rcpt(m, "journal@archive.example"));
        if (!(sel & 4))
            ENSURE(strstr(out.summary, "journal=added:")
                   || strstr(out.summary, "journal=skipped:system:read-report"));
        char *written = NULL;
        size_t wlen = 0;
        FILE *f = open_memstream(&written, &wlen);
        ENSURE(sjm_mta_file_write(m, f, TRUE));
        fclose(f);
        /* Unchanged body: the delivered message ends with the bytes received. */
        if (m->new_body == NULL)
            ENSURE(wlen >= body->len && memcmp(written + wlen - body->len, body->str, body->len) == 0);
        free(written);
    } else {
        ENSURE(out.action == SJM_ACTION_TEMPFAIL && out.reply_code && out.reply_code[0] == '4');
    }
    g_string_free(body, TRUE);
    sjm_outcome_clear(&out);
    sjm_session_free(s);
    sjm_mta_file_free(m);
    return 0;
}
