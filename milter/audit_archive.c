/*
 * audit_archive.c - the archive as the audit reads it (audit.h): every
 * message of a Maildir, of a directory of .eml files or of an mbox, each
 * reduced to what identifies a journal copy -- the original's
 * Message-ID, the mailbox it was delivered to and the original's body
 * digest (bodyhash.h, the digest the ledger entry records).
 *
 * A journal report (X-MS-Journal-Report, journal_report.h) carries the
 * original as its message/rfc822 part, bytes unchanged: the digest and
 * the Message-ID are the original's.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "audit.h"
#include "bodyhash.h"
#include "journal_report.h"
#include "ledger.h"

void sjm_archived_free(gpointer p)
{
    sjm_archived *a = p;
    if (!a)
        return;
    g_free(a->where);
    g_free(a->message_id);
    g_free(a->mailbox);
    g_free(a);
}

/* Where the header of DATA ends (the body's first byte), LEN when none. */
static gsize header_end(const char *data, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        if (i + 1 < len && data[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
            return i + 3;
    }
    return len;
}

/* The first field NAME of the header DATA[0..LEN), unfolded, or NULL. */
static char *field(const char *data, gsize len, const char *name)
{
    gsize nlen = strlen(name);
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize)(end - p));
        const char *eol = nl ? nl : end;
        if ((gsize)(eol - p) > nlen && g_ascii_strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            GString *v = g_string_new(NULL);
            g_string_append_len(v, p + nlen + 1, eol - p - (gssize)nlen - 1);
            /* continuation lines start with white space */
            while (nl && nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
                const char *q = nl + 1;
                nl = memchr(q, '\n', (gsize)(end - q));
                g_string_append_len(v, q, (nl ? nl : end) - q);
            }
            return g_string_free(v, FALSE);
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

static char *boundary_of(const char *ctype)
{
    const char *b = ctype ? strstr(ctype, "boundary=") : NULL;
    if (!b)
        return NULL;
    b += strlen("boundary=");
    if (*b == '"') {
        const char *q = strchr(b + 1, '"');
        return q ? g_strndup(b + 1, (gsize)(q - b - 1)) : NULL;
    }
    gsize n = strcspn(b, "; \t\r\n");
    return n ? g_strndup(b, n) : NULL;
}

/* The original inside a journal report: *START and *LEN within DATA. */
static gboolean unwrap_report(const char *data, gsize len, gsize hend, gsize *start, gsize *olen)
{
    char *ct = field(data, hend, "Content-Type");
    char *b = boundary_of(ct);
    g_free(ct);
    if (!b)
        return FALSE;
    char *delim = g_strconcat("\n--", b, NULL);
    gboolean ok = FALSE;
    const char *end = data + len;
    /* The rfc822 part: after its own header, up to the next delimiter
     * (whose preceding line break belongs to the delimiter, RFC 2046 5.1.1). */
    const char *part = g_strstr_len(data + hend, (gssize)(len - hend), "Content-Type: message/rfc822");
    if (part) {
        gsize ph = header_end(part, (gsize)(end - part));
        const char *o = part + ph;
        const char *stop = o < end ? g_strstr_len(o, end - o, delim) : NULL;
        if (stop) {
            if (stop > o && stop[-1] == '\r')
                stop--;
            *start = (gsize)(o - data);
            *olen = (gsize)(stop - o);
            ok = TRUE;
        }
    }
    g_free(delim);
    g_free(b);
    return ok;
}

sjm_archived *sjm_archived_from_bytes(const char *where, const char *data, gsize len)
{
    sjm_archived *a = g_new0(sjm_archived, 1);
    a->where = g_strdup(where);
    gsize hend = header_end(data, len);
    char *dt = field(data, hend, "Delivered-To");
    if (dt) {
        a->mailbox = g_ascii_strdown(g_strstrip(dt), -1);
        g_free(dt);
    }
    char *rep = field(data, hend, SJM_REPORT_HEADER);
    gsize os = 0, ol = len;
    if (rep && unwrap_report(data, len, hend, &os, &ol)) {
        a->report = TRUE;
        data += os;
        len = ol;
        hend = header_end(data, len);
    }
    g_free(rep);
    char *mid = field(data, hend, "Message-ID");
    a->message_id = sjm_ledger_message_id(mid);
    g_free(mid);
    a->has_digest = sjm_bodyhash_data((const guchar *)data + hend, len - hend, a->digest);
    return a;
}

/* ------------------------------------------------------------ sources */

typedef struct walk {
    GPtrArray *out;
    gboolean maildir;
    void (*progress)(guint64 n);
    GError **err;
} walk;

static void add_file(walk *w, const char *path)
{
    char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return;
    g_ptr_array_add(w->out, sjm_archived_from_bytes(path, data, len));
    g_free(data);
    if (w->progress && w->out->len % 1000 == 0)
        w->progress(w->out->len);
}

static gboolean walk_dir(walk *w, const char *dir, gboolean in_mail)
{
    GDir *d = g_dir_open(dir, 0, w->err);
    if (!d)
        return FALSE;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL)
        if (n[0] != '.')
            g_ptr_array_add(names, g_strdup(n));
    g_dir_close(d);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < names->len; i++) {
        const char *name = *(char **)&names->pdata[i];
        char *path = g_build_filename(dir, name, NULL);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* Maildir: messages live in cur/ and new/; tmp/ is unfinished. */
            gboolean mail = !w->maildir || strcmp(name, "cur") == 0 || strcmp(name, "new") == 0;
            if (!w->maildir || strcmp(name, "tmp") != 0)
                ok = walk_dir(w, path, mail);
        } else if (S_ISREG(st.st_mode) && in_mail) {
            add_file(w, path);
        }
        g_free(path);
    }
    g_ptr_array_free(names, TRUE);
    return ok;
}

/* mboxrd (RFC 4155 and its ">From " quoting): a message starts at a
 * "From " line; one '>' is removed from every ">...>From " line. */
static void read_mbox(walk *w, const char *data, gsize len)
{
    const char *p = data, *end = data + len;
    GString *msg = NULL;
    guint64 n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (gsize)(end - p));
        const char *next = nl ? nl + 1 : end;
        if ((gsize)(end - p) >= 5 && strncmp(p, "From ", 5) == 0) {
            if (msg) {
                char *where = g_strdup_printf("%s:%" G_GUINT64_FORMAT, "mbox", n);
                g_ptr_array_add(w->out, sjm_archived_from_bytes(where, msg->str, msg->len));
                g_free(where);
                g_string_free(msg, TRUE);
            }
            msg = g_string_new(NULL);
            n++;
        } else if (msg) {
            const char *q = p;
            while (q < next && *q == '>')
                q++;
            if (q > p && (gsize)(next - q) >= 5 && strncmp(q, "From ", 5) == 0)
                p++;
            g_string_append_len(msg, p, next - p);
        }
        p = next;
    }
    if (msg) {
        char *where = g_strdup_printf("%s:%" G_GUINT64_FORMAT, "mbox", n);
        g_ptr_array_add(w->out, sjm_archived_from_bytes(where, msg->str, msg->len));
        g_free(where);
        g_string_free(msg, TRUE);
    }
}

GPtrArray *sjm_archive_read(const sjm_audit_opts *o, void (*progress)(guint64 n), GError **err)
{
    walk w = {g_ptr_array_new_with_free_func(sjm_archived_free), o->maildir != NULL, progress, err};
    gboolean ok = TRUE;
    if (o->maildir || o->eml_dir) {
        ok = walk_dir(&w, o->maildir ? o->maildir : o->eml_dir, o->maildir == NULL);
    } else if (o->mbox) {
        char *data = NULL;
        gsize len = 0;
        ok = g_file_get_contents(o->mbox, &data, &len, err);
        if (ok)
            read_mbox(&w, data, len);
        g_free(data);
    }
    if (!ok) {
        g_ptr_array_free(w.out, TRUE);
        return NULL;
    }
    return w.out;
}
