#!/bin/bash
# What running the filter after address expansion costs: the same report-
# mode journaling through a real Postfix,
#   single     the filter in the receiving smtpd (etc/postfix-main.cf.snippet);
#   expanded   a first pass that expands and hands every message over a
#              content_filter hop to a second smtpd with the filter
#              (etc/postfix-expanded-*.cf.snippet);
# run alternately ROUNDS times.  For each: messages per second from the
# first SMTP command until the queue is empty (every message and report
# delivered, to Postfix's discard transport), and the CPU seconds of the
# whole instance (Postfix master with its reaped children, the live
# daemons, the filter) per 1000 messages.  Medians and the ratios
# expanded/single side by side.  Prints figures; asserts nothing.
#   usage (root, from a built tree): bench/expanded.sh [MESSAGES] [SESSIONS] [ROUNDS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export abs_top_srcdir=$top
SJM_BIN=${SJM_BIN:-$top/_build/smime-journal-milter}
export SJM_BIN
messages=${1:-1000}
sessions=${2:-10}
rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$SJM_BIN" ] || { echo "build first: no $SJM_BIN"; exit 1; }
command -v smtp-source >/dev/null || { echo "smtp-source (postfix) is missing"; exit 1; }
printf 'From: alice@corp.example\nTo: team@corp.example\nSubject: bench\nMessage-ID: <b@corp.example>\n\n%s\n' \
    "$(head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70)" >"$work/msg.eml"
printf '[journal]\nrecipient = journal@archive.example\nmode = report\n' >"$work/filter.conf"

cpu_of() { # PID...: utime+stime+cutime+cstime in seconds
    local hz t=0 p
    hz=$(getconf CLK_TCK)
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t / $hz" | bc -l
}

run_one() { # topology -> "msgs/s cpu-per-1000"
    local topo=$1
    (
        . "$top/tests/lib/e2e.sh"
        E2E_EXTRA_MAIN_CF="virtual_transport = discard\nvirtual_alias_maps = inline:{team@corp.example=bob@corp.example}" \
            e2e_start "$work/filter.conf" >/dev/null
        cf=$E2E_DIR/etc
        p2=$((E2E_PORT + 6000))
        sed -i "/^127.0.0.1:$E2E_REINJECT_PORT inet/a\\  -o content_filter=" "$cf/master.cf"
        if [ "$topo" = expanded ]; then
            postconf -c "$cf" -e "content_filter = sjm-expanded:[127.0.0.1]:$p2" "smtpd_milters =" "non_smtpd_milters ="
            grep -v '^#' "$top/etc/postfix-expanded-master.cf.snippet" |
                sed -e "s/127\.0\.0\.1:10027/127.0.0.1:$p2/" \
                    -e "s|unix:smime-journal-milter/milter.sock|unix:$E2E_DIR/milter/milter.sock|" |
                awk '/^[^ ]/ { $5 = "n" } { print }' >>"$cf/master.cf"
        fi
        postfix -c "$cf" reload >/dev/null 2>&1
        sleep 2
        local t0 t1 master
        master=$(head -1 "$E2E_DIR/queue/pid/master.pid" | tr -d ' ')
        t0=$(date +%s.%N)
        smtp-source -c -s "$sessions" -m "$messages" -F "$work/msg.eml" \
            -f alice@corp.example -t team@corp.example "127.0.0.1:$E2E_PORT" >/dev/null 2>&1
        e2e_wait_idle 600 >/dev/null
        t1=$(date +%s.%N)
        cpu=$(cpu_of "$master" $(pgrep -P "$master") "$E2E_FILTER_PID")
        echo "$(echo "$messages / ($t1 - $t0)" | bc -l) $(echo "$cpu * 1000 / $messages" | bc -l)"
    ) 2>/dev/null | tail -n 1
}

declare -A rate cpu
for r in $(seq 1 "$rounds"); do
    for topo in single expanded; do
        read -r m c < <(run_one "$topo")
        printf 'round %d %-9s %8.1f msg/s  %6.2f CPU s per 1000 messages\n' "$r" "$topo" "$m" "$c"
        rate[$topo]="${rate[$topo]:-} $m"
        cpu[$topo]="${cpu[$topo]:-} $c"
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rs=$(echo "${rate[single]}" | median); re=$(echo "${rate[expanded]}" | median)
cs=$(echo "${cpu[single]}" | median); ce=$(echo "${cpu[expanded]}" | median)
echo
printf 'median single    %8.1f msg/s  %6.2f CPU s/1000\n' "$rs" "$cs"
printf 'median expanded  %8.1f msg/s  %6.2f CPU s/1000\n' "$re" "$ce"
printf 'ratio expanded/single: throughput %.3f, CPU per message %.3f\n' \
    "$(echo "$re / $rs" | bc -l)" "$(echo "$ce / $cs" | bc -l)"
