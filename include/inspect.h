/*
 * inspect.h - the --inspect dry run: one message file through the same
 * session layer a live transaction takes, printing the message as it
 * would be delivered and the one-line summary.
 *
 * INTERFACE
 *   sjm_inspect_run, called by main.c for --inspect.
 *
 * ERROR CONTRACT
 *   A non-zero exit only when the tool itself cannot run (unreadable
 *   file, bad arguments); whatever the policy decided exits 0.
 */
#ifndef SJM_INSPECT_H
#define SJM_INSPECT_H

#include "config.h"

typedef struct sjm_inspect_args {
    const char *message_path;
    const char *from;           /* "" = null sender */
    GPtrArray *rcpts;           /* of const char* */
    const char *client_addr;    /* NULL = local submission */
    const char *auth_name;
    const char *output_path;    /* NULL = stdout */
    unsigned refuse;            /* SJM_MTA_REFUSE_* edits the simulated MTA refuses */
} sjm_inspect_args;

/* 0 when the dry run ran (whatever it decided), 1 when it could not. */
int sjm_inspect_run(sjm_config *cfg, const sjm_inspect_args *args);

#endif
