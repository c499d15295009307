#!/bin/bash
# journal-report.sh - re-injection through a real Postfix (tests/lib/e2e.sh; the
# instance runs the milter-free listener of etc/postfix-master.cf.snippet
# on its own port):
#   report    [journal] mode = report: one envelope journal report to the
#             journal; a Bcc recipient (envelope only) is in it; read the
#             way mailpiler reads it (tests/lib/piler_parse.py), every
#             envelope recipient is recovered and the attached original
#             still verifies with openssl; no journal recipient on the
#             delivered copies
#   tempfail  the re-injection listener closed: the original is tempfailed,
#             nothing is delivered, nothing is queued; with the listener
#             back the retry delivers everything exactly once
#   bcc       action = strip: the recipient gets the stripped copy, the
#             journal the signed original (it verifies)
#   split     mixed = split: the modern recipient gets the signed original,
#             the legacy recipient the stripped copy, one each, the journal
#             the original
#   loops     every Maildir holds exactly the expected number of messages,
#             and the filter logged exactly one line per transaction sent
# Signed messages: the Thunderbird corpus (verified at a fixed time).
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"
. "$abs_top_srcdir/tests/lib/smime.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"
exp=$(date -d "$(head -1 "$CORPUS/expiration.txt")" +%s 2>/dev/null) || e2e_fail "cannot read expiration.txt"
ATTIME=$((exp - 86400 * 30))
verifies() { openssl cms -verify -CAfile "$CORPUS/TestCA.pem" -attime "$ATTIME" -in "$1" -out /dev/null 2>/dev/null; }
PARSE="python3 $abs_top_srcdir/tests/lib/piler_parse.py"

work=$(mktemp -d /tmp/sjm-report.XXXXXX)
conf=$work/filter.conf
sent=0

# conf MODE MIXED ACTION: write the configuration and restart the filter on it.
conf() {
    cat >"$conf" <<CF
[milter]
reinject = 127.0.0.1:${E2E_REINJECT_PORT:-10026}
reinject_timeout = 5
[signatures]
action = $3
strip_for = *@legacy.example
mixed = $2
[journal]
recipient = $JOURNAL
mode = $1
CF
    if [ -n "$E2E_FILTER_PID" ]; then
        e2e_stop_filter
        e2e_start_filter "$conf"
    fi
}
conf report preserve preserve
e2e_start "$conf"
conf report preserve preserve   # now that the slot's listener port is known

# signed ID FILE: the corpus's detached SHA-256 message with Message-ID <ID@test.example>
signed() {
    sed -e "s/^Subject: .*/Subject: case $1\r/" \
        -e "0,/^MIME-Version:/s//Message-ID: <$1@test.example>\r\nMIME-Version:/" \
        "$CORPUS/alice.dsig.SHA256.multipart.eml" >"$2"
}
send() { # FILE RCPT...
    local f=$1
    shift
    sent=$((sent + 1))
    e2e_send "$f" alice@corp.example "$@" >/dev/null
}
reports_to() { # ADDR: message files that are journal reports
    local f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -q '^X-MS-Journal-Report:' "$f" && echo "$f"
    done < <(e2e_messages "$1")
}

# ---------------------------------------------------------------- report
signed r1 "$work/r1.eml"
e2e_check "the corpus message verifies before sending" verifies "$work/r1.eml"
send "$work/r1.eml" bob@corp.example eve@hidden.example || e2e_bad "sending r1"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "report: bob gets the message once" bob@corp.example r1 1
expect_count "report: the Bcc recipient gets it once" eve@hidden.example r1 1
rep=$(reports_to "$JOURNAL" | tail -n 1)
e2e_check "report: the journal got one journal report" [ "$(reports_to "$JOURNAL" | grep -c .)" -eq 1 ]
e2e_check "report: the journal got nothing else" [ "$(e2e_count "$JOURNAL")" -eq 1 ]
if [ -n "$rep" ]; then
    $PARSE "$rep" "$work/r1.orig" >"$work/r1.parsed"
    e2e_check "report: mailpiler-style reader sees a journal report" grep -qx 'journal=1' "$work/r1.parsed"
    e2e_check "report: Recipient: bob@corp.example" grep -qx 'recipient=bob@corp.example' "$work/r1.parsed"
    e2e_check "report: the Bcc recipient is on a Recipient: line" grep -qx 'recipient=eve@hidden.example' "$work/r1.parsed"
    e2e_check "report: exactly the two envelope recipients" [ "$(grep -c '^recipient=' "$work/r1.parsed")" -eq 2 ]
    e2e_check "report: the original's Message-ID comes from part 2" \
        grep -qx 'original_message_id=<r1@test.example>' "$work/r1.parsed"
    e2e_check "report: the attached original verifies with openssl" verifies "$work/r1.orig"
    e2e_check "report: sent from the null sender" grep -q '^Return-Path: <\(MAILER-DAEMON\)\?>$' "$rep"
    e2e_check "report: Sender: line names the envelope sender" grep -q '^Sender: alice@corp.example' "$rep"
else
    e2e_bad "report: no report to parse"
fi
bobf=$(file_id bob@corp.example r1)
e2e_check "report: bob's copy still verifies" verifies "$bobf"
e2e_check "report: bob's copy names no journal" bash -c "! grep -qi 'journal@archive' '$bobf'"
e2e_check "report: no journal recipient on the transaction (Postfix delivered to 2)" \
    [ "$(grep -c "to=<.*>, .*status=sent" "$(e2e_postfix_log)")" -eq 3 ]

# ---------------------------------------------------------------- tempfail
signed t1 "$work/t1.eml"
e2e_reinject_listener off || e2e_fail "could not close the re-injection listener"
send "$work/t1.eml" bob@corp.example eve@hidden.example
rc=$?
e2e_check "tempfail: listener closed -> the message is refused (status 2)" [ "$rc" -eq 2 ]
e2e_check "tempfail: with a 4xx reply" grep -q "451 4.3.0" < <(e2e_send "$work/t1.eml" alice@corp.example bob@corp.example)
sent=$((sent + 1))
e2e_wait_idle 10
expect_count "tempfail: nothing delivered to bob" bob@corp.example t1 0
e2e_check "tempfail: nothing delivered to the journal" [ "$(e2e_count "$JOURNAL")" -eq 1 ]
e2e_check "tempfail: nothing left in the queue" [ "$(e2e_queue_count)" -eq 0 ]
e2e_reinject_listener on || e2e_fail "could not reopen the re-injection listener"
send "$work/t1.eml" bob@corp.example eve@hidden.example || e2e_bad "retry of t1 refused"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "tempfail: the retry delivers to bob once" bob@corp.example t1 1
expect_count "tempfail: the retry delivers to eve once" eve@hidden.example t1 1
e2e_check "tempfail: the retry gives the journal one report" [ "$(reports_to "$JOURNAL" | grep -c .)" -eq 2 ]

# ---------------------------------------------------------------- bcc, stripped
conf bcc preserve strip
signed b1 "$work/b1.eml"
send "$work/b1.eml" old@legacy.example || e2e_bad "sending b1"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "bcc: the legacy recipient gets it once" old@legacy.example b1 1
oldf=$(file_id old@legacy.example b1)
e2e_check "bcc: the legacy recipient's copy is stripped" bash -c "! grep -qi 'application/pkcs7-signature' '$oldf'"
expect_count "bcc: the journal gets it once" "$JOURNAL" b1 1
jf=$(file_id "$JOURNAL" b1)
e2e_check "bcc: the journal's copy is the signed original and verifies" verifies "$jf"

# ---------------------------------------------------------------- split
conf bcc split preserve
signed s1 "$work/s1.eml"
send "$work/s1.eml" bob@corp.example old@legacy.example || e2e_bad "sending s1"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "split: bob gets exactly one copy" bob@corp.example s1 1
expect_count "split: the legacy recipient gets exactly one copy" old@legacy.example s1 1
expect_count "split: the journal gets exactly one copy" "$JOURNAL" s1 1
e2e_check "split: bob's copy verifies" verifies "$(file_id bob@corp.example s1)"
oldf=$(file_id old@legacy.example s1)
e2e_check "split: the legacy copy has no signature" bash -c "! grep -qi 'application/pkcs7-signature' '$oldf'"
e2e_check "split: the legacy copy has the signed text" grep -q 'This is a test message from Alice to Bob' "$oldf"
e2e_check "split: the legacy copy carries the journal mark" [ "$(marks "$oldf")" -ge 1 ]
e2e_check "split: the journal's copy verifies" verifies "$(file_id "$JOURNAL" s1)"

# The recipient as the client spelled it: Postfix matches a deletion
# against the address as given at RCPT TO.
signed s3 "$work/s3.eml"
send "$work/s3.eml" bob@corp.example Old@Legacy.Example || e2e_bad "sending s3"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "split: a recipient in mixed case gets exactly one copy" old@legacy.example s3 1
e2e_check "split: and it is the stripped one" \
    bash -c "! grep -qi 'application/pkcs7-signature' '$(file_id old@legacy.example s3)'"

# split in report mode: the report lists both, the legacy copy is stripped
conf report split preserve
signed s2 "$work/s2.eml"
send "$work/s2.eml" bob@corp.example old@legacy.example || e2e_bad "sending s2"
e2e_wait_idle || e2e_fail "delivery did not finish"
expect_count "split+report: bob gets exactly one copy" bob@corp.example s2 1
expect_count "split+report: the legacy recipient gets exactly one copy" old@legacy.example s2 1
rep=$(reports_to "$JOURNAL" | tail -n 1)
$PARSE "$rep" "$work/s2.orig" >"$work/s2.parsed"
e2e_check "split+report: the report lists the legacy recipient" grep -qx 'recipient=old@legacy.example' "$work/s2.parsed"
e2e_check "split+report: the report's original verifies" verifies "$work/s2.orig"
e2e_check "split+report: the legacy copy has no signature" \
    bash -c "! grep -qi 'application/pkcs7-signature' '$(file_id old@legacy.example s2)'"

# ---------------------------------------------------------------- --inspect
# The same code path, but a dry run: described in the summary, not sent
# (the loops count below shows nothing arrived).
printf '[journal]\nrecipient = %s\nmode = report\n[signatures]\nstrip_for = *@legacy.example\nmixed = split\n' \
    "$JOURNAL" >"$work/inspect.conf"
"$SJM_BIN" -c "$work/inspect.conf" --inspect "$work/s1.eml" --from alice@corp.example \
    --rcpt bob@corp.example --rcpt old@legacy.example --output /dev/null 2>"$work/inspect.out"
e2e_check "inspect: the report and the split copy are described, not sent" \
    grep -q ' reinject=would-report:1,would-split:1' "$work/inspect.out"
e2e_check "inspect: the legacy recipient comes off the transaction" \
    grep -q ' del_rcpt=<old@legacy.example>' "$work/inspect.out"
e2e_check "inspect: no journal recipient is added" bash -c "! grep -q add_rcpt= '$work/inspect.out'"

# ---------------------------------------------------------------- loops
total=0
for a in bob@corp.example eve@hidden.example old@legacy.example "$JOURNAL"; do
    total=$((total + $(e2e_count "$a")))
done
# r1: 2+report, t1: 2+report, b1: 1+journal, s1, s3: 2+journal, s2: 2+report
e2e_check "loops: 17 messages in all Maildirs, no more" [ "$total" -eq 17 ]
e2e_check "loops: the filter saw exactly the $sent transactions sent" \
    [ "$(grep -c ' from=<' "$(e2e_filter_log)")" -eq "$sent" ]

rm -rf "$work"
e2e_finish
