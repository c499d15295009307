#!/bin/bash
# bench/metrics-cost.sh - what the Prometheus listener ([metrics] listen)
# costs the filter: its own CPU time per message (utime+stime from
# /proc/PID/stat, as bench/peers.sh measures it) with the listener off and
# on, side by side in one run, through a real Postfix (tests/lib/e2e.sh,
# delivery to Postfix's discard transport).  With the listener on, the
# run is scraped every 0.2 s (75 times Prometheus's default rate), so the
# figure includes rendering as well as counting.  Off and on alternate,
# ROUNDS times each, on plain and signed traffic; the median of each is
# printed.  Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/metrics-cost.sh [MESSAGES] [SESSIONS] [ROUNDS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export abs_top_srcdir=$top
SJM_BIN=${SJM_BIN:-$top/_build/smime-journal-milter}
messages=${1:-2000}
sessions=${2:-10}
rounds=${3:-3}
corpus=$top/../shared/corpus/thunderbird
[ -x "$SJM_BIN" ] || { echo "build first: no $SJM_BIN"; exit 1; }
command -v smtp-source >/dev/null || { echo "smtp-source (postfix) is not installed"; exit 1; }
. "$top/tests/lib/e2e.sh"
work=$(mktemp -d /tmp/sjm-metrics-cost.XXXXXX)
awk '{ sub(/\r$/, ""); print }' "$corpus/alice.dsig.SHA256.multipart.eml" >"$work/signed.eml"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

printf '[journal]\nrecipient = journal@archive.example\n' >"$work/off.conf"
E2E_EXTRA_MAIN_CF="virtual_transport = discard"
e2e_start "$work/off.conf" >/dev/null
# (the harness's cleanup reads the exit status first)
trap 'st=$?; [ -z "$scraper" ] || kill "$scraper" 2>/dev/null; (exit $st); e2e_cleanup' EXIT
# A port nobody listens on, from the kernel: fixed offsets from the
# slot's port collide with other suites' listeners (Sendmail, piler).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
printf '[journal]\nrecipient = journal@archive.example\n[metrics]\nlisten = inet:%s@127.0.0.1\n' "$MPORT" >"$work/on.conf"
scraper=

# run MODE TRAFFIC: CPU milliseconds per message of one run
run() {
    e2e_stop_filter
    e2e_start_filter "$work/$1.conf"
    sleep 0.5
    if [ "$1" = on ]; then
        (while :; do curl -s -o /dev/null "http://127.0.0.1:$MPORT/metrics"; sleep 0.2; done) &
        scraper=$!
    fi
    local c0 c1
    c0=$(ticks "$E2E_FILTER_PID")
    case $2 in
        plain) smtp-source -c -s "$sessions" -m "$messages" -l 4096 -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null ;;
        signed) smtp-source -c -s "$sessions" -m "$messages" -F "$work/signed.eml" -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null ;;
    esac
    e2e_wait_idle 300 >/dev/null
    c1=$(ticks "$E2E_FILTER_PID")
    if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null; scraper=; fi
    echo "($c1 - $c0) * 1000 / $hz / $messages" | bc -l
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# $messages messages per run, $sessions sessions, $rounds rounds each, CPU ms per message of the filter"
printf '%-8s %14s %14s %8s\n' traffic "listener off" "listener on" "on/off"
for traffic in plain signed; do
    : >"$work/off.$traffic"
    : >"$work/on.$traffic"
    for _ in $(seq 1 "$rounds"); do
        run off "$traffic" >>"$work/off.$traffic"
        run on "$traffic" >>"$work/on.$traffic"
    done
    off=$(median <"$work/off.$traffic")
    on=$(median <"$work/on.$traffic")
    printf '%-8s %14.4f %14.4f %8.3f   (rounds off: %s; on: %s)\n' "$traffic" "$off" "$on" \
        "$(echo "$on / $off" | bc -l)" "$(printf '%.3f ' $(cat "$work/off.$traffic"))" "$(printf '%.3f ' $(cat "$work/on.$traffic"))"
done
# SJM_SCRAPE_OUT=FILE keeps the last run's scrape (a sample for the docs).
curl -s "http://127.0.0.1:$MPORT/metrics" >"$work/last.scrape" 2>/dev/null
echo "# (the last run's listener served $(grep -c '^smime_journal_milter_' "$work/last.scrape") series)"
[ -z "${SJM_SCRAPE_OUT:-}" ] || cp "$work/last.scrape" "$SJM_SCRAPE_OUT"
rm -rf "$work"
