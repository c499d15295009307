#!/bin/bash
# smime.sh - S/MIME policy through a real Postfix (tests/lib/e2e.sh):
#   preserve  every signature "openssl cms -verify" accepted before still
#             verifies in the Maildir file Postfix delivered, and the file is
#             the sent message apart from Postfix's trace fields
#   strip     no S/MIME signature left, the delivered entity equals the
#             signed content openssl extracts, encrypted layers still decrypt
#   mixed     one transaction to a legacy and a modern recipient resolves as
#             [signatures] mixed says (both settings, switched by SIGHUP)
# Messages: the Thunderbird corpus (verified at a fixed time before its
# certificates expire) and messages made here with "openssl cms" under a
# throw-away CA: detached, opaque, -binary, -noattr -nocerts, ECDSA,
# RSA-PSS, signed-then-encrypted, encrypted-then-signed (triple wrap),
# nested in multipart/mixed, a 10 MB attachment.  Keys live in a temp dir.
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/smime.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"
CHECK="python3 $abs_top_srcdir/tests/lib/mimecheck.py"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"

T=$(mktemp -d /tmp/sjm-smime.XXXXXX)
trap 'rm -rf "$T"' EXIT
MODERN=bob@corp.example
LEGACY=old@legacy.example

# ------------------------------------------------------------- keys, CA
smime_pki "$T"
mkcert rsa -- rsa:2048
mkcert ec -- ec -pkeyopt ec_paramgen_curve:P-256
mkcert rcpt -- rsa:2048

# ------------------------------------------------------------- messages
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello Bob,\r\n\r\nthe quarterly figures.\r\n-- \r\nAlice\r\n' >"$T/text.ent"

SMIME_TO=$MODERN

GEN=""
sign detached "$T/text.ent" "detached RSA" -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN detached"
sign opaque "$T/text.ent" "opaque RSA" -nodetach -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN opaque"
sign binary "$T/text.ent" "detached -binary" -binary -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN binary"
sign noattr "$T/text.ent" "detached -noattr -nocerts" -noattr -nocerts -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN noattr"
sign ecdsa "$T/text.ent" "detached ECDSA" -signer "$T/ec.pem" -inkey "$T/ec.key"; GEN="$GEN ecdsa"
sign ecdsa_opaque "$T/text.ent" "opaque ECDSA" -nodetach -signer "$T/ec.pem" -inkey "$T/ec.key"; GEN="$GEN ecdsa_opaque"
sign pss "$T/text.ent" "detached RSA-PSS" -signer "$T/rsa.pem" -inkey "$T/rsa.key" -keyopt rsa_padding_mode:pss; GEN="$GEN pss"

# signed, then encrypted: the filter can see nothing to strip.
sign inner "$T/text.ent" "inner" -signer "$T/rsa.pem" -inkey "$T/rsa.key"
entity_of "$T/inner.eml" "$T/inner.ent"
ossl cms -encrypt -in "$T/inner.ent" -aes256 -from alice@corp.example -to "$MODERN" \
    -subject "signed then encrypted" -crlfeol -out "$T/sign_enc.eml" "$T/rcpt.pem"

# encrypted, then signed (triple wrap sign(encrypt(sign))): the outer
# signature goes, the encrypted layer must still decrypt.
ossl cms -encrypt -in "$T/inner.ent" -aes256 -crlfeol -out "$T/enc.tmp" "$T/rcpt.pem"
entity_of "$T/enc.tmp" "$T/enc.ent"
sign triple "$T/enc.ent" "triple wrapped" -binary -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN triple"
sign triple_opaque "$T/enc.ent" "triple wrapped opaque" -nodetach -binary -signer "$T/ec.pem" -inkey "$T/ec.key"; GEN="$GEN triple_opaque"

# nested in multipart/mixed, as a mailing list wraps a signed post.
entity_of "$T/detached.eml" "$T/detached.ent"
{
    printf 'From: list@corp.example\r\nTo: %s\r\nSubject: [list] nested\r\nMIME-Version: 1.0\r\n' "$MODERN"
    printf 'Content-Type: multipart/mixed; boundary="=_list_"\r\n\r\n'
    printf -- '--=_list_\r\nContent-Type: text/plain\r\n\r\nList header\r\n--=_list_\r\n'
    cat "$T/detached.ent"
    printf '\r\n--=_list_\r\nContent-Type: text/plain\r\n\r\nList footer\r\n--=_list_--\r\n'
} >"$T/nested.eml"

# a 10 MB attachment
{
    printf 'Content-Type: multipart/mixed; boundary="=_att_"\r\n\r\n--=_att_\r\n'
    printf 'Content-Type: text/plain\r\n\r\nThe data set.\r\n--=_att_\r\n'
    printf 'Content-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="data.bin"\r\n\r\n'
    head -c 10485760 /dev/urandom | base64 -w 76 | sed 's/$/\r/'
    printf -- '--=_att_--\r\n'
} >"$T/big.ent"
sign big "$T/big.ent" "10 MB attachment" -signer "$T/rsa.pem" -inkey "$T/rsa.key"; GEN="$GEN big"

# verify_gen FILE: does openssl accept the signature under our CA?  A
# message made with -nocerts names a signer whose certificate is in
# SMIME_CERTFILE (lib.sh's innermost uses it too).
SMIME_CERTFILE=
verify_gen() {
    openssl cms -verify -CAfile "$T/ca.pem" -in "$1" ${SMIME_CERTFILE:+-certfile "$SMIME_CERTFILE"} \
        -out /dev/null 2>/dev/null
}
exp=$(date -d "$(head -1 "$CORPUS/expiration.txt")" +%s 2>/dev/null) || e2e_fail "cannot read expiration.txt"
ATTIME=$((exp - 86400 * 30))
verify_corpus() {
    openssl cms -verify -CAfile "$CORPUS/TestCA.pem" -attime "$ATTIME" -in "$1" -out /dev/null 2>/dev/null
}

# part_of FILE N BOUNDARY OUT: the N'th body part of FILE, bytes as they are.
part_of() {
    python3 - "$@" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
n, b = int(sys.argv[2]), sys.argv[3].encode()
parts = re.split(rb"\r?\n--" + re.escape(b) + rb"(?:--)?[ \t]*\r?\n", data)
open(sys.argv[4], "wb").write(parts[n])
PY
}

# ------------------------------------------------------------- Postfix
cat >"$T/filter.conf" <<EOF
[signatures]
action = preserve
strip_for = *@legacy.example
mixed = preserve
strip_attached_messages = true
[journal]
enabled = false
EOF
E2E_EXTRA_MAIN_CF="message_size_limit = 104857600"
e2e_start "$T/filter.conf"
trap 'st=$?; rm -rf "$T"; (exit $st); e2e_cleanup' EXIT

# deliver FILE RCPT...: send, wait, print the newest file of the first recipient.
deliver() {
    local f=$1
    shift
    e2e_send "$f" alice@corp.example "$@" >"$T/send.out" || { cat "$T/send.out"; return 1; }
    e2e_wait_idle 120 >/dev/null || return 1
}
newest() { e2e_messages "$1" | tail -n 1; }
same_as_sent() { cmp -s <(e2e_strip_trace "$1") <(e2e_lf "$2"); }

# check_preserved NAME SENT DELIVERED VERIFYFN
check_preserved() {
    local name=$1 sent=$2 got=$3 vf=$4
    e2e_strip_trace "$got" >"$T/got.eml"
    e2e_check "$name preserve: delivered = sent apart from trace fields" same_as_sent "$got" "$sent"
    if $vf "$sent"; then
        e2e_check "$name preserve: signature still verifies after Postfix" $vf "$T/got.eml"
    fi
}

# check_stripped NAME SENT DELIVERED
check_stripped() {
    local name=$1 sent=$2 got=$3
    e2e_strip_trace "$got" >"$T/got.eml"
    e2e_check "$name strip: no S/MIME signature left" [ "$($CHECK sigs "$T/got.eml")" = 0 ]
    if top_signed "$sent"; then
        if innermost "$sent" "$T/want.ent" "$T"; then
            # Signatures in attached messages are stripped too
            # (strip_attached_messages), which openssl does not look into.
            if [ "$($CHECK sigs "$T/want.ent")" != 0 ]; then return; fi
            $CHECK entity "$T/want.ent" >"$T/want"
            $CHECK entity "$T/got.eml" >"$T/have"
            e2e_check "$name strip: delivered entity == signed content" cmp -s "$T/want" "$T/have"
        else
            e2e_bad "$name strip: openssl could not extract the content"
        fi
    fi
}

# ---- generated messages, preserve and strip
i=0
for name in $GEN; do
    f=$T/$name.eml
    SMIME_CERTFILE=
    [ "$name" = noattr ] && SMIME_CERTFILE=$T/rsa.pem
    e2e_check "$name: openssl verifies the sent message" verify_gen "$f"
    [ "$name" = big ] && e2e_check "big: the message is over 10 MB ($(stat -c %s "$f") bytes)" [ "$(stat -c %s "$f")" -gt 10485760 ]
    m=gen$i@corp.example
    l=gen$i@legacy.example
    i=$((i + 1))
    deliver "$f" "$m" || { e2e_bad "$name: not delivered to $m"; continue; }
    got=$(newest "$m")
    [ -n "$got" ] || { e2e_bad "$name: nothing in $m's Maildir"; continue; }
    check_preserved "$name" "$f" "$got" verify_gen
    deliver "$f" "$l" || { e2e_bad "$name: not delivered to $l"; continue; }
    got=$(newest "$l")
    [ -n "$got" ] || { e2e_bad "$name: nothing in $l's Maildir"; continue; }
    check_stripped "$name" "$f" "$got"
    case $name in
        big)
            line=$(grep 'signature=' "$(e2e_filter_log)" | tail -1)
            e2e_check "big strip: filter logged stripped(detached) [${line##*signature=}]" \
                grep -q 'signature=stripped(detached)' <<<"$line"
            ;;
        triple*)
            # The encrypted layer is the whole delivered body now: it decrypts,
            # and inside is the signed entity that verifies.
            e2e_strip_trace "$got" >"$T/got.eml"
            e2e_check "$name strip: encrypted layer still decrypts to a verifying signature" \
                bash -c "openssl cms -decrypt -recip '$T/rcpt.pem' -inkey '$T/rcpt.key' -in '$T/got.eml' -out '$T/dec.ent' 2>/dev/null &&
                         openssl cms -verify -CAfile '$T/ca.pem' -in '$T/dec.ent' -out /dev/null 2>/dev/null"
            ;;
    esac
done

SMIME_CERTFILE=

# ---- signed then encrypted: passes untouched either way
for r in se@corp.example se@legacy.example; do
    deliver "$T/sign_enc.eml" "$r"
    got=$(newest "$r")
    e2e_check "sign_enc to $r: delivered unchanged (encrypted)" same_as_sent "$got" "$T/sign_enc.eml"
    e2e_strip_trace "$got" >"$T/got.eml"
    e2e_check "sign_enc to $r: decrypts to a verifying signature" \
        bash -c "openssl cms -decrypt -recip '$T/rcpt.pem' -inkey '$T/rcpt.key' -in '$T/got.eml' -out '$T/dec.ent' 2>/dev/null &&
                 openssl cms -verify -CAfile '$T/ca.pem' -in '$T/dec.ent' -out /dev/null 2>/dev/null"
done

# ---- nested in multipart/mixed
deliver "$T/nested.eml" nested@corp.example
got=$(newest nested@corp.example)
e2e_check "nested preserve: delivered = sent apart from trace fields" same_as_sent "$got" "$T/nested.eml"
e2e_strip_trace "$got" >"$T/got.eml"
part_of "$T/got.eml" 2 "=_list_" "$T/part.ent"
e2e_check "nested preserve: the signed part still verifies" verify_gen "$T/part.ent"
deliver "$T/nested.eml" nested@legacy.example
got=$(newest nested@legacy.example)
e2e_strip_trace "$got" >"$T/got.eml"
e2e_check "nested strip: no S/MIME signature left" [ "$($CHECK sigs "$T/got.eml")" = 0 ]
part_of "$T/got.eml" 2 "=_list_" "$T/part.ent"
innermost "$T/detached.eml" "$T/want.ent" "$T"
e2e_check "nested strip: the part is the signed content" \
    cmp -s <($CHECK entity "$T/want.ent") <($CHECK entity "$T/part.ent")
e2e_check "nested strip: list header and footer untouched" \
    bash -c "grep -q '^List header\$' '$T/got.eml' && grep -q '^List footer\$' '$T/got.eml'"

# ---- the corpus: every file, both ways.  Sent in one go, then checked;
# what the live filter had to do is what --inspect says for the same file.
nverified=0
rcpt_of() { basename "$1" .eml | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-50; }
for f in "$CORPUS"/*.eml; do
    r=$(rcpt_of "$f")
    e2e_send "$f" alice@corp.example "$r@corp.example" >/dev/null || e2e_bad "$(basename "$f"): refused (modern)"
    e2e_send "$f" alice@corp.example "$r@legacy.example" >/dev/null || e2e_bad "$(basename "$f"): refused (legacy)"
done
e2e_wait_idle 180 >/dev/null || e2e_bad "corpus: queue not empty after 180 s"
for f in "$CORPUS"/*.eml; do
    b=$(basename "$f" .eml)
    r=$(rcpt_of "$f")
    got=$(newest "$r@corp.example")
    [ -n "$got" ] || { e2e_bad "$b: not delivered"; continue; }
    if verify_corpus "$f"; then nverified=$((nverified + 1)); fi
    check_preserved "$b" "$f" "$got" verify_corpus
    got=$(newest "$r@legacy.example")
    [ -n "$got" ] || { e2e_bad "$b: not delivered (legacy)"; continue; }
    want=$("$SJM_BIN" -c "$T/filter.conf" --inspect "$f" --from alice@corp.example --rcpt "$r@legacy.example" \
        2>&1 >/dev/null | grep -o 'signature=[^ ]*')
    case "$want" in
        signature=stripped*) check_stripped "$b" "$f" "$got" ;;
        *) e2e_check "$b strip: $want, delivered unchanged" same_as_sent "$got" "$f" ;;
    esac
done
e2e_check "corpus signatures openssl accepts at -attime: $nverified (expected 17)" [ "$nverified" -eq 17 ]

# ---- mixed recipients in one transaction
f=$T/detached.eml
deliver "$f" mix1@corp.example mix1@legacy.example
e2e_check "mixed=preserve: modern recipient gets the signature" verify_gen "$(newest mix1@corp.example)"
e2e_check "mixed=preserve: legacy recipient gets it too (one body per message)" \
    same_as_sent "$(newest mix1@legacy.example)" "$f"
sed 's/^mixed = preserve/mixed = strip/' "$T/filter.conf" >"$T/filter-strip.conf"
e2e_reload "$T/filter-strip.conf"
sleep 1
deliver "$f" mix2@corp.example mix2@legacy.example
for r in mix2@corp.example mix2@legacy.example; do
    e2e_strip_trace "$(newest $r)" >"$T/got.eml"
    e2e_check "mixed=strip: $r gets the message stripped" [ "$($CHECK sigs "$T/got.eml")" = 0 ]
done
e2e_finish
