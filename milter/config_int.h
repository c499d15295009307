/*
 * config_int.h - private interface between the configuration loader
 * (config.c), the value types (config_types.c) and the key table with
 * its cross-key rules (config_table.c).  Not for other modules.
 *
 * A value parser reads one key's text into its field and reports what is
 * wrong through sjm_key_problem; it always leaves the field in a state
 * its free function accepts, so a configuration with errors can still
 * be freed.
 */
#ifndef SJM_CONFIG_INT_H
#define SJM_CONFIG_INT_H

#include "config.h"

typedef struct sjm_loader {
    const char *path;
    GKeyFile *kf;           /* NULL: every key takes its default */
    GHashTable *lines;      /* "section\nkey" or "section" -> line number */
    GPtrArray *errors;
    GPtrArray *warnings;
} sjm_loader;

/* "FILE:LINE: key K in [S]: ..." (or "FILE: key K ..." when K is not in the file). */
void sjm_key_problem(sjm_loader *ld, const char *section, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* The same as a warning: "FILE:LINE: warning: key K in [S]: ...". */
void sjm_key_warning(sjm_loader *ld, const char *section, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* How one type is read, shown and freed. */
typedef struct sjm_key_ops {
    const char *name;       /* for --print-keys */
    void (*parse)(sjm_loader *ld, const sjm_config_key *k, const char *text, void *field);
    char *(*format)(const sjm_config_key *k, const void *field, const char *text);
    void (*free)(void *field);
} sjm_key_ops;

extern const sjm_key_ops sjm_key_types[SJM_KEY_NTYPES];

/* Checks and derived values that involve more than one key, run in
 * order after every row is loaded. */
typedef struct sjm_config_rule {
    const char *name;
    void (*apply)(sjm_loader *ld, sjm_config *c);
} sjm_config_rule;

extern const sjm_config_rule sjm_config_rules[];   /* terminated by {NULL} */

gboolean sjm_plausible_address(const char *a);

#endif
