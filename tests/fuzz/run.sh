#!/bin/bash
# run.sh - `make fuzz`: build every libFuzzer target with clang (library code
# instrumented too) and run each for FUZZ_SECONDS (default 60) on its corpus.
# New findings are written to tests/fuzz/corpus/<name>/ by libFuzzer; replayed
# as regression tests by tests/fuzz/replay.sh in `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang CFLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
		meson setup build-fuzz -Dfuzz=true -Db_lundef=false --buildtype=debug >/dev/null
fi
ninja -C build-fuzz >/dev/null
for f in build-fuzz/tests/fuzz/fuzz-*; do
	[ -x "$f" ] || continue
	name=${f##*/fuzz-}
	mkdir -p "tests/fuzz/corpus/$name"
	echo "== fuzz $name for ${secs}s"
	"$f" -max_total_time="$secs" -max_len=65536 "tests/fuzz/corpus/$name"
done
