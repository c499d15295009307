#!/bin/bash
# tests/robustness/fuzz/run.sh - build the fuzz targets with clang's libFuzzer and
# AddressSanitizer/UndefinedBehaviorSanitizer and run them (not part of
# "make check", which only replays the saved corpus; see replay.sh).
#
#   tests/robustness/fuzz/run.sh [SECONDS-PER-TARGET] [TARGET...]   (default 600, txn config)
#
# Seeds: tests/robustness/fuzz/corpus/TARGET (the saved, minimised corpus), plus for
# txn every message of the Thunderbird S/MIME corpus and a set of
# openssl-made messages (detached, opaque, nested, broken), each under
# every policy byte (see fuzz_txn.c).  New coverage goes to a work
# directory; at the end the corpus is merged (-merge=1) back into
# tests/robustness/fuzz/corpus/TARGET, and crashes are left in the work directory
# as crash-* files: copy each into tests/robustness/fuzz/regress/TARGET so that
# "make check" replays it.  Prints execs, coverage and time per target.
set -eu
secs=${1:-600}
shift || true
targets=${*:-txn config}
src=$(cd "$(dirname "$0")/../../.." && pwd)
work=${FUZZ_WORK:-/var/tmp/sjm-fuzz}
corpus=${SJM_CORPUS:-$src/../shared/corpus/thunderbird}
[ -d "$corpus" ] || { echo "corpus not found: $corpus (set SJM_CORPUS)" >&2; exit 1; }
command -v clang >/dev/null || { echo "SKIP: clang is not installed (apt-get install -y clang)"; exit 77; }
mkdir -p "$work/bin"

# Every source of libsjm.a, straight from the tree, instrumented.
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/include $(pkg-config --cflags gmime-3.0 glib-2.0 openssl)"
libs="$(pkg-config --libs gmime-3.0 glib-2.0 openssl)"
sources=$(sed -n '/^libsjm_a_SOURCES/,/^$/p' "$src/Makefile.am" | grep -o 'milter/[a-z_]*\.c' | sed "s|^|$src/|")
for t in $targets; do
    echo "building fuzz_$t"
    # shellcheck disable=SC2086
    clang $cflags -o "$work/bin/fuzz_$t" "$src/tests/robustness/fuzz/fuzz_$t.c" $sources $libs
done

seed_txn() {   # SEEDDIR: corpus messages and openssl-made ones, under every policy byte
    local d=$1 f b m
    mkdir -p "$d" "$work/gen"
    (cd "$work/gen" && "$src/tests/robustness/fuzz/gen-seeds.sh" >/dev/null)
    for f in "$corpus"/*.eml "$work"/gen/*.eml; do
        for b in 0 1 2 3 5 9 15; do
            m=$d/$(basename "$f" .eml).$b
            printf "\\x$(printf %02x $b)" >"$m"
            cat "$f" >>"$m"
        done
    done
}

for t in $targets; do
    mkdir -p "$work/$t/new" "$work/$t/seed" "$src/tests/robustness/fuzz/corpus/$t"
    [ "$t" = txn ] && seed_txn "$work/$t/seed"
    [ "$t" = config ] && cp "$src"/etc/*.conf "$src"/tests/cli/config-bad/* "$work/$t/seed/" 2>/dev/null || true
    echo "fuzzing $t for ${secs}s"
    (cd "$work/$t" && "$work/bin/fuzz_$t" -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
        -print_final_stats=1 -detect_leaks=1 new "$src/tests/robustness/fuzz/corpus/$t" seed >log 2>&1) || true
    grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss|cov:" "$work/$t/log" | tail -n 4
    ls "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-* 2>/dev/null || echo "no crash, leak, timeout or oom for $t"
    # Keep the saved corpus small: only inputs that add coverage.
    mkdir -p "$work/$t/merged"
    # Inputs over 16 KB (txn) / 4 KB (config) are cut: the saved corpus stays small.
    maxlen=16384; [ "$t" = config ] && maxlen=4096
    "$work/bin/fuzz_$t" -merge=1 -max_len=$maxlen "$work/$t/merged" "$src/tests/robustness/fuzz/corpus/$t" "$work/$t/new" >"$work/$t/merge.log" 2>&1
    rm -rf "${src:?}/tests/robustness/fuzz/corpus/$t" && mv "$work/$t/merged" "$src/tests/robustness/fuzz/corpus/$t"
    echo "saved corpus for $t: $(ls "$src/tests/robustness/fuzz/corpus/$t" | wc -l) inputs, $(du -sk "$src/tests/robustness/fuzz/corpus/$t" | cut -f1) KB"
done
