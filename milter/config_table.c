/*
 * config_table.c - every configuration key, one row each, and the few
 * rules that involve more than one key (smime-journal-milter.conf(5)).
 *
 * To add a key: add its field to struct sjm_config (include/config.h),
 * add one row below with the macro of its type, and document it in
 * man/smime-journal-milter.conf.5 and etc/smime-journal-milter.conf
 * (tests/ops/manpage-keys.sh fails until all three agree).  Loading,
 * validation, the default, --print-config, --print-keys and freeing
 * follow from the row.  A rule below is needed only when the key's
 * meaning depends on another key.
 *
 * The row macros check at compile time that the field has the C type
 * the key type fills, so a row cannot write a list into a boolean.  A
 * value the loader should refuse for now (a feature not yet built) is a
 * rule, not a special case in the row: delete the rule when it lands.
 * A new kind of value is one entry of sjm_key_type (config.h), one of
 * sjm_key_types[] (config_types.c) and one row macro here.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "config_int.h"
#include "metrics.h"
#include "reinject.h"
#include "verify.h"

/* offsetof, plus a compile error when the field is not of type T. */
#define FIELD(f, T) \
    (offsetof(sjm_config, f) + \
     0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((sjm_config *)0)->f), T) ? 1 : -1]))
/* Enum fields are read and written as int. */
#define ENUM_FIELD(f) \
    (offsetof(sjm_config, f) + 0 * sizeof(char[sizeof(((sjm_config *)0)->f) == sizeof(int) ? 1 : -1]))

#define STRING(s, k, def, f, doc)      {s, k, SJM_KEY_STRING, def, FIELD(f, char *), doc, NULL, 0, 0}
#define PATH(s, k, def, f, doc)        {s, k, SJM_KEY_PATH, def, FIELD(f, char *), doc, NULL, 0, 0}
#define PATH_LIST(s, k, def, f, doc)   {s, k, SJM_KEY_PATH_LIST, def, FIELD(f, char **), doc, NULL, 0, 0}
#define SOCKET(s, k, def, f, doc)      {s, k, SJM_KEY_SOCKET, def, FIELD(f, char *), doc, NULL, 0, 0}
#define BOOL(s, k, def, f, doc)        {s, k, SJM_KEY_BOOL, def, FIELD(f, gboolean), doc, NULL, 0, 0}
#define ENUM(s, k, def, f, ch, doc)    {s, k, SJM_KEY_ENUM, def, ENUM_FIELD(f), doc, ch, 0, 0}
#define SIZE(s, k, def, f, doc)        {s, k, SJM_KEY_SIZE, def, FIELD(f, guint64), doc, NULL, 0, 0}
#define UINT(s, k, def, f, lo, hi, doc) {s, k, SJM_KEY_UINT, def, FIELD(f, guint), doc, NULL, lo, hi}
#define ADDRESS(s, k, def, f, doc)     {s, k, SJM_KEY_ADDRESS, def, FIELD(f, char *), doc, NULL, 0, 0}
#define ADDRESS_LIST(s, k, def, f, doc) {s, k, SJM_KEY_ADDRESS_LIST, def, FIELD(f, char **), doc, NULL, 0, 0}
#define GLOB_LIST(s, k, def, f, doc)   {s, k, SJM_KEY_GLOB_LIST, def, FIELD(f, char **), doc, NULL, 0, 0}
#define DOMAIN_LIST(s, k, def, f, doc) {s, k, SJM_KEY_DOMAIN_LIST, def, FIELD(f, char **), doc, NULL, 0, 0}
#define CIDR_LIST(s, k, def, f, doc)   {s, k, SJM_KEY_CIDR_LIST, def, FIELD(f, sjm_netlist *), doc, NULL, 0, 0}
#define SITES(s, k, def, f, doc)       {s, k, SJM_KEY_SITES, def, FIELD(f, GPtrArray *), doc, NULL, 0, 0}

/* Allowed values in the order of their C enum. */
static const char *const ON_ERROR[] = {"tempfail", "accept", NULL};
static const char *const SIG_ACTION[] = {"preserve", "strip", NULL};
static const char *const SIG_MIXED[] = {"preserve", "strip", "split", NULL};
static const char *const ON_INVALID[] = {"keep", "strip", NULL};
static const char *const JOURNAL_MODE[] = {"bcc", "report", NULL};
static const char *const SCOPE[] = {"global", "internal", "external", NULL};

const sjm_config_key sjm_config_keys[] = {
    SOCKET("milter", "socket", "local:/run/smime-journal-milter/milter.sock", socket,
           "where the MTA connects: local:/path, inet:PORT@HOST or inet6:PORT@HOST"),
    STRING("milter", "user", "smime-journal-milter", user,
           "user[:group] to run as after opening the socket (empty: do not change)"),
    ENUM("milter", "on_error", "tempfail", on_error, ON_ERROR,
         "what an internal failure does to the one message it hits"),
    CIDR_LIST("milter", "trusted_networks", "127.0.0.0/8, ::1", trusted_networks,
              "clients whose journal marks and Authentication-Results are trusted"),
    SIZE("milter", "max_scan_size", "64M", max_scan_size,
         "larger messages pass unchanged (signature=skipped), logged"),
    UINT("milter", "max_mime_depth", "32", max_mime_depth, 1, 1000,
         "MIME nesting deeper than this is not descended (the part passes unchanged)"),
    STRING("milter", "reinject", "127.0.0.1:10026", reinject,
           "HOST:PORT of the MTA's SMTP listener for journal reports and split copies"),
    UINT("milter", "reinject_timeout", "30", reinject_timeout, 1, 3600,
         "seconds to wait for the re-injection listener at each step"),
    STRING("milter", "reinject_daemon_name", "MTA-reinject", reinject_daemon_name,
           "{daemon_name} of the re-injection listener, where only this filter's own "
           "submissions are admitted"),

    ENUM("signatures", "action", "preserve", sig_action, SIG_ACTION,
         "what a recipient gets when neither strip_for nor preserve_for matches"),
    GLOB_LIST("signatures", "strip_for", "", strip_for,
              "recipient patterns whose mail clients cannot process S/MIME"),
    GLOB_LIST("signatures", "preserve_for", "", preserve_for,
              "recipient patterns that always keep signatures (checked first)"),
    ENUM("signatures", "mixed", "preserve", sig_mixed, SIG_MIXED,
         "what a message gets when its recipients disagree"),
    BOOL("signatures", "strip_attached_messages", "false", strip_attached_messages,
         "also strip signatures inside attached messages (message/rfc822)"),

    BOOL("verify", "enabled", "false", verify_enabled,
         "verify signatures against trust_anchors"),
    PATH("verify", "trust_anchors", "/etc/ssl/certs/ca-certificates.crt", trust_anchors,
         "the certificate trust list: a file or a directory"),
    PATH_LIST("verify", "crl", "", crl, "CRL files; when set, revocation is checked"),
    STRING("verify", "authserv_id", "", authserv_id,
           "authserv-id of Authentication-Results (empty: the host name)"),
    ENUM("verify", "on_invalid", "keep", verify_on_invalid, ON_INVALID,
         "what happens to a signature that fails verification"),

    BOOL("journal", "enabled", "true", journal_enabled, "journal interpersonal messages"),
    ENUM("journal", "mode", "bcc", journal_mode, JOURNAL_MODE,
         "bcc adds a recipient; report sends an envelope journal report"),
    /* No default mailbox: a compiled-in one would journal into the void. */
    ADDRESS("journal", "recipient", "", journal_recipient,
            "organisation-wide journal mailbox; required unless sites is set or enabled = false"),
    ADDRESS("journal", "report_sender", "", report_sender,
            "alternate journal mailbox: envelope sender of journal reports, told when one fails"),
    SITES("journal", "sites", "", sites,
          "per-site journal mailboxes: \"corp.example=j-corp@archive.example; ...\""),
    ENUM("journal", "scope", "global", journal_scope, SCOPE,
         "which messages are journaled, by where sender and recipients are"),
    DOMAIN_LIST("journal", "local_domains", "", local_domains,
                "domains that are internal (*.dom also matches subdomains)"),
    GLOB_LIST("journal", "public_folders", "", public_folders,
              "recipient patterns that are public folders"),
    GLOB_LIST("journal", "system_senders", "", system_senders,
              "sender patterns of system traffic (replication, monitoring)"),
    BOOL("journal", "skip_null_sender", "true", skip_null_sender,
         "do not journal bounces and DSNs (MAIL FROM:<>)"),
    BOOL("journal", "skip_read_reports", "false", skip_read_reports,
         "do not journal read receipts whose original carries a mark of ours (a person's client sends them)"),
    BOOL("journal", "notify_never", "true", notify_never,
         "add the journal recipient with NOTIFY=NEVER where the MTA allows"),
    BOOL("journal", "protect", "true", protect,
         "refuse mail addressed to a journal mailbox from untrusted clients"),
    ENUM("journal", "on_failure", "tempfail", journal_on_failure, ON_ERROR,
         "what a message gets when its journal recipient cannot be added"),
    BOOL("journal", "add_message_id", "true", journal_add_message_id,
         "give a journaled message without a Message-ID one, so archives file it as its own"),
    CIDR_LIST("journal", "system_hosts", "", system_hosts,
              "clients (SMTP, not authenticated) whose system_senders are believed"),
    GLOB_LIST("journal", "system_logins", "", system_logins,
              "SASL login patterns whose system_senders are believed"),
    PATH("journal", "mark_key_file", "", mark_key_file,
         "key shared by the organisation's filters that authenticates journal marks"),
    BOOL("journal", "accept_unkeyed_marks", "false", accept_unkeyed_marks,
         "migration: believe unkeyed marks from trusted_networks"),
    PATH("journal", "stats_dir", "/var/lib/smime-journal-milter", stats_dir,
         "where the durable per-day journal counters live (--stats)"),
    PATH("journal", "store_path", "", store_path,
         "a path on the journal store, when on this host: daily free-space check"),
    UINT("journal", "store_warn_days", "30", store_warn_days, 0, 36500,
         "warn when the store's free space covers fewer days of growth (0: never)"),

    STRING("metrics", "listen", "", metrics_listen,
           "Prometheus listener: inet:PORT@HOST or inet6:PORT@HOST (empty: none)"),
    PATH("ledger", "dir", "", ledger_dir,
         "where the journal ledger's segments and checkpoints live (empty: no ledger)"),
    PATH("ledger", "key_file", "", ledger_key_file,
         "Ed25519 private key (PEM) that signs the ledger's checkpoints"),
    STRING("ledger", "origin", "", ledger_origin,
           "the checkpoints' origin line and key name (empty: HOST/smime-journal-milter)"),
    UINT("ledger", "checkpoint_interval", "60", ledger_checkpoint_interval, 1, 86400,
         "seconds between signed checkpoints while entries arrive"),
    UINT("ledger", "checkpoint_entries", "1000", ledger_checkpoint_entries, 1, 1000000000,
         "entries between signed checkpoints"),
    UINT("ledger", "segment_entries", "1000000", ledger_segment_entries, 1, 1000000000,
         "entries per segment file before the next one is started"),
    {NULL, NULL, 0, NULL, 0, NULL, NULL, 0, 0},
};

/* ------------------------------------------------------ cross-key rules */

static void authserv_id_host_name(sjm_loader *ld, sjm_config *c)
{
    (void)ld;
    if (*c->authserv_id == '\0') {
        g_free(c->authserv_id);
        c->authserv_id = g_strdup(g_get_host_name());
    }
}

/* Only checked: session.c splits it where it connects. */
static void reinject_host_port(sjm_loader *ld, sjm_config *c)
{
    if (!sjm_split_host_port(c->reinject, NULL, NULL))
        sjm_key_problem(ld, "milter", "reinject",
                        "\"%s\" is not HOST:PORT (an IPv6 address in brackets)", c->reinject);
}

/* The filter recognises its listener by this name; no name would make
 * every re-injected message look like new mail (and be refused). */
static void reinject_daemon_named(sjm_loader *ld, sjm_config *c)
{
    if (c->reinject_daemon_name[0] == '\0' || strpbrk(c->reinject_daemon_name, " \t") != NULL)
        sjm_key_problem(ld, "milter", "reinject_daemon_name",
                        "\"%s\" is not a daemon name (one word, as the MTA's {daemon_name})",
                        c->reinject_daemon_name);
}

static void check_readable(sjm_loader *ld, const char *section, const char *key, const char *path)
{
    if (access(path, R_OK) != 0)
        sjm_key_problem(ld, section, key, "cannot read \"%s\": %s", path, g_strerror(errno));
}

/*
 * The trust store is built here, once per load, so a SIGHUP re-reads the
 * trust list and CRLs and no message pays for reading them; the
 * configuration owns it (freed with it).  Files that exist but hold no
 * certificate or no CRL are problems too: verifying against an empty
 * list would fail every signature silently.
 */
static void verify_trust_store(sjm_loader *ld, sjm_config *c)
{
    if (!c->verify_enabled)
        return;
    guint before = ld->errors->len;
    check_readable(ld, "verify", "trust_anchors", c->trust_anchors);
    for (char **p = c->crl; *p; p++)
        check_readable(ld, "verify", "crl", *p);
    if (ld->errors->len != before)
        return;
    GPtrArray *why = g_ptr_array_new_with_free_func(g_free);
    c->verify_trust = sjm_trust_load(c->trust_anchors, c->crl, why);
    for (guint i = 0; i < why->len; i++) {
        const char *m = g_ptr_array_index(why, i);
        gboolean crl = g_str_has_prefix(m, "crl:");
        sjm_key_problem(ld, "verify", crl ? "crl" : "trust_anchors", "%s", m + (crl ? 5 : 15));
    }
    g_ptr_array_free(why, TRUE);
}

/* A ledger without its key could never be proven: refused at load, not
 * at the first message.  The key is read again (as the filter's user)
 * when the ledger opens. */
static void ledger_key(sjm_loader *ld, sjm_config *c)
{
    if (*c->ledger_dir == '\0')
        return;
    if (*c->ledger_key_file == '\0') {
        sjm_key_problem(ld, "ledger", "key_file",
                        "required when dir is set (make one with: "
                        "smime-journal-milter --ledger-keygen FILE)");
        return;
    }
    check_readable(ld, "ledger", "key_file", c->ledger_key_file);
    const char *o = c->ledger_origin;
    for (; *o; o++)
        if ((guchar)*o <= 0x20 || *o == '+' || *o == 0x7f) {
            sjm_key_problem(ld, "ledger", "origin", "\"%s\" holds a space or '+' "
                            "(it names the signing key, c2sp.org/signed-note)", c->ledger_origin);
            return;
        }
}

/* There is no default journal mailbox: journaling is on by default, so
 * an administrator must name where the copies go, or say there are none. */
static void journal_needs_mailbox(sjm_loader *ld, sjm_config *c)
{
    if (c->journal_enabled && *c->journal_recipient == '\0' && c->sites->len == 0)
        sjm_key_problem(ld, "journal", "recipient",
                        "journaling is enabled but neither recipient nor sites names a journal "
                        "mailbox (there is no default): set recipient = MAILBOX (or sites), "
                        "or enabled = false to run without journaling");
}

/* RFC 2606 and RFC 6761 names: no mail to them is ever delivered. */
static gboolean reserved_domain(const char *domain)
{
    static const char *const reserved[] = {"example", "example.com", "example.net", "example.org",
                                           "test", "invalid", "localhost", NULL};
    gsize len = strlen(domain);

    if (len && domain[len - 1] == '.')
        len--;
    for (const char *const *r = reserved; *r; r++) {
        gsize rlen = strlen(*r);
        if (len == rlen && g_ascii_strncasecmp(domain, *r, len) == 0)
            return TRUE;
        if (len > rlen && domain[len - rlen - 1] == '.' &&
            g_ascii_strncasecmp(domain + len - rlen, *r, rlen) == 0)
            return TRUE;
    }
    return FALSE;
}

static void warn_if_reserved(sjm_loader *ld, const char *key, const char *mailbox)
{
    const char *at = strrchr(mailbox, '@');

    if (at && reserved_domain(at + 1))
        sjm_key_warning(ld, "journal", key,
                        "journal mailbox %s is in a reserved domain (RFC 2606, RFC 6761: example, test, invalid, localhost) "
                        "that receives no mail: journal copies sent there are lost", mailbox);
}

/* A warning, not an error: test set-ups journal to such names on purpose. */
static void journal_mailbox_not_reserved(sjm_loader *ld, sjm_config *c)
{
    if (!c->journal_enabled)
        return;
    if (*c->journal_recipient)
        warn_if_reserved(ld, "recipient", c->journal_recipient);
    for (guint i = 0; i < c->sites->len; i++)
        warn_if_reserved(ld, "sites", ((sjm_site *)g_ptr_array_index(c->sites, i))->mailbox);
}

/* A report is a message of its own: with the null sender and NOTIFY=NEVER
 * an archive that refuses it, or a queue lifetime that runs out, tells
 * nobody.  Allowed (it is how reports went before the key existed), but
 * said. */
static void report_sender_named(sjm_loader *ld, sjm_config *c)
{
    if (c->journal_enabled && c->journal_mode == SJM_JOURNAL_MODE_REPORT && *c->report_sender == '\0')
        sjm_key_warning(ld, "journal", "mode",
                        "mode = report without report_sender: a journal report the archive refuses "
                        "or that expires in the queue is lost without a notice; set report_sender "
                        "to an alternate journal mailbox");
}

static void scope_needs_local_domains(sjm_loader *ld, sjm_config *c)
{
    if (c->journal_scope != SJM_SCOPE_GLOBAL && c->local_domains[0] == NULL)
        sjm_key_problem(ld, "journal", "scope",
                        "scope internal or external needs local_domains to tell inside from outside");
}

/* The mark key is key material, not text: read once here, so that the
 * message path never touches the file and a reload picks up a new key. */
static void mark_key_load(sjm_loader *ld, sjm_config *c)
{
    char *key = NULL;
    gsize len = 0;
    GError *err = NULL;

    if (*c->mark_key_file == '\0') {
        /* Without a key no mark can prove anything: every message is
         * journaled again at the next hop, and no bounce can be told
         * from a letter dressed as one. */
        if (c->journal_enabled)
            sjm_key_warning(ld, "journal", "mark_key_file",
                            "not set: journal marks are unkeyed, so downstream filters journal "
                            "again and bounces of journaled mail are journaled too "
                            "(make a key with: openssl rand -hex 32)");
        return;
    }
    if (!g_file_get_contents(c->mark_key_file, &key, &len, &err)) {
        sjm_key_problem(ld, "journal", "mark_key_file", "cannot read \"%s\": %s",
                        c->mark_key_file, err->message);
        g_error_free(err);
        return;
    }
    /* "openssl rand -hex 32 > FILE" leaves a newline: not key material. */
    while (len > 0 && g_ascii_isspace(key[len - 1]))
        len--;
    if (len < 32)
        sjm_key_problem(ld, "journal", "mark_key_file",
                        "\"%s\" holds %zu bytes; a mark key needs 32 or more "
                        "(make one with: openssl rand -hex 32)", c->mark_key_file, len);
    else
        c->mark_key = g_bytes_new(key, len);
    memset(key, 0, len);
    g_free(key);
}

static void metrics_listen_spec(sjm_loader *ld, sjm_config *c)
{
    char *why = NULL;
    if (*c->metrics_listen && !sjm_metrics_parse_listen(c->metrics_listen, NULL, NULL, NULL, &why)) {
        sjm_key_problem(ld, "metrics", "listen", "%s", why);
        g_free(why);
    }
}

const sjm_config_rule sjm_config_rules[] = {
    {"mark_key_load", mark_key_load},
    {"ledger_key", ledger_key},
    {"authserv_id_host_name", authserv_id_host_name},
    {"verify_trust_store", verify_trust_store},
    {"reinject_host_port", reinject_host_port},
    {"reinject_daemon_named", reinject_daemon_named},
    {"journal_needs_mailbox", journal_needs_mailbox},
    {"journal_mailbox_not_reserved", journal_mailbox_not_reserved},
    {"scope_needs_local_domains", scope_needs_local_domains},
    {"report_sender_named", report_sender_named},
    {"metrics_listen_spec", metrics_listen_spec},
    {NULL, NULL},
};
