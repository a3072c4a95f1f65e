#!/bin/bash
# registry.sh - push and pull of an image with a 200 MiB random layer:
# berth client -> berth registry beside skopeo -> Debian's docker-registry
# (the reference distribution registry), hyperfine, same machine, loopback
# only; plus the idle RSS of both servers.  Every run starts from empty
# registry storage (push) or an empty local store (pull, berth's including
# unpacking the layer), so nothing is skipped as "already exists".
#
# Output as bench/run.sh: hyperfine's reports on stderr, the summary table
# (markdown) on stdout and in bench/results/registry.md.  Both servers are
# stopped by PID and the scratch dir removed however the script ends
# (error, Ctrl-C, TERM).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
B=$TOP/build/berth
W=${BENCH_DIR:-/tmp/berth-bench}/registry
RUNS=${REG_RUNS:-5}
OUT=$TOP/bench/results
for tool in hyperfine skopeo docker-registry curl python3; do
	command -v "$tool" >/dev/null || { echo "registry.sh: $tool is needed (tools/deps.sh --peers)" >&2; exit 1; }
done
[ -x "$B" ] || { echo "registry.sh: build berth first (make build)" >&2; exit 1; }
PIDS=()
cleanup() {
	set +e
	for p in ${PIDS[@]+"${PIDS[@]}"}; do
		kill "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$W"
mkdir -p "$W" "$OUT"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BP=$(free_port); DP=$(free_port)
BR="$B --root $W/src-root --runroot $W/src-run"

# the image: one layer holding 200 MiB of random bytes (gzip blob in the store)
if ! $BR images -q big 2>/dev/null | grep -q .; then
	mkdir -p "$W/rootfs"
	head -c 200M /dev/urandom > "$W/rootfs/big"
	tar -C "$W/rootfs" -cf "$W/layer.tar" .
	$BR import "$W/layer.tar" big:latest >/dev/null
	rm -rf "$W/rootfs" "$W/layer.tar"
fi
$BR save --format oci-archive -o "$W/big.oci.tar" big

$B registry serve --addr 127.0.0.1:$BP --root "$W/breg" > "$W/breg.log" 2>&1 &
PIDS+=($!); BPID=$!
cat > "$W/dr.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $W/dreg
http:
  addr: 127.0.0.1:$DP
YML
docker-registry serve "$W/dr.yml" > "$W/dreg.log" 2>&1 &
PIDS+=($!); DPID=$!
for p in $BP $DP; do
	up=0
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$p/v2/" >/dev/null && { up=1; break; }; sleep 0.1; done
	[ $up = 1 ] || { echo "registry.sh: the registry on port $p did not start" >&2; cat "$W"/*.log >&2; exit 1; }
done
sleep 2   # idle: berth returns memory after half a second to a second without requests
brss=$(awk '/VmRSS/ {print $2}' /proc/$BPID/status)
drss=$(awk '/VmRSS/ {print $2}' /proc/$DPID/status)
bpss=$(awk '/^Pss:/ {print $2}' /proc/$BPID/smaps_rollup)
dpss=$(awk '/^Pss:/ {print $2}' /proc/$DPID/smaps_rollup)

$BR tag big 127.0.0.1:$BP/bench/big:1
wipe_b="find $W/breg/blobs -type f -delete; rm -rf $W/breg/repos/*"
wipe_d="rm -rf $W/dreg/docker"
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$OUT/registry-push.json" >&2 \
	--prepare "sh -c '$wipe_b'" "$BR push -q 127.0.0.1:$BP/bench/big:1" \
	--prepare "sh -c '$wipe_d'" "skopeo copy -q --dest-tls-verify=false oci-archive:$W/big.oci.tar docker://127.0.0.1:$DP/bench/big:1"

# pull: both registries hold the image
$BR push -q 127.0.0.1:$BP/bench/big:1 >/dev/null
skopeo copy -q --dest-tls-verify=false "oci-archive:$W/big.oci.tar" "docker://127.0.0.1:$DP/bench/big:1"
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$OUT/registry-pull.json" >&2 \
	--prepare "rm -rf $W/pull-root" "$B --root $W/pull-root --runroot $W/pull-run pull -q 127.0.0.1:$BP/bench/big:1" \
	--prepare "rm -rf $W/skopeo-dir" "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$DP/bench/big:1 dir:$W/skopeo-dir"

python3 - "$OUT" "$brss" "$drss" "$bpss" "$dpss" <<'PY'
import json, os, sys
out, brss, drss, bpss, dpss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def med(name):
    return [r["median"] for r in json.load(open(os.path.join(out, name + ".json")))["results"]]
(bp, sp), (bl, sl) = med("registry-push"), med("registry-pull")
mib = 200.0
lines = [
    "| measurement | berth | peer | ratio | target |",
    "|---|---|---|---|---|",
    f"| push 200 MiB layer (berth->berth vs skopeo->docker-registry) | {mib/bp:.0f} MiB/s | {mib/sp:.0f} MiB/s | {sp/bp:.2f}x faster | >= 2x |",
    f"| pull 200 MiB layer (berth incl. unpack vs skopeo to dir) | {mib/bl:.0f} MiB/s | {mib/sl:.0f} MiB/s | {sl/bl:.2f}x faster | >= 2x |",
    f"| idle registry RSS | {brss/1024:.1f} MB | {drss/1024:.1f} MB | {drss/max(brss,1):.1f}x smaller | <= 5 MB |",
    f"| idle registry PSS | {bpss/1024:.1f} MB | {dpss/1024:.1f} MB | {dpss/max(bpss,1):.1f}x smaller | |",
]
text = "\n".join(lines)
print(text)
open(os.path.join(out, "registry.md"), "w").write(text + "\n")
PY
