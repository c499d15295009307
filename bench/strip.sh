#!/bin/bash
# bench/strip.sh - what stripping a signature costs, against copying the
# same bytes, and whether memory grows with the message (SPEC 7: strip at
# >= 1/5 of copy speed; peak memory independent of message size).
#
#   bench/strip.sh [SJM_BIN]     (default: ./smime-journal-milter)
#
# For 1, 10 and 50 MB signed messages (a text part and a random binary
# attachment, detached signature made by "openssl cms -sign"), prints the
# best of RUNS wall times and the peak RSS (/usr/bin/time -v) of
#   strip     --inspect with action = strip
#   preserve  --inspect with action = preserve (the body is not even read)
#   cat / cp  the same bytes copied
# plus the filter's own in-process time (time= of the summary line, in ms)
# and the ratios.  Not a test: it prints figures.
set -eu
SJM_BIN=${1:-${SJM_BIN:-./smime-journal-milter}}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"1 10 50"}
[ -x "$SJM_BIN" ] || { echo "no filter binary at $SJM_BIN" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time for peak memory figures" >&2
    apt-get install -y time >/dev/null
fi
T=$(mktemp -d /tmp/sjm-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 \
    -subj "/CN=bench/emailAddress=alice@corp.example" 2>/dev/null
printf '[milter]\nmax_scan_size = 1G\n[signatures]\naction = strip\n[journal]\nenabled = false\n' >"$T/strip.conf"
printf '[signatures]\naction = preserve\n[journal]\nenabled = false\n' >"$T/preserve.conf"

make_msg() {   # MB OUT [extra cms -sign args, e.g. -nodetach]
    local mb=$1 out=$2
    shift 2
    {
        printf 'Content-Type: multipart/mixed; boundary="=_b_"\r\n\r\n--=_b_\r\n'
        printf 'Content-Type: text/plain\r\n\r\nThe data.\r\n--=_b_\r\n'
        printf 'Content-Type: application/octet-stream; name="d.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        # base64 grows by 4/3: this many raw bytes make about MB megabytes.
        head -c $((mb * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76 | sed 's/$/\r/'
        printf -- '--=_b_--\r\n'
    } >"$T/ent"
    openssl cms -sign -in "$T/ent" -signer "$T/c.pem" -inkey "$T/k.pem" -from alice@corp.example \
        -to bob@corp.example -subject bench -crlfeol "$@" -out "$out"
}

# measure CMD...: best wall seconds (ns clock) and max RSS KB over RUNS.
measure() {
    local best="" rss=0 i s r t0 t1
    for i in $(seq 1 "$RUNS"); do
        t0=$(date +%s%N)
        /usr/bin/time -v -o "$T/tv" "$@" >"$T/stdout" 2>"$T/err"
        t1=$(date +%s%N)
        s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
        r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T/tv")
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
        [ "$r" -gt "$rss" ] && rss=$r
    done
    echo "$best $rss"
}

inspect() {   # CONF MSG
    "$SJM_BIN" -c "$1" --inspect "$2" --from alice@corp.example --rcpt bob@corp.example --output "$T/out"
}
# The filter's own processing time for one run, in microseconds.
time_us() {
    local best="" i u
    for i in $(seq 1 "$RUNS"); do
        u=$(inspect "$@" 2>&1 >/dev/null | sed -n 's/.* time=\([0-9.]*\)ms.*/\1/p' \
            | awk '{ printf "%d", $1 * 1000 }')
        if [ -z "$best" ] || [ "$u" -lt "$best" ]; then best=$u; fi
    done
    echo "${best:-0}"
}

printf '%-6s %-10s %9s %10s   %s\n' size what wall_s peak_rss_kb note
for mb in $SIZES; do
    msg=$T/m$mb.eml
    make_msg "$mb" "$msg"
    bytes=$(stat -c %s "$msg")
    read -r ts rs <<<"$(measure "$SJM_BIN" -c "$T/strip.conf" --inspect "$msg" --from alice@corp.example \
        --rcpt bob@corp.example --output "$T/out")"
    sig=$(inspect "$T/strip.conf" "$msg" 2>&1 >/dev/null | grep -o 'signature=[^ ]*')
    read -r tp rp <<<"$(measure "$SJM_BIN" -c "$T/preserve.conf" --inspect "$msg" --from alice@corp.example \
        --rcpt bob@corp.example --output "$T/out")"
    read -r tc rc <<<"$(measure cat "$msg")"     # stdout goes to a file
    read -r tk rk <<<"$(measure cp "$msg" "$T/copy")"
    us=$(time_us "$T/strip.conf" "$msg")
    printf '%-6s %-10s %9s %10s   %s\n' "${mb}MB" strip "$ts" "$rs" "$sig, $bytes bytes, in-process ${us} us"
    printf '%-6s %-10s %9s %10s\n' "${mb}MB" preserve "$tp" "$rp"
    printf '%-6s %-10s %9s %10s\n' "${mb}MB" cat "$tc" "$rc"
    printf '%-6s %-10s %9s %10s\n' "${mb}MB" cp "$tk" "$rk"
    awk -v s="$ts" -v c="$tc" -v k="$tk" -v us="$us" -v b="$bytes" 'BEGIN {
        printf "%-6s ratio: strip/cat wall %.2f, strip/cp wall %.2f; in-process strip %.0f MB/s\n",
            "", (c > 0 ? s / c : 0), (k > 0 ? s / k : 0), (us > 0 ? b / us : 0)
    }'
done

# Opaque signatures (content inside the CMS blob, streamed out).
for mb in $SIZES; do
    msg=$T/o$mb.eml
    make_msg "$mb" "$msg" -nodetach
    read -r ts rs <<<"$(measure "$SJM_BIN" -c "$T/strip.conf" --inspect "$msg" --from alice@corp.example \
        --rcpt bob@corp.example --output "$T/out")"
    sig=$(inspect "$T/strip.conf" "$msg" 2>&1 >/dev/null | grep -o 'signature=[^ ]*')
    printf '%-6s %-10s %9s %10s   %s\n' "${mb}MB" strip-opq "$ts" "$rs" "$sig, $(stat -c %s "$msg") bytes"
    rm -f "$msg"
done

# In-process copy speed of the same bytes, for SPEC 7's ratio: read the
# file and write it to a spool-like temp file in 64 KB blocks (dd), the
# same I/O pattern the filter uses.
msg=$T/m10.eml
[ -f "$msg" ] || make_msg 10 "$msg"
read -r best _ <<<"$(measure dd if="$msg" of="$T/copy" bs=64k)"
us=$(time_us "$T/strip.conf" "$msg")
awk -v d="$best" -v us="$us" -v b="$(stat -c %s "$msg")" 'BEGIN {
    printf "10MB copy (dd 64k) %.3f s = %.0f MB/s; strip in-process %.3f s = %.0f MB/s; strip speed / copy speed = %.2f\n",
        d, (d > 0 ? b / d / 1e6 : 0), us / 1e6, (us > 0 ? b / us : 0), (us > 0 && d > 0 ? (d * 1e6) / us : 0)
}'
