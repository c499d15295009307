#!/bin/bash
# The Debian package under a real systemd as PID 1: a debootstrapped
# Debian 12 booted with systemd-nspawn (this host's PID 1 is not
# systemd).  Installs the .deb and checks what an administrator sees:
# no failed unit and no "degraded" system after install, "systemctl
# start/restart" failing when the filter cannot run (no journal mailbox;
# a mark key its user cannot read), -n catching that key as root,
# "enable --now" succeeding once configured, --stats for an operator who
# may not read the key, real mail through the distribution's Postfix,
# reload of a broken file failing, and a purge that says what it keeps.
#
# Usage: tests/ops/systemd.sh PACKAGE.deb   (package.sh runs it with the
# package it built).  As root.  The first run debootstraps the image into
# $SJM_NSPAWN_CACHE (default /var/cache/sjm-nspawn), a few minutes with a
# Debian mirror; later runs reuse it.  Each boot is --volatile=overlay
# (the image stays clean) and --private-network (no port reaches the host).
set -u

deb=${1:?usage: systemd.sh PACKAGE.deb}
PKG=smime-journal-milter
CACHE=${SJM_NSPAWN_CACHE:-/var/cache/sjm-nspawn}
MIRROR=${SJM_NSPAWN_MIRROR:-http://deb.debian.org/debian}
# What the package needs at run time and what the test drives, installed
# into the image so the booted container needs no network.
IMAGE_PACKAGES=systemd,systemd-sysv,dbus,adduser,libmilter1.0.1,libgmime-3.0-0,libssl3,libglib2.0-0,libmicrohttpd12,libsystemd0,postfix,curl,ca-certificates,procps
IMAGE=$CACHE/bookworm

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "not ok - $1"; failed=$((failed + 1)); }
die() { echo "FAIL: $*"; failed=$((failed + 1)); exit 1; }

[ "$(id -u)" = 0 ] || die "booting a container needs root"
[ -f "$deb" ] || die "no package at $deb"
for tool in systemd-nspawn debootstrap nsenter; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y systemd-container debootstrap util-linux)"
done

# ------------------------------------------------------------- the image
# Built once, keyed by the package list; a half-built tree never counts.
mkdir -p "$CACHE"
exec {cache_fd}>"$CACHE/.lock"
flock -w 1800 "$cache_fd" || die "another run held $CACHE/.lock for 30 minutes"
if [ "$(cat "$IMAGE/.sjm-packages" 2>/dev/null)" != "$IMAGE_PACKAGES" ]; then
    echo "# debootstrapping Debian 12 into $IMAGE from $MIRROR (once; cached for later runs)"
    rm -rf "$IMAGE" "$IMAGE.tmp"
    if ! debootstrap --variant=minbase --include="$IMAGE_PACKAGES" bookworm "$IMAGE.tmp" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 15 "$CACHE/debootstrap.log"
        die "debootstrap from $MIRROR failed (log above, whole log in $CACHE/debootstrap.log):" \
            "no systemd image, so the package was NOT tested under systemd"
    fi
    # A machine id makes journald and systemctl behave as on a real host.
    : >"$IMAGE.tmp/etc/machine-id"
    echo sjm-nspawn >"$IMAGE.tmp/etc/hostname"
    echo "$IMAGE_PACKAGES" >"$IMAGE.tmp/.sjm-packages"
    mv "$IMAGE.tmp" "$IMAGE"
fi
flock -u "$cache_fd"

# ------------------------------------------------------------------ boot
work=$(mktemp -d /var/tmp/sjm-systemd.XXXXXX)
cp "$deb" "$work/$PKG.deb"
machine=sjm-test-$$
nspawn_pid=
leader=

cleanup() {
    local status=$?
    if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
        # SIGRTMIN+4 asks systemd for a clean poweroff (systemd(1)).
        kill -s SIGRTMIN+4 "$leader" 2>/dev/null
    fi
    if [ -n "$nspawn_pid" ]; then
        for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill "$nspawn_pid" 2>/dev/null
        wait "$nspawn_pid" 2>/dev/null
    fi
    rm -rf "$work"
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The host caps open files at its hard limit; the unit asks for 65536
# (LimitNOFILE=), which systemd inside can only grant up to what nspawn
# gives its payload.
systemd-nspawn -q -D "$IMAGE" -b --register=no --keep-unit --volatile=overlay \
    --private-network --machine="$machine" --rlimit=RLIMIT_NOFILE=65536:65536 \
    --bind-ro="$work:/srv/sjm" </dev/null >"$work.console" 2>&1 &
nspawn_pid=$!

# The container's PID 1 is a child (or grandchild) of nspawn named systemd.
for _ in $(seq 1 150); do
    for p in $(pgrep -x systemd); do
        pp=$p
        while [ "$pp" -gt 1 ]; do
            pp=$(awk '/^PPid:/ { print $2 }' "/proc/$pp/status" 2>/dev/null || echo 1)
            if [ "$pp" = "$nspawn_pid" ]; then leader=$p; break 2; fi
        done
    done
    [ -n "$leader" ] && break
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.2
done
[ -n "$leader" ] || { cat "$work.console"; die "systemd-nspawn did not boot the image (console above)"; }
rm -f "$work.console"
inside() { nsenter -t "$leader" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# PID 1 exists before its bus does: until then systemctl cannot connect.
state=
for _ in $(seq 1 240); do
    state=$(inside timeout 120 systemctl is-system-running --wait 2>&1)
    case $state in
        "" | *"Failed to connect to bus"*) sleep 0.5 ;;
        *) break ;;
    esac
done
if [ "$state" = running ]; then
    ok "systemd booted the Debian 12 image as PID 1: system $state"
else
    inside systemctl --failed --no-pager
    die "the container booted '$state' before the package was installed (failed units above)"
fi
unit=$PKG.service

# --------------------------------------------------------------- install
if inside dpkg -i /srv/sjm/$PKG.deb >"$work/install.log" 2>&1; then
    ok "dpkg -i the package inside the container"
else
    cat "$work/install.log"
    die "the package did not install under systemd"
fi
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }
check "after install the unit is disabled (not started at boot until configured)" \
    test "$(inside systemctl is-enabled $unit 2>&1)" = disabled
check "after install the unit is inactive, not failed" \
    test "$(inside systemctl is-active $unit 2>&1)" = inactive
check "after install the system is 'running', not 'degraded'" \
    test "$(inside systemctl is-system-running 2>&1)" = running
check "postinst said how to start it once configured" \
    grep -q "systemctl enable --now $PKG" "$work/install.log"

# ------------------------------------------ unconfigured: start must fail
out=$(inside systemctl start $unit 2>&1)
status=$?
if [ "$status" -ne 0 ] && [ "$(inside systemctl show -p ExecMainStatus --value $unit)" = 78 ]; then
    ok "systemctl start fails (status $status) without a journal mailbox; the filter exited 78"
else
    bad "systemctl start without a journal mailbox: status $status, exit $(inside systemctl show -p ExecMainStatus --value $unit): $out"
fi
check "systemctl status names the missing journal mailbox" \
    bash -c "nsenter -t $leader -a journalctl -u $unit --no-pager | grep -q 'key recipient in \[journal\]'"
inside systemctl reset-failed $unit

# ------------------- a mark key only root can read: -n and restart catch it
inside sed -i 's/^#recipient =.*/recipient = journal@archive.corp.test/' /etc/$PKG.conf
inside sh -c "openssl rand -hex 32 >/etc/$PKG.key 2>/dev/null || head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >/etc/$PKG.key"
inside chmod 0600 /etc/$PKG.key
inside sed -i "s|^#\?mark_key_file =.*|mark_key_file = /etc/$PKG.key|" /etc/$PKG.conf
inside grep -q "^mark_key_file = /etc/$PKG.key" /etc/$PKG.conf || die "could not set mark_key_file in /etc/$PKG.conf"
out=$(inside /usr/sbin/$PKG -n 2>&1)
status=$?
if [ "$status" = 78 ] && grep -q "mark_key_file.*Permission denied" <<<"$out" && grep -q "not by user $PKG" <<<"$out"; then
    ok "-n run as root fails on a key only root can read, naming the user: $(tail -1 <<<"$out")"
else
    bad "-n as root with a 0600 root key: status $status: $out"
fi
out=$(inside systemctl restart $unit 2>&1)
status=$?
if [ "$status" -ne 0 ] && [ "$(inside systemctl is-active $unit)" = failed ]; then
    ok "systemctl restart fails (status $status) when the filter's user cannot read the key"
else
    bad "systemctl restart with an unreadable key: status $status, $(inside systemctl is-active $unit): $out"
fi
inside systemctl reset-failed $unit

# The administrator's fix: a key group the filter's user is in (systemd's
# User= and the filter's own privilege drop both take the user's groups).
inside groupadd --system sjm-keys
inside usermod -aG sjm-keys $PKG
inside chgrp sjm-keys /etc/$PKG.key
inside chmod 0640 /etc/$PKG.key
out=$(inside /usr/sbin/$PKG -n 2>&1)
check "-n passes once the key is readable through the user's group: $(tail -1 <<<"$out")" \
    grep -q "configuration OK (files read as user $PKG" <<<"$out"

# ----------------------------------------------------- enable --now, run
out=$(inside systemctl enable --now $unit 2>&1)
status=$?
if [ "$status" = 0 ] && [ "$(inside systemctl is-active $unit)" = active ]; then
    ok "systemctl enable --now succeeds and the unit is active"
else
    bad "systemctl enable --now: status $status: $out"
    inside journalctl -u $unit --no-pager | tail -n 20
fi
check "the unit is Type=notify and the filter reported ready (STATUS set)" \
    bash -c "nsenter -t $leader -a systemctl show -p Type,StatusText $unit | tr '\n' ' ' | grep -q 'Type=notify StatusText=filtering on '"
check "the socket is in Postfix's chroot, mode 0660" \
    test "$(inside stat -c '%a %U' /var/spool/postfix/$PKG/milter.sock 2>&1)" = "660 $PKG"
check "the system is still 'running'" test "$(inside systemctl is-system-running 2>&1)" = running

# Real mail through the distribution's Postfix and the installed filter.
inside postconf -e "smtpd_milters = unix:$PKG/milter.sock" 'non_smtpd_milters = $smtpd_milters' \
    'milter_default_action = tempfail' 'milter_protocol = 6' 'myhostname = sjm-nspawn.corp.test' \
    'mydestination = localhost, sjm-nspawn.corp.test' 'default_transport = discard' \
    'relay_transport = discard'
inside systemctl restart postfix
printf 'From: root@sjm-nspawn.corp.test\nTo: root@localhost\nSubject: systemd test\nMessage-ID: <systemd-test@corp.test>\n\nhello\n' \
    | inside /usr/sbin/sendmail -f root@sjm-nspawn.corp.test root@localhost
for _ in $(seq 1 100); do
    inside journalctl -u $unit --no-pager -o cat | grep -q 'from=<root@sjm-nspawn.corp.test>' && break
    sleep 0.2
done
check "a message through Postfix got the filter's log line (journal=added)" \
    bash -c "nsenter -t $leader -a journalctl -u $unit --no-pager -o cat | grep -q 'from=<root@sjm-nspawn.corp.test> rcpts=1 signature=none journal=added:journal@archive.corp.test'"

# --stats by an operator who may read the counters (group of the state
# directory) but not the mark key.
inside useradd --system -G $PKG auditor
out=$(inside setpriv --reuid=auditor --regid=auditor --init-groups /usr/sbin/$PKG --stats 2>&1)
status=$?
if [ "$status" = 0 ] && grep -q "journal statistics from /var/lib/$PKG" <<<"$out"; then
    ok "--stats works for a user who cannot read the mark key"
else
    bad "--stats as auditor: status $status: $out"
fi

# The metrics listener under the hardened unit (its system call filter,
# address families, no capabilities): restart with it on and scrape.
inside sed -i 's/^listen =$/listen = inet:9101@127.0.0.1/' /etc/$PKG.conf
out=$(inside systemctl restart $unit 2>&1)
check "systemctl restart with [metrics] listen succeeds: $out" test "$(inside systemctl is-active $unit)" = active
check "the hardened unit serves Prometheus metrics (libmicrohttpd under its system call filter)" \
    bash -c "nsenter -t $leader -a curl -sf --max-time 5 http://127.0.0.1:9101/metrics | grep -q '^smime_journal_milter_build_info{version='"

# A reload of a broken file fails, and the filter keeps running.
inside sed -i 's/^recipient = .*/recipient = not an address/' /etc/$PKG.conf
out=$(inside systemctl reload $unit 2>&1)
status=$?
if [ "$status" -ne 0 ] && [ "$(inside systemctl is-active $unit)" = active ]; then
    ok "systemctl reload of a broken file fails (status $status) and the filter keeps running"
else
    bad "reload of a broken file: status $status, $(inside systemctl is-active $unit): $out"
fi
inside sed -i 's/^recipient = .*/recipient = journal@archive.corp.test/' /etc/$PKG.conf
out=$(inside systemctl reload $unit 2>&1)
check "systemctl reload of a good file succeeds: $out" test "$(inside systemctl is-active $unit)" = active

out=$(inside systemctl stop $unit 2>&1)
check "systemctl stop leaves the unit inactive, not failed" \
    test "$(inside systemctl is-active $unit 2>&1)" = inactive

# ----------------------------------------------------------------- purge
inside dpkg --purge $PKG >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; bad "dpkg --purge failed"; }
check "purge says it keeps /var/lib/$PKG and why" grep -q "kept /var/lib/$PKG (the per-day journal statistics" "$work/purge.log"
check "purge lists the milter lines left in main.cf" \
    grep -q "/etc/postfix/main.cf still names the filter" "$work/purge.log"
check "/var/lib/$PKG is kept, as said" inside test -d /var/lib/$PKG
check "no failed unit after purge" test -z "$(inside systemctl --failed --plain --no-legend 2>&1)"

[ "$failed" -eq 0 ]
