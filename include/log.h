/*
 * log.h - syslog (facility mail) logging, copied to stderr in the
 * foreground so an administrator running -f sees what syslog gets.
 *
 * INTERFACE
 *   sjm_log_open, sjm_log (printf-like, with a syslog priority),
 *   sjm_log_close.
 *
 * ERROR CONTRACT
 *   Logging never fails the caller.
 */
#ifndef SJM_LOG_H
#define SJM_LOG_H

#include <glib.h>
#include <syslog.h>

void sjm_log_open(const char *ident, gboolean to_stderr, gboolean to_syslog);
void sjm_log(int priority, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void sjm_log_close(void);

#endif
