#!/bin/bash
# reinject-door.sh - through a real Postfix whose re-injection listener is
# set up as etc/postfix-master.cf.snippet ships it (tests/lib/e2e.sh; the
# filter as its milter under {daemon_name} MTA-reinject), the listener is
# no door around the filter (cases in tests/lib/reinject_door.sh):
#   (a) a local process talking SMTP to the listener, ordinary message to
#       an outside recipient: 550 5.7.1, nothing delivered; the same
#       message through the front door is delivered and journaled;
#   (b) forged, expired, future, moved (other recipient), doubled and
#       replayed tokens are refused; a good one is admitted once, without
#       its header;
#   (c) the filter's own re-injections still arrive: report, bcc+strip
#       (the journal gets the signed original), split; no token header in
#       any mailbox; no original is filtered twice;
#   (e) a {daemon_name} the filter does not expect: the re-injected copy is
#       refused there, the original tempfailed, nothing delivered;
#   (d) the filter stopped (SIGSTOP) or killed: the listener and the front
#       door both tempfail, nothing is delivered; once it is back, the
#       retry is delivered and journaled once.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/reinject_door.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"

# A stopped filter costs each connection these timeouts, not Postfix's 30 s.
E2E_EXTRA_MAIN_CF='milter_connect_timeout = 5s\nmilter_command_timeout = 5s\nmilter_content_timeout = 10s'

door_wait_idle() { e2e_wait_idle "${1:-60}"; }
door_mta_log() { e2e_postfix_log; }

door_config bcc preserve preserve
e2e_start "$door_conf"
trap 'st=$?; rm -rf "$door_work"; (exit $st); e2e_cleanup' EXIT
door_restart bcc preserve preserve     # now that the slot's listener port is known

e2e_check "the listener runs the filter as its milter, as the snippet ships it" \
    grep -q "^  -o smtpd_milters=unix:$E2E_DIR/milter/milter.sock\$" "$E2E_DIR/etc/master.cf"
e2e_check "... under {daemon_name} MTA-reinject" \
    grep -q '^  -o milter_macro_daemon_name=MTA-reinject$' "$E2E_DIR/etc/master.cf"

door_run_all
