/*
 * spool.h - a byte buffer for message bodies that stays in memory up to
 * a threshold and then moves to an unlinked temporary file, so the
 * filter's memory does not grow with message size.
 *
 * INTERFACE
 *   sjm_spool_new, _append, _read, _size, _stream, _free.
 *
 * ERROR CONTRACT
 *   _append returns FALSE with errno set (disk full); nothing else
 *   fails.
 */
#ifndef SJM_SPOOL_H
#define SJM_SPOOL_H

#include <glib.h>
#include <gmime/gmime.h>

typedef struct sjm_spool sjm_spool;

/* Bytes kept in memory before spilling to a temp file. */
#define SJM_SPOOL_MEMORY_LIMIT (1024 * 1024)

/* TMPDIR (or /tmp) is used for the temporary file. */
sjm_spool *sjm_spool_new(void);
sjm_spool *sjm_spool_new_with_limit(gsize memory_limit);
void sjm_spool_free(sjm_spool *spool);

/* FALSE (errno set) when the temp file could not be written. */
gboolean sjm_spool_append(sjm_spool *spool, const void *data, gsize len);
guint64 sjm_spool_size(const sjm_spool *spool);
gboolean sjm_spool_on_disk(const sjm_spool *spool);

/*
 * A new GMime stream reading the spool from the start (the caller
 * unrefs it).  The spool must outlive the stream and must not be
 * appended to while the stream is in use.
 */
GMimeStream *sjm_spool_stream(sjm_spool *spool);

/*
 * Read sequentially: call with *offset = 0 first; returns bytes put in
 * BUF (0 at end, -1 on error).
 */
gssize sjm_spool_read(sjm_spool *spool, guint64 *offset, void *buf, gsize len);

#endif
