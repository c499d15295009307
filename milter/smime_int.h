/*
 * smime_int.h - the private header of the S/MIME family (smime*.c), the
 * way Postfix's cleanup_*.c share cleanup.h.  Nothing outside the family
 * includes it; the public interface is include/smime.h.
 *
 *   smime_source.c  byte source over a spool, line reader, header blocks,
 *                   multipart delimiters
 *   smime_ctype.c   what Content-Type says: signature, pkcs7-mime, *.p7m
 *   smime_decode.c  transfer decoders (whole body, head, streaming reader)
 *   smime_cms.c     OpenSSL CMS peek and parse, the BER streaming walker
 *   smime_write.c   the output body and the top-level header edits
 *   smime_results.c [verify] of each signature found, results in order
 *   smime.c         the tree scan and the public API
 *   mimehdr.c       the MIME header grammar (public: include/mimehdr.h)
 *
 * Error contract of the family: bad input never fails a function; it
 * marks the scan malformed (smime_set_malformed) and the message passes
 * unchanged.  An internal failure (read error, spool write error, out of
 * descriptors) sets the source's io_error, which every loop checks and
 * which makes sjm_smime_process() return FALSE.
 */
#ifndef SJM_SMIME_INT_H
#define SJM_SMIME_INT_H

#include <gmime/gmime.h>
#include "mimehdr.h"
#include "smime.h"
#include "spool.h"

/* One part's header block; MIME part headers are a few hundred bytes, so
 * anything this large is hostile or broken and is not interpreted. */
#define HDR_BLOCK_MAX   (64 * 1024)
/* An attached message's header carries its whole trace; allow for it. */
#define MSG_HDR_BLOCK_MAX (1024 * 1024)
/* A detached signature is a few kilobytes even with a long chain. */
#define SIG_PART_MAX    (4 * 1024 * 1024)
/* Parts per message; bounds the CPU a crafted message can take. */
#define PARTS_MAX       100000
/* Never recurse deeper than this whatever max_mime_depth says. */
#define DEPTH_HARD_MAX  1000
#define WINDOW_SIZE     (64 * 1024)
#define LINE_PEEK       1024
/* Bytes of DER enough to read a ContentInfo's contentType. */
#define CMS_PEEK        64

/* ------------------------------------------------ smime_source.c */

/* A seekable byte source read through one window. */
typedef struct src {
    GMimeStream *stream;
    sjm_spool *spool;           /* owned when the source is an eContent */
    guint64 size;
    guchar *win;
    guint64 win_off;
    gsize win_len;
    gboolean io_error;
} src;

src *smime_src_new(sjm_spool *spool, gboolean owned);
void smime_src_free(src *s);
const guchar *smime_src_peek(src *s, guint64 off, gsize want, gsize *got);
gboolean smime_src_read(src *s, guint64 off, gsize len, guchar *buf);

/* Lines of [pos, end): each with its offset, full length and first bytes. */
typedef struct lines {
    src *s;
    guint64 pos, end;
    guchar head[LINE_PEEK];
} lines;

gboolean smime_lines_next(lines *L, guint64 *loff, guint64 *llen, const guchar **p, gsize *plen);

/* ------------------------------------------------------------ tree */

typedef enum { N_LEAF, N_MULTIPART, N_SIGNED, N_OPAQUE, N_MESSAGE } nkind;

/* One MIME entity, as byte offsets into its source. */
typedef struct node {
    nkind kind;
    src *s;
    guint64 start, body_start, end;
    gboolean is_message;    /* a message's header block: Content-* move on strip */
    GPtrArray *fields;      /* sjm_mime_field*; NULL for the top level (headers live in the txn) */
    gsize sep_off, sep_len; /* the blank line closing the header block, if any */
    gboolean strip;         /* this signed entity is replaced by its content */
    gboolean sig;           /* a signed entity the scan accepted */
    gboolean drop;          /* ... that [verify] on_invalid = strip wants gone */
    gboolean frozen;        /* ... inside another signature: never changed */
    gboolean changed;       /* strip, or something below is stripped */
    GPtrArray *kids;        /* changed children (multipart) or the one inner entity */
} node;

/*
 * A signature the scan found and accepted as S/MIME structure.
 *
 * CMS verification hook: scan_signed() and scan_pkcs7() in smime.c build
 * one of these, once the signed content has been scanned too, and hand it
 * to found_signature() there, which verifies it (smime_results.c).  Nothing
 * in it outlives the scan (sources are freed with the ctx).
 */
typedef struct sigref {
    gboolean detached;      /* multipart/signed; else pkcs7-mime signedData */
    /* MIME part path: "" for the message itself, "2.1" for the first part
     * of its second part; an attached message's body and an opaque
     * blob's content keep the number of their part. */
    const char *path;
    gboolean top_level;     /* the message's own body is the signature */
    /* The CMS blob, still transfer-encoded in BLOB's body: smime_decode_body()
     * gives its DER, smime_dec_init()/smime_dec_read() stream it (an
     * opaque blob may be large). */
    node *blob;
    const char *blob_cte;
    /* The signed content exactly as it was signed: detached, part 1 as on
     * the wire, its MIME headers included (RFC 1847); opaque, the
     * eContent the scan took out of the blob. */
    src *content;           /* read with smime_src_peek()/smime_src_read() */
    guint64 content_start, content_end;
} sigref;

/* The scan of one message. */
typedef struct ctx {
    const sjm_config *cfg;
    gboolean strip;
    guint max_depth;
    gsize stream_threshold; /* opaque blobs larger than this are walked, not parsed */
    guint parts;
    GString *path;          /* MIME part path of the entity being scanned */
    int detached, opaque;   /* signatures stripped */
    gboolean kept;          /* a signature seen and kept */
    gboolean encrypted;
    gboolean malformed;
    const char *why;        /* first malformation, for the log */
    GPtrArray *srcs;        /* eContent sources, freed at the end */
    GPtrArray *verified;    /* [verify] results (smime_results.c), or NULL */
    time_t verify_at;       /* the arrival time signatures are judged at */
} ctx;

void smime_set_malformed(ctx *c, const char *why);

/* Header block at N->start: sets fields, body_start; FALSE when it is unusable. */
gboolean smime_read_header_block(ctx *c, node *n);

typedef struct span { guint64 start, end; } span;

GArray *smime_split_parts(node *n, const char *boundary, gboolean *closed);

/* ------------------------------------------------- smime_ctype.c */

/* Lower-case "type/subtype" and selected parameters of a Content-Type. */
typedef struct ctinfo {
    char *type;         /* "text/plain" */
    char *boundary;
    char *protocol;     /* lower case */
    char *smime_type;   /* lower case */
    char *name;
} ctinfo;

void smime_ctinfo_parse(const char *value, const char *dflt, ctinfo *ct);
void smime_ctinfo_clear(ctinfo *ct);
gboolean smime_is_smime_sig_type(const char *t);
gboolean smime_is_pkcs7_mime_type(const char *t);
gboolean smime_looks_pkcs7_mime(const ctinfo *ct, const char *disposition);
sjm_signature_outcome smime_classify_headers(const sjm_txn *txn);

/* ------------------------------------------------ smime_decode.c */

GMimeContentEncoding smime_encoding_of(const char *cte);
GByteArray *smime_decode_body(node *n, const char *cte, guint64 max, gboolean *too_big);
GByteArray *smime_decode_head(node *n, const char *cte);

/* Transfer-decoded bytes of a node's body, read on demand. */
typedef struct dec {
    node *n;
    guint64 in_off;         /* next encoded byte to read */
    gboolean pass;          /* 7bit/8bit/binary: no decoding */
    GMimeEncoding st;
    guchar *out;
    gsize out_pos, out_len;
    guint64 pos;            /* decoded bytes consumed so far */
    gboolean failed;        /* a read or a sink write failed */
} dec;

void smime_dec_init(dec *d, node *n, const char *cte);
void smime_dec_done(dec *d);
gboolean smime_dec_read(dec *d, guchar *buf, guint64 len, sjm_spool *sink);

/* --------------------------------------------------- smime_cms.c */

int smime_cms_peek_type(const guchar *der, gsize len);
int smime_cms_der_signers(const GByteArray *der);

/* What smime_cms_take_content() found. */
typedef enum {
    CMS_CONTENT,            /* signedData with signers and content: in the spool */
    CMS_NO_CONTENT,         /* certs-only, or a signature without content */
    CMS_UNPARSEABLE,        /* not signedData at all */
    CMS_IO_ERROR,           /* internal failure (n->s->io_error is set) */
} cms_take;

cms_take smime_cms_take_content(node *n, const char *cte, gsize stream_threshold, sjm_spool *sink);

/* ----------------------------------------------- smime_results.c */

/*
 * [verify]: verify the signature R the scan found, before it is kept or
 * stripped, and keep the result; TRUE when on_invalid = strip wants the
 * signature gone.  FALSE (and nothing kept) when verification is off.
 */
gboolean smime_verify_found(ctx *c, const sigref *r);
/* The results in document order into P (Authentication-Results, log). */
void smime_results_apply(ctx *c, const sjm_txn *txn, sjm_plan *p);
void smime_results_free(ctx *c);

/* ------------------------------------------------- smime_write.c */

node *smime_resolve(node *n);
/* The body of X into a new spool, or NULL on a write failure. */
sjm_spool *smime_write_body(node *x);
/* Edits (into EDITS) making the message's Content-* fields those of X. */
void smime_top_header_edits(const sjm_txn *txn, node *x, GPtrArray *edits);

#endif
