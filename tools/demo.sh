#!/bin/bash
# demo.sh - `make demo`: berth's main job on the embedded defaults.
# Builds a busybox image from Debian's busybox-static, then shows containers
# with real isolation, a memory limit that OOM-kills, a published web server,
# exec, diff and commit; a Dockerfile build and its cached rebuild; a registry
# with push and pull; the cluster API driven by kubectl (Deployment, scale,
# rollout history); and a template rendered by the chart engine.  Uses the default state root (/var/lib/berth,
# /run/berth) unless BERTH_ROOT/BERTH_RUNROOT say otherwise, and removes
# the containers and images it made.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH:-$PWD/build/berth}
IMG=demo/busybox:latest
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "berth $*"; "$B" "$@"; }
regpid=; srvpid=
cleanup() {
	if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; fi
	if [ -n "$srvpid" ]; then kill "$srvpid" 2>/dev/null || true; fi
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

echo; echo "== build an image from a Dockerfile; the rebuild comes from the cache"
ctx=$(mktemp -d /tmp/berth-demo-ctx-XXXXXX)
printf '<h1>built by berth</h1>\n' > "$ctx/index.html"
cat > "$ctx/Dockerfile" <<'DF'
FROM demo/busybox:latest
RUN mkdir -p /var/www && echo "built at build time" > /var/www/build.txt
COPY index.html /var/www/index.html
WORKDIR /var/www
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/var/www"]
DF
run build --progress plain -t demo/site:1 "$ctx"
run build --progress plain -t demo/site:1 "$ctx"

echo; echo "== a registry on 127.0.0.1, push and pull (seed 000's log)"
regroot=$(mktemp -d /tmp/berth-demo-reg-XXXXXX)
"$B" registry serve --addr 127.0.0.1:15000 --root "$regroot" >/dev/null 2>&1 &
regpid=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:15000/v2/ >/dev/null && break; sleep 0.1; done
run tag demo/site:1 127.0.0.1:15000/demo/site:1
run push --tls-verify=false 127.0.0.1:15000/demo/site:1
run push --tls-verify=false 127.0.0.1:15000/demo/site:1
run rmi 127.0.0.1:15000/demo/site:1
run pull --tls-verify=false 127.0.0.1:15000/demo/site:1
kill "$regpid"; wait "$regpid" 2>/dev/null || true; regpid=

echo; echo "== the cluster API: unmodified kubectl against berth server"
data=$(mktemp -d /tmp/berth-demo-server-XXXXXX)
"$B" server --data-dir "$data" --listen 127.0.0.1:16443 >"$data/server.log" 2>&1 &
srvpid=$!
for i in $(seq 100); do [ -s "$data/kubeconfig.yaml" ] && KUBECONFIG="$data/kubeconfig.yaml" kubectl get --raw /readyz >/dev/null 2>&1 && break; sleep 0.1; done
export KUBECONFIG="$data/kubeconfig.yaml"
say "kubectl version"; kubectl version
cat > "$data/site.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: site
spec:
  replicas: 2
  selector:
    matchLabels: {app: site}
  template:
    metadata:
      labels: {app: site}
    spec:
      containers:
      - name: web
        image: 127.0.0.1:15000/demo/site:1
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: site
spec:
  selector: {app: site}
  ports: [{port: 80}]
YAML
say "kubectl apply -f site.yaml"; kubectl apply -f "$data/site.yaml"
for i in $(seq 50); do [ "$(kubectl get pods -l app=site -o name | wc -l)" -ge 2 ] && break; sleep 0.1; done
say "kubectl get deploy,rs,pods,svc"; kubectl get deploy,rs,pods,svc
say "kubectl scale deployment site --replicas=3"; kubectl scale deployment site --replicas=3
say "kubectl set image deployment/site web=127.0.0.1:15000/demo/site:2"; kubectl set image deployment/site web=127.0.0.1:15000/demo/site:2
say "kubectl rollout history deployment/site"; kubectl rollout history deployment/site
unset KUBECONFIG
kill "$srvpid"; wait "$srvpid" 2>/dev/null || true; srvpid=

echo; echo "== charts: Go templates with Sprig and Helm's functions"
printf '{{- range $i, $n := .names }}{{ $i }}: {{ $n | upper | quote }}\n{{ end }}{{ .release | default "web" | printf "release=%%s" }}\n' > "$data/t.tpl"
printf '{"names": ["alpha", "beta"]}' > "$data/values.json"
run chart eval --data "$data/values.json" "$data/t.tpl"
rm -rf "$ctx" "$regroot" "$data"
"$B" rmi -f demo/site:1 127.0.0.1:15000/demo/site:1 >/dev/null 2>&1 || true
echo; echo "demo done: containers, images, the registry and the server removed."
