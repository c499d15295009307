# sendmail.sh - start a private Sendmail 8.17 on 127.0.0.1 with the filter
# in front, send real SMTP, read the Maildirs, and stop everything on exit.
# The Sendmail counterpart of e2e.sh, whose helpers it reuses: e2e_ok,
# e2e_bad, e2e_check, e2e_finish, e2e_send, e2e_messages, e2e_count,
# e2e_strip_trace, e2e_lf, e2e_start_filter/e2e_stop_filter/e2e_reload
# and e2e_filter_log all work on the Sendmail instance, because E2E_DIR
# and E2E_PORT point at it.
#
# Source it from a bash test script run by "make check" (as root):
#   . "$abs_top_srcdir/tests/lib/sendmail.sh"
#   sm_start my.conf          # exits 77 with a SKIP line if no Sendmail
#   e2e_send msg.eml sender@example.com rcpt@example.com
#   sm_wait_idle
#   e2e_messages rcpt@example.com
#
# Sendmail (Debian's sendmail-bin) conflicts with Postfix, so it is never
# installed: sm_unpack fetches the .deb with apt-get download and unpacks
# it under SM_ROOT/prefix once per machine; apt-get installs only its
# shared libraries.  The daemon runs in the foreground (-bD) as root in
# its own UTS and mount namespace, where
#   - the host name is mx.test.example and /etc/hosts says so (Sendmail
#     sleeps 60 s at start when its host name is unqualified);
#   - /dev/log is a socket of ours (sm_syslog.py), so its syslog lines
#     land in $E2E_DIR/log/maillog (the machine has no syslog daemon).
# Every address is delivered by the mailer "mdeliver", which pipes each
# recipient to maildir_deliver.py like the Postfix instance does.  The
# filter is declared with INPUT_MAIL_FILTER exactly as
# etc/sendmail.mc.snippet writes it; only the socket path differs.
#
# Instance directories are SM_ROOT/slotN (flock, SM_SLOTS of them) on
# ports 22025+N, away from the Postfix slots (20025+, 30025+).  SM_ROOT
# lies on a path of root-owned, not world-writable directories: Sendmail
# refuses a milter socket below /tmp or /var/tmp ("unsafe").

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/e2e.sh"

SM_ROOT=${SM_ROOT:-/var/lib/sjm-sendmail}
SM_SLOTS=4
SM_PREFIX=$SM_ROOT/prefix
SM_BIN=
SM_CFM4=
SM_PID=
SM_SYSLOG_PID=
SM_EXTRA_MC=${SM_EXTRA_MC:-}   # .mc lines before the mailer definitions
SM_RULE_0=${SM_RULE_0:-}       # rules before the catch-all of ruleset 0
E2E_FILTER_USER=${E2E_FILTER_USER:-nobody:nogroup}

# A loud skip: the whole script counts as skipped (automake: status 77).
sm_skip() {
    echo "SKIP: Sendmail end-to-end tests did not run: $*"
    exit 77
}

# sm_unpack: SM_BIN and SM_CFM4, unpacking sendmail-bin (and sendmail-cf
# when the system has no m4 configuration) on first use.
sm_unpack() {
    local bin deb missing
    mkdir -p "$SM_ROOT"
    chmod 755 "$SM_ROOT"
    (
        flock 9
        for bin in "$SM_PREFIX/usr/libexec/sendmail/sendmail" "$SM_PREFIX/usr/lib/sm.bin/sendmail"; do
            [ -x "$bin" ] && exit 0
        done
        rm -rf "$SM_ROOT/debs" "$SM_PREFIX"
        mkdir -p "$SM_ROOT/debs" "$SM_PREFIX"
        # _apt downloads into a directory it may write.
        chown _apt "$SM_ROOT/debs" 2>/dev/null
        (cd "$SM_ROOT/debs" && apt-get download -q sendmail-bin sendmail-cf >download.log 2>&1) ||
            (apt-get update -qq >/dev/null 2>&1 && cd "$SM_ROOT/debs" &&
                apt-get download -q sendmail-bin sendmail-cf >download.log 2>&1) || exit 1
        for deb in "$SM_ROOT"/debs/*.deb; do
            dpkg-deb -x "$deb" "$SM_PREFIX" || exit 1
        done
    ) 9>"$SM_ROOT/.unpack.lock" || return 1
    for bin in "$SM_PREFIX/usr/libexec/sendmail/sendmail" "$SM_PREFIX/usr/lib/sm.bin/sendmail"; do
        [ -x "$bin" ] && SM_BIN=$bin
    done
    [ -n "$SM_BIN" ] || return 1
    # Its shared libraries, from the Depends of the package we unpacked.
    if ldd "$SM_BIN" | grep -q 'not found'; then
        missing=$(dpkg-deb -f "$SM_ROOT"/debs/sendmail-bin_*.deb Depends | tr ',' '\n' |
            sed -n 's/^ *\(lib[^ ]*\).*/\1/p' | tr '\n' ' ')
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; }
        ldd "$SM_BIN" | grep -q 'not found' && return 1
    fi
    for SM_CFM4 in /usr/share/sendmail/cf/m4/cf.m4 "$SM_PREFIX/usr/share/sendmail/cf/m4/cf.m4"; do
        [ -f "$SM_CFM4" ] && break
    done
    [ -f "$SM_CFM4" ] || return 1
    command -v m4 >/dev/null || apt-get install -y -qq m4 >/dev/null 2>&1
    command -v m4 >/dev/null
}

sm_take_slot() {
    local i
    for i in $(seq 0 $((SM_SLOTS - 1))); do
        exec {E2E_LOCK_FD}>"$SM_ROOT/slot$i.lock"
        if flock -n "$E2E_LOCK_FD"; then
            E2E_SLOT=$i
            break
        fi
        exec {E2E_LOCK_FD}>&-
        E2E_SLOT=
    done
    if [ -z "${E2E_SLOT:-}" ]; then
        exec {E2E_LOCK_FD}>"$SM_ROOT/slot0.lock"
        flock "$E2E_LOCK_FD"
        E2E_SLOT=0
    fi
    E2E_DIR=$SM_ROOT/slot$E2E_SLOT
    E2E_PORT=$((22025 + E2E_SLOT))
    # the shipped snippet's re-injection daemon, moved to this slot
    E2E_REINJECT_PORT=$((E2E_PORT + 1000))
}

# The .mc: a plain MTA on 127.0.0.1:$E2E_PORT that resolves nothing
# through DNS and hands every address to mdeliver.
sm_write_config() {
    local d=$E2E_DIR snippet=$abs_top_srcdir/etc/sendmail.mc.snippet
    mkdir -p "$d/etc" "$d/queue/journal" "$d/mail" "$d/log"
    chmod 700 "$d/queue" "$d/queue/journal"
    chown nobody:nogroup "$d/mail"
    install -m 755 "$E2E_LIB/maildir_deliver.py" "$d/etc/maildir_deliver.py"
    printf 'hosts files\naliases files\n' >"$d/etc/service.switch"
    printf '127.0.0.1 mx.test.example mx localhost\n' >"$d/etc/hosts"
    {
        cat <<MC
divert(-1)
include(\`$SM_CFM4')
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.test.example')dnl
define(\`QUEUE_DIR', \`$d/queue')dnl
define(\`confPID_FILE', \`$d/sendmail.pid')dnl
define(\`confSTATUS_FILE', \`$d/statistics')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$d/etc/service.switch')dnl
define(\`confHOSTS_FILE', \`$d/etc/hosts')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confMAX_MESSAGE_SIZE', \`0')dnl
define(\`confTO_QUEUEWARN', \`0')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confQUEUE_LA', \`100')dnl
define(\`confREFUSE_LA', \`100')dnl
define(\`confMAX_DAEMON_CHILDREN', \`0')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
dnl An optional access map of the instance: the snippet's queue group reads it.
FEATURE(\`access_db', \`hash -o -T<TMPF> $d/etc/access')dnl
DAEMON_OPTIONS(\`Port=$E2E_PORT, Addr=127.0.0.1, Name=MTA')dnl
MC
        # The shipped filter definition, pointed at this instance's socket
        # (and its journal queue group at this instance's queue).
        sed -e "s|S=local:[^,]*,|S=local:$d/milter/milter.sock,|" \
            -e "s|P=/var/spool/mqueue/journal|P=$d/queue/journal|" \
            -e "s|Port=10026, Addr=127.0.0.1|Port=$E2E_REINJECT_PORT, Addr=127.0.0.1|" "$snippet"
        [ -n "$SM_EXTRA_MC" ] && printf '%b\n' "$SM_EXTRA_MC"
        cat <<MC
MAILER_DEFINITIONS
Mmdeliver, P=/usr/bin/python3, F=lsn8, U=nobody:nogroup, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP/HdrToSMTP, T=DNS/RFC822/X-Unix, A=python3 $d/etc/maildir_deliver.py $d/mail \$u
LOCAL_RULE_0
R\$* < @ \$* . > \$*	\$1 < @ \$2 > \$3
MC
        [ -n "$SM_RULE_0" ] && printf '%b\n' "$SM_RULE_0"
        cat <<MC
R\$+ < @ \$+ > \$*		\$#mdeliver \$@ \$2 \$: \$1 < @ \$2 >
MC
    } >"$d/etc/test.mc"
    m4 "$d/etc/test.mc" >"$d/etc/test.cf" 2>"$d/etc/m4.err" && [ ! -s "$d/etc/m4.err" ] ||
        { cat "$d/etc/m4.err"; e2e_fail "m4 could not build sendmail.cf"; }
    grep -q '^Xsmime-journal-milter, S=local:' "$d/etc/test.cf" ||
        e2e_fail "the snippet did not define the filter in $d/etc/test.cf"
    grep -q "^O DaemonPortOptions=Port=$E2E_REINJECT_PORT, Addr=127.0.0.1, Name=MTA-reinject, InputMailFilters=smime-journal-milter\$" "$d/etc/test.cf" ||
        e2e_fail "the snippet did not define the re-injection daemon in $d/etc/test.cf"
}

# The namespace Sendmail runs in (see the top of this file).
sm_write_launcher() {
    local d=$E2E_DIR
    cat >"$d/etc/run.sh" <<SH
set -e
hostname mx.test.example
mount --bind $d/etc/hosts /etc/hosts
mkdir -p $d/hostdev
mount --bind /dev $d/hostdev
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty; do
    touch /dev/\$n
    mount --bind $d/hostdev/\$n /dev/\$n
done
umount -l $d/hostdev
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
ln -s $d/log/syslog.sock /dev/log
exec "\$@"
SH
}

sm_cleanup() {
    local status=$? p i
    if [ -n "$SM_PID" ]; then
        # Its own session: the daemon, its SMTP children and deliveries.
        kill -TERM -- "-$SM_PID" 2>/dev/null
        for i in $(seq 1 50); do
            [ -z "$(ps -o pid= --sid "$SM_PID" 2>/dev/null)" ] && break
            sleep 0.1
        done
        for p in $(ps -o pid= --sid "$SM_PID" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        wait "$SM_PID" 2>/dev/null
        SM_PID=
    fi
    e2e_stop_filter
    if [ -n "$SM_SYSLOG_PID" ]; then
        kill "$SM_SYSLOG_PID" 2>/dev/null
        wait "$SM_SYSLOG_PID" 2>/dev/null
    fi
    if [ "$status" != 0 ] && [ "$status" != 77 ] && [ -n "$E2E_DIR" ]; then
        echo "--- last lines of the Sendmail log ($E2E_DIR/log/maillog)"
        tail -n 30 "$E2E_DIR/log/maillog" 2>/dev/null
        echo "--- last lines of the filter log ($E2E_DIR/filter.log)"
        tail -n 30 "$E2E_DIR/filter.log" 2>/dev/null
    fi
    exit "$status"
}

# sm_start_sendmail: the daemon only (the filter may be up or not).
sm_start_sendmail() {
    local i
    setsid unshare --uts --mount bash "$E2E_DIR/etc/run.sh" \
        "$SM_BIN" -C "$E2E_DIR/etc/test.cf" -bD -q1s >>"$E2E_DIR/log/sendmail.out" 2>&1 &
    SM_PID=$!
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$E2E_PORT") 2>/dev/null && return 0
        kill -0 "$SM_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$E2E_DIR/log/sendmail.out" "$E2E_DIR/log/maillog"
    e2e_fail "Sendmail is not listening on 127.0.0.1:$E2E_PORT"
}

# sm_start CONFIG: Sendmail and the filter, ready on 127.0.0.1:$E2E_PORT.
sm_start() {
    local conf=$1 i
    if [ "$(id -u)" != 0 ]; then
        echo "FAIL: Sendmail end-to-end tests run a private Sendmail and must run as root"
        exit 1
    fi
    for tool in unshare setsid python3 apt-get dpkg-deb; do
        command -v "$tool" >/dev/null || sm_skip "$tool is not installed"
    done
    [ -x "$SJM_BIN" ] || e2e_fail "no filter binary at SJM_BIN=$SJM_BIN"
    sm_unpack || sm_skip "Sendmail could not be unpacked here (apt-get download sendmail-bin failed, or its libraries or m4 are missing)"
    sm_take_slot
    trap sm_cleanup EXIT
    trap 'exit 130' INT TERM
    # A killed earlier run may have left its daemon behind.
    if [ -f "$E2E_DIR/sendmail.pid" ]; then
        i=$(head -n 1 "$E2E_DIR/sendmail.pid")
        [ -n "$i" ] && [ "$(cat "/proc/$i/comm" 2>/dev/null)" = sendmail ] && kill -TERM "$i" 2>/dev/null
        sleep 0.5
    fi
    rm -rf "$E2E_DIR"
    mkdir -p "$E2E_DIR/milter" "$E2E_DIR/log"
    sm_write_config
    sm_write_launcher
    python3 "$E2E_LIB/sm_syslog.py" "$E2E_DIR/log/syslog.sock" "$E2E_DIR/log/maillog" &
    SM_SYSLOG_PID=$!
    for i in $(seq 1 50); do
        [ -S "$E2E_DIR/log/syslog.sock" ] && break
        sleep 0.1
    done
    e2e_start_filter "$conf"
    sm_start_sendmail
}

# Messages in the queue: a control file per message.
sm_queue_count() {
    find "$E2E_DIR/queue" -maxdepth 1 -name 'qf*' 2>/dev/null | wc -l
}

# sm_wait_idle [SECONDS]: until nothing is queued; 1 on timeout.
sm_wait_idle() {
    local limit=${1:-60} i
    for i in $(seq 1 $((limit * 10))); do
        [ "$(sm_queue_count)" -eq 0 ] && return 0
        sleep 0.1
    done
    echo "queue still holds $(sm_queue_count) message(s) after ${limit}s"
    return 1
}

sm_log() { echo "$E2E_DIR/log/maillog"; }

# sm_qid_of MESSAGE-ID-LOCALPART: the queue id Sendmail logged for it.
sm_qid_of() {
    grep -o "sendmail\[[0-9]*\]: [0-9A-Za-z]*: from=.*msgid=<$1>" "$(sm_log)" | head -n 1 |
        sed 's/^[^ ]* \([^:]*\):.*/\1/'
}

# sm_submit FILE FROM RCPT...: local submission, sendmail(1) -bs (SMTP on
# standard input, as a local process talking to the daemon's binary).
sm_submit() {
    local file=$1 from=$2 r
    shift 2
    {
        printf 'HELO localhost\r\nMAIL FROM:<%s>\r\n' "$from"
        for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
        printf 'DATA\r\n'
        sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/' "$file"
        printf '.\r\nQUIT\r\n'
    } | unshare --uts --mount bash "$E2E_DIR/etc/run.sh" "$SM_BIN" -C "$E2E_DIR/etc/test.cf" -bs
}

# sm_as_written FILE: the message as Sendmail writes it out, LF line ends.
# Sendmail repairs one thing in a message it passes on: a top-level
# multipart that lacks its closing delimiter gets one (a blank line and
# "--BOUNDARY--"), filter or no filter.  Everything else stays as sent.
sm_as_written() {
    local b
    e2e_lf "$1"
    b=$(sed -e '/^\r\?$/q' "$1" | tr -d '\r' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]/ /g' |
        grep -i '^content-type:[[:space:]]*multipart/' | head -n 1 |
        sed -n 's/.*[;[:space:]]boundary="\{0,1\}\([^";]*\)"\{0,1\}.*/\1/ip')
    [ -n "$b" ] || return 0
    tr -d '\r' <"$1" | grep -qxF -- "--$b--" || printf '\n--%s--\n' "$b"
}
