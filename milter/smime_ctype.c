/*
 * smime_ctype.c - what an entity's labels say to the S/MIME scan: its
 * Content-Type read as mail clients read it (type/subtype and the
 * parameters the scan needs), whether that is a signature, a pkcs7-mime
 * blob or something merely named *.p7m, and what the top-level header
 * alone says when the body is not scanned.
 *
 * Interface: smime_int.h (smime_ctinfo_*, smime_is_*,
 * smime_looks_pkcs7_mime, smime_classify_headers).  Error contract: none fails; an unreadable
 * Content-Type is the given default.
 */
#include <stdio.h>      /* config.h uses FILE without including it */
#include <string.h>
#include "smime_int.h"

void smime_ctinfo_clear(ctinfo *ct)
{
    g_free(ct->type);
    g_free(ct->boundary);
    g_free(ct->protocol);
    g_free(ct->smime_type);
    g_free(ct->name);
    memset(ct, 0, sizeof *ct);
}

static char *lower_or_null(const char *s)
{
    return s != NULL ? g_ascii_strdown(s, -1) : NULL;
}

/* CT from the Content-Type VALUE, DFLT when it has none. */
void smime_ctinfo_parse(const char *value, const char *dflt, ctinfo *ct)
{
    memset(ct, 0, sizeof *ct);
    sjm_content_type t;
    if (!sjm_content_type_parse(value, SJM_CT_LENIENT, &t)) {
        sjm_content_type_clear(&t);
        ct->type = g_strdup(dflt);
        return;
    }
    ct->type = g_strdup_printf("%s/%s", t.type, t.subtype);
    const char *b = sjm_content_type_param(&t, "boundary");
    ct->boundary = (b != NULL && *b != '\0') ? g_strdup(b) : NULL;
    ct->protocol = lower_or_null(sjm_content_type_param(&t, "protocol"));
    ct->smime_type = lower_or_null(sjm_content_type_param(&t, "smime-type"));
    ct->name = g_strdup(sjm_content_type_param(&t, "name"));
    sjm_content_type_clear(&t);
}

gboolean smime_is_smime_sig_type(const char *t)
{
    return t != NULL && (strcmp(t, "application/pkcs7-signature") == 0 ||
                         strcmp(t, "application/x-pkcs7-signature") == 0);
}

gboolean smime_is_pkcs7_mime_type(const char *t)
{
    return strcmp(t, "application/pkcs7-mime") == 0 ||
           strcmp(t, "application/x-pkcs7-mime") == 0;
}

static gboolean name_is_p7m(const char *name)
{
    gsize n = name != NULL ? strlen(name) : 0;
    return n >= 4 && g_ascii_strcasecmp(name + n - 4, ".p7m") == 0;
}

/* pkcs7-mime, or an octet-stream whose name or filename ends in .p7m. */
gboolean smime_looks_pkcs7_mime(const ctinfo *ct, const char *disposition)
{
    if (smime_is_pkcs7_mime_type(ct->type))
        return TRUE;
    if (strcmp(ct->type, "application/octet-stream") != 0)
        return FALSE;
    if (name_is_p7m(ct->name))
        return TRUE;
    gboolean hit = FALSE;
    if (disposition != NULL) {
        GMimeContentDisposition *d = g_mime_content_disposition_parse(NULL, disposition);
        if (d != NULL) {
            hit = name_is_p7m(g_mime_content_disposition_get_parameter(d, "filename"));
            g_object_unref(d);
        }
    }
    return hit;
}

/* Without the body: what the top-level headers say. */
sjm_signature_outcome smime_classify_headers(const sjm_txn *txn)
{
    ctinfo ct;
    smime_ctinfo_parse(sjm_txn_header(txn, "Content-Type"), "text/plain", &ct);
    sjm_signature_outcome r = SJM_SIGNATURE_NONE;
    if (strcmp(ct.type, "multipart/signed") == 0 && smime_is_smime_sig_type(ct.protocol))
        r = SJM_SIGNATURE_PRESERVED;
    else if (smime_is_pkcs7_mime_type(ct.type) && ct.smime_type != NULL) {
        if (strcmp(ct.smime_type, "signed-data") == 0)
            r = SJM_SIGNATURE_PRESERVED;
        else if (strcmp(ct.smime_type, "enveloped-data") == 0 ||
                 strcmp(ct.smime_type, "authenveloped-data") == 0)
            r = SJM_SIGNATURE_ENCRYPTED;
    }
    smime_ctinfo_clear(&ct);
    return r;
}
