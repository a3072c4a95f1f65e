#!/bin/bash
# demo.sh - `make demo`: berth's main job on the embedded defaults.
# Builds a busybox image from Debian's busybox-static, then shows containers
# with real isolation, a memory limit that OOM-kills, a published web server,
# exec, diff and commit.  Uses the default state root (/var/lib/berth,
# /run/berth) unless BERTH_ROOT/BERTH_RUNROOT say otherwise, and removes
# the containers and images it made.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH:-$PWD/build/berth}
IMG=demo/busybox:latest
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "berth $*"; "$B" "$@"; }
cleanup() {
	"$B" rm -f demo-web demo-oom >/dev/null 2>&1 || true
	"$B" rmi -f demo/web:v2 "$IMG" >/dev/null 2>&1 || true
	rm -f "$tar"
}
tar=$(mktemp /tmp/berth-demo-XXXXXX.tar)
trap cleanup EXIT
cleanup 2>/dev/null; tar=$(mktemp /tmp/berth-demo-XXXXXX.tar)

run version
say "tests/fixtures/busybox-image.sh $tar   # a rootfs from Debian's busybox-static"
tests/fixtures/busybox-image.sh "$tar"
run import --change 'CMD ["/bin/sh"]' "$tar" "$IMG"
run images

echo; echo "== isolation: own PID, UTS, mount and network namespaces, pivot_root, caps, seccomp"
run run --rm --hostname demo "$IMG" sh -c 'echo "hostname: $(hostname)"; echo "my pid: $$"; ps; ip addr show eth0 | grep inet; grep -E "^(CapEff|Seccomp|NoNewPrivs)" /proc/self/status'

echo; echo "== a 16 MiB memory limit: the hog is OOM-killed (exit 137)"
set +e
run run --name demo-oom --network none -m 16m --memory-swap 16m "$IMG" sh -c 'x=aaaaaaaa; while true; do x=$x$x; done'
echo "exit status: $?"
set -e
say "berth inspect demo-oom | grep -E 'OOMKilled|ExitCode'"
"$B" inspect demo-oom | grep -E '"OOMKilled"|"ExitCode"'

echo; echo "== a web server on the bridge network, published on 127.0.0.1:18080"
run run -d --name demo-web -p 127.0.0.1:18080:80 "$IMG" sh -c 'echo "hello from berth" > /var/www/index.html; exec httpd -f -p 80 -h /var/www'
for i in $(seq 50); do curl -fsS http://127.0.0.1:18080/ 2>/dev/null && break; sleep 0.1; done
run ps
run exec demo-web sh -c 'echo "v2 from berth" > /var/www/index.html'
say "curl http://127.0.0.1:18080/"
curl -fsS http://127.0.0.1:18080/
run diff demo-web
run commit -m "web page v2" demo-web demo/web:v2
run history demo/web:v2
run stop -t 2 demo-web
run logs --tail 5 demo-web
run rm demo-web demo-oom
echo; echo "demo done: containers and images removed."
