#!/bin/bash
# mimedefang-run.sh - start MIMEDefang 3.3 the way tests/lib/e2e.sh starts
# our filter ("PROG -f -c CONF -p unix:SOCKET -u USER"), for
# bench/peers.sh: mimedefang-multiplexor with the Perl workers running
# bench/mimedefang-filter.pl, and the mimedefang milter in the
# foreground on SOCKET.  Everything runs as the package's user, defang.
# MD_WORKERS sets the most Perl workers (default 10, one per benchmark
# session; at least 2 kept running, so their start-up is not measured).
# With every worker busy the multiplexor answers "tempfail" at once unless
# it may queue the request (-q, at most 128; -Q seconds to wait): without
# the queue 10 sessions got 4.7.1 for 1,950 of 2,000 messages, which is
# what made MIMEDefang look fast and look broken on signed traffic.
set -u
sock=
while getopts "fc:p:u:" o; do
    case $o in
        p) sock=${OPTARG#unix:} ;;
        *) ;;
    esac
done
[ -n "$sock" ] || { echo "mimedefang-run.sh: -p unix:SOCKET is required" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
dir=$(dirname "$sock")
spool=$dir/mdspool
mkdir -p "$spool"
install -m 644 "$here/mimedefang-filter.pl" "$dir/mimedefang-filter"
chown defang:defang "$spool" "$dir"
chmod 755 "$dir"
mimedefang-multiplexor -D -U defang -z "$spool" -s "$spool/mux.sock" -F "$dir/mimedefang-filter" \
    -m "${MD_MIN_WORKERS:-2}" -x "${MD_WORKERS:-10}" -q 128 -Q 60 -p "$dir/mux.pid" &
mux=$!
echo "$mux" >"$dir/mux.pid.bench"
for _ in $(seq 1 100); do [ -S "$spool/mux.sock" ] && break; sleep 0.1; done
md=
trap 'kill $md $mux 2>/dev/null; wait 2>/dev/null' EXIT
trap 'exit 0' TERM INT
mimedefang -D -U defang -z "$spool" -m "$spool/mux.sock" -p "unix:$sock" &
md=$!
echo "$md" >"$dir/md.pid.bench"
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
chmod 666 "$sock" 2>/dev/null
wait $md
