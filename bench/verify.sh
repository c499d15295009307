#!/bin/bash
# bench/verify.sh - what S/MIME verification ([verify] enabled) costs.
#   1. signatures verified per second by the verification module with the
#      trust store loaded once (bench/verify_rate.c): RSA-2048 detached,
#      ECDSA P-256 detached, RSA-PSS detached, RSA opaque;
#   2. the filter's in-process time for one signed message (time= of
#      --inspect), verify off and on, best of RUNS;
#   3. throughput through a real Postfix (tests/lib/e2e.sh, delivery to
#      the discard transport) on a signed-heavy mix - per round, one
#      smtp-source each for a detached RSA, an opaque RSA, an ECDSA
#      message nested in multipart/mixed and a plain 4 KB message, all at
#      once - with verify off and on, alternated ROUNDS times, medians and
#      the ratio on/off printed side by side.
# Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/verify.sh [MESSAGES-PER-KIND] [SESSIONS-PER-KIND] [ROUNDS]
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-500}
sessions=${2:-5}
rounds=${3:-3}
RUNS=${RUNS:-5}
bench_need_bin
. "$top/tests/lib/e2e.sh"
. "$top/tests/lib/smime.sh"
T=$(mktemp -d /tmp/sjm-bench-verify.XXXXXX)
trap 'rm -rf "$T"' EXIT
bench_need_bc

# ---------------------------------------------------------------- PKI
smime_pki "$T"
mkcert rsa -- rsa:2048
mkcert ec -- ec -pkeyopt ec_paramgen_curve:P-256
chmod 711 "$T"
chmod 644 "$T/ca.pem"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n' >"$T/text.ent"
head -c 3000 /dev/urandom | base64 -w 76 | sed 's/$/\r/' >>"$T/text.ent"

# ------------------------------------------------ 1. signatures per second
gcc -O2 -Wall -Wextra -I"$top/include" $(pkg-config --cflags glib-2.0) -o "$T/verify_rate" \
    "$top/bench/verify_rate.c" "$(dirname "$SJM_BIN")/libsjm.a" \
    $(pkg-config --libs gmime-3.0 glib-2.0 libcrypto) || exit 1
der() {   # NAME SIGNER [cms args]
    local name=$1 who=$2
    shift 2
    ossl cms -sign -binary -in "$T/text.ent" -signer "$T/$who.pem" -inkey "$T/$who.key" \
        -outform DER -out "$T/$name.der" "$@"
}
der rsa rsa
der ecdsa ec
der pss rsa -keyopt rsa_padding_mode:pss
der opaque rsa -nodetach
echo "== signatures verified per second (one thread, trust store loaded once)"
"$T/verify_rate" "$T/ca.pem" 2 rsa-detached "$T/rsa.der" "$T/text.ent" \
    ecdsa-detached "$T/ecdsa.der" "$T/text.ent" pss-detached "$T/pss.der" "$T/text.ent" \
    rsa-opaque "$T/opaque.der" -

# ------------------------------------------------ messages of the mix
sign detached "$T/text.ent" "detached RSA" -signer "$T/rsa.pem" -inkey "$T/rsa.key"
sign opaque "$T/text.ent" "opaque RSA" -nodetach -signer "$T/rsa.pem" -inkey "$T/rsa.key"
sign ecdsa "$T/text.ent" "ECDSA" -signer "$T/ec.pem" -inkey "$T/ec.key"
entity_of "$T/ecdsa.eml" "$T/ecdsa.ent"
{
    printf 'From: list@corp.example\r\nTo: bob@corp.example\r\nSubject: nested\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/mixed; boundary="=_list_"\r\n\r\n--=_list_\r\nContent-Type: text/plain\r\n\r\nList header\r\n--=_list_\r\n'
    cat "$T/ecdsa.ent"
    printf '\r\n--=_list_--\r\n'
} >"$T/nested.eml"
printf '[signatures]\naction = preserve\n[journal]\nenabled = false\n' >"$T/off.conf"
printf '[signatures]\naction = preserve\n[verify]\nenabled = true\ntrust_anchors = %s\n[journal]\nenabled = false\n' \
    "$T/ca.pem" >"$T/on.conf"

# ------------------------------------------------ 2. in-process time
time_us() {   # CONF MSG -> best time_us over RUNS
    local best="" i u
    for i in $(seq 1 "$RUNS"); do
        u=$("$SJM_BIN" -c "$1" --inspect "$2" --from alice@corp.example --rcpt bob@corp.example \
            --output /dev/null 2>&1 | sed -n 's/.* time=\([0-9.]*\)ms.*/\1/p' | awk '{ printf "%d", $1 * 1000 }')
        if [ -z "$best" ] || [ "$u" -lt "$best" ]; then best=$u; fi
    done
    echo "${best:-0}"
}
echo "== in-process time per message (--inspect time=, best of $RUNS, microseconds)"
printf '%-10s %10s %10s   %s\n' message off_us on_us "verify result"
for m in detached opaque nested; do
    res=$("$SJM_BIN" -c "$T/on.conf" --inspect "$T/$m.eml" --from alice@corp.example --rcpt bob@corp.example \
        --output /dev/null 2>&1 | grep -o 'verify=[^ ]*')
    printf '%-10s %10s %10s   %s\n' "$m" "$(time_us "$T/off.conf" "$T/$m.eml")" "$(time_us "$T/on.conf" "$T/$m.eml")" "$res"
done

# ------------------------------------------------ 3. through Postfix
for m in detached opaque nested; do
    awk '{ sub(/\r$/, ""); print }' "$T/$m.eml" >"$T/$m.lf"
done
run_one() {   # off|on -> "kind accepted msgs/s verified"
    local kind=$1
    (
        bench_postfix "$T/$kind.conf" "virtual_transport = discard"
        local t0 t1 pids=()
        t0=$(date +%s.%N)
        for m in detached opaque nested; do
            smtp-source -c -s "$sessions" -m "$messages" -F "$T/$m.lf" \
                -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null 2>&1 &
            pids+=($!)
        done
        smtp-source -c -s "$sessions" -m "$messages" -l 4096 \
            -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null 2>&1 &
        pids+=($!)
        wait "${pids[@]}"
        t1=$(date +%s.%N)
        e2e_wait_idle 300 >/dev/null
        accepted=$(grep -c 'postfix/cleanup.*message-id=' "$(e2e_postfix_log)")
        verified=$(grep -c 'verify=pass' "$(e2e_filter_log)")
        echo "$kind $accepted $(echo "$messages * 4 / ($t1 - $t0)" | bc -l) $verified"
    ) 2>/dev/null | tail -n 1
}
echo "== through Postfix: $((messages * 4)) messages per run (3/4 signed), $((sessions * 4)) sessions, $rounds rounds"
off_all="" on_all=""
for r in $(seq 1 "$rounds"); do
    for kind in off on; do
        read -r k acc rate ver <<<"$(run_one $kind)"
        printf 'round %d  verify=%-3s accepted %5s  %8.1f msgs/s  (verify=pass logged %s)\n' "$r" "$kind" "$acc" "$rate" "$ver"
        [ "$kind" = off ] && off_all="$off_all $rate" || on_all="$on_all $rate"
    done
done
med_off=$(median <<<"$off_all")
med_on=$(median <<<"$on_all")
printf 'median verify off %.1f msgs/s, verify on %.1f msgs/s, ratio on/off = %.3f\n' \
    "$med_off" "$med_on" "$(echo "$med_on / $med_off" | bc -l)"
