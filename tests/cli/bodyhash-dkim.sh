#!/bin/bash
# bodyhash-dkim.sh - the body digest a journal mark binds (b=) is the
# DKIM "relaxed" body hash (RFC 6376 section 3.4.4) with SHA-256, so any
# DKIM library can check it: here dkimpy (Debian python3-dkim), an
# implementation that is not ours, recomputes it for bodies that test
# each rule of the canonicalisation, and the mark written by --inspect
# (the code a live transaction runs) must carry the same value.
set -u
PY=/usr/bin/python3
if ! "$PY" -c 'import dkim.canonicalization' 2>/dev/null; then
    echo "FAIL: dkimpy is not installed (apt-get install -y python3-dkim): cannot check the digest"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }

openssl rand -hex 32 >"$tmp/key"
cat >"$tmp/f.conf" <<CF
[journal]
recipient = journal@archive.corp-test.net
mark_key_file = $tmp/key
CF

# NAME|body as printf(1) writes it
cases=(
    'plain|Hello Bob,\r\n\r\nsee you at noon.\r\n'
    'trailing white space|Hello Bob,   \r\nsee you \t at noon.\t\r\n'
    'inner runs of spaces and tabs|a  b\t\tc \t d\r\n'
    'leading white space|   indented line\r\n\tand a tab\r\n'
    'trailing empty lines|body\r\n\r\n\r\n\r\n'
    'no final line break|last line without CRLF'
    'white-space-only lines inside|a\r\n   \r\n\t\r\nb\r\n'
    'empty body|'
    'bare LF line ends (CRLF on the wire)|one\ntwo\n\n'
    'bare CR inside a line|carriage\rreturn\r\n'
    '8-bit text|Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen  \r\n'
    'dot lines|.\r\n..\r\n.leading dot\r\n'
)
n=0
for c in "${cases[@]}"; do
    name=${c%%|*}
    body=${c#*|}
    n=$((n + 1))
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: case %d\r\nMessage-ID: <%d@corp.example>\r\n\r\n' \
        "$n" "$n" >"$tmp/m$n.eml"
    printf "$body" >>"$tmp/m$n.eml"
    "$SJM_BIN" -c "$tmp/f.conf" --inspect "$tmp/m$n.eml" --from alice@corp.example \
        --rcpt bob@corp.example --output "$tmp/out$n.eml" 2>"$tmp/sum$n"
    ours=$(tr -d '\r' <"$tmp/out$n.eml" | sed -n '/^X-SMIME-Journal-Milter-Journaled:/,/^[^ \t]/p' |
        tr -d '\n\t ' | grep -o 'b=[^;]*' | head -1 | cut -c3-)
    theirs=$("$PY" - "$tmp/m$n.eml" <<'PY'
import base64, hashlib, re, sys
from dkim.canonicalization import Relaxed
raw = open(sys.argv[1], "rb").read()
body = raw.split(b"\r\n\r\n", 1)[1]
# As SMTP carries it (and as the filter sees it): every line end CRLF.
body = re.sub(rb"(?<!\r)\n", b"\r\n", body)
print(base64.b64encode(hashlib.sha256(Relaxed.canonicalize_body(body)).digest()).decode())
PY
)
    if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
        ok "$name: b= equals dkimpy's relaxed body hash"
    else
        bad "$name: b=${ours:-none}, dkimpy: $theirs ($(cat "$tmp/sum$n"))"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
