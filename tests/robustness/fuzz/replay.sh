#!/bin/bash
# tests/robustness/fuzz/replay.sh - "make check" part of the fuzzing: every input of
# the saved corpus (tests/robustness/fuzz/corpus/TARGET, coverage-minimised by
# tests/robustness/fuzz/run.sh) and every input that once crashed
# (tests/robustness/fuzz/regress/TARGET) through the fuzz targets, built with the
# ordinary compiler against replay.c.  In the sanitized build
# (tests/robustness/asan.sh) the same replay runs under ASan/UBSan.
set -u
fuzz=$abs_top_srcdir/tests/robustness/fuzz
bin=$abs_top_builddir/tests/robustness/fuzz
fails=0
passed=0
for t in txn config; do
    dirs=()
    for d in "$fuzz/corpus/$t" "$fuzz/regress/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    if [ ${#dirs[@]} -eq 0 ]; then
        echo "not ok - no saved inputs for $t"
        fails=$((fails + 1))
        continue
    fi
    out=$(mktemp)
    "$bin/replay_$t" "${dirs[@]}" >"$out" 2>&1
    status=$?
    n=$(grep -c '^ok - ' "$out")
    if [ "$status" -eq 0 ]; then
        echo "ok - $t: $n saved inputs replayed without a crash, leak report or broken contract"
        passed=$((passed + 1))
    else
        tail -n 30 "$out"
        echo "not ok - $t: replay failed after $n inputs (status $status)"
        fails=$((fails + 1))
    fi
    rm -f "$out"
done
echo "$passed passed, $fails failed"
[ "$fails" -eq 0 ]
