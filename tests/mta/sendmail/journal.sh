#!/bin/bash
# journal.sh - journaling through a real Sendmail (tests/lib/sendmail.sh):
#   - an interpersonal message gets the journal recipient, once, and its
#     copies carry one journal mark; Bcc recipients are journaled too
#   - a bounce of a journaled message (its mark proves it) and a system
#     sender from its host are not journaled; a read report is (a
#     person's client sends it)
#   - forged marks from an untrusted client are deleted by index
#     (smfi_chgheader on Sendmail's header list) and one mark is added
#   - NOTIFY=NEVER: a journal mailbox that fails permanently does not
#     bounce to the sender (control: notify_never = false does)
#   - a journal recipient Sendmail's rules refuse (4xx): what Sendmail
#     does with it, with and without NOTIFY=NEVER (see that section)
#   - one filter line per message with Sendmail's queue id
set -u
. "$abs_top_srcdir/tests/lib/sendmail.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-smjournal.XXXXXX)
trap 'rm -rf "$work"' EXIT
write_conf() { # NOTIFY_NEVER RECIPIENT
    cat >"$work/filter.conf" <<CF
[milter]
trusted_networks = 192.0.2.0/24
[journal]
recipient = $2
sites = corp.example=j-corp@archive.example
system_senders = monitor@corp.example
system_hosts = 127.0.0.1
notify_never = $1
on_failure = tempfail
protect = true
mark_key_file = $work/mark.key
CF
}
openssl rand -hex 32 >"$work/mark.key"
chmod 755 "$work"
chmod 644 "$work/mark.key"
reload() { # NOTIFY_NEVER RECIPIENT
    local before
    write_conf "$1" "$2"
    before=$(grep -c "reloaded configuration" "$(e2e_filter_log)")
    e2e_reload "$work/filter.conf"
    for _ in $(seq 100); do
        [ "$(grep -c "reloaded configuration" "$(e2e_filter_log)")" -gt "$before" ] && return 0
        sleep 0.1
    done
    e2e_fail "the filter did not reload"
}
write_conf true $JOURNAL
# A journal route Sendmail cannot take for now.
SM_RULE_0='R$* < @ route-temp.example > $*\t$#error $@ 4.3.0 $: "451 journal route temporarily broken"'
sm_start "$work/filter.conf"
trap 'st=$?; rm -rf "$work"; (exit $st); sm_cleanup' EXIT

send() { # ID FROM RCPT... (message file already written to $work/ID.eml)
    local id=$1 from=$2
    shift 2
    e2e_send "$work/$id.eml" "$from" "$@" >"$work/$id.out" || e2e_bad "sending $id: $(cat "$work/$id.out")"
}
# Sendmail logs the Message-ID with its queue id; the filter logs the
# queue id with its decision.
filter_line_for() {
    local qid
    qid=$(sm_qid_of "$1@test.example")
    [ -n "$qid" ] || return 0
    grep "^smime-journal-milter: $qid: " "$(e2e_filter_log)"
}
expect_decision() { # WHAT ID SUMMARY
    local line
    line=$(filter_line_for "$2")
    case "$line" in
        *" journal=$3 "*) [ "$(echo "$line" | grep -c .)" -eq 1 ] && e2e_ok "$1" || e2e_bad "$1 (more than one line: $line)" ;;
        *) e2e_bad "$1 (wanted journal=$3; log: ${line:-none})" ;;
    esac
}
bounces_to() { # ADDR: delivery reports in ADDR's Maildir
    local n=0 f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -qi '^Content-Type: multipart/report' "$f" && n=$((n + 1))
    done < <(e2e_messages "$1")
    echo "$n"
}

# ---------------------------------------------------------------- send
mkmsg "$work/ip.eml" ip alice@corp.example "bob@corp.example, ext@other.example"
send ip alice@corp.example bob@corp.example ext@other.example
mkmsg "$work/bcc.eml" bcc ext2@other.example "someone@partner.example"
send bcc ext2@other.example carol@partner.example
# A bounce of a message this organisation journaled: its mark earns the
# skip (tests/mta/postfix/journal-evasion.sh has the fakes).
mkmsg "$work/lunch.eml" lunch bob@corp.example nobody@other.example
mark_original "$work/filter.conf" "$work/lunch.eml" "$work/lunch.marked" || e2e_fail "cannot mark the original"
mkdsn "$work/bounce.eml" bounce genuine "$work/lunch.marked"
send bounce '' bob@corp.example
mkmdn "$work/mdn.eml" mdn bob@corp.example alice@other.example
send mdn bob@corp.example alice@other.example
mkmsg "$work/sys.eml" sys monitor@corp.example ops@corp.example
send sys monitor@corp.example ops@corp.example
mkmsg "$work/forged.eml" forged mallory@evil.example dave@corp.example \
    'X-SMIME-Journal-Milter-Journaled: forged-one' 'Subject-Extra: between' \
    'x-smime-journal-milter-journaled: forged-two'
send forged mallory@evil.example dave@corp.example
# {i}: two transactions on one connection, and a refused RCPT
mkmsg "$work/two.eml" two alice@corp.example bob@corp.example
python3 "$E2E_LIB/smtpsend.py" --repeat 2 127.0.0.1 "$E2E_PORT" "$work/two.eml" alice@corp.example bob@corp.example >"$work/two.out" ||
    e2e_bad "sending two: $(cat "$work/two.out")"
mkmsg "$work/plant.eml" plant mallory@evil.example $JOURNAL
e2e_send "$work/plant.eml" mallory@evil.example bob@corp.example $JOURNAL >"$work/plant.out"
sm_wait_idle || e2e_fail "delivery did not finish"

# ---------------------------------------------------------------- check
q2=$(grep -o "sendmail\[[0-9]*\]: [0-9A-Za-z]*: from=.*msgid=<two@test.example>" "$(sm_log)" | awk '{print $2}' | tr -d :)
e2e_check "two transactions on one connection: two queue ids from Sendmail" \
    test "$(echo "$q2" | sort -u | grep -c .)" -eq 2
n=0
for q in $q2; do grep -q "^smime-journal-milter: $q: from=<alice@corp.example> rcpts=1 " "$(e2e_filter_log)" && n=$((n + 1)); done
e2e_check "... and the filter logged each transaction under its own id" test "$n" -eq 2
e2e_check "RCPT TO the journal from an untrusted client refused with 550 5.7.1" grep -q "550.*5\.7\.1" "$work/plant.out"
q=$(sm_qid_of plant@test.example)
e2e_check "the refused RCPT is logged by the filter with Sendmail's queue id ({i} known at MAIL FROM)" \
    grep -q "^smime-journal-milter: $q: from=<mallory@evil.example> client=\[127.0.0.1\] rcpt=<$JOURNAL> refused" "$(e2e_filter_log)"

expect_count "interpersonal: organisation journal exactly once" $JOURNAL ip 1
expect_count "interpersonal: sender's site journal exactly once" j-corp@archive.example ip 1
expect_count "interpersonal: local recipient delivered once" bob@corp.example ip 1
expect_count "interpersonal: external recipient delivered once" ext@other.example ip 1
expect_decision "interpersonal logged once, as added to both journals" ip "added:$JOURNAL,j-corp@archive.example"
f=$(file_id bob@corp.example ip)
e2e_check "delivered copy carries exactly one journal mark" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1
f=$(file_id $JOURNAL ip)
e2e_check "journal copy carries exactly one journal mark" test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1
expect_count "Bcc-only recipient's message is journaled" $JOURNAL bcc 1
expect_count "Bcc recipient receives it" carol@partner.example bcc 1

expect_count "bounce (null sender) is not journaled" $JOURNAL bounce 0
expect_count "bounce is delivered" bob@corp.example bounce 1
expect_decision "bounce logged as skipped:system:dsn" bounce "skipped:system:dsn"
expect_count "read report (MDN) is journaled: interpersonal by default" $JOURNAL mdn 1
expect_decision "read report logged as added" mdn "added:$JOURNAL,j-corp@archive.example"
expect_count "system sender is not journaled" $JOURNAL sys 0
expect_count "system sender's message is delivered" ops@corp.example sys 1
expect_decision "system sender logged as skipped:system:sender" sys "skipped:system:sender"

expect_count "untrusted client with forged marks: journaled" $JOURNAL forged 1
f=$(file_id dave@corp.example forged)
e2e_check "both forged marks deleted by index, exactly one mark left" \
    test -n "$f" -a "$(marks "${f:-/dev/null}")" -eq 1
e2e_check "the remaining mark is the filter's, not a forgery" sh -c "! grep -qi 'forged-' '${f:-/dev/null}'"
e2e_check "the field between the forged marks is untouched" grep -q '^Subject-Extra: between' "${f:-/dev/null}"
q=$(sm_qid_of forged@test.example)
e2e_check "Sendmail logged two header deletions and one addition for it" \
    test "$(grep -c "$q: Milter (smime-journal-milter) delete: header" "$(sm_log)")" -eq 2 -a \
    "$(grep -c "$q: Milter (smime-journal-milter) add: header: X-SMIME-Journal-Milter-Journaled" "$(sm_log)")" -eq 1

# ---------------------------------------------------------------- NOTIFY=NEVER
e2e_mailbox_full $JOURNAL
mkmsg "$work/full.eml" full alice@corp.example bob@corp.example
send full alice@corp.example bob@corp.example
sm_wait_idle || e2e_fail "delivery did not finish"
sleep 2
q=$(sm_qid_of full@test.example)
expect_decision "journal recipient added (journal mailbox full)" full "added:$JOURNAL,j-corp@archive.example"
e2e_check "the message reaches its recipient" test "$(count_id bob@corp.example full)" -eq 1
e2e_check "Sendmail logged the journal delivery as failed permanently" \
    grep -q "$q: to=<$JOURNAL>,.*dsn=5" "$(sm_log)"
e2e_check "NOTIFY=NEVER honoured: Sendmail made no DSN for it" sh -c "! grep -q '$q: [0-9A-Za-z]*: DSN:' '$(sm_log)'"
e2e_check "no bounce in the sender's Maildir" test "$(bounces_to alice@corp.example)" -eq 0

reload false $JOURNAL
mkmsg "$work/full2.eml" full2 dave@corp.example bob@corp.example
send full2 dave@corp.example bob@corp.example
sm_wait_idle || e2e_fail "delivery did not finish"
sleep 2
sm_wait_idle
q=$(sm_qid_of full2@test.example)
e2e_check "control: with notify_never=false Sendmail logs a DSN" grep -q "$q: [0-9A-Za-z]*: DSN:" "$(sm_log)"
e2e_check "control: and the bounce reaches the sender" test "$(bounces_to dave@corp.example)" -eq 1
rm -f "$(e2e_maildir $JOURNAL)/FULL"

# ---------------------------------------------------------------- unroutable journal
# The journal address routes to "$#error 4.3.0" in Sendmail's ruleset 0.
# libmilter's add-recipient is never acknowledged, so the filter cannot
# see what Sendmail makes of it; these cases record what Sendmail does.
# With NOTIFY=NEVER the filter adds through smfi_addrcpt_par, and
# Sendmail 8.17.1 drops such a recipient without a trace (and writes a
# debug line into the SMTP reply); without ESMTP arguments (smfi_addrcpt)
# it queues the journal copy for retry.
reload true journal@route-temp.example
mkmsg "$work/rtemp.eml" rtemp alice@corp.example bob@corp.example
e2e_send "$work/rtemp.eml" alice@corp.example bob@corp.example >"$work/rtemp.out"
sm_wait_idle 10
sleep 2
q=$(sm_qid_of rtemp@test.example)
expect_decision "NOTIFY=NEVER, 4xx journal route: the filter added the recipient" rtemp \
    "added:journal@route-temp.example,j-corp@archive.example"
e2e_check "NOTIFY=NEVER, 4xx journal route: the message reaches its recipient" \
    test "$(count_id bob@corp.example rtemp)" -eq 1
e2e_check "NOTIFY=NEVER, 4xx journal route: Sendmail dropped the journal recipient (no to= line, nothing queued) [Sendmail defect]" \
    sh -c "! grep -q '$q: to=<journal@route-temp.example>' '$(sm_log)' && ! ls '$E2E_DIR/queue' | grep -q '$q'"
e2e_check "NOTIFY=NEVER, 4xx journal route: Sendmail wrote a debug line into the SMTP reply [Sendmail defect]" \
    grep -q "olderrors=" "$work/rtemp.out"
reload false journal@route-temp.example
mkmsg "$work/rtemp2.eml" rtemp2 alice@corp.example bob@corp.example
send rtemp2 alice@corp.example bob@corp.example
sleep 3
q=$(sm_qid_of rtemp2@test.example)
e2e_check "notify_never=false, 4xx journal route: the message reaches its recipient" \
    test "$(count_id bob@corp.example rtemp2)" -eq 1
e2e_check "notify_never=false, 4xx journal route: the journal copy stays queued for retry (no loss)" \
    grep -q "^rRFC822; journal@route-temp.example" "$E2E_DIR/queue/qf$q"

rm -rf "$work"
e2e_finish
