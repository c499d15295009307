/*
 * reinject.c - a small SMTP client that hands new messages back to the
 * MTA (interface and error contract in reinject.h).
 *
 * Why hand-written: libcurl is the obvious library, but its SMTP code in
 * Debian 12 (7.88) rebuilds every recipient as "<local@host>" (it strips
 * one leading '<' and trailing '>' and re-adds them), so no ESMTP RCPT
 * parameter can be sent and NOTIFY=NEVER for journal reports is
 * impossible; it also offers no BODY=8BITMIME choice.  What is needed
 * here is a narrow, fixed dialogue (EHLO, MAIL, RCPT, DATA) with a
 * deadline on every wait, so the protocol code stays short.
 *
 * Every wait (connect, each reply, each write) is bounded by the
 * target's timeout with poll(2); sockets are non-blocking and written
 * with MSG_NOSIGNAL so a listener that goes away costs an error, not the
 * process.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "reinject.h"

#define POOL_MAX 32
#define IDLE_MAX_US (50 * G_USEC_PER_SEC)   /* well below Postfix's smtpd_timeout */
#define OUTBUF 65536

typedef struct conn {
    int fd;
    char *key;              /* "host port" */
    gboolean dsn, eightbit, pipelining;
    gboolean mid_data;      /* DATA was answered 354 and must not be ended */
    gint64 idle_since;
    guchar rbuf[4096];
    gsize rlen, rpos;
    GByteArray *out;        /* pending bytes of DATA */
} conn;

static GMutex pool_lock;
static GSList *pool;        /* of conn*, idle */
static guint pool_len;
static guint opened;

static void conn_close(conn *c, gboolean quit)
{
    if (c == NULL)
        return;
    /* Mid-DATA a QUIT would be message text: just close, and the
     * listener, never having seen the final dot, discards the message. */
    if (quit && c->fd >= 0 && !c->mid_data) {
        static const char q[] = "QUIT\r\n";
        (void)!send(c->fd, q, sizeof q - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (c->fd >= 0)
        close(c->fd);
    g_byte_array_free(c->out, TRUE);
    g_free(c->key);
    g_free(c);
}

static gboolean wait_fd(int fd, short events, gint64 deadline)
{
    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            return FALSE;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)((left + 999) / 1000));
        if (n > 0)
            return TRUE;
        if (n < 0 && errno != EINTR)
            return FALSE;
    }
}

static gboolean write_all(conn *c, const void *buf, gsize len, gint64 deadline, char **error)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (gsize)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(c->fd, POLLOUT, deadline)) {
                *error = g_strdup("timeout writing to the re-injection listener");
                return FALSE;
            }
            continue;
        }
        *error = g_strdup_printf("writing to the re-injection listener: %s",
                                 n < 0 ? g_strerror(errno) : "connection closed");
        return FALSE;
    }
    return TRUE;
}

/* One line (without CRLF) into LINE; FALSE on timeout or EOF. */
static gboolean read_line(conn *c, GString *line, gint64 deadline, char **error)
{
    g_string_truncate(line, 0);
    for (;;) {
        while (c->rpos < c->rlen) {
            guchar ch = c->rbuf[c->rpos++];
            if (ch == '\n') {
                if (line->len > 0 && line->str[line->len - 1] == '\r')
                    g_string_truncate(line, line->len - 1);
                return TRUE;
            }
            if (line->len < 4096)
                g_string_append_c(line, (char)ch);
        }
        ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
        if (n > 0) {
            c->rlen = (gsize)n;
            c->rpos = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(c->fd, POLLIN, deadline)) {
                *error = g_strdup("timeout waiting for the re-injection listener's reply");
                return FALSE;
            }
            continue;
        }
        *error = g_strdup_printf("reading from the re-injection listener: %s",
                                 n < 0 ? g_strerror(errno) : "connection closed");
        return FALSE;
    }
}

/*
 * A whole (possibly multi-line) reply: its code, or -1 on I/O failure.
 * TEXT receives every line, "\n"-separated, for EHLO keywords and errors.
 */
static int read_reply(conn *c, GString *text, guint timeout_s, char **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    GString *line = g_string_new(NULL);
    int code = -1;
    g_string_truncate(text, 0);
    for (;;) {
        if (!read_line(c, line, deadline, error))
            break;
        if (line->len < 3 || !g_ascii_isdigit(line->str[0]) || !g_ascii_isdigit(line->str[1])
            || !g_ascii_isdigit(line->str[2]) || (line->len > 3 && line->str[3] != '-'
                                                   && line->str[3] != ' ')) {
            *error = g_strdup_printf("malformed reply from the re-injection listener: %.80s",
                                     line->str);
            break;
        }
        if (text->len)
            g_string_append_c(text, '\n');
        g_string_append(text, line->str);
        if (line->len == 3 || line->str[3] == ' ') {
            code = atoi(line->str);   /* three digits: cannot overflow */
            break;
        }
    }
    g_string_free(line, TRUE);
    return code;
}

/* Send CMD (CRLF added) and read the reply; the code or -1. */
static int command(conn *c, const char *cmd, GString *reply, guint timeout_s, char **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    char *line = g_strconcat(cmd, "\r\n", NULL);
    gboolean ok = write_all(c, line, strlen(line), deadline, error);
    g_free(line);
    return ok ? read_reply(c, reply, timeout_s, error) : -1;
}

static gboolean ehlo_has(const GString *reply, const char *keyword)
{
    char **lines = g_strsplit(reply->str, "\n", -1);
    gboolean hit = FALSE;
    gsize kl = strlen(keyword);
    for (guint i = 1; lines[i] && !hit; i++) {      /* line 0 is the greeting */
        const char *k = lines[i] + 4;
        if (strlen(lines[i]) >= 4 && g_ascii_strncasecmp(k, keyword, kl) == 0
            && (k[kl] == '\0' || k[kl] == ' '))
            hit = TRUE;
    }
    g_strfreev(lines);
    return hit;
}

static conn *conn_open(const sjm_reinject_target *t, char **error)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0) {
        *error = g_strdup_printf("re-injection listener %s:%s: %s", t->host, t->port,
                                 gai_strerror(rc));
        return NULL;
    }
    gint64 deadline = g_get_monotonic_time() + (gint64)t->timeout_s * G_USEC_PER_SEC;
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                break;
            last_errno = err;
        } else {
            last_errno = errno == EINPROGRESS ? ETIMEDOUT : errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        *error = g_strdup_printf("cannot connect to the re-injection listener %s:%s: %s",
                                 t->host, t->port, g_strerror(last_errno));
        return NULL;
    }

    conn *c = g_new0(conn, 1);
    c->fd = fd;
    c->key = g_strdup_printf("%s %s", t->host, t->port);
    c->out = g_byte_array_sized_new(OUTBUF);
    g_atomic_int_inc(&opened);

    GString *reply = g_string_new(NULL);
    int code = read_reply(c, reply, t->timeout_s, error);
    if (code == 220) {
        char *ehlo = g_strconcat("EHLO ", g_get_host_name(), NULL);
        code = command(c, ehlo, reply, t->timeout_s, error);
        g_free(ehlo);
        if (code == 250) {
            c->dsn = ehlo_has(reply, "DSN");
            c->eightbit = ehlo_has(reply, "8BITMIME");
            c->pipelining = ehlo_has(reply, "PIPELINING");
        }
    }
    if (code != 250 && *error == NULL)
        *error = g_strdup_printf("re-injection listener refused the session: %.200s", reply->str);
    g_string_free(reply, TRUE);
    if (*error != NULL) {
        conn_close(c, TRUE);
        return NULL;
    }
    return c;
}

/* An idle session to KEY, or NULL.  Sessions idle too long (and those to
 * a listener a reload no longer names) are closed on the way. */
static conn *pool_take(const char *key)
{
    conn *found = NULL;
    GSList *stale = NULL;
    gint64 now = g_get_monotonic_time();

    g_mutex_lock(&pool_lock);
    for (GSList *l = pool, *next; l; l = next) {
        conn *c = l->data;
        next = l->next;
        if (now - c->idle_since > IDLE_MAX_US) {
            stale = g_slist_prepend(stale, c);
        } else if (found == NULL && strcmp(c->key, key) == 0) {
            found = c;
        } else {
            continue;
        }
        pool = g_slist_delete_link(pool, l);
        pool_len--;
    }
    g_mutex_unlock(&pool_lock);
    for (GSList *l = stale; l; l = l->next)
        conn_close(l->data, TRUE);
    g_slist_free(stale);
    return found;
}

static void pool_put(conn *c)
{
    c->idle_since = g_get_monotonic_time();
    c->rlen = c->rpos = 0;
    g_mutex_lock(&pool_lock);
    if (pool_len < POOL_MAX) {
        pool = g_slist_prepend(pool, c);
        pool_len++;
        c = NULL;
    }
    g_mutex_unlock(&pool_lock);
    conn_close(c, TRUE);
}

void sjm_reinject_pool_drain(void)
{
    g_mutex_lock(&pool_lock);
    GSList *all = pool;
    pool = NULL;
    pool_len = 0;
    g_mutex_unlock(&pool_lock);
    for (GSList *l = all; l; l = l->next)
        conn_close(l->data, TRUE);
    g_slist_free(all);
}

guint sjm_reinject_connections_opened(void)
{
    return (guint)g_atomic_int_get(&opened);
}

gboolean sjm_split_host_port(const char *text, char **host, char **port)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    guint64 n;
    char *h;

    if (colon == NULL || colon == text
        || !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &n, NULL))
        return FALSE;
    if (text[0] == '[') {
        if (colon[-1] != ']' || colon - text < 3)
            return FALSE;
        h = g_strndup(text + 1, (gsize)(colon - text - 2));
    } else {
        if (memchr(text, ':', (gsize)(colon - text)) != NULL)
            return FALSE;    /* a bare IPv6 address needs its brackets */
        h = g_strndup(text, (gsize)(colon - text));
    }
    if (host)
        *host = h;
    else
        g_free(h);
    if (port)
        *port = g_strdup(colon + 1);
    return TRUE;
}

/* ------------------------------------------------------------ DATA */

typedef struct stuffer {
    gboolean line_start;
    guchar prev;
} stuffer;

static gboolean flush_out(conn *c, gint64 deadline, char **error)
{
    gboolean ok = write_all(c, c->out->data, c->out->len, deadline, error);
    g_byte_array_set_size(c->out, 0);
    return ok;
}

/* Dot-stuff and CRLF-normalise BUF into the output buffer. */
static gboolean stuff(conn *c, stuffer *st, const guchar *buf, gsize len,
                      gint64 deadline, char **error)
{
    for (gsize i = 0; i < len; i++) {
        guchar ch = buf[i];
        if (c->out->len + 3 > OUTBUF && !flush_out(c, deadline, error))
            return FALSE;
        if (st->line_start && ch == '.')
            g_byte_array_append(c->out, (const guint8 *)".", 1);
        if (ch == '\n' && st->prev != '\r')
            g_byte_array_append(c->out, (const guint8 *)"\r", 1);
        g_byte_array_append(c->out, &ch, 1);
        st->line_start = ch == '\n';
        st->prev = ch;
    }
    return TRUE;
}

static gboolean send_content(conn *c, const sjm_piece *pieces, guint n_pieces,
                             guint timeout_s, char **error)
{
    /* The deadline restarts with every chunk read from the message: a
     * large message may take longer than timeout_s in all, but no single
     * wait on the listener does. */
    stuffer st = {.line_start = TRUE, .prev = '\n'};
    guchar buf[16384];
    for (guint i = 0; i < n_pieces; i++) {
        const sjm_piece *p = &pieces[i];
        gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
        if (p->spool == NULL) {
            if (!stuff(c, &st, p->data, p->len, deadline, error))
                return FALSE;
            continue;
        }
        guint64 off = 0;
        gssize n;
        while ((n = sjm_spool_read(p->spool, &off, buf, sizeof buf)) > 0) {
            deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
            if (!stuff(c, &st, buf, (gsize)n, deadline, error))
                return FALSE;
        }
        if (n < 0) {
            *error = g_strdup("reading the spooled message failed");
            return FALSE;
        }
    }
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    if (!st.line_start)
        g_byte_array_append(c->out, (const guint8 *)"\r\n", 2);
    g_byte_array_append(c->out, (const guint8 *)".\r\n", 3);
    return flush_out(c, deadline, error);
}

/* ------------------------------------------------------------ submit */

typedef enum { TX_OK, TX_IO_BEFORE_DATA, TX_FAILED } tx_result;

/*
 * MAIL, every RCPT and DATA: with PIPELINING (RFC 2920) written at once
 * and their replies read in order, else one at a time.  Pipelined, the
 * listener may answer DATA with 354 although a recipient was refused
 * (Postfix does when another one was accepted); the message must then
 * not be sent, so the connection is dropped before any content.
 */
static tx_result envelope(conn *c, const sjm_reinject_target *t, const char *sender,
                          const sjm_reinject_rcpt *rcpts, guint n_rcpts, GString *reply,
                          char **error)
{
    GPtrArray *cmds = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(cmds, g_strdup_printf("MAIL FROM:<%s>%s\r\n", sender,
                                          c->eightbit ? " BODY=8BITMIME" : ""));
    for (guint i = 0; i < n_rcpts; i++)
        g_ptr_array_add(cmds, g_strdup_printf("RCPT TO:<%s>%s%s\r\n", rcpts[i].addr,
                                              rcpts[i].esmtp_args ? " " : "",
                                              rcpts[i].esmtp_args ? rcpts[i].esmtp_args : ""));
    g_ptr_array_add(cmds, g_strdup("DATA\r\n"));

    gint64 deadline = g_get_monotonic_time() + (gint64)t->timeout_s * G_USEC_PER_SEC;
    tx_result r = TX_FAILED;
    guint sent = 0;
    if (c->pipelining) {
        GString *all = g_string_new(NULL);
        for (guint i = 0; i < cmds->len; i++)
            g_string_append(all, g_ptr_array_index(cmds, i));
        gboolean ok = write_all(c, all->str, all->len, deadline, error);
        g_string_free(all, TRUE);
        if (!ok) {
            r = TX_IO_BEFORE_DATA;
            goto out;
        }
        sent = cmds->len;
    }
    for (guint i = 0; i < cmds->len; i++) {
        const char *cmd = g_ptr_array_index(cmds, i);
        if (i >= sent) {
            if (!write_all(c, cmd, strlen(cmd), deadline, error)) {
                r = i == 0 ? TX_IO_BEFORE_DATA : TX_FAILED;
                goto out;
            }
            sent = i + 1;
        }
        char *err = NULL;
        int code = read_reply(c, reply, t->timeout_s, &err);
        if (code < 0) {
            if (*error == NULL)
                *error = err;
            else
                g_free(err);
            r = i == 0 ? TX_IO_BEFORE_DATA : TX_FAILED;
            goto out;
        }
        gboolean last = i + 1 == cmds->len;
        if (last && code == 354) {
            c->mid_data = TRUE;
            if (*error == NULL)
                r = TX_OK;
            goto out;
        }
        gboolean good = i == 0 ? code == 250 : last ? FALSE : code == 250 || code == 251;
        if (!good && *error == NULL) {
            *error = i == 0 ? g_strdup_printf("re-injection MAIL FROM refused: %.200s", reply->str)
                     : last ? g_strdup_printf("re-injection DATA refused: %.200s", reply->str)
                            : g_strdup_printf("re-injection RCPT TO:<%s> refused: %.200s",
                                              rcpts[i - 1].addr, reply->str);
            if (sent <= i + 1)
                goto out;       /* lock-step: stop at the first refusal */
        }
    }
out:
    g_ptr_array_free(cmds, TRUE);
    return r;
}

static tx_result transaction(conn *c, const sjm_reinject_target *t, const char *sender,
                             const sjm_reinject_rcpt *rcpts, guint n_rcpts,
                             const sjm_piece *pieces, guint n_pieces, char **error)
{
    GString *reply = g_string_new(NULL);
    tx_result r = TX_FAILED;

    for (guint i = 0; i < n_rcpts; i++) {
        if (rcpts[i].esmtp_args && g_ascii_strncasecmp(rcpts[i].esmtp_args, "NOTIFY=", 7) == 0
            && !c->dsn) {
            *error = g_strdup("the re-injection listener does not offer DSN, so NOTIFY=NEVER "
                              "cannot be requested");
            goto out;
        }
    }
    r = envelope(c, t, sender, rcpts, n_rcpts, reply, error);
    if (r != TX_OK)
        goto out;
    r = TX_FAILED;
    if (!send_content(c, pieces, n_pieces, t->timeout_s, error))
        goto out;
    c->mid_data = FALSE;
    int code = read_reply(c, reply, t->timeout_s, error);
    if (code < 0)
        goto out;
    if (code != 250) {
        *error = g_strdup_printf("re-injected message refused: %.200s", reply->str);
        goto out;
    }
    r = TX_OK;
out:
    g_string_free(reply, TRUE);
    return r;
}

gboolean sjm_reinject_submit(const sjm_reinject_target *t, const char *sender,
                             const sjm_reinject_rcpt *rcpts, guint n_rcpts,
                             const sjm_piece *pieces, guint n_pieces,
                             char **error)
{
    *error = NULL;
    if (n_rcpts == 0) {
        *error = g_strdup("re-injection without recipients");
        return FALSE;
    }
    char *key = g_strdup_printf("%s %s", t->host, t->port);
    conn *c = pool_take(key);
    g_free(key);
    gboolean fresh = FALSE;
    if (c == NULL) {
        c = conn_open(t, error);
        fresh = TRUE;
        if (c == NULL)
            return FALSE;
    }
    tx_result r = transaction(c, t, sender, rcpts, n_rcpts, pieces, n_pieces, error);
    if (r == TX_IO_BEFORE_DATA && !fresh) {
        /* A pooled session the listener had closed: nothing was
         * accepted, so one retry on a new connection is safe. */
        conn_close(c, FALSE);
        g_free(*error);
        *error = NULL;
        c = conn_open(t, error);
        if (c == NULL)
            return FALSE;
        r = transaction(c, t, sender, rcpts, n_rcpts, pieces, n_pieces, error);
    }
    if (r == TX_OK) {
        pool_put(c);
        return TRUE;
    }
    conn_close(c, TRUE);
    return FALSE;
}
