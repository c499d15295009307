/*
 * journal_cost.c - in-process cost of the journaling decision per message
 * (issue 13's new checks): plain mail on the header-only fast path with an
 * unkeyed and with an HMAC mark, and a genuine MDN whose body is parsed.
 * Prints microseconds per message; asserts nothing.  From a built tree:
 *   cd _build && gcc -O2 -I../include -I. $(pkg-config --cflags gmime-3.0) \
 *       -o journal_cost ../bench/journal_cost.c libsjm.a \
 *       $(pkg-config --libs gmime-3.0) -lssl -lcrypto && ./journal_cost
 */
#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>
#include "config.h"
#include "journal.h"

static double run(sjm_config *cfg, sjm_txn *t, int n)
{
    gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < n; i++) {
        sjm_plan *v = sjm_plan_new();
        sjm_journal_apply(cfg, t, v);
        sjm_plan_free(v);
    }
    return (double)(g_get_monotonic_time() - t0) / n;
}

int main(void)
{
    g_mime_init();
    sjm_config *cfg = sjm_config_new_default();
    g_free(cfg->journal_recipient);
    cfg->journal_recipient = g_strdup("journal@archive.example.com");
    sjm_txn *plain = sjm_txn_new();
    sjm_txn_set_sender(plain, "alice@corp.example");
    sjm_txn_add_rcpt(plain, "bob@other.example");
    const char *h[][2] = {{"From", "alice@corp.example"}, {"To", "bob@other.example"},
        {"Subject", "lunch"}, {"Date", "Mon, 23 Nov 2026 12:00:00 +0000"},
        {"Message-ID", "<m1@corp.example>"}, {"MIME-Version", "1.0"},
        {"Content-Type", "text/plain; charset=us-ascii"}};
    for (guint i = 0; i < G_N_ELEMENTS(h); i++)
        sjm_txn_add_header(plain, h[i][0], h[i][1]);
    int n = 200000;
    printf("plain, unkeyed mark:       %.2f us/message\n", run(cfg, plain, n));
    cfg->mark_key = g_bytes_new("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 64);
    printf("plain, HMAC mark:          %.2f us/message\n", run(cfg, plain, n));

    sjm_txn *mdn = sjm_txn_new();
    sjm_txn_set_sender(mdn, "bob@corp.example");
    sjm_txn_add_rcpt(mdn, "alice@other.example");
    for (guint i = 0; i < 6; i++)
        sjm_txn_add_header(mdn, h[i][0], h[i][1]);
    sjm_txn_add_header(mdn, "Content-Type", "multipart/report; report-type=disposition-notification; boundary=\"B\"");
    const char *body = "--B\r\nContent-Type: text/plain\r\n\r\nThe message was displayed.\r\n\r\n"
        "--B\r\nContent-Type: message/disposition-notification\r\n\r\nReporting-UA: ua\r\n"
        "Final-Recipient: rfc822;bob@corp.example\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: a@corp.example\r\nSubject: lunch\r\n\r\n--B--\r\n";
    mdn->body = sjm_spool_new();
    sjm_spool_append(mdn->body, body, strlen(body));
    printf("genuine MDN, body parsed:  %.2f us/message\n", run(cfg, mdn, n / 10));
    return 0;
}
