#!/bin/bash
# bench/run.sh - `make bench`: berth beside its peers, same machine, same run.
#
# Container start (issue "Foundation"): `berth run --rm --network none IMG true`
# beside `crun run` on the same rootfs and `podman run --rm --network none` on
# the same image, then berth's bridge network beside podman's default network,
# and the RSS of a detached container's supervisor.  hyperfine -N, warmup 3.
# Peers are configured privately (CONTAINERS_CONF, --root/--runroot under the
# scratch dir): nothing of the system's podman setup is touched.  crun refuses
# this host's hybrid cgroup layout unless a v1 hugetlb hierarchy exists; the
# script mounts one for the run (berth needs no such thing) and removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
B=$TOP/build/berth
W=${BENCH_DIR:-/tmp/berth-bench}
RUNS=${RUNS:-50}
OUT=$TOP/bench/results
mkdir -p "$W" "$OUT"
BR="$B --root $W/berth-root --runroot $W/berth-run"
export CONTAINERS_CONF=$W/containers.conf
PODMAN="podman --root $W/podman-root --runroot $W/podman-run --storage-driver overlay"
HUGETLB_MOUNTED=0
# the cluster scenarios alone: BENCH_ONLY=cluster (issues 6 and 7)
if [ "${BENCH_ONLY:-}" = cluster ]; then
	BERTH=$B "$TOP/bench/cluster.sh"
	exit 0
fi

cleanup() {
	set +e
	$BR rm -f $($BR ps -aq 2>/dev/null) >/dev/null 2>&1
	crun delete -f berth-bench-crun >/dev/null 2>&1
	$PODMAN rm -af >/dev/null 2>&1
	if [ "$HUGETLB_MOUNTED" = 1 ]; then
		find /sys/fs/cgroup/hugetlb -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
		umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb
	fi
}
trap cleanup EXIT

cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
[network]
network_backend = "netavark"
CONF

if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
	HUGETLB_MOUNTED=1
fi

# the same busybox rootfs for all three
tests/fixtures/busybox-image.sh "$W/bb.tar"
rm -rf "$W/bundle" && mkdir -p "$W/bundle/rootfs"
tar -C "$W/bundle/rootfs" -xf "$W/bb.tar"
(cd "$W/bundle" && rm -f config.json && crun spec)
python3 - "$W/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]; c["process"]["terminal"] = False
json.dump(c, open(p, "w"))
PY
$BR rmi -f bb >/dev/null 2>&1 || true
$BR import --change 'CMD ["/bin/sh"]' "$W/bb.tar" bb >/dev/null
$PODMAN rmi -f localhost/bb >/dev/null 2>&1 || true
$PODMAN import --change 'CMD ["/bin/sh"]' "$W/bb.tar" localhost/bb >/dev/null

hf() { # name, then the hyperfine commands
	local name=$1; shift
	hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/$name.json" "$@" >&2
}
hf run-none "$BR run --rm --network none bb true" "crun run --bundle $W/bundle berth-bench-crun" \
	"$PODMAN run --rm --network none localhost/bb true"
hf run-bridge "$BR run --rm bb true" "$PODMAN run --rm localhost/bb true"

cid=$($BR run -d --network none bb sleep 60)
sleep 1.5  # the supervisor sheds the CLI's pages after 1 s of running
sup=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["SupervisorPid"])' "$W/berth-root/containers/$cid/state.json")
rss=$(awk '/VmRSS/ {print $2}' /proc/$sup/status)
pss=$(awk '/^Pss:/ {s+=$2} END {print s}' /proc/$sup/smaps_rollup)
$BR rm -f "$cid" >/dev/null

python3 - "$OUT" "$rss" "$pss" <<'PY'
import json, sys, os
out, rss, pss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def med(name):
    r = json.load(open(os.path.join(out, name + ".json")))["results"]
    return [x["median"] * 1000 for x in r]
berth, crun, podman = med("run-none")
bberth, bpodman = med("run-bridge")
lines = [
    "| measurement | berth | peer | ratio | target |",
    "|---|---|---|---|---|",
    f"| run --rm --network none true vs crun run | {berth:.1f} ms | {crun:.1f} ms | {berth/crun:.2f}x | <= 1.3x |",
    f"| run --rm --network none true vs podman | {berth:.1f} ms | {podman:.1f} ms | {berth/podman:.3f}x | <= 0.1x |",
    f"| run --rm true (bridge) vs podman (netavark) | {bberth:.1f} ms | {bpodman:.1f} ms | {bberth/bpodman:.3f}x | <= 0.2x |",
    f"| detached supervisor RSS / PSS | {rss} kB / {pss} kB | | | <= 1 MB RSS |",
]
text = "\n".join(lines)
print(text)
open(os.path.join(out, "summary.md"), "w").write(text + "\n")
PY
# the other areas (BENCH_ONLY=runtime measures containers alone)
if [ "${BENCH_ONLY:-}" != runtime ]; then
	"$TOP/bench/registry.sh"
	"$TOP/bench/build.sh"
	"$TOP/bench/apiserver.sh"
	"$TOP/bench/scheduler.sh"
	"$TOP/bench/chart.sh"
	BERTH=$B "$TOP/bench/cluster.sh"
fi
