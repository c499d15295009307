#!/bin/bash
# The whole test suite on a fresh Debian 12, as root: installs the
# dependencies, builds out of tree in _build/ and runs "make check"
# (unit tests, config and --inspect suites, S/MIME corpus, end-to-end
# tests through a private Postfix on 127.0.0.1, valgrind, and an
# ASan/UBSan build).  Set SJM_PACKAGE_TEST=1 to also build, install and
# purge the Debian package (CI does).
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
scripts/install-deps.sh
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p _build
cd _build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" >/dev/null
status=0
make -j"$(nproc)" check VERBOSE=1 || status=$?
# One closing line over every case of every suite: the scripts print
# "N passed, N failed", Check prints "NN%: Checks: N, Failures: F, Errors: E".
python3 - <<'PY'
import glob, re
passed = failed = 0
for log in glob.glob("tests/**/*.log", recursive=True):
    if "asan-build" in log or log.endswith("test-suite.log"):
        continue
    text = open(log, errors="replace").read()
    for p, f in re.findall(r"^(\d+) passed, (\d+) failed$", text, re.M):
        passed += int(p); failed += int(f)
    for n, f, e in re.findall(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", text):
        passed += int(n) - int(f) - int(e); failed += int(f) + int(e)
print(f"all suites: {passed} passed, {failed} failed")
PY
exit "$status"
