#!/bin/bash
# journal-addfail.sh - when the filter cannot add the journal recipient, on_failure
# decides: tempfail (default) keeps the message from being delivered
# unjournaled; accept delivers it and logs it as unjournaled.
#
# Postfix always grants "add recipient" and confirms nothing, so it has no
# honest way to make smfi_addrcpt_par fail.  miltertest plays an MTA that
# withholds the add-recipient actions at negotiation; libmilter then
# refuses the add exactly as it would on a real MTA that does not allow it,
# and the filter's own failure path runs end to end.  (tests/mta/postfix/journal-tempfail.sh shows
# the Postfix side: an add that Postfix cannot carry out tempfails too.)
set -u
: "${abs_top_srcdir:?}" "${SJM_BIN:?}"
here="$abs_top_srcdir/tests/mta/miltertest"

if ! command -v miltertest >/dev/null; then
    echo "SKIP: miltertest not installed"
    exit 77
fi

work=$(mktemp -d /tmp/sjm-addfail.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

# start_filter NAME ON_FAILURE -> socket path in $sock, log in $work/NAME.log
start_filter() {
    cat > "$work/$1.conf" <<CONF
[milter]
user =
[journal]
recipient = journal@archive.example
on_failure = $2
CONF
    sock="$work/$1.sock"
    "$SJM_BIN" -f -c "$work/$1.conf" -p "unix:$sock" 2> "$work/$1.log" &
    pids+=($!)
    for _ in $(seq 100); do
        [ -S "$sock" ] && return 0
        sleep 0.1
    done
    echo "filter $1 did not start:"; cat "$work/$1.log"
    exit 1
}

# SMFIF_* action bits: ADDHDRS 0x01 CHGBODY 0x02 ADDRCPT 0x04 DELRCPT 0x08
# CHGHDRS 0x10 QUARANTINE 0x20 CHGFROM 0x40 ADDRCPT_PAR 0x80.
NO_ADDRCPT=$((0x01 | 0x02 | 0x08 | 0x10 | 0x20 | 0x40))
ADDRCPT_ONLY=$((NO_ADDRCPT | 0x04))

run_mt() { # SOCK ACTIONS EXPECT RCPTADD
    SOCK="unix:$1" ACTIONS="$2" EXPECT="$3" RCPTADD="$4" \
        miltertest -s "$here/journal-addfail.lua" > "$work/mt.out" 2>&1
}

wait_log() { # FILE PATTERN
    for _ in $(seq 50); do
        grep -q -- "$2" "$1" && return 0
        sleep 0.1
    done
    return 1
}

start_filter tf tempfail
if run_mt "$sock" "$ADDRCPT_ONLY" continue "<journal@archive.example>"; then
    ok "MTA grants add-recipient: journal recipient added, message continues"
else
    bad "MTA grants add-recipient: $(cat "$work/mt.out")"
fi
if run_mt "$sock" "$NO_ADDRCPT" tempfail ""; then
    ok "on_failure=tempfail: add refused, message tempfailed"
else
    bad "on_failure=tempfail: $(cat "$work/mt.out")"
fi
if wait_log "$work/tf.log" "journal=failed "; then
    ok "on_failure=tempfail: logged journal=failed"
else
    bad "on_failure=tempfail: no journal=failed log line: $(tail -3 "$work/tf.log")"
fi

start_filter acc accept
if run_mt "$sock" "$NO_ADDRCPT" continue ""; then
    ok "on_failure=accept: add refused, message delivered"
else
    bad "on_failure=accept: $(cat "$work/mt.out")"
fi
if wait_log "$work/acc.log" "journal=failed:accepted-unjournaled"; then
    ok "on_failure=accept: logged as accepted-unjournaled"
else
    bad "on_failure=accept: no accepted-unjournaled log line: $(tail -3 "$work/acc.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
