/*
 * netlist.h - lists of IPv4/IPv6 networks in CIDR notation, for
 * trusted_networks.  Parsing reports the first bad entry so the
 * configuration loader can name it.
 *
 * INTERFACE
 *   sjm_netlist_parse, sjm_netlist_contains, sjm_netlist_free.
 *
 * ERROR CONTRACT
 *   sjm_netlist_parse returns NULL and names the first bad entry.
 */
#ifndef SJM_NETLIST_H
#define SJM_NETLIST_H

#include <glib.h>

typedef struct sjm_netlist sjm_netlist;

/* Parse a comma-separated list.  NULL plus *bad_entry (g_free) on error. */
sjm_netlist *sjm_netlist_parse(const char *text, char **bad_entry);
void sjm_netlist_free(sjm_netlist *list);

/* Does textual address ADDR (v4, v6, or v4-mapped v6) fall in LIST? */
gboolean sjm_netlist_contains(const sjm_netlist *list, const char *addr);

#endif
