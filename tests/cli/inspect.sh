#!/bin/bash
# --inspect plumbing: the dry run goes through the same core as a live
# transaction and prints the message as it would be delivered plus one
# summary line.  (The S/MIME and journal tests check the decisions
# themselves; this checks the tool.)
set -u
data=$abs_top_srcdir/tests/data
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || { echo "FAIL: corpus not found: $corpus (set SJM_CORPUS)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

cat >"$tmp/journal.conf" <<CF
[journal]
recipient = journal@archive.example.com
CF
printf '[journal]\nenabled = false\n' >"$tmp/off.conf"

# 1. LF file, stdout output, summary on stderr
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from alice@corp.example \
    --rcpt bob@corp.example >"$tmp/out" 2>"$tmp/err"
check "exit 0 on a plain message" test $? -eq 0
check "journaling only adds its mark header" \
    cmp -s <(grep -v '^X-SMIME-Journal-Milter-Journaled: ' "$tmp/out") "$data/plain.eml"
check "one summary line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
check "summary names signature and journal first" \
    grep -Eq '^signature=none journal=added:journal@archive.example.com .*time=[0-9.]+ms$' "$tmp/err"
check "summary shows the NOTIFY=NEVER journal recipient" \
    grep -q 'add_rcpt=<journal@archive.example.com>:NOTIFY=NEVER' "$tmp/err"
"$SJM_BIN" -c "$tmp/off.conf" --inspect "$data/plain.eml" --from alice@corp.example \
    --rcpt bob@corp.example >"$tmp/out" 2>"$tmp/err"
check "with nothing to do, the delivered form equals the input" cmp -s "$tmp/out" "$data/plain.eml"
check "journal=disabled reported" grep -q '^signature=none journal=disabled ' "$tmp/err"

# 2. CRLF file with --output keeps CRLF bytes
f=$corpus/alice.env.eml
"$SJM_BIN" -c "$tmp/off.conf" --inspect "$f" --from alice@example.com --rcpt bob@example.com \
    --output "$tmp/out2" 2>"$tmp/err2"
check "CRLF message written to --output byte-identical" cmp -s "$tmp/out2" "$f"
check "nothing on stdout when --output is given" test ! -s "$tmp/out"-none

# 3. null sender
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from '' --rcpt bob@corp.example \
    >/dev/null 2>"$tmp/err3"
check "--from '' is the null sender (alone it earns no skip: journaled, label named)" \
    grep -q '^signature=none journal=added:.* journal_unbelieved=null-sender:no-report-label' "$tmp/err3"

# 4. untrusted client addressing the journal mailbox: that recipient is refused
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from a@x.example --client-addr 192.0.2.7 \
    --rcpt journal@archive.example.com --rcpt bob@corp.example >/dev/null 2>"$tmp/err4"
check "protect refuses the journal recipient for an untrusted --client-addr" \
    grep -q 'rcpt_refused=journal@archive.example.com(550 5.7.1' "$tmp/err4"

# 5. header-only file (no body, no empty line)
printf 'Subject: only a header\n' >"$tmp/hdronly.eml"
"$SJM_BIN" -c "$tmp/off.conf" --inspect "$tmp/hdronly.eml" --from a@corp.example --rcpt b@corp.example \
    >"$tmp/out5" 2>"$tmp/err5"
check "a message without body passes (exit 0)" test $? -eq 0
check "header-only message gets its empty line" cmp -s "$tmp/out5" <(printf 'Subject: only a header\n\n')

# 6. the tool's own failures are non-zero and say why
"$SJM_BIN" -c "$tmp/journal.conf" --inspect /nonexistent.eml --from a@x --rcpt b@y >/dev/null 2>"$tmp/err6"
st=$?
check "missing message file: non-zero exit" test "$st" -ne 0
check "missing message file: named" grep -q '/nonexistent.eml' "$tmp/err6"
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from a@x >/dev/null 2>&1
check "--inspect without --rcpt is a usage error (64)" test $? -eq 64
"$SJM_BIN" -c /nonexistent.conf --inspect "$data/plain.eml" --from a@x --rcpt b@y >/dev/null 2>&1
check "--inspect with a bad config exits 78" test $? -eq 78

# 7. the session sees CRLF whatever the file has: an LF copy of every
#    corpus and test message gives the same summary and the same output
#    (modulo line ends) as the CRLF original, in preserve, strip and
#    journaling configurations.  (The LF output has no CRLF line; a lone
#    CR inside signed content, as one opaque corpus file has, stays.)
printf '[signatures]\naction = strip\n[journal]\nrecipient = journal@archive.example.com\n' >"$tmp/strip.conf"
same=0 differ=0
for f in "$corpus"/*.eml "$data"/*.eml; do
    sed 's/\r$//' "$f" >"$tmp/lf.eml"
    sed 's/\r*$/\r/' "$tmp/lf.eml" >"$tmp/crlf.eml"
    for conf in "$tmp/off.conf" "$tmp/strip.conf" "$tmp/journal.conf"; do
        for form in lf crlf; do
            "$SJM_BIN" -c "$conf" --inspect "$tmp/$form.eml" --from alice@example.com --rcpt bob@example.com \
                --output "$tmp/$form.out" 2>"$tmp/$form.sum"
            sed -i 's/ time=[0-9.]*ms$//' "$tmp/$form.sum"
            tr -d '\r' <"$tmp/$form.out" >"$tmp/$form.norm"
        done
        if cmp -s "$tmp/lf.sum" "$tmp/crlf.sum" && cmp -s "$tmp/lf.norm" "$tmp/crlf.norm" \
            && ! head -c -1 "$tmp/lf.out" | grep -q $'\r$'; then
            same=$((same + 1))
        else
            differ=$((differ + 1))
            echo "# LF/CRLF differ: $(basename "$f") with $(basename "$conf"): $(cat "$tmp/lf.sum") | $(cat "$tmp/crlf.sum")"
        fi
    done
done
check "LF and CRLF forms give the same summary and output ($same runs, $differ differ)" \
    test "$differ" -eq 0 -a "$same" -ge 100
check "the strip runs really stripped something in the corpus" \
    grep -q 'signature=stripped' <(for f in "$corpus"/*.dsig*.eml; do
        "$SJM_BIN" -c "$tmp/strip.conf" --inspect "$f" --from a@example.com --rcpt b@example.com \
            --output /dev/null 2>&1; done)

# 8. an MTA that refuses an edit: the failure policy, through the session
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from alice@corp.example \
    --rcpt bob@corp.example --refuse add-rcpt >"$tmp/out8" 2>"$tmp/err8"
check "--refuse add-rcpt: on_failure=tempfail refuses the message" \
    grep -q '^signature=none journal=failed action=tempfail reply="451 4.3.0 ' "$tmp/err8"
check "--refuse add-rcpt: nothing is delivered on tempfail" test ! -s "$tmp/out8"
printf '[journal]\nrecipient = journal@archive.example.com\non_failure = accept\n' >"$tmp/accept.conf"
"$SJM_BIN" -c "$tmp/accept.conf" --inspect "$data/plain.eml" --from alice@corp.example \
    --rcpt bob@corp.example --refuse add-rcpt >"$tmp/out9" 2>"$tmp/err9"
check "--refuse add-rcpt: on_failure=accept delivers, logged as unjournaled" \
    grep -q '^signature=none journal=failed:accepted-unjournaled ' "$tmp/err9"
check "--refuse add-rcpt: an unjournaled message carries no journal mark" \
    cmp -s "$tmp/out9" "$data/plain.eml"
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from alice@corp.example \
    --rcpt bob@corp.example --refuse header >/dev/null 2>"$tmp/err10"
check "--refuse header: on_error=tempfail" grep -q 'action=tempfail.* error=edit-failed' "$tmp/err10"
"$SJM_BIN" -c "$tmp/journal.conf" --inspect "$data/plain.eml" --from a@x --rcpt b@y --refuse nonsense \
    >/dev/null 2>&1
check "--refuse with an unknown edit is a usage error (64)" test $? -eq 64

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
