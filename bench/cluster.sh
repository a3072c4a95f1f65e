#!/bin/bash
# bench/cluster.sh - the cluster scenarios of issues 6 and 7, timed by
# bench/cluster.py from outside (a cluster scenario is no single command, so
# no hyperfine here):
#   one node (`berth up`): 100 pods -> Running / gone, RSS and PSS of berth's
#   own processes idle and with 100 pods (targets: 10 s, 40 MB), a rolling
#   update of a 100-replica Deployment (target 30 s);
#   `berth server` only with 10 agent-less Nodes: a ReplicaSet 0 -> 500 -> 0
#   (targets: 1 s each).
# Private root/runroot/data dirs under a scratch dir, free ports; every
# process started is stopped by PID and the proxy's chains are removed.
# Results also go to bench/results/cluster.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${BERTH:-$PWD/build/berth}")
W=$(mktemp -d /tmp/berth-clusterbench.XXXXXX)
OUT=$PWD/bench/results
mkdir -p "$OUT"
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
tests/fixtures/busybox-image.sh "$W/bb.tar"
{
	echo "== one node: berth up (issue 6), rolling update (issue 7)"
	python3 bench/cluster.py up "$B" "$W"
	echo "== berth server, 10 Nodes without agents: ReplicaSet 0 -> 500 -> 0 (issue 7)"
	python3 bench/cluster.py rs "$B" "$W"
} | tee "$OUT/cluster.txt"
