"""Clusters on one machine for the integration tests, and how to take every
trace of them away again.

  Hosts          a bridge in the root network namespace on a private /24
                 (10.204.X.0/24, X free) and network namespaces ("hosts")
                 hanging off it, each with one veth
  Node           one node's root/runroot and its `berth agent` (in a host's
                 namespace, or in the root namespace)
  FourNodes      `berth server` (scheduler + controllers) on the bridge's
                 address and 4 nodes, each a host: node0 is labelled as
                 `berth up` labels its node (so it gets the master taint),
                 node1..node3 are workers; every agent runs the service
                 proxy; a seed001_steps handle.  Nothing of it lives in the
                 root namespace but the bridge, and its cluster CIDR is one
                 no other cluster on this machine uses, so several can run
                 at once beside anything else
  UpNode         `berth up` on a free loopback port, a seed001_steps handle
  cleanup_*      mounts under a base directory, pod cgroups, pod networks'
                 lease directories, the root namespace's pod bridge and
                 masquerade rule, berth's proxy chains

Everything is stopped by PID; construction that fails half-way takes down
what it started before raising.
"""
import glob
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from seed001_steps import Kube, build_images, until

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
CLUSTER_CIDR = "10.206.0.0/16"
SERVICE_CIDR = "10.207.0.0/16"
CP_LABELS = ("node-role.kubernetes.io/control-plane=true,node-role.kubernetes.io/master=true,"
             "berth.dev/control-plane-node=true")
MASTER_TAINT = "node-role.kubernetes.io/master"


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def sh(*args, check=True, timeout=60, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def stop_proc(proc, timeout=30):
    """SIGTERM, then SIGKILL when it does not go in time."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return f"--- {os.path.basename(os.path.dirname(path))}/{os.path.basename(path)} ---\n" + \
                "".join(f.readlines()[-n:])
    except OSError:
        return ""


def curl(url, ns=None, timeout=5, tries=20):
    """The body at url (from inside netns ns, or this namespace), retried
    while nothing answers yet: Running does not mean httpd is listening."""
    cmd = ["curl", "-s", "--max-time", str(timeout), url]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    out = ""
    for _ in range(tries):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30).stdout.strip()
        if out:
            break
        time.sleep(0.5)
    return out


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
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        try:
            sh("ip", "addr", "add", f"{self.gw}/24", "dev", self.bridge)
            sh("ip", "link", "set", self.bridge, "up")
        except AssertionError:
            self.remove()
            raise

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
        # as a machine's: ClusterIPs are routed before they are translated,
        # and replies to other hosts' own addresses find their way back
        sh("ip", "-n", ns, "route", "add", "default", "via", self.gw)
        return ns, ip

    def remove(self):
        """The namespaces (their veths and whatever was made inside go with
        them: pod bridges, routes, iptables) and the bridge."""
        for ns in self.netns:
            kill_pids(sh("ip", "netns", "pids", ns, check=False).stdout.split())
            sh("ip", "netns", "del", ns, check=False)
        self.netns = []
        sh("ip", "link", "del", self.bridge, check=False)


class Node:
    def __init__(self, name, base, ns, ip):
        self.name, self.ns, self.ip = name, ns, ip
        self.root = os.path.join(base, name, "root")
        self.runroot = os.path.join(base, name, "run")
        self.logpath = os.path.join(base, name, "agent.log")
        self.proc = None
        self.log = None

    def berth(self, *args, check=True, timeout=300):
        p = subprocess.run([BERTH, "--root", self.root, "--runroot", self.runroot, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} on {self.name} failed: {p.stderr}")
        return p

    def start_agent(self, kubeconfig, server, labels=None, proxy=False, cluster_cidr=CLUSTER_CIDR):
        os.makedirs(self.runroot, exist_ok=True)
        cmd = [BERTH, "--root", self.root, "--runroot", self.runroot, "agent", "--kubeconfig", kubeconfig,
               "--server", server, "--node-name", self.name, "--node-ip", self.ip, "--kubelet-port", "0",
               "--cluster-cidr", cluster_cidr, "--node-status-update-frequency", "1s"]
        if labels:
            cmd += ["--labels", labels]
        if proxy:
            cmd += ["--proxy"]
        if self.ns:
            # only the network namespace: `ip netns exec` would also remount
            # /sys, hiding the cgroup hierarchies the pods need
            cmd = ["nsenter", f"--net=/run/netns/{self.ns}"] + cmd
        self.log = open(self.logpath, "ab")
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
        kill_pids(self.pod_pids())
        if self.ns:
            kill_pids(sh("ip", "netns", "pids", self.ns, check=False).stdout.split())

    def stop(self):
        stop_proc(self.proc)
        self.kill()
        if self.log:
            self.log.close()
            self.log = None

    def pod_uids(self):
        d = os.path.join(self.root, "pods")
        return [e.rsplit("_", 1)[-1] for e in os.listdir(d)] if os.path.isdir(d) else []


def free_cluster_cidr():
    """A 10.Y.0.0/16 (Y in 208..239) no pod network on this machine uses:
    nodes' subnets follow their names, and lease directories are global."""
    used = " ".join(os.listdir("/var/lib/cni/networks")) if os.path.isdir("/var/lib/cni/networks") else ""
    used += sh("ip", "-4", "route").stdout + sh("ip", "-4", "-o", "addr").stdout
    return next(f"10.{y}.0.0/16" for y in random.sample(range(208, 240), 32) if f"10.{y}." not in used)


def cleanup_node_state(base, nodes):
    """Mounts under base (pinned namespaces, tmpfs volumes), pod cgroups."""
    with open("/proc/self/mountinfo") as f:
        mps = [l.split()[4] for l in f if l.split()[4].startswith(base + "/")]
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
    """What a root-namespace agent left in the root namespace: its pod
    bridge and masquerade rule (the hosts' die with their namespaces)."""
    for cidr in cidrs:
        net, prefix = cidr.split("/")
        bridge = "bp%08x-%s" % (int.from_bytes(socket.inet_aton(net), "big"), prefix)
        sh("ip", "link", "del", bridge, check=False)
    for line in sh("iptables-save", "-t", "nat").stdout.splitlines():
        if line.startswith("-A POSTROUTING") and "berth pod network" in line and \
                any(f"-s {c} " in line for c in cidrs):
            sh("iptables", "-w", "5", "-t", "nat", *shlex.split(line.replace("-A", "-D", 1)), check=False)


class FourNodes(Kube):
    """`berth server` and 4 nodes in hosts (node0 labelled as the control
    plane, tainted once the others joined), holding the seed's images."""

    def __init__(self, busybox_tar, workers=3):
        self.base = tempfile.mkdtemp(prefix="berth-multinode-")
        self.hosts = None
        self.server = None
        self.nodes_ = []
        self.server_log = None
        self.tainted = {}
        try:
            self._start(busybox_tar, workers)
        except BaseException:
            self.stop()
            raise

    def _start(self, busybox_tar, workers):
        self.hosts = Hosts()
        self.data = os.path.join(self.base, "server")
        self.port = free_port(self.hosts.gw)
        self.server_url = f"https://{self.hosts.gw}:{self.port}"
        super().__init__(os.path.join(self.data, "kubeconfig.yaml"))
        self.cluster_cidr = free_cluster_cidr()
        for i in range(workers + 1):
            ns, ip = self.hosts.add(i + 1)
            self.nodes_.append(Node(f"node{i}", self.base, ns, ip))
        self.images(busybox_tar)
        self.server_log = open(os.path.join(self.base, "server.log"), "ab")
        self.server = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"{self.hosts.gw}:{self.port}",
             "--cluster-cidr", self.cluster_cidr, "--service-cidr", SERVICE_CIDR,
             "--node-monitor-grace-period", "5s"],
            stdout=self.server_log, stderr=subprocess.STDOUT)
        until(lambda: os.path.exists(self.kubeconfig) and self.kubectl("get", "nodes", check=False).returncode == 0,
              "the API answers", timeout=90)
        # every node runs the service proxy, as `berth up` does on its own
        self.nodes_[0].start_agent(self.kubeconfig, self.server_url, CP_LABELS, proxy=True,
                                   cluster_cidr=self.cluster_cidr)
        for n in self.nodes_[1:]:
            n.start_agent(self.kubeconfig, self.server_url, proxy=True, cluster_cidr=self.cluster_cidr)
        until(lambda: self.ready_nodes(len(self.nodes_)), "every node Ready", timeout=120)
        until(lambda: self.node("node0")["spec"].get("taints"), "node0 tainted", timeout=60)
        self.tainted = {}
        for n in self.nodes:
            for t in self.node(n)["spec"].get("taints") or []:
                self.tainted[n] = t["key"]

    def images(self, busybox_tar):
        first = self.nodes_[0]
        names = build_images(first.berth, self.base, busybox_tar)
        tar = os.path.join(self.base, "images.tar")
        first.berth("save", "-o", tar, *names)
        for n in self.nodes_[1:]:
            n.berth("load", "-i", tar)
        os.unlink(tar)

    # the seed001_steps handle (the one-node run checks that cron jobs come
    # every minute; here the first is enough)
    cron_jobs = 1

    @property
    def nodes(self):
        return [n.name for n in self.nodes_]

    @property
    def workers(self):
        return [n for n in self.nodes if n not in self.tainted]

    def curl(self, node, url):
        return curl(url, [n for n in self.nodes_ if n.name == node][0].ns)

    def diag(self):
        return tail(os.path.join(self.base, "server.log")) + "".join(tail(n.logpath) for n in self.nodes_)

    def ready_nodes(self, n):
        rows = self.rows("nodes")
        return rows if len(rows) == n and all(r["STATUS"] == "Ready" for r in rows) else None

    def stop(self):
        cidrs = {}
        live = self.server and self.server.poll() is None
        if live:
            try:
                for kind in ("cronjobs", "deployments", "replicasets", "daemonsets", "jobs"):
                    self.kubectl("delete", kind, "--all", "--wait=false", check=False, timeout=60)
                self.kubectl("delete", "pods", "--all", "--wait=false", check=False, timeout=60)
                running = [n.name for n in self.nodes_ if n.proc and n.proc.poll() is None]
                until(lambda: all(p["NODE"] not in running for p in self.rows("pods", "-o", "wide")),
                      "pods gone", timeout=90)
            except (AssertionError, subprocess.TimeoutExpired):
                pass  # what is left is killed below
            for n in self.nodes_:
                p = self.kubectl("get", "node", n.name, "-o", "jsonpath={.spec.podCIDR}", check=False, timeout=30)
                if p.returncode == 0 and p.stdout.strip():
                    cidrs[n.name] = p.stdout.strip()
        for n in self.nodes_:
            n.stop()
        stop_proc(self.server)
        if self.server_log:
            self.server_log.close()
        cleanup_node_state(self.base, self.nodes_)
        if self.hosts:
            # pod bridges, routes, masquerade rules and proxy chains go with
            # the namespaces
            self.hosts.remove()
        lease_dirs_cleanup(cidrs.values())
        shutil.rmtree(self.base, ignore_errors=True)
