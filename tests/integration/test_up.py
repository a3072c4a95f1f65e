"""`berth up` with services and cluster DNS: the agent runs the service
proxy (`--proxy`), the supervising process the cluster DNS, published as
Service kube-system/kube-dns (10.43.0.10) with Endpoints naming the node
address it listens on; pods with dnsPolicy ClusterFirst get the kubelet's
resolv.conf pointing at it.  From a busybox pod, a Service answers by its
full DNS name (nslookup) and by its short name through the search path
(wget), all driven through `kubectl exec`.

The cluster runs with a private root, runroot and data dir, the API and the
DNS on free ports; at the end the workloads are deleted, `berth up` stopped
by PID, leftover containers killed by PID and the proxy's iptables chains
removed with `berth proxy --cleanup`.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"

WEB = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: httpd
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && echo \\"served by $(hostname)\\" > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports: [{containerPort: 80, name: http}]
        readinessProbe:
          tcpSocket: {port: 80}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
"""

CLIENTS = """apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
  namespace: kube-public
spec:
  terminationGracePeriodSeconds: 1
  dnsPolicy: Default
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: custom
spec:
  terminationGracePeriodSeconds: 1
  dnsPolicy: None
  dnsConfig:
    nameservers: ["192.0.2.53"]
    searches: ["example.test"]
    options: [{name: ndots, value: "2"}]
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
"""


def node_ip():
    """The source address of the default route (what `berth up` listens on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("8.8.8.8", 53))  # UDP connect: picks the route, sends nothing
        return s.getsockname()[0]


def free_port(host="127.0.0.1"):
    """A port free for both TCP and UDP on host."""
    while True:
        with socket.socket() as t:
            t.bind((host, 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((host, port))
                except OSError:
                    continue
                return port


def until(fn, what, timeout=120, every=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"never happened within {timeout}s: {what} (last: {last!r})")


class Cluster:
    def __init__(self, busybox_tar):
        self.base = tempfile.mkdtemp(prefix="berth-up-")
        self.root = os.path.join(self.base, "root")
        self.runroot = os.path.join(self.base, "run")
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        self.node_ip = node_ip()
        self.dns_port = free_port(self.node_ip)
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.berth("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "busybox:latest")
        self.log = open(os.path.join(self.base, "up.log"), "ab")
        self.starts = 0
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BERTH, "--root", self.root, "--runroot", self.runroot, "up", "--data-dir", self.data,
             "--listen", f"127.0.0.1:{self.port}", "--no-registry", "--node-name", "up-node",
             "--dns-listen", f"{self.node_ip}:{self.dns_port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        until(lambda: os.path.exists(self.kubeconfig) and self.kubectl("get", "nodes", check=False).returncode == 0,
              "the API answers", timeout=60)
        until(lambda: " Ready " in self.kubectl("get", "nodes").stdout, "the node is Ready", timeout=60)
        self.starts += 1
        until(lambda: self.up_log().count("up: cluster running") >= self.starts, "up started", timeout=60)

    def restart(self, dns_port):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=90) == 0
        self.dns_port = dns_port
        self.start()

    def berth(self, *args, check=True, timeout=300):
        p = subprocess.run([BERTH, "--root", self.root, "--runroot", self.runroot, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed: {p.stderr}")
        return p

    def kubectl(self, *args, check=True, input=None, timeout=120):
        p = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], capture_output=True, text=True,
                           input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def up_log(self):
        with open(os.path.join(self.base, "up.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        for ns in ("default", "kube-public"):
            self.kubectl("delete", "deployments,services,pods", "--all", "-n", ns, "--wait=false",
                         "--grace-period=1", check=False, timeout=60)
        try:
            until(lambda: self.kubectl("get", "pods", "-A", "-o", "name", check=False).stdout == "", "pods gone",
                  timeout=120)
            # the API forgets a pod before the agent has torn it down
            until(lambda: not os.listdir(os.path.join(self.root, "pods")) and not os.listdir(
                os.path.join(self.runroot, "agent")), "the agent tore every pod down", timeout=120)
        except AssertionError:
            pass  # killed below; the test that left it failed already
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for st in subprocess.run(["find", os.path.join(self.root, "pods"), "-name", "state.json"],
                                 capture_output=True, text=True).stdout.split():
            try:
                with open(st) as f:
                    pid = json.load(f).get("pid")
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        subprocess.run([BERTH, "proxy", "--cleanup"], capture_output=True, timeout=60)
        with open("/proc/self/mountinfo") as f:
            left = sorted({l.split()[4] for l in f if l.split()[4].startswith(self.base + "/")}, reverse=True)
        for mp in left:
            subprocess.run(["umount", "-l", mp], capture_output=True)
        self.log.close()


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = Cluster(busybox_tar)
    yield c
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


def pod_ready(c, name, ns="default"):
    p = c.kubectl("get", "pod", name, "-n", ns, "-o", "json", check=False)
    if p.returncode != 0:
        return None
    st = json.loads(p.stdout).get("status", {})
    return st.get("phase") == "Running" and any(
        x["type"] == "Ready" and x["status"] == "True" for x in st.get("conditions", []))


def test_kube_dns_service_and_endpoints(cluster):
    c = cluster
    svc = c.get("service", "kube-dns", "-n", "kube-system")
    assert svc["spec"]["clusterIP"] == "10.43.0.10"
    assert "selector" not in svc["spec"]
    ports = sorted((p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"])
    assert ports == [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    ep = c.get("endpoints", "kube-dns", "-n", "kube-system")
    (subset,) = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == [c.node_ip]
    assert sorted((p["name"], p["port"], p["protocol"]) for p in subset["ports"]) == [
        ("dns", c.dns_port, "UDP"), ("dns-tcp", c.dns_port, "TCP")]
    # mirrored into a slice, which is what the proxy and the DNS read
    slices = until(lambda: c.get("endpointslices", "-n", "kube-system",
                                 "-l", "kubernetes.io/service-name=kube-dns")["items"], "kube-dns slice")
    assert [e["addresses"] for e in slices[0]["endpoints"]] == [[c.node_ip]]


def test_pod_resolves_service_and_reaches_it_by_short_name(cluster):
    c = cluster
    c.kubectl("apply", "-f", "-", input=WEB)
    c.kubectl("apply", "-f", "-", input=CLIENTS)
    until(lambda: pod_ready(c, "client"), "client Running")
    def web_ready():
        ready = [p["metadata"]["name"] for p in c.get("pods", "-l", "app=web")["items"]
                 if pod_ready(c, p["metadata"]["name"])]
        return ready if len(ready) == 2 else None  # both, not the first that is ready
    web_pods = until(web_ready, "two web pods Ready")
    assert len(web_pods) == 2
    cluster_ip = c.get("service", "web")["spec"]["clusterIP"]
    assert cluster_ip.startswith("10.43.")

    resolv = c.kubectl("exec", "client", "--", "cat", "/etc/resolv.conf").stdout
    assert re.search(r"^nameserver 10\.43\.0\.10$", resolv, re.M), resolv
    assert re.search(r"^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b", resolv, re.M), resolv
    assert re.search(r"^options .*\bndots:5\b", resolv, re.M), resolv
    assert len(re.findall(r"^nameserver", resolv, re.M)) == 1

    # the full name, through 10.43.0.10 (proxied to the DNS on the node)
    def lookup():
        p = c.kubectl("exec", "client", "--", "nslookup", "web.default.svc.cluster.local", check=False)
        return p.stdout if re.search(rf"Address:\s*{re.escape(cluster_ip)}\b", p.stdout) else None
    out = until(lookup, "nslookup answers the ClusterIP", timeout=60)
    assert "10.43.0.10" in out  # the server that answered

    # the short name through the search path, then the ClusterIP to a web pod
    def fetch():
        p = c.kubectl("exec", "client", "--", "wget", "-qO-", "http://web:8080/", check=False)
        return p.stdout.strip() if p.returncode == 0 else None
    body = until(fetch, "wget http://web:8080/ from the client pod", timeout=60)
    assert body in {f"served by {n}" for n in web_pods}, body

    # a cluster name that does not exist: NXDOMAIN, not a hang
    p = c.kubectl("exec", "client", "--", "nslookup", "nosuch.default.svc.cluster.local", check=False)
    assert p.returncode != 0 and "NXDOMAIN" in (p.stdout + p.stderr), p.stdout + p.stderr


def test_dns_policies_default_and_none(cluster):
    c = cluster
    c.kubectl("apply", "-f", "-", input=CLIENTS)
    until(lambda: pod_ready(c, "plain", "kube-public") and pod_ready(c, "custom"), "plain and custom Running")
    plain = c.kubectl("exec", "-n", "kube-public", "plain", "--", "cat", "/etc/resolv.conf").stdout
    assert "10.43.0.10" not in plain and "svc.cluster.local" not in plain
    with open("/etc/resolv.conf") as f:
        host_ns = [l.split()[1] for l in f if l.startswith("nameserver") and not l.split()[1].startswith("127.")]
    assert [l.split()[1] for l in plain.splitlines() if l.startswith("nameserver")] == host_ns
    custom = c.kubectl("exec", "custom", "--", "cat", "/etc/resolv.conf").stdout
    assert [l for l in custom.splitlines() if l.strip()] == [
        "search example.test", "nameserver 192.0.2.53", "options ndots:2"], custom


def test_restart_keeps_service_and_moves_endpoints(cluster):
    """A second `berth up` on the same data dir keeps the kube-dns Service
    (same uid) and points its Endpoints at the new DNS port; pods still
    resolve through 10.43.0.10."""
    c = cluster
    uid = c.get("service", "kube-dns", "-n", "kube-system")["metadata"]["uid"]
    old_port = c.dns_port
    c.restart(free_port(c.node_ip))
    assert c.dns_port != old_port
    svc = c.get("service", "kube-dns", "-n", "kube-system")
    assert svc["metadata"]["uid"] == uid and svc["spec"]["clusterIP"] == "10.43.0.10"
    ep = c.get("endpoints", "kube-dns", "-n", "kube-system")
    assert {p["port"] for p in ep["subsets"][0]["ports"]} == {c.dns_port}
    cluster_ip = c.get("service", "web")["spec"]["clusterIP"]
    until(lambda: pod_ready(c, "client"), "client adopted and Running")

    def lookup():
        p = c.kubectl("exec", "client", "--", "nslookup", "web.default.svc.cluster.local", check=False)
        return re.search(rf"Address:\s*{re.escape(cluster_ip)}\b", p.stdout)
    until(lookup, "nslookup through the restarted DNS", timeout=60)
