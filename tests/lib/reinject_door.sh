# reinject_door.sh - the re-injection listener is no door around the
# filter: the cases shared by tests/mta/postfix/reinject-door.sh and
# tests/mta/sendmail/reinject-door.sh.  Source it after e2e.sh or
# sendmail.sh; the caller defines
#   door_start CONF     start the MTA and the filter on CONF
#   door_wait_idle      wait until the MTA's queue is empty
#   door_mta_log        print the MTA's log file name
# then calls door_run_all.
#
# A "local process" below is this script talking SMTP to 127.0.0.1 on the
# listener's port, as any user on the host could.

DOOR_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHECK="python3 $DOOR_LIB/mimecheck.py"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"
JOURNAL=journal@archive.example
TOKEN_HEADER=X-SMIME-Journal-Milter-Reinject

door_work=$(mktemp -d /tmp/sjm-door.XXXXXX)
chmod 755 "$door_work"      # the filter runs as nobody and reads the key
openssl rand -hex 32 >"$door_work/mark.key" || e2e_fail "openssl rand failed"
chmod 644 "$door_work/mark.key"
door_conf=$door_work/filter.conf

# door_config MODE ACTION MIXED [EXTRA-MILTER-LINE]: the filter's configuration.
door_config() {
    cat >"$door_conf" <<CF
[milter]
reinject = 127.0.0.1:${E2E_REINJECT_PORT:-10026}
reinject_timeout = 10
${4:-}
[signatures]
action = $2
strip_for = *@legacy.example
mixed = $3
[journal]
recipient = $JOURNAL
mode = $1
mark_key_file = $door_work/mark.key
CF
}

# door_restart MODE ACTION MIXED [EXTRA]: new configuration, filter restarted.
door_restart() {
    door_config "$@"
    e2e_stop_filter
    e2e_start_filter "$door_conf"
}

# listener FILE FROM RCPT...: SMTP straight to the re-injection listener.
listener() {
    local file=$1 from=$2
    shift 2
    python3 "$E2E_LIB/smtpsend.py" 127.0.0.1 "$E2E_REINJECT_PORT" "$file" "$from" "$@"
}

# plain ID FILE: an ordinary message to an outside recipient.
plain() {
    printf 'From: <mallory@corp.example>\r\nTo: <eve@outside.example>\r\nSubject: door %s\r\nMessage-ID: <%s@test.example>\r\n\r\nunjournaled?\r\n' \
        "$1" "$1" >"$2"
}

# signed ID FILE: the corpus's detached SHA-256 message as case ID.
signed() {
    sed -e "s/^Subject: .*/Subject: case $1\r/" \
        -e "0,/^MIME-Version:/s//Message-ID: <$1@test.example>\r\nMIME-Version:/" \
        "$CORPUS/alice.dsig.SHA256.multipart.eml" >"$2"
}

# count_case ADDR ID: messages ADDR received for case ID (its Message-ID,
# or, for a journal report, the original's inside it).
count_case() {
    local n=0 f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -q "<$2@test.example>" "$f" && n=$((n + 1))
    done < <(e2e_messages "$1")
    echo "$n"
}

mailboxes_total() {
    find "$E2E_DIR/mail" -path '*/new/*' -type f 2>/dev/null | wc -l
}

# refused_5xx FILE CASE-TEXT VERDICT FROM RCPT...: the listener refuses it
# with 550 5.7.1, the filter names the verdict and the client, nothing is
# delivered.
refused_5xx() {
    local file=$1 what=$2 verdict=$3 from=$4
    shift 4
    local before out rc
    before=$(mailboxes_total)
    out=$(listener "$file" "$from" "$@" 2>&1)
    rc=$?
    echo "$out" | grep -E '^[0-9]{3}|refused|reply' | tail -n 2 | sed "s/^/# $what: /"
    e2e_check "$what: refused (smtpsend status 2, got $rc)" [ "$rc" -eq 2 ]
    e2e_check "$what: with 550 5.7.1" grep -q '550 5.7.1' <<<"$out"
    door_wait_idle || e2e_bad "$what: the queue did not drain"
    e2e_check "$what: nothing delivered anywhere" [ "$(mailboxes_total)" -eq "$before" ]
    e2e_check "$what: the filter logged reinject-guard=$verdict with the client" \
        grep -q "reinject-guard=$verdict client=\[127.0.0.1\] daemon=MTA-reinject" "$(e2e_filter_log)"
}

# ------------------------------------------------------------ (a) plain door
door_case_plain() {
    plain a1 "$door_work/a1.eml"
    refused_5xx "$door_work/a1.eml" "door: ordinary message to an outside recipient" no-token \
        mallory@corp.example eve@outside.example
    e2e_check "door: eve@outside.example has nothing" [ "$(e2e_count eve@outside.example)" -eq 0 ]
    plain a2 "$door_work/a2.eml"
    refused_5xx "$door_work/a2.eml" "door: null sender (looks like a report)" no-token \
        "" "$JOURNAL" eve@outside.example
    # The same message through the front door: delivered and journaled,
    # so the refusals above are the listener's, not a broken MTA.
    plain a3 "$door_work/a3.eml"
    e2e_send "$door_work/a3.eml" mallory@corp.example eve@outside.example >/dev/null ||
        e2e_bad "front door: the message was refused"
    door_wait_idle || e2e_bad "front door: the queue did not drain"
    e2e_check "front door: eve gets it" [ "$(count_case eve@outside.example a3)" -eq 1 ]
    e2e_check "front door: and the journal too" [ "$(count_case "$JOURNAL" a3)" -eq 1 ]
}

# ------------------------------------------------------------ (b) tokens
door_case_tokens() {
    local tok f
    python3 "$DOOR_LIB/reinject_token.py" - 0 "$door_work/b1.eml" mallory@corp.example eve@outside.example >/dev/null
    refused_5xx "$door_work/b1.eml" "forged: a token under a key nobody has" bad-mac \
        mallory@corp.example eve@outside.example
    python3 "$DOOR_LIB/reinject_token.py" "$door_work/mark.key" 600 "$door_work/b2.eml" mallory@corp.example eve@outside.example >/dev/null
    refused_5xx "$door_work/b2.eml" "expired: a good MAC, 10 minutes old" expired \
        mallory@corp.example eve@outside.example
    python3 "$DOOR_LIB/reinject_token.py" "$door_work/mark.key" -600 "$door_work/b3.eml" mallory@corp.example eve@outside.example >/dev/null
    refused_5xx "$door_work/b3.eml" "future: a good MAC, 10 minutes ahead" future \
        mallory@corp.example eve@outside.example
    python3 "$DOOR_LIB/reinject_token.py" "$door_work/mark.key" 0 "$door_work/b4.eml" mallory@corp.example eve@outside.example >/dev/null
    refused_5xx "$door_work/b4.eml" "moved: a good token for eve, sent to another recipient" bad-mac \
        mallory@corp.example other@outside.example
    tok=$(python3 "$DOOR_LIB/reinject_token.py" "$door_work/mark.key" 0 "$door_work/b5.eml" mallory@corp.example eve@outside.example)
    { printf '%s: %s\r\n' "$TOKEN_HEADER" "$tok"; cat "$door_work/b5.eml"; } >"$door_work/b6.eml"
    refused_5xx "$door_work/b6.eml" "two tokens in one message" several-tokens \
        mallory@corp.example eve@outside.example
    # A holder of the organisation's mark key can make a token the guard
    # admits (that is what the key means); once, and the header is gone.
    listener "$door_work/b5.eml" mallory@corp.example eve@outside.example >"$door_work/b5.out" 2>&1
    e2e_check "key holder: a good token is admitted" [ $? -eq 0 ]
    door_wait_idle || e2e_bad "key holder: the queue did not drain"
    e2e_check "key holder: eve got it once" [ "$(count_case eve@outside.example door-b5)" -eq 1 ]
    f=$(e2e_messages eve@outside.example | tail -n 1)
    e2e_check "key holder: the token header was deleted before delivery" \
        bash -c "[ -n '$f' ] && ! grep -qi '^$TOKEN_HEADER' '$f'"
    refused_5xx "$door_work/b5.eml" "replayed: the same good token again" replayed \
        mallory@corp.example eve@outside.example
    e2e_check "replayed: eve still has that message once" [ "$(count_case eve@outside.example door-b5)" -eq 1 ]
}

# ------------------------------------------------------------ (c) genuine
door_case_genuine() {
    local admitted0 f
    admitted0=$(grep -c 'reinject-guard=admitted' "$(e2e_filter_log)")

    door_restart report preserve preserve
    signed c1 "$door_work/c1.eml"
    e2e_send "$door_work/c1.eml" alice@corp.example bob@corp.example >/dev/null ||
        e2e_bad "report: the message was refused"
    door_wait_idle || e2e_bad "report: the queue did not drain"
    e2e_check "report: bob got the message" [ "$(count_case bob@corp.example c1)" -eq 1 ]
    f=$(e2e_messages "$JOURNAL" | tail -n 1)
    e2e_check "report: the journal got one envelope journal report" \
        bash -c "[ '$(count_case "$JOURNAL" c1)' -eq 1 ] && grep -q '^X-MS-Journal-Report:' '$f'"

    door_restart bcc strip preserve
    signed c2 "$door_work/c2.eml"
    e2e_send "$door_work/c2.eml" alice@corp.example bob@legacy.example >/dev/null ||
        e2e_bad "bcc+strip: the message was refused"
    door_wait_idle || e2e_bad "bcc+strip: the queue did not drain"
    f=$(e2e_messages bob@legacy.example | tail -n 1)
    e2e_check "bcc+strip: bob@legacy.example got one stripped copy" \
        bash -c "[ '$(count_case bob@legacy.example c2)' -eq 1 ] && [ \"\$($CHECK sigs '$f' 2>/dev/null)\" = 0 ]"
    f=$(e2e_messages "$JOURNAL" | tail -n 1)
    e2e_check "bcc+strip: the journal got the signed original" \
        bash -c "[ '$(count_case "$JOURNAL" c2)' -eq 1 ] && [ \"\$($CHECK sigs '$f' 2>/dev/null)\" -ge 1 ]"

    door_restart bcc preserve split
    signed c3 "$door_work/c3.eml"
    e2e_send "$door_work/c3.eml" alice@corp.example bob@corp.example old@legacy.example >/dev/null ||
        e2e_bad "split: the message was refused"
    door_wait_idle || e2e_bad "split: the queue did not drain"
    f=$(e2e_messages old@legacy.example | tail -n 1)
    e2e_check "split: old@legacy.example got one stripped copy" \
        bash -c "[ '$(count_case old@legacy.example c3)' -eq 1 ] && [ \"\$($CHECK sigs '$f' 2>/dev/null)\" = 0 ]"
    e2e_check "split: bob@corp.example got the original once" [ "$(count_case bob@corp.example c3)" -eq 1 ]
    e2e_check "split: the journal got it once" [ "$(count_case "$JOURNAL" c3)" -eq 1 ]

    e2e_check "genuine: the guard admitted the 3 re-injections" \
        [ "$(( $(grep -c 'reinject-guard=admitted' "$(e2e_filter_log)") - admitted0 ))" -eq 3 ]
    e2e_check "genuine: no mailbox holds a token header" \
        bash -c "! grep -rqi '^$TOKEN_HEADER' '$E2E_DIR/mail'"
    e2e_check "genuine: the filter never found its listener unguarded" \
        bash -c "! grep -q 'reinject-guard=unguarded' '$(e2e_filter_log)'"
    e2e_check "genuine: each original logged once (re-injections are not filtered again)" \
        [ "$(grep -c ' from=<alice@corp.example> rcpts=' "$(e2e_filter_log)")" -eq 3 ]
}

# ------------------------------------------------------------ (e) wrong name
door_case_wrong_name() {
    local before rc
    door_restart bcc strip preserve "reinject_daemon_name = not-the-listener"
    signed e1 "$door_work/e1.eml"
    before=$(mailboxes_total)
    e2e_send "$door_work/e1.eml" alice@corp.example bob@legacy.example >"$door_work/e1.out" 2>&1
    rc=$?
    e2e_check "wrong daemon name: the original is refused (status 2, got $rc)" [ "$rc" -eq 2 ]
    e2e_check "wrong daemon name: with a 4xx reply" grep -qE '(^refused|: ) ?4[0-9][0-9] ' "$door_work/e1.out"
    door_wait_idle 30 || e2e_bad "wrong daemon name: the queue did not drain"
    e2e_check "wrong daemon name: nothing delivered" [ "$(mailboxes_total)" -eq "$before" ]
    e2e_check "wrong daemon name: the filter says so" \
        grep -q 'reinject-guard=wrong-daemon' "$(e2e_filter_log)"
    door_restart bcc strip preserve
}

# ------------------------------------------------------------ (d) filter down
# door_case_down SIGNAL: the filter stopped (STOP) or killed (KILL): the
# listener takes nothing, the original is tempfailed, nothing is delivered;
# with the filter back the original goes through, journaled.
door_case_down() {
    local sig=$1 before rc id
    id=d$(echo "$sig" | tr 'A-Z' 'a-z')
    door_restart bcc strip preserve
    plain "${id}a" "$door_work/${id}a.eml"
    signed "$id" "$door_work/$id.eml"
    before=$(mailboxes_total)
    kill -"$sig" "$E2E_FILTER_PID"
    listener "$door_work/${id}a.eml" mallory@corp.example eve@outside.example >"$door_work/${id}a.out" 2>&1
    rc=$?
    e2e_check "filter SIG$sig: the listener refuses a local process (status 2, got $rc)" [ "$rc" -eq 2 ]
    e2e_check "filter SIG$sig: ... with a 4xx reply" grep -qE '(^refused|: ) ?4[0-9][0-9] ' "$door_work/${id}a.out"
    e2e_send "$door_work/$id.eml" alice@corp.example bob@legacy.example >"$door_work/$id.out" 2>&1
    rc=$?
    e2e_check "filter SIG$sig: the original is tempfailed (status 2, got $rc)" [ "$rc" -eq 2 ]
    e2e_check "filter SIG$sig: ... with a 4xx reply" grep -qE '(^refused|: ) ?4[0-9][0-9] ' "$door_work/$id.out"
    door_wait_idle 60 || e2e_bad "filter SIG$sig: the queue did not drain"
    e2e_check "filter SIG$sig: nothing delivered" [ "$(mailboxes_total)" -eq "$before" ]
    if [ "$sig" = STOP ]; then
        kill -CONT "$E2E_FILTER_PID"
        door_restart bcc strip preserve
    else
        wait "$E2E_FILTER_PID" 2>/dev/null
        E2E_FILTER_PID=
        e2e_start_filter "$door_conf"
    fi
    e2e_send "$door_work/$id.eml" alice@corp.example bob@legacy.example >/dev/null ||
        e2e_bad "filter SIG$sig: the retry was refused"
    door_wait_idle || e2e_bad "filter SIG$sig: the queue did not drain after the retry"
    e2e_check "filter SIG$sig: the retry delivers bob's copy once" [ "$(count_case bob@legacy.example "$id")" -eq 1 ]
    e2e_check "filter SIG$sig: ... and journals it once" [ "$(count_case "$JOURNAL" "$id")" -eq 1 ]
    e2e_check "filter SIG$sig: the local process's message never arrived" \
        [ "$(count_case eve@outside.example "${id}a")" -eq 0 ]
}

door_run_all() {
    door_case_plain
    door_case_tokens
    door_case_genuine
    door_case_wrong_name
    door_case_down STOP
    door_case_down KILL
    e2e_check "in all: eve@outside.example got only the front-door and key-holder messages" \
        [ "$(e2e_count eve@outside.example)" -eq 2 ]
    rm -rf "$door_work"
    e2e_finish
}
