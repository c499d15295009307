/*
 * ledger_store.c - the ledger's segment files (ledger.h): framing,
 * reading in order, and cutting a torn tail.
 *
 * A segment holds records "LEN(4, big-endian) || ENTRY || LEAF(32)".
 * The leaf hash lets a reader find where a write was torn (length past
 * the end, or a hash that does not match the entry) and lets tools read
 * the tree without re-hashing.  Only the writer's last segment can be
 * torn: earlier ones were fsync'ed and closed before the next one was
 * created, so a bad record there is damage, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ledger.h"

/* An entry longer than this is not one we wrote (a header of this size
 * would be refused by every MTA long before). */
#define MAX_ENTRY (16u << 20)

void sjm_ledger_frame(const guchar *entry, gsize len, GByteArray *out)
{
    guchar be[4] = {(guchar)(len >> 24), (guchar)(len >> 16), (guchar)(len >> 8), (guchar)len};
    sjm_hash leaf;
    sjm_tree_leaf_hash(entry, len, &leaf);
    g_byte_array_append(out, be, 4);
    g_byte_array_append(out, entry, (guint)len);
    g_byte_array_append(out, leaf.b, SJM_HASH_LEN);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Segment names of DIR, in order (the zero-padded index sorts). */
static GPtrArray *segments(const char *dir, GError **err)
{
    GDir *d = g_dir_open(dir, 0, err);
    if (!d)
        return NULL;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL) {
        guint64 first;
        char tail[8];
        if (strlen(n) == strlen("ledger-") + 20 + 4
            && sscanf(n, "ledger-%20" G_GUINT64_FORMAT "%4s", &first, tail) == 2
            && strcmp(tail, ".sjl") == 0)
            g_ptr_array_add(names, g_strdup(n));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, by_name);
    return names;
}

void sjm_ledger_scan_result_clear(sjm_ledger_scan_result *r)
{
    g_free(r->last_segment);
    g_free(r->damage);
    memset(r, 0, sizeof *r);
}

/* Read one segment: FALSE stops everything (the visitor said so, or
 * READ failed).  *INTACT is the length of the good prefix. */
static gboolean scan_one(const char *path, gboolean all, guint64 *index, sjm_ledger_visit visit,
                         gpointer data,
                         guint64 *intact, guint64 *total, gboolean *stopped, GError **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot open %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    struct stat st;
    fstat(fileno(f), &st);
    *total = (guint64)st.st_size;
    *intact = 0;
    guchar *buf = NULL;
    gsize cap = 0;
    for (;;) {
        guchar be[4];
        if (fread(be, 1, 4, f) != 4)
            break;
        gsize len = ((gsize)be[0] << 24) | ((gsize)be[1] << 16) | ((gsize)be[2] << 8) | be[3];
        if (len > MAX_ENTRY)
            break;
        if (cap < len + SJM_HASH_LEN) {
            cap = len + SJM_HASH_LEN;
            buf = g_realloc(buf, cap);
        }
        if (fread(buf, 1, len + SJM_HASH_LEN, f) != len + SJM_HASH_LEN)
            break;
        sjm_hash leaf, stored;
        sjm_tree_leaf_hash(buf, len, &leaf);
        memcpy(stored.b, buf + len, SJM_HASH_LEN);
        gboolean good = memcmp(leaf.b, stored.b, SJM_HASH_LEN) == 0;
        if (!good && !all)
            break;
        if (visit && !visit(*index, buf, len, &stored, good, data)) {
            *stopped = TRUE;
            break;
        }
        (*index)++;
        *intact += 4 + len + SJM_HASH_LEN;
    }
    g_free(buf);
    if (ferror(f)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "cannot read %s", path);
        fclose(f);
        return FALSE;
    }
    fclose(f);
    return TRUE;
}

gboolean sjm_ledger_scan(const char *dir, gboolean all, sjm_ledger_visit visit, gpointer data,
                         sjm_ledger_scan_result *res, GError **err)
{
    memset(res, 0, sizeof *res);
    GPtrArray *names = segments(dir, err);
    if (!names)
        return FALSE;
    guint64 index = 0;
    gboolean ok = TRUE, stopped = FALSE;
    for (guint i = 0; ok && !stopped && i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        guint64 first = g_ascii_strtoull(n + strlen("ledger-"), NULL, 10);
        char *path = g_build_filename(dir, n, NULL);
        if (first != index && res->damage == NULL)
            res->damage = g_strdup_printf("%s starts at entry %" G_GUINT64_FORMAT
                                          " but the segments before it end at %" G_GUINT64_FORMAT,
                                          n, first, index);
        guint64 intact = 0, total = 0;
        ok = scan_one(path, all, &index, visit, data, &intact, &total, &stopped, err);
        if (ok && intact != total && i + 1 < names->len && res->damage == NULL)
            res->damage = g_strdup_printf("%s: a bad record at byte %" G_GUINT64_FORMAT
                                          " (entry %" G_GUINT64_FORMAT ") in a closed segment",
                                          n, intact, index);
        g_free(res->last_segment);
        res->last_segment = path;
        res->last_first = first;
        res->last_bytes = intact;
        res->torn_bytes = total - intact;
    }
    res->size = index;
    g_ptr_array_free(names, TRUE);
    return ok;
}

static gboolean fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return FALSE;
    gboolean ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

gboolean sjm_ledger_repair(const char *dir, const sjm_ledger_scan_result *res, GError **err)
{
    if (res->torn_bytes == 0 || res->last_segment == NULL)
        return TRUE;
    /* The cut bytes were never acknowledged to an MTA (an entry is on
     * disk before its message is accepted), but they are kept: a person
     * may want to see what a crash left. */
    char *base = g_path_get_basename(res->last_segment);
    char *keep = g_strdup_printf("%s/torn-%s-%" G_GUINT64_FORMAT, dir, base, res->last_bytes);
    gboolean ok = FALSE;
    int in = open(res->last_segment, O_RDWR);
    int out = open(keep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0 && out >= 0) {
        guchar buf[65536];
        gssize n;
        off_t off = (off_t)res->last_bytes;
        ok = TRUE;
        while (ok && (n = pread(in, buf, sizeof buf, off)) > 0) {
            ok = write(out, buf, (gsize)n) == n;
            off += n;
        }
        ok = ok && fsync(out) == 0 && ftruncate(in, (off_t)res->last_bytes) == 0 && fsync(in) == 0;
    }
    if (!ok)
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "cannot cut the torn tail of %s: %s", res->last_segment, g_strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (ok)
        fsync_dir(dir);
    g_free(keep);
    g_free(base);
    return ok;
}
