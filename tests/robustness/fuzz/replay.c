/*
 * replay.c - a main() for the fuzz targets without libFuzzer: calls
 * LLVMFuzzerTestOneInput once for each file named on the command line
 * (directories: each regular file in them, in name order), so any
 * compiler can replay the saved corpus and every past crash in
 * "make check".
 *
 * Prints "ok - NAME" per input (a crash or abort ends the run, which is
 * the failure) and "N passed, 0 failed".  Exit 1 when an input cannot be
 * read or no input was given.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replayed;

static int replay_file(const char *path)
{
    gchar *data;
    gsize len;
    GError *err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        printf("not ok - %s: %s\n", path, err->message);
        g_error_free(err);
        return 1;
    }
    /* An exact-size copy, so reading past the end is caught by ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    g_free(data);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    printf("ok - %s\n", path);
    replayed++;
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;
    int bad = 0;

    if (!d) {
        printf("not ok - cannot open %s\n", dir);
        return 1;
    }
    while ((n = g_dir_read_name(d)))
        g_ptr_array_add(names, g_build_filename(dir, n, NULL));
    g_dir_close(d);
    qsort(names->pdata, names->len, sizeof(char *), compare);
    for (guint i = 0; i < names->len; i++)
        if (g_file_test(g_ptr_array_index(names, i), G_FILE_TEST_IS_REGULAR))
            bad |= replay_file(g_ptr_array_index(names, i));
    g_ptr_array_free(names, TRUE);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;

    for (int i = 1; i < argc; i++)
        bad |= g_file_test(argv[i], G_FILE_TEST_IS_DIR) ? replay_dir(argv[i]) : replay_file(argv[i]);
    if (replayed == 0) {
        printf("not ok - no input replayed\n");
        bad = 1;
    }
    printf("%d passed, %d failed\n", replayed, bad);
    return bad;
}
