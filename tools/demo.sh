#!/bin/bash
# demo.sh - `make demo`: berth's main job on the embedded defaults.
# Builds a busybox image from Debian's busybox-static, then shows containers
# with real isolation, a memory limit that OOM-kills, a published web server,
# exec, diff and commit; a Dockerfile build and its cached rebuild; a registry
# with push and pull; a one-node cluster from `berth up` driven by kubectl
# (nodes, a Deployment whose pods run, logs, exec reaching a Service through
# the cluster DNS, scale, rollout); and a template rendered by the chart
# engine.  Uses the default state root (/var/lib/berth,
# /run/berth) unless BERTH_ROOT/BERTH_RUNROOT say otherwise, and removes
# the containers and images it made.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BERTH:-$PWD/build/berth}
IMG=demo/busybox:latest
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "berth $*"; "$B" "$@"; }
regpid=; uppid=
# the workload goes first (the agent stops its pods), then `berth up`
# itself, then the proxy's iptables chains
stop_cluster() {
	[ -n "$uppid" ] || return 0
	say "kubectl delete -f site.yaml"
	kubectl delete --wait=false -f "$data/site.yaml" 2>/dev/null || true
	for i in $(seq 600); do
		left=$(kubectl get pods -l app=site -o name 2>/dev/null) && [ -z "$left" ] && break
		kill -0 "$uppid" 2>/dev/null || break
		sleep 0.1
	done
	# the agent has torn every pod down once their directories are gone
	for i in $(seq 300); do
		ls -d "${BERTH_ROOT:-/var/lib/berth}"/pods/default_site-* >/dev/null 2>&1 || break
		sleep 0.1
	done
	say "kill -TERM <berth up>   # stops the server, agent, registry; the DNS"
	kill -TERM "$uppid" 2>/dev/null || true
	wait "$uppid" 2>/dev/null || true
	uppid=
	if grep -q "proxy: node IP" "$data/up.log"; then "$B" proxy --cleanup 2>/dev/null || true; fi
}
cleanup() {
	if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; fi
	stop_cluster || true
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

echo; echo "== a one-node cluster: berth up (API server, scheduler, controllers, agent, proxy, DNS, registry)"
data=$(mktemp -d /tmp/berth-demo-cluster-XXXXXX)
"$B" up >"$data/up.log" 2>&1 &
uppid=$!
export KUBECONFIG=/var/lib/berth/server/kubeconfig.yaml
ready=
for i in $(seq 600); do
	kill -0 "$uppid" 2>/dev/null || { cat "$data/up.log"; echo "berth up exited" >&2; exit 1; }
	kubectl get nodes 2>/dev/null | grep -q ' Ready ' && grep -q 'up: cluster running' "$data/up.log" && { ready=1; break; }
	sleep 0.1
done
[ -n "$ready" ] || { cat "$data/up.log"; echo "the node did not become Ready" >&2; exit 1; }
say "kubectl get nodes -o wide"; kubectl get nodes -o wide
printf '<h1>site v2</h1>\n' > "$ctx/index.html"
"$B" build --progress plain -t demo/site:2 "$ctx" >/dev/null
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
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: demo/site:1
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "echo \"$(hostname) serving /var/www\"; exec httpd -f -p 80 -h /var/www"]
        ports: [{containerPort: 80}]
        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
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
say "kubectl rollout status deployment/site"; kubectl rollout status deployment/site --timeout=120s
say "kubectl get deploy,rs,pods,svc -o wide"; kubectl get deploy,rs,pods,svc -o wide
pod=$(kubectl get pods -l app=site -o jsonpath='{.items[0].metadata.name}')
say "kubectl logs $pod"; kubectl logs "$pod"
say "kubectl exec $pod -- wget -qO- http://site/   # cluster DNS + service proxy"
ok=
for i in $(seq 100); do kubectl exec "$pod" -- wget -qO- http://site/ 2>/dev/null && { ok=1; break; }; sleep 0.2; done
[ -n "$ok" ] || { echo "the Service did not answer from the pod" >&2; exit 1; }
say "kubectl scale deployment site --replicas=3"; kubectl scale deployment site --replicas=3
kubectl rollout status deployment/site --timeout=120s
say "kubectl set image deployment/site web=demo/site:2"; kubectl set image deployment/site web=demo/site:2
say "kubectl rollout status deployment/site"; kubectl rollout status deployment/site --timeout=120s
say "kubectl rollout history deployment/site"; kubectl rollout history deployment/site
pod=$(kubectl get pods -l app=site -o jsonpath='{.items[0].metadata.name}')
say "kubectl exec $pod -- cat /var/www/index.html"; kubectl exec "$pod" -- cat /var/www/index.html
stop_cluster
unset KUBECONFIG

echo; echo "== charts: Go templates with Sprig and Helm's functions"
printf '{{- range $i, $n := .names }}{{ $i }}: {{ $n | upper | quote }}\n{{ end }}{{ .release | default "web" | printf "release=%%s" }}\n' > "$data/t.tpl"
printf '{"names": ["alpha", "beta"]}' > "$data/values.json"
run chart eval --data "$data/values.json" "$data/t.tpl"
rm -rf "$ctx" "$regroot" "$data"
"$B" rmi -f demo/site:1 demo/site:2 127.0.0.1:15000/demo/site:1 >/dev/null 2>&1 || true
echo; echo "demo done: containers, images, the registry and the cluster stopped and removed."
