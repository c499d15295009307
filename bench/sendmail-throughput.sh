#!/bin/bash
# Throughput through a real Sendmail 8.17 (tests/lib/sendmail.sh): messages
# per second that smtp-source gets accepted on 127.0.0.1, for
#   noop     Sendmail with a milter that does nothing (bench/noop_milter.c),
#            declared with the same INPUT_MAIL_FILTER line as the filter,
#   filter   the filter doing its job: a journal recipient added to every
#            message,
#   strip    the filter stripping a detached signature from every message,
# run alternately ROUNDS times and reported as the median, with the
# ratios to noop.  Every message goes to a mailer that runs "cat >/dev/null"
# once per message, so delivery does not dominate.  Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/sendmail-throughput.sh [MESSAGES] [SESSIONS] [ROUNDS]
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-1000}
sessions=${2:-10}
rounds=${3:-3}
bench_need_corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_noop_milter "$work"
bench_need_bin
command -v smtp-source >/dev/null || { echo "smtp-source is not installed (apt-get install postfix)"; exit 1; }
bench_need_bc

printf '[journal]\nrecipient = journal@archive.example.com\n' >"$work/filter.conf"
printf '[signatures]\naction = strip\n[journal]\nrecipient = journal@archive.example.com\n' >"$work/strip.conf"
bench_signed_lf "$work/signed.eml"

run_one() {   # kind -> prints "kind accepted msgs/s"
    local kind=$1 bin=$SJM_BIN conf=$work/filter.conf src_args=(-l 4096)
    case $kind in
        noop) bin=$work/noop_milter ;;
        strip) conf=$work/strip.conf; src_args=(-F "$work/signed.eml") ;;
    esac
    (
        . "$top/tests/lib/sendmail.sh"
        SM_EXTRA_MC='MAILER_DEFINITIONS\nMdevnull, P=/bin/sh, F=lsmn8, A=sh -c cat>/dev/null $u'
        SM_RULE_0='R$+ < @ $+ > $*\t$#devnull $@ $2 $: $1 < @ $2 >'
        SJM_BIN=$bin sm_start "$conf" >/dev/null
        t0=$(date +%s.%N)
        smtp-source -c -s "$sessions" -m "$messages" "${src_args[@]}" \
            -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null 2>&1
        t1=$(date +%s.%N)
        sm_wait_idle 300 >/dev/null
        accepted=$(grep -c 'sendmail\[[0-9]*\]: [0-9A-Za-z]*: from=<alice@corp.example>' "$(sm_log)")
        echo "$kind $accepted $(echo "$messages / ($t1 - $t0)" | bc -l)"
    ) 2>/dev/null | tail -n 1
}

declare -A results
for r in $(seq 1 "$rounds"); do
    for kind in noop filter strip; do
        read -r k accepted rate < <(run_one "$kind")
        printf 'round %d %-7s %5d accepted  %8.1f msg/s\n' "$r" "$kind" "${accepted:-0}" "${rate:-0}"
        results[$kind]="${results[$kind]:-} ${rate:-0}"
    done
done
echo
for kind in noop filter strip; do
    m=$(echo "${results[$kind]}" | median)
    eval "med_$kind=$m"
    printf 'median %-7s %8.1f msg/s\n' "$kind" "$m"
done
printf 'ratio filter/noop = %.3f (journaling every message: Sendmail also adds a journal recipient)\n' \
    "$(echo "$med_filter / $med_noop" | bc -l)"
printf 'ratio strip/noop  = %.3f (stripping every message, %d-byte signed Thunderbird message)\n' \
    "$(echo "$med_strip / $med_noop" | bc -l)" "$(wc -c <"$work/signed.eml")"
