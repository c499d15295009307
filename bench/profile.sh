#!/bin/bash
# bench/profile.sh - where the filter's CPU goes on a given traffic: runs
# the filter behind a private Postfix (as bench/peers.sh does, delivery
# to the discard transport), samples it with perf (software cpu-clock:
# this machine has no hardware counters) while smtp-source sends, and
# prints the hottest functions by self time and by library.
#   usage (root, from a built tree):
#     bench/profile.sh [plain|signed] [MESSAGES] [SESSIONS] [CONFIG]
#   CONFIG defaults to journaling only.  SJM_BIN picks another binary;
#   PERF_OUT keeps the perf.data file for "perf report -i".
set -u
. "$(dirname "$0")/lib.sh"
traffic=${1:-plain}
messages=${2:-3000}
sessions=${3:-10}
bench_need_corpus
bench_need_bin
command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
conf=${4:-$work/journal.conf}
printf '[journal]\nrecipient = journal@archive.example\n' >"$work/journal.conf"
bench_signed_lf "$work/signed.eml"
data=${PERF_OUT:-$work/perf.data}

bench_postfix "$conf" "virtual_transport = discard"
sleep 1
cpu0=$(awk '{print $14 + $15}' "/proc/$E2E_FILTER_PID/stat")
perf record -q -F 2000 -g -o "$data" -p "$E2E_FILTER_PID" 2>/dev/null &
perf_pid=$!
sleep 1
case $traffic in
    plain) smtp-source -c -s "$sessions" -m "$messages" -l 4096 -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" ;;
    signed) smtp-source -c -s "$sessions" -m "$messages" -F "$work/signed.eml" -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" ;;
esac >/dev/null 2>&1
e2e_wait_idle 300 >/dev/null
cpu1=$(awk '{print $14 + $15}' "/proc/$E2E_FILTER_PID/stat")
kill -INT "$perf_pid"
wait "$perf_pid"
echo "== filter CPU: $(echo "scale=3; ($cpu1 - $cpu0) * 1000 / $(getconf CLK_TCK) / $messages" | bc -l) ms per message (under perf sampling)"
echo "== $traffic, $messages messages, $sessions sessions: self time by library"
perf report -i "$data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
echo "== self time by function (top 40)"
perf report -i "$data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
echo "== by function including callees (top 40)"
perf report -i "$data" --children --sort symbol --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
