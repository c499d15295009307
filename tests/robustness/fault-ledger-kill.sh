#!/bin/bash
# fault-ledger-kill.sh - kill -9 of the filter mid-burst with the journal
# ledger on, twice, each time restarted a second later behind a real
# Postfix (milter_default_action = tempfail).  Afterwards: every message
# delivered once with its journal copy (or refused with 4xx and retried),
# the restart repaired any torn tail and said so or found none, and
# --audit proves the journal complete against the checkpoint taken
# before the burst -- every copy has its entry, every entry that journaled
# has its copy or (a transaction the kill cut after the entry was
# written) its retried twin's.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"

work=$(mktemp -d /tmp/sjm-fault-lkill.XXXXXX)
mkdir -p "$work/ledger"
chown nobody "$work/ledger"
chmod 755 "$work"
"$SJM_BIN" --ledger-keygen "$work/ledger.key" >/dev/null || e2e_fail "--ledger-keygen"
chmod 644 "$work/ledger.key"
cat >"$work/filter.conf" <<CF
[journal]
recipient = $JOURNAL
[ledger]
dir = $work/ledger
key_file = $work/ledger.key
origin = fault.test/ledger
checkpoint_entries = 10
CF
vkey=$("$SJM_BIN" -c "$work/filter.conf" --ledger-verifier-key) || e2e_fail "--ledger-verifier-key"
e2e_start "$work/filter.conf"
# The opening checkpoint (size 0), kept off the host.
for _ in $(seq 1 50); do [ -s "$work/ledger/checkpoint" ] && break; sleep 0.1; done
cp "$work/ledger/checkpoint" "$work/trusted"

fault_burst "$work/burst.out" lk 150 --conc 6 --size 3000
pid=$FAULT_BURST_PID
kills=0
for at in 30 90; do
    fault_wait_accepted "$at" "$work/burst.out"
    kill -KILL "$E2E_FILTER_PID"
    wait "$E2E_FILTER_PID" 2>/dev/null
    kills=$((kills + 1))
    echo "# killed the filter (kill -9) after $(fault_accepted "$work/burst.out") acceptances"
    sleep 1
    e2e_start_filter "$work/filter.conf"
done
wait "$pid"
status=$?
e2e_wait_idle 120 || e2e_fail "delivery did not finish"
e2e_stop_filter

e2e_check "filter killed twice mid-burst and restarted" test "$kills" -eq 2
e2e_check "every message accepted in the end" test "$status" -eq 0
fault_reconcile "burst" lk 150 "$work/burst.out"
grep 'ledger: ' "$(e2e_filter_log)" | sed 's/^/# /'
torn=$(grep -c 'ended in a torn write' "$(e2e_filter_log)")
echo "# restarts that found a torn tail: $torn (a kill between write and fsync leaves one)"

out=$("$SJM_BIN" --audit --ledger "$work/ledger" --verifier-key "$vkey" --trusted-checkpoint "$work/trusted" \
    --maildir "$(e2e_maildir $JOURNAL)" --json 2>"$work/audit.err")
rc=$?
summary=$(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["result"], r["entries"], r["journaled"], r["archive_messages"], len(r["notes"]))' 2>/dev/null)
echo "# audit: result entries journaled archive-messages unconfirmed = $summary"
if [ "$rc" -eq 0 ]; then
    e2e_ok "the audit proves the journal complete after two kill -9"
else
    e2e_bad "audit status $rc: $out $(cat "$work/audit.err")"
fi
copies=$(e2e_count "$JOURNAL")
set -- $summary
e2e_check "one journal copy per entry that completed ($copies copies, $3 journaled entries, ${5:-?} unconfirmed)" \
    test "$copies" -eq $(( ${3:-0} - ${5:-0} ))

rm -rf "$work"
e2e_finish
