#!/bin/bash
# A message through real Postfix and the filter arrives byte-identical
# (apart from Postfix's own trace fields) when the filter has nothing to
# do: journaling off, signatures preserved.  Also checks that the filter
# was really consulted (its per-message log line carries the queue id
# Postfix logged) and that SIGHUP reloads without stopping it.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
data=$abs_top_srcdir/tests/data
corpus=$abs_top_srcdir/../shared/corpus/thunderbird
[ -d "$corpus" ] || corpus=/work/shared/corpus/thunderbird

conf=$(mktemp /tmp/sjm-pass.XXXXXX.conf)
cat >"$conf" <<CF
[journal]
enabled = false
[signatures]
action = preserve
CF
e2e_start "$conf"

same_as_sent() {   # delivered-file original
    [ -n "$1" ] && diff <(e2e_strip_trace "$1") <(e2e_lf "$2") | head -n 20 | cat -A
    [ -n "$1" ] && cmp -s <(e2e_strip_trace "$1") <(e2e_lf "$2")
}

# 1. plain text, LF file
e2e_send "$data/plain.eml" alice@corp.example bob@corp.example >/dev/null
e2e_wait_idle || e2e_fail "delivery did not finish"
msg=$(e2e_messages bob@corp.example | tail -n 1)
e2e_check "plain message delivered" test -n "$msg"
e2e_check "plain message byte-identical apart from trace fields" same_as_sent "$msg" "$data/plain.eml"

# 2. real S/MIME from Thunderbird (CRLF files), preserved byte-exact
n=0
for f in alice.dsig.SHA256.multipart.eml alice.sig.SHA256.opaque.eml alice.env.eml nested-sigs.eml; do
    [ -f "$corpus/$f" ] || e2e_fail "corpus file $corpus/$f missing"
    rcpt="r$n@corp.example"
    e2e_send "$corpus/$f" alice@corp.example "$rcpt" >/dev/null
    e2e_wait_idle || e2e_fail "delivery did not finish"
    msg=$(e2e_messages "$rcpt" | tail -n 1)
    e2e_check "$f delivered byte-identical" same_as_sent "$msg" "$corpus/$f"
    n=$((n + 1))
done

# 3. the filter saw every message: one log line per message with the queue id
qids=$(grep -o 'postfix/cleanup\[[0-9]*\]: [0-9A-F]*' "$(e2e_postfix_log)" | awk '{print $2}')
seen=0
for q in $qids; do
    grep -q "^smime-journal-milter: $q: from=<alice@corp.example> rcpts=1 signature=" "$(e2e_filter_log)" && seen=$((seen + 1))
done
e2e_check "filter logged one line per message with Postfix's queue id ($seen of 5)" test "$seen" -eq 5

# 4. SIGHUP reloads; a broken file is refused and the old one stays
printf '[journal]\nenabled = false\nbogus = 1\n' >"$conf.bad"
e2e_reload "$conf.bad"
sleep 0.5
e2e_check "invalid config on SIGHUP is logged with file and line" \
    grep -q "filter.conf:3: unknown key bogus in \[journal\]" "$(e2e_filter_log)"
e2e_check "filter keeps running after a bad reload" kill -0 "$E2E_FILTER_PID"
e2e_reload "$conf"
sleep 0.5
e2e_check "valid config on SIGHUP is reloaded" grep -q "reloaded configuration" "$(e2e_filter_log)"
e2e_send "$data/plain.eml" alice@corp.example after-reload@corp.example >/dev/null
e2e_wait_idle
e2e_check "mail flows after reloads" test "$(e2e_count after-reload@corp.example)" -eq 1

# 5. SIGTERM stops cleanly
e2e_stop_filter
e2e_check "SIGTERM stops the filter with status 0" test "$E2E_FILTER_STATUS" -eq 0
e2e_check "stop is logged" grep -q "stopped" "$(e2e_filter_log)"
rm -f "$conf" "$conf.bad"
e2e_finish
