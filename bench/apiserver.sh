#!/bin/bash
# bench/apiserver.sh - the cluster API server under load (issue 5's numbers).
#
# One `berth server` on SQLite in a scratch dir: pod creates per second with
# 1 and 16 keep-alive HTTPS clients, a list of 1,000 pods as a Table (what
# `kubectl get pods` asks for) and raw, watch fan-out (100 watchers, time for
# one write to reach all) and the idle RSS.  Then the same creates on etcd
# beside etcd's own sequential put rate through its JSON gateway (the peer
# the issue names), and the ratio.  The load generator is
# bench/apiserver-load.py.  The in-process controllers are off
# (--disable-controllers, --disable-scheduler): their informer caches and reactions to 5,000 new
# pods are not the API server's cost.  Everything listens on 127.0.0.1; every
# process started here is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH:-$PWD/build/berth}
W=$(mktemp -d /tmp/berth-apibench.XXXXXX)
L="python3 $PWD/bench/apiserver-load.py"
PIDS=()
cleanup() {
	# newest first: the etcd-backed server stops before the etcd it talks to
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		{ kill "${PIDS[i]}" 2>/dev/null && wait "${PIDS[i]}" 2>/dev/null; } || true
	done
	rm -rf "$W"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server DIR PORT [DATASTORE]: sets SPID
start_server() {
	"$B" server --disable-controllers --disable-scheduler --data-dir "$1" --listen "127.0.0.1:$2" ${3:+--datastore "$3"} >"$1.log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 200); do
		[ -f "$1/kubeconfig.yaml" ] && curl -sk "https://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "server did not start: $(cat "$1.log")" >&2
	exit 1
}

api() { curl -sk -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

# ---- SQLite ----
P=$(port)
start_server "$W/sqlite" "$P"
URL=https://127.0.0.1:$P
TOKEN=$(cut -d, -f1 "$W/sqlite/tokens" | head -1)
CA=$W/sqlite/tls/ca.crt
for ns in c1 c16 list watch; do api -X POST "$URL/api/v1/namespaces" -d "{\"metadata\":{\"name\":\"$ns\"}}" >/dev/null; done
echo "== berth server, SQLite"
C1=$($L creates "$URL" "$TOKEN" "$CA" 1000 1 c1)
echo "$C1"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CPU0=$(cpu "$SPID")
C16=$($L creates "$URL" "$TOKEN" "$CA" 4000 16 c16)
echo "$C16"
# the server's own CPU for those creates: what the machine's other load does not change
python3 -c "c=($(cpu "$SPID")-$CPU0)/$(getconf CLK_TCK); print(f'server_cpu {c:.2f} s for 4000 creates ({4000/c:.0f} creates per server CPU-second)')"
$L creates "$URL" "$TOKEN" "$CA" 1000 8 list >/dev/null
$L list "$URL" "$TOKEN" "$CA" list 10
$L watch "$URL" "$TOKEN" "$CA" watch 100
sleep 3
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$SPID/status")
echo "idle_rss $((RSS / 1024)) MB ($RSS kB)"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

# ---- etcd ----
EP=$(port); PP=$(port)
etcd --name b --data-dir "$W/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
	--advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$PP" \
	--initial-advertise-peer-urls "http://127.0.0.1:$PP" --initial-cluster "b=http://127.0.0.1:$PP" \
	>"$W/etcd.log" 2>&1 &
EPID=$!
PIDS+=("$EPID")
for _ in $(seq 200); do curl -s "http://127.0.0.1:$EP/health" >/dev/null 2>&1 && break; sleep 0.05; done
echo "== etcd $(etcd --version | head -1 | awk '{print $3}') beside berth on etcd"
EPUT=$($L etcdput "http://127.0.0.1:$EP" 1000)
echo "$EPUT"
P=$(port)
start_server "$W/etcdsrv" "$P" "etcd:http://127.0.0.1:$EP"
URL=https://127.0.0.1:$P
TOKEN=$(cut -d, -f1 "$W/etcdsrv/tokens" | head -1)
CA=$W/etcdsrv/tls/ca.crt
api -X POST "$URL/api/v1/namespaces" -d '{"metadata":{"name":"e1"}}' >/dev/null
api -X POST "$URL/api/v1/namespaces" -d '{"metadata":{"name":"e16"}}' >/dev/null
E1=$($L creates "$URL" "$TOKEN" "$CA" 1000 1 e1)
echo "$E1"
E16=$($L creates "$URL" "$TOKEN" "$CA" 2000 16 e16)
echo "$E16"
echo "== ratios"
echo "berth-on-etcd creates (1 client) / etcd puts: $(ratio "$(echo "$E1" | awk '{print $2}')" "$(echo "$EPUT" | awk '{print $2}')")"
echo "berth-on-etcd creates (16 clients) / etcd puts: $(ratio "$(echo "$E16" | awk '{print $2}')" "$(echo "$EPUT" | awk '{print $2}')")"
echo "targets: >= 5000 creates/s (SQLite, 16), Table list <= 20 ms, fan-out <= 10 ms, idle RSS <= 15 MB, etcd within 2x"
