# e2e.sh - start a private Postfix on 127.0.0.1 with the filter in front,
# send real SMTP, read the Maildirs, and stop everything on exit.
#
# Source it from a bash test script run by "make check" (as root):
#   . "$abs_top_srcdir/tests/lib/e2e.sh"
#   e2e_start my.conf
#   e2e_send msg.eml sender@example.com rcpt@example.com
#   e2e_wait_idle
#   e2e_messages rcpt@example.com
#
# Every test takes one of E2E_SLOTS instance directories under
# E2E_ROOT, locked with flock, so tests can run in parallel.  The slot
# directories are listed once in /etc/postfix/main.cf
# alternate_config_directories, which Postfix requires for "-c DIR".
# Every address in every domain is deliverable: Postfix hands each
# recipient through pipe(8) to maildir_deliver.py, which writes the
# Maildir $E2E_DIR/mail/<domain>/<local>/ (Postfix's virtual(8) refuses
# regexp-computed paths, so it cannot serve arbitrary addresses).

E2E_ROOT=${E2E_ROOT:-/var/tmp/sjm-e2e}
E2E_SLOTS=8
E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_PASS=0
E2E_FAILS=0
E2E_FILTER_PID=
E2E_DIR=
E2E_PORT=
E2E_REINJECT_PORT=

e2e_fail() {
    echo "FAIL: $*"
    exit 1
}

# One line per case; e2e_ok/e2e_bad count for the closing summary.
e2e_ok() { echo "ok - $*"; E2E_PASS=$((E2E_PASS + 1)); }
e2e_bad() { echo "not ok - $*"; E2E_FAILS=$((E2E_FAILS + 1)); }
# e2e_check "description" command args...: runs the command as the assertion.
e2e_check() {
    local what=$1
    shift
    if "$@"; then e2e_ok "$what"; else e2e_bad "$what"; fi
}
# Print the summary line and exit with the right status.
e2e_finish() {
    echo "$E2E_PASS passed, $E2E_FAILS failed"
    [ "$E2E_FAILS" -eq 0 ] && [ "$E2E_PASS" -gt 0 ]
    exit $?
}

e2e_require_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "FAIL: end-to-end tests start a private Postfix and must run as root"
        exit 1
    fi
    for tool in postfix postconf python3; do
        command -v "$tool" >/dev/null || e2e_fail "$tool is not installed (apt-get install -y postfix python3)"
    done
}

# Make sure the default main.cf allows our instance directories.
e2e_allow_slots() {
    local want dirs i
    mkdir -p "$E2E_ROOT"
    dirs=""
    for i in $(seq 0 $((E2E_SLOTS - 1))); do dirs="$dirs $E2E_ROOT/slot$i"; done
    (
        flock 8
        want=$(postconf -h alternate_config_directories 2>/dev/null)
        for d in $dirs; do
            case " $(echo "$want" | tr ',' ' ') " in
                *" $d "*) ;;
                *) want="${want:+$want, }$d" ;;
            esac
        done
        postconf -e "alternate_config_directories = $want"
    ) 8>"$E2E_ROOT/.config.lock"
}

e2e_take_slot() {
    local i
    for i in $(seq 0 $((E2E_SLOTS - 1))); do
        exec {E2E_LOCK_FD}>"$E2E_ROOT/slot$i.lock"
        if flock -n "$E2E_LOCK_FD"; then
            E2E_SLOT=$i
            E2E_DIR=$E2E_ROOT/slot$i
            E2E_PORT=$((20025 + i))
            return 0
        fi
        exec {E2E_LOCK_FD}>&-
    done
    # All busy: wait for slot 0 rather than fail.
    exec {E2E_LOCK_FD}>"$E2E_ROOT/slot0.lock"
    flock "$E2E_LOCK_FD"
    E2E_SLOT=0
    E2E_DIR=$E2E_ROOT/slot0
    E2E_PORT=20025
}

e2e_write_postfix_config() {
    local sock=$1
    mkdir -p "$E2E_DIR/etc" "$E2E_DIR/queue" "$E2E_DIR/data" "$E2E_DIR/mail" "$E2E_DIR/log"
    chown postfix "$E2E_DIR/data"
    chown nobody:nogroup "$E2E_DIR/mail"
    printf '/./ OK\n' >"$E2E_DIR/etc/vdomains"
    # The delivery agent runs as nobody, who may not read the source tree.
    install -m 755 "$E2E_LIB/maildir_deliver.py" "$E2E_DIR/etc/maildir_deliver.py"
    cat >"$E2E_DIR/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $E2E_DIR/queue
data_directory = $E2E_DIR/data
maillog_file_prefixes = $E2E_ROOT
maillog_file = $E2E_DIR/log/maillog
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test.example
mydomain = test.example
mydestination =
mynetworks = 127.0.0.0/8
local_header_rewrite_clients =
relay_domains =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled
virtual_mailbox_domains = regexp:$E2E_DIR/etc/vdomains
virtual_transport = mdeliver
mdeliver_destination_recipient_limit = 1
message_size_limit = 0
smtpd_milters = unix:$sock
non_smtpd_milters = unix:$sock
milter_default_action = tempfail
milter_protocol = 6
smtputf8_enable = no
biff = no
delay_warning_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
CF
    if [ -n "${E2E_EXTRA_MAIN_CF:-}" ]; then
        printf '%b\n' "$E2E_EXTRA_MAIN_CF" >>"$E2E_DIR/etc/main.cf"
    fi
    # The filter's re-injection listener, as etc/postfix-master.cf.snippet
    # ships it (the filter as its milter under {daemon_name} MTA-reinject,
    # which admits only the filter's own submissions), on a port of this
    # slot.  A binary older than the guard (E2E_NO_REINJECT) gets the
    # listener without a milter, as it was shipped then.
    E2E_REINJECT_PORT=$((E2E_PORT + 1000))
    local reinject_milters=unix:$sock
    [ -n "${E2E_NO_REINJECT:-}" ] && reinject_milters=
    cat >"$E2E_DIR/etc/master.cf" <<CF
127.0.0.1:$E2E_PORT inet n - n - - smtpd
127.0.0.1:$E2E_REINJECT_PORT inet n - n - - smtpd
  -o syslog_name=postfix/reinject
  -o smtpd_milters=$reinject_milters
  -o milter_macro_daemon_name=MTA-reinject
  -o milter_default_action=tempfail
  -o smtpd_discard_ehlo_keywords=
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
virtual   unix  - n n -    - virtual
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
mdeliver  unix  - n n -    - pipe flags=DR user=nobody argv=/usr/bin/python3 $E2E_DIR/etc/maildir_deliver.py $E2E_DIR/mail \${recipient}
CF
    if [ -n "${E2E_EXTRA_MASTER_CF:-}" ]; then
        printf '%b\n' "$E2E_EXTRA_MASTER_CF" >>"$E2E_DIR/etc/master.cf"
    fi
}

# e2e_start_filter CONFIG: (re)start only the filter, same socket.  The
# configuration is copied into the instance directory, where the filter
# can still read it for a reload after it gave up root.
# e2e_install_conf SRC DEST: copy a test's configuration, pointing the
# filter at this slot's re-injection listener unless the test names one
# (stripping with journaling re-injects the stripped copy, and the
# default 127.0.0.1:10026 is no listener of a test slot).
e2e_install_conf() {
    local src=$1 dest=$2
    # (E2E_NO_REINJECT=1: a binary older than the key, for benchmarks)
    if [ -n "$E2E_REINJECT_PORT" ] && [ -z "${E2E_NO_REINJECT:-}" ] &&
        grep -Eq '^[[:space:]]*reinject[[:space:]]*=[[:space:]]*127\.0\.0\.1:10026[[:space:]]*$' "$src"; then
        # the shipped file's listener (run-demo.sh uses it): this slot's
        sed -E "s/^([[:space:]]*reinject[[:space:]]*=[[:space:]]*)127\.0\.0\.1:10026[[:space:]]*\$/\1127.0.0.1:$E2E_REINJECT_PORT/" \
            "$src" >"$dest.new"
    elif [ -z "$E2E_REINJECT_PORT" ] || [ -n "${E2E_NO_REINJECT:-}" ] || grep -Eq '^[[:space:]]*reinject[[:space:]]*=' "$src"; then
        cp "$src" "$dest.new"
    elif grep -q '^\[milter\]' "$src"; then
        awk -v r="reinject = 127.0.0.1:$E2E_REINJECT_PORT" \
            '{ print } /^\[milter\]/ && !done { print r; done = 1 }' "$src" >"$dest.new"
    else
        # appended, so the test's own lines keep their numbers in messages
        { cat "$src"; printf '\n[milter]\nreinject = 127.0.0.1:%s\n' "$E2E_REINJECT_PORT"; } >"$dest.new"
    fi || e2e_fail "cannot copy $src"
    chmod 644 "$dest.new" && mv "$dest.new" "$dest"
}

e2e_start_filter() {
    local conf=$E2E_DIR/filter.conf sock=$E2E_DIR/milter/milter.sock i
    [ "$1" -ef "$conf" ] || e2e_install_conf "$1" "$conf"
    rm -f "$sock"
    ${E2E_FILTER_WRAPPER:-} "$SJM_BIN" -f -c "$conf" -p "unix:$sock" -u "${E2E_FILTER_USER:-nobody:postfix}" \
        >>"$E2E_DIR/filter.log" 2>&1 &
    E2E_FILTER_PID=$!
    for i in $(seq 1 300); do
        [ -S "$sock" ] && return 0
        kill -0 "$E2E_FILTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$E2E_DIR/filter.log"
    e2e_fail "the filter did not create its socket $sock"
}

e2e_stop_filter() {
    local i
    [ -n "$E2E_FILTER_PID" ] || return 0
    kill -TERM "$E2E_FILTER_PID" 2>/dev/null
    for i in $(seq 1 600); do
        kill -0 "$E2E_FILTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$E2E_FILTER_PID" 2>/dev/null
    wait "$E2E_FILTER_PID" 2>/dev/null
    E2E_FILTER_STATUS=$?
    E2E_FILTER_PID=
}

e2e_cleanup() {
    local status=$?
    if [ -n "$E2E_DIR" ] && [ -f "$E2E_DIR/etc/main.cf" ]; then
        postfix -c "$E2E_DIR/etc" stop >/dev/null 2>&1 || postfix -c "$E2E_DIR/etc" abort >/dev/null 2>&1
        local i
        for i in $(seq 1 50); do
            [ -e "$E2E_DIR/queue/pid/master.pid" ] || break
            sleep 0.1
        done
    fi
    e2e_stop_filter
    if [ "$status" != 0 ] && [ -n "$E2E_DIR" ]; then
        echo "--- last lines of the Postfix log ($E2E_DIR/log/maillog)"
        tail -n 30 "$E2E_DIR/log/maillog" 2>/dev/null
        echo "--- last lines of the filter log ($E2E_DIR/filter.log)"
        tail -n 30 "$E2E_DIR/filter.log" 2>/dev/null
    fi
    exit "$status"
}

# e2e_start CONFIG: everything, ready to receive mail on 127.0.0.1:$E2E_PORT.
e2e_start() {
    local conf=$1 i
    e2e_require_root
    [ -x "$SJM_BIN" ] || e2e_fail "no filter binary at SJM_BIN=$SJM_BIN"
    e2e_allow_slots
    e2e_take_slot
    trap e2e_cleanup EXIT
    trap 'exit 130' INT TERM
    # A previous run that was killed may have left its Postfix running.
    if [ -f "$E2E_DIR/etc/main.cf" ]; then
        postfix -c "$E2E_DIR/etc" abort >/dev/null 2>&1
    fi
    rm -rf "$E2E_DIR"
    mkdir -p "$E2E_DIR/milter"
    e2e_write_postfix_config "$E2E_DIR/milter/milter.sock"
    e2e_start_filter "$conf"
    postfix -c "$E2E_DIR/etc" set-permissions >/dev/null 2>&1 \
        || e2e_fail "postfix set-permissions failed"
    postfix -c "$E2E_DIR/etc" check >"$E2E_DIR/postfix-check.out" 2>&1 \
        || { cat "$E2E_DIR/postfix-check.out"; e2e_fail "postfix check failed"; }
    postfix -c "$E2E_DIR/etc" start >"$E2E_DIR/postfix-start.out" 2>&1 \
        || { cat "$E2E_DIR/postfix-start.out" "$E2E_DIR/log/maillog"; e2e_fail "postfix did not start"; }
    for i in $(seq 1 100); do
        if python3 - "$E2E_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.close()
PY
        then return 0; fi
        sleep 0.1
    done
    e2e_fail "Postfix is not listening on 127.0.0.1:$E2E_PORT"
}

# e2e_reload CONFIG: replace the filter's configuration and send SIGHUP.
e2e_reload() {
    e2e_install_conf "$1" "$E2E_DIR/filter.conf"
    kill -HUP "$E2E_FILTER_PID"
}

# e2e_send FILE FROM RCPT...: status as smtpsend.py documents.
e2e_send() {
    local file=$1 from=$2
    shift 2
    python3 "$E2E_LIB/smtpsend.py" 127.0.0.1 "$E2E_PORT" "$file" "$from" "$@"
}

# e2e_sendmail FILE FROM RCPT...: local submission through sendmail(1) (pickup, non_smtpd_milters).
e2e_sendmail() {
    local file=$1 from=$2
    shift 2
    sendmail -C "$E2E_DIR/etc" -f "$from" -- "$@" <"$file"
}

e2e_queue_count() {
    find "$E2E_DIR/queue/maildrop" "$E2E_DIR/queue/incoming" "$E2E_DIR/queue/active" \
        "$E2E_DIR/queue/deferred" -type f 2>/dev/null | wc -l
}

# e2e_wait_idle [SECONDS]: until nothing is queued; 1 on timeout.
e2e_wait_idle() {
    local limit=${1:-60} i
    for i in $(seq 1 $((limit * 10))); do
        [ "$(e2e_queue_count)" -eq 0 ] && return 0
        sleep 0.1
    done
    echo "queue still holds $(e2e_queue_count) message(s) after ${limit}s"
    return 1
}

# e2e_mailbox_full ADDR / e2e_mailbox_defer ADDR: make delivery to ADDR
# fail permanently (5.2.2 mailbox full) or temporarily.
e2e_mailbox_full() { mkdir -p "$(e2e_maildir "$1")" && touch "$(e2e_maildir "$1")/FULL"; }
e2e_mailbox_defer() { mkdir -p "$(e2e_maildir "$1")" && touch "$(e2e_maildir "$1")/DEFER"; }

e2e_maildir() {
    local addr=${1,,}
    echo "$E2E_DIR/mail/${addr#*@}/${addr%@*}"
}

e2e_messages() {
    local d
    d=$(e2e_maildir "$1")
    [ -d "$d/new" ] || return 0
    ls -tr "$d/new" | sed "s|^|$d/new/|"
}

e2e_count() {
    e2e_messages "$1" | grep -c . || true
}

# The message without the trace fields Postfix's virtual(8) and smtpd
# prepended: Return-Path, Delivered-To and the first Received field.
e2e_strip_trace() {
    awk '
        BEGIN { inhdr = 1; skipping = 0; rcvd = 0 }
        inhdr && /^$/ { inhdr = 0 }
        inhdr && /^[ \t]/ { if (skipping) next; print; next }
        inhdr {
            skipping = 0
            if ($0 ~ /^Return-Path:/ || $0 ~ /^Delivered-To:/) { skipping = 1; next }
            if ($0 ~ /^Received:/ && !rcvd) { rcvd = 1; skipping = 1; next }
        }
        { print }
    ' "$1"
}

# A file's bytes with CRLF turned into LF (Postfix stores LF).
e2e_lf() {
    sed 's/\r$//' "$1"
}

# e2e_reinject_listener off|on: close or reopen the re-injection listener
# (Postfix's master stops and starts listening on reload).
e2e_reinject_listener() {
    # Moved to a port nobody uses rather than commented out: its "-o"
    # continuation lines must keep a service line to belong to.
    local cf=$E2E_DIR/etc/master.cf parked=$((E2E_REINJECT_PORT + 500))
    if [ "$1" = off ]; then
        sed -i "s|^127.0.0.1:$E2E_REINJECT_PORT inet|127.0.0.1:$parked inet|" "$cf"
    else
        sed -i "s|^127.0.0.1:$parked inet|127.0.0.1:$E2E_REINJECT_PORT inet|" "$cf"
    fi
    postfix -c "$E2E_DIR/etc" reload >/dev/null 2>&1
    local i
    for i in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $E2E_REINJECT_PORT), timeout=1).close()" 2>/dev/null
        then [ "$1" = on ] && return 0
        else [ "$1" = off ] && return 0
        fi
        sleep 0.1
    done
    return 1
}

e2e_postfix_log() { echo "$E2E_DIR/log/maillog"; }
e2e_filter_log() { echo "$E2E_DIR/filter.log"; }
