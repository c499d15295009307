# fault.sh - helpers shared by the fault-injection tests (sourced after
# tests/lib/e2e.sh): send a numbered burst with retrying clients, count
# every message afterwards.

FAULT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOURNAL=journal@archive.example
RCPT=bob@corp.example

# fault_burst OUT PREFIX COUNT [burst.py options...]: in the background;
# FAULT_BURST_PID is its pid, OUT its output.
fault_burst() {
    local out=$1 prefix=$2 count=$3
    shift 3
    python3 "$FAULT_LIB/burst.py" 127.0.0.1 "$E2E_PORT" "$prefix" "$count" "$@" "$RCPT" >"$out" 2>&1 &
    FAULT_BURST_PID=$!
}

# fault_accepted OUT...: messages accepted so far by the bursts writing
# OUT...  Faults are timed by this, not by deliveries: on a loaded
# machine delivery lags so far behind that a burst can be over before
# the 15th delivery, and the fault then hits nothing.
fault_accepted() {
    cat "$@" 2>/dev/null | grep -c ': accepted$'
}

# fault_wait_accepted N OUT...: until N messages are accepted (30 s at most).
fault_wait_accepted() {
    local n=$1 _
    shift
    for _ in $(seq 1 600); do
        [ "$(fault_accepted "$@")" -ge "$n" ] && return 0
        sleep 0.05
    done
    return 1
}

# fault_field OUT KEY: the value of KEY= in burst.py's closing line.
fault_field() {
    grep '^burst: ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# fault_reconcile "what" PREFIX COUNT BURST-OUT: every message delivered
# exactly once with its journal copy (duplicates only as many as the
# client had uncertain transactions).
fault_reconcile() {
    local what=$1 prefix=$2 count=$3 out=$4 uncertain line
    uncertain=$(fault_field "$out" uncertain)
    line=$(python3 "$FAULT_LIB/reconcile.py" "$(e2e_maildir $RCPT)" "$(e2e_maildir $JOURNAL)" \
        "$prefix" "$count" "${uncertain:-0}")
    local status=$?
    echo "# $(grep '^burst: ' "$out")"
    echo "# $line"
    if [ "$status" -eq 0 ]; then
        e2e_ok "$what: every message delivered once with its journal copy"
    else
        e2e_bad "$what: reconciliation failed"
    fi
}
