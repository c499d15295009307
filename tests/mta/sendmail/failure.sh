#!/bin/bash
# failure.sh - the filter dead, hung or killed mid-message behind a real
# Sendmail with the shipped F=T and T= settings (etc/sendmail.mc.snippet):
# every message is refused with a temporary (4xx) reply or delivered
# journaled, never delivered unjournaled and never lost; after the filter
# is back, the same message goes through.  The hung case waits out the
# snippet's R:30s read timeout.
set -u
. "$abs_top_srcdir/tests/lib/sendmail.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-smfail.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '[journal]\nrecipient = %s\n' "$JOURNAL" >"$work/filter.conf"
sm_start "$work/filter.conf"
trap 'st=$?; rm -rf "$work"; (exit $st); sm_cleanup' EXIT

# attempt ID: send case ID to bob; status in $work/ID.rc, replies in ID.out
attempt() {
    e2e_send "$work/$1.eml" alice@corp.example bob@corp.example >"$work/$1.out" 2>&1
    echo $? >"$work/$1.rc"
}
tempfailed() { # ID: refused with a 4xx reply, nothing accepted
    [ "$(cat "$work/$1.rc")" = 2 ] && grep -q "refused: 4[0-9][0-9]" "$work/$1.out"
}
delivered_journaled() { # ID
    [ "$(count_id bob@corp.example "$1")" -eq 1 ] && [ "$(count_id $JOURNAL "$1")" -eq 1 ]
}

# ---- baseline
mkmsg "$work/up.eml" up alice@corp.example bob@corp.example
attempt up
sm_wait_idle
e2e_check "filter up: delivered and journaled" delivered_journaled up

# ---- dead: no process behind the socket
e2e_stop_filter
mkmsg "$work/dead.eml" dead alice@corp.example bob@corp.example
attempt dead
e2e_check "filter dead: Sendmail refuses the message with 4xx ($(grep -o 'refused: [0-9]* [^ ]*' "$work/dead.out" | head -1))" \
    tempfailed dead
e2e_check "filter dead: Sendmail logged the unreachable filter" \
    grep -q "Milter (smime-journal-milter): .*\(error connecting\|to error state\)" "$(sm_log)"
sm_wait_idle
e2e_check "filter dead: nothing delivered" test "$(count_id bob@corp.example dead)" -eq 0
e2e_start_filter "$E2E_DIR/filter.conf"
attempt dead
sm_wait_idle
e2e_check "filter back: the retried message is delivered and journaled" delivered_journaled dead

# ---- hung: the process is there but does not answer
kill -STOP "$E2E_FILTER_PID"
mkmsg "$work/hung.eml" hung alice@corp.example bob@corp.example
t0=$(date +%s)
attempt hung
t1=$(date +%s)
kill -CONT "$E2E_FILTER_PID"
e2e_check "filter hung: Sendmail refuses the message with 4xx after $((t1 - t0)) s ($(grep -o 'refused: [0-9]* [^ ]*' "$work/hung.out" | head -1))" \
    tempfailed hung
e2e_check "filter hung: Sendmail logged the timeout" \
    grep -q "Milter (smime-journal-milter): timeout" "$(sm_log)"
sm_wait_idle
e2e_check "filter hung: nothing delivered" test "$(count_id bob@corp.example hung)" -eq 0
sleep 1
attempt hung
sm_wait_idle
e2e_check "filter resumed: the retried message is delivered and journaled" delivered_journaled hung

# ---- killed in the middle of DATA
rm -f "$work/ready" "$work/go"
python3 "$E2E_LIB/slow_smtp.py" "$E2E_PORT" alice@corp.example bob@corp.example \
    "$work/ready" "$work/go" >"$work/slow.out" 2>&1 &
slow=$!
for _ in $(seq 1 200); do [ -e "$work/ready" ] && break; sleep 0.1; done
kill -KILL "$E2E_FILTER_PID"
wait "$E2E_FILTER_PID" 2>/dev/null
E2E_FILTER_PID=
touch "$work/go"
wait "$slow"
e2e_check "filter killed mid-message: end of data answered 4xx ($(cat "$work/slow.out"))" \
    grep -qx "4[0-9][0-9]" "$work/slow.out"
sm_wait_idle
e2e_check "filter killed mid-message: nothing delivered" \
    sh -c "! grep -rqs '^Subject: in flight' '$E2E_DIR/mail'"

rm -rf "$work"
e2e_finish
