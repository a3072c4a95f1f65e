"""The scheduler's InterPodAffinity, PodTopologySpread and DefaultPreemption
(with the API server's Priority admission), in a real `berth server` driven
by the real kubectl.

As in test_scheduler.py: every test starts its own server on 127.0.0.1
(free port, temp data dir, --disable-controllers) and stops it by PID;
there are no node agents, so pods are bound and nothing runs.  Every wait
is a poll with a generous deadline.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_scheduler import CONTROL_PLANE_TAINT, KUBECTL, Server, until  # noqa: E402


@pytest.fixture
def server():
    s = Server("--disable-controllers")
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def labelled_pod(server, name, labels, ns="default", **spec):
    server.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
                  "spec": dict({"containers": [{"name": "c", "image": "busybox:1"}]}, **spec)})


def term(key, app, **extra):
    return dict({"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}, **extra)


HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def test_required_anti_affinity_spreads_replicas_and_leaves_fourth_pending(server):
    server.node("cp", taints=[{"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"}])
    for n in ("w1", "w2", "w3"):
        server.node(n)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(HOST, "web")]}}
    for i in range(4):
        labelled_pod(server, f"web-{i}", {"app": "web"}, affinity=anti)
    bound = {}

    def three_bound():
        for k in range(4):
            bound[k] = server.node_of(f"web-{k}")
        return sum(1 for v in bound.values() if v) == 3
    until(three_bound, "three web pods bound")
    nodes = sorted(v for v in bound.values() if v)
    assert nodes == ["w1", "w2", "w3"], bound
    pending = [f"web-{k}" for k, v in bound.items() if not v][0]
    server.wait_unschedulable(
        pending,
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "3 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: "
        "1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.")
    # symmetry: a pod that web's anti-affinity selects cannot join any of them either
    labelled_pod(server, "intruder", {"app": "web"})
    server.wait_unschedulable(
        "intruder",
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "3 node(s) didn't satisfy existing pods anti-affinity rules. preemption: 0/4 nodes are available: "
        "1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.")
    # one replica goes: the pending one takes its node
    gone = bound[[k for k, v in bound.items() if v][0]]
    victim = [f"web-{k}" for k, v in bound.items() if v == gone][0]
    server.kubectl("delete", "pod", victim, "--grace-period=0", "--force", "--wait=false")
    until(lambda: server.node_of(pending) == gone or server.node_of("intruder") == gone,
          "a waiting pod takes the freed node")


def test_required_affinity_co_locates_and_first_pod_of_group(server):
    for n, z in (("a1", "za"), ("a2", "za"), ("b1", "zb")):
        server.node(n, labels={ZONE: z})
    labelled_pod(server, "db", {"app": "db"}, nodeSelector={HOST: "b1"})
    assert server.wait_bound("db") == "b1"
    aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(HOST, "db")]}}
    for i in range(3):
        labelled_pod(server, f"cache-{i}", {"app": "cache"}, affinity=aff)
    for i in range(3):
        assert server.wait_bound(f"cache-{i}") == "b1"
    # zone affinity: any node of db's zone (only b1 in zb), none of za
    zaff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, "cache")]}}
    labelled_pod(server, "near-cache", {"app": "x"}, affinity=zaff)
    assert server.wait_bound("near-cache") == "b1"
    # the first pod of a group with affinity to itself may go anywhere, the next join it
    selfaff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(ZONE, "grp")]}}
    labelled_pod(server, "grp-0", {"app": "grp"}, affinity=selfaff)
    first = server.wait_bound("grp-0")
    zone_of = {"a1": "za", "a2": "za", "b1": "zb"}
    for i in range(1, 4):
        labelled_pod(server, f"grp-{i}", {"app": "grp"}, affinity=selfaff)
    for i in range(1, 4):
        assert zone_of[server.wait_bound(f"grp-{i}")] == zone_of[first]
    # affinity to pods that do not exist: unresolvable by preemption
    labelled_pod(server, "lonely", {"app": "lonely"},
                 affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term(HOST, "ghost")]}})
    server.wait_unschedulable(
        "lonely", "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: "
                  "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    # namespaces: a term naming another namespace sees only that namespace's pods
    server.kubectl("create", "namespace", "other")
    labelled_pod(server, "other-db", {"app": "odb"}, ns="other", nodeSelector={HOST: "a2"})
    assert server.wait_bound("other-db", ns="other") == "a2"
    labelled_pod(server, "follows-other", {"app": "f"}, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term(HOST, "odb", namespaces=["other"])]}})
    assert server.wait_bound("follows-other") == "a2"
    labelled_pod(server, "by-ns-selector", {"app": "f2"}, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term(HOST, "odb", namespaceSelector={
            "matchLabels": {"kubernetes.io/metadata.name": "other"}})]}})
    assert server.wait_bound("by-ns-selector") == "a2"


def spread(key, app, **extra):
    return dict({"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"app": app}}}, **extra)


def test_topology_spread_over_zones(server):
    zones = {"z1-a": "z1", "z1-b": "z1", "z2-a": "z2", "z3-a": "z3"}
    for n, z in zones.items():
        server.node(n, labels={ZONE: z})
    for i in range(6):
        labelled_pod(server, f"s-{i}", {"app": "s"}, topologySpreadConstraints=[spread(ZONE, "s")])
    per_zone = {"z1": 0, "z2": 0, "z3": 0}
    for i in range(6):
        per_zone[zones[server.wait_bound(f"s-{i}")]] += 1
    assert per_zone == {"z1": 2, "z2": 2, "z3": 2}
    # pinned to z1, counting every zone (nodeAffinityPolicy Ignore): 3/2/2 is within maxSkew 1 ...
    ignore = [spread(ZONE, "s", nodeAffinityPolicy="Ignore")]
    labelled_pod(server, "s-z1", {"app": "s"}, nodeSelector={ZONE: "z1"}, topologySpreadConstraints=ignore)
    assert zones[server.wait_bound("s-z1")] == "z1"
    # ... 4/2/2 is not
    labelled_pod(server, "s-z1-more", {"app": "s"}, nodeSelector={ZONE: "z1"}, topologySpreadConstraints=ignore)
    server.wait_unschedulable(
        "s-z1-more",
        "0/4 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) didn't match pod topology spread constraints. preemption: 0/4 nodes are available: "
        "2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")
    # the default policy (Honor) counts only the zones the pod may go to: z1 alone, no skew
    labelled_pod(server, "s-z1-honor", {"app": "s"}, nodeSelector={ZONE: "z1"},
                 topologySpreadConstraints=[spread(ZONE, "s")])
    assert zones[server.wait_bound("s-z1-honor")] == "z1"
    # a node without the topology key cannot take a pod with the constraint
    server.node("nozone")
    labelled_pod(server, "nozone-pod", {"app": "t"}, nodeSelector={HOST: "nozone"},
                 topologySpreadConstraints=[spread(ZONE, "t")])
    server.wait_unschedulable(
        "nozone-pod",
        "0/5 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), "
        "4 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: "
        "5 Preemption is not helpful for scheduling.")


def test_preemption_by_priority_class(server):
    server.node("only", cpu="1")
    server.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
                  "value": 1000})
    server.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "polite"},
                  "value": 1000, "preemptionPolicy": "Never"})
    server.pod("low", cpu="800m", terminationGracePeriodSeconds=0)
    assert server.wait_bound("low") == "only"
    assert server.get_pod("low")["spec"]["priority"] == 0
    # preemptionPolicy Never: waits, evicts nobody
    server.pod("waits", cpu="800m", priorityClassName="polite")
    pod = server.get_pod("waits")
    assert pod["spec"]["priority"] == 1000 and pod["spec"]["preemptionPolicy"] == "Never"
    server.wait_unschedulable(
        "waits", "0/1 nodes are available: 1 Insufficient cpu. preemption: "
                 "not eligible due to preemptionPolicy=Never.")
    server.kubectl("delete", "pod", "waits", "--grace-period=0", "--force", "--wait=false")
    until(lambda: "waits" not in server.kubectl("get", "pods", "-o", "name"), "waits deleted")
    assert server.node_of("low") == "only"
    # a high-priority pod takes the node: low is preempted
    server.pod("vip", cpu="800m", priorityClassName="high")
    assert server.get_pod("vip")["spec"]["priority"] == 1000
    until(lambda: server.get_pod("vip")["status"].get("nominatedNodeName") == "only", "vip nominated to node only")
    assert server.wait_bound("vip") == "only"
    until(lambda: "pod/low" not in server.kubectl("get", "pods", "-o", "name"), "the victim deleted")
    events = until(lambda: [e for e in json.loads(server.kubectl("get", "events", "-o", "json"))["items"]
                            if e["reason"] == "Preempted" and e["involvedObject"]["name"] == "low"],
                   "Preempted event on the victim")
    assert events[0]["message"].startswith("Preempted by pod ") and events[0]["message"].endswith(" on node only")
    # the built-in classes resolve without objects
    server.pod("critical", priorityClassName="system-cluster-critical")
    assert server.get_pod("critical")["spec"]["priority"] == 2000000000
    # an unknown class is refused, as the Priority admission does
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nope", "namespace": "default"},
           "spec": {"priorityClassName": "no-such-class", "containers": [{"name": "c", "image": "busybox:1"}]}}
    p = subprocess.run([KUBECTL, "create", "-f", "-"], input=json.dumps(bad), capture_output=True, text=True,
                       env=server.env(), timeout=120)
    assert p.returncode != 0 and ('Error from server (Forbidden): error when creating "STDIN": pods "nope" is '
                                  'forbidden: no PriorityClass with name no-such-class was found') in p.stderr


def test_preemption_waits_for_a_graceful_victim(server):
    server.node("only", cpu="1")
    server.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
                  "value": 1000})
    server.pod("slow", cpu="800m", terminationGracePeriodSeconds=10)
    assert server.wait_bound("slow") == "only"
    server.pod("vip", cpu="800m", priorityClassName="high")

    def disrupted():
        pods = json.loads(server.kubectl("get", "pods", "-o", "json"))["items"]
        slow = [p for p in pods if p["metadata"]["name"] == "slow"]
        if not slow or not slow[0]["metadata"].get("deletionTimestamp"):
            return None
        conds = [c for c in slow[0]["status"].get("conditions", []) if c["type"] == "DisruptionTarget"]
        return conds[0] if conds else None
    cond = until(disrupted, "the victim terminating with a DisruptionTarget condition")
    assert cond["status"] == "True" and cond["reason"] == "PreemptionByScheduler"
    assert cond["message"] == "default-scheduler: preempting to accommodate a higher priority pod"
    # while it terminates the preemptor is nominated, not bound, and evicts nobody else
    assert server.get_pod("vip")["status"].get("nominatedNodeName") == "only"
    assert server.node_of("vip") is None
    assert server.wait_bound("vip") == "only"
    until(lambda: "pod/slow" not in server.kubectl("get", "pods", "-o", "name"), "the victim gone")
