/*
 * reinject_guard.c - tokens for what this filter submits to the
 * re-injection listener, and the listener's admission check (format,
 * key and contract in reinject_guard.h).
 */
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "reinject_guard.h"

#define NONCE_BYTES 16
#define KEY_LABEL "sjm-reinject-token-key"

static const char *const VERDICT_NAMES[SJM_GUARD_VERDICT_COUNT] = {
    [SJM_GUARD_ADMITTED] = "admitted",
    [SJM_GUARD_NO_TOKEN] = "no-token",
    [SJM_GUARD_SEVERAL_TOKENS] = "several-tokens",
    [SJM_GUARD_MALFORMED] = "malformed",
    [SJM_GUARD_BAD_MAC] = "bad-mac",
    [SJM_GUARD_EXPIRED] = "expired",
    [SJM_GUARD_FUTURE] = "future",
    [SJM_GUARD_REPLAYED] = "replayed",
    [SJM_GUARD_NO_KEY] = "no-key",
    [SJM_GUARD_REPLAY_FULL] = "replay-memory-full",
};

const char *sjm_guard_verdict_name(sjm_guard_verdict v)
{
    return (unsigned)v < SJM_GUARD_VERDICT_COUNT ? VERDICT_NAMES[v] : "?";
}

gboolean sjm_guard_is_token_header(const char *name)
{
    return name != NULL && g_ascii_strcasecmp(name, SJM_REINJECT_TOKEN_HEADER) == 0;
}

/* ------------------------------------------------------------ replay */

struct sjm_guard_replay {
    GMutex lock;
    GHashTable *seen;       /* nonce -> expiry (gint64 in a pointer-sized box) */
    guint max;
    gint64 last_prune;
};

sjm_guard_replay *sjm_guard_replay_new(guint max)
{
    sjm_guard_replay *r = g_new0(sjm_guard_replay, 1);
    g_mutex_init(&r->lock);
    r->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->max = max;
    return r;
}

void sjm_guard_replay_free(sjm_guard_replay *r)
{
    if (r == NULL)
        return;
    g_hash_table_destroy(r->seen);
    g_mutex_clear(&r->lock);
    g_free(r);
}

sjm_guard_replay *sjm_guard_replay_process(void)
{
    static gsize once;
    static sjm_guard_replay *process;
    if (g_once_init_enter(&once)) {
        /* Five minutes of nonces at several hundred re-injections a second. */
        process = sjm_guard_replay_new(1u << 18);
        g_once_init_leave(&once, 1);
    }
    return process;
}

static gboolean expired_entry(gpointer key, gpointer value, gpointer now)
{
    (void)key;
    return *(gint64 *)value < *(gint64 *)now;
}

/* Remember NONCE until EXPIRY; the verdict (ADMITTED when it was new). */
static sjm_guard_verdict replay_remember(sjm_guard_replay *r, const char *nonce, gint64 now,
                                         gint64 expiry)
{
    sjm_guard_verdict v = SJM_GUARD_ADMITTED;

    g_mutex_lock(&r->lock);
    /* Forgetting expired nonces is safe: their tokens are refused by age. */
    if (now != r->last_prune || g_hash_table_size(r->seen) >= r->max) {
        g_hash_table_foreach_remove(r->seen, expired_entry, &now);
        r->last_prune = now;
    }
    if (g_hash_table_contains(r->seen, nonce)) {
        v = SJM_GUARD_REPLAYED;
    } else if (g_hash_table_size(r->seen) >= r->max) {
        v = SJM_GUARD_REPLAY_FULL;
    } else {
        gint64 *e = g_new(gint64, 1);
        *e = expiry;
        g_hash_table_insert(r->seen, g_strdup(nonce), e);
    }
    g_mutex_unlock(&r->lock);
    return v;
}

gboolean sjm_guard_replay_knows(sjm_guard_replay *r, const char *token_value)
{
    const char *n = token_value ? strstr(token_value, "; n=") : NULL;
    if (n == NULL)
        return FALSE;
    n += 4;
    char *nonce = g_strndup(n, strcspn(n, ";"));
    g_mutex_lock(&r->lock);
    gboolean known = g_hash_table_contains(r->seen, nonce);
    g_mutex_unlock(&r->lock);
    g_free(nonce);
    return known;
}

static guint64 counted[SJM_GUARD_VERDICT_COUNT];

void sjm_guard_count(sjm_guard_verdict v)
{
    if ((unsigned)v < SJM_GUARD_VERDICT_COUNT)
        __atomic_fetch_add(&counted[v], 1, __ATOMIC_RELAXED);
}

guint64 sjm_guard_counted(sjm_guard_verdict v)
{
    if ((unsigned)v >= SJM_GUARD_VERDICT_COUNT)
        return 0;
    return __atomic_load_n(&counted[v], __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ key */

/* The kernel's random bytes: OpenSSL's RAND_bytes would leave a DRBG
 * behind in every libmilter thread that drew a nonce. */
static gboolean random_bytes(unsigned char *buf, gsize len)
{
    return getrandom(buf, len, 0) == (ssize_t)len;
}

static gboolean hmac_sha256(const void *key, gsize keylen, const void *msg, gsize len,
                            unsigned char out[32])
{
    unsigned int outlen = 0;
    return HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen) != NULL && outlen == 32;
}

static GBytes *process_key(void)
{
    static gsize once;
    static GBytes *key;
    if (g_once_init_enter(&once)) {
        unsigned char k[32];
        /* NULL stays NULL: every token is then refused (fail-closed). */
        if (random_bytes(k, sizeof k))
            key = g_bytes_new(k, sizeof k);
        OPENSSL_cleanse(k, sizeof k);
        g_once_init_leave(&once, 1);
    }
    return key;
}

GBytes *sjm_guard_key(const sjm_config *cfg)
{
    if (cfg == NULL || cfg->mark_key == NULL) {
        GBytes *k = process_key();
        return k ? g_bytes_ref(k) : NULL;
    }
    /* A key of its own, derived, so that a token can never pass for a
     * journal mark or the other way round. */
    gsize len = 0;
    const void *mk = g_bytes_get_data(cfg->mark_key, &len);
    unsigned char k[32];
    if (!hmac_sha256(mk, len, KEY_LABEL, strlen(KEY_LABEL), k))
        return NULL;
    GBytes *key = g_bytes_new(k, sizeof k);
    OPENSSL_cleanse(k, sizeof k);
    return key;
}

/* ------------------------------------------------------------ MAC */

/* ADDR lower-cased without one pair of surrounding angle brackets. */
static char *normal_addr(const char *addr)
{
    gsize len = addr ? strlen(addr) : 0;
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
        return g_ascii_strdown(addr + 1, (gssize)len - 2);
    return g_ascii_strdown(addr ? addr : "", (gssize)len);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lower-case hex MAC for the token's fields; NULL when OpenSSL fails. */
static char *token_mac(GBytes *key, gint64 t, const char *nonce, const char *sender,
                       const char *const *rcpts, guint n_rcpts)
{
    GString *msg = g_string_new(NULL);
    char *from = normal_addr(sender);
    g_string_append_printf(msg, "sjm-reinject\nv=1\nt=%" G_GINT64_FORMAT "\nn=%s\nfrom=%s\n", t,
                           nonce, from);
    g_free(from);
    GPtrArray *to = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n_rcpts; i++)
        g_ptr_array_add(to, normal_addr(rcpts[i]));
    g_ptr_array_sort(to, cmp_str);
    for (guint i = 0; i < to->len; i++)
        g_string_append_printf(msg, "to=%s\n", (const char *)g_ptr_array_index(to, i));
    g_ptr_array_free(to, TRUE);

    gsize keylen = 0;
    const void *k = g_bytes_get_data(key, &keylen);
    unsigned char mac[32];
    char *hex = NULL;
    if (hmac_sha256(k, keylen, msg->str, msg->len, mac)) {
        hex = g_malloc(sizeof mac * 2 + 1);
        for (gsize i = 0; i < sizeof mac; i++)
            g_snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    g_string_free(msg, TRUE);
    return hex;
}

char *sjm_guard_token(GBytes *key, gint64 now, const char *nonce, const char *sender,
                      const char *const *rcpts, guint n_rcpts)
{
    char drawn[NONCE_BYTES * 2 + 1];
    if (key == NULL)
        return NULL;
    if (nonce == NULL) {
        unsigned char b[NONCE_BYTES];
        if (!random_bytes(b, sizeof b))
            return NULL;
        for (gsize i = 0; i < sizeof b; i++)
            g_snprintf(drawn + 2 * i, 3, "%02x", b[i]);
        nonce = drawn;
    }
    char *mac = token_mac(key, now, nonce, sender, rcpts, n_rcpts);
    if (mac == NULL)
        return NULL;
    char *value = g_strdup_printf("v=1; t=%" G_GINT64_FORMAT "; n=%s; mac=%s", now, nonce, mac);
    g_free(mac);
    return value;
}

/* ------------------------------------------------------------ check */

typedef struct parsed {
    gint64 t;
    char *nonce;
    char *mac;
} parsed;

static gboolean all_hex(const char *s, gsize min, gsize max)
{
    gsize n = strlen(s);
    if (n < min || n > max)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isxdigit(*s) || g_ascii_isupper(*s))
            return FALSE;
    return TRUE;
}

/* Exactly v, t, n and mac, in that order; whitespace around each ignored. */
static gboolean parse(const char *value, parsed *out)
{
    static const char *const tags[] = {"v", "t", "n", "mac"};
    char **parts = g_strsplit(value, ";", -1);
    gboolean ok = g_strv_length(parts) == G_N_ELEMENTS(tags);
    guint64 t = 0;

    for (guint i = 0; ok && i < G_N_ELEMENTS(tags); i++) {
        char *p = g_strstrip(parts[i]);
        gsize tl = strlen(tags[i]);
        if (strncmp(p, tags[i], tl) != 0 || p[tl] != '=') {
            ok = FALSE;
            break;
        }
        const char *v = p + tl + 1;
        switch (i) {
        case 0:
            ok = strcmp(v, "1") == 0;
            break;
        case 1:
            ok = g_ascii_string_to_unsigned(v, 10, 0, G_MAXINT64 / 2, &t, NULL);
            break;
        case 2:
            ok = all_hex(v, 16, 64);
            if (ok)
                out->nonce = g_strdup(v);
            break;
        case 3:
            ok = all_hex(v, 64, 64);
            if (ok)
                out->mac = g_strdup(v);
            break;
        }
    }
    g_strfreev(parts);
    out->t = (gint64)t;
    return ok;
}

sjm_guard_verdict sjm_guard_check(sjm_guard_replay *replay, GBytes *key, gint64 now,
                                  const char *const *values, guint n_values,
                                  const char *sender, const char *const *rcpts, guint n_rcpts)
{
    if (n_values == 0)
        return SJM_GUARD_NO_TOKEN;
    if (n_values > 1)
        return SJM_GUARD_SEVERAL_TOKENS;
    if (key == NULL)
        return SJM_GUARD_NO_KEY;

    parsed p = {0};
    sjm_guard_verdict v;
    if (!parse(values[0], &p)) {
        v = SJM_GUARD_MALFORMED;
        goto out;
    }
    char *want = token_mac(key, p.t, p.nonce, sender, rcpts, n_rcpts);
    gboolean good = want != NULL && CRYPTO_memcmp(want, p.mac, 64) == 0;
    g_free(want);
    /* The MAC first: age and replay are only worth saying of our own tokens. */
    if (!good)
        v = SJM_GUARD_BAD_MAC;
    else if (p.t < now - SJM_REINJECT_TOKEN_MAX_AGE)
        v = SJM_GUARD_EXPIRED;
    else if (p.t > now + SJM_REINJECT_TOKEN_MAX_SKEW)
        v = SJM_GUARD_FUTURE;
    else
        v = replay_remember(replay, p.nonce, now, p.t + SJM_REINJECT_TOKEN_MAX_AGE);
out:
    g_free(p.nonce);
    g_free(p.mac);
    return v;
}
