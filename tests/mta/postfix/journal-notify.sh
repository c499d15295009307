#!/bin/bash
# journal-notify.sh - a journal mailbox that cannot take mail (here: a transport
# that fails every delivery to it, as a full mailbox would) must not bounce
# to the sender: the filter adds it with NOTIFY=NEVER and Postfix honours
# that.  A control shows the test would see a bounce if one were sent: the
# same failing journal with notify_never off.  (An ordinary recipient with
# an error: transport cannot serve as control: smtpd already refuses it at
# RCPT time; only an added recipient reaches delivery and fails there.)
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-jnotify.XXXXXX)
conf=$work/filter.conf
write_conf() { # NOTIFY_NEVER
    cat >"$conf" <<CF
[journal]
recipient = $JOURNAL
notify_never = $1
CF
}
write_conf true
E2E_EXTRA_MAIN_CF="transport_maps = inline:{ {$JOURNAL = error:5.2.2 journal mailbox is full} }"
e2e_start "$conf"

bounces_to() { # ADDR: messages in ADDR's Maildir that are delivery reports
    local n=0 f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -qi '^Content-Type: multipart/report' "$f" && n=$((n + 1))
    done < <(e2e_messages "$1")
    echo "$n"
}

qid_of() { # ID
    grep -o "[0-9A-F]*: message-id=<$1@test.example>" "$(e2e_postfix_log)" | head -n 1 | cut -d: -f1
}

mkmsg "$work/full.eml" full alice@corp.example bob@corp.example
e2e_send "$work/full.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending full"
e2e_wait_idle || e2e_fail "delivery did not finish"
sleep 1
e2e_wait_idle

q=$(qid_of full)
log=$(e2e_postfix_log)
expect_decision "journal recipient added" full "added:$JOURNAL"
e2e_check "the message reaches its recipient" test "$(count_id bob@corp.example full)" -eq 1
e2e_check "journal delivery failed permanently (Postfix log)" \
    grep -q "$q: to=<$JOURNAL>.*status=bounced" "$log"
e2e_check "Postfix recorded NOTIFY=NEVER for the journal recipient (no notification queued)" \
    sh -c "! grep -q '$q: sender non-delivery notification' '$log'"
e2e_check "no bounce in the sender's Maildir" test "$(bounces_to alice@corp.example)" -eq 0

# Without NOTIFY=NEVER the sender would learn that a journal exists.
write_conf false
before=$(grep -c "reloaded configuration" "$(e2e_filter_log)")
e2e_reload "$conf"
for _ in $(seq 50); do
    [ "$(grep -c "reloaded configuration" "$(e2e_filter_log)")" -gt "$before" ] && break
    sleep 0.1
done
mkmsg "$work/full2.eml" full2 dave@corp.example bob@corp.example
e2e_send "$work/full2.eml" dave@corp.example bob@corp.example >/dev/null || e2e_bad "sending full2"
e2e_wait_idle || e2e_fail "delivery did not finish"
sleep 1
e2e_wait_idle
q=$(qid_of full2)
e2e_check "control: with notify_never=false the same failure bounces to the sender" \
    test "$(bounces_to dave@corp.example)" -eq 1
e2e_check "control: and Postfix logs the sender notification" \
    grep -q "$q: sender non-delivery notification" "$log"

rm -rf "$work"
e2e_finish
