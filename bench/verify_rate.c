/*
 * verify_rate.c - signatures verified per second by smime_verify.c, with
 * the trust store loaded once as the filter does (bench/verify.sh builds
 * and runs it; not part of the product).
 *
 *   verify_rate ANCHORS SECONDS NAME SIG.der [CONTENT] [NAME SIG.der [CONTENT]] ...
 *
 * A CONTENT file makes SIG a detached signature over it; "-" means an
 * opaque one.  For each signature: how many verifications fit in
 * SECONDS (wall clock, one thread), and the result each gave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "verify.h"

int main(int argc, char **argv)
{
    if (argc < 6 || (argc - 3) % 3 != 0) {
        fprintf(stderr, "usage: %s ANCHORS SECONDS NAME SIG.der CONTENT|- ...\n", argv[0]);
        return 2;
    }
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_trust *t = sjm_trust_load(argv[1], NULL, errors);
    if (t == NULL) {
        for (guint i = 0; i < errors->len; i++)
            fprintf(stderr, "%s\n", (char *)g_ptr_array_index(errors, i));
        return 1;
    }
    double seconds = atof(argv[2]);
    for (int a = 3; a + 2 < argc; a += 3) {
        gchar *sig, *content = NULL;
        gsize siglen, clen = 0;
        gboolean opaque = strcmp(argv[a + 2], "-") == 0;
        if (!g_file_get_contents(argv[a + 1], &sig, &siglen, NULL) ||
            (!opaque && !g_file_get_contents(argv[a + 2], &content, &clen, NULL))) {
            fprintf(stderr, "cannot read %s\n", argv[a + 1]);
            return 1;
        }
        gint64 t0 = g_get_monotonic_time(), now = t0;
        long n = 0;
        sjm_verify_result r = {0};
        while (now - t0 < (gint64)(seconds * 1e6)) {
            sjm_verify_result_clear(&r);
            if (opaque)
                sjm_verify_opaque(t, (guchar *)sig, siglen, time(NULL), &r);
            else
                sjm_verify_detached(t, (guchar *)sig, siglen, (guchar *)content, clen, time(NULL), &r);
            n++;
            if ((n & 15) == 0)
                now = g_get_monotonic_time();
        }
        now = g_get_monotonic_time();
        printf("%-16s %8.0f signatures/s  (%ld in %.2f s, %zu-byte content, result %s/%s)\n",
               argv[a], n / ((now - t0) / 1e6), n, (now - t0) / 1e6,
               opaque ? (size_t)siglen : (size_t)clen, sjm_verify_code_name(r.code), r.reason);
        sjm_verify_result_clear(&r);
        g_free(sig);
        g_free(content);
    }
    sjm_trust_free(t);
    g_ptr_array_free(errors, TRUE);
    return 0;
}
