#!/bin/bash
# bench/peers.sh - our filter beside real peers doing the same job, through
# a real Postfix, in one run on one machine (SPEC 7):
#   noop+bcc    Postfix + a milter that does nothing (bench/noop_milter.c)
#               + always_bcc = the journal mailbox: the same two deliveries
#               per message as journaling.  It registers only end-of-
#               message, so Postfix sends it no header and no body: its
#               CPU is the floor of being a milter at all
#   noopall+bcc the same with noop_milter -a: receives the envelope, every
#               header field and the body with the protocol steps our
#               filter negotiates, and does nothing with them: the fair
#               baseline for "CPU per message"
#   journal     our filter: journal recipient added, signatures preserved
#   strip       our filter: journal recipient added, signatures stripped
#   journal+ledger  our filter journaling, with the journal ledger on
#               (an entry made durable before each answer, checkpoints)
#   mimedefang  MIMEDefang 3.3 (milter + multiplexor + Perl workers) with
#               bench/mimedefang-filter.pl: drops pkcs7-signature parts,
#               rebuilds the message, add_recipient(journal)
# on three kinds of traffic: plain (4 KB text), signed (Thunderbird's
# detached-signature message), mixed (half and half, sent at once).
# For each: messages per second that smtp-source got accepted, and the
# filter's own CPU time per message (utime+stime from /proc/PID/stat;
# MIMEDefang: the milter, the multiplexor and every Perl worker, live or
# reaped).  Then the ratios the targets name.  Delivery goes to Postfix's
# discard transport.  Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/peers.sh [MESSAGES] [SESSIONS]
#   KINDS="noopall+bcc journal" bench/peers.sh ... runs only those kinds;
#   kind journal@base is journaling by the binary SJM_BASE_BIN (an older
#   build, to compare releases side by side in one run)
set -u
. "$(dirname "$0")/lib.sh"
messages=${1:-1000}
sessions=${2:-10}
bench_need_corpus
bench_need_bin
for p in mimedefang libnet-dns-perl bc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_noop_milter "$work"
printf '#!/bin/sh\nexec "%s" -a "$@"\n' "$work/noop_milter" >"$work/noop_all"
chmod 755 "$work/noop_all"
# Keyed marks, as the shipped configuration has them: the filter reads
# (never stores) every journaled body for the mark's digest.
openssl rand -hex 32 >"$work/mark.key"
chmod 644 "$work/mark.key"
printf '[journal]\nrecipient = journal@archive.example\nmark_key_file = %s\n' "$work/mark.key" >"$work/journal.conf"
printf '[signatures]\naction = strip\n[journal]\nrecipient = journal@archive.example\nmark_key_file = %s\n' \
    "$work/mark.key" >"$work/strip.conf"
bench_signed_lf "$work/signed.eml"
# The ledger is written as the filter's user (nobody in the bench Postfix).
chmod 755 "$work"
"$SJM_BIN" --ledger-keygen "$work/ledger.key" >/dev/null
chmod 644 "$work/ledger.key"
ledger_conf() { # a fresh ledger directory per run
    rm -rf "$work/ledger"
    mkdir -p "$work/ledger"
    chown nobody "$work/ledger"
    printf '%s\n[ledger]\ndir = %s\nkey_file = %s\norigin = bench/ledger\n' \
        "$(cat "$work/journal.conf")" "$work/ledger" "$work/ledger.key" >"$work/ledger.conf"
}
hz=$(getconf CLK_TCK)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks of everything that filters: one process, or MIMEDefang's three kinds.
filter_ticks() {
    local dir=$1 pid=$2 t=0 c mux
    if [ -f "$dir/milter/mux.pid.bench" ]; then
        mux=$(cat "$dir/milter/mux.pid.bench")
        t=$(( $(ticks "$(cat "$dir/milter/md.pid.bench")") + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$mux/stat") ))
        for c in $(pgrep -P "$mux"); do t=$((t + $(ticks "$c"))); done
    else
        t=$(ticks "$pid")
    fi
    echo "$t"
}

run_one() {   # KIND TRAFFIC -> "msgs/s cpu_ms_per_msg accepted"
    local kind=$1 traffic=$2 bin=$SJM_BIN conf=$work/journal.conf extra="virtual_transport = discard"
    case $kind in
        noop+bcc) bin=$work/noop_milter; extra="$extra\nalways_bcc = journal@archive.example" ;;
        noopall+bcc) bin=$work/noop_all; extra="$extra\nalways_bcc = journal@archive.example" ;;
        journal@base) bin=$SJM_BASE_BIN; export E2E_NO_REINJECT=1 ;;
        strip) conf=$work/strip.conf ;;
        journal+ledger) ledger_conf; conf=$work/ledger.conf ;;
        mimedefang) bin=$top/bench/mimedefang-run.sh ;;
    esac
    (
        SJM_BIN=$bin bench_postfix "$conf" "$extra"
        sleep 1
        local t0 t1 c0 c1 half=$((messages / 2)) s2=$((sessions / 2))
        c0=$(filter_ticks "$E2E_DIR" "$E2E_FILTER_PID")
        t0=$(date +%s.%N)
        case $traffic in
            plain) smtp-source -c -s "$sessions" -m "$messages" -l 4096 -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" ;;
            signed) smtp-source -c -s "$sessions" -m "$messages" -F "$work/signed.eml" -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" ;;
            mixed)
                smtp-source -c -s "$s2" -m "$half" -l 4096 -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT" &
                smtp-source -c -s "$s2" -m "$((messages - half))" -F "$work/signed.eml" -f alice@corp.example -t bob@example.com "127.0.0.1:$E2E_PORT"
                wait "$!" ;;
        esac >/dev/null 2>&1
        t1=$(date +%s.%N)
        e2e_wait_idle 300 >/dev/null
        c1=$(filter_ticks "$E2E_DIR" "$E2E_FILTER_PID")
        accepted=$(grep -c 'postfix/cleanup.*message-id=' "$(e2e_postfix_log)")
        echo "$(echo "$messages / ($t1 - $t0)" | bc -l) $(echo "($c1 - $c0) * 1000 / $hz / $messages" | bc -l) $accepted"
    ) 2>/dev/null | tail -n 1
}

kinds=${KINDS:-"noop+bcc noopall+bcc journal strip mimedefang"}
declare -A rate cpu
printf '%-10s %-7s %9s %14s %9s\n' kind traffic "msgs/s" "cpu_ms/msg" accepted
for traffic in plain signed mixed; do
    for kind in $kinds; do
        read -r r c a < <(run_one "$kind" "$traffic")
        rate[$kind.$traffic]=$r
        cpu[$kind.$traffic]=$c
        printf '%-10s %-7s %9.1f %14.3f %9s\n' "$kind" "$traffic" "$r" "$c" "$a"
        # (Re-injected journal copies count too, so more is normal.)
        [ "${a:-0}" -ge "$messages" ] ||
            echo "  ^ only ${a:-0} of $messages accepted: the filter refused mail, its figures mean nothing"
    done
done
echo
ratio() { echo "scale=3; $1 / $2" | bc -l; }
if [ -n "${KINDS:-}" ]; then
    # A chosen set of kinds: each against the first one named.
    first=${kinds%% *}
    for traffic in plain signed mixed; do
        for kind in ${kinds#* }; do
            printf '%s %s/%s: throughput %s, cpu/msg %s\n' "$traffic" "$kind" "$first" \
                "$(ratio "${rate[$kind.$traffic]}" "${rate[$first.$traffic]}")" \
                "$(ratio "${cpu[$kind.$traffic]}" "${cpu[$first.$traffic]}")"
        done
    done
    exit 0
fi
for traffic in plain signed mixed; do
    echo "$traffic:"
    printf '  throughput journal/noop+bcc = %s (target >= 0.97)\n' "$(ratio "${rate[journal.$traffic]}" "${rate[noop+bcc.$traffic]}")"
    printf '  throughput strip/noop+bcc   = %s (target >= 0.90 on signed)\n' "$(ratio "${rate[strip.$traffic]}" "${rate[noop+bcc.$traffic]}")"
    printf '  throughput strip/mimedefang = %s (target >= 10)\n' "$(ratio "${rate[strip.$traffic]}" "${rate[mimedefang.$traffic]}")"
    printf '  cpu/msg mimedefang/strip    = %s (target >= 10)\n' "$(ratio "${cpu[mimedefang.$traffic]}" "${cpu[strip.$traffic]}")"
    printf '  cpu/msg journal/noopall     = %s (target <= 1.25)\n' "$(ratio "${cpu[journal.$traffic]}" "${cpu[noopall+bcc.$traffic]}")"
    printf '  cpu/msg strip/noopall       = %s (target <= 2)\n' "$(ratio "${cpu[strip.$traffic]}" "${cpu[noopall+bcc.$traffic]}")"
    printf '  cpu/msg journal/noop (eom only, the floor) = %s\n' "$(ratio "${cpu[journal.$traffic]}" "${cpu[noop+bcc.$traffic]}")"
    printf '  cpu/msg noopall/noop (cost of receiving the message) = %s\n' "$(ratio "${cpu[noopall+bcc.$traffic]}" "${cpu[noop+bcc.$traffic]}")"
done
