#!/bin/bash
# bench/journal-transport.sh - do journal copies slow down users' mail?
# Users' delivery latency (Postfix accepted the message -> the users'
# mailbox server stored it), p50 and p99, with the archive healthy, slow
# and down, with the journal mailbox on the shared smtp transport and on
# the dedicated journal transport of etc/postfix-journal-transport.*.snippet,
# side by side in one run.  After each case the archive recovers and every
# journal copy is counted: none may be lost.
#
# Through a real Postfix (tests/lib/e2e.sh) with the filter in front
# (bcc mode: the journal mailbox is a second recipient of each message).
# Both the users' mailbox server and the archive are SMTP listeners on
# loopback (tests/lib/timed_sink.py), reached through transport_maps:
#   healthy  the archive answers at once
#   slow     the archive answers each message after SLOW seconds
#   down     the archive accepts connections and never answers (a hung
#            host: each delivery waits for smtp_helo_timeout)
# Postfix runs with its defaults except default_process_limit = 20 (a
# small relay; at the default 100 the archive can still take its 20
# destination-concurrency slots of the shared transport, the effect is
# the same at a higher load).  The journal transport uses the shipped
# snippets' limits (4 processes, 2 per destination).
# Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/journal-transport.sh [MESSAGES] [RATE] [SLOW]
#   defaults: 200 messages at 20 per second, slow archive 2 s per message
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export abs_top_srcdir=$top
SJM_BIN=${SJM_BIN:-$top/_build/smime-journal-milter}
messages=${1:-200}
rate=${2:-20}
slow=${3:-2}
[ -x "$SJM_BIN" ] || { echo "build first: no $SJM_BIN"; exit 1; }
. "$top/tests/lib/e2e.sh"

work=$(mktemp -d /tmp/sjm-transport.XXXXXX)
JOURNAL=journal@archive.example
USER_RCPT=user@mbox.example
sink_pids=()
stop_sinks() {
    local p
    for p in "${sink_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    sink_pids=()
}
printf '[journal]\nrecipient = %s\n' "$JOURNAL" >"$work/filter.conf"
E2E_EXTRA_MAIN_CF='default_process_limit = 20'
E2E_EXTRA_MASTER_CF=$(grep -vE '^[[:space:]]*(#|$)' "$top/etc/postfix-journal-transport.master.cf.snippet" \
    | sed 's/^journal   unix  -       -       y/journal   unix  -       -       n/')
e2e_start "$work/filter.conf"
trap 'stop_sinks; e2e_cleanup' EXIT
# A port nobody listens on, from the kernel: fixed offsets from the
# slot's port collide with other suites' listeners (Sendmail, piler).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
UPORT=$(free_port)
APORT=$(free_port)
# The journal transport's limits exactly as the shipped snippet sets them.
while read -r line; do
    postconf -c "$E2E_DIR/etc" -e "$line"
done < <(grep -E '^journal_[a-z_]+[[:space:]]*=' "$top/etc/postfix-journal-transport.main.cf.snippet")

python3 "$E2E_LIB/timed_sink.py" "$UPORT" "$work/users.log" healthy &
sink_pids+=($!)
archive_pid=
archive() { # MODE: (re)start the archive in MODE
    if [ -n "$archive_pid" ]; then kill "$archive_pid" 2>/dev/null; wait "$archive_pid" 2>/dev/null; fi
    python3 "$E2E_LIB/timed_sink.py" "$APORT" "$work/archive.log" "$1" "$slow" &
    archive_pid=$!
    sink_pids+=("$archive_pid")
    sleep 0.3
}

# send CASE: MESSAGES messages at RATE per second, one connection each;
# "ACCEPT-TIME MESSAGE-ID" per accepted message in $work/CASE.sent.
send() {
    python3 - "$E2E_PORT" "$messages" "$rate" "$1" "$work/$1.sent" <<'PY'
import smtplib, sys, time
port, n, rate, case, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
body = "x" * 3000
start = time.time()
with open(out, "w") as f:
    for i in range(n):
        due = start + i / rate
        if time.time() < due:
            time.sleep(due - time.time())
        mid = "<%s-%d@bench.example>" % (case, i)
        msg = ("From: alice@corp.example\r\nTo: %s\r\nSubject: %s %d\r\nMessage-ID: %s\r\n"
               "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\n%s\r\n" % ("user@mbox.example", case, i, mid, body))
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.sendmail("alice@corp.example", ["user@mbox.example"], msg)
            s.quit()
            f.write("%.6f %s\n" % (time.time(), mid))
        except Exception as e:
            print("send %d failed: %s" % (i, e), file=sys.stderr)
PY
}

# wait_for LOG CASE N SECONDS: until LOG holds N distinct messages of CASE.
wait_for() {
    local i
    for i in $(seq 1 $(($4 * 5))); do
        [ "$(grep -o "<$2-[0-9]*@bench.example>" "$1" 2>/dev/null | sort -u | wc -l)" -ge "$3" ] && return 0
        sleep 0.2
    done
    return 1
}

# latency CASE: p50 p99 max of users' delivery latency, in seconds.
latency() {
    python3 - "$work/$1.sent" "$work/users.log" "$1" <<'PY'
import sys
sent = {}
for l in open(sys.argv[1]):
    t, m = l.split()
    sent[m] = float(t)
got = {}
for l in open(sys.argv[2]):
    t, m = l.split()[:2]
    if m in sent and m not in got:
        got[m] = float(t)
lat = sorted(max(0.0, got[m] - sent[m]) for m in got)
if not lat:
    print("n/a n/a n/a 0")
else:
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print("%.3f %.3f %.3f %d" % (q(0.50), q(0.99), lat[-1], len(lat)))
PY
}

route() { # smtp|journal: where the journal mailbox goes
    postconf -c "$E2E_DIR/etc" -e \
        "transport_maps = inline:{$USER_RCPT=smtp:[127.0.0.1]:$UPORT,$JOURNAL=$1:[127.0.0.1]:$APORT}"
    postfix -c "$E2E_DIR/etc" reload >/dev/null 2>&1
    sleep 1
}

echo "# $messages messages at $rate/s per case; slow archive: ${slow}s per message; default_process_limit = 20"
printf '%-8s %-20s %8s %8s %8s %10s %10s %6s\n' archive "journal via" p50_s p99_s max_s delivered journal_ok lost
for state in healthy slow down; do
    for via in smtp journal; do
        c=$state-$via
        route "$via"
        archive "$state"
        send "$c"
        accepted=$(grep -c . "$work/$c.sent")
        wait_for "$work/users.log" "$c" "$accepted" 600 || echo "# $c: not every user message arrived within 600 s"
        read -r p50 p99 max n < <(latency "$c")
        # The archive recovers; Postfix retries what it deferred.
        archive healthy
        postfix -c "$E2E_DIR/etc" flush >/dev/null 2>&1
        wait_for "$work/archive.log" "$c" "$accepted" 900 || echo "# $c: journal copies still missing after 900 s"
        jok=$(grep -o "<$c-[0-9]*@bench.example>" "$work/archive.log" | sort -u | wc -l)
        printf '%-8s %-20s %8s %8s %8s %10s %10s %6s\n' "$state" "$([ "$via" = smtp ] && echo "shared smtp" || echo "journal transport")" \
            "$p50" "$p99" "$max" "$n/$accepted" "$jok/$accepted" $((accepted - jok))
        e2e_wait_idle 120 >/dev/null || echo "# $c: queue not empty after the case"
    done
done
