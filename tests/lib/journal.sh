# journal.sh - helpers shared by the journaling end-to-end tests (sourced
# after tests/lib/e2e.sh).

JOURNAL=journal@archive.example

# mkmsg FILE ID FROM TO [HEADER-LINE...]: a small CRLF message whose
# Message-ID is <ID@test.example>, so each case can be found in any Maildir.
mkmsg() {
    local file=$1 id=$2 from=$3 to=$4 h
    shift 4
    {
        printf 'From: %s\r\nTo: %s\r\nSubject: case %s\r\n' "$from" "$to" "$id"
        printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test.example>\r\n' "$id"
        for h in "$@"; do printf '%s\r\n' "$h"; done
        printf '\r\nThis is case %s.\r\n' "$id"
    } >"$file"
}

# count_id ADDR ID: how many messages ADDR received that carry case ID.
count_id() {
    local n=0 f
    while IFS= read -r f; do
        [ -n "$f" ] && grep -q "^Message-ID: <$2@test.example>" "$f" && n=$((n + 1))
    done < <(e2e_messages "$1")
    echo "$n"
}

# file_id ADDR ID: the (last) message file ADDR received for case ID.
file_id() {
    local f found=
    while IFS= read -r f; do
        [ -n "$f" ] && grep -q "^Message-ID: <$2@test.example>" "$f" && found=$f
    done < <(e2e_messages "$1")
    echo "$found"
}

# expect_count "what" ADDR ID N
expect_count() {
    local got
    got=$(count_id "$2" "$3")
    if [ "$got" -eq "$4" ]; then
        e2e_ok "$1"
    else
        e2e_bad "$1 (expected $4 at $2, got $got)"
    fi
}

# The filter's summary line for case ID: Postfix logs the Message-ID with
# the queue id, the filter logs the queue id with its decision.
filter_line_for() {
    local qid
    qid=$(grep -o "[0-9A-F]*: message-id=<$1@test.example>" "$(e2e_postfix_log)" | head -n 1 | cut -d: -f1)
    [ -n "$qid" ] || return 0
    grep "^smime-journal-milter: $qid: " "$(e2e_filter_log)" | head -n 1
}

# expect_decision "what" ID SUMMARY: the filter logged journal=SUMMARY for it.
expect_decision() {
    local line
    line=$(filter_line_for "$2")
    case "$line" in
        *" journal=$3 "*) e2e_ok "$1" ;;
        *) e2e_bad "$1 (wanted journal=$3; log: ${line:-none})" ;;
    esac
}

# marks FILE: how many journal marks the header of FILE carries.
marks() {
    awk 'BEGIN { IGNORECASE = 1 } /^$/ { exit } tolower($0) ~ /^x-smime-journal-milter-journaled:/ { n++ } END { print n + 0 }' "$1"
}

# mark_original CONF IN OUT [RCPT]: message IN as this organisation's
# filter delivers it to RCPT (default nobody@other.example): journaled and
# marked under CONF's key by --inspect, the code a live transaction runs.
mark_original() {
    "$SJM_BIN" -c "$1" --inspect "$2" --from alice@corp.example --rcpt "${4:-nobody@other.example}" \
        --client-addr 127.0.0.1 --output "$3" 2>/dev/null
}

# crlf FILE: FILE's lines with CRLF ends.
crlf() { sed 's/\r$//; s/$/\r/' "$1"; }
# head_of FILE: FILE's header block (CRLF), without the empty line.
head_of() { crlf "$1" | sed '/^\r$/q' | sed '$d'; }

# mkdsn FILE ID [KIND [RETURNED]]: a delivery status notification as
# Postfix's bounce(8) writes it (RFC 3464: notification,
# message/delivery-status, the returned message).  The third part holds
# RETURNED's header block (text/rfc822-headers), or all of RETURNED with
# KIND "full" (message/rfc822); without RETURNED, the header of a letter
# this organisation never journaled.  KIND "letter" replaces the report
# with an ordinary letter under the same label.
mkdsn() {
    local file=$1 id=$2 kind=${3:-genuine} returned=${4:-}
    {
        printf 'From: MAILER-DAEMON@mx.other.example (Mail Delivery System)\r\nTo: alice@corp.example\r\n'
        printf 'Subject: Undelivered Mail Returned to Sender\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n'
        printf 'Message-ID: <%s@test.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n' "$id"
        printf 'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="DSN.%s"\r\n\r\n' "$id"
        printf 'This is a MIME-encapsulated message.\r\n\r\n--DSN.%s\r\n' "$id"
        printf 'Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n'
        if [ "$kind" = letter ]; then
            printf 'Dear Bob,\r\nhere are the figures we discussed, off the record.\r\n\r\n'
            printf -- '--DSN.%s\r\nContent-Type: application/octet-stream; name="figures.xls"\r\n' "$id"
            printf 'Content-Transfer-Encoding: base64\r\n\r\nUEsDBBQAAAAIAA==\r\n\r\n--DSN.%s--\r\n' "$id"
            return
        fi
        printf "This is the mail system at host mx.other.example.\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        printf 'be delivered to one or more recipients.\r\n\r\n--DSN.%s\r\n' "$id"
        printf 'Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n'
        printf 'Reporting-MTA: dns; mx.other.example\r\nX-Postfix-Queue-ID: 4AB12C3\r\n'
        printf 'Arrival-Date: Mon, 23 Nov 2026 11:59:00 +0000\r\n\r\n'
        printf 'Final-Recipient: rfc822; nobody@other.example\r\nOriginal-Recipient: rfc822;nobody@other.example\r\n'
        printf 'Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@other.example>: unknown user\r\n\r\n'
        if [ "$kind" = full ]; then
            printf -- '--DSN.%s\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n' "$id"
            crlf "$returned"
            printf '\r\n'
        else
            printf -- '--DSN.%s\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n' "$id"
            if [ -n "$returned" ]; then
                head_of "$returned"
            else
                printf 'From: alice@corp.example\r\nTo: nobody@other.example\r\nSubject: lunch\r\n'
                printf 'Message-ID: <orig-%s@corp.example>\r\n' "$id"
            fi
            printf '\r\n'
        fi
        printf -- '--DSN.%s--\r\n' "$id"
    } >"$file"
}

# mkmdn FILE ID FROM TO [KIND [RETURNED]]: a read report as Thunderbird
# writes it (RFC 8098: text, message/disposition-notification, the
# original's header: RETURNED's header block, or one this organisation
# never journaled).  KIND "content" returns the whole original, "letter"
# puts a letter into the text, "letter-header" adds a letter to the
# returned header: fake MDNs.
mkmdn() {
    local file=$1 id=$2 from=$3 to=$4 kind=${5:-genuine} returned=${6:-}
    {
        printf 'From: %s\r\nTo: %s\r\nSubject: Return Receipt (displayed) - lunch\r\n' "$from" "$to"
        printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <%s@test.example>\r\nMIME-Version: 1.0\r\n' "$id"
        printf 'Content-Type: multipart/report; report-type=disposition-notification;\r\n\tboundary="MDN.%s"\r\n\r\n' "$id"
        printf -- '--MDN.%s\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n' "$id"
        printf 'This is a Return Receipt for the mail that you sent to %s.\r\n\r\n' "$from"
        printf 'Note: This Return Receipt only acknowledges that the message was displayed.\r\n\r\n'
        if [ "$kind" = letter ]; then
            for i in $(seq 1 40); do
                printf 'Dear Alice, paragraph %d of the plans we must not put in writing.\r\n' "$i"
            done
            printf '\r\n'
        fi
        printf -- '--MDN.%s\r\nContent-Type: message/disposition-notification; name="MDNPart2.txt"\r\n' "$id"
        printf 'Content-Disposition: inline\r\n\r\nReporting-UA: mail.corp.example; Thunderbird 115.0\r\n'
        printf 'Final-Recipient: rfc822;%s\r\nOriginal-Message-ID: <orig-%s@corp.example>\r\n' "$from" "$id"
        printf 'Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n'
        if [ "$kind" = content ]; then
            printf -- '--MDN.%s\r\nContent-Type: message/rfc822\r\n\r\n' "$id"
            printf 'From: %s\r\nSubject: the real message\r\n\r\nThe merger closes on Friday; tell no one.\r\n\r\n' "$from"
        else
            printf -- '--MDN.%s\r\nContent-Type: text/rfc822-headers; name="MDNPart3.txt"\r\n' "$id"
            printf 'Content-Disposition: inline\r\n\r\n'
            if [ -n "$returned" ]; then
                head_of "$returned"
            else
                printf 'From: %s\r\nSubject: lunch\r\nMessage-ID: <orig-%s@corp.example>\r\n' "$to" "$id"
            fi
            [ "$kind" = letter-header ] && printf 'X-Letter: The merger closes on Friday; tell no one.\r\n'
            printf '\r\n'
        fi
        printf -- '--MDN.%s--\r\n' "$id"
    } >"$file"
}

# send_from IP FILE FROM RCPT...: SMTP from the local address IP (any
# 127.x.y.z works on Linux), to play a client outside a trusted network.
send_from() {
    local ip=$1 file=$2 from=$3
    shift 3
    python3 - "$ip" "$E2E_PORT" "$file" "$from" "$@" <<'PY'
import re, smtplib, sys
ip, port, path, sender, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
data = re.sub(rb"\r?\n", b"\r\n", open(path, "rb").read())
s = smtplib.SMTP("127.0.0.1", port, timeout=120, source_address=(ip, 0))
s.ehlo("outside.test.example")
s.sendmail(sender, rcpts, data)
s.quit()
PY
}

# expect_unbelieved "what" ID TOKEN: the filter named TOKEN among the labels it did not believe.
expect_unbelieved() {
    local line
    line=$(filter_line_for "$2")
    case "$line" in
        *" journal_unbelieved="*"$3"*) e2e_ok "$1" ;;
        *) e2e_bad "$1 (wanted journal_unbelieved=...$3...; log: ${line:-none})" ;;
    esac
}
