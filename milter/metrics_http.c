/*
 * metrics_http.c - the Prometheus listener, with GNU libmicrohttpd
 * (https://www.gnu.org/software/libmicrohttpd/manual/).
 *
 * The socket is bound while the filter is still root (so a privileged
 * port works, as for the milter socket); the server and its thread start
 * after root is given up, so no code that parses HTTP ever runs as root.
 * The server has one thread of its own (epoll: the filter may hold more
 * descriptors than select(2) can watch) and a small connection limit:
 * scrapes are rare, and a flood of connections to it must never take a
 * thread or a descriptor from mail.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "metrics.h"
#include "metrics_http.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *daemon_handle;

int sjm_metrics_http_bind(const char *spec, char **why)
{
    gboolean v6 = FALSE;
    guint16 port = 0;
    char *host = NULL;

    if (!sjm_metrics_parse_listen(spec, &v6, &port, &host, why))
        return -1;
    struct addrinfo hints = {.ai_family = v6 ? AF_INET6 : AF_INET, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    g_snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        *why = g_strdup_printf("%s: cannot resolve %s: %s", spec, host, gai_strerror(rc));
        g_free(host);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        *why = g_strdup_printf("%s: %s", spec, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    g_free(host);
    return fd;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)state;
    struct MHD_Response *r;
    unsigned int status;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char text[] = "only GET\n";
        r = MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    } else if (strcmp(url, "/metrics") == 0) {
        GString *body = sjm_metrics_render();
        gsize len = body->len;
        r = MHD_create_response_from_buffer(len, g_string_free(body, FALSE), MHD_RESPMEM_MUST_FREE);
        status = MHD_HTTP_OK;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    } else {
        static const char text[] = "smime-journal-milter: metrics are at /metrics\n";
        r = MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

gboolean sjm_metrics_http_start(int fd, char **why)
{
    daemon_handle = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                     NULL, answer, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)8,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (daemon_handle == NULL) {
        *why = g_strdup("libmicrohttpd could not start its server");
        return FALSE;
    }
    sjm_metrics_enable(TRUE);
    return TRUE;
}

void sjm_metrics_http_stop(void)
{
    if (daemon_handle) {
        MHD_stop_daemon(daemon_handle);
        daemon_handle = NULL;
    }
}
