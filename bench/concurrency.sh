#!/bin/bash
# bench/concurrency.sh - the filter's added latency under concurrency,
# through a real Postfix (SPEC 7: p99 under 5 ms up to 1 MB at 100
# sessions; memory flat in concurrency and size).
# For 1, 10 and 100 parallel SMTP sessions and 4 KB, 1 MB and 20 MB
# messages (20 MB: 1 and 10 sessions only), bench/latency.py times the
# end of data to the server's reply (where end-of-message work shows),
# first with the no-op milter (bench/noop_milter.c), then with our filter
# journaling; the difference is the filter's added latency at p50 and
# p99.  Also the filter's own time= (MAIL FROM to end of message) p50/p99
# from its log, and its peak RSS (VmHWM) and highest thread count during
# each run.  Delivery goes to the discard transport.  Prints figures;
# asserts nothing.
#   usage (root, from a built tree): bench/concurrency.sh [CONF]
#   (CONF: our filter's configuration; default journaling, preserve)
set -u
. "$(dirname "$0")/lib.sh"
bench_need_bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_noop_milter "$work"
conf=${1:-}
if [ -z "$conf" ]; then
    conf=$work/journal.conf
    printf '[journal]\nrecipient = journal@archive.example\n' >"$conf"
fi
CELLS=${CELLS:-"4096:1:200 4096:10:500 4096:100:1000 1048576:1:20 1048576:10:50 1048576:100:200 20971520:1:3 20971520:10:10"}

run_cell() {   # KIND SIZE SESSIONS MESSAGES
    local kind=$1 size=$2 sessions=$3 n=$4 bin=$SJM_BIN
    [ "$kind" = noop ] && bin=$work/noop_milter
    (
        SJM_BIN=$bin bench_postfix "$conf" "virtual_transport = discard\nmessage_size_limit = 0"
        pid=$E2E_FILTER_PID
        : >"$work/threads"
        ( while kill -0 "$pid" 2>/dev/null; do awk '/^Threads/ {print $2}' "/proc/$pid/status" >>"$work/threads"; sleep 0.05; done ) &
        sampler=$!
        line=$(python3 "$top/bench/latency.py" 127.0.0.1 "$E2E_PORT" "$sessions" "$n" "$size")
        hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
        kill "$sampler" 2>/dev/null
        threads=$(sort -n "$work/threads" | tail -n 1)
        own=$(grep -o ' time=[0-9.]*ms' "$(e2e_filter_log)" | tr -dc '0-9.\n' | sort -g |
            awk 'function at(p,  i) { i = int(NR * p) + 1; if (i > NR) i = NR; return a[i] }
                 {a[NR] = $1} END {if (NR) printf "own_p50_ms=%s own_p99_ms=%s", at(0.5), at(0.99)}')
        echo "$line peak_rss_kb=$hwm max_threads=${threads:-?} $own"
    ) 2>/dev/null | tail -n 1
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
printf '%-9s %-8s %8s | %-24s | %-24s | %-17s | %-24s | %s\n' size sessions msgs "noop p50/p99 ms" "filter p50/p99 ms" "added p50/p99 ms" "filter own time= p50/p99" "filter peak RSS, threads"
for cell in $CELLS; do
    IFS=: read -r size sessions n <<<"$cell"
    a=$(run_cell noop "$size" "$sessions" "$n")
    b=$(run_cell filter "$size" "$sessions" "$n")
    printf '%-9s %-8s %8s | %10s / %-11s | %10s / %-11s | %7.2f / %-7.2f | %10s / %-11s | %s KB, %s\n' \
        "$((size / 1024))K" "$sessions" "$(field "$b" ok)/$n" \
        "$(field "$a" p50_ms)" "$(field "$a" p99_ms)" "$(field "$b" p50_ms)" "$(field "$b" p99_ms)" \
        "$(echo "$(field "$b" p50_ms) - $(field "$a" p50_ms)" | bc -l)" "$(echo "$(field "$b" p99_ms) - $(field "$a" p99_ms)" | bc -l)" \
        "$(field "$b" own_p50_ms)" "$(field "$b" own_p99_ms)" "$(field "$b" peak_rss_kb)" "$(field "$b" max_threads)"
done
