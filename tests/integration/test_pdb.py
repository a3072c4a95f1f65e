"""PodDisruptionBudgets in a real `berth server` (controllers and scheduler
in-process), driven by the real kubectl: the disruption controller's status
and `kubectl get pdb` columns, the eviction subresource (429 while the
budget is spent, allowed once a new pod is ready), `kubectl drain` waiting
on a budget, and preemption choosing the node where no budget is violated.

One server for the module, each test in its own namespace and on its own
Node objects (no agents: readiness is simulated by patching pod status, as
a kubelet would report it).  Every wait is a poll with a generous deadline.
"""
import json
import os
import shutil
import subprocess

import pytest

from test_scheduler import KUBECTL, Server, until

POD_TEMPLATE = {"metadata": {"labels": {}},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "c", "image": "busybox:1"}]}}


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def jget(server, *args):
    return json.loads(server.kubectl("get", *args, "-o", "json"))


def namespace(server, name):
    server.kubectl("create", "namespace", name)
    return name


def deployment(server, ns, name, replicas, node_selector=None):
    tmpl = json.loads(json.dumps(POD_TEMPLATE))
    tmpl["metadata"]["labels"] = {"app": name}
    if node_selector:
        tmpl["spec"]["nodeSelector"] = node_selector
    server.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": tmpl}})


def pdb(server, ns, name, app, **spec):
    server.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                  "metadata": {"name": name, "namespace": ns},
                  "spec": dict({"selector": {"matchLabels": {"app": app}}}, **spec)})


def pods_of(server, ns, app):
    return [p for p in jget(server, "pods", "-n", ns, "-l", f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def make_ready(server, ns, pod):
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    server.kubectl("patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge",
                   "-p", json.dumps({"status": status}))


def ready_all(server, ns, app, want):
    """Wait for `want` bound pods of app and make them Running and Ready."""
    def bound():
        ps = [p for p in pods_of(server, ns, app) if p["spec"].get("nodeName")]
        return ps if len(ps) == want else None
    for p in until(bound, f"{want} bound pods of {app}"):
        if not any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])):
            make_ready(server, ns, p["metadata"]["name"])


def pdb_status(server, ns, name):
    return jget(server, "pdb", name, "-n", ns).get("status", {})


def wait_status(server, ns, name, **want):
    def check():
        st = pdb_status(server, ns, name)
        return st if all(st.get(k) == v for k, v in want.items()) else None
    try:
        return until(check, f"pdb {name} status {want}")
    except AssertionError:
        raise AssertionError(f"pdb {name}: {pdb_status(server, ns, name)}, wanted {want}")


def condition(st):
    return next(c for c in st["conditions"] if c["type"] == "DisruptionAllowed")


def evict(server, ns, pod):
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}}
    return subprocess.run([KUBECTL, "create", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", "-f", "-"],
                          input=json.dumps(body), capture_output=True, text=True, env=server.env(), timeout=60)


def test_status_and_get_columns(server):
    ns = namespace(server, "pdb-status")
    server.node("st-node")
    deployment(server, ns, "web", 3)
    pdb(server, ns, "web-max", "web", maxUnavailable=1)
    pdb(server, ns, "web-pct", "web", minAvailable="50%")
    pdb(server, ns, "nothing", "nobody", minAvailable=1)
    # before any pod is ready: the deployment's scale is expected, nothing may go
    wait_status(server, ns, "web-max", expectedPods=3, desiredHealthy=2, currentHealthy=0, disruptionsAllowed=0)
    ready_all(server, ns, "web", 3)
    st = wait_status(server, ns, "web-max", expectedPods=3, desiredHealthy=2, currentHealthy=3,
                     disruptionsAllowed=1)
    gen = jget(server, "pdb", "web-max", "-n", ns)["metadata"]["generation"]
    assert st["observedGeneration"] == gen
    c = condition(st)
    assert (c["status"], c["reason"]) == ("True", "SufficientPods")
    # 50% of the deployment's 3, rounded up
    wait_status(server, ns, "web-pct", expectedPods=3, desiredHealthy=2, currentHealthy=3, disruptionsAllowed=1)
    st = wait_status(server, ns, "nothing", expectedPods=0, desiredHealthy=1, currentHealthy=0,
                     disruptionsAllowed=0)
    c = condition(st)
    assert (c["status"], c["reason"]) == ("False", "InsufficientPods")
    out = server.kubectl("get", "pdb", "-n", ns).splitlines()
    assert out[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    rows = {line.split()[0]: line.split()[1:4] for line in out[1:]}
    assert rows == {"web-max": ["N/A", "1", "1"], "web-pct": ["50%", "N/A", "1"], "nothing": ["1", "N/A", "0"]}
    # a pod losing readiness takes the allowance away
    victim = pods_of(server, ns, "web")[0]["metadata"]["name"]
    server.kubectl("patch", "pod", victim, "-n", ns, "--subresource=status", "--type=merge",
                   "-p", json.dumps({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}))
    st = wait_status(server, ns, "web-max", currentHealthy=2, disruptionsAllowed=0)
    assert (condition(st)["status"], condition(st)["reason"]) == ("False", "InsufficientPods")


def test_eviction_refused_then_allowed_after_scale_up(server):
    ns = namespace(server, "pdb-evict")
    server.node("ev-node")
    deployment(server, ns, "db", 2, node_selector={"kubernetes.io/hostname": "ev-node"})
    pdb(server, ns, "db", "db", minAvailable=2)
    ready_all(server, ns, "db", 2)
    wait_status(server, ns, "db", expectedPods=2, desiredHealthy=2, currentHealthy=2, disruptionsAllowed=0)
    pod = pods_of(server, ns, "db")[0]["metadata"]["name"]
    p = evict(server, ns, pod)
    assert p.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in p.stderr, p.stderr
    # the raw Status: 429 TooManyRequests with the DisruptionBudget cause
    raw = subprocess.run([KUBECTL, "create", "--raw", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", "-f", "-",
                          "-v=8"], input=json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                                                     "metadata": {"name": pod}}),
                         capture_output=True, text=True, env=server.env(), timeout=60)
    assert "429 Too Many Requests" in raw.stderr
    body = next(json.loads(line.split("Response Body: ", 1)[1]) for line in raw.stderr.splitlines()
                if "Response Body: " in line and "TooManyRequests" in line)
    assert body["reason"] == "TooManyRequests" and body["code"] == 429
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget db needs 2 healthy pods and has 2 currently"}]
    assert not jget(server, "pod", pod, "-n", ns)["metadata"].get("deletionTimestamp")
    # a third ready pod makes one disruption allowed
    server.kubectl("scale", "deployment", "db", "-n", ns, "--replicas=3")
    ready_all(server, ns, "db", 3)
    wait_status(server, ns, "db", expectedPods=3, currentHealthy=3, disruptionsAllowed=1)
    p = evict(server, ns, pod)
    assert p.returncode == 0, p.stderr
    text = server.kubectl("get", "pod", pod, "-n", ns, "--ignore-not-found", "-o", "json")
    gone = json.loads(text) if text.strip() else None
    # graceful: the pod is terminating (or already gone after its 1 s grace), with the DisruptionTarget condition
    if gone:
        assert gone["metadata"].get("deletionTimestamp")
        conds = {c["type"]: c for c in gone["status"]["conditions"]}
        assert conds["DisruptionTarget"]["reason"] == "EvictionByEvictionAPI"
    st = pdb_status(server, ns, "db")
    # the eviction spent the disruption (recorded until the controller sees the pod go)
    assert st["disruptionsAllowed"] == 0
    # a second eviction right away is refused again
    # (one of the running pods: the replacement the ReplicaSet makes is Pending, which bypasses budgets)
    other = next(p["metadata"]["name"] for p in pods_of(server, ns, "db")
                 if p["metadata"]["name"] != pod and p["status"].get("phase") == "Running")
    p = evict(server, ns, other)
    assert p.returncode != 0 and "disruption budget" in p.stderr
    # a pod that is still Pending is not guarded
    pending = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pending", "namespace": ns,
                                                               "labels": {"app": "db"}},
               "spec": {"nodeSelector": {"nowhere": "x"}, "containers": [{"name": "c", "image": "busybox:1"}]}}
    server.apply(pending)
    p = evict(server, ns, "pending")
    assert p.returncode == 0, p.stderr
    until(lambda: not server.kubectl("get", "pod", "pending", "-n", ns, "--ignore-not-found"), "pending pod deleted")


def test_more_than_one_pdb_is_refused(server):
    ns = namespace(server, "pdb-two")
    server.node("two-node")
    deployment(server, ns, "api", 1, node_selector={"kubernetes.io/hostname": "two-node"})
    pdb(server, ns, "a", "api", maxUnavailable=1)
    pdb(server, ns, "b", "api", maxUnavailable=1)
    ready_all(server, ns, "api", 1)
    pod = pods_of(server, ns, "api")[0]["metadata"]["name"]
    p = evict(server, ns, pod)
    assert p.returncode != 0
    assert "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." \
        in p.stderr, p.stderr


def test_drain_waits_for_the_budget(server):
    ns = namespace(server, "pdb-drain")
    server.node("dr-a", labels={"pool": "drain"})
    deployment(server, ns, "app", 2, node_selector={"pool": "drain"})
    pdb(server, ns, "app", "app", minAvailable=1)
    ready_all(server, ns, "app", 2)
    wait_status(server, ns, "app", currentHealthy=2, disruptionsAllowed=1)
    old = {p["metadata"]["name"] for p in pods_of(server, ns, "app")}
    server.node("dr-b", labels={"pool": "drain"})
    drain = subprocess.Popen([KUBECTL, "drain", "dr-a", "--ignore-daemonsets", "--timeout=150s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env())
    try:
        # one pod goes; its replacement lands on dr-b; the second is refused until the replacement is ready
        def replacement():
            ps = [p for p in pods_of(server, ns, "app")
                  if p["metadata"]["name"] not in old and p["spec"].get("nodeName") == "dr-b"]
            return ps[0] if ps else None
        new = until(replacement, "a replacement pod on dr-b", timeout=90)
        st = wait_status(server, ns, "app", currentHealthy=1, disruptionsAllowed=0)
        assert st["desiredHealthy"] == 1
        left = [p for p in pods_of(server, ns, "app") if p["metadata"]["name"] in old]
        assert len(left) == 1 and drain.poll() is None
        make_ready(server, ns, new["metadata"]["name"])
        out, err = drain.communicate(timeout=150)
    finally:
        if drain.poll() is None:
            drain.kill()
            drain.wait()
    assert drain.returncode == 0, err
    assert "node/dr-a drained" in out
    assert "Cannot evict pod as it would violate the pod's disruption budget." in err
    assert not [p for p in pods_of(server, ns, "app") if p["spec"].get("nodeName") == "dr-a"]
    assert jget(server, "node", "dr-a")["spec"].get("unschedulable") is True


def test_preemption_prefers_node_without_violation(server):
    ns = namespace(server, "pdb-preempt")
    for n in ("pa", "pb"):
        server.node(n, cpu="1", labels={"pool": "preempt"})
    for name, prio in (("low", 10), ("mid", 20), ("vip", 1000)):
        server.apply({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                      "metadata": {"name": f"pdb-{name}"}, "value": prio})

    def pod(name, node, prio, labels):
        server.apply({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": ns, "labels": labels},
                      "spec": {"priorityClassName": f"pdb-{prio}", "terminationGracePeriodSeconds": 0,
                               "nodeSelector": {"kubernetes.io/hostname": node},
                               "containers": [{"name": "c", "image": "busybox:1",
                                               "resources": {"requests": {"cpu": "800m"}}}]}})
    # the lower-priority victim (the usual choice) is protected by a spent budget
    pod("guarded", "pa", "low", {"app": "guarded"})
    pod("free", "pb", "mid", {"app": "free"})
    for name in ("guarded", "free"):
        server.wait_bound(name, ns)
        make_ready(server, ns, name)
    pdb(server, ns, "guarded", "guarded", minAvailable=1)
    wait_status(server, ns, "guarded", currentHealthy=1, desiredHealthy=1, disruptionsAllowed=0)
    server.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vip", "namespace": ns},
                  "spec": {"priorityClassName": "pdb-vip", "nodeSelector": {"pool": "preempt"},
                           "containers": [{"name": "c", "image": "busybox:1",
                                           "resources": {"requests": {"cpu": "800m"}}}]}})
    until(lambda: server.get_pod("vip", ns)["status"].get("nominatedNodeName"), "vip nominated")
    assert server.get_pod("vip", ns)["status"]["nominatedNodeName"] == "pb"
    assert server.wait_bound("vip", ns) == "pb"
    until(lambda: not server.kubectl("get", "pod", "free", "-n", ns, "--ignore-not-found"), "free preempted")
    assert server.node_of("guarded", ns) == "pa"
    assert not server.get_pod("guarded", ns)["metadata"].get("deletionTimestamp")
