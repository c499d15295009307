# bench/lib.sh - what the benchmarks share; each sources it first:
#   . "$(dirname "$0")/lib.sh"
# It sets
#   top      the source tree, exported as abs_top_srcdir for the test
#            harness in tests/lib that starts the private MTAs
#   SJM_BIN  the filter to measure (default: _build/ of this tree)
#   corpus   the Thunderbird S/MIME corpus beside this checkout
#            (SJM_CORPUS overrides)
# and defines the helpers below.  Sourcing it changes nothing else: no
# option, no trap, no directory.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export abs_top_srcdir=$top
SJM_BIN=${SJM_BIN:-$top/_build/smime-journal-milter}
corpus=${SJM_CORPUS:-$top/../shared/corpus/thunderbird}

# bench_need_bin: stop unless the filter is built.
bench_need_bin() {
    [ -x "$SJM_BIN" ] || { echo "build first: no $SJM_BIN"; exit 1; }
}

# bench_need_corpus: stop unless the corpus is where the benchmark reads it.
bench_need_corpus() {
    [ -d "$corpus" ] || { echo "corpus not found: $corpus (set SJM_CORPUS)"; exit 1; }
}

# bench_need_bc: the figures are computed with bc(1).
bench_need_bc() {
    command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
}

# bench_noop_milter DIR: build DIR/noop_milter, the milter that does
# nothing (bench/noop_milter.c), the floor every figure is compared with.
bench_noop_milter() {
    gcc -O2 -Wall -Wextra -o "$1/noop_milter" "$top/bench/noop_milter.c" -lmilter -lpthread || exit 1
}

# bench_signed_lf OUT: the detached-signed Thunderbird message with LF
# line ends, as smtp-source -F wants its file.
bench_signed_lf() {
    awk '{ sub(/\r$/, ""); print }' "$corpus/alice.dsig.SHA256.multipart.eml" >"$1"
}

# bench_postfix CONF [MAIN_CF_LINES]: a private Postfix on 127.0.0.1 with
# SJM_BIN in front, configured by CONF, through tests/lib/e2e.sh (its
# E2E_* variables and e2e_* functions are then defined).  Call it in a
# subshell: the instance is stopped and removed when that exits.
bench_postfix() {
    . "$top/tests/lib/e2e.sh"
    E2E_EXTRA_MAIN_CF=${2:-} e2e_start "$1" >/dev/null
}

# median: the median of the numbers on stdin, separated by spaces or newlines.
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
