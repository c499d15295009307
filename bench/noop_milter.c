/*
 * noop_milter.c - the baseline for bench/throughput.sh: a milter that
 * negotiates, receives every callback Postfix sends and changes
 * nothing.  Accepts the same "-p SOCKET" as smime-journal-milter and
 * ignores its other options so the harness can start it the same way.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

    while ((opt = getopt(argc, argv, "fc:p:u:")) != -1)
        if (opt == 'p')
            sock = optarg;
    if (!sock) {
        fprintf(stderr, "usage: noop_milter -p SOCKET\n");
        return 64;
    }
    umask(0);
    smfi_setconn((char *)sock);
    if (smfi_register(desc) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS)
        return 1;
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
