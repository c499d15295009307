/*
 * journal_evidence.c - is a message that calls itself a delivery status
 * notification (RFC 3464) or a read report (RFC 8098) really one?
 *
 * INTERFACE (journal.h)
 *   sjm_evidence_report_type()  the report-type the top-level
 *                               Content-Type claims, from the headers;
 *   sjm_evidence_wants_body()   whether the structure must be read;
 *   sjm_evidence_dsn(), sjm_evidence_mdn()
 *                               TRUE only when the spooled body is a
 *                               report of a message this organisation
 *                               journaled.
 *
 * A label is what any sender writes, and so is a structure: RFC 3461
 * RET=FULL asks a bounce to return the whole message, so a letter can
 * wear the shape of a bounce.  Both checks demand a multipart/report
 * whose report-type matches its second part, a human-readable first part
 * no longer than genuine ones are, a machine-readable second part whose
 * fields parse, and a third part returning the original (whole, as RFC
 * 3464 allows a DSN; only its header for an MDN, RFC 8098 section 3)
 * that carries a mark of ours which verifies (journal_mark.c): the key
 * earns the skip.  Whatever GMime or this file cannot parse is "not
 * genuine": the message is journaled.
 *
 * ERRORS
 *   None reach the caller: an unreadable body is a FALSE with the
 *   static token "body-unreadable" in *why.  Every *why is a static
 *   string without spaces, for the one log line.
 */
#include <string.h>
#include <gmime/gmime.h>
#include "journal.h"
#include "mimehdr.h"
#include "bodyhash.h"

/*
 * A genuine MDN's text says "read on ..." in a few lines, and a genuine
 * DSN's explains a failure in a few more per recipient; a letter in the
 * text is content, and content is journaled.  The bounds are the largest
 * genuine reports measured with a margin of 1.6 to 2.3 (Postfix 3.7 and
 * Sendmail 8.17 bounces for 1 to 20 recipients with the longest remote
 * reply Gmail gives, Exchange 2007, Gmail and Exim samples; Thunderbird's
 * and Open-Xchange's MDN texts): smime-journal-milter.conf(5), JOURNALING
 * DECISIONS, lists them.  Office 365's NDRs copy the original's header
 * into the text (about 18 KB) and are journaled.
 */
#define MDN_TEXT_MAX 2048
#define DSN_TEXT_BASE 4096
#define DSN_TEXT_PER_RCPT 1024
#define DSN_STATUS_BASE 2048
#define DSN_STATUS_PER_RCPT 1024
#define REPORT_RCPTS_MAX 50

/* ------------------------------------------------------------ the label */

/* Does VALUE claim TYPE/SUBTYPE as some reader would read it? */
static gboolean claims(const char *value, const char *type, const char *subtype)
{
    sjm_content_type ct;
    gboolean hit = sjm_content_type_parse(value, SJM_CT_LENIENT, &ct)
        && strcmp(ct.type, type) == 0 && (subtype == NULL || strcmp(ct.subtype, subtype) == 0);
    sjm_content_type_clear(&ct);
    return hit;
}

/*
 * What the header claims: NULL when the message is not multipart/report
 * at all; otherwise a newly allocated report-type ("delivery-status",
 * "disposition-notification", ...), or "" when the label is ambiguous:
 * a duplicate Content-Type, a value only a lenient reader makes sense of
 * (the strict RFC 2045 reading of mimehdr.h fails), or a report-type
 * given twice or in RFC 2231 form.  Ambiguity is never believed.
 */
char *sjm_evidence_report_type(const sjm_txn *txn)
{
    const char *value = NULL;
    guint fields = 0;
    for (guint i = 0; i < txn->headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(txn->headers, i);
        if (g_ascii_strcasecmp(h->name, "Content-Type") != 0)
            continue;
        fields++;
        if (value == NULL || claims(h->value, "multipart", NULL))
            value = h->value ? h->value : "";
    }
    if (fields == 0)
        return NULL;
    if (fields > 1)
        /* Some reader may see a report; none of ours believes it. */
        return claims(value, "multipart", NULL) ? g_strdup("") : NULL;

    sjm_content_type ct;
    char *result = NULL;
    if (!sjm_content_type_parse(value, SJM_CT_STRICT, &ct)) {
        if (claims(value, "multipart", "report"))
            result = g_strdup("");
    } else if (strcmp(ct.type, "multipart") == 0 && strcmp(ct.subtype, "report") == 0) {
        guint spellings = 0;
        for (guint i = 0; i < ct.params->len; i++) {
            const sjm_mime_param *m = g_ptr_array_index(ct.params, i);
            spellings += g_ascii_strncasecmp(m->name, "report-type", 11) == 0
                         && (m->name[11] == '\0' || m->name[11] == '*');
        }
        const char *rt = sjm_content_type_param(&ct, "report-type");
        result = spellings == 1 && rt != NULL ? g_ascii_strdown(rt, -1) : g_strdup("");
    }
    sjm_content_type_clear(&ct);
    return result;
}

gboolean sjm_evidence_wants_body(const sjm_txn *txn)
{
    char *rt = sjm_evidence_report_type(txn);
    gboolean want = rt != NULL && *rt != '\0';
    g_free(rt);
    return want;
}

/* ------------------------------------------------------------ body */

/* The body as one MIME entity under its top-level Content-Type. */
static GMimeObject *parse_top(const sjm_txn *txn)
{
    /* Only reached after sjm_evidence_report_type() found exactly one
     * Content-Type claiming a report. */
    const char *ct = sjm_txn_header(txn, "Content-Type");
    if (txn->body == NULL || ct == NULL)
        return NULL;
    GMimeStream *body = sjm_spool_stream(txn->body);
    if (body == NULL)
        return NULL;
    GMimeStream *cat = g_mime_stream_cat_new();
    char *head = g_strdup_printf("Content-Type: %s\r\n\r\n", ct);
    GMimeStream *hs = g_mime_stream_mem_new_with_buffer(head, strlen(head));
    g_free(head);
    g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), hs);
    g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), body);
    g_object_unref(hs);
    g_object_unref(body);

    GMimeParser *parser = g_mime_parser_new_with_stream(cat);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeObject *top = g_mime_parser_construct_part(parser, NULL);
    g_object_unref(parser);
    g_object_unref(cat);
    return top;
}

static gboolean is_type(GMimeObject *o, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/* The decoded content of a leaf, or NULL. */
static GByteArray *leaf_bytes(GMimeObject *o)
{
    if (!GMIME_IS_PART(o))
        return NULL;
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
    if (w == NULL)
        return g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new();
    GByteArray *out = NULL;
    if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
        out = g_byte_array_new();
        GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        g_byte_array_append(out, b->data, b->len);
    }
    g_object_unref(mem);
    return out;
}

/* The human-readable first part: text, or alternatives of text; *SIZE
 * adds up the decoded bytes of every alternative. */
static gboolean human_readable(GMimeObject *o, gsize *size, const char **why)
{
    if (GMIME_IS_MULTIPART(o)) {
        if (!is_type(o, "multipart", "alternative")) {
            *why = "first-part-not-text";
            return FALSE;
        }
        int n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
        for (int i = 0; i < n; i++) {
            GMimeObject *sub = g_mime_multipart_get_part(GMIME_MULTIPART(o), i);
            if (GMIME_IS_MULTIPART(sub)) {
                *why = "first-part-not-text";
                return FALSE;
            }
            if (!human_readable(sub, size, why))
                return FALSE;
        }
        if (n == 0) {
            *why = "first-part-empty";
            return FALSE;
        }
        return TRUE;
    }
    if (!GMIME_IS_PART(o) || !is_type(o, "text", "*")) {
        *why = "first-part-not-text";
        return FALSE;
    }
    GByteArray *b = leaf_bytes(o);
    if (b == NULL) {
        *why = "first-part-unreadable";
        return FALSE;
    }
    *size += b->len;
    g_byte_array_free(b, TRUE);
    return TRUE;
}

/*
 * The fields of a message/delivery-status or disposition-notification
 * part as groups separated by blank lines: per-message fields first,
 * then one group per recipient.  Only the field names matter here.
 */
typedef struct {
    GPtrArray *groups;      /* of GHashTable* (lower-case name set) */
} report_fields;

static void fields_parse(const GByteArray *b, report_fields *f)
{
    f->groups = g_ptr_array_new_with_free_func((GDestroyNotify)g_hash_table_unref);
    GHashTable *cur = NULL;
    char *text = g_strndup((const char *)b->data, b->len);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        g_strchomp(*l);
        if (**l == '\0') {
            cur = NULL;
            continue;
        }
        if (**l == ' ' || **l == '\t')
            continue;   /* continuation of the previous field */
        char *colon = strchr(*l, ':');
        if (colon == NULL || colon == *l)
            continue;
        if (cur == NULL) {
            cur = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
            g_ptr_array_add(f->groups, cur);
        }
        g_hash_table_add(cur, g_ascii_strdown(*l, colon - *l));
    }
    g_strfreev(lines);
    g_free(text);
}

static gboolean group_has(const report_fields *f, guint i, const char *name)
{
    return i < f->groups->len && g_hash_table_contains(g_ptr_array_index(f->groups, i), name);
}

/* RFC 3464 section 2.2/2.3: Reporting-MTA, then recipients with
 * Final-Recipient, Action and Status.  *RCPTS: the recipients reported. */
static gboolean dsn_fields_ok(const GByteArray *b, guint *rcpts)
{
    report_fields f;
    fields_parse(b, &f);
    *rcpts = f.groups->len > 0 ? f.groups->len - 1 : 0;
    gboolean ok = f.groups->len >= 2 && group_has(&f, 0, "reporting-mta");
    for (guint i = 1; ok && i < f.groups->len; i++)
        ok = group_has(&f, i, "final-recipient") && group_has(&f, i, "action") &&
             group_has(&f, i, "status");
    g_ptr_array_free(f.groups, TRUE);
    return ok;
}

/* RFC 8098 section 3.1: one group with Final-Recipient and Disposition. */
static gboolean mdn_fields_ok(const GByteArray *b)
{
    report_fields f;
    fields_parse(b, &f);
    gboolean ok = f.groups->len == 1 && group_has(&f, 0, "final-recipient") &&
                  group_has(&f, 0, "disposition");
    g_ptr_array_free(f.groups, TRUE);
    return ok;
}

/* A text/rfc822-headers part that holds headers and nothing after them. */
static gboolean headers_only(GMimeObject *o)
{
    GByteArray *b = leaf_bytes(o);
    if (b == NULL)
        return FALSE;
    gboolean ok = TRUE;
    const guint8 *d = b->data;
    for (guint i = 0; i < b->len; i++) {
        gboolean blank = (d[i] == '\n' && i + 1 < b->len && d[i + 1] == '\n') ||
                         (d[i] == '\n' && i + 2 < b->len && d[i + 1] == '\r' && d[i + 2] == '\n');
        if (!blank)
            continue;
        for (guint j = i + 1; j < b->len; j++)
            if (d[j] != '\r' && d[j] != '\n' && d[j] != ' ' && d[j] != '\t')
                ok = FALSE;
        break;
    }
    g_byte_array_free(b, TRUE);
    return ok;
}

/* ------------------------------------------------------------ the returned part */

/* The header fields of the header block at the start of B (up to its
 * empty line) as sjm_header*; *BODY_AT is where the body starts. */
static GPtrArray *header_fields(const guchar *b, gsize len, gsize *body_at)
{
    gsize end = len;
    *body_at = len;
    for (gsize i = 0; i + 1 < len; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n') {
            end = i + 1;
            *body_at = i + 2;
            break;
        }
        if (b[i + 1] == '\r' && i + 2 < len && b[i + 2] == '\n') {
            end = i + 1;
            *body_at = i + 3;
            break;
        }
    }
    GPtrArray *fields = sjm_mimehdr_split_block(b, end, 0);
    GPtrArray *headers = g_ptr_array_new_with_free_func(sjm_header_free);
    for (guint i = 0; i < fields->len; i++) {
        const sjm_mime_field *f = g_ptr_array_index(fields, i);
        if (*f->name != '\0')
            g_ptr_array_add(headers, sjm_header_new(f->name, f->value));
    }
    g_ptr_array_free(fields, TRUE);
    return headers;
}

/* The returned message as bytes: a message/rfc822 part's message as
 * GMime writes it back (raw header values, content not re-encoded). */
static GByteArray *message_bytes(GMimeObject *o)
{
    if (!GMIME_IS_MESSAGE_PART(o))
        return NULL;
    GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
    if (m == NULL)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    GByteArray *out = NULL;
    if (g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem) >= 0) {
        out = g_byte_array_new();
        GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        g_byte_array_append(out, b->data, b->len);
    }
    g_object_unref(mem);
    return out;
}

/* The refusal of a returned mark, as one static token. */
static const char *returned_refusal(const char *why)
{
    static const char *const known[][2] = {
        {"bad-mac", "returned-mark:bad-mac"},
        {"body-changed", "returned-mark:body-changed"},
        {"headers-changed", "returned-mark:headers-changed"},
        {"unbound-v1", "returned-mark:unbound-v1"},
        {"malformed", "returned-mark:malformed"},
        {"no-key-here", "returned-mark:no-key-here"},
        {"unkeyed", "returned-mark:unkeyed"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
        if (strcmp(why, known[i][0]) == 0)
            return known[i][1];
    return "returned-mark:refused";
}

/*
 * Is the message a report returns one this organisation journaled?  Its
 * header must carry a mark of ours that verifies (identity, MAC), every
 * field but trace fields must be as marked, and, when the whole message
 * came back, its body must have the digest the mark binds.  Recipients are not compared: the report goes back to the
 * sender, not to the people the mark covers.
 */
static gboolean returned_is_ours(const sjm_config *cfg, GMimeObject *orig, gboolean whole,
                                 const char **why)
{
    GByteArray *b = whole ? message_bytes(orig) : leaf_bytes(orig);
    if (b == NULL) {
        *why = "returned-part-unreadable";
        return FALSE;
    }
    gsize body_at;
    GPtrArray *headers = header_fields(b->data, b->len, &body_at);
    guchar digest[SJM_BODYHASH_LEN];
    gboolean have_digest = whole && sjm_bodyhash_data(b->data + MIN(body_at, b->len),
                                                      b->len - MIN(body_at, b->len), digest);
    gboolean ok = FALSE, any = FALSE;
    *why = "returns-unmarked";
    /* Fields added after marking are outside the MAC: bounded, so that no
     * letter fits into them. */
    if (!sjm_mark_returned_trace_ok(headers)) {
        *why = "returned-trace-too-long";
        g_ptr_array_free(headers, TRUE);
        g_byte_array_free(b, TRUE);
        return FALSE;
    }
    for (guint i = 0; !ok && i < headers->len; i++) {
        const sjm_header *h = g_ptr_array_index(headers, i);
        if (g_ascii_strcasecmp(h->name, SJM_JOURNAL_MARK_HEADER) != 0)
            continue;
        const char *w = NULL;
        if (whole && !have_digest) {
            w = "body-changed";
        } else {
            sjm_mark_check_opts o = {.body_digest = whole ? digest : NULL, .need_body = whole,
                                     .check_header = TRUE};
            ok = sjm_mark_verify(cfg, h->value, headers, &o, &w);
        }
        if (!ok && !any)
            *why = returned_refusal(w);
        any = TRUE;
    }
    g_ptr_array_free(headers, TRUE);
    g_byte_array_free(b, TRUE);
    return ok;
}

typedef enum { KIND_DSN, KIND_MDN } report_kind;

static gboolean check_report(const sjm_config *cfg, const sjm_txn *txn, report_kind kind,
                             const char **why)
{
    const char *label = kind == KIND_DSN ? "delivery-status" : "disposition-notification";
    char *rt = sjm_evidence_report_type(txn);
    gboolean labelled = rt != NULL && strcmp(rt, label) == 0;
    g_free(rt);
    if (!labelled) {
        *why = "no-report-label";
        return FALSE;
    }
    if (txn->body == NULL) {
        *why = "body-unread";
        return FALSE;
    }
    GMimeObject *top = parse_top(txn);
    if (top == NULL) {
        *why = "body-unreadable";
        return FALSE;
    }

    gboolean ok = FALSE;
    GByteArray *fields = NULL;
    *why = NULL;
    if (!GMIME_IS_MULTIPART(top) || !is_type(top, "multipart", "report")) {
        *why = "not-multipart";
        goto out;
    }
    GMimeMultipart *mp = GMIME_MULTIPART(top);
    int n = g_mime_multipart_get_count(mp);
    if (n < 2 || n > 3) {
        *why = n < 2 ? "too-few-parts" : "extra-parts";
        goto out;
    }
    gsize text_size = 0;
    if (!human_readable(g_mime_multipart_get_part(mp, 0), &text_size, why))
        goto out;

    GMimeObject *report = g_mime_multipart_get_part(mp, 1);
    if (!is_type(report, "message", label) || (fields = leaf_bytes(report)) == NULL) {
        *why = kind == KIND_DSN ? "no-delivery-status-part" : "no-disposition-part";
        goto out;
    }
    guint reported = 1;
    if (kind == KIND_DSN ? !dsn_fields_ok(fields, &reported) : !mdn_fields_ok(fields)) {
        *why = "report-fields";
        goto out;
    }
    /* A report listing a thousand recipients earns no room for a letter. */
    reported = MIN(reported, REPORT_RCPTS_MAX);
    if (text_size > (kind == KIND_MDN ? MDN_TEXT_MAX : DSN_TEXT_BASE + DSN_TEXT_PER_RCPT * reported)) {
        *why = "text-too-long";
        goto out;
    }
    if (kind == KIND_DSN && fields->len > DSN_STATUS_BASE + DSN_STATUS_PER_RCPT * reported) {
        *why = "report-too-long";
        goto out;
    }

    /* Structure proves nothing by itself (RFC 3461 RET=FULL returns a
     * whole message, and a report may say anything): what proves a report
     * is ours to skip is the mark of ours on what it returns. */
    if (n < 3) {
        *why = "returns-nothing";
        goto out;
    }
    GMimeObject *orig = g_mime_multipart_get_part(mp, 2);
    gboolean headers = is_type(orig, "text", "rfc822-headers") ||
                       is_type(orig, "message", "global-headers");
    gboolean whole = is_type(orig, "message", "rfc822") || is_type(orig, "message", "global");
    if (headers && !headers_only(orig)) {
        *why = "headers-part-has-body";
        goto out;
    }
    if (whole && kind == KIND_MDN) {
        *why = "returns-content";
        goto out;
    }
    if (!headers && !whole) {
        *why = "third-part-not-original";
        goto out;
    }
    ok = returned_is_ours(cfg, orig, whole, why);
out:
    if (fields)
        g_byte_array_free(fields, TRUE);
    g_object_unref(top);
    return ok;
}

gboolean sjm_evidence_dsn(const sjm_config *cfg, const sjm_txn *txn, const char **why)
{
    return check_report(cfg, txn, KIND_DSN, why);
}

gboolean sjm_evidence_mdn(const sjm_config *cfg, const sjm_txn *txn, const char **why)
{
    return check_report(cfg, txn, KIND_MDN, why);
}
