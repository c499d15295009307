#!/bin/bash
# fault-kill.sh - kill -9 of the filter in the middle of a burst, twice, each
# time restarted a second later, behind a real Postfix
# (milter_default_action = tempfail).  Two retrying clients send 160
# plain messages and 40 signed ones that are stripped; every message must
# end up delivered exactly once with its journal copy, or (while the
# filter is down) be refused with a 4xx and delivered on retry: 0 lost,
# 0 unjournaled, duplicates only for transactions whose final reply the
# client never saw (counted as "uncertain").
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"
signed=$corpus/alice.dsig.SHA256.multipart.eml
[ -f "$signed" ] || e2e_fail "no S/MIME corpus at $corpus"

work=$(mktemp -d /tmp/sjm-fault-kill.XXXXXX)
cat >"$work/filter.conf" <<CF
[signatures]
action = strip
[journal]
recipient = $JOURNAL
CF
e2e_start "$work/filter.conf"

fault_burst "$work/plain.out" plain 100 --conc 4 --size 4000
plain_pid=$FAULT_BURST_PID
fault_burst "$work/signed.out" signed 60 --conc 2 --template "$signed"
signed_pid=$FAULT_BURST_PID

kills=0
for at in 20 70; do
    fault_wait_accepted "$at" "$work/plain.out" "$work/signed.out"
    kill -KILL "$E2E_FILTER_PID"
    wait "$E2E_FILTER_PID" 2>/dev/null
    kills=$((kills + 1))
    echo "# killed the filter (kill -9) after $(fault_accepted "$work/plain.out" "$work/signed.out") acceptances, $(e2e_count $RCPT) deliveries"
    sleep 1
    e2e_start_filter "$work/filter.conf"
done

wait "$plain_pid"
plain_status=$?
wait "$signed_pid"
signed_status=$?
e2e_wait_idle 120 || e2e_fail "delivery did not finish"

e2e_check "filter killed twice mid-burst and restarted" test "$kills" -eq 2
e2e_check "plain burst: every message accepted in the end" test "$plain_status" -eq 0
e2e_check "signed burst: every message accepted in the end" test "$signed_status" -eq 0
refusals=$(( $(fault_field "$work/plain.out" tempfail_replies) + $(fault_field "$work/signed.out" tempfail_replies) ))
# Which burst the kills hit depends on timing; the counts say.
echo "# 4xx replies: plain burst $(fault_field "$work/plain.out" tempfail_replies), signed burst $(fault_field "$work/signed.out" tempfail_replies)"
e2e_check "clients saw 4xx while the filter was down ($refusals), never a 5xx" \
    test "$refusals" -gt 0 -a "$(fault_field "$work/plain.out" failed)" -eq 0 -a "$(fault_field "$work/signed.out" failed)" -eq 0
echo "# replies seen by the clients:"
grep -ho ': [45][0-9][0-9] [0-9.]* [^:]*' "$work/plain.out" "$work/signed.out" | sort | uniq -c | sed 's/^/#   /'
fault_reconcile "plain burst" plain 100 "$work/plain.out"
fault_reconcile "signed burst" signed 60 "$work/signed.out"
stripped=$(grep -c 'signature=stripped' "$(e2e_filter_log)")
e2e_check "the restarted filter stripped signed messages ($stripped logged)" test "$stripped" -ge 1
e2e_check "nothing left in the queue" test "$(e2e_queue_count)" -eq 0

rm -rf "$work"
e2e_finish
