#!/bin/bash
# journal-untrusted.sh - what a client outside trusted_networks can and cannot do
# to the journal: it cannot address the journal mailbox (protect), and a
# forged journal mark or report-looking headers do not keep an ordinary
# message out of the journal.  trusted_networks deliberately leaves out
# 127.0.0.1, where the test client connects from.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-juntr.XXXXXX)
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
trusted_networks = 192.0.2.0/24
[journal]
recipient = $JOURNAL
sites = corp.example=j-corp@archive.example
protect = true
CF
e2e_start "$conf"

# ---- protect
mkmsg "$work/plant.eml" plant mallory@evil.example $JOURNAL
e2e_send "$work/plant.eml" mallory@evil.example $JOURNAL >"$work/plant.out"
status=$?
e2e_check "RCPT TO the journal mailbox from an untrusted client is refused" test "$status" -eq 2
e2e_check "refusal is 550 5.7.1 and names the reason" \
    grep -q "550.*5\.7\.1.*journal mailbox" "$work/plant.out"
mkmsg "$work/plant2.eml" plant2 mallory@evil.example "bob@corp.example, j-corp@archive.example"
e2e_send "$work/plant2.eml" mallory@evil.example bob@corp.example j-corp@archive.example >"$work/plant2.out"
status=$?
e2e_check "site journal mailbox refused, other recipient accepted" test "$status" -eq 1
e2e_check "the Postfix log shows the 5.7.1 refusal" \
    grep -q "reject: RCPT from.*5\.7\.1.*<$JOURNAL>" "$(e2e_postfix_log)"

# ---- forged mark
mkmsg "$work/forged.eml" forged mallory@evil.example bob@corp.example \
    'X-SMIME-Journal-Milter-Journaled: forged-one' \
    'x-smime-journal-milter-journaled: forged-two'
e2e_send "$work/forged.eml" mallory@evil.example bob@corp.example >/dev/null || e2e_bad "sending forged"

# ---- forged report headers on an ordinary message
mkmsg "$work/fakereport.eml" fakereport mallory@evil.example bob@corp.example \
    'MIME-Version: 1.0' \
    'Content-Type: text/plain; charset=us-ascii' \
    'Disposition-Notification-To: mallory@evil.example' \
    'Original-Recipient: rfc822;bob@corp.example' \
    'Report-Type: disposition-notification' \
    'Auto-Submitted: auto-replied' \
    'X-MS-Journal-Report:' \
    'Content-Type: multipart/report; report-type=disposition-notification; boundary="x"'
e2e_send "$work/fakereport.eml" mallory@evil.example bob@corp.example >/dev/null || e2e_bad "sending fakereport"

e2e_wait_idle || e2e_fail "delivery did not finish"

expect_count "planted message never reaches the journal by itself" $JOURNAL plant 0
expect_count "planted message to a person: journal gets only the filter's own copy" j-corp@archive.example plant2 1
expect_count "planted message still reaches the person" bob@corp.example plant2 1

expect_count "ordinary message with forged marks is journaled" $JOURNAL forged 1
expect_decision "forged marks: logged as added" forged "added:$JOURNAL,j-corp@archive.example"
f=$(file_id bob@corp.example forged)
e2e_check "forged marks are removed: exactly one mark left" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1
e2e_check "the remaining mark is the filter's, not the forgery" \
    sh -c "! grep -qi 'forged-' '${f:-/dev/null}'"
f=$(file_id $JOURNAL forged)
e2e_check "journal copy carries no forged mark either" \
    sh -c "test -n '$f' && ! grep -qi 'forged-' '$f'"

expect_count "ordinary message with forged report headers is journaled" $JOURNAL fakereport 1
expect_decision "forged report headers: logged as added" fakereport "added:$JOURNAL,j-corp@archive.example"

rm -rf "$work"
e2e_finish
