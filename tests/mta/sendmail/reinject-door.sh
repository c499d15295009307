#!/bin/bash
# reinject-door.sh - through a real Sendmail whose .mc holds
# etc/sendmail.mc.snippet as shipped (tests/lib/sendmail.sh; the daemon
# MTA-reinject with InputMailFilters=smime-journal-milter, moved to this
# slot's port), the re-injection daemon is no door around the filter.
# The cases are tests/lib/reinject_door.sh's, as for Postfix:
#   (a) a local process talking SMTP to MTA-reinject, ordinary message to
#       an outside recipient: 550 5.7.1, nothing delivered;
#   (b) forged, expired, future, moved, doubled and replayed tokens are
#       refused; a good one is admitted once, without its header;
#   (c) report, bcc+strip and split re-injections still arrive;
#   (e) a daemon name the filter does not expect: the original tempfails;
#   (d) the filter stopped or killed: MTA-reinject and the front door both
#       tempfail (F=T), nothing is delivered; the retry is journaled once.
# With the filter stopped Sendmail waits for its read timeout (R:30s of
# the snippet) on each connection, so this script takes a few minutes.
set -u
. "$abs_top_srcdir/tests/lib/sendmail.sh"
. "$abs_top_srcdir/tests/lib/reinject_door.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"

door_wait_idle() { sm_wait_idle "${1:-60}"; }
door_mta_log() { sm_log; }

door_config bcc preserve preserve
sm_start "$door_conf"
trap 'st=$?; rm -rf "$door_work"; (exit $st); sm_cleanup' EXIT
door_restart bcc preserve preserve     # now that the slot's listener port is known

e2e_check "MTA-reinject runs the filter, as the snippet ships it" \
    grep -q "^O DaemonPortOptions=Port=$E2E_REINJECT_PORT, Addr=127.0.0.1, Name=MTA-reinject, InputMailFilters=smime-journal-milter\$" \
    "$E2E_DIR/etc/test.cf"

door_run_all
