#!/bin/bash
# bench/ledger.sh - what the journal ledger costs and how fast the audit
# is, through a real Postfix, in one run on one machine.  Prints figures;
# asserts nothing.
#   1. EOM latency (end of data to the server's reply, where the
#      ledger's fsync shows) at SESSIONS sessions, ledger off vs on:
#      p50/p99 from bench/latency.py;
#   2. bytes per entry and per checkpoint of the run's ledger;
#   3. --audit of a Maildir of AUDIT_MESSAGES small messages and their
#      ledger (made by the filter's own writer, tests/interop/ledger_fill).
# Throughput and CPU per message, ledger off vs on, side by side:
#   KINDS="journal journal+ledger" bench/peers.sh MESSAGES SESSIONS
#   usage (root, from a built tree): bench/ledger.sh [MESSAGES] [SESSIONS] [AUDIT_MESSAGES]
#   (AUDIT_MESSAGES 0: no audit part)
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-1000}
sessions=${2:-10}
audit_n=${3:-100000}
bench_need_bin
build=$(dirname "$SJM_BIN")
make -C "$build" tests/interop/ledger_fill >/dev/null || { echo "cannot build ledger_fill"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
openssl rand -hex 32 >"$work/mark.key"
"$SJM_BIN" --ledger-keygen "$work/ledger.key" >/dev/null
chmod 644 "$work/mark.key" "$work/ledger.key"
printf '[journal]\nrecipient = journal@archive.example\nmark_key_file = %s\n' "$work/mark.key" >"$work/off.conf"
printf '%s\n[ledger]\ndir = %s\nkey_file = %s\norigin = bench/ledger\n' \
    "$(cat "$work/off.conf")" "$work/ledger" "$work/ledger.key" >"$work/on.conf"

latency() { # CONF -> the latency line
    (
        bench_postfix "$1" "virtual_transport = discard"
        sleep 1
        python3 "$top/bench/latency.py" 127.0.0.1 "$E2E_PORT" "$sessions" "$messages" 4096
        e2e_wait_idle 300 >/dev/null
    ) 2>/dev/null | grep '^latency:'
}
echo "EOM latency, $messages messages of 4 KB, $sessions sessions (2 cores: clients, Postfix and filter share them)"
echo "  ledger off: $(latency "$work/off.conf")"
mkdir -p "$work/ledger"
chown nobody "$work/ledger"
echo "  ledger on:  $(latency "$work/on.conf")"
entries=$(cat "$work/ledger"/ledger-*.sjl | python3 -c '
import sys
b = sys.stdin.buffer.read(); n = i = 0
while i < len(b):
    i += 4 + int.from_bytes(b[i:i+4], "big") + 32; n += 1
print(n)')
bytes=$(cat "$work/ledger"/ledger-*.sjl | wc -c)
cps=$(ls "$work/ledger/checkpoints" | wc -l)
echo "ledger: $entries entries, $bytes bytes: $((bytes / (entries > 0 ? entries : 1))) bytes per entry" \
     "(framing 36); $cps checkpoints of $(wc -c <"$work/ledger/checkpoint") bytes"

[ "$audit_n" -gt 0 ] || exit 0
echo "audit: making a ledger and a Maildir of $audit_n messages..."
t0=$(date +%s.%N)
"$build/tests/interop/ledger_fill" "$work/big" "$work/ledger.key" bench/ledger 0 "$audit_n" "$work/maildir"
t1=$(date +%s.%N)
printf '  filled in %.1f s (%.0f entries/s through the group-commit writer, one writer thread, one client)\n' \
    "$(echo "$t1 - $t0" | bc -l)" "$(echo "$audit_n / ($t1 - $t0)" | bc -l)"
printf '[journal]\nenabled = false\n[ledger]\ndir = %s\nkey_file = %s\norigin = bench/ledger\n' \
    "$work/big" "$work/ledger.key" >"$work/big.conf"
vkey=$("$SJM_BIN" -c "$work/big.conf" --ledger-verifier-key)
sync
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/rss" "$SJM_BIN" --audit --ledger "$work/big" --verifier-key "$vkey" \
    --trusted-checkpoint "$work/big/checkpoint" --maildir "$work/maildir" >"$work/audit.out" 2>"$work/audit.err"
rc=$?
t1=$(date +%s.%N)
printf '  --audit: status %d, %.1f s, %.0f messages/s, max RSS %s KB: %s\n' "$rc" "$(echo "$t1 - $t0" | bc -l)" \
    "$(echo "$audit_n / ($t1 - $t0)" | bc -l)" "$(cat "$work/rss")" "$(tail -1 "$work/audit.out")"
