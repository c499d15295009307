#!/bin/bash
# fault-fdpressure.sh - many idle connections to the filter's socket (a client
# that connects and never speaks), behind a real Postfix.
#   1. 200 idle connections under the ordinary descriptor limit: mail
#      keeps flowing on the first try, the filter's thread count stays
#      bounded.
#   2. The filter started with RLIMIT_NOFILE 64 and 100 idle connections,
#      so it cannot accept another one: Postfix gives up after
#      milter_connect_timeout/milter_command_timeout (2s here) and the
#      client gets 451 4.7.1, never a hang or a 5xx; the filter stays up,
#      says so in its log and does not spin; once the idle connections
#      close, it logs that it accepts again and the retrying client's
#      messages are all delivered once with their journal copies.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"
command -v prlimit >/dev/null || e2e_fail "prlimit is not installed (apt-get install -y util-linux)"

work=$(mktemp -d /tmp/sjm-fault-fd.XXXXXX)
printf '[journal]\nrecipient = %s\n' "$JOURNAL" >"$work/filter.conf"
E2E_EXTRA_MAIN_CF="milter_connect_timeout = 2s\nmilter_command_timeout = 2s"
e2e_start "$work/filter.conf"
sock=$E2E_DIR/milter/milter.sock

# hold N: N idle connections until fd 9 closes.
hold() {
    rm -f "$work/hold"
    mkfifo "$work/hold"
    python3 "$FAULT_LIB/idle.py" "$sock" "$1" <"$work/hold" >"$work/idle.out" 2>&1 &
    exec 9>"$work/hold"
    for _ in $(seq 1 200); do
        grep -q '^idle:' "$work/idle.out" && break
        sleep 0.1
    done
    echo "# $(cat "$work/idle.out"), filter: $(ls /proc/"$E2E_FILTER_PID"/fd | wc -l) descriptors, $(awk '/^Threads/ {print $2}' /proc/"$E2E_FILTER_PID"/status) threads"
}

grep -m 1 'starting:' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "start-up logs the descriptor limit" grep -q 'starting: .*descriptor limit [0-9]' "$(e2e_filter_log)"
hold 200
python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" idle 20 --conc 2 --retry-for 30 $RCPT >"$work/idle.burst" 2>&1
e2e_check "200 idle connections: 20 messages accepted, every one on the first try" \
    test "$(fault_field "$work/idle.burst" first_try)" -eq 20
threads=$(awk '/^Threads/ {print $2}' /proc/"$E2E_FILTER_PID"/status)
e2e_check "... the filter did not start a thread per idle connection ($threads threads)" test "$threads" -lt 100
exec 9>&-

e2e_stop_filter
E2E_FILTER_WRAPPER="prlimit --nofile=64:64"
e2e_start_filter "$work/filter.conf"
hold 100
fds=$(ls /proc/"$E2E_FILTER_PID"/fd | wc -l)
e2e_check "RLIMIT_NOFILE 64: the idle connections took every descriptor ($fds open)" test "$fds" -ge 60
# (9>&-: the client must not hold the idle connections' fifo open)
fault_burst "$work/starved.out" starved 10 --conc 2 --pause 0.5 --retry-for 90 9>&-
burst_pid=$FAULT_BURST_PID
for _ in $(seq 1 300); do
    [ "$(grep -c ': 451 ' "$work/starved.out")" -ge 4 ] && break
    sleep 0.1
done
e2e_check "while starved: nothing accepted, clients get 451 4.7.1" \
    test "$(grep -c ': 451 4.7.1 ' "$work/starved.out")" -ge 4 -a "$(e2e_count $RCPT)" -eq 20
e2e_check "while starved: the filter is still running" kill -0 "$E2E_FILTER_PID"
cpu0=$(awk '{print $14 + $15}' /proc/"$E2E_FILTER_PID"/stat)
sleep 2
cpu1=$(awk '{print $14 + $15}' /proc/"$E2E_FILTER_PID"/stat)
# libmilter's listener retries accept() at once on EMFILE, without a
# pause and without a log line; milter/fdguard.c makes it log and wait.
hz=$(getconf CLK_TCK)
echo "# while starved the filter used $((cpu1 - cpu0)) clock ticks of CPU in 2 s ($hz per second)"
e2e_check "while starved: the filter waits instead of spinning (less than 1 s of CPU in 2 s)" \
    test $((cpu1 - cpu0)) -lt "$hz"
grep -m 1 'cannot accept an MTA connection' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "while starved: the filter logged why it cannot accept, with its descriptor limit" \
    grep -q 'cannot accept an MTA connection: Too many open files (descriptor limit 64' "$(e2e_filter_log)"
exec 9>&-
wait "$burst_pid"
e2e_check "idle connections closed: the starved messages are accepted on retry" test $? -eq 0
grep -m 1 'accepting MTA connections again' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "... and the filter logged that it accepts connections again" \
    grep -q 'accepting MTA connections again after [0-9]* refused' "$(e2e_filter_log)"
e2e_wait_idle 60 || e2e_fail "delivery did not finish"
slowest=$(fault_field "$work/starved.out" slowest_ms)
e2e_check "no attempt hung beyond the milter timeouts (slowest ${slowest} ms)" test "$slowest" -lt 15000
fault_reconcile "idle-connection burst" idle 20 "$work/idle.burst"
fault_reconcile "starved burst" starved 10 "$work/starved.out"
e2e_check "nothing left in the queue" test "$(e2e_queue_count)" -eq 0
rm -rf "$work"
e2e_finish
