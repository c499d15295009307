#!/bin/bash
# Re-injection throughput through a real Postfix: messages per second that
# smtp-source gets accepted on 127.0.0.1, every message the signed
# Thunderbird message, for
#   bcc        [journal] mode = bcc, signatures preserved: the journal
#              recipient is added to the transaction (the baseline);
#   report     mode = report: one envelope journal report per message is
#              submitted to the re-injection listener before the accept;
#   bccstrip   mode = bcc, action = strip: the delivered copy is stripped
#              and the signed original is re-injected for the journal;
#   bcc2       mode = bcc, two recipients per message, mixed = preserve
#              (the baseline for split);
#   split      the same two recipients, mixed = split: one keeps the
#              signature, the other gets a re-injected stripped copy;
# run alternately ROUNDS times and reported as medians with the ratios
# report/bcc, bccstrip/bcc and split/bcc2 side by side.  Delivery goes to
# Postfix's discard transport so the Maildir writer does not dominate.
# Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/report.sh [MESSAGES] [SESSIONS] [ROUNDS]
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-1000}
sessions=${2:-10}
rounds=${3:-3}
bench_need_corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_need_bin
bench_need_bc
bench_signed_lf "$work/signed.eml"

write_conf() {   # kind port
    local mode=bcc action=preserve mixed=preserve
    case $1 in
        report) mode=report ;;
        bccstrip) action=strip ;;
        split) mixed=split ;;
    esac
    # smtp-source -r 2 sends to bob@ and 2bob@ (it prefixes a number).
    printf '[milter]\nreinject = 127.0.0.1:%s\n[signatures]\naction = %s\nmixed = %s\nstrip_for = 2*@example.com\n[journal]\nrecipient = journal@archive.example.com\nmode = %s\n' \
        "$2" "$action" "$mixed" "$mode" >"$work/$1.conf"
}

run_one() {   # kind -> prints "kind accepted reinjected msgs/s"
    local kind=$1 rcpts=1
    case $kind in bcc2 | split) rcpts=2 ;; esac
    (
        write_conf "$kind" 10026
        bench_postfix "$work/$kind.conf" "virtual_transport = discard"
        write_conf "$kind" "$E2E_REINJECT_PORT"
        e2e_stop_filter
        e2e_start_filter "$work/$kind.conf"
        local t0 t1
        t0=$(date +%s.%N)
        smtp-source -c -s "$sessions" -m "$messages" -r "$rcpts" -F "$work/signed.eml" \
            -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" >/dev/null 2>&1
        t1=$(date +%s.%N)
        e2e_wait_idle 300 >/dev/null
        accepted=$(grep -c 'postfix/smtpd\[[0-9]*\]: [0-9A-F]*: client=' "$(e2e_postfix_log)")
        reinjected=$(grep -c 'postfix/reinject/smtpd\[[0-9]*\]: [0-9A-F]*: client=' "$(e2e_postfix_log)")
        echo "$kind $accepted $reinjected $(echo "$messages / ($t1 - $t0)" | bc -l)"
    ) 2>/dev/null | tail -n 1
}

kinds="bcc report bccstrip bcc2 split"
declare -A results
for r in $(seq 1 "$rounds"); do
    for kind in $kinds; do
        read -r k accepted reinjected rate < <(run_one "$kind")
        printf 'round %d %-9s %5d accepted %5d re-injected  %8.1f msg/s\n' \
            "$r" "$kind" "$accepted" "$reinjected" "$rate"
        results[$kind]="${results[$kind]:-} $rate"
    done
done
echo
for kind in $kinds; do
    m=$(echo "${results[$kind]}" | median)
    eval "med_$kind=$m"
    printf 'median %-9s %8.1f msg/s\n' "$kind" "$m"
done
printf 'ratio report/bcc    = %.3f (a journal report re-injected per message instead of a bcc recipient)\n' \
    "$(echo "$med_report / $med_bcc" | bc -l)"
printf 'ratio bccstrip/bcc  = %.3f (stripped delivery, the signed original re-injected for the journal)\n' \
    "$(echo "$med_bccstrip / $med_bcc" | bc -l)"
printf 'ratio split/bcc2    = %.3f (two recipients: a stripped copy re-injected for one of them)\n' \
    "$(echo "$med_split / $med_bcc2" | bc -l)"
