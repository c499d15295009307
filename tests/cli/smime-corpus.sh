#!/bin/bash
# smime-corpus.sh - every file of the Thunderbird S/MIME corpus through
# "smime-journal-milter --inspect", the exact code a live transaction runs:
#   preserve  output byte-identical to the input, signature= from the headers
#   strip     no S/MIME signature left (Python's MIME parser looks), the
#             delivered entity equals what "openssl cms -verify -noverify -out"
#             extracts (repeated through nested signatures), enveloped parts
#             byte for byte, signature= per file
#   mixed     recipients that disagree resolve as [signatures] mixed says
# No Postfix needed; tests/mta/postfix/smime.sh does the same through Postfix.
set -u
: "${abs_top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SJM_BIN:?SJM_BIN must point at the built smime-journal-milter}"
. "$abs_top_srcdir/tests/lib/e2e.sh"
. "$abs_top_srcdir/tests/lib/smime.sh"

CORPUS=${SJM_CORPUS:-$abs_top_srcdir/../shared/corpus/thunderbird}
[ -d "$CORPUS" ] || e2e_fail "corpus not found (set SJM_CORPUS)"
CHECK="python3 $abs_top_srcdir/tests/lib/mimecheck.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# file  preserve-value  strip-value (strip_attached_messages = true)
EXPECT="
alice.dsig.SHA1.multipart.bad.eml preserved stripped(detached)
alice.dsig.SHA1.multipart.eml preserved stripped(detached)
alice.dsig.SHA1.multipart.env.eml encrypted encrypted
alice.dsig.SHA1.multipart.mismatch-econtent.eml preserved stripped(detached)
alice.dsig.SHA256.multipart.bad.eml preserved stripped(detached)
alice.dsig.SHA256.multipart.eml preserved stripped(detached)
alice.dsig.SHA256.multipart.env.dsig.eml preserved stripped(detached)
alice.dsig.SHA256.multipart.env.eml encrypted encrypted
alice.dsig.SHA256.multipart.in.mixed.eml none stripped(detached)
alice.dsig.SHA256.multipart.in.mixed.with.header.eml none stripped(detached)
alice.dsig.SHA256.multipart.mismatch-econtent.eml preserved stripped(detached)
alice.dsig.SHA384.multipart.bad.eml preserved stripped(detached)
alice.dsig.SHA384.multipart.eml preserved stripped(detached)
alice.dsig.SHA512.multipart.bad.eml preserved stripped(detached)
alice.dsig.SHA512.multipart.eml preserved stripped(detached)
alice.env.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml preserved stripped(detached,opaque)
alice.env.dsig.SHA256.multipart.eml preserved stripped(detached)
alice.env.eml encrypted encrypted
alice.env.mixed.dsig.SHA256.multipart.eml preserved stripped(detached)
alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml preserved stripped(opaque)
alice.env.sig.SHA256.opaque.eml preserved stripped(opaque)
alice.future.dsig.SHA256.multipart.eml preserved stripped(detached)
alice.html.sig.SHA256.opaque.eml preserved stripped(opaque)
alice.html.sig.SHA256.opaque.env.eml encrypted encrypted
alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml preserved stripped(detached)
alice.plain.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml preserved stripped(detached,opaque)
alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart.eml preserved stripped(detached,opaque)
alice.plain.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml preserved stripped(opaque)
alice.sig.SHA1.opaque.eml preserved stripped(opaque)
alice.sig.SHA1.opaque.env.eml encrypted encrypted
alice.sig.SHA256.opaque.eml preserved stripped(opaque)
alice.sig.SHA256.opaque.env.eml encrypted encrypted
alice.sig.SHA384.opaque.eml preserved stripped(opaque)
alice.sig.SHA512.opaque.eml preserved stripped(opaque)
dual-signed-uncommon-content-type.eml preserved stripped(detached)
multipart-alternative.eml none encrypted
multiple-signatures.eml none malformed
nested-sigs.eml preserved stripped(detached)
outer-pgp-sig-inner-smime-enc-sig.eml none encrypted
outer-pgp-sig-inner-smime-enc.eml none encrypted
outer-smime-bad-sig-inner-pgp-enc-sig-with-mixed.eml preserved stripped(detached)
outer-smime-bad-sig-inner-pgp-enc-sig.eml preserved stripped(detached)
outer-smime-bad-sig-inner-pgp-enc.eml preserved stripped(detached)
outer-smime-bad-sig-inner-smime-enc-sig.eml preserved stripped(detached)
outer-smime-bad-sig-inner-smime-enc.eml preserved stripped(detached)
"

cat >"$T/preserve.conf" <<'EOF'
[journal]
enabled = false
EOF
cat >"$T/strip.conf" <<'EOF'
[signatures]
action = strip
strip_attached_messages = true
[journal]
enabled = false
EOF
cat >"$T/strip-noattached.conf" <<'EOF'
[signatures]
action = strip
[journal]
enabled = false
EOF

# inspect CONF FILE OUT RCPT...: runs --inspect, prints the signature= value.
inspect() {
    local conf=$1 in=$2 out=$3
    shift 3
    local args=()
    for r in "$@"; do args+=(--rcpt "$r"); done
    "$SJM_BIN" -c "$conf" --inspect "$in" --from alice@example.com "${args[@]}" \
        --output "$out" 2>"$out.err" || { echo "inspect-failed"; return; }
    sed -n 's/.*signature=\([^ ]*\).*/\1/p' "$out.err" | head -1
}

files=0
while read -r f pres strip; do
    [ -n "$f" ] || continue
    in=$CORPUS/$f
    [ -f "$in" ] || { e2e_bad "$f: missing from the corpus"; continue; }
    files=$((files + 1))

    # ---- preserve
    got=$(inspect "$T/preserve.conf" "$in" "$T/p.out" bob@example.com)
    e2e_check "$f preserve: signature=$pres" [ "$got" = "$pres" ]
    e2e_check "$f preserve: byte-identical" cmp -s "$in" "$T/p.out"

    # ---- strip
    got=$(inspect "$T/strip.conf" "$in" "$T/s.out" bob@example.com)
    e2e_check "$f strip: signature=$strip" [ "$got" = "$strip" ]
    case "$strip" in
        stripped*)
            e2e_check "$f strip: no signature left" [ "$($CHECK sigs "$T/s.out")" = 0 ]
            e2e_check "$f strip: parses as MIME without new defects" \
                [ "$($CHECK defects "$T/s.out")" -le "$($CHECK defects "$in")" ]
            e2e_check "$f strip: encrypted layers byte-identical" $CHECK encin "$in" "$T/s.out" >/dev/null
            if top_signed "$in"; then
                # Attached messages stay as they are here, as openssl sees them.
                inspect "$T/strip-noattached.conf" "$in" "$T/sn.out" bob@example.com >/dev/null
                if innermost "$in" "$T/content" "$T"; then
                    $CHECK entity "$T/content" >"$T/want"
                    $CHECK entity "$T/sn.out" >"$T/have"
                    e2e_check "$f strip: delivered entity == signed content (openssl)" cmp -s "$T/want" "$T/have"
                else
                    e2e_bad "$f strip: openssl could not extract the signed content"
                fi
            fi
            ;;
        *)
            e2e_check "$f strip: unchanged" cmp -s "$in" "$T/s.out"
            ;;
    esac
done <<<"$EXPECT"
e2e_check "all $(ls "$CORPUS"/*.eml | wc -l) corpus files covered ($files)" [ "$files" -eq "$(ls "$CORPUS"/*.eml | wc -l)" ]

# ---- attached messages keep their signatures unless strip_attached_messages
got=$(inspect "$T/strip-noattached.conf" "$CORPUS/nested-sigs.eml" "$T/n.out" bob@example.com)
e2e_check "nested-sigs.eml strip without attached: signature=$got" [ "$got" = "stripped(detached)" ]
e2e_check "nested-sigs.eml strip without attached: the attached message keeps its signature" \
    [ "$($CHECK sigs "$T/n.out")" = 2 ]
got=$(inspect "$T/strip-noattached.conf" "$CORPUS/multiple-signatures.eml" "$T/n.out" bob@example.com)
e2e_check "multiple-signatures.eml strip without attached: none, unchanged" \
    [ "$got" = none ] && cmp -s "$CORPUS/multiple-signatures.eml" "$T/n.out"

# ---- mixed recipients
msg=$CORPUS/alice.dsig.SHA256.multipart.eml
for mixed in preserve strip; do
    cat >"$T/mixed.conf" <<EOF
[signatures]
action = preserve
strip_for = *@legacy.example.com
preserve_for = ceo@legacy.example.com
mixed = $mixed
[journal]
enabled = false
EOF
    want=$([ $mixed = strip ] && echo "stripped(detached)" || echo preserved)
    got=$(inspect "$T/mixed.conf" "$msg" "$T/m.out" old@legacy.example.com new@example.com)
    e2e_check "mixed=$mixed: legacy + modern recipient -> $want" [ "$got" = "$want" ]
    got=$(inspect "$T/mixed.conf" "$msg" "$T/m.out" old@LEGACY.example.com)
    e2e_check "mixed=$mixed: only legacy recipients -> stripped" [ "$got" = "stripped(detached)" ]
    got=$(inspect "$T/mixed.conf" "$msg" "$T/m.out" new@example.com other@example.org)
    e2e_check "mixed=$mixed: only modern recipients -> preserved, byte-identical" \
        [ "$got" = preserved ] && cmp -s "$msg" "$T/m.out"
    got=$(inspect "$T/mixed.conf" "$msg" "$T/m.out" ceo@legacy.example.com old@legacy.example.com)
    e2e_check "mixed=$mixed: preserve_for exception among legacy -> $want" [ "$got" = "$want" ]
done

e2e_finish
