/*
 * noop_milter.c - the baselines for the benchmarks: a milter that
 * changes nothing.  Accepts the same "-p SOCKET" as smime-journal-milter
 * and ignores its other options so the harnesses start it the same way.
 *
 *   (default)  registers only end-of-message, so libmilter tells the MTA
 *              to send nothing else: the cost of merely being a milter.
 *   -a         registers every callback our filter uses and negotiates
 *              the same protocol steps (no HELO, no DATA, no reply to
 *              connect/header/end-of-header), touching each header field
 *              and body chunk: what any filter that must see the message
 *              pays before doing its job.  The CPU targets are fair only
 *              against this one.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static sfsistat noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                               unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                               unsigned long *pf2, unsigned long *pf3)
{
    (void)ctx;
    (void)f2;
    (void)f3;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT
                 | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT);
    *pf1 = f1 & (SMFIP_SKIP | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN
                 | SMFIP_NR_HDR | SMFIP_NR_EOH);
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* A volatile sink so the compiler cannot drop the reads. */
static volatile unsigned long touched;

static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    (void)ctx;
    (void)sa;
    touched += strlen(host);
    return SMFIS_CONTINUE;
}

static sfsistat noop_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    touched += strlen(argv[0]);
    return SMFIS_CONTINUE;
}

static sfsistat noop_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    touched += strlen(name) + strlen(value);
    return SMFIS_CONTINUE;
}

static sfsistat noop_eoh(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat noop_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx;
    if (len > 0)
        touched += chunk[0] + chunk[len - 1];
    return SMFIS_CONTINUE;
}

static sfsistat noop_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "noop",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_eom = noop_eom,
};

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "afc:p:u:")) != -1) {
        if (opt == 'p')
            sock = optarg;
        if (opt == 'a') {
            desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT
                              | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT;
            desc.xxfi_negotiate = noop_negotiate;
            desc.xxfi_connect = noop_connect;
            desc.xxfi_envfrom = noop_envfrom;
            desc.xxfi_envrcpt = noop_envfrom;
            desc.xxfi_header = noop_header;
            desc.xxfi_eoh = noop_eoh;
            desc.xxfi_body = noop_body;
        }
    }
    if (!sock) {
        fprintf(stderr, "usage: noop_milter [-a] -p SOCKET\n");
        return 64;
    }
    umask(0);
    smfi_setconn((char *)sock);
    if (smfi_register(desc) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS)
        return 1;
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
