#!/bin/bash
# chart.sh - `berth chart template` as whole processes, absolute medians with
# hyperfine -N (warmup 3):
#   scaffold = the `berth chart create` scaffold                 (target <= 5 ms)
#   big      = bench/charts/big: 60 templates over a library helper
#              chart and 3 subcharts                              (target <= 50 ms)
#   range    = bench/charts/range: one 1,000-item range           (target <= 10 ms)
# Results: bench/results/chart.json and a summary line per case.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
B=${BERTH:-$TOP/build/berth}
W=${BENCH_DIR:-/tmp/berth-bench}/chart
RUNS=${CHART_RUNS:-50}
OUT=$TOP/bench/results
mkdir -p "$W" "$OUT"
trap 'rm -rf "$W"' EXIT
rm -rf "$W/scaffold"
(cd "$W" && "$B" chart create scaffold >/dev/null)
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/chart.json" \
	-n scaffold "$B chart template $W/scaffold" \
	-n big "$B chart template $TOP/bench/charts/big" \
	-n range "$B chart template $TOP/bench/charts/range" >/dev/null
python3 - "$OUT/chart.json" <<'PY'
import json, sys
targets = {"scaffold": 5, "big": 50, "range": 10}
for r in json.load(open(sys.argv[1]))["results"]:
    med = r["median"] * 1000
    print("chart template %-8s median %6.2f ms  (target <= %d ms)" % (r["command"], med, targets[r["command"]]))
PY
