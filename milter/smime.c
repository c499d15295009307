/*
 * smime.c - S/MIME detection and signature stripping.
 *
 * The signed content of a signature must reach the recipient byte for
 * byte, so nothing here re-serialises MIME objects: the body is scanned
 * for its structure (header blocks, boundary delimiter lines) and every
 * entity is remembered as byte offsets into its source.  Stripping then
 * writes the output as a sequence of copied ranges, which also keeps
 * memory flat: the body is read through a fixed window and written to a
 * spool that moves to disk when it grows.  GMime parses what needs real
 * MIME grammar (Content-Type and Content-Disposition parameters, RFC 2231,
 * quoting) and decodes transfer encodings; OpenSSL decides what a CMS
 * blob is.
 *
 * A message with any signed structure we cannot account for is left
 * exactly as it came (signature=malformed): half-stripping a message
 * whose structure we misread would be worse than not stripping at all.
 *
 * This file is the tree scan and the API of smime.h; the rest of the
 * family is listed in smime_int.h.  Interface: smime.h.  Error contract:
 * bad input sets signature=malformed and passes unchanged; an internal
 * failure (I/O, temp file) makes sjm_smime_process() return FALSE.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <string.h>
#include <openssl/objects.h>
#include "smime_int.h"
#include "authres.h"
#include "verify.h"

/* --------------------------------------------------------------- tree */

static void node_free(gpointer p)
{
    node *n = p;
    if (n == NULL)
        return;
    if (n->fields != NULL)
        g_ptr_array_free(n->fields, TRUE);
    if (n->kids != NULL)
        g_ptr_array_free(n->kids, TRUE);
    g_free(n);
}

static void node_add_kid(node *n, node *kid)
{
    if (n->kids == NULL)
        n->kids = g_ptr_array_new_with_free_func(node_free);
    g_ptr_array_add(n->kids, kid);
}

void smime_set_malformed(ctx *c, const char *why)
{
    if (!c->malformed)
        c->why = why;
    c->malformed = TRUE;
}

/* --------------------------------------------------------------- scan */

static node *scan_entity(ctx *c, src *s, guint64 start, guint64 end, guint depth,
                         gboolean is_message, gboolean frozen, const char *dflt_type);

/* Body of a top-level or part entity N, whose headers are already read. */
static void scan_body(ctx *c, node *n, const char *ctype, const char *dflt,
                      const char *cte, const char *disposition, guint depth, gboolean frozen);

static gboolean descend_ok(ctx *c, guint depth)
{
    if (depth + 1 > c->max_depth) {
        smime_set_malformed(c, "nesting deeper than max_mime_depth");
        return FALSE;
    }
    return TRUE;
}

/* Enter part I (from 1) below the entity at c->path; returns the mark
 * that leaves it again (g_string_truncate). */
static gsize path_enter(ctx *c, guint i)
{
    gsize mark = c->path->len;
    g_string_append_printf(c->path, mark > 0 ? ".%u" : "%u", i);
    return mark;
}

/*
 * Every signature the scan accepts as S/MIME structure comes here, its
 * signed content scanned and sound, and is verified before anything is
 * stripped ([verify]).  TRUE when on_invalid = strip wants it gone.
 */
static gboolean found_signature(ctx *c, const sigref *r)
{
    return smime_verify_found(c, r);
}

/* The signed entity N, of KIND, stands for CONTENT: stripped (for this
 * message's recipients, or as invalid: DROP) or kept. */
static void accept_signature(ctx *c, node *n, nkind kind, node *content, gboolean frozen,
                             gboolean drop)
{
    n->sig = TRUE;
    n->drop = drop;
    n->frozen = frozen;
    if ((c->strip || drop) && !frozen) {
        n->strip = TRUE;
        n->changed = TRUE;
        if (kind == N_SIGNED)
            c->detached++;
        else
            c->opaque++;
    } else {
        c->kept = TRUE;
    }
    n->kind = kind;
    node_add_kid(n, content);
}

/* Check a detached signature part: a CMS signedData with a signer. */
static gboolean signature_part_ok(ctx *c, node *sig)
{
    const char *ctv = sjm_mimehdr_field_value(sig->fields, "Content-Type");
    ctinfo ct;
    smime_ctinfo_parse(ctv, "text/plain", &ct);
    gboolean type_ok = smime_is_smime_sig_type(ct.type);
    smime_ctinfo_clear(&ct);
    if (!type_ok) {
        smime_set_malformed(c, "multipart/signed without a pkcs7-signature part");
        return FALSE;
    }
    gboolean too_big;
    const char *cte = sjm_mimehdr_field_value(sig->fields, "Content-Transfer-Encoding");
    GByteArray *der = smime_decode_body(sig, cte, SIG_PART_MAX, &too_big);
    if (der == NULL) {
        if (too_big)
            smime_set_malformed(c, "oversized signature part");
        return FALSE;
    }
    int signers = smime_cms_der_signers(der);
    g_byte_array_free(der, TRUE);
    if (signers < 1) {
        smime_set_malformed(c, "signature part is not a CMS signature");
        return FALSE;
    }
    return TRUE;
}

static void scan_signed(ctx *c, node *n, const ctinfo *ct, guint depth, gboolean frozen)
{
    if (ct->boundary == NULL) {
        smime_set_malformed(c, "multipart/signed without boundary");
        return;
    }
    if (!descend_ok(c, depth))
        return;
    gboolean closed;
    GArray *parts = smime_split_parts(n, ct->boundary, &closed);
    if (n->s->io_error) {
        g_array_free(parts, TRUE);
        return;
    }
    if (parts->len != 2 || !closed) {
        smime_set_malformed(c, parts->len < 2 ? "multipart/signed without a signature part"
                               : !closed ? "multipart/signed without close delimiter"
                                         : "multipart/signed with more than two parts");
        g_array_free(parts, TRUE);
        return;
    }
    span p1 = g_array_index(parts, span, 0), p2 = g_array_index(parts, span, 1);
    g_array_free(parts, TRUE);
    c->parts += 2;

    node *sig = g_new0(node, 1);
    sig->s = n->s;
    sig->start = p2.start;
    sig->end = p2.end;
    if (!smime_read_header_block(c, sig) || !signature_part_ok(c, sig)) {
        node_free(sig);
        return;
    }
    gsize mark = path_enter(c, 1);
    node *content = scan_entity(c, n->s, p1.start, p1.end, depth + 1, FALSE, frozen, "text/plain");
    g_string_truncate(c->path, mark);
    if (content != NULL) {
        const char *sig_cte = sjm_mimehdr_field_value(sig->fields, "Content-Transfer-Encoding");
        sigref r = {
            .detached = TRUE, .path = c->path->str, .top_level = depth == 0,
            .blob = sig, .blob_cte = sig_cte,
            .content = n->s, .content_start = p1.start, .content_end = p1.end,
        };
        gboolean drop = found_signature(c, &r);
        accept_signature(c, n, N_SIGNED, content, frozen, drop);
    }
    node_free(sig);
}

static void scan_pkcs7(ctx *c, node *n, const ctinfo *ct, const char *cte,
                       guint depth, gboolean frozen)
{
    /* Labelled pkcs7-mime: a broken blob is a broken S/MIME structure.
     * Merely named *.p7m: it may be anything, so a bad blob is left alone. */
    gboolean labelled = smime_is_pkcs7_mime_type(ct->type);

    GByteArray *head = smime_decode_head(n, cte);
    if (head == NULL)
        return;
    int nid = smime_cms_peek_type(head->data, head->len);
    g_byte_array_free(head, TRUE);

    if (nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData) {
        c->encrypted = TRUE;
        return;
    }
    if (nid != NID_pkcs7_signed) {
        if (nid == NID_undef && labelled)
            smime_set_malformed(c, "unparseable pkcs7-mime");
        return;
    }

    sjm_spool *sp = sjm_spool_new();
    cms_take got = smime_cms_take_content(n, cte, c->stream_threshold, sp);
    if (got != CMS_CONTENT) {
        if (got == CMS_UNPARSEABLE && labelled)
            smime_set_malformed(c, "unparseable pkcs7-mime signedData");
        /* else certs-only, a signature blob without content, or I/O */
        sjm_spool_free(sp);
        return;
    }
    if (!descend_ok(c, depth)) {
        sjm_spool_free(sp);
        return;
    }
    src *es = smime_src_new(sp, TRUE);
    g_ptr_array_add(c->srcs, es);

    node *content = scan_entity(c, es, 0, es->size, depth + 1, FALSE, frozen, "text/plain");
    if (content == NULL)
        return;
    sigref r = {
        .detached = FALSE, .path = c->path->str, .top_level = depth == 0,
        .blob = n, .blob_cte = cte,
        .content = es, .content_start = 0, .content_end = es->size,
    };
    gboolean drop = found_signature(c, &r);
    accept_signature(c, n, N_OPAQUE, content, frozen, drop);
}

static void scan_multipart(ctx *c, node *n, const ctinfo *ct, guint depth, gboolean frozen)
{
    if (ct->boundary == NULL)
        return;     /* not a usable multipart; clients show it as text */
    if (!descend_ok(c, depth))
        return;
    gboolean closed;
    GArray *parts = smime_split_parts(n, ct->boundary, &closed);
    const char *dflt = strcmp(ct->type, "multipart/digest") == 0 ? "message/rfc822" : "text/plain";
    /* The content of another kind of signature (PGP/MIME) must stay as
     * it is, or that signature breaks: look, but change nothing. */
    gboolean freeze = frozen || strcmp(ct->type, "multipart/signed") == 0;
    for (guint i = 0; i < parts->len && !c->malformed && !n->s->io_error; i++) {
        span sp = g_array_index(parts, span, i);
        if (++c->parts > PARTS_MAX) {
            smime_set_malformed(c, "too many MIME parts");
            break;
        }
        gsize mark = path_enter(c, i + 1);
        node *kid = scan_entity(c, n->s, sp.start, sp.end, depth + 1, FALSE, freeze, dflt);
        g_string_truncate(c->path, mark);
        if (kid != NULL && kid->changed) {
            node_add_kid(n, kid);
            n->changed = TRUE;
        } else {
            node_free(kid);
        }
    }
    g_array_free(parts, TRUE);
    n->kind = N_MULTIPART;
}

static void scan_message(ctx *c, node *n, const char *cte, guint depth, gboolean frozen)
{
    if (!c->cfg->strip_attached_messages)
        return;
    GMimeContentEncoding enc = smime_encoding_of(cte);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
        return;     /* not allowed for message/rfc822; leave it as it is */
    if (!descend_ok(c, depth))
        return;
    node *inner = scan_entity(c, n->s, n->body_start, n->end, depth + 1, TRUE, frozen, "text/plain");
    n->kind = N_MESSAGE;
    if (inner != NULL && inner->changed) {
        node_add_kid(n, inner);
        n->changed = TRUE;
    } else {
        node_free(inner);
    }
}

static void scan_body(ctx *c, node *n, const char *ctype, const char *dflt,
                      const char *cte, const char *disposition, guint depth, gboolean frozen)
{
    ctinfo ct;
    if (ctype != NULL && strlen(ctype) > HDR_BLOCK_MAX) {
        smime_set_malformed(c, "oversized Content-Type");
        return;
    }
    smime_ctinfo_parse(ctype, dflt, &ct);
    n->kind = N_LEAF;

    if (strcmp(ct.type, "multipart/signed") == 0 && smime_is_smime_sig_type(ct.protocol))
        scan_signed(c, n, &ct, depth, frozen);
    else if (g_str_has_prefix(ct.type, "multipart/"))
        scan_multipart(c, n, &ct, depth, frozen);
    else if (smime_looks_pkcs7_mime(&ct, disposition))
        scan_pkcs7(c, n, &ct, cte, depth, frozen);
    else if (strcmp(ct.type, "message/rfc822") == 0)
        scan_message(c, n, cte, depth, frozen);
    smime_ctinfo_clear(&ct);
}

static node *scan_entity(ctx *c, src *s, guint64 start, guint64 end, guint depth,
                         gboolean is_message, gboolean frozen, const char *dflt_type)
{
    if (c->malformed || s->io_error)
        return NULL;
    node *n = g_new0(node, 1);
    n->s = s;
    n->start = start;
    n->end = end;
    n->is_message = is_message;
    if (!smime_read_header_block(c, n)) {
        node_free(n);
        return NULL;
    }
    scan_body(c, n, sjm_mimehdr_field_value(n->fields, "Content-Type"), dflt_type,
              sjm_mimehdr_field_value(n->fields, "Content-Transfer-Encoding"),
              sjm_mimehdr_field_value(n->fields, "Content-Disposition"), depth, frozen);
    if (c->malformed || s->io_error) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* ---------------------------------------------------------------- API */

static const char *top_content_type(const sjm_txn *txn)
{
    return sjm_txn_header(txn, "Content-Type");
}

gboolean sjm_smime_wants_body(const sjm_config *cfg, const sjm_txn *txn, gboolean strip)
{
    if (!strip && !cfg->verify_enabled)
        return FALSE;
    ctinfo ct;
    smime_ctinfo_parse(top_content_type(txn), "text/plain", &ct);
    gboolean want = g_str_has_prefix(ct.type, "multipart/") ||
                    smime_looks_pkcs7_mime(&ct, sjm_txn_header(txn, "Content-Disposition")) ||
                    (cfg->strip_attached_messages && strcmp(ct.type, "message/rfc822") == 0);
    smime_ctinfo_clear(&ct);
    return want;
}

/*
 * Mark the tree below N for one rendering: every signature stripped
 * (STRIP_ALL) or only those [verify] wants gone; counts what is stripped
 * and kept.  The scan of a split keeps every node either rendering can
 * change, so the same tree serves both.  A kept signature is written as
 * it came, whatever is marked below it.
 */
static gboolean reselect(ctx *c, node *n, gboolean strip_all)
{
    gboolean changed = FALSE;
    for (guint i = 0; n->kids != NULL && i < n->kids->len; i++)
        changed = reselect(c, g_ptr_array_index(n->kids, i), strip_all) || changed;
    if (n->sig) {
        n->strip = (strip_all || n->drop) && !n->frozen;
        changed = n->strip;
        if (!n->strip)
            c->kept = TRUE;
        else if (n->kind == N_SIGNED)
            c->detached++;
        else
            c->opaque++;
    }
    n->changed = changed;
    return changed;
}

/* The body and top-level header edits of the tree as marked; FALSE on a write failure. */
static gboolean render(const sjm_txn *txn, node *top, sjm_spool **body, GPtrArray *edits)
{
    node *x = top->strip ? smime_resolve(top) : top;
    sjm_spool *out = smime_write_body(x);
    if (out == NULL)
        return FALSE;
    if (top->strip)
        smime_top_header_edits(txn, x, edits);
    sjm_spool_free(*body);
    *body = out;
    return TRUE;
}

static void set_outcome(sjm_plan *p, const ctx *c, gboolean changed)
{
    p->sig.detached = changed ? (guint)c->detached : 0;
    p->sig.opaque = changed ? (guint)c->opaque : 0;
    if (changed)
        p->sig.outcome = SJM_SIGNATURE_STRIPPED;
    else if (c->kept || c->detached || c->opaque)
        p->sig.outcome = SJM_SIGNATURE_PRESERVED;
    else
        p->sig.outcome = c->encrypted ? SJM_SIGNATURE_ENCRYPTED : SJM_SIGNATURE_NONE;
}

/* Split: the stripped copy first (the tree as scanned), then the
 * transaction's own rendering, which strips only what [verify] drops. */
static gboolean render_split(ctx *c, const sjm_txn *txn, node *top, sjm_plan *p)
{
    c->detached = c->opaque = 0;
    c->kept = FALSE;
    if (reselect(c, top, TRUE)) {
        p->split_edits = sjm_edits_new();
        if (!render(txn, top, &p->split_body, p->split_edits))
            return FALSE;
    }
    c->detached = c->opaque = 0;
    c->kept = FALSE;
    gboolean changed = reselect(c, top, FALSE);
    if (changed && !render(txn, top, &p->new_body, p->header_edits))
        return FALSE;
    set_outcome(p, c, changed);
    return TRUE;
}

gboolean sjm_smime_process(const sjm_config *cfg, const sjm_txn *txn,
                           sjm_smime_mode mode, sjm_plan *p)
{
    return sjm_smime_process_opts(cfg, txn, mode, NULL, p);
}

static void skipped(const sjm_config *cfg, const sjm_txn *txn, sjm_signature_outcome o,
                    sjm_plan *p)
{
    p->sig.outcome = o;
    if (cfg->verify_enabled) {  /* the header firewall still applies */
        p->sig.verify = o == SJM_SIGNATURE_SKIPPED ? SJM_VERIFY_STATE_SKIPPED : SJM_VERIFY_STATE_NONE;
        sjm_authres_apply(cfg, txn, NULL, p);
    }
}

gboolean sjm_smime_process_opts(const sjm_config *cfg, const sjm_txn *txn, sjm_smime_mode mode,
                                const sjm_smime_opts *opts, sjm_plan *p)
{
    gboolean strip = mode != SJM_SMIME_PRESERVE;
    if (txn->body == NULL) {
        /* The body was wanted but never came: it was too large to scan. */
        skipped(cfg, txn, sjm_smime_wants_body(cfg, txn, strip) ? SJM_SIGNATURE_SKIPPED
                                                                : smime_classify_headers(txn), p);
        return TRUE;
    }
    guint64 size = sjm_spool_size(txn->body);
    if (cfg->max_scan_size > 0 && size > cfg->max_scan_size) {
        skipped(cfg, txn, SJM_SIGNATURE_SKIPPED, p);
        return TRUE;
    }

    ctx c = {
        .cfg = cfg,
        .strip = strip,
        .max_depth = MIN(MAX(cfg->max_mime_depth, 1u), (guint)DEPTH_HARD_MAX),
        .stream_threshold = opts != NULL ? opts->stream_threshold : SJM_SMIME_STREAM_THRESHOLD,
        .path = g_string_new(NULL),
        .srcs = g_ptr_array_new_with_free_func((GDestroyNotify)smime_src_free),
        .verify_at = sjm_verify_time(),
    };
    src *body = smime_src_new(txn->body, FALSE);
    node *top = g_new0(node, 1);
    top->s = body;
    top->start = top->body_start = 0;
    top->end = body->size;
    top->is_message = TRUE;
    top->kind = N_LEAF;
    scan_body(&c, top, top_content_type(txn), "text/plain",
              sjm_txn_header(txn, "Content-Transfer-Encoding"),
              sjm_txn_header(txn, "Content-Disposition"), 0, FALSE);

    gboolean ok = TRUE;
    gboolean io_error = body->io_error;
    for (guint i = 0; i < c.srcs->len; i++)
        io_error = io_error || ((src *)g_ptr_array_index(c.srcs, i))->io_error;

    if (io_error) {
        ok = FALSE;
    } else if (c.malformed) {
        p->sig.outcome = SJM_SIGNATURE_MALFORMED;
        p->sig.malformed_why = c.why;
    } else if (mode == SJM_SMIME_SPLIT) {
        ok = render_split(&c, txn, top, p);
    } else if (top->changed) {
        ok = render(txn, top, &p->new_body, p->header_edits);
        set_outcome(p, &c, TRUE);
    } else {
        set_outcome(p, &c, FALSE);
    }

    node_free(top);
    smime_src_free(body);
    if (ok && cfg->verify_enabled) {
        p->sig.verify = c.malformed ? SJM_VERIFY_STATE_MALFORMED : SJM_VERIFY_STATE_NONE;
        smime_results_apply(&c, txn, p);
    }
    smime_results_free(&c);
    g_ptr_array_free(c.srcs, TRUE);
    g_string_free(c.path, TRUE);
    return ok;
}

void sjm_smime_init(void)
{
    g_mime_init();
}

void sjm_smime_shutdown(void)
{
    g_mime_shutdown();
}
