/*
 * mta_file.h - an MTA in memory: the message as an MTA holds it during
 * a milter transaction (header fields, envelope recipients, body), with
 * the operations of sjm_mta_ops applied to it the way Postfix applies
 * libmilter's requests.
 *
 * DESCRIPTION
 *   --inspect and the unit tests use it to see "the message as it would
 *   be delivered" through exactly the edits a live transaction sends.
 *   Each kind of edit can be made to fail, as an MTA that refuses it
 *   would, so the session's failure policy can be exercised without a
 *   real MTA.  Original header fields keep their raw bytes, so a message
 *   that is not edited is written back byte for byte.
 *
 * INTERFACE
 *   sjm_mta_file_ops (the MTA operations), the original message's setters,
 *   sjm_edits_apply, the header block and header list after edits, and
 *   sjm_mta_file_write.
 *
 * ERROR CONTRACT
 *   sjm_mta_file_write() returns FALSE on a write error (errno set).
 */
#ifndef SJM_MTA_FILE_H
#define SJM_MTA_FILE_H

#include <stdio.h>
#include "session.h"
#include "spool.h"

/* Edits an sjm_mta_file can be told to refuse (a bit set). */
enum {
    SJM_MTA_REFUSE_ADD_RCPT = 1 << 0,
    SJM_MTA_REFUSE_DEL_RCPT = 1 << 1,
    SJM_MTA_REFUSE_HEADER = 1 << 2,
    SJM_MTA_REFUSE_BODY = 1 << 3
};

/* "add-rcpt", "del-rcpt", "header", "body" into *BITS; FALSE if unknown. */
gboolean sjm_mta_file_parse_refuse(const char *name, unsigned *bits);

typedef struct sjm_mta_file_header {
    char *name;
    char *value;    /* folded lines joined with "\n", no CR */
    char *raw;      /* the field exactly as received, NULL once edited */
} sjm_mta_file_header;

typedef struct sjm_mta_file {
    GPtrArray *headers;     /* of sjm_mta_file_header*, in order */
    GPtrArray *rcpts;       /* of char*: envelope recipients, with "<>" */
    GPtrArray *rcpt_log;    /* of char*: "+<a> ARGS" / "-<a>", in order applied */
    sjm_spool *body;        /* the body as received, byte for byte */
    sjm_spool *new_body;    /* after replace_body, else NULL */
    unsigned refuse;        /* SJM_MTA_REFUSE_* */
    gboolean esmtp_args;    /* can take ESMTP args on added recipients */
} sjm_mta_file;

extern const sjm_mta_ops sjm_mta_file_ops;

sjm_mta_file *sjm_mta_file_new(void);
void sjm_mta_file_free(sjm_mta_file *m);

/* The message as received: one header field (RAW may be NULL). */
void sjm_mta_file_add_original_header(sjm_mta_file *m, const char *name,
                                      const char *value, const char *raw);
void sjm_mta_file_add_original_rcpt(sjm_mta_file *m, const char *addr);
/* Body bytes as received; FALSE on a spool error. */
gboolean sjm_mta_file_add_original_body(sjm_mta_file *m, const void *data, gsize len);

/*
 * The message as it would be delivered: header fields after the edits,
 * the empty line, then the body: as received when it was not replaced;
 * a replacement (CRLF, as a filter sends it) with LF line ends when CRLF
 * is false, for LF input files.
 */
gboolean sjm_mta_file_write(sjm_mta_file *m, FILE *out, gboolean crlf);

/*
 * The header fields after the edits as a CRLF header block ending in the
 * empty line (the split copy's header, rendered through the same edit
 * semantics as --inspect).  Fields with raw bytes are written as received.
 */
GString *sjm_mta_file_header_block(const sjm_mta_file *m);

/* A message holding HEADERS (sjm_header*) and no body yet, to see what
 * edits make of a header block (a split copy's, the delivered one). */
sjm_mta_file *sjm_mta_file_from_headers(const GPtrArray *headers);
/* Its header fields now, as new sjm_header* (the array frees them). */
GPtrArray *sjm_mta_file_header_list(const sjm_mta_file *m);

/*
 * EDITS (sjm_header_edit*) through any MTA's OPS, in order; with
 * SKIP_MARK the journal mark is left out.  FALSE when the MTA refused
 * one.  The session applies a plan with it, and the core renders
 * headers with it and the in-memory MTA.
 */
gboolean sjm_edits_apply(const GPtrArray *edits, const sjm_mta_ops *ops, void *mta,
                         gboolean skip_mark);

#endif
