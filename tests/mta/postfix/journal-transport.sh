#!/bin/bash
# journal-transport.sh - the shipped journal transport
# (etc/postfix-journal-transport.main.cf.snippet and .master.cf.snippet)
# in a real Postfix with the filter in front, bcc mode; the archive is an
# SMTP listener on loopback (tests/lib/timed_sink.py):
#   routed    journal copies leave through the "journal" transport (its
#             syslog name), users' mail through its own
#   down      with the archive hung (accepts, never answers) users' mail is
#             all delivered while every journal copy still waits in the
#             queue for the archive
#   recovers  once the archive answers again every journal copy arrives,
#             exactly once: none lost
# No timing is asserted; bench/journal-transport.sh measures latency.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"

JOURNAL=journal@archive.corp.example
work=$(mktemp -d /tmp/sjm-jtransport.XXXXXX)
printf '[journal]\nrecipient = %s\n' "$JOURNAL" >"$work/filter.conf"
main_snippet=$abs_top_srcdir/etc/postfix-journal-transport.main.cf.snippet
master_snippet=$abs_top_srcdir/etc/postfix-journal-transport.master.cf.snippet
# The snippets as an administrator pastes them (the test instance runs
# nothing chrooted), the archive's address filled in below.
E2E_EXTRA_MAIN_CF=$(grep -vE '^[[:space:]]*(#|$)' "$main_snippet")
E2E_EXTRA_MASTER_CF=$(grep -vE '^[[:space:]]*(#|$)' "$master_snippet" \
    | sed -E 's/^(journal +unix +- +- +)y/\1n/')
e2e_start "$work/filter.conf"
# A port nobody listens on, from the kernel: fixed offsets from the
# slot's port collide with other suites' listeners (Sendmail, piler).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APORT=$(free_port)
postconf -c "$E2E_DIR/etc" -e "transport_maps = inline:{$JOURNAL=journal:[127.0.0.1]:$APORT}"
postfix -c "$E2E_DIR/etc" reload >/dev/null 2>&1
sleep 1

archive_pid=
archive() { # MODE
    if [ -n "$archive_pid" ]; then kill "$archive_pid" 2>/dev/null; wait "$archive_pid" 2>/dev/null; fi
    python3 "$E2E_LIB/timed_sink.py" "$APORT" "$work/archive.log" "$1" &
    archive_pid=$!
    sleep 0.3
}
trap 'kill $archive_pid 2>/dev/null; e2e_cleanup' EXIT
archived() { sort -u -k2,2 "$work/archive.log" 2>/dev/null | grep -c '@test.example>'; }
send() { # ID
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: %s\r\nMessage-ID: <%s@test.example>\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\ncase %s\r\n' \
        "$1" "$1" "$1" >"$work/$1.eml"
    e2e_send "$work/$1.eml" alice@corp.example bob@corp.example >/dev/null || e2e_bad "sending $1"
}
until_true() { # SECONDS COMMAND...: until COMMAND succeeds
    local limit=$1 i
    shift
    for i in $(seq 1 $((limit * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}

e2e_check "postconf reads the instance with the snippets without warnings" \
    bash -c "[ -z \"\$( (postconf -c '$E2E_DIR/etc' -n; postconf -c '$E2E_DIR/etc' -M) 2>&1 >/dev/null)\" ]"

# ---------------------------------------------------------------- routed
archive healthy
for i in 1 2 3; do send "h$i"; done
e2e_wait_idle 60 || e2e_bad "routed: the queue did not drain"
e2e_check "routed: bob got the three messages" [ "$(e2e_count bob@corp.example)" -eq 3 ]
e2e_check "routed: the archive stored the three journal copies" [ "$(archived)" -eq 3 ]
e2e_check "routed: the journal copies left through the journal transport" \
    [ "$(grep -c "postfix/journal/smtp\[.*to=<$JOURNAL>.*status=sent" "$(e2e_postfix_log)")" -eq 3 ]
e2e_check "routed: no journal copy went through another transport" \
    [ "$(grep "to=<$JOURNAL>" "$(e2e_postfix_log)" | grep -vc 'postfix/journal/')" -eq 0 ]

# ------------------------------------------------------------------ down
archive down
for i in 1 2 3 4 5; do send "d$i"; done
bob_has() { [ "$(e2e_count bob@corp.example)" -eq "$1" ]; }
archive_has() { [ "$(archived)" -eq "$1" ]; }
e2e_check "down: bob got all five while the archive hangs" until_true 120 bob_has 8
e2e_check "down: the archive stored none of them" [ "$(archived)" -eq 3 ]
e2e_check "down: the five journal copies wait in Postfix's queue" \
    [ "$(postqueue -c "$E2E_DIR/etc" -j 2>/dev/null | grep -c "\"address\": *\"$JOURNAL\"")" -eq 5 ]

# -------------------------------------------------------------- recovers
archive healthy
postfix -c "$E2E_DIR/etc" flush >/dev/null 2>&1
e2e_check "recovers: every journal copy arrives once the archive answers" until_true 180 archive_has 8
e2e_wait_idle 60 || e2e_bad "recovers: the queue did not drain"
e2e_check "recovers: none twice (8 deliveries for 8 messages)" \
    [ "$(grep -c '@test.example>' "$work/archive.log")" -eq 8 ]
e2e_check "recovers: bob still has each message once" [ "$(e2e_count bob@corp.example)" -eq 8 ]

kill "$archive_pid" 2>/dev/null
rm -rf "$work"
e2e_finish
