/*
 * ledger_fill.c - append N entries to a ledger through the filter's own
 * writer (ledger.h), for the interoperability test: ledger_fill DIR KEY
 * ORIGIN FIRST N.  Closing writes the signed checkpoint of the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ledger.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: ledger_fill DIR KEY ORIGIN FIRST N\n");
        return 64;
    }
    sjm_ledger_opts o = {argv[1], argv[2], argv[3], 3600, 1000000, 7};
    GError *err = NULL;
    sjm_ledger *l = sjm_ledger_open(&o, &err);
    if (!l) {
        fprintf(stderr, "ledger_fill: %s\n", err->message);
        return 1;
    }
    long first = atol(argv[4]), n = atol(argv[5]);
    for (long i = first; i < first + n; i++) {
        char *e = g_strdup_printf(SJM_LEDGER_MAGIC "\ntime 2026-01-01T00:00:00.000000Z\n"
                                  "queue-id Q%ld\n", i);
        if (!sjm_ledger_append(l, (const guchar *)e, strlen(e))) {
            fprintf(stderr, "ledger_fill: append %ld failed\n", i);
            return 1;
        }
        g_free(e);
    }
    sjm_ledger_close(l);
    return 0;
}
