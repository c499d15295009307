/*
 * config.h - the filter's configuration (SPEC section 3).
 *
 * The loader reads an INI file with GKeyFile, validates every key and
 * reports every problem at once as "FILE:LINE: ..." or
 * "FILE: [section] key: ...".  A loaded configuration is immutable and
 * reference counted, so a SIGHUP reload can swap it while transactions
 * that started under the old one finish with it.
 */
#ifndef SJM_CONFIG_H
#define SJM_CONFIG_H

#include <stdio.h>
#include <glib.h>
#include "netlist.h"

typedef enum { SJM_ON_ERROR_TEMPFAIL, SJM_ON_ERROR_ACCEPT } sjm_on_error;
typedef enum { SJM_SIG_ACTION_PRESERVE, SJM_SIG_ACTION_STRIP } sjm_sig_action;
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

    /* [milter] */
    char *socket;
    char *user;                 /* "" = do not change user */
    sjm_on_error on_error;
    sjm_netlist *trusted_networks;
    char *trusted_networks_text;/* as configured, for --print-config */
    guint64 max_scan_size;      /* bytes */
    guint max_mime_depth;

    /* [signatures] */
    sjm_sig_action sig_action;
    char **strip_for;           /* NULL-terminated, lower-case glob patterns */
    char **preserve_for;
    sjm_sig_action sig_mixed;
    gboolean strip_attached_messages;

    /* [verify] */
    gboolean verify_enabled;
    char *trust_anchors;
    char **crl;
    char *authserv_id;          /* never NULL after load: defaults to host name */
    sjm_verify_on_invalid verify_on_invalid;

    /* [journal] */
    gboolean journal_enabled;
    sjm_journal_mode journal_mode;
    char *journal_recipient;    /* "" when only sites are used */
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
} sjm_config;

/* Description of one known key, for --print-config and the man page test. */
typedef struct sjm_config_key {
    const char *section;
    const char *key;
    const char *default_value;
} sjm_config_key;

extern const sjm_config_key sjm_config_keys[];   /* terminated by {NULL} */

/* The compiled-in default path ($(sysconfdir)/smime-journal-milter.conf). */
const char *sjm_config_default_path(void);

/*
 * Load and validate PATH.  On success returns a configuration with
 * refcount 1.  On failure returns NULL and appends one human-readable
 * message per problem to ERRORS (a GPtrArray of char*, g_free'd by the
 * caller's free function).
 */
sjm_config *sjm_config_load(const char *path, GPtrArray *errors);

/* A configuration with every default, as if loaded from an empty file. */
sjm_config *sjm_config_new_default(void);

sjm_config *sjm_config_ref(sjm_config *cfg);
void sjm_config_unref(sjm_config *cfg);

/* Write the effective configuration as INI, every known key. */
void sjm_config_print(const sjm_config *cfg, FILE *out);

/* Parse "64M", "512k", "1G", "1000" into bytes; FALSE when malformed. */
gboolean sjm_parse_size(const char *text, guint64 *bytes);

#endif
