#!/bin/bash
# bench/scheduler.sh - the scheduler under load (kube-scheduler's published
# anchor: ~1,000 pods/s on 500 nodes with 36 cores).
#
# One `berth server` on SQLite in a scratch dir, controllers off
# (--disable-controllers), scheduler in-process: 1,000 Ready Node objects
# without agents (32 cpu, 128Gi, 110 pods each), then 10,000 pods (10m cpu,
# 16Mi each) created by 16 keep-alive HTTPS clients; the number is pods
# divided by the time from the first create until a watch has seen every pod
# bound.  Then the scheduler alone, on a backlog: 10,000 pending pods created
# on a server started with --disable-scheduler, handed at once to a remote
# `berth scheduler`, and to the in-process one (the server restarted without
# --disable-scheduler), each timed from its start until all are bound, with
# the CPU the scheduler and the server spent.  "Bound" is seen on a watch,
# not by polling.  The first run also reports the server's CPU for creating,
# scheduling and binding the pods (the figure to compare on a loaded
# machine); REMOTE=0 skips the remote scheduler.  The load generator is
# bench/scheduler-load.py.
# Everything listens on 127.0.0.1; every process started here is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH:-$PWD/build/berth}
W=$(mktemp -d /tmp/berth-schedbench.XXXXXX)
L="python3 $PWD/bench/scheduler-load.py"
NODES=${NODES:-1000}
PODS=${PODS:-10000}
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true; done
	rm -rf "$W"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server DIR PORT [ARGS...]: sets SPID
start_server() {
	local dir=$1 p=$2
	shift 2
	"$B" server --disable-controllers --data-dir "$dir" --listen "127.0.0.1:$p" "$@" >"$dir.log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 400); do
		[ -f "$dir/kubeconfig.yaml" ] && curl -sk "https://127.0.0.1:$p/readyz" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "server did not start: $(cat "$dir.log")" >&2
	exit 1
}

api() { curl -sk -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

echo "== berth scheduler in-process: $NODES nodes, $PODS pods created with 16 clients"
P=$(port)
start_server "$W/a" "$P"
URL=https://127.0.0.1:$P
TOKEN=$(cut -d, -f1 "$W/a/tokens" | head -1)
CA=$W/a/tls/ca.crt
api -X POST "$URL/api/v1/namespaces" -d '{"metadata":{"name":"bench"}}' >/dev/null
$L nodes "$URL" "$TOKEN" "$CA" "$NODES" 16
S0=$(cpu "$SPID")
$L pods "$URL" "$TOKEN" "$CA" bench "$PODS" 16
# the server's CPU for creating, scheduling and binding them (independent of
# the machine's other load; Events written after the last binding not counted)
python3 -c "c=($(cpu "$SPID")-$S0)/$TCK; print(f'server_cpu {c:.2f} s to create and bind $PODS pods ({$PODS/c:.0f} pods per CPU-second)')"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

if [ "${REMOTE:-1}" != 0 ]; then  # REMOTE=0: skip the remote scheduler
	echo "== remote berth scheduler on a backlog of $PODS pending pods"
	P=$(port)
	start_server "$W/b" "$P" --disable-scheduler
	URL=https://127.0.0.1:$P
	TOKEN=$(cut -d, -f1 "$W/b/tokens" | head -1)
	CA=$W/b/tls/ca.crt
	api -X POST "$URL/api/v1/namespaces" -d '{"metadata":{"name":"bench"}}' >/dev/null
	$L nodes "$URL" "$TOKEN" "$CA" "$NODES" 16 >/dev/null
	$L create "$URL" "$TOKEN" "$CA" bench "$PODS" 16
	S0=$(cpu "$SPID")
	T0=$(date +%s.%N)
	"$B" scheduler --kubeconfig "$W/b/kubeconfig.yaml" >"$W/sched.log" 2>&1 &
	RPID=$!
	PIDS+=("$RPID")
	$L wait "$URL" "$TOKEN" "$CA" bench "$PODS" "$T0"
	# CPU the scheduler itself spent (list, schedule, bind, events) and the
	# server's for it: independent of the machine's other load
	RC=$(cpu "$RPID") SC=$(($(cpu "$SPID") - S0))
	python3 -c "c=$RC/$TCK; s=$SC/$TCK; print(f'scheduler_cpu {c:.2f} s, server_cpu {s:.2f} s for $PODS pods ({$PODS/c:.0f} pods per scheduler CPU-second, {$PODS/(c+s):.0f} per CPU-second of both)')"
	kill "$RPID" "$SPID"; wait "$RPID" "$SPID" 2>/dev/null || true
fi

echo "== in-process berth scheduler on a backlog of $PODS pending pods (server restarted with it)"
P=$(port)
start_server "$W/c" "$P" --disable-scheduler
URL=https://127.0.0.1:$P
TOKEN=$(cut -d, -f1 "$W/c/tokens" | head -1)
CA=$W/c/tls/ca.crt
api -X POST "$URL/api/v1/namespaces" -d '{"metadata":{"name":"bench"}}' >/dev/null
$L nodes "$URL" "$TOKEN" "$CA" "$NODES" 16 >/dev/null
$L create "$URL" "$TOKEN" "$CA" bench "$PODS" 16 >/dev/null
kill "$SPID"; wait "$SPID" 2>/dev/null || true
T0=$(date +%s.%N)
start_server "$W/c" "$P"
$L wait "$URL" "$TOKEN" "$CA" bench "$PODS" "$T0"
python3 -c "c=$(cpu "$SPID")/$TCK; print(f'server_cpu {c:.2f} s with the scheduler in it, start-up included ({$PODS/c:.0f} pods per CPU-second)')"
echo "target: >= 5000 pods/s scheduled (the in-process backlog, first to last bound, $NODES nodes, this machine: $(nproc) cores);"
echo "        create_to_all_bound also counts the API server creating the pods on the same cores"
