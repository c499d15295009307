/*
 * ledger_checkpoint.c - Ed25519 signed notes carrying tlog checkpoints
 * (ledger_checkpoint.h; c2sp.org/signed-note, c2sp.org/tlog-checkpoint).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "ledger_checkpoint.h"

#define ALG_ED25519 0x01
#define SIG_PREFIX "\xe2\x80\x94 "   /* U+2014 EM DASH, then a space */

#define CKPT_ERROR g_quark_from_static_string("sjm-checkpoint")

static void ossl_error(GError **err, const char *what)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    g_set_error(err, CKPT_ERROR, 1, "%s: %s", what, buf);
}

EVP_PKEY *sjm_ckpt_key_load(const char *path, GError **err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        g_set_error(err, CKPT_ERROR, 1, "cannot read %s: %s", path, g_strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) {
        ossl_error(err, path);
        return NULL;
    }
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        g_set_error(err, CKPT_ERROR, 1, "%s is not an Ed25519 key "
                    "(make one with: smime-journal-milter --ledger-keygen %s)", path, path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

gboolean sjm_ckpt_key_generate(const char *path, GError **err)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_keygen(c, &k) <= 0) {
        ossl_error(err, "cannot make an Ed25519 key");
        EVP_PKEY_CTX_free(c);
        return FALSE;
    }
    EVP_PKEY_CTX_free(c);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    gboolean ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1
                  && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (!ok)
        g_set_error(err, CKPT_ERROR, 1, "cannot write %s: %s", path, g_strerror(errno));
    if (f)
        fclose(f);
    else if (fd >= 0)
        close(fd);
    EVP_PKEY_free(k);
    return ok;
}

static gboolean raw_public(EVP_PKEY *key, guchar pub[32], GError **err)
{
    size_t len = 32;
    if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != 32) {
        ossl_error(err, "cannot read the public key");
        return FALSE;
    }
    return TRUE;
}

/* SHA-256(NAME || LF || 0x01 || PUB), first 4 bytes. */
static void key_id(const char *name, const guchar pub[32], guchar id[4])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    guchar alg = ALG_ED25519, d[32];
    gsize len = sizeof d;
    g_checksum_update(c, (const guchar *)name, (gssize)strlen(name));
    g_checksum_update(c, (const guchar *)"\n", 1);
    g_checksum_update(c, &alg, 1);
    g_checksum_update(c, pub, 32);
    g_checksum_get_digest(c, d, &len);
    g_checksum_free(c);
    memcpy(id, d, 4);
}

/* A key name is non-empty, without white space or '+' (signed-note). */
static gboolean name_ok(const char *name)
{
    if (!*name)
        return FALSE;
    for (const guchar *p = (const guchar *)name; *p; p++)
        if (*p <= 0x20 || *p == '+' || *p == 0x7f)
            return FALSE;
    return TRUE;
}

char *sjm_ckpt_verifier_key(const char *name, EVP_PKEY *key, GError **err)
{
    guchar pub[33], id[4];
    if (!name_ok(name)) {
        g_set_error(err, CKPT_ERROR, 1, "\"%s\" cannot name a key (no spaces, no '+')", name);
        return NULL;
    }
    pub[0] = ALG_ED25519;
    if (!raw_public(key, pub + 1, err))
        return NULL;
    key_id(name, pub + 1, id);
    char *b64 = g_base64_encode(pub, sizeof pub);
    char *out = g_strdup_printf("%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64);
    g_free(b64);
    return out;
}

char *sjm_ckpt_sign(const char *origin, guint64 size, const sjm_hash *root, EVP_PKEY *key,
                    GError **err)
{
    guchar pub[32], id[4], sig[4 + 64];
    size_t siglen = 64;
    if (!name_ok(origin)) {
        g_set_error(err, CKPT_ERROR, 1, "\"%s\" cannot be an origin (no spaces, no '+')", origin);
        return NULL;
    }
    if (!raw_public(key, pub, err))
        return NULL;
    key_id(origin, pub, id);
    char *b64root = g_base64_encode(root->b, SJM_HASH_LEN);
    char *text = g_strdup_printf("%s\n%" G_GUINT64_FORMAT "\n%s\n", origin, size, b64root);
    g_free(b64root);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    /* Ed25519 signs the message itself: no digest (EVP_DigestSign(3)). */
    if (!c || EVP_DigestSignInit(c, NULL, NULL, NULL, key) != 1
        || EVP_DigestSign(c, sig + 4, &siglen, (const guchar *)text, strlen(text)) != 1
        || siglen != 64) {
        ossl_error(err, "cannot sign the checkpoint");
        EVP_MD_CTX_free(c);
        g_free(text);
        return NULL;
    }
    EVP_MD_CTX_free(c);
    memcpy(sig, id, 4);
    char *b64sig = g_base64_encode(sig, sizeof sig);
    char *note = g_strdup_printf("%s\n" SIG_PREFIX "%s %s\n", text, origin, b64sig);
    g_free(b64sig);
    g_free(text);
    return note;
}

void sjm_checkpoint_clear(sjm_checkpoint *cp)
{
    g_free(cp->origin);
    memset(cp, 0, sizeof *cp);
}

/* Strict base64: decodes to exactly WANT bytes and re-encodes the same. */
static guchar *b64_exact(const char *text, gsize want)
{
    gsize len = 0;
    if (!*text)
        return NULL;
    guchar *d = g_base64_decode(text, &len);
    char *again = d ? g_base64_encode(d, len) : NULL;
    gboolean ok = d && len == want && strcmp(again, text) == 0;
    g_free(again);
    if (!ok) {
        g_free(d);
        return NULL;
    }
    return d;
}

gboolean sjm_ckpt_verify(const char *note, gsize len, const char *verifier_key,
                         sjm_checkpoint *cp, GError **err)
{
    memset(cp, 0, sizeof *cp);
    gboolean ok = FALSE;
    char *n = g_strndup(note, len);
    /* The base64 key may itself hold a '+': only the first two split. */
    char **vk = g_strsplit(verifier_key, "+", 3);
    guchar *vpub = NULL, *vsig = NULL;
    char **lines = NULL;
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *c = NULL;

    if (g_strv_length(vk) != 3 || !name_ok(vk[0]) || strlen(vk[1]) != 8
        || !(vpub = b64_exact(vk[2], 33)) || vpub[0] != ALG_ED25519) {
        g_set_error(err, CKPT_ERROR, 1, "malformed verifier key");
        goto out;
    }
    guchar id[4];
    key_id(vk[0], vpub + 1, id);
    char hex[9];
    g_snprintf(hex, sizeof hex, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    if (g_ascii_strcasecmp(hex, vk[1]) != 0) {
        g_set_error(err, CKPT_ERROR, 1, "verifier key: the key id does not match the key");
        goto out;
    }
    /* The text ends at the last blank line; signature lines follow. */
    const char *split = g_strrstr(n, "\n\n");
    if (!split || len != strlen(n) || n[len - 1] != '\n') {
        g_set_error(err, CKPT_ERROR, 1, "not a signed note");
        goto out;
    }
    gsize textlen = (gsize)(split - n) + 1;
    lines = g_strsplit(split + 2, "\n", -1);
    for (char **l = lines; *l && **l && !ok; l++) {
        if (!g_str_has_prefix(*l, SIG_PREFIX))
            continue;
        const char *rest = *l + strlen(SIG_PREFIX);
        const char *sp = strrchr(rest, ' ');
        if (!sp || (gsize)(sp - rest) != strlen(vk[0]) || strncmp(rest, vk[0], strlen(vk[0])) != 0)
            continue;
        g_free(vsig);
        if (!(vsig = b64_exact(sp + 1, 68)) || memcmp(vsig, id, 4) != 0)
            continue;
        if (!pk)
            pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, vpub + 1, 32);
        EVP_MD_CTX_free(c);
        c = EVP_MD_CTX_new();
        ok = pk && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pk) == 1
             && EVP_DigestVerify(c, vsig + 4, 64, (const guchar *)n, textlen) == 1;
    }
    if (!ok) {
        g_set_error(err, CKPT_ERROR, 1, "no valid signature by %s", vk[0]);
        goto out;
    }
    /* The checkpoint body: origin, size, root (extension lines allowed). */
    n[textlen] = '\0';
    char **body = g_strsplit(n, "\n", -1);
    guint64 size = 0;
    guchar *root = NULL;
    ok = g_strv_length(body) >= 4 && *body[0]
         && g_ascii_string_to_unsigned(body[1], 10, 0, G_MAXUINT64, &size, NULL)
         && (root = b64_exact(body[2], SJM_HASH_LEN)) != NULL;
    if (ok && strcmp(body[0], vk[0]) != 0) {
        g_set_error(err, CKPT_ERROR, 1, "checkpoint origin \"%s\" is not the key's name \"%s\"",
                    body[0], vk[0]);
        ok = FALSE;
    } else if (!ok) {
        g_set_error(err, CKPT_ERROR, 1, "signed, but not a checkpoint");
    } else {
        cp->origin = g_strdup(body[0]);
        cp->size = size;
        memcpy(cp->root.b, root, SJM_HASH_LEN);
    }
    g_free(root);
    g_strfreev(body);
out:
    ERR_clear_error();
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(pk);
    g_strfreev(lines);
    g_free(vsig);
    g_free(vpub);
    g_strfreev(vk);
    g_free(n);
    return ok;
}
