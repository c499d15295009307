/*
 * milter.h - the libmilter adapter: callbacks that gather a transaction
 * and apply its plan, and the configuration they read.
 *
 * INTERFACE
 *   sjm_milter_desc (the callbacks main.c registers), the configuration
 *   handover for reloads (sjm_milter_set_config, sjm_milter_get_config)
 *   and the drain at stop (sjm_milter_drain, _active_transactions).
 *
 * ERROR CONTRACT
 *   libmilter's own failures are logged and end the milter thread; a
 *   transaction never fails silently (the session decides).
 */
#ifndef SJM_MILTER_H
#define SJM_MILTER_H

#include <libmilter/mfapi.h>
#include "config.h"

extern struct smfiDesc sjm_milter_desc;

/* Install CFG (takes the reference) as the one new transactions use. */
void sjm_milter_set_config(sjm_config *cfg);
/* A reference to the current configuration (unref when done). */
sjm_config *sjm_milter_get_config(void);

/*
 * Clean stop: after sjm_milter_drain(), new transactions are refused
 * with a 4xx (the client retries later) while open ones finish;
 * sjm_milter_active_transactions() says when none is left.
 */
void sjm_milter_drain(void);
int sjm_milter_active_transactions(void);

#endif
