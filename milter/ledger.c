/*
 * ledger.c - the ledger's writer (ledger.h): group commit, segments,
 * checkpoints, and the daemon's one ledger.
 *
 * Every end of message frames its entry (hashing it in its own thread),
 * queues it and sleeps on a condition; one writer thread takes all that
 * are queued, writes them with one write(2) and one fdatasync(2), and
 * wakes them.  N concurrent messages thus share one disk flush, and the
 * MTA hears "accepted" only for an entry that is on disk.  A failed
 * write is cut off again (ftruncate) so the segment stays a sequence of
 * whole records; its messages are refused and retried by their client.
 *
 * Checkpoints are signed by the writer (it owns the tree) and written to
 * disk by a thread of their own, so no message waits for their fsyncs.
 * The writer alone owns the tree's right edge (ledger_tree.h): memory
 * does not grow with the ledger.  A segment is closed (fsync'ed) after
 * segment_entries entries and the next one created, so no file grows
 * without bound and closed segments never change: they can be copied
 * to the archive's backup as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ledger.h"
#include "ledger_checkpoint.h"
#include "log.h"

/* One end of message waiting for its entry: woken alone, by its own
 * condition, so a batch of N wakes N threads and not N times all. */
typedef struct req {
    GByteArray *rec;
    gboolean done, ok;
    GCond cond;
} req;

struct sjm_ledger {
    char *dir;
    char *origin;
    EVP_PKEY *key;
    guint interval_s;
    guint every;
    guint64 segment_entries;
    /* Writer-owned. */
    int fd;
    guint64 seg_first, seg_count, seg_bytes;
    sjm_tree_edge edge;
    guint64 cp_size;
    gint64 cp_time;
    /* Shared, under mu. */
    GMutex mu;
    GCond work;
    GPtrArray *queue;
    gboolean stopping, checkpoint_wanted;
    gboolean idle;          /* the writer waits on work (else it will look again) */
    guint64 durable;
    GThread *thread;
    /* The checkpointer's, under mu. */
    GCond cp_cond;
    char *cp_note;          /* signed, not yet written */
    guint64 cp_note_size;
    gboolean cp_stop;
    GThread *cp_thread;
};

#define LEDGER_ERROR g_quark_from_static_string("sjm-ledger")

static gboolean fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return FALSE;
    gboolean ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Open (creating) the segment whose first entry is FIRST. */
static gboolean open_segment(sjm_ledger *l, guint64 first, GError **err)
{
    char *name = g_strdup_printf(SJM_LEDGER_SEGMENT_FMT, first);
    char *path = g_build_filename(l->dir, name, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    gboolean ok = fd >= 0 && fstat(fd, &st) == 0 && fsync_dir(l->dir);
    if (!ok) {
        g_set_error(err, LEDGER_ERROR, 1, "cannot open %s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
    } else {
        if (l->fd >= 0)
            close(l->fd);
        l->fd = fd;
        l->seg_first = first;
        l->seg_bytes = (guint64)st.st_size;
    }
    g_free(path);
    g_free(name);
    return ok;
}

/* ------------------------------------------------------------ checkpoints */

/* The signed checkpoint of the tree as it stands (writer-owned state). */
static char *sign_checkpoint(sjm_ledger *l)
{
    sjm_hash root;
    GError *err = NULL;
    sjm_tree_edge_root(&l->edge, &root);
    char *note = sjm_ckpt_sign(l->origin, l->edge.size, &root, l->key, &err);
    if (!note) {
        sjm_log(LOG_ERR, "ledger: cannot sign a checkpoint: %s", err->message);
        g_error_free(err);
        return NULL;
    }
    l->cp_size = l->edge.size;
    l->cp_time = g_get_monotonic_time();
    return note;
}

/* Each checkpoint is kept under its size (the audit checks them all
 * against the entries); "checkpoint" is the latest, for copying out. */
static void store_checkpoint(const char *dir, guint64 size, const char *note)
{
    GError *err = NULL;
    char *cpdir = g_build_filename(dir, "checkpoints", NULL);
    char *name = g_strdup_printf("%020" G_GUINT64_FORMAT, size);
    char *one = g_build_filename(cpdir, name, NULL);
    char *latest = g_build_filename(dir, "checkpoint", NULL);
    gboolean ok = g_mkdir_with_parents(cpdir, 0750) == 0
                  && g_file_set_contents(one, note, -1, &err)
                  && g_file_set_contents(latest, note, -1, &err);
    if (!ok) {
        sjm_log(LOG_ERR, "ledger: cannot write checkpoint %s: %s", one,
                err ? err->message : g_strerror(errno));
        g_clear_error(&err);
    } else {
        fsync_dir(cpdir);
        fsync_dir(dir);
    }
    g_free(latest);
    g_free(one);
    g_free(name);
    g_free(cpdir);
}

/*
 * Checkpoint files are written by a thread of their own: their four
 * fsyncs (file, rename, directories) would otherwise stall the entries
 * queued behind them, and every message waiting for its entry with them.
 * A newer checkpoint not yet written replaces an older one.
 */
static gpointer checkpointer(gpointer data)
{
    sjm_ledger *l = data;
    g_mutex_lock(&l->mu);
    for (;;) {
        while (l->cp_note == NULL && !l->cp_stop)
            g_cond_wait(&l->cp_cond, &l->mu);
        if (l->cp_note == NULL)
            break;
        char *note = l->cp_note;
        guint64 size = l->cp_note_size;
        l->cp_note = NULL;
        g_mutex_unlock(&l->mu);
        store_checkpoint(l->dir, size, note);
        g_free(note);
        g_mutex_lock(&l->mu);
    }
    g_mutex_unlock(&l->mu);
    return NULL;
}

/* Hand a checkpoint to the checkpointer (the writer thread). */
static void checkpoint(sjm_ledger *l)
{
    char *note = sign_checkpoint(l);
    if (!note)
        return;
    g_mutex_lock(&l->mu);
    g_free(l->cp_note);
    l->cp_note = note;
    l->cp_note_size = l->edge.size;
    g_cond_signal(&l->cp_cond);
    g_mutex_unlock(&l->mu);
}

/* ------------------------------------------------------------ the writer */

static gboolean write_all(int fd, const guchar *p, gsize len)
{
    while (len > 0) {
        gssize n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Write BATCH, durable; on failure leave the segment as it was. */
static gboolean write_batch(sjm_ledger *l, GPtrArray *batch)
{
    if (l->seg_count >= l->segment_entries) {
        GError *err = NULL;
        /* The closed segment was fdatasync'ed with its last batch. */
        if (!open_segment(l, l->edge.size, &err)) {
            sjm_log(LOG_ERR, "ledger: %s", err->message);
            g_error_free(err);
            return FALSE;
        }
        l->seg_count = 0;
    }
    GByteArray *all = g_byte_array_new();
    for (guint i = 0; i < batch->len; i++) {
        req *r = g_ptr_array_index(batch, i);
        g_byte_array_append(all, r->rec->data, r->rec->len);
    }
    gboolean ok = write_all(l->fd, all->data, all->len) && fdatasync(l->fd) == 0;
    if (!ok) {
        int e = errno;
        sjm_log(LOG_ERR, "ledger: cannot write %u entr%s to %s: %s; the messages are refused",
                batch->len, batch->len == 1 ? "y" : "ies", l->dir, g_strerror(e));
        if (ftruncate(l->fd, (off_t)l->seg_bytes) != 0 || fdatasync(l->fd) != 0)
            sjm_log(LOG_ERR, "ledger: cannot cut the failed write back: %s "
                    "(the next start repairs it)", g_strerror(errno));
    } else {
        l->seg_bytes += all->len;
        l->seg_count += batch->len;
        for (guint i = 0; i < batch->len; i++) {
            req *r = g_ptr_array_index(batch, i);
            sjm_hash leaf;
            memcpy(leaf.b, r->rec->data + r->rec->len - SJM_HASH_LEN, SJM_HASH_LEN);
            sjm_tree_edge_append(&l->edge, &leaf);
        }
    }
    g_byte_array_free(all, TRUE);
    return ok;
}

static gboolean checkpoint_due(sjm_ledger *l, gint64 now)
{
    if (l->edge.size == l->cp_size)
        return FALSE;
    return l->edge.size - l->cp_size >= l->every
        || now - l->cp_time >= (gint64)l->interval_s * G_USEC_PER_SEC;
}

static gpointer writer(gpointer data)
{
    sjm_ledger *l = data;
    g_mutex_lock(&l->mu);
    for (;;) {
        while (l->queue->len == 0 && !l->stopping && !l->checkpoint_wanted) {
            gint64 deadline = l->cp_time + (gint64)l->interval_s * G_USEC_PER_SEC;
            if (l->edge.size != l->cp_size && g_get_monotonic_time() >= deadline)
                break;
            l->idle = TRUE;
            g_cond_wait_until(&l->work, &l->mu,
                              l->edge.size != l->cp_size ? deadline
                              : g_get_monotonic_time() + (gint64)l->interval_s * G_USEC_PER_SEC);
            l->idle = FALSE;
        }
        GPtrArray *batch = l->queue;
        l->queue = g_ptr_array_new();
        gboolean stop = l->stopping && batch->len == 0;
        gboolean want = l->checkpoint_wanted;
        l->checkpoint_wanted = FALSE;
        g_mutex_unlock(&l->mu);

        gboolean ok = batch->len == 0 || write_batch(l, batch);
        g_mutex_lock(&l->mu);
        for (guint i = 0; i < batch->len; i++) {
            req *r = g_ptr_array_index(batch, i);
            r->done = TRUE;
            r->ok = ok;
            g_cond_signal(&r->cond);
        }
        l->durable = l->edge.size;
        g_mutex_unlock(&l->mu);
        g_ptr_array_free(batch, TRUE);

        /* Signing and writing a checkpoint happen after the messages are
         * answered: they prove the past, nobody waits for them. */
        if (stop || want || checkpoint_due(l, g_get_monotonic_time()))
            checkpoint(l);
        g_mutex_lock(&l->mu);
        if (stop)
            break;
    }
    g_mutex_unlock(&l->mu);
    return NULL;
}

/* ------------------------------------------------------------ open / close */

static gboolean visit_leaf(guint64 index, const guchar *entry, gsize len, const sjm_hash *leaf,
                           gboolean intact, gpointer data)
{
    (void)index;
    (void)intact;
    (void)entry;
    (void)len;
    sjm_tree_edge_append(data, leaf);
    return TRUE;
}

sjm_ledger *sjm_ledger_open(const sjm_ledger_opts *o, GError **err)
{
    if (g_mkdir_with_parents(o->dir, 0750) != 0) {
        g_set_error(err, LEDGER_ERROR, 1, "cannot create %s: %s", o->dir, g_strerror(errno));
        return NULL;
    }
    EVP_PKEY *key = sjm_ckpt_key_load(o->key_file, err);
    if (!key)
        return NULL;
    sjm_ledger *l = g_new0(sjm_ledger, 1);
    l->dir = g_strdup(o->dir);
    l->origin = g_strdup(o->origin);
    l->key = key;
    l->interval_s = MAX(o->checkpoint_interval, 1);
    l->every = MAX(o->checkpoint_entries, 1);
    l->segment_entries = MAX(o->segment_entries, 1);
    l->fd = -1;
    sjm_tree_edge_init(&l->edge);
    g_mutex_init(&l->mu);
    g_cond_init(&l->work);
    g_cond_init(&l->cp_cond);
    l->queue = g_ptr_array_new();

    sjm_ledger_scan_result res;
    gboolean ok = sjm_ledger_scan(o->dir, FALSE, visit_leaf, &l->edge, &res, err);
    if (ok && res.damage) {
        /* Fail closed: appending after damage would sign over it. */
        g_set_error(err, LEDGER_ERROR, 1, "%s is damaged: %s; run --audit on it and move "
                    "the damaged segments aside", o->dir, res.damage);
        ok = FALSE;
    }
    if (ok && res.torn_bytes > 0) {
        ok = sjm_ledger_repair(o->dir, &res, err);
        if (ok)
            sjm_log(LOG_WARNING, "ledger: %s ended in a torn write: dropped %" G_GUINT64_FORMAT
                    " byte(s) after entry %" G_GUINT64_FORMAT " (kept as torn-*); "
                    "none of them was acknowledged to the MTA",
                    res.last_segment, res.torn_bytes, res.size);
    }
    if (ok) {
        guint64 first = res.last_segment ? res.last_first : 0;
        ok = open_segment(l, first, err);
        l->seg_count = res.size - first;
    }
    sjm_ledger_scan_result_clear(&res);
    if (!ok) {
        sjm_ledger_close(l);
        return NULL;
    }
    l->durable = l->edge.size;
    /* A checkpoint of the tree as found: the first proof after a restart. */
    char *note = sign_checkpoint(l);
    if (note)
        store_checkpoint(l->dir, l->edge.size, note);
    g_free(note);
    l->cp_thread = g_thread_new("sjm-ledger-cp", checkpointer, l);
    l->thread = g_thread_new("sjm-ledger", writer, l);
    return l;
}

gboolean sjm_ledger_append(sjm_ledger *l, const guchar *entry, gsize len)
{
    req r = {g_byte_array_sized_new((guint)len + SJM_LEDGER_RECORD_OVERHEAD), FALSE, FALSE, {0}};
    sjm_ledger_frame(entry, len, r.rec);
    g_cond_init(&r.cond);
    g_mutex_lock(&l->mu);
    if (l->stopping) {
        g_mutex_unlock(&l->mu);
        g_cond_clear(&r.cond);
        g_byte_array_free(r.rec, TRUE);
        return FALSE;
    }
    g_ptr_array_add(l->queue, &r);
    /* A busy writer takes the queue when it comes back: no wake-up. */
    if (l->idle)
        g_cond_signal(&l->work);
    while (!r.done)
        g_cond_wait(&r.cond, &l->mu);
    g_mutex_unlock(&l->mu);
    g_cond_clear(&r.cond);
    g_byte_array_free(r.rec, TRUE);
    return r.ok;
}

guint64 sjm_ledger_size(sjm_ledger *l)
{
    g_mutex_lock(&l->mu);
    guint64 n = l->durable;
    g_mutex_unlock(&l->mu);
    return n;
}

gboolean sjm_ledger_checkpoint_now(sjm_ledger *l)
{
    g_mutex_lock(&l->mu);
    l->checkpoint_wanted = TRUE;
    g_cond_signal(&l->work);
    g_mutex_unlock(&l->mu);
    return TRUE;
}

void sjm_ledger_close(sjm_ledger *l)
{
    if (!l)
        return;
    if (l->thread) {
        g_mutex_lock(&l->mu);
        l->stopping = TRUE;
        g_cond_signal(&l->work);
        g_mutex_unlock(&l->mu);
        g_thread_join(l->thread);
    }
    if (l->cp_thread) {
        /* After the writer: its last checkpoint is written before this returns. */
        g_mutex_lock(&l->mu);
        l->cp_stop = TRUE;
        g_cond_signal(&l->cp_cond);
        g_mutex_unlock(&l->mu);
        g_thread_join(l->cp_thread);
    }
    g_free(l->cp_note);
    if (l->fd >= 0)
        close(l->fd);
    EVP_PKEY_free(l->key);
    g_ptr_array_free(l->queue, TRUE);
    g_mutex_clear(&l->mu);
    g_cond_clear(&l->work);
    g_cond_clear(&l->cp_cond);
    g_free(l->origin);
    g_free(l->dir);
    g_free(l);
}

/* ------------------------------------------------------------ the daemon's */

static sjm_ledger *the_ledger;
static gboolean configured;

char *sjm_ledger_origin(const sjm_config *cfg)
{
    if (cfg->ledger_origin && *cfg->ledger_origin)
        return g_strdup(cfg->ledger_origin);
    return g_strdup_printf("%s/smime-journal-milter", g_get_host_name());
}

gboolean sjm_ledger_start(const sjm_config *cfg)
{
    if (!cfg->ledger_dir || !*cfg->ledger_dir)
        return TRUE;
    configured = TRUE;
    char *origin = sjm_ledger_origin(cfg);
    sjm_ledger_opts o = {cfg->ledger_dir, cfg->ledger_key_file, origin,
                         cfg->ledger_checkpoint_interval, cfg->ledger_checkpoint_entries,
                         cfg->ledger_segment_entries};
    GError *err = NULL;
    the_ledger = sjm_ledger_open(&o, &err);
    if (!the_ledger) {
        /* Fail closed: every message is refused until the ledger works. */
        sjm_log(LOG_ERR, "ledger: cannot open: %s; every message is refused (451) until restart",
                err->message);
        g_error_free(err);
    } else {
        sjm_log(LOG_INFO, "ledger: %s, %" G_GUINT64_FORMAT " entries, origin %s", cfg->ledger_dir,
                sjm_ledger_size(the_ledger), origin);
    }
    g_free(origin);
    return the_ledger != NULL;
}

void sjm_ledger_stop(void)
{
    sjm_ledger_close(the_ledger);
    the_ledger = NULL;
    configured = FALSE;
}

gboolean sjm_ledger_record(const sjm_config *cfg, const sjm_txn *txn, const sjm_plan *p)
{
    if (!configured)
        return TRUE;
    if (!the_ledger)
        return FALSE;
    GString *e = sjm_ledger_entry_encode(cfg, txn, p, g_get_real_time());
    gboolean ok = sjm_ledger_append(the_ledger, (const guchar *)e->str, e->len);
    g_string_free(e, TRUE);
    return ok;
}
