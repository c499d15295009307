#!/bin/bash
# valgrind-reload.sh - the filter under valgrind behind real Postfix, 260
# mixed messages (plain, detached and opaque signatures stripped or
# preserved, signed-and-encrypted, nested signatures, a 2 MB signed
# message that spools to disk) in four rounds with a SIGHUP reload
# between rounds: strip, preserve with per-recipient strip_for, strip
# with mixed = preserve, and a broken file whose reload must be refused.
# Passes when every message was delivered once with its journal copy
# and valgrind reports no memory errors and no definitely or indirectly
# lost bytes at the clean SIGTERM.  (valgrind.sh: 100 messages, one
# configuration.)
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/fault.sh"
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"
command -v valgrind >/dev/null || e2e_fail "valgrind is not installed (apt-get install -y valgrind)"
[ -f "$corpus/alice.sig.SHA256.opaque.eml" ] || e2e_fail "no S/MIME corpus at $corpus"

work=$(mktemp -d /tmp/sjm-vgr.XXXXXX)
chmod 755 "$work"
conf() {   # NAME BODY...
    local name=$1
    shift
    printf '%b' "$*" >"$work/$name.conf"
}
conf strip "[signatures]\naction = strip\n[journal]\nrecipient = $JOURNAL\n"
conf preserve "[signatures]\naction = preserve\nstrip_for = *@legacy.example\n[journal]\nrecipient = $JOURNAL\n"
conf mixed "[signatures]\naction = strip\npreserve_for = carol@corp.example\nmixed = preserve\n[journal]\nrecipient = $JOURNAL\n"
conf broken "[signatures]\naction = sometimes\n[journal]\nrecipient = $JOURNAL\n"

# The 2 MB signed message spills the spool to a temp file.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 \
    -subj "/CN=vg/emailAddress=alice@corp.example" 2>/dev/null
{
    printf 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nbig\r\n'
    printf -- '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    head -c 1500000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
    printf -- '--b1--\r\n'
} >"$work/big.ent"
openssl cms -sign -in "$work/big.ent" -signer "$work/c.pem" -inkey "$work/k.pem" -from alice@corp.example \
    -to $RCPT -subject big -crlfeol -out "$work/big.eml" || e2e_fail "openssl could not sign"

vglog=/var/tmp/sjm-valgrind-reload.$$.log
E2E_FILTER_WRAPPER="valgrind --quiet --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$vglog"
e2e_start "$work/strip.conf"

# One round: 65 messages of seven kinds (KIND:COUNT:FILE), two clients at
# a time; mostly plain, because stripping under valgrind is slow.
kinds="plain:48:0 dsig:6:alice.dsig.SHA256.multipart.eml opaque:4:alice.sig.SHA256.opaque.eml env:2:alice.env.sig.SHA256.opaque.eml nested:2:nested-sigs.eml multi:2:multiple-signatures.eml"
total=0
round() {   # N
    local k name file n
    for k in $kinds; do
        name=${k%%:*} file=${k##*:} n=${k#*:}
        n=${n%%:*}
        if [ "$file" = 0 ]; then
            python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" "r$1$name" $n --conc 2 --size 3000 --retry-for 300 $RCPT >"$work/r$1$name.out" 2>&1
        else
            python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" "r$1$name" $n --conc 2 --template "$corpus/$file" --retry-for 300 $RCPT >"$work/r$1$name.out" 2>&1
        fi || e2e_bad "round $1: $name burst did not complete"
        total=$((total + n))
    done
    python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" "r${1}big" 1 --conc 1 --template "$work/big.eml" --retry-for 300 $RCPT >"$work/r${1}big.out" 2>&1 \
        || e2e_bad "round $1: big burst did not complete"
    total=$((total + 1))
}
reloads() { grep -c "reloaded configuration" "$(e2e_filter_log)"; }

round 1
e2e_reload "$work/preserve.conf"
for _ in $(seq 1 300); do [ "$(reloads)" -ge 1 ] && break; sleep 0.1; done
round 2
e2e_reload "$work/mixed.conf"
for _ in $(seq 1 300); do [ "$(reloads)" -ge 2 ] && break; sleep 0.1; done
round 3
e2e_reload "$work/broken.conf"
for _ in $(seq 1 300); do grep -q "reload of .* failed" "$(e2e_filter_log)" && break; sleep 0.1; done
round 4
e2e_wait_idle 300 || e2e_fail "delivery did not finish"

e2e_check "two reloads applied" test "$(reloads)" -eq 2
e2e_check "the broken configuration was refused, the old one kept" grep -q "reload of .* failed" "$(e2e_filter_log)"
e2e_check "$total messages sent in four rounds" test "$total" -eq 260
bad=0
for out in "$work"/r*.out; do
    prefix=$(basename "$out" .out)
    n=$(grep -o 'sent=[0-9]*' "$out" | cut -d= -f2)
    python3 "$FAULT_LIB/reconcile.py" "$(e2e_maildir $RCPT)" "$(e2e_maildir $JOURNAL)" "$prefix" "${n:-0}" 0 >"$work/rec" || {
        bad=$((bad + 1)); cat "$work/rec"; }
done
e2e_check "every message of every round delivered once with its journal copy" test "$bad" -eq 0
stripped=$(grep -c 'signature=stripped' "$(e2e_filter_log)")
preserved=$(grep -c 'signature=preserved' "$(e2e_filter_log)")
echo "# filter: $stripped stripped, $preserved preserved, $(grep -c 'signature=none' "$(e2e_filter_log)") without signature"
e2e_check "both policies ran between reloads (stripped and preserved messages)" test "$stripped" -gt 0 -a "$preserved" -gt 0

e2e_stop_filter
e2e_check "filter exited cleanly under valgrind (status $E2E_FILTER_STATUS, 99 = valgrind errors)" \
    test "$E2E_FILTER_STATUS" -eq 0
if [ -s "$vglog" ]; then
    echo "--- valgrind report"
    head -n 100 "$vglog"
fi
e2e_check "valgrind reported nothing (no errors, no definite/indirect leaks)" test ! -s "$vglog"
rm -rf "$work" "$vglog"
e2e_finish
