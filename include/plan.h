/*
 * plan.h - what the filter decided for one transaction, as typed values:
 * the one struct the core fills and everybody else reads.
 *
 * DESCRIPTION
 *   The session (session.c) opens a plan at end of header: the journal
 *   rules that need no body are decided there, every journal mark is
 *   verified there, once, and the plan says what the body is needed for.
 *   At end of message the core finishes it: the signature outcome (with
 *   the signatures touched and the verification results), the journal
 *   decision (reason, evidence, labels not believed, mailboxes), the MTA
 *   edits and the extra messages to submit (reports, the journal's
 *   original, split copies).  The session applies the edits through
 *   sjm_mta_ops and records what the MTA did in the plan; the summary
 *   line (summary.c), the statistics (stats.c) and the metrics only
 *   format or count the finished plan.  Nothing reads a log token back.
 *
 *   Every enum below has one table of names (plan.c); the summary line,
 *   --stats counter names and the man page's tokens all come from it.
 *
 * INTERFACE
 *   sjm_plan_new/free, the edit helpers (sjm_plan_add_header, ...), the
 *   one way to refuse a message (sjm_plan_tempfail, sjm_plan_reject),
 *   and the name functions (sjm_signature_outcome_name, ...).
 *
 * ERROR CONTRACT
 *   Nothing here fails; an unknown enum value prints as "?".
 */
#ifndef SJM_PLAN_H
#define SJM_PLAN_H

#include <glib.h>
#include "spool.h"
#include "verify.h"

/* ------------------------------------------------------------ MTA edits */

typedef enum {
    SJM_HDR_ADD,      /* append at the end of the header */
    SJM_HDR_INSERT,   /* insert at index (0 = very top) */
    SJM_HDR_CHANGE    /* change the index'th (1-based) occurrence of name; value NULL deletes */
} sjm_header_op;

typedef struct sjm_header_edit {
    sjm_header_op op;
    int index;
    char *name;
    char *value;
} sjm_header_edit;

typedef struct sjm_rcpt_add {
    char *addr;         /* without angle brackets */
    char *esmtp_args;   /* e.g. "NOTIFY=NEVER", or NULL */
} sjm_rcpt_add;

typedef enum {
    SJM_ACTION_CONTINUE,  /* deliver, after applying the edits */
    SJM_ACTION_TEMPFAIL,
    SJM_ACTION_REJECT
} sjm_action;

/* Why a message was refused; each cause has one reply (plan.c). */
typedef enum {
    SJM_REFUSAL_NONE,
    SJM_REFUSAL_INTERNAL,          /* the core failed (I/O, memory): on_error */
    SJM_REFUSAL_EDIT_FAILED,       /* the MTA refused a header or body edit: on_error */
    SJM_REFUSAL_JOURNAL_RCPT,      /* the MTA refused the journal recipient: on_failure */
    SJM_REFUSAL_JOURNAL_SUBMIT,    /* a journal message was not accepted: on_failure */
    SJM_REFUSAL_SPLIT_SUBMIT,      /* a split copy was not accepted: on_error */
    SJM_REFUSAL_NO_RECIPIENTS,     /* no envelope recipient (a file only) */
    SJM_REFUSAL_LEDGER,            /* the ledger entry could not be made durable */
    SJM_REFUSAL_COUNT
} sjm_refusal;

/* ------------------------------------------------------------ signatures */

typedef enum {
    SJM_SIGNATURE_NONE,         /* no S/MIME in the message */
    SJM_SIGNATURE_PRESERVED,    /* signed, left byte-identical */
    SJM_SIGNATURE_STRIPPED,     /* signatures removed (detached/opaque counts) */
    SJM_SIGNATURE_ENCRYPTED,    /* encrypted S/MIME, never touched */
    SJM_SIGNATURE_MALFORMED,    /* a signed structure we cannot account for: unchanged */
    SJM_SIGNATURE_SKIPPED,      /* larger than max_scan_size: unchanged */
    SJM_SIGNATURE_ERROR,        /* internal failure, per on_error */
    SJM_SIGNATURE_COUNT
} sjm_signature_outcome;

/* Whether [verify] ran, and what it could say. */
typedef enum {
    SJM_VERIFY_STATE_OFF,       /* [verify] enabled = false */
    SJM_VERIFY_STATE_NONE,      /* no signature to verify */
    SJM_VERIFY_STATE_SKIPPED,   /* body too large to scan */
    SJM_VERIFY_STATE_MALFORMED, /* the structure could not be read */
    SJM_VERIFY_STATE_RESULTS,   /* one result per signature, in results */
    SJM_VERIFY_STATE_COUNT
} sjm_verify_state;

typedef struct sjm_signature_plan {
    sjm_signature_outcome outcome;
    guint detached;             /* signatures stripped, by kind */
    guint opaque;
    const char *malformed_why;  /* static text, when MALFORMED */
    sjm_verify_state verify;
    GPtrArray *results;         /* of sjm_verify_result*, document order */
    gboolean signer_in_from;    /* some signer's address is in From: */
    guint authres_removed;      /* forged Authentication-Results deleted */
} sjm_signature_plan;

/* ------------------------------------------------------------ journal */

typedef enum {
    SJM_JOURNAL_ADDED,          /* journal copies requested */
    SJM_JOURNAL_SKIPPED,        /* a rule decided there is none (reason) */
    SJM_JOURNAL_DISABLED,       /* [journal] enabled = false */
    SJM_JOURNAL_FAILED,         /* the MTA refused the copy: tempfailed */
    SJM_JOURNAL_FAILED_ACCEPTED,/* refused, and on_failure = accept */
    SJM_JOURNAL_STATUS_COUNT
} sjm_journal_status;

/* The rule that decided a skip, in the order the rules run. */
typedef enum {
    SJM_SKIP_NONE,
    SJM_SKIP_JOURNAL_MAILBOX,
    SJM_SKIP_UPSTREAM,          /* journaled-upstream: a mark of ours */
    SJM_SKIP_DSN,               /* system:dsn */
    SJM_SKIP_MDN,               /* system:mdn */
    SJM_SKIP_SYSTEM_SENDER,     /* system:sender */
    SJM_SKIP_PUBLIC_FOLDER,
    SJM_SKIP_OUT_OF_SCOPE,
    SJM_SKIP_TEMPFAIL,          /* the message was refused before deciding */
    SJM_SKIP_NO_RECIPIENTS,
    SJM_SKIP_COUNT
} sjm_journal_reason;

/* What earned a skip beyond its reason. */
typedef enum {
    SJM_EVIDENCE_NONE,
    SJM_EVIDENCE_SYSTEM_HOST,
    SJM_EVIDENCE_SYSTEM_LOGIN,
    SJM_EVIDENCE_MARK_MAC,
    SJM_EVIDENCE_MARK_UNKEYED,  /* accept_unkeyed_marks, from a trusted relay */
    SJM_EVIDENCE_RETURNED_MARK, /* a report returns a message we marked */
    SJM_EVIDENCE_COUNT
} sjm_journal_evidence;

/* The label a sender wrote that earned no skip. */
typedef enum {
    SJM_LABEL_REPORT,           /* a report Content-Type */
    SJM_LABEL_DSN,
    SJM_LABEL_NULL_SENDER,
    SJM_LABEL_MDN,
    SJM_LABEL_SYSTEM_SENDER,
    SJM_LABEL_MARK,
    SJM_LABEL_COUNT
} sjm_journal_label;

typedef struct sjm_unbelieved {
    sjm_journal_label label;
    const char *why;            /* static token: "bad-mac", "returns-content", ... */
} sjm_unbelieved;

/* One journal mark found on the message, verified once. */
typedef struct sjm_mark_check {
    guint occurrence;           /* 1-based among the mark fields */
    gboolean believed;
    const char *why;            /* static token: "mac" or the refusal, e.g. "bad-mac" */
} sjm_mark_check;

typedef struct sjm_journal_plan {
    sjm_journal_status status;
    sjm_journal_reason reason;      /* when SKIPPED */
    sjm_journal_evidence evidence;
    GArray *unbelieved;             /* of sjm_unbelieved, in the order found */
    GPtrArray *mailboxes;           /* of char*: the copies requested (ADDED) */
    guint mark_fields;              /* journal mark fields on the message */
    GArray *marks;                  /* of sjm_mark_check, each verified at end of message */
    gboolean marks_checked;
    /* Decided at end of header?  FALSE while a rule waits for the body
     * (a report's structure); next_rule is where end of message goes on. */
    gboolean decided;
    guint next_rule;
} sjm_journal_plan;

/* ------------------------------------------------------------ extra messages */

typedef enum {
    SJM_EXTRA_REPORT,           /* an envelope journal report */
    SJM_EXTRA_JOURNAL_ORIGINAL, /* the signed original, for the journal */
    SJM_EXTRA_SPLIT,            /* the stripped copy for legacy recipients */
    SJM_EXTRA_COUNT
} sjm_extra_kind;

typedef enum {
    SJM_EXTRA_PLANNED,
    SJM_EXTRA_SUBMITTED,
    SJM_EXTRA_DESCRIBED,        /* --inspect: would be submitted */
    SJM_EXTRA_FAILED
} sjm_extra_status;

struct sjm_report;

typedef struct sjm_extra_message {
    sjm_extra_kind kind;
    sjm_extra_status status;
    char *sender;
    GPtrArray *rcpts;           /* of char* */
    const char *rcpt_args;      /* the same for every recipient (static) */
    GString *headers;           /* rendered header block (not for reports) */
    sjm_spool *body;            /* borrowed from the transaction, or owned_body */
    sjm_spool *owned_body;
    struct sjm_report *report;
    char *error;                /* why the submission failed */
} sjm_extra_message;

/* Problems that did not refuse the message but belong in the log. */
typedef enum {
    SJM_PROBLEM_EDIT_FAILED = 1 << 0,       /* an edit refused, on_error = accept */
    SJM_PROBLEM_NO_ORIGINAL_BODY = 1 << 1   /* a journal message could not be built */
} sjm_problem;

/* ------------------------------------------------------------ the plan */

typedef struct sjm_plan {
    gboolean opened;                /* sjm_core_open ran (end of header) */
    sjm_action action;
    sjm_refusal refusal;
    sjm_signature_plan sig;
    sjm_journal_plan journal;
    /* What the body is needed for (end of header). */
    gboolean body_for_smime;
    gboolean body_for_journal;      /* a report's structure decides a rule */
    gboolean body_for_digest;       /* a journal mark is verified or written */
    gboolean body_whole;            /* an extra message carries the whole original */
    /* The edits of the transaction, applied in this order by the session. */
    GPtrArray *header_edits;        /* of sjm_header_edit* */
    GPtrArray *rcpt_adds;           /* of sjm_rcpt_add* */
    GPtrArray *rcpt_dels;           /* of char*: envelope recipients to remove */
    sjm_spool *new_body;            /* replacement body, NULL = unchanged */
    /* Split: the stripped rendering for the legacy recipients. */
    GPtrArray *split_rcpts;         /* of char*, as the client gave them; NULL = no split */
    GPtrArray *split_edits;         /* of sjm_header_edit*: Content-* of the stripped copy */
    sjm_spool *split_body;
    GPtrArray *extras;              /* of sjm_extra_message*, in submission order */
    char *message_id_added;         /* the Message-ID given to a message without one, or NULL */
    guint problems;                 /* sjm_problem bits */
} sjm_plan;

sjm_plan *sjm_plan_new(void);
void sjm_plan_free(sjm_plan *p);

void sjm_plan_add_header(sjm_plan *p, sjm_header_op op, int index,
                         const char *name, const char *value);
/* The same into an edit list (the split copy's own edits). */
void sjm_edits_add(GPtrArray *edits, sjm_header_op op, int index,
                   const char *name, const char *value);
GPtrArray *sjm_edits_new(void);
void sjm_plan_add_rcpt(sjm_plan *p, const char *addr, const char *esmtp_args);
void sjm_plan_del_rcpt(sjm_plan *p, const char *addr);

/*
 * The one way to refuse: 451 4.3.0 with the cause's text (tempfail), or
 * 554 5.5.1 for no recipients (reject).  The first refusal stands.
 */
void sjm_plan_tempfail(sjm_plan *p, sjm_refusal cause);
void sjm_plan_reject(sjm_plan *p, sjm_refusal cause);
/* The reply of a refused plan: code, enhanced code and text (static). */
void sjm_plan_reply(const sjm_plan *p, const char **code, const char **xcode,
                    const char **text);

void sjm_plan_add_unbelieved(sjm_plan *p, sjm_journal_label label, const char *why);

/* The signature work undone (on an internal error). */
void sjm_plan_reset_signature(sjm_plan *p, sjm_signature_outcome outcome);

sjm_extra_message *sjm_extra_new(sjm_extra_kind kind, const char *sender,
                                 const char *rcpt_args);
void sjm_extra_free(sjm_extra_message *m);

/* ------------------------------------------------------------ names */

const char *sjm_signature_outcome_name(sjm_signature_outcome o);
const char *sjm_verify_state_name(sjm_verify_state s);
const char *sjm_journal_status_name(sjm_journal_status s);
/* "journal-mailbox", "journaled-upstream", "system:dsn", ... */
const char *sjm_journal_reason_name(sjm_journal_reason r);
const char *sjm_journal_evidence_name(sjm_journal_evidence e);
const char *sjm_journal_label_name(sjm_journal_label l);
const char *sjm_extra_kind_name(sjm_extra_kind k);
const char *sjm_refusal_name(sjm_refusal r);

/* signature=VALUE as the summary writes it: "stripped(detached)", ... */
char *sjm_plan_signature_token(const sjm_plan *p);
/* journal=VALUE: "added:A,B", "skipped:REASON", "disabled", "failed", ... */
char *sjm_plan_journal_token(const sjm_plan *p);

#endif
