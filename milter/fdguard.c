/*
 * fdguard.c - what the filter does when it runs out of file descriptors.
 *
 * libmilter's listener thread polls the socket and calls accept(); when
 * accept() fails with EMFILE or ENFILE it simply loops, the socket is
 * still readable, and the thread spins a core without writing a word to
 * the log (its "try again" message is kept for other errors).  An
 * administrator then sees only Postfix's milter timeouts.  libmilter has
 * no hook there, so this file defines accept() itself: the executable's
 * definition comes first in symbol lookup, so libmilter's call lands
 * here (only the daemon links this file; the tests and --inspect never
 * accept).  On a full descriptor table it logs - once, then every
 * LOG_EVERY seconds with a count - and sleeps a little before handing
 * the error back, so the waiting MTA connection is picked up within
 * RETRY_PAUSE of a descriptor coming free and no core is burned.
 */
#define _GNU_SOURCE 1   /* accept4 */
#include "autoconfig.h"
#include <errno.h>
#include <sys/socket.h>
#include <time.h>
#include "fdguard.h"
#include "log.h"

#define RETRY_PAUSE_MS 100
#define LOG_EVERY 10

rlim_t sjm_fdguard_raise_limit(rlim_t *was)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        *was = 0;
        return 0;
    }
    *was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = *was;
    }
    return rl.rlim_cur;
}

static rlim_t current_limit(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0;
}

/* Only libmilter's single listener thread calls accept(): no locking. */
static unsigned long refused;
static time_t starved_since, last_logged;

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int conn = accept4(fd, addr, len, 0);

    if (conn >= 0) {
        if (refused > 0) {
            sjm_log(LOG_NOTICE, "accepting MTA connections again after %lu refused attempt(s) "
                    "over %ld s without a free file descriptor",
                    refused, (long)(time(NULL) - starved_since));
            refused = 0;
        }
        return conn;
    }
    if (errno != EMFILE && errno != ENFILE)
        return conn;

    int saved = errno;
    time_t now = time(NULL);
    if (refused++ == 0) {
        starved_since = now;
        last_logged = 0;
    }
    if (now - last_logged >= LOG_EVERY) {
        sjm_log(LOG_ERR, "cannot accept an MTA connection: %s (descriptor limit %lu, %s); "
                "the MTA applies its milter default action (Postfix: milter_default_action) "
                "until one comes free; %lu attempt(s) refused so far",
                g_strerror(saved), (unsigned long)current_limit(),
                saved == EMFILE ? "raise LimitNOFILE= or close idle MTA connections"
                                : "the system-wide file table is full",
                refused);
        last_logged = now;
    }
    struct timespec pause = { 0, RETRY_PAUSE_MS * 1000000L };
    nanosleep(&pause, NULL);
    errno = saved;
    return -1;
}
