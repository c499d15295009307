/*
 * smime_results.c - [verify] inside the S/MIME scan: every signature the
 * scan accepts (found_signature in smime.c, a sigref) is verified here
 * by smime_verify.c before the strip decision is taken, and the results
 * go, in document order, to Authentication-Results (authres.c) once the
 * scan is done.  Part of the smime family (smime_int.h).
 *
 * Error contract: a signature that cannot be verified gets a result
 * (temperror for a read failure; the source's io_error then fails the
 * whole scan as usual); nothing here fails the message.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <stdlib.h>
#include <string.h>
#include "smime_int.h"
#include "authres.h"
#include "verify.h"

/* One result and the MIME path of the signed entity it is about. */
typedef struct found {
    char *entity;
    guint seq;              /* order found in */
    sjm_verify_result r;
} found;

static void found_free(gpointer p)
{
    found *f = p;
    g_free(f->entity);
    sjm_verify_result_clear(&f->r);
    g_free(f);
}

/* The part carrying the signature, numbered as IMAP does (RFC 3501):
 * a multipart/signed's part 2, an application/pkcs7-mime part itself (a
 * message body that is not multipart is part 1). */
static char *signature_part(const sigref *r)
{
    if (r->detached)
        return *r->path ? g_strdup_printf("%s.2", r->path) : g_strdup("2");
    return g_strdup(*r->path ? r->path : "1");
}

gboolean smime_verify_found(ctx *c, const sigref *r)
{
    if (!c->cfg->verify_enabled || c->cfg->verify_trust == NULL)
        return FALSE;
    if (c->verified == NULL)
        c->verified = g_ptr_array_new_with_free_func(found_free);
    found *f = g_new0(found, 1);
    f->entity = g_strdup(r->path);
    f->seq = c->verified->len;
    f->r.part = signature_part(r);
    g_ptr_array_add(c->verified, f);

    /* OpenSSL verifies whole blobs only: an opaque signature costs its
     * size in memory here (bounded by max_scan_size). */
    gboolean too_big;
    GByteArray *der = smime_decode_body(r->blob, r->blob_cte, G_MAXUINT32, &too_big);
    guint64 clen = r->content_end - r->content_start;
    guchar *content = NULL;
    gboolean ok = der != NULL;
    if (ok && r->detached) {
        content = g_try_malloc(MAX(clen, 1));
        ok = content != NULL && smime_src_read(r->content, r->content_start, clen, content);
    }
    if (!ok) {
        f->r.code = SJM_VERIFY_TEMPERROR;
        f->r.reason = "internal";
    } else if (r->detached) {
        sjm_verify_detached(c->cfg->verify_trust, der->data, der->len, content, clen,
                            c->verify_at, &f->r);
    } else {
        sjm_verify_opaque(c->cfg->verify_trust, der->data, der->len, c->verify_at, &f->r);
    }
    g_free(content);
    if (der != NULL)
        g_byte_array_free(der, TRUE);
    return c->cfg->verify_on_invalid == SJM_VERIFY_INVALID_STRIP &&
           sjm_verify_code_invalid(f->r.code);
}

/*
 * Document order.  The scan reports a signature after what it signs;
 * an outer signature's entity path is a prefix of the inner ones', or
 * equal to it (the content of an opaque signature keeps its number):
 * then the one found last is the outer one.
 */
static gint by_path(gconstpointer a, gconstpointer b)
{
    const found *fa = *(found *const *)a, *fb = *(found *const *)b;
    const char *p = fa->entity, *q = fb->entity;
    while (*p && *q) {
        char *pe, *qe;
        unsigned long x = strtoul(p, &pe, 10), y = strtoul(q, &qe, 10);
        if (x != y)
            return x < y ? -1 : 1;
        p = *pe == '.' ? pe + 1 : pe;
        q = *qe == '.' ? qe + 1 : qe;
    }
    if (*p != '\0' || *q != '\0')
        return (*p != '\0') - (*q != '\0');
    return fa->seq > fb->seq ? -1 : fa->seq < fb->seq;
}

void smime_results_apply(ctx *c, const sjm_txn *txn, sjm_plan *p)
{
    GPtrArray *results = g_ptr_array_new();
    if (c->verified != NULL) {
        g_ptr_array_sort(c->verified, by_path);
        for (guint i = 0; i < c->verified->len; i++)
            g_ptr_array_add(results, &((found *)g_ptr_array_index(c->verified, i))->r);
    }
    sjm_authres_apply(c->cfg, txn, results, p);
    g_ptr_array_free(results, TRUE);
}

void smime_results_free(ctx *c)
{
    if (c->verified != NULL)
        g_ptr_array_free(c->verified, TRUE);
    c->verified = NULL;
}
