#!/bin/bash
# smime.sh - the S/MIME promises through a real Sendmail (tests/lib/sendmail.sh):
#   preserve  the delivered file is the sent message apart from Sendmail's
#             Received field, and every signature openssl accepted before
#             still verifies after delivery (corpus at a fixed -attime)
#   strip     no S/MIME signature left; the delivered entity is the signed
#             content openssl extracts
#   encrypted passes untouched either way
#   log       one filter line per message, with Sendmail's queue id
# Messages: a dozen Thunderbird corpus files covering its shapes (the
# Postfix suite sends all of it; here the MTA is what is tested), both
# ways, and three made here with openssl (detached, opaque,
# signed-then-encrypted).
set -u
. "$abs_top_srcdir/tests/lib/sendmail.sh"
. "$abs_top_srcdir/tests/lib/smime.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"
CHECK="python3 $abs_top_srcdir/tests/lib/mimecheck.py"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"

CORPUS_FILES="alice.dsig.SHA256.multipart alice.dsig.SHA1.multipart.bad alice.sig.SHA256.opaque
    alice.sig.SHA512.opaque alice.env alice.dsig.SHA256.multipart.env.dsig alice.dsig.SHA256.multipart.in.mixed
    alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart alice.env.sig.SHA256.opaque nested-sigs
    multiple-signatures multipart-alternative"
T=$(mktemp -d /tmp/sjm-smsmime.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat >"$T/filter.conf" <<EOF
[signatures]
action = preserve
strip_for = *@legacy.example
strip_attached_messages = true
[journal]
enabled = false
EOF
sm_start "$T/filter.conf"
trap 'st=$?; rm -rf "$T"; (exit $st); sm_cleanup' EXIT

# ------------------------------------------------- openssl-made messages
ossl() { openssl "$@" 2>>"$T/openssl.log" || e2e_fail "openssl $1 failed: $(tail -3 "$T/openssl.log")"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 30 \
    -subj "/O=sjm test/CN=Test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
printf 'basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:alice@corp.example\n' >"$T/user.cnf"
for n in signer rcpt; do
    ossl req -new -newkey rsa:2048 -nodes -keyout "$T/$n.key" -out "$T/$n.csr" \
        -subj "/O=sjm test/CN=$n/emailAddress=alice@corp.example"
    ossl x509 -req -in "$T/$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial "$RANDOM$RANDOM" \
        -days 30 -extfile "$T/user.cnf" -out "$T/$n.pem"
done
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob,\r\n\r\nthe figures.\r\n' >"$T/text.ent"
sign() { # NAME SUBJECT cms-args...
    local name=$1 subj=$2
    shift 2
    ossl cms -sign -in "$T/text.ent" -from alice@corp.example -to bob@corp.example -subject "$subj" \
        -crlfeol -signer "$T/signer.pem" -inkey "$T/signer.key" "$@" -out "$T/$name.eml"
}
sign detached "detached"
sign opaque "opaque" -nodetach
# signed, then encrypted: nothing the filter can see to strip
sign inner "inner"
awk 'BEGIN { h = 1 } h && /^\r?$/ { h = 0; print; next }
     h && /^[ \t]/ { if (keep) print; next } h { keep = tolower($0) ~ /^content-/; if (keep) print; next }
     { print }' "$T/inner.eml" | sed 's/\r*$/\r/' >"$T/inner.ent"
ossl cms -encrypt -in "$T/inner.ent" -aes256 -from alice@corp.example -to bob@corp.example \
    -subject "signed then encrypted" -crlfeol -out "$T/sign_enc.eml" "$T/rcpt.pem"
verify_gen() { openssl cms -verify -CAfile "$T/ca.pem" -in "$1" -out /dev/null 2>/dev/null; }
exp=$(date -d "$(head -1 "$CORPUS/expiration.txt")" +%s 2>/dev/null) || e2e_fail "cannot read expiration.txt"
ATTIME=$((exp - 86400 * 30))
verify_corpus() {
    openssl cms -verify -CAfile "$CORPUS/TestCA.pem" -attime "$ATTIME" -in "$1" -out /dev/null 2>/dev/null
}

newest() { e2e_messages "$1" | tail -n 1; }
same_as_sent() { [ -n "$1" ] && cmp -s <(e2e_strip_trace "$1") <(sm_as_written "$2"); }
rcpt_of() { basename "$1" .eml | tr -c 'a-zA-Z0-9\n' '-' | cut -c1-50; }

# ------------------------------------------------- send everything once
sent=0
send() { # FILE RCPT
    if e2e_send "$1" alice@corp.example "$2" >"$T/send.out"; then
        sent=$((sent + 1))
    else
        e2e_bad "$(basename "$1") to $2 refused: $(tail -1 "$T/send.out")"
    fi
}
for n in detached opaque sign_enc; do
    send "$T/$n.eml" "gen-$n@corp.example"
    send "$T/$n.eml" "gen-$n@legacy.example"
done
for c in $CORPUS_FILES; do
    f=$CORPUS/$c.eml
    [ -f "$f" ] || e2e_fail "corpus file $f missing"
    send "$f" "$(rcpt_of "$f")@corp.example"
    send "$f" "$(rcpt_of "$f")@legacy.example"
done
sm_wait_idle 300 || e2e_bad "Sendmail's queue not empty after 300 s"

# check_preserved NAME SENT DELIVERED VERIFYFN
check_preserved() {
    e2e_check "$1 preserve: delivered = sent apart from Sendmail's Received" same_as_sent "$3" "$2"
    if $4 "$2"; then
        e2e_strip_trace "$3" >"$T/got.eml"
        e2e_check "$1 preserve: signature still verifies after Sendmail" $4 "$T/got.eml"
    fi
}
# check_stripped NAME SENT DELIVERED
check_stripped() {
    e2e_strip_trace "$3" >"$T/got.eml"
    e2e_check "$1 strip: no S/MIME signature left" [ "$($CHECK sigs "$T/got.eml")" = 0 ]
    top_signed "$2" || return 0
    if innermost "$2" "$T/want.ent" "$T"; then
        [ "$($CHECK sigs "$T/want.ent")" != 0 ] && return 0
        e2e_check "$1 strip: delivered entity == signed content" \
            cmp -s <($CHECK entity "$T/want.ent") <($CHECK entity "$T/got.eml")
    else
        e2e_bad "$1 strip: openssl could not extract the content"
    fi
}

# ------------------------------------------------- generated
for n in detached opaque; do
    e2e_check "$n: openssl verifies the sent message" verify_gen "$T/$n.eml"
    check_preserved "$n" "$T/$n.eml" "$(newest "gen-$n@corp.example")" verify_gen
    check_stripped "$n" "$T/$n.eml" "$(newest "gen-$n@legacy.example")"
done
for r in gen-sign_enc@corp.example gen-sign_enc@legacy.example; do
    got=$(newest "$r")
    e2e_check "signed-then-encrypted to $r: delivered unchanged" same_as_sent "$got" "$T/sign_enc.eml"
    e2e_strip_trace "${got:-/dev/null}" >"$T/got.eml"
    e2e_check "signed-then-encrypted to $r: decrypts to a verifying signature" \
        bash -c "openssl cms -decrypt -recip '$T/rcpt.pem' -inkey '$T/rcpt.key' -in '$T/got.eml' -out '$T/dec.ent' 2>/dev/null &&
                 openssl cms -verify -CAfile '$T/ca.pem' -in '$T/dec.ent' -out /dev/null 2>/dev/null"
done

# ------------------------------------------------- the corpus
nverified=0
for c in $CORPUS_FILES; do
    f=$CORPUS/$c.eml
    b=$(basename "$f" .eml)
    r=$(rcpt_of "$f")
    got=$(newest "$r@corp.example")
    [ -n "$got" ] || { e2e_bad "$b: not delivered"; continue; }
    verify_corpus "$f" && nverified=$((nverified + 1))
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
e2e_check "corpus signatures openssl accepts at -attime: $nverified (expected 5)" [ "$nverified" -eq 5 ]
enc=$(newest alice-env@legacy.example)
e2e_check "encrypted corpus message to a strip recipient: untouched" same_as_sent "$enc" "$CORPUS/alice.env.eml"

# ------------------------------------------------- one log line per message
qids=$(grep -o 'sendmail\[[0-9]*\]: [0-9A-Za-z]*: from=<alice@corp.example>' "$(sm_log)" | awk '{print $2}' | tr -d :)
logged=0
for q in $qids; do
    [ "$(grep -c "^smime-journal-milter: $q: from=<alice@corp.example> rcpts=1 signature=" "$(e2e_filter_log)")" -eq 1 ] &&
        logged=$((logged + 1))
done
e2e_check "Sendmail logged a queue id for each of the $sent messages ($(echo "$qids" | grep -c .))" \
    [ "$(echo "$qids" | grep -c .)" -eq "$sent" ]
e2e_check "the filter logged exactly one line with Sendmail's queue id for each ($logged of $sent)" \
    [ "$logged" -eq "$sent" ]
e2e_finish
