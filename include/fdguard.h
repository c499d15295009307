/*
 * fdguard.h - file descriptors for a daemon that takes one per MTA
 * connection: start-up raises the soft limit to the hard one, and an
 * exhausted table is logged and waited out instead of spun on.
 *
 * INTERFACE
 *   sjm_fdguard_raise_limit at start; accept() for libmilter's listener.
 *
 * ERROR CONTRACT
 *   Never fails the daemon: a full table is logged and waited out.
 */
#ifndef SJM_FDGUARD_H
#define SJM_FDGUARD_H

#include <sys/resource.h>

/* Raise RLIMIT_NOFILE's soft limit to its hard limit; returns the limit
 * now in force (and the old soft limit in *was). */
rlim_t sjm_fdguard_raise_limit(rlim_t *was);

#endif
