/*
 * netlist.c - CIDR lists.  IPv4 networks are stored as v4-mapped IPv6
 * so one comparison covers both families and "::ffff:127.0.0.1" (as
 * some MTAs report v4 clients on v6 sockets) matches 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <string.h>
#include "netlist.h"

typedef struct {
    guint8 addr[16];
    guint prefix;   /* in bits, over the 128-bit form */
} net_entry;

struct sjm_netlist {
    GArray *nets;
};

static gboolean parse_addr(const char *text, guint8 out[16], gboolean *is_v4)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        *is_v4 = TRUE;
        return TRUE;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
        memcpy(out, &v6, 16);
        *is_v4 = FALSE;
        return TRUE;
    }
    return FALSE;
}

static gboolean parse_entry(const char *text, net_entry *e)
{
    char **parts = g_strsplit(text, "/", 2);
    gboolean is_v4 = FALSE, ok = FALSE;
    guint64 prefix;

    if (parse_addr(parts[0], e->addr, &is_v4)) {
        guint max = is_v4 ? 32 : 128;
        if (parts[1] == NULL)
            prefix = max;
        else if (!g_ascii_string_to_unsigned(parts[1], 10, 0, max, &prefix, NULL))
            goto out;
        e->prefix = (guint)prefix + (is_v4 ? 96 : 0);
        ok = TRUE;
    }
out:
    g_strfreev(parts);
    return ok;
}

sjm_netlist *sjm_netlist_parse(const char *text, char **bad_entry)
{
    sjm_netlist *list = g_new0(sjm_netlist, 1);
    char **items = g_strsplit(text ? text : "", ",", -1);

    list->nets = g_array_new(FALSE, FALSE, sizeof(net_entry));
    for (char **p = items; *p; p++) {
        char *item = g_strstrip(*p);
        net_entry e;
        if (*item == '\0')
            continue;
        if (!parse_entry(item, &e)) {
            if (bad_entry)
                *bad_entry = g_strdup(item);
            g_strfreev(items);
            sjm_netlist_free(list);
            return NULL;
        }
        g_array_append_val(list->nets, e);
    }
    g_strfreev(items);
    return list;
}

void sjm_netlist_free(sjm_netlist *list)
{
    if (!list)
        return;
    g_array_free(list->nets, TRUE);
    g_free(list);
}

static gboolean prefix_equal(const guint8 *a, const guint8 *b, guint bits)
{
    guint whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return FALSE;
    if (rest == 0)
        return TRUE;
    guint8 mask = (guint8)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

gboolean sjm_netlist_contains(const sjm_netlist *list, const char *addr)
{
    guint8 a[16];
    gboolean is_v4;

    if (!list || !addr || !parse_addr(addr, a, &is_v4))
        return FALSE;
    for (guint i = 0; i < list->nets->len; i++) {
        const net_entry *e = &g_array_index(list->nets, net_entry, i);
        if (prefix_equal(a, e->addr, e->prefix))
            return TRUE;
    }
    return FALSE;
}
