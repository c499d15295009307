/*
 * spool.c - body storage.  Small bodies stay in a GByteArray; past the
 * limit the bytes move to a temporary file that is unlinked at once, so
 * nothing is left on disk if the filter dies, and a 50 MB attachment
 * costs the same memory as a 1 MB one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "spool.h"

struct sjm_spool {
    gsize memory_limit;
    GByteArray *mem;    /* NULL once on disk */
    int fd;             /* -1 while in memory */
    guint64 size;
};

sjm_spool *sjm_spool_new_with_limit(gsize memory_limit)
{
    sjm_spool *s = g_new0(sjm_spool, 1);
    s->memory_limit = memory_limit;
    s->mem = g_byte_array_new();
    s->fd = -1;
    return s;
}

sjm_spool *sjm_spool_new(void)
{
    return sjm_spool_new_with_limit(SJM_SPOOL_MEMORY_LIMIT);
}

void sjm_spool_free(sjm_spool *s)
{
    if (!s)
        return;
    if (s->mem)
        g_byte_array_free(s->mem, TRUE);
    if (s->fd >= 0)
        close(s->fd);
    g_free(s);
}

static gboolean write_all(int fd, const guint8 *p, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static gboolean move_to_disk(sjm_spool *s)
{
    const char *dir = g_getenv("TMPDIR");
    char *tmpl = g_build_filename(dir && *dir ? dir : "/tmp", "sjm-body-XXXXXX", NULL);
    int fd = g_mkstemp(tmpl);

    if (fd < 0) {
        g_free(tmpl);
        return FALSE;
    }
    unlink(tmpl);
    g_free(tmpl);
    if (!write_all(fd, s->mem->data, s->mem->len)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return FALSE;
    }
    g_byte_array_free(s->mem, TRUE);
    s->mem = NULL;
    s->fd = fd;
    return TRUE;
}

gboolean sjm_spool_append(sjm_spool *s, const void *data, gsize len)
{
    if (len == 0)
        return TRUE;
    if (s->mem && s->mem->len + len > s->memory_limit && !move_to_disk(s))
        return FALSE;
    if (s->mem) {
        g_byte_array_append(s->mem, data, (guint)len);
    } else {
        if (lseek(s->fd, 0, SEEK_END) < 0 || !write_all(s->fd, data, len))
            return FALSE;
    }
    s->size += len;
    return TRUE;
}

guint64 sjm_spool_size(const sjm_spool *s)
{
    return s->size;
}

gboolean sjm_spool_on_disk(const sjm_spool *s)
{
    return s->fd >= 0;
}

GMimeStream *sjm_spool_stream(sjm_spool *s)
{
    if (s->mem) {
        GMimeStream *m = g_mime_stream_mem_new();
        /* Borrow the bytes: the spool outlives the stream by contract. */
        g_mime_stream_mem_set_byte_array(GMIME_STREAM_MEM(m), s->mem);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(m), FALSE);
        return m;
    }
    int fd = dup(s->fd);
    if (fd < 0)
        return NULL;
    GMimeStream *f = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)s->size);
    return f;
}

gssize sjm_spool_read(sjm_spool *s, guint64 *offset, void *buf, gsize len)
{
    if (*offset >= s->size)
        return 0;
    if (len > s->size - *offset)
        len = (gsize)(s->size - *offset);
    if (s->mem) {
        memcpy(buf, s->mem->data + *offset, len);
        *offset += len;
        return (gssize)len;
    }
    for (;;) {
        ssize_t n = pread(s->fd, buf, len, (off_t)*offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            *offset += (guint64)n;
        return n;
    }
}
