/*
 * mimehdr.h - the MIME header grammar shared by the S/MIME scan and the
 * journal's report detection: header field names, unfolding, header
 * blocks split into fields, and Content-Type values parsed into type,
 * subtype and parameters (quoted or not, in any case).
 *
 * Two readings of a Content-Type, because the two callers need opposite
 * answers when a value is broken:
 *  - SJM_CT_LENIENT reads it as mail clients do (GMime: RFC 2231
 *    parameters, comments, recovery from junk).  The S/MIME scan must see
 *    the structure the recipient's client will see.
 *  - SJM_CT_STRICT accepts only RFC 2045 syntax (comments and folding
 *    allowed) and fails on anything else, for decisions that must not be
 *    taken on a value a reader could see differently ("when in doubt,
 *    journal").
 *
 * INTERFACE
 *   see below: field names, unfolding, split blocks, CFWS, Content-Type
 *   parsing (lenient and strict).
 *
 * ERROR CONTRACT
 *   Nothing here fails but by returning FALSE/NULL on bad
 * input; no I/O, no logging.
 */
#ifndef SJM_MIMEHDR_H
#define SJM_MIMEHDR_H

#include <glib.h>

/* One header field of a block. */
typedef struct sjm_mime_field {
    char *name;         /* as written, white space before the colon dropped */
    char *value;        /* unfolded, without leading white space */
    guint64 raw_off;    /* the field's lines in its source, line ends included */
    guint64 raw_len;
} sjm_mime_field;

/*
 * Does the line P[0..LEN) start a header field ("name:" with printable
 * name characters, white space allowed before the colon)?  Sets *COLON to
 * the colon's index when it does.
 */
gboolean sjm_mimehdr_name_ok(const guchar *p, gsize len, gsize *colon);

/* P[0..LEN) without its line breaks and leading white space (g_free). */
char *sjm_mimehdr_unfold(const guchar *p, gsize len);

/*
 * The fields of the header block BLK[0..LEN), which must consist of
 * field lines and their continuations only (the caller found its end).
 * Each field's raw_off is BASE plus its offset in BLK.  Returns a new
 * array of sjm_mime_field* that frees them.
 */
GPtrArray *sjm_mimehdr_split_block(const guchar *blk, gsize len, guint64 base);

/* The first field named NAME (any case) of FIELDS (may be NULL), or NULL. */
const char *sjm_mimehdr_field_value(GPtrArray *fields, const char *name);

/*
 * P past folding white space and (nested, possibly escaped) comments
 * (RFC 5322 CFWS).  An unterminated comment ends at the end of the value
 * and sets *BAD (when BAD is not NULL).
 */
const char *sjm_mimehdr_skip_cfws(const char *p, gboolean *bad);

/* Is NAME a Content-* field (those that move with a MIME entity)? */
gboolean sjm_mimehdr_is_content_field(const char *name);

typedef struct sjm_mime_param {
    char *name;         /* lower case */
    char *value;        /* unquoted, case as written */
} sjm_mime_param;

typedef struct sjm_content_type {
    char *type;         /* lower case, "text" */
    char *subtype;      /* lower case, "plain" */
    GPtrArray *params;  /* sjm_mime_param*, in order, duplicates kept */
} sjm_content_type;

typedef enum { SJM_CT_LENIENT, SJM_CT_STRICT } sjm_ct_mode;

/*
 * Parse the Content-Type VALUE (folded or not) into *CT, which the caller
 * clears with sjm_content_type_clear() whatever the result.  FALSE when
 * VALUE is NULL or empty, and in strict mode when it is not RFC 2045
 * syntax; a lenient parse of junk gives GMime's application/octet-stream.
 */
gboolean sjm_content_type_parse(const char *value, sjm_ct_mode mode, sjm_content_type *ct);
void sjm_content_type_clear(sjm_content_type *ct);

/* The first parameter NAME (any case) of CT, or NULL. */
const char *sjm_content_type_param(const sjm_content_type *ct, const char *name);

/* How many parameters NAME (any case) CT has: a strict caller rejects two. */
guint sjm_content_type_param_count(const sjm_content_type *ct, const char *name);

#endif
