#!/bin/bash
# -n against the shipped configuration (fails until a journal mailbox is
# set, passes once one is) and against one bad file per kind of mistake (each must fail and print its expected
# "FILE:LINE: ..." message, given on the file's "# expect:" line).  Also
# checks that every problem of a file is reported in one run, and that
# the exit status is EX_CONFIG (78).  There is no default journal
# mailbox: an empty file fails -n, the daemon refuses to start with it,
# and a SIGHUP to such a file keeps the running configuration.
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
set -u
bad=$abs_top_srcdir/tests/cli/config-bad
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }

shipped=$abs_top_srcdir/etc/smime-journal-milter.conf
out=$("$SJM_BIN" -n -c "$shipped" 2>&1)
status=$?
if [ "$status" -eq 78 ] && printf '%s\n' "$out" | grep -q "^$shipped: key recipient in \[journal\]: .*enabled = false"; then
    ok "shipped etc/smime-journal-milter.conf fails -n until a journal mailbox is set"
else
    bad "shipped config without a mailbox: status $status: $out"
fi
openssl rand -hex 32 >"$tmp/mark.key"
# -n checks the key as the user the filter runs as: readable by it.
chmod 755 "$tmp"
chmod 644 "$tmp/mark.key"
sed "s/^#recipient =.*/recipient = journal@archive.corp.de/; s|^mark_key_file = .*|mark_key_file = $tmp/mark.key|" \
    "$shipped" >"$tmp/shipped-set.conf"
if out=$("$SJM_BIN" -n -c "$tmp/shipped-set.conf" 2>&1) && [ "${out%% (*}" = "$tmp/shipped-set.conf: configuration OK" ]; then
    ok "shipped file passes -n, without warnings, once its recipient line is set and its key exists"
else
    bad "shipped file with a mailbox: $out"
fi

# An empty file names no journal mailbox: -n says so, with the ways out.
: >"$tmp/empty.conf"
out=$("$SJM_BIN" -n -c "$tmp/empty.conf" 2>&1)
status=$?
if [ "$status" -eq 78 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] \
    && printf '%s\n' "$out" | head -n 1 | grep -q "^$tmp/empty.conf: key recipient in \[journal\]: journaling is enabled but neither recipient nor sites .*set recipient = .*enabled = false" \
    && printf '%s\n' "$out" | tail -n 1 | grep -q "^$tmp/empty.conf: warning: key mark_key_file in \[journal\]: not set: journal marks are unkeyed"; then
    ok "-n on an empty file fails: $(printf '%s\n' "$out" | sed "s|^$tmp/||")"
else
    bad "-n on an empty file: status $status: $out"
fi
out=$("$SJM_BIN" -f -c "$tmp/empty.conf" -p "unix:$tmp/never.sock" -u '' 2>&1)
status=$?
if [ "$status" -eq 78 ] && [ ! -e "$tmp/never.sock" ] \
    && printf '%s\n' "$out" | grep -q "key recipient in \[journal\]" \
    && printf '%s\n' "$out" | grep -q "not starting: $tmp/empty.conf"; then
    ok "the daemon refuses to start without a journal mailbox (exit 78, no socket)"
else
    bad "daemon on an empty file: status $status, socket $(ls "$tmp"): $out"
fi

# Reserved example domains: a warning with file and line, not a failure.
printf '[journal]\nrecipient = journal@archive.example.com\nsites = corp.example=j@archive.test\n' >"$tmp/reserved.conf"
out=$("$SJM_BIN" -n -c "$tmp/reserved.conf" 2>&1)
status=$?
if [ "$status" -eq 0 ] \
    && printf '%s\n' "$out" | grep -q "^$tmp/reserved.conf:2: warning: key recipient in \[journal\]: journal mailbox journal@archive.example.com is in a reserved domain" \
    && printf '%s\n' "$out" | grep -q "^$tmp/reserved.conf:3: warning: key sites in \[journal\]: journal mailbox j@archive.test" \
    && printf '%s\n' "$out" | grep -q "configuration OK"; then
    ok "-n warns (exit 0) about journal mailboxes in reserved domains"
else
    bad "reserved domains: status $status: $out"
fi

# SIGHUP to a file without a mailbox keeps the running configuration.
printf '[milter]\nuser =\n[journal]\nrecipient = journal@archive.corp.de\n' >"$tmp/live.conf"
"$SJM_BIN" -f -c "$tmp/live.conf" -p "unix:$tmp/live.sock" 2>"$tmp/live.log" &
pid=$!
pids+=("$pid")
# The start line comes once the signal handlers are in place.
for _ in $(seq 200); do [ -S "$tmp/live.sock" ] && grep -q "starting:" "$tmp/live.log" && break; sleep 0.05; done
: >"$tmp/live.conf"
kill -HUP "$pid" 2>/dev/null
for _ in $(seq 200); do grep -q "keeping the running configuration" "$tmp/live.log" && break; sleep 0.05; done
if grep -q "key recipient in \[journal\]" "$tmp/live.log" \
    && grep -q "reload of $tmp/live.conf failed; keeping the running configuration" "$tmp/live.log" \
    && kill -0 "$pid" 2>/dev/null && [ -S "$tmp/live.sock" ]; then
    ok "SIGHUP to a file without a journal mailbox keeps the old configuration (logged)"
else
    bad "SIGHUP without a mailbox: $(cat "$tmp/live.log")"
fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
if [ "$status" -eq 0 ]; then
    ok "the daemon then stops cleanly on SIGTERM"
else
    bad "the daemon exited $status on SIGTERM: $(tail -3 "$tmp/live.log")"
fi

# Verification is available: enabled = true with a real trust list loads.
on=$(mktemp)
printf '[verify]\nenabled = true\ntrust_anchors = /etc/ssl/certs/ca-certificates.crt\n[journal]\nenabled = false\n' >"$on"
if out=$("$SJM_BIN" -n -c "$on" 2>&1); then
    ok "[verify] enabled = true with the system trust list passes -n"
else
    bad "[verify] enabled = true refused: $out"
fi
rm -f "$on"

# -n as root checks the files a configuration names as the user the filter
# runs as: a mark key only root can read fails, naming that user.
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
    keydir=$(mktemp -d)
    chmod 755 "$keydir"
    head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$keydir/key"
    chmod 600 "$keydir/key"
    printf '[milter]\nuser = nobody\n[journal]\nrecipient = journal@archive.corp.de\nmark_key_file = %s/key\n' \
        "$keydir" >"$keydir/as-user.conf"
    out=$("$SJM_BIN" -n -c "$keydir/as-user.conf" 2>&1)
    status=$?
    if [ "$status" -eq 78 ] && printf '%s\n' "$out" | grep -q "mark_key_file.*Permission denied" \
        && printf '%s\n' "$out" | grep -q "readable by root but not by user nobody"; then
        ok "-n as root fails on a key only root can read: the filter's user (nobody) cannot"
    else
        bad "-n as root with a 0600 key and user = nobody: status $status: $out"
    fi
    chmod 644 "$keydir/key"
    out=$("$SJM_BIN" -n -c "$keydir/as-user.conf" 2>&1)
    if [ "$out" = "$keydir/as-user.conf: configuration OK (files read as user nobody, whom the filter runs as)" ]; then
        ok "-n says whose access it checked once the key is readable"
    else
        bad "-n with a readable key: $out"
    fi
    rm -rf "$keydir"
else
    echo "SKIP (loudly): not root or no user nobody: -n's check as the filter's user was NOT tested here"
fi

for f in "$bad"/*.conf; do
    name=$(basename "$f")
    expect=$(sed -n 's/^# expect: //p' "$f")
    out=$("$SJM_BIN" -n -c "$f" 2>&1)
    status=$?
    if [ "$status" -ne 78 ]; then
        bad "$name: exit status $status, wanted 78 (output: $out)"
    elif ! printf '%s\n' "$out" | grep -Eq "^$bad/$expect"; then
        bad "$name: wanted /$expect/, got: $out"
    else
        ok "$name: $(printf '%s\n' "$out" | head -n 1 | sed "s|^$bad/||")"
    fi
done

# All problems at once, each with its own line number.
multi=$tmp/multi.conf
printf '[milter]\non_error = maybe\nmax_scan_size = lots\n[journal]\nbogus = 1\n' >"$multi"
out=$("$SJM_BIN" -n -c "$multi" 2>&1)
if [ "$(printf '%s\n' "$out" | grep -c "^$multi:[0-9]*: ")" -eq 3 ] \
    && printf '%s\n' "$out" | grep -q ":2: key on_error" \
    && printf '%s\n' "$out" | grep -q ":3: key max_scan_size" \
    && printf '%s\n' "$out" | grep -q ":5: unknown key bogus"; then
    ok "three problems in one file are reported together with their lines"
else
    bad "multiple problems: $out"
fi

out=$("$SJM_BIN" -n -c /nonexistent/sjm.conf 2>&1)
if [ $? -eq 78 ] && printf '%s\n' "$out" | grep -q "^/nonexistent/sjm.conf: cannot read"; then
    ok "missing file is named"
else
    bad "missing file: $out"
fi

# Inline comments and CRLF files are accepted; the effective value shows.
crlf=$tmp/crlf.conf
printf '[milter]\r\nmax_scan_size = 2M   ; two megabytes\r\n[journal]\r\nsites = corp.example=j-corp@archive.example; eu.corp.example=j-eu@archive.example\r\n' >"$crlf"
out=$("$SJM_BIN" --print-config -c "$crlf" 2>&1)
if printf '%s\n' "$out" | grep -q '^max_scan_size = 2097152$' \
    && printf '%s\n' "$out" | grep -q '^sites = corp.example=j-corp@archive.example; eu.corp.example=j-eu@archive.example$'; then
    ok "inline comments, CRLF and site lists parse (--print-config shows effective values)"
else
    bad "inline comment/CRLF: $out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
