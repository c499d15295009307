/*
 * config.h - the filter's configuration (smime-journal-milter.conf(5)).
 *
 * Every key is one row of sjm_config_keys[] (milter/config_table.c):
 * section, name, type, default, the sjm_config field it fills and a
 * one-line description.  Loading, validation, defaults, --print-config
 * and --print-keys (which the man-page test reads) all walk that table,
 * so adding a key is one row there plus its field here.  Checks that
 * involve more than one key are a short list of named rules after the
 * table.
 *
 * The loader reads an INI file with GKeyFile, validates every key and
 * reports every problem at once as "FILE:LINE: ..." or
 * "FILE: key K in [section]: ..." (the key is not in the file).  A
 * loaded configuration is immutable and reference counted, so a SIGHUP
 * reload can swap it while transactions that started under the old one
 * finish with it.
 *
 * INTERFACE
 *   sjm_config_load (strict), sjm_config_new_default, sjm_config_ref and
 *   _unref, and the printers behind --print-config and --print-keys.
 *
 * ERROR CONTRACT
 *   sjm_config_load returns NULL and appends one "FILE:LINE: ..." or
 *   "FILE: key K in [section]: ..." per problem; warnings stay in
 *   c->warnings of a loaded configuration.
 */
#ifndef SJM_CONFIG_H
#define SJM_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <glib.h>
#include "netlist.h"

typedef enum { SJM_ON_ERROR_TEMPFAIL, SJM_ON_ERROR_ACCEPT } sjm_on_error;
/* SPLIT is only a value of [signatures] mixed: recipients who disagree
 * each get their own version (delivery.h). */
typedef enum { SJM_SIG_ACTION_PRESERVE, SJM_SIG_ACTION_STRIP, SJM_SIG_ACTION_SPLIT } sjm_sig_action;
typedef enum { SJM_VERIFY_INVALID_KEEP, SJM_VERIFY_INVALID_STRIP } sjm_verify_on_invalid;
typedef enum { SJM_JOURNAL_MODE_BCC, SJM_JOURNAL_MODE_REPORT } sjm_journal_mode;
typedef enum { SJM_SCOPE_GLOBAL, SJM_SCOPE_INTERNAL, SJM_SCOPE_EXTERNAL } sjm_journal_scope;

/* One "domain=mailbox" entry of [journal] sites. */
typedef struct sjm_site {
    char *domain;   /* lower case; "*.dom" matches subdomains */
    char *mailbox;
} sjm_site;

typedef struct sjm_config {
    int refcount;
    char *path;                 /* file it was loaded from */
    char **values;              /* effective text of key i of sjm_config_keys */
    char **warnings;            /* "FILE:LINE: warning: ..." for -n and the log */

    /* [milter] */
    char *socket;
    char *user;                 /* "" = do not change user */
    sjm_on_error on_error;
    sjm_netlist *trusted_networks;
    guint64 max_scan_size;      /* bytes */
    guint max_mime_depth;
    char *reinject;             /* HOST:PORT of the MTA's re-injection listener */
    guint reinject_timeout;     /* seconds, bound on every wait */
    char *reinject_daemon_name; /* the listener's {daemon_name}: admit tokens only */

    /* [signatures] */
    sjm_sig_action sig_action;
    char **strip_for;           /* NULL-terminated, lower-case glob patterns */
    char **preserve_for;
    sjm_sig_action sig_mixed;
    gboolean strip_attached_messages;

    /* [verify] */
    gboolean verify_enabled;
    char *trust_anchors;
    char **crl;                 /* paths, empty items dropped */
    char *authserv_id;          /* never NULL after load: defaults to host name */
    sjm_verify_on_invalid verify_on_invalid;
    struct sjm_trust *verify_trust; /* built at load when enabled (verify.h) */

    /* [journal] */
    gboolean journal_enabled;
    sjm_journal_mode journal_mode;
    char *journal_recipient;    /* "" when only sites are used */
    char *report_sender;        /* alternate journal mailbox: envelope sender of reports; "" = null sender */
    GPtrArray *sites;           /* of sjm_site* */
    sjm_journal_scope journal_scope;
    char **local_domains;       /* lower case; "*.dom" for subdomains */
    char **public_folders;      /* lower-case glob patterns */
    char **system_senders;      /* lower-case glob patterns */
    gboolean skip_null_sender;
    gboolean skip_read_reports;
    gboolean notify_never;
    gboolean protect;
    sjm_on_error journal_on_failure;
    gboolean journal_add_message_id; /* give a journaled message without one a Message-ID */
    /* journal evidence: system sources, mark authentication, statistics */
    sjm_netlist *system_hosts;  /* clients whose system_senders are believed */
    char **system_logins;       /* lower-case SASL login patterns likewise */
    char *mark_key_file;        /* "" = marks are unkeyed */
    gboolean accept_unkeyed_marks; /* migration: believe marks without a MAC */
    char *stats_dir;            /* durable per-day counters live here */
    char *store_path;           /* "" = the journal store is not on this host */
    guint store_warn_days;      /* warn when free space covers fewer days */
    GBytes *mark_key;           /* not a row: read from mark_key_file by a rule; NULL = none */

    /* [metrics] */
    char *metrics_listen;       /* "" = no Prometheus listener; else inet:PORT@HOST */
    /* [ledger] */
    char *ledger_dir;           /* "" = no ledger */
    char *ledger_key_file;      /* Ed25519 PEM key that signs checkpoints */
    char *ledger_origin;        /* "" = HOST/smime-journal-milter */
    guint ledger_checkpoint_interval;   /* seconds */
    guint ledger_checkpoint_entries;
    guint ledger_segment_entries;
} sjm_config;

/* What a key's text is and which C type its field has. */
typedef enum {
    SJM_KEY_STRING,         /* char *, as written */
    SJM_KEY_BOOL,           /* gboolean: true|false|yes|no|on|off|1|0 */
    SJM_KEY_ENUM,           /* an enum (int-sized): index of the value in .choices */
    SJM_KEY_SIZE,           /* guint64 bytes: 64M, 512K, 1G, 1000; not 0 */
    SJM_KEY_UINT,           /* guint from .min to .max */
    SJM_KEY_ADDRESS,        /* char *, lower case; "" allowed (none) */
    SJM_KEY_ADDRESS_LIST,   /* char **, lower-case mailboxes */
    SJM_KEY_GLOB_LIST,      /* char **, lower-case address patterns */
    SJM_KEY_DOMAIN_LIST,    /* char **, lower case, dom or *.dom */
    SJM_KEY_CIDR_LIST,      /* sjm_netlist * */
    SJM_KEY_SOCKET,         /* char *: local:/path, inet:PORT@HOST, inet6:PORT@HOST */
    SJM_KEY_SITES,          /* GPtrArray * of sjm_site *: "dom=mailbox; ..." */
    SJM_KEY_PATH,           /* char *: a file or directory */
    SJM_KEY_PATH_LIST,      /* char **: files, comma-separated */
    SJM_KEY_NTYPES
} sjm_key_type;

/* One known key: one row of sjm_config_keys[]. */
typedef struct sjm_config_key {
    const char *section;
    const char *key;
    sjm_key_type type;
    const char *default_value;  /* text, as an administrator would write it */
    size_t offset;              /* of the field in sjm_config */
    const char *doc;            /* one line, for --print-keys */
    const char *const *choices; /* SJM_KEY_ENUM: NULL-terminated allowed values */
    guint64 min, max;           /* SJM_KEY_UINT: allowed range */
} sjm_config_key;

extern const sjm_config_key sjm_config_keys[];   /* terminated by {NULL} */

/* The row of SECTION/KEY, or NULL when there is none. */
const sjm_config_key *sjm_config_find_key(const char *section, const char *key);

/* The compiled-in default path ($(sysconfdir)/smime-journal-milter.conf). */
const char *sjm_config_default_path(void);

/*
 * Load and validate PATH.  On success returns a configuration with
 * refcount 1 (its warnings, if any, in cfg->warnings).  On failure
 * returns NULL and appends one human-readable message per problem to
 * ERRORS (a GPtrArray of char*, g_free'd by the caller's free function).
 */
sjm_config *sjm_config_load(const char *path, GPtrArray *errors);

/* The same for TEXT, the contents of PATH read by someone else (-n reads
 * the file as root, then checks the files it names as the filter's user). */
sjm_config *sjm_config_load_text(const char *path, const char *text, GPtrArray *errors);

/* A configuration with every default, as if loaded from an empty file
 * but unchecked: journaling is enabled with no journal mailbox, which
 * sjm_config_load refuses.  For unit tests, which set what they need. */
sjm_config *sjm_config_new_default(void);

sjm_config *sjm_config_ref(sjm_config *cfg);
void sjm_config_unref(sjm_config *cfg);

/* Write the effective configuration as INI, every known key. */
void sjm_config_print(const sjm_config *cfg, FILE *out);

/* Write the table as annotated INI: each key's type, description and
 * default.  Needs no configuration file. */
void sjm_config_print_keys(FILE *out);

/* Parse "64M", "512k", "1G", "1000" into bytes; FALSE when malformed. */
gboolean sjm_parse_size(const char *text, guint64 *bytes);

#endif
