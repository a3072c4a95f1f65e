#!/bin/sh
# replay.sh OUTFILE - replay every fuzz corpus as a regression test.
# For each tests/fuzz/corpus/<name>/ it runs each file through
# fuzz-replay-<name> (the fuzz target linked with replay-main.c instead of
# libFuzzer, built in the normal meson build from the `fuzzers` dict in
# tests/fuzz/meson.build) and writes "ok <name>/<file>" or
# "FAIL <name>/<file>" lines to OUTFILE.  The ASan/UBSan build is used when
# it exists (BUILD_DIR overrides).  Adding a fuzzer's corpus needs no change
# here: one line in the meson dict and a corpus directory.
set -u
cd "$(dirname "$0")/../.."
out=${1:?usage: tests/fuzz/replay.sh OUTFILE}
: > "$out"
build=${BUILD_DIR:-}
if [ -z "$build" ]; then
	if [ -f build-asan/build.ninja ]; then build=build-asan; else build=build; fi
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
status=0
for dir in tests/fuzz/corpus/*/; do
	[ -d "$dir" ] || continue
	name=$(basename "$dir")
	bin=$build/tests/fuzz/fuzz-replay-$name
	ninja -C "$build" "tests/fuzz/fuzz-replay-$name" >/dev/null 2>&1
	if [ ! -x "$bin" ]; then
		echo "FAIL $name (no replay binary $bin: add it to the fuzzers dict)" >> "$out"
		status=1
		continue
	fi
	for f in "$dir"*; do
		[ -f "$f" ] || continue
		if timeout 120 "$bin" "$f" > /dev/null 2> "$err"; then
			echo "ok $name/$(basename "$f")" >> "$out"
		else
			echo "FAIL $name/$(basename "$f")" >> "$out"
			sed 's/^/    /' "$err" >&2
			status=1
		fi
	done
done
ok=$(grep -c '^ok' "$out")
bad=$(grep -c '^FAIL' "$out")
echo "fuzz corpus replay: $ok ok, $bad failed"
grep '^FAIL' "$out" >&2
exit $status
