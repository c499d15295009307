# lib.sh - helpers shared by the journaling end-to-end tests (sourced
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
