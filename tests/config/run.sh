#!/bin/bash
# -n against the shipped configuration (must pass) and against one bad
# file per kind of mistake (each must fail and print its expected
# "FILE:LINE: ..." message, given on the file's "# expect:" line).  Also
# checks that every problem of a file is reported in one run, and that
# the exit status is EX_CONFIG (78).
set -u
srcdir=$abs_top_srcdir/tests/config
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }

if out=$("$SJM_BIN" -n -c "$abs_top_srcdir/etc/smime-journal-milter.conf" 2>&1); then
    ok "shipped etc/smime-journal-milter.conf passes -n"
else
    bad "shipped config fails -n: $out"
fi

for f in "$srcdir"/bad/*.conf; do
    name=$(basename "$f")
    expect=$(sed -n 's/^# expect: //p' "$f")
    out=$("$SJM_BIN" -n -c "$f" 2>&1)
    status=$?
    if [ "$status" -ne 78 ]; then
        bad "$name: exit status $status, wanted 78 (output: $out)"
    elif ! printf '%s\n' "$out" | grep -Eq "^$srcdir/bad/$expect"; then
        bad "$name: wanted /$expect/, got: $out"
    else
        ok "$name: $(printf '%s\n' "$out" | head -n 1 | sed "s|^$srcdir/bad/||")"
    fi
done

# All problems at once, each with its own line number.
multi=$(mktemp)
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
rm -f "$multi"

out=$("$SJM_BIN" -n -c /nonexistent/sjm.conf 2>&1)
if [ $? -eq 78 ] && printf '%s\n' "$out" | grep -q "^/nonexistent/sjm.conf: cannot read"; then
    ok "missing file is named"
else
    bad "missing file: $out"
fi

# Inline comments and CRLF files are accepted; the effective value shows.
crlf=$(mktemp)
printf '[milter]\r\nmax_scan_size = 2M   ; two megabytes\r\n[journal]\r\nsites = corp.example=j-corp@archive.example; eu.corp.example=j-eu@archive.example\r\n' >"$crlf"
out=$("$SJM_BIN" --print-config -c "$crlf" 2>&1)
if printf '%s\n' "$out" | grep -q '^max_scan_size = 2097152$' \
    && printf '%s\n' "$out" | grep -q '^sites = corp.example=j-corp@archive.example; eu.corp.example=j-eu@archive.example$'; then
    ok "inline comments, CRLF and site lists parse (--print-config shows effective values)"
else
    bad "inline comment/CRLF: $out"
fi
rm -f "$crlf"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
