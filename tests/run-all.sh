#!/bin/bash
# run-all.sh - every test berth has, in one run (what `make test` and CI call):
#   1. the normal build and its unit tests (TAP, meson test)
#   2. the ASan/UBSan build and the same unit tests under the sanitizers
#   3. fuzz corpora replayed as regression tests (tests/fuzz/corpus/*)
#   4. integration tests driving the real binary (pytest, tests/integration),
#      in two groups side by side
# Prints a last line "N passed, N failed" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
top=$PWD
results=$(mktemp -d /tmp/berth-test-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
status=0

step() { printf '\n=== %s\n' "$*"; }

step "build (debugoptimized)"
make -s build || { echo "0 passed, 1 failed"; exit 1; }
step "unit tests"
meson test -C build --suite unit --print-errorlogs --no-rebuild || status=1
cp build/meson-logs/testlog.json "$results/unit.json" 2>/dev/null

step "build (ASan + UBSan)"
if make -s asan; then
	step "unit tests under ASan/UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C build-asan --suite unit --print-errorlogs --no-rebuild || status=1
	cp build-asan/meson-logs/testlog.json "$results/asan.json" 2>/dev/null
else
	echo '{"name": "asan-build", "result": "FAIL"}' > "$results/asan.json"
	status=1
fi

if [ -x tests/fuzz/replay.sh ]; then
	step "fuzz corpus replay"
	tests/fuzz/replay.sh "$results/fuzz.txt" || status=1
fi

step "integration tests (pytest)"
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (namespaces, mounts, cgroups)"
	echo "1 failed" > "$results/needroot"
	status=1
else
	# a private copy: a rebuild while the tests run cannot swap the binary under them
	cp "$top/build/berth" "$results/berth"
	# two groups side by side (tests/integration/conftest.py says which
	# module is in which): the pod-running modules one after another here,
	# the rest beside them with their output shown when both are done
	run_group() {
		BERTH="$results/berth" /usr/bin/python3 -m pytest -q -p no:cacheprovider --group="$1" \
			--junitxml="$results/integration-$1.xml" tests/integration ${PYTEST_ARGS:-}
	}
	run_group other >"$results/other.log" 2>&1 &
	other=$!
	run_group node || status=1
	wait $other || status=1
	step "integration tests (pytest), the modules that run no pods"
	cat "$results/other.log"
fi

/usr/bin/python3 - "$results" <<'PY'
import json, os, sys, glob
import xml.etree.ElementTree as ET
d = sys.argv[1]
passed = failed = skipped = 0
for name in ("unit.json", "asan.json"):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        continue
    for line in open(p):
        line = line.strip()
        if not line:
            continue
        t = json.loads(line)
        if t.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t.get("result") == "SKIP":
            skipped += 1
        else:
            failed += 1
p = os.path.join(d, "fuzz.txt")
if os.path.exists(p):
    for line in open(p):
        if line.startswith("ok"):
            passed += 1
        elif line.startswith("FAIL"):
            failed += 1
if os.path.exists(os.path.join(d, "needroot")):
    failed += 1
for p in sorted(glob.glob(os.path.join(d, "integration*.xml"))):
    root = ET.parse(p).getroot()
    for ts in root.iter("testsuite"):
        t = int(ts.get("tests", 0)); f = int(ts.get("failures", 0)) + int(ts.get("errors", 0))
        s = int(ts.get("skipped", 0))
        passed += t - f - s; failed += f; skipped += s
print()
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
