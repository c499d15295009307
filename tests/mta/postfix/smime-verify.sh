#!/bin/bash
# smime-verify.sh - [verify] (SPEC section 4): S/MIME verification against a
# trust list, its Authentication-Results (RFC 8601 / RFC 7281) and the
# header firewall, first through --inspect (the code a live transaction
# runs), then through a real Postfix (tests/lib/e2e.sh):
#   results   pass for RSA, ECDSA, RSA-PSS, detached, opaque, nested in
#             multipart/mixed and the outer signature of a triple wrap;
#             policy (untrusted signer), fail (tampered, revoked on the
#             CRL), permerror (no certificates) - each with its reason
#   fields    body.smime-identifier/-part/-serial/-issuer match openssl's
#             view of the signer certificate
#   firewall  forged Authentication-Results claiming our authserv-id are
#             removed for untrusted clients, kept for trusted ones; other
#             authserv-ids are kept
#   order     verification before stripping: a legacy recipient gets the
#             content plus smime=pass; on_invalid=strip removes invalid
#             signatures even for recipients who keep signatures
#   corpus    every Thunderbird file at a fixed time: pass exactly where
#             openssl accepts the signature
#   Postfix   the field arrives at the recipient above Postfix's Received:,
#             preserved signatures still verify, forged fields are gone
set -u
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/smime.sh"
command -v openssl >/dev/null || e2e_fail "openssl is not installed"
CHECK="python3 $abs_top_srcdir/tests/lib/mimecheck.py"
CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found: $CORPUS (set SJM_CORPUS)"

T=$(mktemp -d /tmp/sjm-verify.XXXXXX)
trap 'rm -rf "$T"' EXIT
UNTRUSTED=198.51.100.7
TRUSTED=192.0.2.5

# ------------------------------------------------------------- PKI
smime_pki "$T"
mkcert rsa -- rsa:2048
mkcert ec -- ec -pkeyopt ec_paramgen_curve:P-256
mkcert rcpt bob@corp.example -- rsa:2048
mkcert mallory mallory@corp.example -- rsa:2048
selfsigned eve eve@evil.example
revoke mallory

# ------------------------------------------------------------- messages
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello Bob,\r\n\r\nthe quarterly figures.\r\n-- \r\nAlice\r\n' >"$T/text.ent"
sign detached "$T/text.ent" "detached RSA" -signer "$T/rsa.pem" -inkey "$T/rsa.key"
sign opaque "$T/text.ent" "opaque RSA" -nodetach -signer "$T/rsa.pem" -inkey "$T/rsa.key"
sign ecdsa "$T/text.ent" "detached ECDSA" -signer "$T/ec.pem" -inkey "$T/ec.key"
sign pss "$T/text.ent" "detached RSA-PSS" -signer "$T/rsa.pem" -inkey "$T/rsa.key" -keyopt rsa_padding_mode:pss
sign nocerts "$T/text.ent" "no certificates" -nocerts -signer "$T/rsa.pem" -inkey "$T/rsa.key"
SMIME_FROM=eve@evil.example sign untrusted "$T/text.ent" "self-signed" -signer "$T/eve.pem" -inkey "$T/eve.key"
SMIME_FROM=mallory@corp.example sign revoked "$T/text.ent" "revoked" -signer "$T/mallory.pem" -inkey "$T/mallory.key"
sed 's/quarterly figures/quarterly losses/' "$T/detached.eml" >"$T/tampered.eml"
entity_of "$T/detached.eml" "$T/detached.ent"
{
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: [list] nested\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/mixed; boundary="=_list_"\r\n\r\n'
    printf -- '--=_list_\r\nContent-Type: text/plain\r\n\r\nList header\r\n--=_list_\r\n'
    cat "$T/detached.ent"
    printf '\r\n--=_list_--\r\n'
} >"$T/nested.eml"
sign inner "$T/text.ent" "inner" -signer "$T/rsa.pem" -inkey "$T/rsa.key"
entity_of "$T/inner.eml" "$T/inner.ent"
ossl cms -encrypt -in "$T/inner.ent" -aes256 -crlfeol -out "$T/enc.tmp" "$T/rcpt.pem"
entity_of "$T/enc.tmp" "$T/enc.ent"
sign triple "$T/enc.ent" "triple wrapped" -binary -signer "$T/ec.pem" -inkey "$T/ec.key"
# Forged results on top of a good message: one claims our authserv-id.
{
    printf 'Authentication-Results: mx.test; smime=pass body.smime-identifier=ceo@corp.example\r\n'
    printf 'Authentication-Results: other.example; spf=pass smtp.mailfrom=corp.example\r\n'
    cat "$T/untrusted.eml"
} >"$T/forged.eml"
{
    printf 'Authentication-Results: (looks innocent) MX.Test;\r\n\tsmime=pass\r\n'
    printf 'From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: plain\r\n\r\nNot signed.\r\n'
} >"$T/plain.eml"

cat >"$T/filter.conf" <<EOF
[milter]
trusted_networks = 192.0.2.0/24
[signatures]
action = preserve
strip_for = *@legacy.example
[verify]
enabled = true
trust_anchors = $T/ca.pem
crl = $T/crl.pem
authserv_id = mx.test
[journal]
enabled = false
EOF
sed 's/^\[verify\]$/[verify]\non_invalid = strip/' "$T/filter.conf" >"$T/strip-invalid.conf"

# inspect CONF FILE RCPT [CLIENT]: $T/out.eml, summary in $T/sum
inspect() {
    "$SJM_BIN" -c "$1" --inspect "$2" --from alice@corp.example --rcpt "$3" \
        --client-addr "${4:-$UNTRUSTED}" ${VTIME:+--verify-time "$VTIME"} --output "$T/out.eml" 2>"$T/sum"
}
# The Authentication-Results fields of a file, unfolded, one a line.
ar_fields() {
    python3 - "$1" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
for v in m.get_all("Authentication-Results") or []:
    print(" ".join(v.split()))
PY
}
ours() { ar_fields "$1" | grep -ci '^mx\.test;' || true; }
# all CMD... -- CMD...: every command succeeds; none CMD...: it fails.
all() {
    local cmd=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then "${cmd[@]}" || return 1; cmd=(); else cmd+=("$1"); fi
        shift
    done
    "${cmd[@]}"
}
none() { ! "$@"; }
quiet() { "$@" 2>/dev/null; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# expect NAME CODE REASON SIGNER: the one result of $T/NAME.eml for a modern recipient
expect() {
    local name=$1 code=$2 reason=$3 signer=$4
    inspect "$T/filter.conf" "$T/$name.eml" bob@corp.example
    local sum ar
    sum=$(cat "$T/sum")
    ar=$(ar_fields "$T/out.eml" | grep -i '^mx\.test;')
    e2e_check "$name: verify=$code verify_reason=$reason [$(grep -o 'verify=.*' <<<"$sum")]" \
        grep -q "verify=$code verify_reason=$reason " <<<"$sum"
    e2e_check "$name: one Authentication-Results field says smime=$code reason=\"$reason\"" \
        [ "$(grep -c "smime=$code reason=\"$reason\"" <<<"$ar")" = 1 ]
    if [ -n "$signer" ]; then
        e2e_check "$name: body.smime-identifier=$signer" grep -q "body.smime-identifier=$signer " <<<"$ar"
    fi
    e2e_check "$name: signature preserved for a modern recipient" grep -q 'signature=preserved' <<<"$sum"
}

# ------------------------------------------------------------- --inspect
expect detached pass valid alice@corp.example
ar=$(ar_fields "$T/out.eml")
e2e_check "detached: body.smime-part=2 and the signer's serial and issuer" \
    grep -q "body.smime-part=2 body.smime-serial=$(serial_of "$T/rsa.pem") body.smime-issuer=\"CN=Test CA,O=sjm test\"" <<<"$ar"
e2e_check "detached: the message is otherwise unchanged" \
    cmp -s <(grep -v -e '^Authentication-Results:' -e $'^\t' "$T/out.eml" | tr -d '\r') \
           <(grep -v -e $'^\t' "$T/detached.eml" | tr -d '\r')
e2e_check "detached: the signature still verifies in the output" \
    quiet openssl cms -verify -CAfile "$T/ca.pem" -in "$T/out.eml" -out /dev/null
expect opaque pass valid alice@corp.example
e2e_check "opaque: body.smime-part=1" grep -q 'body.smime-part=1 ' <(ar_fields "$T/out.eml")
expect ecdsa pass valid alice@corp.example
expect pss pass valid alice@corp.example
expect nested pass valid alice@corp.example
e2e_check "nested: body.smime-part=2.2 (the signature inside part 2)" \
    grep -q 'body.smime-part=2.2 ' <(ar_fields "$T/out.eml")
expect triple pass valid alice@corp.example
expect untrusted policy untrusted-signer eve@evil.example
expect tampered fail bad-signature alice@corp.example
expect revoked fail revoked mallory@corp.example
expect nocerts permerror no-certificate ""
ar_fields "$T/out.eml" | grep -i '^mx.test;' >"$T/ar"
e2e_check "nocerts: no serial or issuer without a certificate" none grep -q 'smime-serial\|smime-issuer' "$T/ar"

inspect "$T/filter.conf" "$T/detached.eml" bob@corp.example
e2e_check "signer address matches From: (verify_from=match)" grep -q 'verify_from=match' "$T/sum"
inspect "$T/filter.conf" "$T/nested.eml" bob@corp.example
sed 's/^From: alice@corp.example/From: ceo@corp.example/' "$T/detached.eml" >"$T/otherfrom.eml"
inspect "$T/filter.conf" "$T/otherfrom.eml" bob@corp.example
e2e_check "signer address differs from From: (verify_from=mismatch)" grep -q 'verify_from=mismatch' "$T/sum"

# header firewall
inspect "$T/filter.conf" "$T/forged.eml" bob@corp.example "$UNTRUSTED"
ar_fields "$T/out.eml" >"$T/ar"
e2e_check "forged: the field claiming mx.test from an untrusted client is removed" \
    none grep -q 'ceo@corp.example' "$T/ar"
e2e_check "forged: only our own field claims mx.test (policy, untrusted signer)" \
    [ "$(ours "$T/out.eml")" = 1 -a "$(ar_fields "$T/out.eml" | grep -ci 'mx.test; smime=policy')" = 1 ]
e2e_check "forged: another authserv-id's field is kept" grep -q '^other.example; spf=pass' <(ar_fields "$T/out.eml")
e2e_check "forged: the removal is logged (authres_removed=1)" grep -q 'authres_removed=1' "$T/sum"
inspect "$T/filter.conf" "$T/forged.eml" bob@corp.example "$TRUSTED"
e2e_check "forged: from a trusted client the field is kept beside ours" [ "$(ours "$T/out.eml")" = 2 ]
inspect "$T/filter.conf" "$T/plain.eml" bob@corp.example "$UNTRUSTED"
e2e_check "plain: forged field (comment, case, folding) removed, none added, verify=none" \
    all [ "$(ours "$T/out.eml")" = 0 ] -- grep -q 'verify=none' "$T/sum" -- grep -q 'authres_removed=1' "$T/sum"

# verification before stripping
inspect "$T/filter.conf" "$T/detached.eml" old@legacy.example
ar_fields "$T/out.eml" >"$T/ar"
e2e_check "legacy: signature stripped, and the field says smime=pass for alice" \
    all grep -q 'signature=stripped(detached)' "$T/sum" -- \
        grep -q 'mx.test; smime=pass reason="valid" body.smime-identifier=alice@corp.example' "$T/ar"
e2e_check "legacy: no signature left in what the recipient gets" [ "$($CHECK sigs "$T/out.eml")" = 0 ]
inspect "$T/filter.conf" "$T/triple.eml" old@legacy.example
e2e_check "triple legacy: outer signature stripped after it verified (smime=pass)" \
    all grep -q 'signature=stripped' "$T/sum" -- grep -q 'verify=pass ' "$T/sum"

# on_invalid
inspect "$T/strip-invalid.conf" "$T/tampered.eml" bob@corp.example
e2e_check "on_invalid=strip: tampered signature stripped for a modern recipient, smime=fail" \
    all grep -q 'signature=stripped(detached)' "$T/sum" -- grep -q 'verify=fail ' "$T/sum" -- \
        [ "$($CHECK sigs "$T/out.eml")" = 0 ]
inspect "$T/strip-invalid.conf" "$T/detached.eml" bob@corp.example
e2e_check "on_invalid=strip: a valid signature is kept" grep -q 'signature=preserved' "$T/sum"
inspect "$T/filter.conf" "$T/tampered.eml" bob@corp.example
e2e_check "on_invalid=keep: the tampered signature is kept" grep -q 'signature=preserved' "$T/sum"

# the corpus at a fixed time, against openssl's verdict
if [ -d "$CORPUS" ]; then
    exp=$(date -d "$(head -1 "$CORPUS/expiration.txt")" +%s) || e2e_fail "cannot read expiration.txt"
    VTIME=$((exp - 86400 * 30))
    sed "s|^trust_anchors = .*|trust_anchors = $CORPUS/TestCA.pem|; /^crl = /d" "$T/filter.conf" >"$T/corpus.conf"
    agree=0 total=0 passes=0
    for f in "$CORPUS"/*.eml; do
        top_signed "$f" || continue
        total=$((total + 1))
        inspect "$T/corpus.conf" "$f" bob@corp.example
        first=$(grep -o 'verify=[a-z]*' "$T/sum" | head -1)
        if openssl cms -verify -CAfile "$CORPUS/TestCA.pem" -attime "$VTIME" -purpose smimesign \
            -in "$f" -out /dev/null 2>/dev/null; then want=verify=pass; else want=notpass; fi
        [ "$first" = verify=pass ] && passes=$((passes + 1))
        case "$want/$first" in
            verify=pass/verify=pass|notpass/verify=[a-z]*[a-z]) agree=$((agree + 1)) ;;
            *) e2e_bad "corpus $(basename "$f"): ${first:-no result}, openssl: $want" ;;
        esac
    done
    e2e_check "corpus: $agree of $total signed files agree with openssl ($passes pass)" \
        [ "$agree" = "$total" -a "$passes" -gt 10 ]
    inspect "$T/corpus.conf" "$CORPUS/alice.dsig.SHA256.multipart.eml" bob@corp.example
    e2e_check "corpus: --verify-time judges a valid file at that time (pass)" grep -q 'verify=pass ' "$T/sum"
    VTIME=
    inspect "$T/corpus.conf" "$CORPUS/alice.dsig.SHA256.multipart.eml" bob@corp.example
    if [ "$(date +%s)" -gt "$exp" ]; then
        e2e_check "corpus: without --verify-time, after expiry, smime=policy (expired)" grep -q 'verify=policy verify_reason=expired' "$T/sum"
    else
        e2e_check "corpus: without --verify-time, judged now (pass until $(head -1 "$CORPUS/expiration.txt"))" grep -q 'verify=pass ' "$T/sum"
    fi
else
    echo "SKIP: corpus not found at $CORPUS (set SJM_CORPUS): corpus cases not run"
fi

# ------------------------------------------------------------- Postfix
# A SIGHUP reload reads the trust list as the filter's own user.
chmod 711 "$T"
chmod 644 "$T/ca.pem" "$T/crl.pem"
e2e_start "$T/filter.conf"
trap 'st=$?; rm -rf "$T"; (exit $st); e2e_cleanup' EXIT
deliver() {
    local f=$1
    shift
    e2e_send "$f" alice@corp.example "$@" >"$T/send.out" || { cat "$T/send.out"; return 1; }
    e2e_wait_idle 60 >/dev/null
}
newest() { e2e_messages "$1" | tail -n 1; }
# Is the first Authentication-Results field above the first Received: field?
above_received() {
    awk '/^$/ { exit } /^Authentication-Results:/ && !a { a = NR } /^Received:/ && !r { r = NR }
         END { exit !(a && r && a < r) }' "$1"
}

deliver "$T/detached.eml" bob@corp.example
deliver "$T/detached.eml" old@legacy.example
got=$(newest bob@corp.example)
e2e_check "Postfix modern: the field arrives, smime=pass for alice" \
    grep -q '^mx.test; smime=pass reason="valid" body.smime-identifier=alice@corp.example' <(ar_fields "$got")
e2e_check "Postfix modern: the field sits above Postfix's own Received:" above_received "$got"
e2e_strip_trace "$got" >"$T/got.eml"
e2e_check "Postfix modern: the signature still verifies at the recipient" \
    quiet openssl cms -verify -CAfile "$T/ca.pem" -in "$T/got.eml" -out /dev/null
got=$(newest old@legacy.example)
ar_fields "$got" >"$T/ar"
e2e_check "Postfix legacy: stripped, and told smime=pass for alice" \
    all [ "$($CHECK sigs "$got")" = 0 ] -- \
        grep -q '^mx.test; smime=pass reason="valid" body.smime-identifier=alice@corp.example' "$T/ar"
e2e_check "Postfix legacy: the field sits above Postfix's own Received:" above_received "$got"

deliver "$T/forged.eml" forged@corp.example
got=$(newest forged@corp.example)
e2e_check "Postfix: the forged field is gone (127.0.0.1 is not trusted here)" \
    none grep -q 'ceo@corp.example' "$got"
e2e_check "Postfix: our field says policy/untrusted-signer for eve" \
    grep -q '^mx.test; smime=policy reason="untrusted-signer" body.smime-identifier=eve@evil.example' <(ar_fields "$got")
e2e_check "Postfix: the other authserv-id's field is kept" grep -q '^other.example; spf=pass' <(ar_fields "$got")

deliver "$T/revoked.eml" rev@corp.example
e2e_check "Postfix: revoked signer arrives as smime=fail reason=revoked" \
    grep -q '^mx.test; smime=fail reason="revoked"' <(ar_fields "$(newest rev@corp.example)")
e2e_check "Postfix: the filter logged verify=fail verify_reason=revoked" \
    grep -q 'verify=fail verify_reason=revoked' "$(e2e_filter_log)"

e2e_reload "$T/strip-invalid.conf"
sleep 1
deliver "$T/tampered.eml" tam@corp.example
got=$(newest tam@corp.example)
ar_fields "$got" >"$T/ar"
e2e_check "Postfix on_invalid=strip (after SIGHUP): tampered signature stripped, smime=fail" \
    all [ "$($CHECK sigs "$got")" = 0 ] -- grep -q '^mx.test; smime=fail reason="bad-signature"' "$T/ar"
# mixed = split with [verify]: the message is scanned and verified once;
# the preserving recipient's copy and the legacy recipient's stripped copy
# each carry exactly one field of ours per signature.
sed 's/^\[signatures\]$/[signatures]\nmixed = split/' "$T/filter.conf" >"$T/split.conf"
e2e_reload "$T/split.conf"
sleep 1
split_case() {
    local name=$1 file=$2 keep=$3 cut=$4
    deliver "$file" "$keep" "$cut"
    local kept stripped
    kept=$(newest "$keep")
    stripped=$(newest "$cut")
    e2e_check "Postfix split+verify $name: both recipients got their copy" test -n "$kept" -a -n "$stripped"
    e2e_check "Postfix split+verify $name: the preserving copy keeps its signature" \
        [ "$($CHECK sigs "$kept")" -ge 1 ]
    e2e_check "Postfix split+verify $name: the legacy copy is stripped" [ "$($CHECK sigs "$stripped")" = 0 ]
    e2e_check "Postfix split+verify $name: exactly one mx.test field in the preserving copy" \
        [ "$(ours "$kept")" = 1 ]
    e2e_check "Postfix split+verify $name: exactly one mx.test field in the stripped copy" \
        [ "$(ours "$stripped")" = 1 ]
}
split_case ours "$T/detached.eml" keep1@corp.example cut1@legacy.example
if [ -d "$CORPUS" ]; then
    split_case corpus "$CORPUS/alice.dsig.SHA256.multipart.eml" keep2@corp.example cut2@legacy.example
else
    echo "SKIP: corpus not found at $CORPUS: split+verify corpus case not run"
fi
e2e_check "Postfix split+verify: the filter verified each message once (one verify= per log line)" \
    all [ "$(grep -c 'del_rcpt=<cut1@legacy.example>' "$(e2e_filter_log)")" = 1 ] -- \
        [ "$(grep 'del_rcpt=<cut1@legacy.example>' "$(e2e_filter_log)" | grep -o ' verify=' | wc -l)" = 1 ]
e2e_finish
