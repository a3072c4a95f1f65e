"""Services end to end: a real `berth server` (the Endpoints and EndpointSlice
controllers run in-process), `berth proxy` (iptables) and `berth dns`.

There is no node agent here: "pods" are network namespaces this module
creates (veth into a bridge bsv0 on 10.203.0.0/24), each running a small HTTP
server on port 8443 that answers its own name.  The test plays the kubelet:
it creates Pod objects (schedulerName nobody serves, so nothing else touches
them) and PATCHes their status with the netns IP, phase Running and a Ready
condition (`kubelet_status`).  Everything made here - processes (by PID),
netns, veths, the bridge, berth's iptables chains (`berth proxy --cleanup`) -
is removed at teardown, also when a test fails.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"

BRIDGE = "bsv0"
SUBNET = "10.203.0"
PODS = {"web-a": 11, "web-b": 12, "web-c": 13}  # name -> last octet
CLIENT = ("bsv-client", 20)
SERVICE_CIDR = "10.203.128.0/24"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("never happened: " + what)
        time.sleep(0.2)


def sh(*args, check=True, timeout=60):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p.stdout


def node_ip():
    """The source address of the default route (what `berth proxy` picks too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.53", 53))
            return s.getsockname()[0]
        except OSError:
            return f"{SUBNET}.1"


class Proc:
    """A process we started, stopped by PID."""

    def __init__(self, argv, log):
        self.log = open(log, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


class Net:
    """Bridge + one netns per pod (HTTP server answering its name) + a client netns."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.netns = []
        self.bridge_nf = None

    def setup(self):
        # leftovers of an earlier run that was killed before its teardown
        for ns in ["bsv-" + n for n in PODS] + [CLIENT[0]]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        # as kube-proxy requires: bridged pod-to-pod replies must pass conntrack
        path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        if os.path.exists(path):
            self.bridge_nf = open(path).read().strip()
            open(path, "w").write("1\n")
        for name, octet in list(PODS.items()) + [CLIENT]:
            self.add_ns(name, octet)
        for name, octet in PODS.items():
            root = os.path.join(self.tmp, "www-" + name)
            os.makedirs(root)
            with open(os.path.join(root, "index.html"), "w") as f:
                f.write(name + "\n")
            self.procs.append(Proc(["ip", "netns", "exec", "bsv-" + name, "python3", "-m", "http.server", "8443",
                                    "--bind", f"{SUBNET}.{octet}", "--directory", root],
                                   os.path.join(self.tmp, name + ".log")))
        for name, octet in PODS.items():
            until(lambda: self.curl_from(CLIENT[0], f"{SUBNET}.{octet}", 8443) == name, f"{name} serving")

    def add_ns(self, name, octet):
        ns = name if name.startswith("bsv-") else "bsv-" + name
        host = f"bsv{octet}h"
        sh("ip", "netns", "add", ns)
        self.netns.append(ns)
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", host, "master", BRIDGE, "up")
        # as the bridge CNI plugin's hairpinMode: a pod reaching itself through a
        # service leaves the bridge by the port it came in
        sh("ip", "link", "set", host, "type", "bridge_slave", "hairpin", "on")
        sh("ip", "-n", ns, "addr", "add", f"{SUBNET}.{octet}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", f"{SUBNET}.1")

    def curl_from(self, ns, host, port):
        argv = (["ip", "netns", "exec", ns] if ns else []) + [
            "curl", "-s", "--max-time", "5", f"http://{host}:{port}/"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return p.stdout.strip() if p.returncode == 0 else None

    def close(self):
        for p in self.procs:
            p.stop()
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
        if self.bridge_nf is not None:
            open("/proc/sys/net/bridge/bridge-nf-call-iptables", "w").write(self.bridge_nf + "\n")


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.procs = []
        self.upstream = None

    def setup(self):
        self.server = self.start(["server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}",
                                  "--service-cidr", SERVICE_CIDR], "server.log")
        until(self.ready, "berth server answering kubectl")
        self.node_ip = node_ip()
        self.proxy = self.start(["proxy", "--kubeconfig", self.kubeconfig, "--node-ip", self.node_ip,
                                 "--cluster-cidr", f"{SUBNET}.0/24"], "proxy.log")
        self.dns_port = free_port(socket.SOCK_DGRAM)
        self.upstream = FakeUpstream()
        self.dns = self.start(["dns", "--kubeconfig", self.kubeconfig, "--listen", f"127.0.0.1:{self.dns_port}",
                               "--upstream", f"127.0.0.1:{self.upstream.port}"], "dns.log")

    def start(self, args, log):
        p = Proc([BERTH] + args, os.path.join(self.tmp, log))
        self.procs.append(p)
        return p

    def ready(self):
        if not self.server.alive():
            raise AssertionError("berth server exited: " + open(os.path.join(self.tmp, "server.log")).read())
        if not os.path.exists(self.kubeconfig):
            return False
        return subprocess.run([KUBECTL, "get", "ns", "default"], capture_output=True, env=self.env()).returncode == 0

    def env(self):
        return dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)

    def kubectl(self, *args, input=None, check=True):
        p = subprocess.run([KUBECTL] + list(args), capture_output=True, text=True, env=self.env(), input=input,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {p.stderr}")
        return p.stdout

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, obj):
        self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        if self.upstream:
            self.upstream.close()
        subprocess.run([BERTH, "proxy", "--cleanup"], capture_output=True, timeout=60)


def pod(name, ns, labels, hostname=None, subdomain=None):
    spec = {"schedulerName": "berth-test-no-scheduler",
            "containers": [{"name": "http", "image": "none", "ports": [{"name": "web", "containerPort": 8443}]}]}
    if hostname:
        spec["hostname"] = hostname
        spec["subdomain"] = subdomain
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": spec}


def kubelet_status(c, ns, name, ip, ready):
    """Play the kubelet: the pod runs in netns `ip`, Ready or not."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    st = "True" if ready else "False"
    status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
                         "conditions": [{"type": "Ready", "status": st, "lastTransitionTime": now},
                                        {"type": "ContainersReady", "status": st, "lastTransitionTime": now}]}}
    c.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(status))


# ---- a tiny DNS client and a fake upstream ----

def dns_name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".")) + b"\0"


def read_name(buf, off):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            jumped = True
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(buf[off + 1:off + 1 + n].decode())
        off += 1 + n
    raise AssertionError("name loop")


def dns_query(port, name, qtype=1, tcp=False):
    """Ask 127.0.0.1:port; returns (rcode, answers, authority) with answers as
    (type, value) where value is an IP, an SRV tuple or a name."""
    qid = int.from_bytes(os.urandom(2), "big")
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack(">HH", qtype, 1)
    if tcp:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(struct.pack(">H", len(msg)) + msg)
            ln = b""
            while len(ln) < 2:
                ln += s.recv(2 - len(ln))
            want = struct.unpack(">H", ln)[0]
            buf = b""
            while len(buf) < want:
                chunk = s.recv(want - len(buf))
                assert chunk, "TCP answer cut short"
                buf += chunk
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            s.sendto(msg, ("127.0.0.1", port))
            buf, _ = s.recvfrom(4096)
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", buf[:12])
    assert rid == qid
    off = 12
    for _ in range(qd):
        _, off = read_name(buf, off)
        off += 4

    def rrs(count, off):
        out = []
        for _ in range(count):
            _, off = read_name(buf, off)
            t, _, _, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
            rd = off + 10
            if t == 1:
                v = socket.inet_ntoa(buf[rd:rd + 4])
            elif t == 33:
                prio, weight, port_ = struct.unpack(">HHH", buf[rd:rd + 6])
                v = (prio, weight, port_, read_name(buf, rd + 6)[0])
            elif t in (5, 12, 2):
                v = read_name(buf, rd)[0]
            else:
                v = buf[rd:rd + rdlen]
            out.append((t, v))
            off = rd + rdlen
        return out, off

    answers, off = rrs(an, off)
    auth, off = rrs(ns, off)
    return flags & 0xF, answers, auth


class FakeUpstream:
    """A resolver on 127.0.0.1 that knows one name: external.example.test A 192.0.2.99."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.seen = []
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stopped:
            try:
                q, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            name, off = read_name(q, 12)
            self.seen.append(name)
            question = q[12:off + 4]
            if name == "external.example.test":
                ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.99")
                r = struct.pack(">HHHHHH", q[0] << 8 | q[1], 0x8180, 1, 1, 0, 0) + question + ans
            else:
                r = struct.pack(">HHHHHH", q[0] << 8 | q[1], 0x8183, 1, 0, 0, 0) + question
            self.sock.sendto(r, addr)

    def close(self):
        self.stopped = True
        self.t.join(timeout=5)
        self.sock.close()


# ---- fixtures ----

@pytest.fixture(scope="module")
def env():
    tmp = tempfile.mkdtemp(prefix="berth-svc-")
    net = cluster = None
    try:
        net = Net(tmp)
        net.setup()
        cluster = Cluster(tmp)
        cluster.setup()
        ns = "shop"
        cluster.kubectl("create", "namespace", ns)
        for name, octet in PODS.items():
            cluster.apply(pod(name, ns, {"app": "web"}, hostname=name, subdomain="web-headless"))
            kubelet_status(cluster, ns, name, f"{SUBNET}.{octet}", ready=(name != "web-c"))
        yield cluster, net, ns
    finally:
        if cluster:
            cluster.close()
        if net:
            net.close()
        shutil.rmtree(tmp, ignore_errors=True)


def service(name, ns, spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def nat_rules():
    return sh("iptables-save", "-t", "nat")


def answers_seen(fetch, names, tries=60):
    """Fetch repeatedly; the set of answers once every name was seen (or all seen after tries)."""
    seen = set()
    for _ in range(tries):
        seen.add(fetch())
        if set(names) <= seen:
            break
    return seen


# ---- tests ----

def test_endpoints_and_slices(env):
    c, net, ns = env
    c.apply(service("web", ns, {"selector": {"app": "web"},
                                "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}))

    def endpoints():
        try:
            ep = c.json("get", "endpoints", "web", "-n", ns)
        except AssertionError:
            return None
        subsets = ep.get("subsets") or []
        if len(subsets) != 1 or len(subsets[0].get("addresses", [])) != 2:
            return None
        return subsets[0]

    s = until(endpoints, "Endpoints web with the two ready pods")
    assert sorted(a["ip"] for a in s["addresses"]) == [f"{SUBNET}.11", f"{SUBNET}.12"]
    assert [a["ip"] for a in s["notReadyAddresses"]] == [f"{SUBNET}.13"]
    assert s["ports"][0]["port"] == 8443 and s["ports"][0]["name"] == "http"
    assert {a["targetRef"]["name"] for a in s["addresses"]} == {"web-a", "web-b"}

    def slices():
        items = c.json("get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web")["items"]
        return items if items and len(items[0].get("endpoints") or []) == 3 else None

    items = until(slices, "an EndpointSlice for web with 3 endpoints")
    assert len(items) == 1
    sl = items[0]
    assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert sl["addressType"] == "IPv4" and sl["ports"][0]["port"] == 8443
    ready = {e["addresses"][0]: e["conditions"]["ready"] for e in sl["endpoints"]}
    assert ready == {f"{SUBNET}.11": True, f"{SUBNET}.12": True, f"{SUBNET}.13": False}
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"

    # a pod turning ready moves into addresses
    kubelet_status(c, ns, "web-c", f"{SUBNET}.13", ready=True)
    until(lambda: len((c.json("get", "endpoints", "web", "-n", ns).get("subsets") or [{}])[0].get("addresses", [])) == 3,
          "web-c among the ready addresses")
    kubelet_status(c, ns, "web-c", f"{SUBNET}.13", ready=False)
    until(endpoints, "web-c not ready again")

    # a service without selector is left alone
    c.apply(service("manual", ns, {"ports": [{"port": 80}]}))
    c.apply({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual", "namespace": ns},
             "subsets": [{"addresses": [{"ip": "10.203.0.99"}], "ports": [{"port": 80}]}]})
    c.apply(service("trigger", ns, {"selector": {"app": "web"}, "ports": [{"port": 81, "targetPort": 8443}]}))
    until(lambda: c.kubectl("get", "endpoints", "trigger", "-n", ns, check=False), "endpoints of trigger")
    ep = c.json("get", "endpoints", "manual", "-n", ns)
    assert ep["subsets"][0]["addresses"][0]["ip"] == "10.203.0.99"
    # ... and mirrored into an EndpointSlice (what the proxy and DNS read)
    mirrored = until(lambda: c.json("get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=manual")["items"],
                     "the manual Endpoints mirrored")
    assert mirrored[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
        "endpointslicemirroring-controller.k8s.io"
    assert mirrored[0]["endpoints"][0]["addresses"] == ["10.203.0.99"]


def test_cluster_ip_from_host_and_pod(env):
    c, net, ns = env
    c.apply(service("front", ns, {"selector": {"app": "web"},
                                  "ports": [{"name": "http", "port": 80, "targetPort": "web"}]}))
    cip = c.json("get", "svc", "front", "-n", ns)["spec"]["clusterIP"]
    until(lambda: net.curl_from(None, cip, 80) in ("web-a", "web-b"), "ClusterIP reachable from the host")
    seen = answers_seen(lambda: net.curl_from(None, cip, 80), ["web-a", "web-b"])
    assert {"web-a", "web-b"} <= seen, seen
    assert "web-c" not in seen, "the not-ready pod got traffic"
    seen = answers_seen(lambda: net.curl_from(CLIENT[0], cip, 80), ["web-a", "web-b"])
    assert {"web-a", "web-b"} <= seen and "web-c" not in seen, seen
    # hairpin: a pod reaching itself through the service
    seen = answers_seen(lambda: net.curl_from("bsv-web-a", cip, 80), ["web-a", "web-b"])
    assert {"web-a", "web-b"} <= seen, seen

    rules = nat_rules()
    assert f"{ns}/front:http cluster IP" in rules
    assert "--probability 0.5000000000" in rules

    # deleting the service removes its rules
    c.kubectl("delete", "svc", "front", "-n", ns)
    until(lambda: f"{ns}/front:http" not in nat_rules(), "front's rules removed")
    # (whatever the host's own network does with the address then, no pod answers)
    assert net.curl_from(None, cip, 80) not in PODS


def test_nodeport_and_loadbalancer_seed_003(env):
    c, net, ns = env
    c.apply(service("dashboard-lb", ns, {"type": "LoadBalancer", "selector": {"app": "web"},
                                         "ports": [{"protocol": "TCP", "port": 9443, "targetPort": 8443,
                                                    "nodePort": 30063}]}))
    svc = until(lambda: (lambda s: s if s["status"].get("loadBalancer", {}).get("ingress") else None)(
        c.json("get", "svc", "dashboard-lb", "-n", ns)), "load balancer ingress allocated")
    assert svc["spec"]["ports"][0]["nodePort"] == 30063
    assert [i["ip"] for i in svc["status"]["loadBalancer"]["ingress"]] == [c.node_ip]
    out = c.kubectl("get", "svc", "dashboard-lb", "-n", ns)
    assert c.node_ip in out and "9443:30063/TCP" in out
    ip = c.node_ip
    until(lambda: net.curl_from(None, ip, 9443) in ("web-a", "web-b"), "LoadBalancer IP:9443 answers")
    seen = answers_seen(lambda: net.curl_from(None, ip, 9443), ["web-a", "web-b"])
    assert {"web-a", "web-b"} <= seen and "web-c" not in seen, seen
    seen = answers_seen(lambda: net.curl_from(None, ip, 30063), ["web-a", "web-b"])
    assert {"web-a", "web-b"} <= seen and "web-c" not in seen, seen
    # NodePort from a pod, to the node's bridge address, and on 127.0.0.1 (route_localnet)
    assert net.curl_from(CLIENT[0], f"{SUBNET}.1", 30063) in ("web-a", "web-b")
    assert net.curl_from(None, "127.0.0.1", 30063) in ("web-a", "web-b")
    cip = svc["spec"]["clusterIP"]
    assert net.curl_from(CLIENT[0], cip, 9443) in ("web-a", "web-b")


def test_service_with_manual_endpoints(env):
    c, net, ns = env
    c.apply(service("outside", ns, {"ports": [{"port": 80, "targetPort": 8443}]}))
    c.apply({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "outside", "namespace": ns},
             "subsets": [{"addresses": [{"ip": f"{SUBNET}.12"}], "ports": [{"port": 8443}]}]})
    cip = c.json("get", "svc", "outside", "-n", ns)["spec"]["clusterIP"]
    until(lambda: net.curl_from(None, cip, 80) == "web-b", "a selector-less service reaches its manual endpoint")


def test_session_affinity_client_ip(env):
    c, net, ns = env
    c.apply(service("sticky", ns, {"selector": {"app": "web"}, "sessionAffinity": "ClientIP",
                                   "ports": [{"port": 80, "targetPort": 8443}]}))
    cip = c.json("get", "svc", "sticky", "-n", ns)["spec"]["clusterIP"]
    first = until(lambda: net.curl_from(CLIENT[0], cip, 80), "sticky answers")
    assert {net.curl_from(CLIENT[0], cip, 80) for _ in range(12)} == {first}
    assert "--rcheck --seconds 10800 --reap" in nat_rules()


def test_headless_service_has_no_rules(env):
    c, net, ns = env
    c.apply(service("web-headless", ns, {"clusterIP": "None", "selector": {"app": "web"},
                                         "ports": [{"name": "web", "port": 8443}]}))
    until(lambda: c.kubectl("get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web-headless",
                            "-o", "name"), "slices of the headless service")
    c.apply(service("probe", ns, {"selector": {"app": "web"}, "ports": [{"port": 82, "targetPort": 8443}]}))
    until(lambda: f"{ns}/probe cluster IP" in nat_rules(), "a later service's rules (so the headless one was seen)")
    assert f"{ns}/web-headless" not in nat_rules()


def test_dns(env):
    c, net, ns = env
    c.apply(service("api", ns, {"selector": {"app": "web"},
                                "ports": [{"name": "https", "port": 443, "targetPort": 8443}]}))
    c.apply(service("web-headless", ns, {"clusterIP": "None", "selector": {"app": "web"},
                                         "ports": [{"name": "web", "port": 8443}]}))
    cip = c.json("get", "svc", "api", "-n", ns)["spec"]["clusterIP"]
    port = c.dns_port
    name = f"api.{ns}.svc.cluster.local"
    until(lambda: dns_query(port, name)[1] == [(1, cip)], "A record of the service")
    rcode, ans, auth = dns_query(port, name, tcp=True)
    assert rcode == 0 and ans == [(1, cip)], "the same over TCP"

    rcode, ans, _ = dns_query(port, f"_https._tcp.api.{ns}.svc.cluster.local", qtype=33)
    assert rcode == 0 and ans == [(33, (0, 100, 443, name))]

    hl = f"web-headless.{ns}.svc.cluster.local"
    until(lambda: sorted(v for _, v in dns_query(port, hl)[1]) == [f"{SUBNET}.11", f"{SUBNET}.12"],
          "headless service: the ready pods' IPs")
    rcode, ans, _ = dns_query(port, f"web-b.{hl}")
    assert rcode == 0 and ans == [(1, f"{SUBNET}.12")], "per-pod hostname record"
    rcode, ans, _ = dns_query(port, f"_web._tcp.{hl}", qtype=33)
    assert sorted(v[3] for _, v in ans) == [f"web-a.{hl}", f"web-b.{hl}"]
    assert all(v[2] == 8443 for _, v in ans)

    rcode, ans, auth = dns_query(port, f"missing.{ns}.svc.cluster.local")
    assert rcode == 3 and not ans and auth and auth[0][0] == 6, "NXDOMAIN with SOA"
    rcode, ans, auth = dns_query(port, name, qtype=28)
    assert rcode == 0 and not ans and auth[0][0] == 6, "NODATA (AAAA) with SOA"

    rcode, ans, _ = dns_query(port, "external.example.test")
    assert rcode == 0 and ans == [(1, "192.0.2.99")], "forwarded to the upstream"
    assert "external.example.test" in c.upstream.seen
    rcode, ans, _ = dns_query(port, "nothing.example.test", tcp=True)
    assert rcode == 3, "upstream NXDOMAIN passed through (TCP client, UDP upstream)"

    # the DNS follows changes
    c.kubectl("delete", "svc", "api", "-n", ns)
    until(lambda: dns_query(port, name)[0] == 3, "deleted service is NXDOMAIN")


def test_dns_never_forwards_to_itself(env):
    c, net, ns = env
    port = free_port(socket.SOCK_DGRAM)
    p = c.start(["dns", "--kubeconfig", c.kubeconfig, "--listen", f"127.0.0.1:{port}",
                 "--upstream", f"127.0.0.1:{port}"], "dns-self.log")
    try:
        def answer():
            try:
                return dns_query(port, "loop.example.test")
            except OSError:
                return None
        rcode, ans, _ = until(answer, "the second dns server answering")
        assert rcode == 2 and not ans, "SERVFAIL (no usable upstream), not a forwarding loop"
        assert "that is this server" in open(os.path.join(c.tmp, "dns-self.log")).read()
    finally:
        p.stop()


def test_service_without_endpoints_refuses(env):
    c, net, ns = env
    c.apply(service("nobody", ns, {"selector": {"app": "none"}, "type": "NodePort",
                                   "ports": [{"port": 80, "targetPort": 8443}]}))
    svc = c.json("get", "svc", "nobody", "-n", ns)
    cip, nodeport = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    until(lambda: f"{ns}/nobody has no endpoints" in sh("iptables-save", "-t", "filter"), "REJECT rules written")

    def curl_rc(host, port, ns_=None):
        argv = (["ip", "netns", "exec", ns_] if ns_ else []) + [
            "curl", "-s", "--max-time", "20", f"http://{host}:{port}/"]
        return subprocess.run(argv, capture_output=True, timeout=60).returncode

    assert curl_rc(cip, 80) == 7, "connection refused at once from the host (curl exit 7)"
    assert curl_rc(cip, 80, CLIENT[0]) == 7, "and from a pod"
    assert curl_rc(c.node_ip, nodeport) == 7, "and on the NodePort"
    # a pod arriving replaces the REJECT with DNAT rules
    c.kubectl("label", "pod", "web-a", "-n", ns, "app=none", "--overwrite")
    try:
        until(lambda: net.curl_from(None, cip, 80) == "web-a", "the service reaches its new pod")
        assert f"{ns}/nobody has no endpoints" not in sh("iptables-save", "-t", "filter")
    finally:
        c.kubectl("label", "pod", "web-a", "-n", ns, "app=web", "--overwrite")


def test_cleanup_removes_every_chain(env):
    c, net, ns = env
    until(lambda: "BERTH-SERVICES" in nat_rules(), "the proxy's chains exist")
    c.proxy.stop()
    sh(BERTH, "proxy", "--cleanup")
    rules = nat_rules()
    assert "BERTH-" not in rules, rules
    assert "BERTH-" not in sh("iptables-save", "-t", "filter")
    # idempotent
    sh(BERTH, "proxy", "--cleanup")
