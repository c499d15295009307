#!/bin/bash
# Throughput through a real Postfix (SPEC 7): messages per second that
# smtp-source gets accepted on 127.0.0.1, for
#   none     Postfix without any milter,
#   noop     Postfix with a milter that does nothing (bench/noop_milter.c),
#   nojournal  the filter inspecting plain mail with nothing to add
#            (journaling off, signatures preserved: the fast path),
#   filter   the filter doing its job: a journal recipient added to every
#            message (Postfix then delivers two copies),
#   strip    the filter stripping a detached signature from every message,
# run alternately ROUNDS times and reported as the median, with the
# ratio filter/noop (target >= 0.90).  Delivery goes to Postfix's
# discard transport so the Maildir writer does not dominate.  Prints
# figures; asserts nothing.
#   usage (root, from a built tree): bench/throughput.sh [MESSAGES] [SESSIONS] [ROUNDS]
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-2000}
sessions=${2:-10}
rounds=${3:-3}
bench_need_corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_noop_milter "$work"
bench_need_bin

printf '[journal]\nrecipient = journal@archive.example.com\n' >"$work/filter.conf"
printf '[journal]\nenabled = false\n' >"$work/nojournal.conf"
printf '[signatures]\naction = strip\n[journal]\nrecipient = journal@archive.example.com\n' >"$work/strip.conf"
# smtp-source -F sends a file as the message; -l makes a plain one of that size.
bench_signed_lf "$work/signed.eml"

run_one() {   # kind -> prints msgs/s
    local kind=$1 bin=$SJM_BIN conf=$work/filter.conf extra="virtual_transport = discard" src_args
    case $kind in
        none) extra="$extra\nsmtpd_milters =\nnon_smtpd_milters =" ;;
        noop) bin=$work/noop_milter ;;
        strip) conf=$work/strip.conf ;;
        nojournal) conf=$work/nojournal.conf ;;
    esac
    src_args=(-l 4096)
    [ "$kind" = strip ] && src_args=(-F "$work/signed.eml")
    (
        SJM_BIN=$bin bench_postfix "$conf" "$extra"
        local t0 t1
        t0=$(date +%s.%N)
        smtp-source -c -s "$sessions" -m "$messages" "${src_args[@]}" \
            -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null 2>&1
        t1=$(date +%s.%N)
        e2e_wait_idle 300 >/dev/null
        accepted=$(grep -c 'postfix/cleanup.*message-id=' "$(e2e_postfix_log)")
        echo "$kind $accepted $(echo "$messages / ($t1 - $t0)" | bc -l)"
    ) 2>/dev/null | tail -n 1
}

bench_need_bc
declare -A results
for r in $(seq 1 "$rounds"); do
    for kind in none noop nojournal filter strip; do
        read -r k accepted rate < <(run_one "$kind")
        printf 'round %d %-7s %5d accepted  %8.1f msg/s\n' "$r" "$kind" "$accepted" "$rate"
        results[$kind]="${results[$kind]:-} $rate"
    done
done
echo
for kind in none noop nojournal filter strip; do
    m=$(echo "${results[$kind]}" | median)
    eval "med_$kind=$m"
    printf 'median %-7s %8.1f msg/s\n' "$kind" "$m"
done
printf 'ratio nojournal/noop = %.3f (the filter inspecting, nothing to add; target >= 0.90)\n' \
    "$(echo "$med_nojournal / $med_noop" | bc -l)"
printf 'ratio filter/noop = %.3f (journaling: Postfix also queues and delivers a journal copy)\n' \
    "$(echo "$med_filter / $med_noop" | bc -l)"
printf 'ratio strip/noop  = %.3f (stripping every message, %d-byte signed Thunderbird message)\n' \
    "$(echo "$med_strip / $med_noop" | bc -l)" "$(wc -c <"$work/signed.eml")"
