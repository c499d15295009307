#!/bin/bash
# report-sender.sh - in report mode a journal report is a message of its
# own; with [journal] report_sender (the alternate journal mailbox) it is
# sent from that address with NOTIFY=FAILURE,DELAY, so a real Postfix
# tells the alternate mailbox when the archive refuses a report or holds
# it up, and never tells the original's sender:
#   refused   the archive mailbox answers 5.2.2: the alternate mailbox gets
#             a bounce (DSN) naming the archive, with the report returned;
#             the sender and the recipients get no notice
#   delayed   the archive answers 4.2.2 for longer than delay_warning_time:
#             the alternate mailbox gets a delay notice; once the archive
#             recovers the report arrives, once
#   envelope  Postfix queued the report from the alternate mailbox (the
#             delay notice above shows NOTIFY included DELAY)
#   bcc       bcc mode ignores the key: no journal copy carries a notify
#             request, and -n warns about report mode without the key
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"

JOURNAL=journal@archive.corp.example
ALT=journal-alerts@corp.example
work=$(mktemp -d /tmp/sjm-report-sender.XXXXXX)
conf=$work/filter.conf

# mkmsg FILE ID: a small message from alice to bob, Message-ID <ID@test.example>.
mkmsg() {
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: case %s\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test.example>\r\n\r\nThis is case %s.\r\n' \
        "$2" "$2" "$2" >"$1"
}
# notices ADDR: the delivery status notifications ADDR received.
notices() {
    local f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -qi '^Content-Type: multipart/report; *report-type=delivery-status' "$f" && echo "$f"
    done < <(e2e_messages "$1")
}

cat >"$conf" <<CF
[journal]
recipient = $JOURNAL
mode = report
report_sender = $ALT
CF
# Delay notices after one second, so "delayed" needs no hours of waiting.
E2E_EXTRA_MAIN_CF='delay_warning_time = 1s'
e2e_start "$conf"

# ------------------------------------------------------------- refused
e2e_mailbox_full "$JOURNAL"
# The delivery agent runs as nobody and must still write the Maildir
# once the archive recovers.
chown -R nobody:nogroup "$E2E_DIR/mail"
mkmsg "$work/r1.eml" r1
e2e_send "$work/r1.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending r1"
e2e_wait_idle 60 || e2e_bad "refused: the queue did not drain"
e2e_check "refused: bob got the message" [ "$(e2e_count bob@corp.example)" -eq 1 ]
e2e_check "refused: the archive got nothing (it refuses)" [ "$(e2e_count "$JOURNAL")" -eq 0 ]
dsn=$(notices "$ALT" | head -n 1)
e2e_check "refused: the alternate journal mailbox got a bounce" [ -n "$dsn" ]
if [ -n "$dsn" ]; then
    e2e_check "refused: the bounce names the archive mailbox" grep -qi "^Final-Recipient: rfc822; *$JOURNAL" "$dsn"
    e2e_check "refused: the bounce says failed, 5.2.2" \
        bash -c "grep -qi '^Action: failed' '$dsn' && grep -qi '^Status: 5.2.2' '$dsn'"
    e2e_check "refused: the bounce returns the journal report" grep -q '^X-MS-Journal-Report:' "$dsn"
fi
e2e_check "refused: the sender heard nothing" [ "$(e2e_count alice@corp.example)" -eq 0 ]
e2e_check "refused: the filter logged the report's re-injection" \
    grep -q 'reinject=report:1' "$(e2e_filter_log)"
e2e_check "envelope: Postfix took the report from the alternate mailbox" \
    grep -q "postfix/qmgr.*: from=<$ALT>," "$(e2e_postfix_log)"

# ------------------------------------------------------------- delayed
rm -f "$(e2e_maildir "$JOURNAL")/FULL"
e2e_mailbox_defer "$JOURNAL"
chown -R nobody:nogroup "$E2E_DIR/mail"
before=$(notices "$ALT" | grep -c .)
mkmsg "$work/d1.eml" d1
e2e_send "$work/d1.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending d1"
for _ in $(seq 1 300); do
    [ "$(notices "$ALT" | grep -c .)" -gt "$before" ] && break
    sleep 0.1
done
delay=$(notices "$ALT" | tail -n 1)
e2e_check "delayed: the alternate journal mailbox got a delay notice" \
    bash -c "[ '$(notices "$ALT" | grep -c .)' -gt '$before' ] && grep -qi '^Action: delayed' '$delay'"
rm -f "$(e2e_maildir "$JOURNAL")/DEFER"
postfix -c "$E2E_DIR/etc" flush >/dev/null 2>&1
e2e_wait_idle 60 || e2e_bad "delayed: the queue did not drain after the archive recovered"
e2e_check "delayed: once the archive recovers it gets the report, once" \
    [ "$(grep -l '^X-MS-Journal-Report:' $(e2e_messages "$JOURNAL") /dev/null 2>/dev/null | grep -c .)" -eq 1 ]
e2e_check "delayed: the sender heard nothing" [ "$(e2e_count alice@corp.example)" -eq 0 ]
e2e_check "delayed: bob got the message once" [ "$(e2e_count bob@corp.example)" -eq 2 ]

# ----------------------------------------------------------------- bcc
cat >"$conf" <<CF
[journal]
recipient = $JOURNAL
mode = bcc
report_sender = $ALT
CF
e2e_reload "$conf"
sleep 0.5
mkmsg "$work/b1.eml" b1
e2e_send "$work/b1.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending b1"
e2e_wait_idle 60 || e2e_bad "bcc: the queue did not drain"
e2e_check "bcc: the journal recipient is added with NOTIFY=NEVER" \
    grep -q "add_rcpt=<$JOURNAL>:NOTIFY=NEVER" <(grep 'journal=added' "$(e2e_filter_log)" | tail -n 1)
printf '[journal]\nrecipient = %s\nmode = report\n' "$JOURNAL" >"$work/nowarn.conf"
e2e_check "-n warns about report mode without report_sender" \
    bash -c "'$SJM_BIN' -n -c '$work/nowarn.conf' 2>&1 | grep -q 'warning: key mode in \[journal\]: mode = report without report_sender'"

rm -rf "$work"
e2e_finish
