#!/bin/bash
# A second build of the whole tree with AddressSanitizer and
# UndefinedBehaviorSanitizer (configure --enable-sanitizers), in its own
# build directory, running the unit tests and the --inspect/config
# suites against the sanitized binary.  Any sanitizer report fails.
set -u
# Run from inside "make check", the outer make's command-line variables
# (TEST_LOGS lists every test, this one included) reach a nested make
# through MAKEFLAGS and would make it run the whole suite, recursively.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
if [ -n "${SJM_ASAN_STAGE:-}" ]; then
    echo "FAIL: tests/robustness/asan.sh started inside its own sanitized build"
    exit 1
fi
export SJM_ASAN_STAGE=1
build=$abs_top_builddir/asan-build
mkdir -p "$build"
cd "$build" || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ ! -f Makefile ]; then
    "$abs_top_srcdir/configure" -q --enable-sanitizers >configure.out 2>&1 \
        || { cat configure.out; echo "FAIL: configure --enable-sanitizers"; exit 1; }
fi
make -j"$(nproc)" >build.out 2>&1 || { tail -n 40 build.out; echo "FAIL: sanitized build"; exit 1; }
units=$(cd "$abs_top_srcdir" && ls tests/unit/test_*.c | sed 's/\.c$//' | tr '\n' ' ')
scripts="tests/cli/config.sh tests/cli/inspect.sh"
grep -q "tests/cli/smime-corpus.sh" "$abs_top_srcdir/Makefile.am" && scripts="$scripts tests/cli/smime-corpus.sh"
grep -q "tests/robustness/fuzz/replay.sh" "$abs_top_srcdir/Makefile.am" && scripts="$scripts tests/robustness/fuzz/replay.sh"
make check TESTS="$units $scripts" >check.out 2>&1
status=$?
grep -E '^(PASS|FAIL|ERROR|XFAIL|SKIP):|^# ' check.out
for log in $units $scripts; do
    f=${log%.sh}.log
    [ -f "$f" ] || f=$log.log
    if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >/dev/null 2>&1; then
        echo "--- sanitizer report in $f"
        grep -A 25 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" | head -n 60
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "ASan/UBSan: every test above passed with no sanitizer report"
exit "$status"
