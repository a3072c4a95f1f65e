"""Several nodes on one machine (netns_cluster.py): every node is a network
namespace ("host") with a veth into a bridge of the root namespace on a
private /24; the API server listens on the bridge's address and each host
runs `berth agent` inside its namespace with its own root and runroot.

  * cluster (module fixture): `berth server` (scheduler + controllers) and
    4 nodes: node0 is the control plane's (labelled as `berth up` labels its
    node, so it carries the master taint), node1..node3 are workers.  Every
    step of seed 001 runs against it
    (seed001_steps.py: the same replay test_seed001.py runs on one node),
    then one worker dies.
  * up: `berth up` plus one host joining it.

Everything is stopped by PID, and every namespace, veth, bridge, mount,
cgroup and iptables rule made here is removed, also when a test fails.
"""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import seed001_steps
from netns_cluster import (BERTH, FourNodes, Hosts, Node, cleanup_node_state, free_port, lease_dirs_cleanup,
                           root_netns_cleanup, sh, stop_proc)
from seed001_steps import Kube, in_cidr, running, until

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


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = FourNodes(busybox_tar)
    yield c
    c.stop()


def test_nodes_get_pod_cidrs_and_the_control_plane_taints(cluster):
    c = cluster
    cidrs = {}
    for n in c.nodes_:
        node = c.node(n.name)
        cidr = node["spec"]["podCIDR"]
        assert node["spec"]["podCIDRs"] == [cidr]
        assert cidr.endswith("/24") and in_cidr(cidr.split("/")[0], c.cluster_cidr)
        cidrs[n.name] = cidr
        ips = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"]
        assert ips == [n.ip]
    assert len(set(cidrs.values())) == len(c.nodes_)
    # the server's node carries the master taint once other nodes exist; workers none
    taints = until(lambda: c.node("node0")["spec"].get("taints"), "node0 tainted")
    assert {(t["key"], t["effect"]) for t in taints} == {("node-role.kubernetes.io/master", "NoSchedule")}
    for n in c.nodes_[1:]:
        assert not c.node(n.name)["spec"].get("taints")
    # every host routes the other nodes' pod subnets to their addresses
    for n in c.nodes_:
        def routes():
            cmd = ["ip", "-4", "route"] if not n.ns else ["ip", "-n", n.ns, "-4", "route"]
            out = sh(*cmd).stdout
            return all(f"{cidrs[o.name]} via {o.ip} " in out for o in c.nodes_ if o is not n) and out
        until(routes, f"routes on {n.name}", timeout=30)


@pytest.mark.parametrize("step", seed001_steps.STEPS, ids=lambda f: f.__name__)
def test_seed001_on_four_nodes(cluster, step):
    """Seed 001 step by step: DaemonSet 4/4 (node0 through its toleration),
    pods spread over the three workers and answering on every node."""
    assert cluster.workers == ["node1", "node2", "node3"] and len(cluster.nodes) == 4
    seed001_steps.run_step(cluster, step)


def test_node_failure_evicts_and_replaces(cluster):
    c = cluster
    c.apply(SURVIVOR)
    pods = until(lambda: running(c, "survivor-", 2), "2 survivor pods Running")
    victim_pod = pods[0]
    dead = [n for n in c.nodes_ if n.name == victim_pod["NODE"]][0]
    dead.kill()
    # the node turns Unknown (NotReady), gets the unreachable taints ...
    until(lambda: c.rows("nodes") and [r for r in c.rows("nodes") if r["NAME"] == dead.name][0]["STATUS"]
          == "NotReady", f"{dead.name} NotReady", timeout=120)
    node = c.node(dead.name)
    ready = [x for x in node["status"]["conditions"] if x["type"] == "Ready"][0]
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    def unreachable():
        t = c.node(dead.name)["spec"].get("taints") or []
        return {(x["key"], x["effect"]) for x in t} >= {("node.kubernetes.io/unreachable", "NoExecute"),
                                                          ("node.kubernetes.io/unreachable", "NoSchedule")}
    until(unreachable, "unreachable taints", timeout=120)
    # ... the pod tolerating it for 3 s is evicted and replaced on a live node
    def evicted():
        p = c.kubectl("get", "pod", victim_pod["NAME"], "-o", "json", check=False)
        return p.returncode != 0 or json.loads(p.stdout)["metadata"].get("deletionTimestamp")
    until(evicted, "the pod on the dead node evicted", timeout=120)
    def replaced():
        live = [p for p in c.pods("survivor-") if p["NAME"] != victim_pod["NAME"] and p["STATUS"] == "Running"
                and p["READY"] == "1/1"]
        return len(live) == 2 and live
    live = until(replaced, "2 survivor pods Running elsewhere", timeout=120)
    assert all(p["NODE"] not in (dead.name, "node0") for p in live)
    for p in live:
        assert c.curl("node0", f"http://{p['IP']}/") == "nginx version: nginx/1.15.12"
    c.kubectl("delete", "deployment", "survivor", "--wait=false")


# ---- berth up + one host ----

def test_restarted_agent_drops_routes_of_nodes_gone_meanwhile(cluster):
    """Routes to other nodes' pods outlive their agent; the next agent adopts
    them and removes those of nodes that were deleted while it was down."""
    c = cluster
    n = next(x for x in c.nodes_[1:] if x.proc and x.proc.poll() is None)
    others = [o for o in c.nodes_ if o is not n and o.proc and o.proc.poll() is None]
    prefix = ".".join(c.cluster_cidr.split(".")[:2])
    ghost_cidr, ghost_ip = f"{prefix}.250.0/24", f"10.204.{c.hosts.x}.200"
    c.apply(json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "ghost"},
                        "spec": {"podCIDR": ghost_cidr, "podCIDRs": [ghost_cidr]}}))
    c.kubectl("patch", "node", "ghost", "--subresource=status", "--type=merge", "-p",
              json.dumps({"status": {"addresses": [{"type": "InternalIP", "address": ghost_ip}]}}))

    def routes():
        return sh("ip", "-n", n.ns, "-4", "route").stdout
    until(lambda: f"{ghost_cidr} via {ghost_ip} dev eth0 proto 201" in routes(), "the ghost's route", timeout=60)
    stop_proc(n.proc, timeout=60)  # the agent stops; its pods and routes stay
    c.kubectl("delete", "node", "ghost")
    assert f"{ghost_cidr} via {ghost_ip}" in routes(), "nobody removed it while the agent was down"
    n.start_agent(c.kubeconfig, c.server_url, proxy=True, cluster_cidr=c.cluster_cidr)
    until(lambda: ghost_cidr not in routes(), "the stale route removed by the new agent", timeout=60)
    node_cidrs = {o.name: c.node(o.name)["spec"]["podCIDR"] for o in others}
    assert all(f"{node_cidrs[o.name]} via {o.ip} " in routes() for o in others), routes()
    until(lambda: [r for r in c.rows("nodes") if r["NAME"] == n.name][0]["STATUS"] == "Ready",
          f"{n.name} Ready again", timeout=120)


class UpCluster(Kube):
    """`berth up` on the bridge's address and one host to join it."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="berth-multinode-up-")
        self.hosts = self.proc = self.log = self.worker = None
        self.data = os.path.join(self.base, "data")
        super().__init__(os.path.join(self.data, "kubeconfig.yaml"))
        self.up_node = Node("up-node", self.base, None, None)
        try:
            self.hosts = Hosts()
            self.port = free_port(self.hosts.gw)
            self.up_node.ip = self.hosts.gw
            os.makedirs(self.up_node.runroot, exist_ok=True)
            self.log = open(os.path.join(self.base, "up.log"), "ab")
            self.proc = subprocess.Popen(
                [BERTH, "--root", self.up_node.root, "--runroot", self.up_node.runroot, "up", "--data-dir",
                 self.data, "--listen", f"{self.hosts.gw}:{self.port}", "--no-registry", "--node-name", "up-node"],
                stdout=self.log, stderr=subprocess.STDOUT)
            ns, ip = self.hosts.add(1)
            self.worker = Node("worker1", self.base, ns, ip)
        except BaseException:
            self.stop()
            raise

    def ready_nodes(self, n):
        rows = self.rows("nodes")
        return rows if len(rows) == n and all(r["STATUS"] == "Ready" for r in rows) else None

    def stop(self):
        cidrs = []
        if self.proc and self.proc.poll() is None:
            for name in ("up-node", "worker1"):
                p = self.kubectl("get", "node", name, "-o", "jsonpath={.spec.podCIDR}", check=False, timeout=30)
                if p.returncode == 0 and p.stdout.strip():
                    cidrs.append(p.stdout.strip())
        if self.worker:
            self.worker.stop()
        stop_proc(self.proc, timeout=60)
        self.up_node.kill()
        if self.log:
            self.log.close()
        nodes = [n for n in (self.up_node, self.worker) if n]
        cleanup_node_state(self.base, nodes)
        if self.hosts:
            self.hosts.remove()
        # `berth up` runs the service proxy in the root namespace
        subprocess.run([BERTH, "proxy", "--cleanup"], capture_output=True, timeout=60)
        root_netns_cleanup(cidrs[:1])
        lease_dirs_cleanup(cidrs)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def up_cluster():
    c = UpCluster()
    yield c
    c.stop()


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
