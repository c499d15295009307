/*
 * journal.h - the journaling decision of SPEC section 5 and its
 * application to a verdict (journal recipients, journal marks).
 */
#ifndef SJM_JOURNAL_H
#define SJM_JOURNAL_H

#include "config.h"
#include "txn.h"

/* The header that marks a message as journaled by this filter. */
#define SJM_JOURNAL_MARK_HEADER "X-SMIME-Journal-Milter-Journaled"

typedef struct sjm_journal_decision {
    gboolean add;           /* TRUE: add the mailboxes below */
    const char *reason;     /* when !add: "disabled", "journal-mailbox", ... (static) */
    GPtrArray *mailboxes;   /* of char*, when add */
} sjm_journal_decision;

/* Is ADDR (normalized) one of the configured journal mailboxes? */
gboolean sjm_journal_is_mailbox(const sjm_config *cfg, const char *addr);

/* NULL, or a static 550 reply text refusing RCPT (protect). */
const char *sjm_journal_check_rcpt(const sjm_config *cfg, const sjm_txn *txn,
                                   const char *rcpt);

/* The decision of SPEC section 5, in its order.  Clear with _clear(). */
void sjm_journal_decide(const sjm_config *cfg, const sjm_txn *txn,
                        sjm_journal_decision *d);
void sjm_journal_decision_clear(sjm_journal_decision *d);

/* Decide and write into V: v->journal summary, rcpt adds, mark edits. */
void sjm_journal_apply(const sjm_config *cfg, const sjm_txn *txn, sjm_verdict *v);

#endif
