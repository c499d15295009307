/*
 * fuzz_config.c - libFuzzer target for the configuration loader: the
 * input is written to a temporary file and loaded as the daemon loads
 * its configuration at start and on SIGHUP.
 *
 * Contract checked besides memory safety: the loader either returns a
 * configuration and no error messages, or NULL and at least one message
 * naming the file; an accepted configuration prints and loads again
 * from its own printout (the -n / --print-config round trip).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

#define ENSURE(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_config: contract broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
    abort(); } } while (0)

static char *write_temp(const void *data, size_t size)
{
    char *path = g_strdup("/tmp/sjm-fuzz-cfg.XXXXXX");
    int fd = mkstemp(path);

    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
        perror("fuzz_config: temp file");
        exit(2);
    }
    close(fd);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = write_temp(data, size);
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *cfg = sjm_config_load(path, errors);

    if (cfg) {
        ENSURE(errors->len == 0);
        char *printed = NULL;
        size_t plen = 0;
        FILE *mem = open_memstream(&printed, &plen);
        sjm_config_print(cfg, mem);
        fclose(mem);
        char *path2 = write_temp(printed, plen);
        GPtrArray *errors2 = g_ptr_array_new_with_free_func(g_free);
        sjm_config *again = sjm_config_load(path2, errors2);
        if (!again)
            for (guint i = 0; i < errors2->len; i++)
                fprintf(stderr, "fuzz_config: reloading the printout: %s\n",
                        (char *)g_ptr_array_index(errors2, i));
        ENSURE(again != NULL);
        sjm_config_unref(again);
        g_ptr_array_free(errors2, TRUE);
        unlink(path2);
        g_free(path2);
        free(printed);
        sjm_config_unref(cfg);
    } else {
        ENSURE(errors->len > 0);
    }
    g_ptr_array_free(errors, TRUE);
    unlink(path);
    g_free(path);
    return 0;
}
