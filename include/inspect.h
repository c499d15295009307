/*
 * inspect.h - the --inspect dry run: one message file through the same
 * core a live transaction uses, printing the message as it would be
 * delivered and the one-line summary.
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
} sjm_inspect_args;

/* 0 when the dry run ran (whatever it decided), 1 when it could not. */
int sjm_inspect_run(const sjm_config *cfg, const sjm_inspect_args *args);

#endif
