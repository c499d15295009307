/*
 * main.c - command line, daemon start-up and signals.
 *
 * Start-up follows the order a milter run as root needs: read and check
 * the configuration, create the socket (it may live in a root-owned
 * directory), then give up root (group first, then user).  libmilter's
 * own signal thread treats SIGHUP as "stop"; to make SIGHUP a reload,
 * the main thread waits for signals itself and runs libmilter in a
 * second thread.  Linux gives a process-directed signal to the main
 * thread first when it is waiting for it, so libmilter never sees one.
 *
 * Under systemd the unit is Type=notify: READY=1 goes out only once the
 * socket is open, the configuration loaded and privileges dropped, so
 * "systemctl start" fails when the filter cannot run instead of
 * reporting success for a process about to exit (sd_notify(3); outside
 * systemd, NOTIFY_SOCKET is unset and the calls do nothing).
 */
#include "autoconfig.h"
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <gmime/gmime.h>
#include <systemd/sd-daemon.h>
#include "audit.h"
#include "config.h"
#include "ledger.h"
#include "ledger_checkpoint.h"
#include "fdguard.h"
#include "inspect.h"
#include "mta_file.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "milter.h"
#include "reinject.h"
#include "smime.h"
#include "stats.h"
#include "verify.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define STOP_GRACE_SECONDS 60

typedef struct {
    const char *config_path;
    const char *socket_override;
    const char *user_override;
    gboolean foreground;
} run_opts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: smime-journal-milter [-c FILE] [-f] [-p SOCKET] [-u USER[:GROUP]]\n"
            "       smime-journal-milter [-c FILE] -n\n"
            "       smime-journal-milter [-c FILE] --print-config\n"
            "       smime-journal-milter --print-keys\n"
            "       smime-journal-milter [-c FILE] --stats\n"
            "       smime-journal-milter -V\n"
            "       smime-journal-milter [-c FILE] --inspect MESSAGE --from ADDR --rcpt ADDR\n"
            "               [--rcpt ADDR ...] [--client-addr IP] [--auth NAME] [--output FILE]\n"
            "               [--refuse add-rcpt|del-rcpt|header|body ...] [--verify-time SECONDS-SINCE-1970]\n"
            "       smime-journal-milter --ledger-keygen FILE\n"
            "       smime-journal-milter [-c FILE] --ledger-verifier-key\n"
            "       smime-journal-milter --audit --ledger DIR [--ledger DIR ...] --verifier-key KEY [...]\n"
            "               [--trusted-checkpoint FILE ...] [--maildir DIR | --eml-dir DIR | --mbox FILE]\n"
            "               [--json] [--find MESSAGE-ID]\n"
            "       smime-journal-milter --prove --ledger DIR --size N (--index I | --old-size M)\n");
}

static void print_version(void)
{
    unsigned int maj = 0, min = 0, pl = 0;

    smfi_version(&maj, &min, &pl);
    printf("smime-journal-milter %s\n", PACKAGE_VERSION);
    printf("libmilter %u.%u.%u\n", maj, min, pl);
    printf("GMime %u.%u.%u\n", gmime_major_version, gmime_minor_version, gmime_micro_version);
    printf("GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
    printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
}

/* Load PATH and apply command-line overrides; prints problems, and with
 * WARN its warnings, to stderr or the log.  (--inspect promises one
 * summary line on stderr, so it leaves warnings to -n.) */
static sjm_config *load_config(const char *path, const run_opts *o, gboolean to_stderr, gboolean warn)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    sjm_config *cfg = sjm_config_load(path, errors);

    for (guint i = 0; i < errors->len; i++) {
        if (to_stderr)
            fprintf(stderr, "%s\n", (char *)g_ptr_array_index(errors, i));
        else
            sjm_log(LOG_ERR, "%s", (char *)g_ptr_array_index(errors, i));
    }
    g_ptr_array_free(errors, TRUE);
    for (char **w = cfg && warn ? cfg->warnings : NULL; w && *w; w++) {
        if (to_stderr)
            fprintf(stderr, "%s\n", *w);
        else
            sjm_log(LOG_WARNING, "%s", *w);
    }
    if (cfg && o) {
        if (o->socket_override) {
            g_free(cfg->socket);
            cfg->socket = g_strdup(o->socket_override);
        }
        if (o->user_override) {
            g_free(cfg->user);
            cfg->user = g_strdup(o->user_override);
        }
    }
    return cfg;
}

/* Path of a unix socket spec, or NULL for inet sockets. */
static char *socket_path(const char *spec)
{
    if (g_str_has_prefix(spec, "local:"))
        return g_strdup(spec + 6);
    if (g_str_has_prefix(spec, "unix:"))
        return g_strdup(spec + 5);
    if (spec[0] == '/')
        return g_strdup(spec);
    return NULL;
}

static gboolean resolve_user(const char *spec, uid_t *uid, gid_t *gid, char **name)
{
    char **parts = g_strsplit(spec, ":", 2);
    struct passwd *pw = getpwnam(parts[0]);
    gboolean ok = FALSE;

    if (!pw) {
        sjm_log(LOG_ERR, "user %s does not exist", parts[0]);
        goto out;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    *name = g_strdup(pw->pw_name);
    if (parts[1]) {
        struct group *gr = getgrnam(parts[1]);
        if (!gr) {
            sjm_log(LOG_ERR, "group %s does not exist", parts[1]);
            goto out;
        }
        *gid = gr->gr_gid;
    }
    ok = TRUE;
out:
    g_strfreev(parts);
    return ok;
}

/*
 * Create the listening socket as root, hand it to the target user and
 * give up root.  The socket is mode 0660 so that the MTA, put in the
 * filter's group, can connect.
 */
static gboolean open_socket_and_drop(const sjm_config *cfg)
{
    char *path = socket_path(cfg->socket);
    gboolean change_user = cfg->user[0] != '\0' && geteuid() == 0;
    uid_t uid = 0;
    gid_t gid = 0;
    char *name = NULL;
    gboolean ok = FALSE;

    if (change_user && !resolve_user(cfg->user, &uid, &gid, &name))
        goto out;
    if (path) {
        /* Create a missing socket directory for the filter's user, but
         * never take over one that exists (it may be /tmp or Postfix's
         * spool). */
        char *dir = g_path_get_dirname(path);
        if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
            if (g_mkdir_with_parents(dir, 0750) != 0)
                sjm_log(LOG_WARNING, "cannot create %s: %s", dir, g_strerror(errno));
            else if (change_user && chown(dir, uid, gid) != 0)
                sjm_log(LOG_WARNING, "cannot chown %s: %s", dir, g_strerror(errno));
        }
        g_free(dir);
    }
    if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS) {
        sjm_log(LOG_ERR, "bad socket %s", cfg->socket);
        goto out;
    }
    if (smfi_register(sjm_milter_desc) != MI_SUCCESS) {
        sjm_log(LOG_ERR, "smfi_register failed");
        goto out;
    }
    mode_t old = umask(0117);
    int rc = smfi_opensocket(true);   /* true: remove a stale socket first */
    umask(old);
    if (rc != MI_SUCCESS) {
        sjm_log(LOG_ERR, "cannot open socket %s", cfg->socket);
        goto out;
    }
    if (change_user) {
        if (path && chown(path, uid, gid) != 0) {
            sjm_log(LOG_ERR, "cannot chown %s: %s", path, g_strerror(errno));
            goto out;
        }
        /* The user's own supplementary groups, as systemd's User= gives
         * them: a group such as ssl-cert is how a service user is let
         * read a key, and -n checks files with the same groups. */
        if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            sjm_log(LOG_ERR, "cannot change to user %s: %s", cfg->user, g_strerror(errno));
            goto out;
        }
        if (setuid(0) == 0) {
            sjm_log(LOG_ERR, "privileges could be regained after dropping them; refusing to run");
            goto out;
        }
    }
    ok = TRUE;
out:
    g_free(name);
    g_free(path);
    return ok;
}

/*
 * -n.  Loading reads files (mark key, trust anchors, CRLs); a file root
 * can read and the filter's user cannot would pass a check run as root
 * and stop the filter at start.  So when root checks a configuration
 * that names a user, a child takes that user's identity (as the daemon
 * and systemd's User= do) and loads the same text again, reading the
 * files it names as that user; its verdict is the answer, and the OK
 * line says whose access was checked.  The configuration file itself is
 * read by root (a copy under test may live where only root can look);
 * the OK line notes when the user could not read it (no reload then).
 */
static int check_config(const run_opts *o)
{
    sjm_config *cfg = load_config(o->config_path, o, TRUE, TRUE);
    if (!cfg)
        return EX_CONFIG;
    char *user = g_strdup(cfg->user);
    sjm_config_unref(cfg);

    if (geteuid() != 0 || *user == '\0') {
        struct passwd *me = getpwuid(geteuid());
        printf("%s: configuration OK (files read as %s%s)\n", o->config_path,
               me ? me->pw_name : "this user",
               geteuid() == 0 ? ", and the filter will stay root: [milter] user is empty" : "");
        g_free(user);
        return 0;
    }
    uid_t uid;
    gid_t gid;
    char *name = NULL;
    char **parts = g_strsplit(user, ":", 2);
    gboolean known = getpwnam(parts[0]) != NULL && (!parts[1] || getgrnam(parts[1]) != NULL);
    g_strfreev(parts);
    /* A build host or a test bed may not have the package's user; the
     * check is still worth having, but it must not pass for more than it is. */
    if (!known || !resolve_user(user, &uid, &gid, &name)) {
        printf("%s: configuration OK (files read as root only: user \"%s\" does not exist "
               "here, and a filter started as root would refuse to run without it)\n",
               o->config_path, user);
        g_free(user);
        return 0;
    }
    char *text = NULL;
    if (!g_file_get_contents(o->config_path, &text, NULL, NULL)) {
        g_free(user);
        g_free(name);
        return EX_CONFIG;   /* load_config read it a moment ago */
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "smime-journal-milter: fork: %s\n", g_strerror(errno));
        g_free(text);
        g_free(user);
        g_free(name);
        return EX_OSERR;
    }
    if (pid == 0) {
        if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            fprintf(stderr, "smime-journal-milter: cannot become %s to check the files: %s\n",
                    user, g_strerror(errno));
            _exit(EX_OSERR);
        }
        GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
        sjm_config *as_user = sjm_config_load_text(o->config_path, text, errors);
        for (guint i = 0; i < errors->len; i++)
            fprintf(stderr, "%s\n", (char *)g_ptr_array_index(errors, i));
        if (!as_user) {
            fprintf(stderr, "%s: the files above are readable by root but not by user %s, "
                            "whom the filter runs as: it would not start\n", o->config_path, name);
            _exit(EX_CONFIG);
        }
        sjm_config_unref(as_user);
        gboolean readable = access(o->config_path, R_OK) == 0;
        printf("%s: configuration OK (files read as user %s, whom the filter runs as%s)\n",
               o->config_path, name,
               readable ? "" : "; it cannot read this file itself, so it could not reload it");
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    g_free(text);
    g_free(user);
    g_free(name);
    return WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
}

/*
 * --stats needs two paths, not the whole configuration: loading it would
 * read the mark key and trust files, which an operator who may read the
 * counters need not be able to read.  Unknown keys and bad values are
 * -n's business.
 */
static int print_stats(const char *path)
{
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    const char *keys[] = {"stats_dir", "store_path"};
    char *val[2] = {NULL, NULL};

    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
        fprintf(stderr, "%s: %s\n", path, err->message);
        g_error_free(err);
        g_key_file_free(kf);
        return EX_CONFIG;
    }
    for (int i = 0; i < 2; i++) {
        val[i] = g_key_file_get_string(kf, "journal", keys[i], NULL);
        if (!val[i])
            val[i] = g_strdup(sjm_config_find_key("journal", keys[i])->default_value);
        g_strstrip(val[i]);
    }
    int rc = sjm_stats_print(val[0], val[1], stdout);
    g_free(val[0]);
    g_free(val[1]);
    g_key_file_free(kf);
    return rc == 0 ? 0 : EX_NOINPUT;
}

static int milter_rc = MI_SUCCESS;

static void *milter_thread(void *arg)
{
    (void)arg;
    int rc = smfi_main();
    milter_rc = rc;
    if (rc != MI_SUCCESS)
        sjm_log(LOG_ERR, "milter loop failed");
    /* Wake the main thread whichever way the loop ended. */
    kill(getpid(), SIGUSR2);
    return NULL;
}

static int run_daemon(const run_opts *o)
{
    sjm_config *cfg = load_config(o->config_path, o, TRUE, TRUE);
    sigset_t set;
    pthread_t tid;
    int sig;
    gboolean milter_ended = FALSE;

    if (!cfg) {
        fprintf(stderr, "smime-journal-milter: not starting: %s is not a valid configuration\n",
                o->config_path);
        return EX_CONFIG;
    }
    sjm_log_open("smime-journal-milter", o->foreground, TRUE);
    if (!o->foreground && daemon(0, 0) != 0) {
        sjm_log(LOG_ERR, "cannot become a daemon: %s", g_strerror(errno));
        return EX_OSERR;
    }

    /* Blocked before any thread exists, so every thread inherits it. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sjm_smime_init();
    /* One descriptor per MTA connection, plus spool and re-injection
     * sockets: the default soft limit (1024 under systemd) is the first
     * thing a busy Postfix would hit. */
    rlim_t fd_was, fd_limit = sjm_fdguard_raise_limit(&fd_was);
    /* Bound as root like the milter socket, served only after the drop. */
    int metrics_fd = -1;
    if (*cfg->metrics_listen) {
        char *why = NULL;
        metrics_fd = sjm_metrics_http_bind(cfg->metrics_listen, &why);
        if (metrics_fd < 0) {
            sjm_log(LOG_ERR, "[metrics] listen: %s", why);
            g_free(why);
            sjm_config_unref(cfg);
            return EX_UNAVAILABLE;
        }
    }
    if (!open_socket_and_drop(cfg)) {
        sjm_config_unref(cfg);
        return EX_UNAVAILABLE;
    }
    if (metrics_fd >= 0) {
        unsigned int maj = 0, min = 0, pl = 0;
        smfi_version(&maj, &min, &pl);
        char *libs = g_strdup_printf("libmilter %u.%u.%u, GMime %u.%u.%u, %s", maj, min, pl,
                                     gmime_major_version, gmime_minor_version, gmime_micro_version,
                                     OpenSSL_version(OPENSSL_VERSION));
        sjm_metrics_set_build_info(PACKAGE_VERSION, libs);
        g_free(libs);
        char *why = NULL;
        if (!sjm_metrics_http_start(metrics_fd, &why)) {
            sjm_log(LOG_ERR, "[metrics] listen %s: %s", cfg->metrics_listen, why);
            g_free(why);
            sjm_config_unref(cfg);
            return EX_UNAVAILABLE;
        }
        sjm_log(LOG_INFO, "serving Prometheus metrics on %s at /metrics", cfg->metrics_listen);
    }
    sjm_milter_set_config(cfg);
    /* After giving up root: the counters are written as the filter's user. */
    sjm_stats_start(cfg->stats_dir, cfg->store_path, cfg->store_warn_days);
    /* Before the first message: an entry must be durable before any
     * message is accepted (a ledger that cannot open refuses them all). */
    sjm_ledger_start(cfg);
    if (pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
        sjm_log(LOG_ERR, "cannot start the milter thread");
        return EX_OSERR;
    }
    sjm_log(LOG_INFO, "starting: version %s, config %s, socket %s, descriptor limit %lu%s",
            PACKAGE_VERSION, o->config_path, cfg->socket, (unsigned long)fd_limit,
            fd_limit != fd_was ? " (raised to the hard limit)" : "");
    sd_notifyf(0, "READY=1\nSTATUS=filtering on %s\nMAINPID=%lu", cfg->socket,
               (unsigned long)getpid());

    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            sjm_config *fresh = load_config(o->config_path, o, FALSE, TRUE);
            if (!fresh) {
                sjm_log(LOG_ERR, "reload of %s failed; keeping the running configuration",
                        o->config_path);
                sd_notifyf(0, "READY=1\nSTATUS=reload failed, running the previous configuration");
                continue;
            }
            sjm_config *running = sjm_milter_get_config();
            if (strcmp(fresh->socket, running->socket) != 0 || strcmp(fresh->user, running->user) != 0 ||
                strcmp(fresh->metrics_listen, running->metrics_listen) != 0)
                sjm_log(LOG_WARNING, "socket, user and [metrics] listen changes take effect only at restart");
            sjm_config_unref(running);
            sjm_milter_set_config(fresh);
            sjm_stats_flush();
            sjm_log(LOG_INFO, "reloaded configuration from %s", o->config_path);
            sd_notify(0, "READY=1\nSTATUS=filtering, configuration reloaded");
            continue;
        }
        milter_ended = (sig == SIGUSR2);
        break;
    }

    sd_notify(0, "STOPPING=1");
    if (!milter_ended) {
        sjm_log(LOG_INFO, "stopping on signal %d; letting open transactions finish", sig);
        sjm_milter_drain();
        for (int waited = 0; sjm_milter_active_transactions() > 0 && waited < STOP_GRACE_SECONDS * 10;
             waited++)
            g_usleep(100000);
        if (sjm_milter_active_transactions() > 0)
            sjm_log(LOG_WARNING, "stopping with %d transaction(s) still open after %d s",
                    sjm_milter_active_transactions(), STOP_GRACE_SECONDS);
        smfi_stop();
    }
    pthread_join(tid, NULL);
    /* Idle re-injection connections end with a QUIT, not a reset the
     * listener would log as a lost connection. */
    sjm_reinject_pool_drain();
    sjm_ledger_stop();
    sjm_metrics_http_stop();
    sjm_stats_stop();
    sjm_log(LOG_INFO, "stopped");
    sjm_milter_set_config(NULL);
    sjm_smime_shutdown();
    sjm_log_close();
    return milter_rc == MI_SUCCESS ? 0 : EX_SOFTWARE;
}

/* --ledger-keygen, --ledger-verifier-key and --audit. */
static int ledger_command(const run_opts *o, const char *keygen, gboolean vkey, sjm_audit_opts *ao)
{
    GError *err = NULL;
    if (keygen) {
        /* The verifier key names the origin, which the configuration
         * gives; print it with --ledger-verifier-key once configured. */
        if (!sjm_ckpt_key_generate(keygen, &err)) {
            fprintf(stderr, "smime-journal-milter: %s\n", err->message);
            g_error_free(err);
            return EX_CANTCREAT;
        }
        printf("%s: new Ed25519 ledger key\n", keygen);
        return 0;
    }
    if (vkey) {
        sjm_config *cfg = load_config(o->config_path, o, TRUE, FALSE);
        if (!cfg)
            return EX_CONFIG;
        if (!*cfg->ledger_key_file) {
            fprintf(stderr, "smime-journal-milter: [ledger] key_file is not set in %s\n",
                    o->config_path);
            sjm_config_unref(cfg);
            return EX_CONFIG;
        }
        char *origin = sjm_ledger_origin(cfg);
        EVP_PKEY *k = sjm_ckpt_key_load(cfg->ledger_key_file, &err);
        char *v = k ? sjm_ckpt_verifier_key(origin, k, &err) : NULL;
        if (v)
            printf("%s\n", v);
        else
            fprintf(stderr, "smime-journal-milter: %s\n", err->message);
        g_clear_error(&err);
        g_free(v);
        EVP_PKEY_free(k);
        g_free(origin);
        sjm_config_unref(cfg);
        return v ? 0 : EX_CONFIG;
    }
    int sources = (ao->maildir != NULL) + (ao->eml_dir != NULL) + (ao->mbox != NULL);
    if (ao->ledgers->len == 0 || ao->verifier_keys->len == 0 || sources > 1
        || (sources == 0 && !ao->find)) {
        fprintf(stderr, "smime-journal-milter: --audit needs --ledger, --verifier-key and one of "
                        "--maildir, --eml-dir, --mbox (or --find)\n");
        return EX_USAGE;
    }
    return sjm_audit_run(ao);
}

int main(int argc, char **argv)
{
    enum { OPT_INSPECT = 256, OPT_FROM, OPT_RCPT, OPT_CLIENT, OPT_AUTH, OPT_OUTPUT, OPT_PRINT,
           OPT_REFUSE, OPT_KEYS, OPT_STATS, OPT_VERIFY_TIME, OPT_KEYGEN, OPT_VKEY, OPT_AUDIT,
           OPT_LEDGER, OPT_TRUSTED, OPT_VERIFIER, OPT_MAILDIR, OPT_EMLDIR, OPT_MBOX, OPT_JSON,
           OPT_FIND, OPT_PROVE, OPT_SIZE, OPT_INDEX, OPT_OLD };
    static const struct option longopts[] = {
        {"inspect", required_argument, NULL, OPT_INSPECT},
        {"from", required_argument, NULL, OPT_FROM},
        {"rcpt", required_argument, NULL, OPT_RCPT},
        {"client-addr", required_argument, NULL, OPT_CLIENT},
        {"auth", required_argument, NULL, OPT_AUTH},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"refuse", required_argument, NULL, OPT_REFUSE},
        {"print-config", no_argument, NULL, OPT_PRINT},
        {"print-keys", no_argument, NULL, OPT_KEYS},
        {"stats", no_argument, NULL, OPT_STATS},
        {"verify-time", required_argument, NULL, OPT_VERIFY_TIME},
        {"ledger-keygen", required_argument, NULL, OPT_KEYGEN},
        {"ledger-verifier-key", no_argument, NULL, OPT_VKEY},
        {"audit", no_argument, NULL, OPT_AUDIT},
        {"ledger", required_argument, NULL, OPT_LEDGER},
        {"trusted-checkpoint", required_argument, NULL, OPT_TRUSTED},
        {"verifier-key", required_argument, NULL, OPT_VERIFIER},
        {"maildir", required_argument, NULL, OPT_MAILDIR},
        {"eml-dir", required_argument, NULL, OPT_EMLDIR},
        {"mbox", required_argument, NULL, OPT_MBOX},
        {"json", no_argument, NULL, OPT_JSON},
        {"find", required_argument, NULL, OPT_FIND},
        {"prove", no_argument, NULL, OPT_PROVE},
        {"size", required_argument, NULL, OPT_SIZE},
        {"index", required_argument, NULL, OPT_INDEX},
        {"old-size", required_argument, NULL, OPT_OLD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    run_opts o = {sjm_config_default_path(), NULL, NULL, FALSE};
    sjm_inspect_args ia = {0};
    gboolean check_only = FALSE, print_config = FALSE, stats = FALSE;
    gint64 verify_time = 0;
    int opt, rc;
    const char *keygen = NULL;
    gboolean vkey = FALSE, audit = FALSE, prove = FALSE;
    guint64 prove_size = 0;
    gint64 prove_index = -1, prove_old = -1;
    sjm_audit_opts ao = {g_ptr_array_new(), g_ptr_array_new(), g_ptr_array_new(), NULL, NULL, NULL,
                         NULL, FALSE};

    ia.rcpts = g_ptr_array_new();
    while ((opt = getopt_long(argc, argv, "c:fp:u:nVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': o.config_path = optarg; break;
        case 'f': o.foreground = TRUE; break;
        case 'p': o.socket_override = optarg; break;
        case 'u': o.user_override = optarg; break;
        case 'n': check_only = TRUE; break;
        case 'V': print_version(); return 0;
        case 'h': usage(stdout); return 0;
        case OPT_INSPECT: ia.message_path = optarg; break;
        case OPT_FROM: ia.from = optarg; break;
        case OPT_RCPT: g_ptr_array_add(ia.rcpts, optarg); break;
        case OPT_CLIENT: ia.client_addr = optarg; break;
        case OPT_AUTH: ia.auth_name = optarg; break;
        case OPT_OUTPUT: ia.output_path = optarg; break;
        case OPT_REFUSE:
            if (!sjm_mta_file_parse_refuse(optarg, &ia.refuse)) {
                fprintf(stderr, "smime-journal-milter: --refuse takes add-rcpt, del-rcpt, header or body\n");
                return EX_USAGE;
            }
            break;
        case OPT_PRINT: print_config = TRUE; break;
        case OPT_KEYS: sjm_config_print_keys(stdout); return 0;
        case OPT_STATS: stats = TRUE; break;
        case OPT_VERIFY_TIME:
            /* Test corpora carry certificates that expire; live mail is
             * always judged at its arrival, so this is --inspect only. */
            if (!g_ascii_string_to_signed(optarg, 10, 1, G_MAXINT64, &verify_time, NULL)) {
                fprintf(stderr, "smime-journal-milter: --verify-time wants seconds since 1970\n");
                return EX_USAGE;
            }
            break;
        case OPT_KEYGEN: keygen = optarg; break;
        case OPT_VKEY: vkey = TRUE; break;
        case OPT_AUDIT: audit = TRUE; break;
        case OPT_LEDGER: g_ptr_array_add(ao.ledgers, optarg); break;
        case OPT_TRUSTED: g_ptr_array_add(ao.trusted, optarg); break;
        case OPT_VERIFIER: g_ptr_array_add(ao.verifier_keys, optarg); break;
        case OPT_MAILDIR: ao.maildir = optarg; break;
        case OPT_EMLDIR: ao.eml_dir = optarg; break;
        case OPT_MBOX: ao.mbox = optarg; break;
        case OPT_JSON: ao.json = TRUE; break;
        case OPT_FIND: ao.find = optarg; break;
        case OPT_PROVE: prove = TRUE; break;
        case OPT_SIZE:
        case OPT_INDEX:
        case OPT_OLD: {
            guint64 v;
            if (!g_ascii_string_to_unsigned(optarg, 10, 0, G_MAXINT64, &v, NULL)) {
                fprintf(stderr, "smime-journal-milter: --size/--index/--old-size want a number\n");
                return EX_USAGE;
            }
            if (opt == OPT_SIZE)
                prove_size = v;
            else if (opt == OPT_INDEX)
                prove_index = (gint64)v;
            else
                prove_old = (gint64)v;
            break;
        }
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (prove) {
        if (ao.ledgers->len != 1 || prove_size == 0 || (prove_index < 0) == (prove_old < 0)) {
            fprintf(stderr, "smime-journal-milter: --prove needs one --ledger, --size and "
                            "either --index or --old-size\n");
            return EX_USAGE;
        }
        rc = sjm_ledger_prove(g_ptr_array_index(ao.ledgers, 0), prove_size, prove_index, prove_old);
        g_ptr_array_free(ao.ledgers, TRUE);
        g_ptr_array_free(ao.trusted, TRUE);
        g_ptr_array_free(ao.verifier_keys, TRUE);
        g_ptr_array_free(ia.rcpts, TRUE);
        return rc;
    }
    if (keygen || vkey || audit) {
        rc = ledger_command(&o, keygen, vkey, audit ? &ao : NULL);
        g_ptr_array_free(ao.ledgers, TRUE);
        g_ptr_array_free(ao.trusted, TRUE);
        g_ptr_array_free(ao.verifier_keys, TRUE);
        g_ptr_array_free(ia.rcpts, TRUE);
        return rc;
    }
    if (ao.ledgers->len || ao.trusted->len || ao.verifier_keys->len || ao.maildir || ao.eml_dir
        || ao.mbox || ao.json || ao.find) {
        fprintf(stderr, "smime-journal-milter: --ledger/--trusted-checkpoint/--verifier-key/--maildir/"
                        "--eml-dir/--mbox/--json/--find go with --audit\n");
        return EX_USAGE;
    }
    g_ptr_array_free(ao.ledgers, TRUE);
    g_ptr_array_free(ao.trusted, TRUE);
    g_ptr_array_free(ao.verifier_keys, TRUE);
    if (optind != argc) {
        usage(stderr);
        return EX_USAGE;
    }

    if (stats)
        return print_stats(o.config_path);

    if (check_only)
        return check_config(&o);
    if (print_config) {
        sjm_config *cfg = load_config(o.config_path, &o, TRUE, FALSE);
        if (!cfg)
            return EX_CONFIG;
        sjm_config_print(cfg, stdout);
        sjm_config_unref(cfg);
        return 0;
    }

    if (ia.message_path) {
        if (!ia.from || ia.rcpts->len == 0) {
            fprintf(stderr, "smime-journal-milter: --inspect needs --from and at least one --rcpt\n");
            return EX_USAGE;
        }
        sjm_config *cfg = load_config(o.config_path, &o, TRUE, FALSE);
        if (!cfg)
            return EX_CONFIG;
        sjm_log_open("smime-journal-milter", TRUE, FALSE);
        sjm_smime_init();
        sjm_verify_set_time((time_t)verify_time);
        rc = sjm_inspect_run(cfg, &ia);
        sjm_smime_shutdown();
        sjm_config_unref(cfg);
        g_ptr_array_free(ia.rcpts, TRUE);
        return rc;
    }
    if (ia.from || ia.rcpts->len || ia.client_addr || ia.auth_name || ia.output_path || ia.refuse ||
        verify_time) {
        fprintf(stderr, "smime-journal-milter: --from/--rcpt/--client-addr/--auth/--output/--refuse/--verify-time go with --inspect\n");
        return EX_USAGE;
    }
    g_ptr_array_free(ia.rcpts, TRUE);
    return run_daemon(&o);
}
