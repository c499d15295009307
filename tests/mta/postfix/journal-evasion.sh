#!/bin/bash
# journal-evasion.sh - issue 13 through a real Postfix: labels anyone can write do
# not keep a message out of the journal, evidence does.
#   forged DSN (null sender, report label over a letter)   -> journaled
#   null-sender auto-reply                                 -> journaled
#   fake MDN (returns the whole original)                  -> journaled
#   system sender from outside / from a local shell user   -> journaled
#   journal mark forged by a local shell user (sendmail)   -> journaled, mark replaced
# and the genuine counterparts are skipped with their evidence: a Postfix
# DSN, a Thunderbird MDN, the system sender from its system host, and a
# keyed mark written by the filter itself on the first hop.  Finally the
# durable counters (--stats) agree with what the journal received.
# 127.0.0.1 is the trusted relay and system host; 127.0.0.2 plays outside.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-jevade.XXXXXX)
chmod 755 "$work"
mkdir "$work/stats" && chown nobody "$work/stats"
openssl rand -hex 32 >"$work/mark.key" && chmod 644 "$work/mark.key"
conf=$work/filter.conf
cat >"$conf" <<CF
[milter]
trusted_networks = 127.0.0.1
[journal]
recipient = $JOURNAL
system_senders = monitor@corp.example
system_hosts = 127.0.0.1
mark_key_file = $work/mark.key
stats_dir = $work/stats
skip_read_reports = true
CF
# Postfix's own bounces pass the filter, as they would at a site that
# filters them (by default they do not reach milters at all).
E2E_EXTRA_MAIN_CF="internal_mail_filter_classes = bounce" e2e_start "$conf"

smtp() { # ID FROM RCPT...
    local id=$1 from=$2
    shift 2
    e2e_send "$work/$id.eml" "$from" "$@" >"$work/$id.out" || e2e_bad "sending $id: $(cat "$work/$id.out")"
}

mkmsg "$work/plain.eml" plain alice@corp.example bob@corp.example
smtp plain alice@corp.example bob@corp.example

# A message this organisation journaled, as it left (marked under the key).
mkmsg "$work/lunch.eml" lunch alice@corp.example nobody@other.example
mark_original "$conf" "$work/lunch.eml" "$work/lunch.marked" || e2e_fail "cannot mark the original"
mkdsn "$work/dsn.eml" dsn genuine "$work/lunch.marked"
send_from 127.0.0.2 "$work/dsn.eml" '' alice@corp.example || e2e_bad "sending dsn"
mkdsn "$work/dsnfull.eml" dsnfull full "$work/lunch.marked"
send_from 127.0.0.2 "$work/dsnfull.eml" '' alice@corp.example || e2e_bad "sending dsnfull"
mkdsn "$work/fakedsn.eml" fakedsn letter
smtp fakedsn '' bob@corp.example
# A perfect DSN returning a letter nobody journaled: from outside, and from
# a local shell user (an insider sending content out as a "bounce").
mkdsn "$work/dsnunmarked.eml" dsnunmarked
send_from 127.0.0.2 "$work/dsnunmarked.eml" '' alice@corp.example || e2e_bad "sending dsnunmarked"
mkdsn "$work/dsnout.eml" dsnout
e2e_sendmail "$work/dsnout.eml" '' ext@other.example || e2e_bad "sendmail dsnout"
# The journaled message returned whole, with another body under its mark.
sed 's/This is case lunch\./Sell the shares before Friday./' "$work/lunch.marked" >"$work/lunch.swapped"
mkdsn "$work/dsnswap.eml" dsnswap full "$work/lunch.swapped"
send_from 127.0.0.2 "$work/dsnswap.eml" '' alice@corp.example || e2e_bad "sending dsnswap"
# Postfix's own bounce of a journaled message (the mailbox is full).
e2e_mailbox_full full@corp.example
mkmsg "$work/tofull.eml" tofull alice@corp.example full@corp.example
smtp tofull alice@corp.example full@corp.example
mkmsg "$work/autoreply.eml" autoreply bob@corp.example alice@other.example \
    'Auto-Submitted: auto-replied' 'Subject: Out of office'
smtp autoreply '' alice@other.example

mkmdn "$work/mdn.eml" mdn bob@corp.example alice@other.example genuine "$work/lunch.marked"
smtp mdn bob@corp.example alice@other.example
mkmdn "$work/fakemdn.eml" fakemdn bob@corp.example mallory@other.example content
smtp fakemdn bob@corp.example mallory@other.example
mkmdn "$work/mdnletter.eml" mdnletter bob@corp.example mallory@other.example letter "$work/lunch.marked"
smtp mdnletter bob@corp.example mallory@other.example
mkmdn "$work/mdnhead.eml" mdnhead bob@corp.example mallory@other.example letter-header "$work/lunch.marked"
smtp mdnhead bob@corp.example mallory@other.example

mkmsg "$work/sys.eml" sys monitor@corp.example ops@corp.example
smtp sys monitor@corp.example ops@corp.example
mkmsg "$work/sysout.eml" sysout monitor@corp.example bob@corp.example
send_from 127.0.0.2 "$work/sysout.eml" monitor@corp.example bob@corp.example || e2e_bad "sending sysout"
mkmsg "$work/syslocal.eml" syslocal monitor@corp.example bob@corp.example
e2e_sendmail "$work/syslocal.eml" monitor@corp.example bob@corp.example || e2e_bad "sendmail syslocal"

mkmsg "$work/marklocal.eml" marklocal alice@corp.example ext@other.example \
    'X-SMIME-Journal-Milter-Journaled: mx-upstream.corp.example'
e2e_sendmail "$work/marklocal.eml" alice@corp.example ext@other.example || e2e_bad "sendmail marklocal"
mkmsg "$work/markmac.eml" markmac alice@corp.example ext@other.example \
    "X-SMIME-Journal-Milter-Journaled: mx1; v=2; t=1764072000; b=$(openssl rand -base64 32); h=$(openssl rand -base64 32); r=AAAAAAAA; mac=$(openssl rand -hex 32)"
e2e_sendmail "$work/markmac.eml" alice@corp.example ext@other.example || e2e_bad "sendmail markmac"

# First hop: journaled and marked with the key.
mkmsg "$work/hop.eml" hop alice@corp.example bob@corp.example
smtp hop alice@corp.example bob@corp.example
e2e_wait_idle || e2e_fail "delivery did not finish"

# Second hop: bob's delivered copy goes on to bob at the next hop, once
# locally and once from "outside"; the keyed mark is believed whoever
# submits it.  The same copy redirected to carol is a new delivery: the
# mark does not cover her, and the journal gets it.
hopfile=$(file_id bob@corp.example hop)
if [ -n "$hopfile" ]; then
    e2e_strip_trace "$hopfile" >"$work/hop2.eml"
    e2e_sendmail "$work/hop2.eml" alice@corp.example bob@corp.example || e2e_bad "sendmail hop2"
    send_from 127.0.0.2 "$work/hop2.eml" alice@corp.example bob@corp.example || e2e_bad "sending hop2 from outside"
    e2e_sendmail "$work/hop2.eml" bob@corp.example carol@corp.example || e2e_bad "sendmail redirect"
else
    e2e_bad "first hop was not delivered to bob"
fi
e2e_wait_idle || e2e_fail "delivery did not finish"

# ---- genuine system traffic: skipped, with the evidence in the log
expect_count "ordinary mail is journaled" $JOURNAL plain 1
expect_count "DSN returning a journaled message's header is not journaled" $JOURNAL dsn 0
expect_count "that DSN is delivered" alice@corp.example dsn 1
expect_decision "that DSN logged as skipped:system:dsn" dsn "skipped:system:dsn"
expect_count "DSN returning the whole journaled message is not journaled" $JOURNAL dsnfull 0
expect_decision "that DSN logged as skipped:system:dsn" dsnfull "skipped:system:dsn"
case "$(filter_line_for dsn) / $(filter_line_for dsnfull)" in
    *journal_evidence=returned-mark:mac*" / "*journal_evidence=returned-mark:mac*)
        e2e_ok "both name their evidence: journal_evidence=returned-mark:mac" ;;
    *) e2e_bad "both name their evidence: journal_evidence=returned-mark:mac" ;;
esac
e2e_check "Postfix's own bounce of a journaled message passed the filter and was skipped (returned-mark)" \
    grep -q 'from=<> rcpts=1 signature=none journal=skipped:system:dsn journal_evidence=returned-mark:mac' \
    "$(e2e_filter_log)"
bounced=0
for f in $(e2e_messages alice@corp.example); do
    grep -q '^Subject: Undelivered Mail Returned to Sender' "$f" && grep -q '<tofull@test.example>' "$f" &&
        bounced=$((bounced + 1))
done
e2e_check "the bounce of tofull reached alice" test "$bounced" -eq 1
expect_count "the journal got the original to the full mailbox once" $JOURNAL tofull 1
expect_count "genuine MDN (Thunderbird, journaled original) is not journaled with skip_read_reports" $JOURNAL mdn 0
expect_decision "genuine MDN logged as skipped:system:mdn" mdn "skipped:system:mdn"
expect_count "system sender from its system host is not journaled" $JOURNAL sys 0
expect_decision "system sender logged as skipped:system:sender" sys "skipped:system:sender"
e2e_check "system sender skip names its evidence (system-host)" \
    sh -c "grep -q 'from=<monitor@corp.example> .*journal=skipped:system:sender .*journal_evidence=system-host' '$(e2e_filter_log)'"

# ---- evasions: journaled, and the log says which label was not believed
expect_count "forged DSN (null sender, letter under the report label) is journaled" $JOURNAL fakedsn 1
expect_unbelieved "forged DSN: log names the refused label" fakedsn "dsn:"
expect_count "DSN returning an unmarked letter, from outside, is journaled" $JOURNAL dsnunmarked 1
expect_unbelieved "unmarked return: dsn:returns-unmarked" dsnunmarked "dsn:returns-unmarked"
expect_count "DSN returning an unmarked letter, from a local shell user, is journaled" $JOURNAL dsnout 1
expect_unbelieved "unmarked return (local): dsn:returns-unmarked" dsnout "dsn:returns-unmarked"
expect_count "DSN returning a journaled message with its body swapped is journaled" $JOURNAL dsnswap 1
expect_unbelieved "swapped body: dsn:returned-mark:body-changed" dsnswap "dsn:returned-mark:body-changed"
expect_count "null-sender auto-reply is journaled" $JOURNAL autoreply 1
expect_unbelieved "auto-reply: log names the null sender" autoreply "null-sender:no-report-label"
expect_count "fake MDN returning the whole original is journaled" $JOURNAL fakemdn 1
expect_unbelieved "fake MDN: log says it returns content" fakemdn "mdn:returns-content"
expect_count "MDN with a letter in its text is journaled" $JOURNAL mdnletter 1
expect_unbelieved "letter in the text: mdn:text-too-long" mdnletter "mdn:text-too-long"
expect_count "MDN with a letter in its returned header is journaled" $JOURNAL mdnhead 1
expect_unbelieved "letter in the header: mdn:returned-mark:headers-changed" mdnhead "mdn:returned-mark:headers-changed"
expect_count "system sender from outside (127.0.0.2) is journaled" $JOURNAL sysout 1
expect_unbelieved "system sender from outside: not a system host" sysout "system-sender:not-a-system-host"
expect_count "system sender from a local shell user (sendmail) is journaled" $JOURNAL syslocal 1
expect_unbelieved "system sender from sendmail: local submission" syslocal "system-sender:local-submission"
expect_count "journal mark forged by a local shell user is journaled" $JOURNAL marklocal 1
expect_unbelieved "locally forged mark: unkeyed" marklocal "mark:unkeyed"
f=$(file_id ext@other.example marklocal)
e2e_check "locally forged mark removed; the one mark left is the filter's keyed mark" \
    sh -c "test -n '$f' && ! grep -q 'mx-upstream' '$f' && test $(marks "${f:-/dev/null}") -eq 1 && grep -q 'mac=[0-9a-f]\{64\}' '$f'"
expect_count "mark with a made-up MAC (sendmail) is journaled" $JOURNAL markmac 1
expect_unbelieved "made-up MAC: bad-mac" markmac "mark:bad-mac"

# ---- keyed mark across hops
expect_count "keyed mark: the first hop and the redirect journaled, the second hops to bob not again" \
    $JOURNAL hop 2
expect_count "second hops (local, outside) delivered to bob" bob@corp.example hop 3
expect_count "redirect delivered to carol" carol@corp.example hop 1
e2e_check "both second hops logged skipped:journaled-upstream with journal_evidence=mark:mac" \
    test "$(grep -c 'journal=skipped:journaled-upstream .*journal_evidence=mark:mac' "$(e2e_filter_log)")" -eq 2
e2e_check "the redirect logged journal_unbelieved=mark:recipients-not-covered" \
    grep -q 'from=<bob@corp.example> rcpts=1 .*journal=added:.*journal_unbelieved=mark:recipients-not-covered' \
    "$(e2e_filter_log)"

# ---- the durable counters agree with the journal
journaled=0
for id in plain fakedsn dsnunmarked dsnout dsnswap tofull autoreply fakemdn mdnletter mdnhead sysout syslocal \
          marklocal markmac hop; do
    journaled=$((journaled + $(count_id $JOURNAL $id)))
done
e2e_stop_filter
today=$(date -u +%F)
stat_of() { awk -v d="$today" -v k="$1" '$1 == d && $2 == k { print $3 }' "$work/stats/journal-stats"; }
e2e_check "stats file: journaled = $journaled, the journal's count" test "$(stat_of journaled)" = "$journaled"
e2e_check "stats file: three DSNs (two returned, Postfix's bounce), one MDN, one system sender skipped" \
    test "$(stat_of skipped:system:dsn)/$(stat_of skipped:system:mdn)/$(stat_of skipped:system:sender)" = "3/1/1"
e2e_check "stats file: two messages skipped as journaled upstream" test "$(stat_of skipped:journaled-upstream)" = 2
e2e_check "stats file: the thirteen evasions counted as unbelieved labels" test "$(stat_of unbelieved-labels)" = 13
"$SJM_BIN" -c "$E2E_DIR/filter.conf" --stats >"$work/stats.out" 2>&1
e2e_check "--stats prints the day, the daily mean and the projection" \
    sh -c "grep -q '^$today' '$work/stats.out' && grep -q '^daily mean: $journaled.0 messages' '$work/stats.out' && grep -q '^one-year projection: $((journaled * 365)) messages' '$work/stats.out'"
cat "$work/stats.out"

rm -rf "$work"
e2e_finish
