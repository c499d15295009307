#!/bin/bash
# fault-stall.sh - the filter stopped (SIGSTOP) for 8 seconds in the middle of
# a burst, against Postfix's milter timeouts (set short here:
# milter_connect_timeout 2s, milter_command_timeout 2s,
# milter_content_timeout 4s; milter_default_action = tempfail).  What the
# client sees is a 451 after at most a timeout, never a hang or a 5xx;
# after SIGCONT the filter serves again and every message is delivered
# once with its journal copy.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"

work=$(mktemp -d /tmp/sjm-fault-stall.XXXXXX)
cat >"$work/filter.conf" <<CF
[signatures]
action = strip
[journal]
recipient = $JOURNAL
CF
E2E_EXTRA_MAIN_CF="milter_connect_timeout = 2s\nmilter_command_timeout = 2s\nmilter_content_timeout = 4s"
e2e_start "$work/filter.conf"

fault_burst "$work/burst.out" stall 80 --conc 4 --size 8000 --pause 0.5
burst_pid=$FAULT_BURST_PID
fault_wait_accepted 15 "$work/burst.out"
kill -STOP "$E2E_FILTER_PID"
echo "# filter stopped (SIGSTOP) after $(fault_accepted "$work/burst.out") acceptances, $(e2e_count $RCPT) deliveries"
sleep 8
during=$(e2e_count $RCPT)
kill -CONT "$E2E_FILTER_PID"
echo "# filter continued (SIGCONT) with $during deliveries"
wait "$burst_pid"
e2e_check "every message accepted in the end" test $? -eq 0
e2e_wait_idle 60 || e2e_fail "delivery did not finish"

refused=$(fault_field "$work/burst.out" tempfail_replies)
e2e_check "clients got 4xx replies during the stall ($refused)" test "$refused" -gt 0
e2e_check "... every one a 451 4.7.1 (milter_default_action = tempfail), never a 5xx" \
    test "$(grep -c ': 4[0-9][0-9] ' "$work/burst.out")" -eq "$(grep -c ': 451 4.7.1 ' "$work/burst.out")" \
    -a "$(fault_field "$work/burst.out" failed)" -eq 0
slowest=$(fault_field "$work/burst.out" slowest_ms)
echo "# slowest single attempt: ${slowest} ms"
grep -m 1 ': 451 ' "$work/burst.out" | sed 's/^/# client saw: /'
grep -m 2 'milter.*timeout\|timeout.*milter' "$(e2e_postfix_log)" | sed 's/^/# postfix logged: /'
e2e_check "no attempt waited longer than the milter timeouts allow (${slowest} ms < 15000 ms)" \
    test "$slowest" -lt 15000
e2e_check "Postfix logged the milter timeout" grep -q 'milter.*timeout\|timeout.*milter\|read error.*milter\|milter.*read error' "$(e2e_postfix_log)"
e2e_check "the filter is still running after the stall" kill -0 "$E2E_FILTER_PID"
fault_reconcile "burst across the stall" stall 80 "$work/burst.out"
e2e_check "nothing left in the queue" test "$(e2e_queue_count)" -eq 0
rm -rf "$work"
e2e_finish
