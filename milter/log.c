/*
 * log.c - one place that knows where log lines go.  libmilter calls
 * back from several threads; syslog(3) and a single fprintf are each
 * atomic enough for whole lines, so no lock is taken.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "log.h"

static gboolean log_stderr = TRUE;
static gboolean log_syslog = FALSE;

/*
 * Under systemd, stderr is already the journal (JOURNAL_STREAM names its
 * device:inode); copying syslog lines there would log each one twice.
 */
static gboolean stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long dev, ino;

    if (!js || sscanf(js, "%lu:%lu", &dev, &ino) != 2 || fstat(2, &st) != 0)
        return FALSE;
    return (unsigned long)st.st_dev == dev && (unsigned long)st.st_ino == ino;
}

void sjm_log_open(const char *ident, gboolean to_stderr, gboolean to_syslog)
{
    log_stderr = to_stderr && !(to_syslog && stderr_is_journal());
    log_syslog = to_syslog;
    if (to_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void sjm_log(int priority, const char *fmt, ...)
{
    va_list ap;
    char *line;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (log_syslog)
        syslog(priority, "%s", line);
    if (log_stderr)
        fprintf(stderr, "smime-journal-milter: %s\n", line);
    g_free(line);
}

void sjm_log_close(void)
{
    if (log_syslog)
        closelog();
    log_syslog = FALSE;
}
