#!/bin/bash
# The filter under valgrind behind real Postfix: 100 messages on one SMTP
# connection (signed ones stripped, plain ones journaled), then a clean
# SIGTERM.  Passes when valgrind reports no memory errors and no
# definitely or indirectly lost bytes, and every message was delivered.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
corpus=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$corpus" ] || e2e_fail "corpus not found: $corpus (set SJM_CORPUS)"
command -v valgrind >/dev/null || e2e_fail "valgrind is not installed (apt-get install -y valgrind)"

conf=$(mktemp /tmp/sjm-vg.XXXXXX.conf)
# With the journal ledger on, so its writer thread runs under valgrind too.
ledger=$(mktemp -d /tmp/sjm-vg-ledger.XXXXXX)
chmod 755 "$ledger"
mkdir "$ledger/dir" && chown nobody "$ledger/dir"
"$SJM_BIN" --ledger-keygen "$ledger/key" >/dev/null && chmod 644 "$ledger/key"
cat >"$conf" <<CF
[signatures]
action = strip
[journal]
recipient = journal@archive.example.com
[ledger]
dir = $ledger/dir
key_file = $ledger/key
origin = valgrind.test/ledger
CF
vglog=/var/tmp/sjm-valgrind.$$.log
E2E_FILTER_WRAPPER="valgrind --quiet --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$vglog"
e2e_start "$conf"

signed=$corpus/alice.dsig.SHA256.multipart.eml
plain=$abs_top_srcdir/tests/data/plain.eml
python3 "$E2E_LIB/smtpsend.py" --repeat 50 127.0.0.1 "$E2E_PORT" "$signed" alice@example.com bob@example.com >/dev/null \
    || e2e_fail "sending the signed messages failed"
python3 "$E2E_LIB/smtpsend.py" --repeat 50 127.0.0.1 "$E2E_PORT" "$plain" alice@corp.example carol@corp.example >/dev/null \
    || e2e_fail "sending the plain messages failed"
e2e_wait_idle 300 || e2e_fail "delivery did not finish"

e2e_check "50 stripped messages delivered" test "$(e2e_count bob@example.com)" -eq 50
e2e_check "50 plain messages delivered" test "$(e2e_count carol@corp.example)" -eq 50
e2e_check "100 journal copies" test "$(e2e_count journal@archive.example.com)" -eq 100
e2e_check "the filter stripped the signed ones" \
    test "$(grep -c 'signature=stripped' "$(e2e_filter_log)")" -eq 50

e2e_stop_filter
e2e_check "filter exited cleanly under valgrind (status $E2E_FILTER_STATUS, 99 = valgrind errors)" \
    test "$E2E_FILTER_STATUS" -eq 0
if [ -s "$vglog" ]; then
    echo "--- valgrind report"
    cat "$vglog"
fi
e2e_check "valgrind reported nothing (no errors, no definite/indirect leaks)" test ! -s "$vglog"
e2e_check "the ledger holds the 100 entries" \
    test "$(cat "$ledger"/dir/ledger-*.sjl | grep -ac 'sjm-ledger 1$')" -eq 100
rm -rf "$ledger"
rm -f "$vglog" "$conf"
e2e_finish
