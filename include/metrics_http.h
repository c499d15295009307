/*
 * metrics_http.h - the optional Prometheus listener ([metrics] listen):
 * GET /metrics over HTTP/1.1, served by GNU libmicrohttpd in its own
 * thread.  Only the daemon links it.
 *
 * INTERFACE
 *   sjm_metrics_http_bind (as root), _start (after the privilege drop),
 *   _stop.
 *
 * ERROR CONTRACT
 *   bind returns -1 and start FALSE, each with *why; the filter does
 *   not start without its configured listener.
 */
#ifndef SJM_METRICS_HTTP_H
#define SJM_METRICS_HTTP_H

#include <glib.h>

/* Bind and listen on LISTEN (inet:PORT@HOST) before giving up root, so a
 * port below 1024 works; returns the socket, or -1 with *WHY (g_free). */
int sjm_metrics_http_bind(const char *listen, char **why);

/* Serve on FD (from sjm_metrics_http_bind) from now on; FALSE with *WHY. */
gboolean sjm_metrics_http_start(int fd, char **why);

void sjm_metrics_http_stop(void);

#endif
