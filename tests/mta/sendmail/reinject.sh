#!/bin/bash
# reinject.sh - stripping with journaling through a real Sendmail whose
# .mc holds etc/sendmail.mc.snippet as shipped, re-injection daemon
# included (moved to this slot's port): a signed message to a recipient
# whose policy strips gets the stripped copy, the journal gets the
# original with its signature, and the re-injected copy is not filtered
# again (on the daemon MTA-reinject the filter only checks its own token).
set -u
. "$abs_top_srcdir/tests/lib/sendmail.sh"
CHECK="python3 $abs_top_srcdir/tests/lib/mimecheck.py"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"
JOURNAL=journal@archive.example

T=$(mktemp -d /tmp/sjm-smreinject.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat >"$T/filter.conf" <<CF
[signatures]
action = preserve
strip_for = *@legacy.example
[journal]
recipient = $JOURNAL
CF
sm_start "$T/filter.conf"
trap 'st=$?; rm -rf "$T"; (exit $st); sm_cleanup' EXIT

e2e_check "the filter was pointed at the re-injection daemon" \
    grep -q "^reinject = 127.0.0.1:$E2E_REINJECT_PORT\$" "$E2E_DIR/filter.conf"
msg=$CORPUS/alice.dsig.SHA256.multipart.eml
e2e_send "$msg" alice@corp.example bob@legacy.example >"$T/send.out" 2>&1 ||
    e2e_bad "Sendmail refused the message: $(tail -n 2 "$T/send.out")"
sm_wait_idle 120 || e2e_bad "Sendmail's queue not empty after 120 s"

bob=$(e2e_messages bob@legacy.example | tail -n 1)
journal=$(e2e_messages $JOURNAL | tail -n 1)
e2e_check "bob@legacy.example got one copy" test "$(e2e_count bob@legacy.example)" -eq 1
e2e_check "... stripped: no S/MIME signature left" test -n "$bob" -a "$($CHECK sigs "$bob" 2>/dev/null)" = 0
e2e_check "the journal got one copy" test "$(e2e_count $JOURNAL)" -eq 1
e2e_check "... the original, signature and all" test -n "$journal" -a "$($CHECK sigs "$journal" 2>/dev/null)" -ge 1
# The corpus message has no Message-ID: the filter adds one
# ([journal] add_message_id), the same on both copies.
added_id=$(grep -m1 '^Message-ID: <[0-9a-f]*\.sjm@' "$journal")
e2e_check "... byte for byte as sent, apart from Sendmail's Received field and the added Message-ID" \
    cmp -s <(e2e_strip_trace "$journal" | grep -v '^Message-ID: <[0-9a-f]*\.sjm@') <(sm_as_written "$msg")
e2e_check "... which the filter added" test -n "$added_id"
grep 'daemon=MTA-reinject' "$(sm_log)" | head -n 1 | sed 's/^/# sendmail logged: /'
e2e_check "Sendmail took the journal copy on its re-injection daemon" \
    grep -q 'daemon=MTA-reinject' "$(sm_log)"
lines=$(grep -c ' from=<alice@corp.example> rcpts=' "$(e2e_filter_log)")
grep ' from=<alice@corp.example> rcpts=' "$(e2e_filter_log)" | sed 's/^/# filter logged: /'
e2e_check "the filter saw the message once: the re-injected copy was not filtered again ($lines line)" \
    test "$lines" -eq 1
e2e_check "... and logged the re-injection" grep -q 'reinject=journal-original:1' "$(e2e_filter_log)"
e2e_finish
