#!/bin/bash
# ledger-go.sh - the ledger read by an implementation that is not ours:
# Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian
# golang-golang-x-mod-dev), built offline.  The filter's own writer
# (ledger_fill, the code the daemon runs) makes a ledger in three
# sittings, so there are several checkpoints; ledger_verify.go re-hashes
# the entries, opens every checkpoint with the verifier key the filter
# prints, checks every inclusion and consistency proof --prove gives,
# and refuses forged checkpoints and tampered proofs.
set -u
src=${abs_top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${abs_top_builddir:-$src/_build}
BIN=${SJM_BIN:-$build/smime-journal-milter}
GOSRC=/usr/share/gocode/src/golang.org/x/mod/sumdb
if ! command -v go >/dev/null || [ ! -d "$GOSRC/note" ]; then
    echo "FAIL: Go or golang-golang-x-mod-dev is missing (apt-get install golang-go golang-golang-x-mod-dev)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }

# GOPATH mode finds the Debian sources with no network and no module proxy.
mkdir -p "$tmp/gocache"
if GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$tmp/gocache" GOFLAGS= \
    go build -o "$tmp/ledger_verify" "$src/tests/interop/ledger_verify.go" 2>"$tmp/gobuild"; then
    ok "ledger_verify.go builds against Debian's x/mod"
else
    bad "ledger_verify.go does not build: $(cat "$tmp/gobuild")"
    echo "$pass passed, $fail failed"
    exit 1
fi

"$BIN" --ledger-keygen "$tmp/key" >/dev/null || bad "--ledger-keygen"
cat >"$tmp/f.conf" <<CF
[journal]
enabled = false
[ledger]
dir = $tmp/ledger
key_file = $tmp/key
origin = interop.example/ledger
CF
vkey=$("$BIN" -c "$tmp/f.conf" --ledger-verifier-key)
case $vkey in
interop.example/ledger+????????+*) ok "verifier key $vkey" ;;
*) bad "verifier key: '$vkey'" ;;
esac

fill=$build/tests/interop/ledger_fill
for run in "0 5" "5 8" "13 20"; do
    # shellcheck disable=SC2086
    "$fill" "$tmp/ledger" "$tmp/key" interop.example/ledger $run || bad "ledger_fill $run"
done
ls "$tmp/ledger"/checkpoints >"$tmp/cps"
[ "$(wc -l <"$tmp/cps")" -ge 3 ] && ok "checkpoints at $(tr '\n' ' ' <"$tmp/cps")" ||
    bad "too few checkpoints: $(cat "$tmp/cps")"

if "$tmp/ledger_verify" "$BIN" "$vkey" "$tmp/ledger" >"$tmp/go.out" 2>&1; then
    ok "Go verifies: $(tail -1 "$tmp/go.out")"
else
    bad "Go refuses: $(cat "$tmp/go.out")"
fi

# The verifier must be able to fail: another key's checkpoints are refused.
"$BIN" --ledger-keygen "$tmp/key2" >/dev/null
sed "s|$tmp/key\$|$tmp/key2|" "$tmp/f.conf" >"$tmp/f2.conf"
vkey2=$("$BIN" -c "$tmp/f2.conf" --ledger-verifier-key)
if "$tmp/ledger_verify" "$BIN" "$vkey2" "$tmp/ledger" >"$tmp/go2.out" 2>&1; then
    bad "Go accepted checkpoints under another key"
else
    grep -q "note.Open" "$tmp/go2.out" && ok "Go refuses the checkpoints under another key" ||
        bad "Go failed for another reason: $(head -3 "$tmp/go2.out")"
fi

# An entry rewritten on disk: Go's own RecordHash disagrees with the stored leaf.
seg=$(ls "$tmp/ledger"/ledger-*.sjl | head -1)
python3 - "$seg" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"queue-id Q")
b[i + len("queue-id Q")] ^= 1
open(p, "wb").write(bytes(b))
PY
if "$tmp/ledger_verify" "$BIN" "$vkey" "$tmp/ledger" >"$tmp/go3.out" 2>&1; then
    bad "Go accepted a rewritten entry"
else
    grep -q "stored leaf hash is not RecordHash" "$tmp/go3.out" && ok "Go sees the rewritten entry" ||
        bad "Go failed otherwise: $(head -3 "$tmp/go3.out")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
