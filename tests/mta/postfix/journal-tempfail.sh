#!/bin/bash
# journal-tempfail.sh - a journal recipient that the MTA cannot take on makes the
# whole message fail temporarily; it is never delivered unjournaled.
#
# Postfix resolves every recipient a milter adds through
# virtual_alias_maps; a lookup failure there ("fail:" table) is exactly
# "cannot add this recipient", and Postfix answers 451 for the whole
# message.  The filter's own on_failure path (libmilter refusing the add)
# is driven in tests/mta/miltertest/journal-addfail.sh, because Postfix never refuses it.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/journal.sh"

work=$(mktemp -d /tmp/sjm-jtf.XXXXXX)
conf=$work/filter.conf
cat >"$conf" <<CF
[journal]
recipient = $JOURNAL
on_failure = tempfail
system_senders = monitor@corp.example
system_hosts = 127.0.0.1
CF
# Ordinary recipients resolve to themselves; anything else (the journal
# mailbox) hits a table that always fails.
E2E_EXTRA_MAIN_CF="virtual_alias_domains =\nvirtual_alias_maps = inline:{ {bob@corp.example = bob@corp.example} }, fail:broken-journal-route"
e2e_start "$conf"

mkmsg "$work/tf.eml" tf alice@corp.example bob@corp.example
e2e_send "$work/tf.eml" alice@corp.example bob@corp.example >"$work/tf.out"
status=$?
e2e_check "message whose journal copy cannot be added is refused" test "$status" -eq 2
e2e_check "... with a temporary (4xx) reply, so the client retries" grep -q "refused: 4[0-9][0-9]" "$work/tf.out"

# Control: a message that is not journaled (a system sender from its
# system host) goes through.
mkmsg "$work/ok.eml" ok monitor@corp.example bob@corp.example
e2e_send "$work/ok.eml" monitor@corp.example bob@corp.example >"$work/ok.out"
e2e_check "control: an unjournaled message is accepted on the same server" test $? -eq 0
e2e_wait_idle || e2e_fail "delivery did not finish"

expect_count "the tempfailed message is not delivered to its recipient" bob@corp.example tf 0
expect_count "control message delivered" bob@corp.example ok 1
e2e_check "Postfix logged why the added recipient failed" \
    grep -q "lookup.*$JOURNAL.*try again later\|$JOURNAL.*lookup.*try again later" "$(e2e_postfix_log)"
e2e_check "nothing left in the queue" test "$(e2e_queue_count)" -eq 0

rm -rf "$work"
e2e_finish
