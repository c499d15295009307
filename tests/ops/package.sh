#!/bin/bash
# The Debian package, end to end: build it with dpkg-buildpackage from a
# copy of the source tree, install it with apt-get, check what it put on
# the system, run the installed filter the way the systemd unit does (as
# its user, in the foreground, without privileges) behind a private
# Postfix, send one message through it, stop it and purge the package.
#
# It installs system-wide, so it runs only with SJM_PACKAGE_TEST=1.
# Needs: root, dpkg-dev, debhelper, fakeroot, the build dependencies of
# packaging/debian/control, postfix, python3.
set -u

if [ "${SJM_PACKAGE_TEST:-}" != 1 ]; then
    echo "SKIP: the package test installs and purges a .deb system-wide; set SJM_PACKAGE_TEST=1 to run it"
    exit 77
fi

srcdir=${abs_top_srcdir:?abs_top_srcdir is not set (run through make check)}
PKG=smime-journal-milter
SOCK=/var/spool/postfix/$PKG/milter.sock

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "not ok - $1"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi; }
die() { echo "FAIL: $*"; failed=$((failed + 1)); exit 1; }
trap 'echo "$passed passed, $failed failed"' EXIT

if [ "$(id -u)" != 0 ]; then
    die "the package test installs a package and must run as root"
fi
# One package test at a time on a machine: two would install and purge the
# same package under each other.
exec {lock_fd}>/var/lock/sjm-package-test.lock
flock -w 1200 "$lock_fd" || die "another package test held /var/lock/sjm-package-test.lock for 20 minutes"
for tool in dpkg-buildpackage dh fakeroot apt-get postfix python3 setpriv; do
    command -v "$tool" >/dev/null \
        || die "$tool is not installed (apt-get install -y dpkg-dev debhelper fakeroot postfix python3 util-linux)"
done
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'ok installed'; then
    die "$PKG is already installed here; the test would purge it (and its configuration)"
fi

work=$(mktemp -d /var/tmp/sjm-package.XXXXXX)
installed=0

purge() {
    [ "$installed" = 1 ] || return 0
    apt-get purge -y -o DPkg::Lock::Timeout=300 "$PKG" >"$work/purge.log" 2>&1
    installed=0
}

# The harness's own trap (Postfix, filter) runs first, then the package
# goes, whatever happened.
. "$srcdir/tests/lib/e2e.sh"
eval "$(declare -f e2e_cleanup | sed '1s/^e2e_cleanup/e2e_cleanup_harness/')"
e2e_cleanup() {
    local status=$?
    (exit "$status")
    (e2e_cleanup_harness)
    purge
    rm -rf "$work"
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build
# SJM_PACKAGE_DEB=/path/to/x.deb tests an already built package instead.
if [ -n "${SJM_PACKAGE_DEB:-}" ]; then
    deb=$SJM_PACKAGE_DEB
    [ -f "$deb" ] || die "SJM_PACKAGE_DEB=$deb does not exist"
    echo "# testing the prebuilt $deb, not building one"
else
    # A copy of the tree as git sees it (tracked files and new ones that
    # are not ignored), so no build output of the developer's leaks in;
    # from a release tarball, the tree as it is.
    mkdir "$work/src"
    if git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$srcdir" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - --no-recursion) \
            | tar -xf - -C "$work/src" || die "cannot copy the source tree"
    else
        cp -a "$srcdir/." "$work/src/" || die "cannot copy the source tree"
    fi
    rm -rf "$work/src/debian"
    cp -a "$work/src/packaging/debian" "$work/src/debian"

    # A clean environment, as a build daemon has: under "make check" the
    # outer make's MAKEFLAGS carry its TEST_LOGS (every test, this one
    # included) into the package's own "make check", which would then run
    # them all and start this test again, without end.  The one thing
    # passed in is the S/MIME corpus the unit tests read: the copy in
    # $work/src has none beside it.
    corpus=${SJM_CORPUS:-$srcdir/../shared/corpus/thunderbird}
    [ -d "$corpus" ] || die "corpus not found: $corpus (set SJM_CORPUS)"
    if (cd "$work/src" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        SJM_CORPUS="$corpus" ${DEB_BUILD_OPTIONS:+DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS"} \
        dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
        ok "dpkg-buildpackage -us -uc -b"
    else
        tail -n 40 "$work/build.log"
        die "dpkg-buildpackage failed (log above)"
    fi
    deb=$(ls "$work"/${PKG}_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || die "no .deb in $work"
    if grep -qE '^PASS: tests/unit/' "$work/build.log" \
        && ! grep -qE '^(FAIL|ERROR): ' "$work/build.log"; then
        ok "the unit tests ran and passed in the package build ($(grep -c '^PASS: tests/unit/' "$work/build.log"))"
    else
        bad "no passing unit test run in the package build log"
    fi
fi
contents=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/$PKG ./etc/$PKG.conf ./lib/systemd/system/$PKG.service \
    ./usr/share/man/man8/$PKG.8.gz ./usr/share/man/man5/$PKG.conf.5.gz \
    ./usr/share/doc/$PKG/examples/postfix-main.cf.snippet \
    ./usr/share/doc/$PKG/examples/sendmail.mc.snippet \
    ./usr/share/doc/$PKG/examples/postfix-journal-transport.main.cf.snippet \
    ./usr/share/doc/$PKG/examples/postfix-journal-transport.master.cf.snippet \
    ./usr/share/doc/$PKG/examples/grafana-dashboard.json; do
    check "the .deb contains ${f#.}" grep -q " $f\$" <<<"$contents"
done
# dh_compress gzips documentation larger than 4 kB.
check "the .deb contains README.Debian" grep -qE " ./usr/share/doc/$PKG/README.Debian(.gz)?\$" <<<"$contents"

# ---------------------------------------------------------------- install
# Postfix's own group membership is the postinst's to add: start without it.
if id -nG postfix 2>/dev/null | tr ' ' '\n' | grep -qx "$PKG"; then
    gpasswd -d postfix "$PKG" >/dev/null 2>&1
fi
if apt-get install -y -o DPkg::Lock::Timeout=300 "$deb" >"$work/install.log" 2>&1; then
    installed=1
    ok "apt-get install ./$(basename "$deb")"
else
    tail -n 30 "$work/install.log"
    die "apt-get install failed (log above)"
fi

check "system user $PKG exists" getent passwd "$PKG"
check "its login shell is nologin" \
    bash -c "getent passwd $PKG | cut -d: -f7 | grep -q nologin"
check "group $PKG exists" getent group "$PKG"
check "postfix is in group $PKG" bash -c "id -nG postfix | tr ' ' '\n' | grep -qx $PKG"
check "socket directory $(dirname "$SOCK") is $PKG:$PKG 0750" \
    test "$(stat -c '%U:%G %a' "$(dirname "$SOCK")")" = "$PKG:$PKG 750"
unit=$(ls /lib/systemd/system/$PKG.service /usr/lib/systemd/system/$PKG.service 2>/dev/null | head -1)
check "the unit is installed" test -n "$unit"
check "/etc/$PKG.conf is a conffile" \
    bash -c "dpkg-query -W -f='\${Conffiles}' $PKG | grep -q ' /etc/$PKG.conf '"
check "the installed configuration puts the socket in Postfix's chroot" \
    grep -qx "socket = local:$SOCK" /etc/$PKG.conf
check "man page $PKG(8) is installed" man -w 8 "$PKG"
check "man page $PKG.conf(5) is installed" man -w 5 "$PKG.conf"
# There is no default journal mailbox: the installed file fails -n, and
# postinst said so; the administrator sets one, then it passes.
check "$PKG -n fails on the installed configuration (no journal mailbox yet)" \
    bash -c "! /usr/sbin/$PKG -n 2>&1 | grep -q 'configuration OK' && /usr/sbin/$PKG -n 2>&1 | grep -q 'key recipient in \[journal\]'"
check "postinst told the administrator to set the journal mailbox" \
    grep -q "names no journal mailbox" "$work/install.log"
readme_debian=$(ls /usr/share/doc/$PKG/README.Debian /usr/share/doc/$PKG/README.Debian.gz 2>/dev/null | head -1)
check "README.Debian says to set the journal mailbox" \
    zgrep -q "set the journal mailbox" "${readme_debian:-/nonexistent}"
check "README.Debian tells the administrator to remove the milter lines from main.cf" \
    zgrep -q "take the milter lines out of" "${readme_debian:-/nonexistent}"
sed -i 's/^#recipient =.*/recipient = journal@archive.example.com/' /etc/$PKG.conf
check "postinst created the journal mark key the configuration names" \
    bash -c "grep -q '^mark_key_file = /etc/$PKG/mark.key\$' /etc/$PKG.conf && test -s /etc/$PKG/mark.key"
check "the mark key is 32 random bytes (64 hex digits)" \
    bash -c "tr -d '\n' </etc/$PKG/mark.key | grep -qE '^[0-9a-f]{64}\$'"
check "the mark key is root:$PKG 0640, its directory 0750" \
    bash -c "[ \"\$(stat -c '%U:%G %a' /etc/$PKG/mark.key)\" = 'root:$PKG 640' ] && [ \"\$(stat -c '%a' /etc/$PKG)\" = 750 ]"
check "postinst said it created the key" grep -q 'created the journal mark key' "$work/install.log"
check "$PKG -n passes once [journal] recipient is set" /usr/sbin/$PKG -n
check "$PKG -V runs" bash -c "/usr/sbin/$PKG -V | grep -q '^$PKG '"

# ------------------------------------------------------------------- run
# ExecStart= of the installed unit, run as the unit runs it: its User= and
# Group= with the user's groups, no capabilities, no new privileges, its
# UMask=, a private TMPDIR.
read -r -a execstart <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
[ "${#execstart[@]}" -gt 0 ] || die "no ExecStart= in $unit"
unit_user=$(sed -n 's/^User=//p' "$unit")
unit_group=$(sed -n 's/^Group=//p' "$unit")
unit_umask=$(sed -n 's/^UMask=//p' "$unit")
mkdir -m 0700 "$work/tmp" && chown "$unit_user:$unit_group" "$work/tmp"

e2e_start_filter() {
    rm -f "$SOCK"
    # The snippet's socket path is relative to the queue directory, which
    # for the system's Postfix is /var/spool/postfix; point this instance's
    # queue directory at the package's socket directory the same way.
    ln -sfn "$(dirname "$SOCK")" "$E2E_DIR/queue/$PKG"
    (
        umask "${unit_umask:-0022}"
        exec setpriv --reuid="$unit_user" --regid="$unit_group" --init-groups \
            --no-new-privs --inh-caps=-all --bounding-set=-all \
            env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR="$work/tmp" "${execstart[@]}"
    ) >>"$E2E_DIR/filter.log" 2>&1 &
    E2E_FILTER_PID=$!
    local _
    for _ in $(seq 1 300); do
        [ -S "$SOCK" ] && return 0
        kill -0 "$E2E_FILTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$E2E_DIR/filter.log"
    e2e_fail "the installed filter did not create $SOCK"
}

# Postfix gets the installed postfix-main.cf.snippet verbatim, as an
# administrator would paste it into main.cf (its lines come after, and so
# override, the harness's own milter settings).
SJM_BIN=/usr/sbin/$PKG
snippet=/usr/share/doc/$PKG/examples/postfix-main.cf.snippet
[ -f "$snippet" ] || die "$snippet is not installed"
E2E_EXTRA_MAIN_CF=$(grep -vE '^[[:space:]]*(#|$)' "$snippet")
e2e_start /etc/$PKG.conf

check "the filter runs as $unit_user" \
    test "$(awk '/^Uid:/ { print $2 }' "/proc/$E2E_FILTER_PID/status")" = "$(id -u "$unit_user")"
check "the socket is $unit_user:$unit_group 0660" \
    test "$(stat -c '%U:%G %a' "$SOCK")" = "$unit_user:$unit_group 660"

msg=$work/message.eml
printf 'From: Alice <alice@corp.example>\r\nTo: Bob <bob@example.net>\r\nSubject: package test\r\nMessage-ID: <package-test@corp.example>\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\nHello from the package test.\r\n' >"$msg"
sent() { e2e_send "$msg" alice@corp.example bob@example.net >"$work/send.out" 2>&1; }
check "Postfix accepts a message through the installed filter" sent
check "the queue drains" e2e_wait_idle 60
check "the recipient got the message" test "$(e2e_count bob@example.net)" = 1
check "the journal mailbox got a copy" test "$(e2e_count journal@archive.example.com)" = 1
delivered=$(e2e_messages bob@example.net | head -1)
check "the delivered message carries the journal mark" \
    grep -qi '^X-SMIME-Journal-Milter-Journaled:' "${delivered:-/nonexistent}"
check "the filter logged the per-message line" \
    grep -qE ': from=<alice@corp.example> rcpts=1 signature=none journal=added:journal@archive.example.com.* time=[0-9.]+ms' \
    "$(e2e_filter_log)"

e2e_stop_filter
check "the filter stops cleanly on SIGTERM" test "${E2E_FILTER_STATUS:-1}" = 0
check "it logged its stop" grep -q 'stopped' "$(e2e_filter_log)"

# ----------------------------------------------------------------- purge
purge_log=$work/purge.log
if apt-get purge -y -o DPkg::Lock::Timeout=300 "$PKG" >"$purge_log" 2>&1; then
    installed=0
    ok "apt-get purge $PKG"
else
    tail -n 20 "$purge_log"
    bad "apt-get purge failed"
fi
check "the binary is gone" test ! -e /usr/sbin/$PKG
check "the configuration is gone" test ! -e /etc/$PKG.conf
check "the journal mark key is gone, and purge said so" \
    bash -c "test ! -e /etc/$PKG/mark.key && grep -q 'removed the journal mark key' '$purge_log'"
check "the socket directory is gone" test ! -e "$(dirname "$SOCK")"

# --------------------------------------------------- under systemd as PID 1
# The same package in a booted Debian 12 (systemd-nspawn): install,
# start, restart, enable --now, reload and purge as an administrator
# would.  Its cases are counted in its own summary line.
echo "# tests/ops/systemd.sh $(basename "$deb")"
if "$srcdir/tests/ops/systemd.sh" "$deb"; then
    ok "the package under systemd as PID 1 (tests/ops/systemd.sh)"
else
    bad "the package under systemd as PID 1 (tests/ops/systemd.sh, cases above)"
fi

[ "$failed" -eq 0 ]
