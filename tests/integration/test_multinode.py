"""Several nodes on one machine: every node but the server's is a network
namespace ("host") with a veth into a bridge of the root namespace on a
private /24; the API server listens on the bridge's address and each host
runs `berth agent` inside its namespace with its own root and runroot.

  * cluster (module fixture): `berth server` (scheduler + controllers) and
    4 nodes: node0 is the server's machine (an agent in the root namespace,
    labelled as `berth up` labels its node), node1..node3 are hosts.  Seed
    001's steps about several nodes run against it, then one worker dies.
  * up: `berth up` plus one host joining it.

Everything is stopped by PID, and every namespace, veth, bridge, mount,
cgroup and iptables rule made here is removed, also when a test fails.
"""
import glob
import json
import os
import random
import re
import shlex
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
CLUSTER_CIDR = "10.206.0.0/16"
CP_LABELS = ("node-role.kubernetes.io/control-plane=true,node-role.kubernetes.io/master=true,"
             "berth.dev/control-plane-node=true")

NGINX_DOCKERFILE = """FROM bb:latest
RUN mkdir -p /www && echo "nginx version: nginx/1.15.12" > /www/index.html
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy-nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 80
"""

DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: daemonset-nginx
spec:
  selector:
    matchLabels:
      name: nginx-ds
  template:
    metadata:
      labels:
        name: nginx-ds
    spec:
      tolerations:
      - key: node-role.kubernetes.io/master
        effect: NoSchedule
      containers:
      - name: c1
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 100Mi
          requests:
            memory: 100Mi
"""

JOB_BUSYBOX = """apiVersion: batch/v1
kind: Job
metadata:
  name: busybox-job
spec:
  completions: 10
  parallelism: 3
  template:
    spec:
      containers:
      - name: busybox
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["echo", "hello"]
      restartPolicy: Never
"""

SURVIVOR = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: survivor
spec:
  replicas: 2
  selector:
    matchLabels:
      app: survivor
  template:
    metadata:
      labels:
        app: survivor
    spec:
      tolerations:
      - key: node.kubernetes.io/unreachable
        operator: Exists
        effect: NoExecute
        tolerationSeconds: 3
      containers:
      - name: web
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
"""


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def until(fn, what, timeout=120, every=0.3):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"never happened within {timeout}s: {what} (last: {last!r})")


def sh(*args, check=True, timeout=60, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def in_cidr(ip, cidr):
    net, prefix = cidr.split("/")
    to_int = lambda a: int.from_bytes(socket.inet_aton(a), "big")
    mask = (0xffffffff << (32 - int(prefix))) & 0xffffffff
    return to_int(ip) & mask == to_int(net) & mask


class Hosts:
    """A bridge in the root netns on 10.204.X.0/24 (X free) and network
    namespaces hanging off it, each with one veth."""
    count = 0

    def __init__(self):
        used = sh("ip", "-4", "-o", "addr").stdout
        Hosts.count += 1
        tag = f"{os.getpid() % 10000:04d}{Hosts.count % 10}"
        self.x = next(x for x in random.sample(range(1, 250), 249) if f"10.204.{x}." not in used)
        self.bridge = f"bmn{tag}"
        self.tag = tag
        self.gw = f"10.204.{self.x}.1"
        self.netns = []
        self.routes_cleanup = []
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gw}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

    def add(self, i):
        """Host i (1..): netns mn<tag>-<i>, address 10.204.X.(i+1)."""
        ns, veth = f"mn{self.tag}-{i}", f"vmn{self.tag}{i}"
        ip = f"10.204.{self.x}.{i + 1}"
        sh("ip", "netns", "add", ns)
        self.netns.append(ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "master", self.bridge, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns, ip

    def remove(self):
        for ns in self.netns:
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.bridge, check=False)


class Node:
    def __init__(self, name, base, ns, ip):
        self.name, self.ns, self.ip = name, ns, ip
        self.root = os.path.join(base, name, "root")
        self.runroot = os.path.join(base, name, "run")
        self.proc = None
        self.log = None

    def berth(self, *args, check=True, timeout=300):
        p = subprocess.run([BERTH, "--root", self.root, "--runroot", self.runroot, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} on {self.name} failed: {p.stderr}")
        return p

    def start_agent(self, kubeconfig, server, labels=None):
        os.makedirs(self.runroot, exist_ok=True)
        cmd = [BERTH, "--root", self.root, "--runroot", self.runroot, "agent", "--kubeconfig", kubeconfig,
               "--server", server, "--node-name", self.name, "--node-ip", self.ip, "--kubelet-port", "0",
               "--cluster-cidr", CLUSTER_CIDR, "--node-status-update-frequency", "1s"]
        if labels:
            cmd += ["--labels", labels]
        if self.ns:
            # only the network namespace: `ip netns exec` would also remount
            # /sys, hiding the cgroup hierarchies the pods need
            cmd = ["nsenter", f"--net=/run/netns/{self.ns}"] + cmd
        self.log = open(os.path.join(os.path.dirname(self.root), "agent.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def pod_pids(self):
        pids = []
        for st in glob.glob(os.path.join(self.root, "pods", "*", "*", "state.json")):
            try:
                with open(st) as f:
                    pid = json.load(f).get("pid")
                if pid:
                    pids.append(pid)
            except (OSError, ValueError):
                pass
        return pids

    def kill(self):
        """The machine dies: the agent, then every process of its pods."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.pod_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.ns:
            for pid in sh("ip", "netns", "pids", self.ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill()
        if self.log:
            self.log.close()
            self.log = None

    def pod_uids(self):
        return [d.rsplit("_", 1)[-1] for d in os.listdir(os.path.join(self.root, "pods"))] \
            if os.path.isdir(os.path.join(self.root, "pods")) else []


def cleanup_node_state(base, nodes):
    """Mounts under base (pinned namespaces, tmpfs volumes), pod cgroups."""
    with open("/proc/self/mountinfo") as f:
        mps = [l.split()[4] for l in f if l.split()[4].startswith(base)]
    for mp in reversed(mps):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    for n in nodes:
        for uid in n.pod_uids():
            for d in sorted(glob.glob(f"/sys/fs/cgroup/*/kubepods/pod{uid}") +
                            glob.glob(f"/sys/fs/cgroup/*/kubepods/pod{uid}/*") +
                            glob.glob(f"/sys/fs/cgroup/kubepods/pod{uid}") +
                            glob.glob(f"/sys/fs/cgroup/kubepods/pod{uid}/*"), key=len, reverse=True):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


def lease_dirs_cleanup(cidrs):
    """The pod networks' lease directories (a killed node never released its)."""
    for cidr in cidrs:
        shutil.rmtree("/var/lib/cni/networks/berth-pods-" + cidr.replace("/", "-"), ignore_errors=True)


def root_netns_cleanup(cidrs):
    """What the root-namespace agent left in the root namespace: its pod
    bridge and masquerade rule (the hosts' die with their namespaces)."""
    for cidr in cidrs:
        net, prefix = cidr.split("/")
        bridge = "bp%08x-%s" % (int.from_bytes(socket.inet_aton(net), "big"), prefix)
        sh("ip", "link", "del", bridge, check=False)
    for line in sh("iptables-save", "-t", "nat").stdout.splitlines():
        if line.startswith("-A POSTROUTING") and "berth pod network" in line and \
                any(f"-s {c} " in line for c in cidrs):
            sh("iptables", "-w", "5", "-t", "nat", *shlex.split(line.replace("-A", "-D", 1)), check=False)


class Kube:
    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig

    def kubectl(self, *args, check=True, input=None, timeout=120):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        p = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def apply(self, text):
        return self.kubectl("apply", "-f", "-", input=text).stdout

    def rows(self, *args):
        out = self.kubectl("get", *args).stdout.splitlines()
        if not out:
            return []
        head = re.split(r"\s{2,}", out[0].strip())
        return [dict(zip(head, re.split(r"\s{2,}", line.strip()))) for line in out[1:]]

    def pods(self, prefix):
        return [r for r in self.rows("pods", "-o", "wide") if r["NAME"].startswith(prefix)]

    def node(self, name):
        return json.loads(self.kubectl("get", "node", name, "-o", "json").stdout)

    def ready_nodes(self, n):
        rows = self.rows("nodes")
        return rows if len(rows) == n and all(r["STATUS"] == "Ready" for r in rows) else None


def running(k, prefix, n):
    pods = k.pods(prefix)
    ok = len(pods) == n and all(p["STATUS"] == "Running" and p["READY"] == "1/1" for p in pods)
    return pods if ok else None


def curl_from(ns, ip, timeout=5, tries=20):
    """The page at ip (from inside netns ns, or the host), retried while
    nothing answers yet: Running does not mean httpd is listening (no probe)."""
    cmd = ["curl", "-s", "--max-time", str(timeout), f"http://{ip}/"]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    out = ""
    for _ in range(tries):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30).stdout.strip()
        if out:
            break
        time.sleep(0.5)
    return out


class Cluster(Kube):
    def __init__(self, busybox_tar, workers=3):
        self.base = tempfile.mkdtemp(prefix="berth-multinode-")
        self.hosts = Hosts()
        self.data = os.path.join(self.base, "server")
        self.port = free_port(self.hosts.gw)
        self.server_url = f"https://{self.hosts.gw}:{self.port}"
        super().__init__(os.path.join(self.data, "kubeconfig.yaml"))
        self.nodes = [Node("node0", self.base, None, self.hosts.gw)]
        for i in range(1, workers + 1):
            ns, ip = self.hosts.add(i)
            self.nodes.append(Node(f"node{i}", self.base, ns, ip))
        self.server = None
        self.server_log = open(os.path.join(self.base, "server.log"), "ab")
        self.images(busybox_tar)
        self.server = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"{self.hosts.gw}:{self.port}",
             "--cluster-cidr", CLUSTER_CIDR, "--node-monitor-grace-period", "5s"],
            stdout=self.server_log, stderr=subprocess.STDOUT)
        until(lambda: os.path.exists(self.kubeconfig) and self.kubectl("get", "nodes", check=False).returncode == 0,
              "the API answers", timeout=60)
        self.nodes[0].start_agent(self.kubeconfig, self.server_url, CP_LABELS)
        for n in self.nodes[1:]:
            n.start_agent(self.kubeconfig, self.server_url)
        until(lambda: self.ready_nodes(len(self.nodes)), "every node Ready", timeout=90)

    def images(self, busybox_tar):
        first = self.nodes[0]
        first.berth("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "bb:latest")
        first.berth("tag", "bb:latest", "busybox:latest")
        ctx = os.path.join(self.base, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write(NGINX_DOCKERFILE)
        first.berth("build", "-t", "nginx:1.15-alpine", ctx)
        tar = os.path.join(self.base, "images.tar")
        first.berth("save", "-o", tar, "busybox:latest", "nginx:1.15-alpine")
        for n in self.nodes[1:]:
            n.berth("load", "-i", tar)

    def stop(self):
        try:
            if self.server and self.server.poll() is None:
                for kind in ("deployments", "daemonsets", "jobs"):
                    self.kubectl("delete", kind, "--all", "--wait=false", check=False, timeout=60)
                self.kubectl("delete", "pods", "--all", "--wait=false", check=False, timeout=60)
                try:
                    until(lambda: all(p["NODE"] not in [n.name for n in self.nodes if n.proc and n.proc.poll() is None]
                                      for p in self.rows("pods", "-o", "wide")), "pods gone", timeout=90)
                except AssertionError:
                    pass  # what is left is killed below
            cidrs = [self.node(n.name)["spec"].get("podCIDR") for n in self.nodes] \
                if self.server and self.server.poll() is None else []
        except AssertionError:
            cidrs = []
        for n in self.nodes:
            n.stop()
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server_log.close()
        cleanup_node_state(self.base, self.nodes)
        self.hosts.remove()
        root_netns_cleanup([c for c in cidrs[:1] if c])
        lease_dirs_cleanup([c for c in cidrs if c])


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = Cluster(busybox_tar)
    yield c
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


def node_of(k, names):
    return {p["NAME"]: p["NODE"] for p in k.pods("") if p["NAME"] in names}


def test_nodes_get_pod_cidrs_and_the_control_plane_taints(cluster):
    c = cluster
    cidrs = {}
    for n in c.nodes:
        node = c.node(n.name)
        cidr = node["spec"]["podCIDR"]
        assert node["spec"]["podCIDRs"] == [cidr]
        assert cidr.endswith("/24") and in_cidr(cidr.split("/")[0], CLUSTER_CIDR)
        cidrs[n.name] = cidr
        ips = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
        assert ips == [n.ip]
    assert len(set(cidrs.values())) == len(c.nodes)
    # the server's node carries the master taint once other nodes exist; workers none
    taints = until(lambda: c.node("node0")["spec"].get("taints"), "node0 tainted")
    assert {(t["key"], t["effect"]) for t in taints} == {("node-role.kubernetes.io/master", "NoSchedule")}
    for n in c.nodes[1:]:
        assert not c.node(n.name)["spec"].get("taints")
    # every host routes the other nodes' pod subnets to their addresses
    for n in c.nodes:
        def routes():
            cmd = ["ip", "-4", "route"] if not n.ns else ["ip", "-n", n.ns, "-4", "route"]
            out = sh(*cmd).stdout
            return all(f"{cidrs[o.name]} via {o.ip} " in out for o in c.nodes if o is not n) and out
        until(routes, f"routes on {n.name}", timeout=30)


def test_deployment_spreads_and_pods_answer_from_every_node(cluster):
    c = cluster
    assert c.apply(DEPLOYMENT).strip() == "deployment.apps/deploy-nginx created"
    pods = until(lambda: running(c, "deploy-nginx-", 3), "3 pods Running")
    workers = {n.name for n in c.nodes[1:]}
    assert {p["NODE"] for p in pods} == workers  # one per worker, none on the tainted node0
    for p in pods:
        cidr = c.node(p["NODE"])["spec"]["podCIDR"]
        assert in_cidr(p["IP"], cidr), p
        # the lease is in the node subnet's own directory
        assert os.path.exists(f"/var/lib/cni/networks/berth-pods-{cidr.replace('/', '-')}/{p['IP']}")
    # each pod's IP answers from every node (root netns = node0) ...
    for p in pods:
        for n in c.nodes:
            assert curl_from(n.ns, p["IP"]) == "nginx version: nginx/1.15.12", (p, n.name)
    # ... and from a pod on another node (pod to pod, no NAT in between)
    a, b = pods[0], pods[1]
    out = c.kubectl("exec", a["NAME"], "--", "wget", "-qO-", f"http://{b['IP']}/").stdout.strip()
    assert out == "nginx version: nginx/1.15.12"

    # a deleted pod is replaced (possibly elsewhere)
    c.kubectl("delete", "pod", a["NAME"])
    new = until(lambda: [p for p in (running(c, "deploy-nginx-", 3) or []) if p["NAME"] not in
                         {q["NAME"] for q in pods}], "a replacement pod")[0]
    assert new["NODE"] in workers and curl_from(c.nodes[1].ns, new["IP"]) == "nginx version: nginx/1.15.12"

    # scaling spreads over the three workers only
    for n, per_node in ((4, (1, 2)), (16, (5, 6))):
        c.kubectl("scale", "deployment", "deploy-nginx", f"--replicas={n}")
        pods = until(lambda: running(c, "deploy-nginx-", n), f"{n} pods Running", timeout=240)
        counts = {w: sum(1 for p in pods if p["NODE"] == w) for w in workers}
        assert set(counts) == workers and sum(counts.values()) == n
        assert all(per_node[0] <= v <= per_node[1] for v in counts.values()), counts
        assert len({p["IP"] for p in pods}) == n
    c.kubectl("delete", "deployment", "deploy-nginx")
    until(lambda: not c.pods("deploy-nginx-"), "the deployment's pods gone", timeout=180)


def test_daemonset_runs_on_all_four_nodes(cluster):
    c = cluster
    assert c.apply(DAEMONSET).strip() == "daemonset.apps/daemonset-nginx created"
    pods = until(lambda: running(c, "daemonset-nginx-", 4), "4 daemon pods Running", timeout=180)
    assert sorted(p["NODE"] for p in pods) == ["node0", "node1", "node2", "node3"]
    ds = c.rows("ds")[0]
    assert (ds["DESIRED"], ds["CURRENT"], ds["READY"], ds["AVAILABLE"]) == ("4", "4", "4", "4")
    # the daemon pod on the server's node answers from a host
    p0 = [p for p in pods if p["NODE"] == "node0"][0]
    assert curl_from(c.nodes[2].ns, p0["IP"]) == "nginx version: nginx/1.15.12"
    c.kubectl("delete", "ds", "daemonset-nginx")
    until(lambda: not c.pods("daemonset-nginx-"), "daemon pods gone", timeout=180)


def test_job_with_ten_completions(cluster):
    c = cluster
    c.apply(JOB_BUSYBOX)
    def done():
        j = json.loads(c.kubectl("get", "job", "busybox-job", "-o", "json").stdout)
        return j.get("status", {}).get("succeeded") == 10 and j
    until(done, "10 completions", timeout=300)
    pods = c.pods("busybox-job-")
    assert len(pods) == 10 and all(p["STATUS"] == "Completed" for p in pods)
    assert {p["NODE"] for p in pods} <= {"node1", "node2", "node3"}
    assert c.kubectl("logs", pods[0]["NAME"]).stdout.strip() == "hello"
    c.kubectl("delete", "job", "busybox-job")


def test_node_failure_evicts_and_replaces(cluster):
    c = cluster
    c.apply(SURVIVOR)
    pods = until(lambda: running(c, "survivor-", 2), "2 survivor pods Running")
    victim_pod = pods[0]
    dead = [n for n in c.nodes if n.name == victim_pod["NODE"]][0]
    dead.kill()
    # the node turns Unknown (NotReady), gets the unreachable taints ...
    until(lambda: c.rows("nodes") and [r for r in c.rows("nodes") if r["NAME"] == dead.name][0]["STATUS"]
          == "NotReady", f"{dead.name} NotReady", timeout=60)
    node = c.node(dead.name)
    ready = [x for x in node["status"]["conditions"] if x["type"] == "Ready"][0]
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    def unreachable():
        t = c.node(dead.name)["spec"].get("taints") or []
        return {(x["key"], x["effect"]) for x in t} >= {("node.kubernetes.io/unreachable", "NoExecute"),
                                                          ("node.kubernetes.io/unreachable", "NoSchedule")}
    until(unreachable, "unreachable taints", timeout=60)
    # ... the pod tolerating it for 3 s is evicted and replaced on a live node
    def evicted():
        p = c.kubectl("get", "pod", victim_pod["NAME"], "-o", "json", check=False)
        return p.returncode != 0 or json.loads(p.stdout)["metadata"].get("deletionTimestamp")
    until(evicted, "the pod on the dead node evicted", timeout=60)
    def replaced():
        live = [p for p in c.pods("survivor-") if p["NAME"] != victim_pod["NAME"] and p["STATUS"] == "Running"
                and p["READY"] == "1/1"]
        return len(live) == 2 and live
    live = until(replaced, "2 survivor pods Running elsewhere", timeout=120)
    assert all(p["NODE"] not in (dead.name, "node0") for p in live)
    for p in live:
        assert curl_from(None, p["IP"]) == "nginx version: nginx/1.15.12"
    c.kubectl("delete", "deployment", "survivor", "--wait=false")


# ---- berth up + one host ----

class UpCluster(Kube):
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="berth-multinode-up-")
        self.hosts = Hosts()
        self.data = os.path.join(self.base, "data")
        self.port = free_port(self.hosts.gw)
        super().__init__(os.path.join(self.data, "kubeconfig.yaml"))
        self.up_node = Node("up-node", self.base, None, self.hosts.gw)
        os.makedirs(self.up_node.runroot, exist_ok=True)
        self.log = open(os.path.join(self.base, "up.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "--root", self.up_node.root, "--runroot", self.up_node.runroot, "up", "--data-dir", self.data,
             "--listen", f"{self.hosts.gw}:{self.port}", "--no-registry", "--node-name", "up-node"],
            stdout=self.log, stderr=subprocess.STDOUT)
        ns, ip = self.hosts.add(1)
        self.worker = Node("worker1", self.base, ns, ip)
        self.cidrs = []

    def stop(self):
        try:
            self.cidrs = [self.node("up-node")["spec"].get("podCIDR")]
            w = self.kubectl("get", "node", "worker1", "-o", "json", check=False)
            if w.returncode == 0:
                self.cidrs.append(json.loads(w.stdout)["spec"].get("podCIDR"))
        except (AssertionError, KeyError, ValueError):
            pass
        self.worker.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.up_node.kill()
        self.log.close()
        cleanup_node_state(self.base, [self.up_node, self.worker])
        self.hosts.remove()
        root_netns_cleanup([c for c in self.cidrs[:1] if c])
        lease_dirs_cleanup([c for c in self.cidrs if c])


@pytest.fixture
def up_cluster():
    c = UpCluster()
    yield c
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


def test_berth_up_taints_its_node_when_a_second_node_joins(up_cluster):
    c = up_cluster
    until(lambda: os.path.exists(c.kubeconfig) and c.ready_nodes(1), "the up node Ready", timeout=90)
    up = until(lambda: c.node("up-node")["spec"].get("podCIDR") and c.node("up-node"), "up-node's podCIDR")
    assert up["metadata"]["labels"]["berth.dev/control-plane-node"] == "true"
    assert up["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
    assert not up["spec"].get("taints")  # alone, it runs everything
    c.worker.start_agent(c.kubeconfig, f"https://{c.hosts.gw}:{c.port}")
    until(lambda: c.ready_nodes(2), "2 nodes Ready", timeout=90)
    taints = until(lambda: c.node("up-node")["spec"].get("taints"), "up-node tainted", timeout=30)
    assert {(t["key"], t["effect"]) for t in taints} == {("node-role.kubernetes.io/master", "NoSchedule")}
    assert not c.node("worker1")["spec"].get("taints")
    w = c.node("worker1")["spec"]["podCIDR"]
    assert w != up["spec"]["podCIDR"]
    # each side routes the other's pod subnet; a node that goes takes its route along
    until(lambda: f"{w} via {c.worker.ip} " in sh("ip", "-4", "route").stdout, "route to worker1's pods")
    until(lambda: f"{up['spec']['podCIDR']} via {c.hosts.gw} " in sh("ip", "-n", c.worker.ns, "-4", "route").stdout,
          "route to up-node's pods")
    c.worker.stop()
    c.kubectl("delete", "node", "worker1")
    until(lambda: f"{w} via " not in sh("ip", "-4", "route").stdout, "route to worker1's pods removed")
