"""The DaemonSet and StatefulSet controllers (and their ControllerRevisions)
driven by the real kubectl against `berth server`, which runs them in-process.

One server on 127.0.0.1 (free port, temp data dir) for the module, stopped by
PID at teardown; each test works in its own namespace and Node objects it
creates and deletes.  No node agent or scheduler runs here, so `kubelet()`
plays both, small and on purpose: it binds each unbound pod (to the node its
DaemonSet affinity names, else to a given node) with pods/NAME/binding, marks
Pending pods Running and Ready through the status subresource, and finishes
graceful deletions with grace 0, as a kubelet confirms a stopped pod.
The DaemonSet test replays seed 001's DaemonSet steps.
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
SAFE = "[bcdfghjklmnpqrstvwxz2456789]"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, tries=600):
    """Poll fn (every 0.1 s) until it returns a true value; fail naming what."""
    for _ in range(tries):
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("never happened: " + what)


class Server:
    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="berth-wl-")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        until(self.ready, "berth server listening")

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("berth server exited: " + open(self.log.name).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return os.path.exists(self.kubeconfig)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def env(self):
        return dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)

    def run(self, *args, input=None):
        return subprocess.run([KUBECTL] + list(args), capture_output=True, text=True, env=self.env(),
                              input=input, timeout=120)

    def kubectl(self, *args, input=None):
        p = self.run(*args, input=input)
        if p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p.stdout

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json"))

    def pods(self, ns):
        return self.json("get", "pods", "-n", ns)["items"]

    def live(self, ns):
        return [p for p in self.pods(ns) if "deletionTimestamp" not in p["metadata"]]

    def node(self, name, taints=(), labels=None):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj = {"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
               "spec": {"taints": [dict(zip(("key", "effect"), t)) for t in taints]},
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                          "lastHeartbeatTime": now, "lastTransitionTime": now}],
                          "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                          "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
        self.kubectl("create", "-f", "-", input=json.dumps(obj))

    def kubelet(self, ns, default_node=None):
        """Play scheduler and kubelet for ns; returns how many pods it touched."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        n = 0
        for pod in self.pods(ns):
            name, spec = pod["metadata"]["name"], pod["spec"]
            if "deletionTimestamp" in pod["metadata"]:
                n += self.run("delete", "pod", name, "-n", ns, "--grace-period=0", "--force",
                              "--wait=false").returncode == 0
                continue
            if not spec.get("nodeName"):
                target = daemon_target(pod) or default_node
                if target:
                    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                               "target": {"apiVersion": "v1", "kind": "Node", "name": target}}
                    self.run("create", "--raw", f"/api/v1/namespaces/{ns}/pods/{name}/binding", "-f", "-",
                             input=json.dumps(binding))
            if pod["status"].get("phase") != "Pending":
                continue
            c = spec["containers"][0]
            status = {"status": {
                "phase": "Running", "podIP": "10.42.0.9", "startTime": now,
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                               for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": True,
                                       "started": True, "restartCount": 0,
                                       "state": {"running": {"startedAt": now}}}]}}
            n += self.run("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
                          "-p", json.dumps(status)).returncode == 0
        return n


def daemon_target(pod):
    terms = (pod["spec"].get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", []))
    for t in terms:
        for f in t.get("matchFields", []):
            if f["key"] == "metadata.name" and f["operator"] == "In":
                return f["values"][0]
    return None


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def rollout(server, ns, kind, name, default_node=None):
    """`kubectl rollout status` in the background while acting as kubelet; its output."""
    p = subprocess.Popen([KUBECTL, "rollout", "status", kind, name, "-n", ns], env=server.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: server.kubelet(ns, default_node) >= 0 and p.poll() is not None, f"rollout of {kind} {name}")
    finally:
        if p.poll() is None:
            p.kill()
    out, err = p.communicate()
    assert p.returncode == 0, out + err
    return out


def history(server, ns, kind, name):
    out = server.kubectl("rollout", "history", kind, name, "-n", ns)
    rows = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    return {int(r[0]): r[1].strip() if len(r) > 1 else "" for r in rows}


def image(obj):
    return obj["spec"]["containers"][0]["image"] if "containers" in obj["spec"] else \
        obj["spec"]["template"]["spec"]["containers"][0]["image"]


DAEMONSET = """
apiVersion: apps/v1
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
%s      containers:
      - name: c1
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 100Mi
          requests:
            memory: 100Mi
"""
TOLERATION = """      tolerations:
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
"""
NODES = ["wl-master", "wl-node1", "wl-node2"]


def by_node(server, ns):
    return {p["spec"].get("nodeName") or daemon_target(p): p for p in server.live(ns)}


def ds_row(server, ns):
    out = server.kubectl("get", "ds", "-n", ns).splitlines()
    assert out[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                              "SELECTOR", "AGE"]
    return out[1].split()[:7]


@pytest.fixture(scope="module")
def nodes(server):
    server.node(NODES[0], taints=[("node-role.kubernetes.io/control-plane", "NoSchedule")],
                labels={"node-role.kubernetes.io/control-plane": ""})
    for n in NODES[1:]:
        server.node(n)
    yield NODES
    for n in NODES:
        server.run("delete", "node", n, "--ignore-not-found")


def test_daemonset_without_toleration_skips_the_tainted_node(server, nodes):
    ns = "ds-plain"
    server.kubectl("create", "namespace", ns)
    assert server.kubectl("apply", "-n", ns, "-f", "-", input=DAEMONSET % "").strip() == \
        "daemonset.apps/daemonset-nginx created"
    placed = until(lambda: (lambda m: len(m) == 2 and m)(by_node(server, ns)), "two daemon pods")
    assert sorted(placed) == ["wl-node1", "wl-node2"], "no pod on the NoSchedule control-plane node"
    ds = until(lambda: (lambda d: d.get("status", {}).get("desiredNumberScheduled") == 2 and d)(
        server.json("get", "ds", "daemonset-nginx", "-n", ns)), "desired 2")
    pod = placed["wl-node1"]
    assert re.fullmatch(r"daemonset-nginx-" + SAFE + "{5}", pod["metadata"]["name"])
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["wl-node1"]}]}]}
    # the controller does not bind: the in-process scheduler does (a Scheduled event says who)
    if pod["spec"].get("nodeName"):
        ev = until(lambda: [e for e in server.json("get", "events", "-n", ns)["items"]
                            if e["involvedObject"]["name"] == pod["metadata"]["name"] and e["reason"] == "Scheduled"],
                   "the scheduler's Scheduled event")
        assert ev[0]["source"].get("component", ev[0].get("reportingComponent")) == "default-scheduler"
    labels = pod["metadata"]["labels"]
    assert labels["pod-template-generation"] == str(ds["metadata"]["generation"])
    rev = server.json("get", "controllerrevisions", "-n", ns)["items"]
    assert len(rev) == 1 and rev[0]["metadata"]["name"] == "daemonset-nginx-" + labels["controller-revision-hash"]
    assert rev[0]["revision"] == 1
    assert rev[0]["data"]["spec"]["template"]["$patch"] == "replace"
    tols = {(t["key"], t.get("effect")) for t in pod["spec"]["tolerations"]}
    assert {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule")} <= tols
    ref = pod["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("DaemonSet", "daemonset-nginx", True)
    server.kubectl("delete", "namespace", ns, "--wait=false")


def test_daemonset_seed_001(server, nodes):
    ns = "ds-seed"
    server.kubectl("create", "namespace", ns)
    server.kubectl("apply", "-n", ns, "-f", "-", input=DAEMONSET % TOLERATION)

    def settled(n):
        def check():
            server.kubelet(ns)
            m = by_node(server, ns)
            return len(m) == n and all(p["status"].get("phase") == "Running" and p["spec"].get("nodeName")
                                       for p in m.values()) and m
        return until(check, f"{n} running daemon pods")

    placed = settled(3)
    assert sorted(placed) == sorted(NODES), "the toleration lets a pod onto the control-plane node"
    until(lambda: ds_row(server, ns) == ["daemonset-nginx", "3", "3", "3", "3", "3", "<none>"], "ds 3/3")

    # a deleted daemon pod comes back on the same node
    victim = placed["wl-node1"]["metadata"]["name"]
    server.kubectl("delete", "pod", victim, "-n", ns, "--wait=false")
    placed = settled(3)
    assert placed["wl-node1"]["metadata"]["name"] != victim

    # a node joining gets a pod; a node leaving loses it
    server.node("wl-node3")
    try:
        placed = settled(4)
        assert "wl-node3" in placed
        until(lambda: ds_row(server, ns)[1:6] == ["4"] * 5, "ds 4/4")
    finally:
        server.kubectl("delete", "node", "wl-node3")
    placed = settled(3)
    assert "wl-node3" not in placed
    until(lambda: ds_row(server, ns)[1:6] == ["3"] * 5, "ds back to 3")

    # an image update rolls one node at a time (maxUnavailable 1)
    server.kubectl("set", "image", "daemonset", "daemonset-nginx", "c1=nginx:1.17-alpine", "--record", "-n", ns)

    def stalled():
        # without the kubelet the new pod never gets Ready: exactly one node was replaced
        for p in server.pods(ns):
            if "deletionTimestamp" in p["metadata"]:
                server.run("delete", "pod", p["metadata"]["name"], "-n", ns, "--grace-period=0", "--force")
        images = sorted(image(p) for p in server.live(ns))
        return images == ["nginx:1.15-alpine", "nginx:1.15-alpine", "nginx:1.17-alpine"] and images
    until(stalled, "one node updated, two waiting")
    st = server.json("get", "ds", "daemonset-nginx", "-n", ns)["status"]
    assert st["updatedNumberScheduled"] <= 1 and st["numberUnavailable"] >= 1
    out = rollout(server, ns, "daemonset", "daemonset-nginx")
    assert "Waiting for daemon set \"daemonset-nginx\" rollout to finish" in out
    assert out.rstrip().endswith('daemon set "daemonset-nginx" successfully rolled out')
    placed = settled(3)
    assert all(image(p) == "nginx:1.17-alpine" for p in placed.values())
    gen = server.json("get", "ds", "daemonset-nginx", "-n", ns)["metadata"]["generation"]
    assert all(p["metadata"]["labels"]["pod-template-generation"] == str(gen) for p in placed.values())

    h = history(server, ns, "daemonset", "daemonset-nginx")
    assert sorted(h) == [1, 2] and h[1] == "<none>"
    assert h[2].startswith("kubectl set image daemonset daemonset-nginx c1=nginx:1.17-alpine")
    out = server.kubectl("rollout", "history", "daemonset", "daemonset-nginx", "-n", ns, "--revision=1")
    assert "nginx:1.15-alpine" in out

    # undo: the first template is back; its revision moves to 3
    server.kubectl("rollout", "undo", "daemonset", "daemonset-nginx", "-n", ns)
    assert image(server.json("get", "ds", "daemonset-nginx", "-n", ns)) == "nginx:1.15-alpine"
    rollout(server, ns, "daemonset", "daemonset-nginx")
    assert all(image(p) == "nginx:1.15-alpine" for p in settled(3).values())
    h = until(lambda: (lambda h: sorted(h) == [2, 3] and h)(history(server, ns, "daemonset", "daemonset-nginx")),
              "revisions 2 and 3")
    revs = server.json("get", "controllerrevisions", "-n", ns)["items"]
    assert len(revs) == 2 and all(re.fullmatch("daemonset-nginx-" + SAFE + "+", r["metadata"]["name"]) for r in revs)

    # deleting the DaemonSet removes its pods and revisions
    server.kubectl("delete", "ds", "daemonset-nginx", "-n", ns)
    until(lambda: server.kubelet(ns) >= 0 and not server.pods(ns), "daemon pods gone")
    until(lambda: not server.json("get", "controllerrevisions", "-n", ns)["items"], "revisions gone")


def test_daemonset_surge_and_node_selector(server, nodes):
    ns = "ds-surge"
    server.kubectl("create", "namespace", ns)
    manifest = (DAEMONSET % "      nodeSelector:\n        wl-surge: \"yes\"\n").replace(
        "  selector:\n", "  updateStrategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n  selector:\n", 1)
    server.kubectl("apply", "-n", ns, "-f", "-", input=manifest)
    try:
        server.kubectl("label", "node", "wl-node1", "wl-node2", "wl-surge=yes")

        def settled(want):
            def check():
                server.kubelet(ns)
                m = by_node(server, ns)
                return sorted(m) == want and all(p["status"].get("phase") == "Running" for p in m.values()) and m
            return until(check, f"daemon pods on {want}")

        settled(["wl-node1", "wl-node2"])
        until(lambda: ds_row(server, ns)[1:7] == ["2", "2", "2", "2", "2", "wl-surge=yes"], "ds 2/2 with selector")
        server.kubectl("set", "image", "daemonset", "daemonset-nginx", "c1=nginx:1.16-alpine", "-n", ns)
        # maxSurge 1, maxUnavailable 0: a new pod starts next to an old one; no old pod goes yet
        pods = until(lambda: (lambda p: len(p) == 3 and p)(server.live(ns)), "one surge pod")
        assert sorted(image(p) for p in pods) == ["nginx:1.15-alpine"] * 2 + ["nginx:1.16-alpine"]
        assert not [p for p in server.pods(ns) if "deletionTimestamp" in p["metadata"]], "nothing deleted yet"
        rollout(server, ns, "daemonset", "daemonset-nginx")
        placed = settled(["wl-node1", "wl-node2"])
        assert all(image(p) == "nginx:1.16-alpine" for p in placed.values())
        # a node that stops matching the nodeSelector loses its pod
        server.kubectl("label", "node", "wl-node2", "wl-surge-")
        settled(["wl-node1"])
        until(lambda: ds_row(server, ns)[1:3] == ["1", "1"], "desired 1")
    finally:
        server.run("label", "node", "wl-node1", "wl-node2", "wl-surge-")
        server.run("delete", "namespace", ns, "--wait=false")


STATEFULSET = """
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: nginx
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
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
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
"""


def names(pods):
    return sorted(p["metadata"]["name"] for p in pods)


def ready_one(server, ns, name, node):
    """The kubelet for one pod only: bind it and mark it Running and Ready."""
    pod = server.json("get", "pod", name, "-n", ns)
    if not pod["spec"].get("nodeName"):
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        server.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/{name}/binding", "-f", "-",
                       input=json.dumps(binding))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}]}}
    server.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def test_statefulset(server, nodes):
    ns = "sts"
    node = NODES[1]
    server.kubectl("create", "namespace", ns)
    server.kubectl("apply", "-n", ns, "-f", "-", input=STATEFULSET)

    # OrderedReady: web-0 only, until it is Running and Ready
    until(lambda: names(server.pods(ns)) == ["web-0"], "web-0 created")
    st = until(lambda: (lambda s: s.get("replicas") == 1 and s.get("updateRevision") and s)(
        server.json("get", "sts", "web", "-n", ns).get("status", {})), "status after web-0")
    assert names(server.pods(ns)) == ["web-0"], "web-1 is not created before web-0 is Ready"
    assert st["readyReplicas"] == 0 and st["currentRevision"] == st["updateRevision"]
    ready_one(server, ns, "web-0", node)
    until(lambda: "web-1" in names(server.pods(ns)), "web-1 after web-0 is ready")
    assert names(server.pods(ns)) == ["web-0", "web-1"], "web-2 waits for web-1"
    ready_one(server, ns, "web-1", node)
    until(lambda: "web-2" in names(server.pods(ns)), "web-2 after web-1 is ready")
    ready_one(server, ns, "web-2", node)
    until(lambda: "3/3" in server.kubectl("get", "sts", "web", "-n", ns), "sts 3/3")
    assert server.kubectl("get", "sts", "-n", ns).splitlines()[0].split() == ["NAME", "READY", "AGE"]

    sts = server.json("get", "sts", "web", "-n", ns)
    rev1 = sts["status"]["updateRevision"]
    assert re.fullmatch("web-" + SAFE + "+", rev1)
    for i, p in enumerate(sorted(server.pods(ns), key=lambda p: p["metadata"]["name"])):
        name = f"web-{i}"
        assert p["metadata"]["name"] == name
        assert p["spec"]["hostname"] == name and p["spec"]["subdomain"] == "nginx"
        lab = p["metadata"]["labels"]
        assert lab["statefulset.kubernetes.io/pod-name"] == name and lab["apps.kubernetes.io/pod-index"] == str(i)
        assert lab["controller-revision-hash"] == rev1 and lab["app"] == "nginx"
        vols = {v["name"]: v for v in p["spec"]["volumes"]}
        assert vols["www"]["persistentVolumeClaim"]["claimName"] == f"www-web-{i}"
    pvcs = server.json("get", "pvc", "-n", ns)["items"]
    assert names(pvcs) == ["www-web-0", "www-web-1", "www-web-2"]
    assert all(p["metadata"]["labels"]["app"] == "nginx" and not p["metadata"].get("ownerReferences")
               for p in pvcs), "claims carry the selector labels and no owner (Retain)"
    st = sts["status"]
    assert (st["replicas"], st["readyReplicas"], st["currentReplicas"], st["updatedReplicas"]) == (3, 3, 3, 3)
    assert st["currentRevision"] == rev1 and st["observedGeneration"] == sts["metadata"]["generation"]

    # a deleted pod comes back with the same name (and claim)
    uid = server.json("get", "pod", "web-1", "-n", ns)["metadata"]["uid"]
    server.kubectl("delete", "pod", "web-1", "-n", ns, "--wait=false")
    until(lambda: server.kubelet(ns, node) >= 0 and
          (lambda p: p and p[0]["metadata"]["uid"] != uid and p[0]["status"].get("phase") == "Running")(
              [p for p in server.live(ns) if p["metadata"]["name"] == "web-1"]), "web-1 re-created")

    # scale down to 1: web-2 goes first; web-1 only once web-2 is gone
    server.kubectl("scale", "sts", "web", "--replicas=1", "-n", ns)
    until(lambda: "deletionTimestamp" in server.json("get", "pod", "web-2", "-n", ns)["metadata"],
          "web-2 terminating")
    assert "deletionTimestamp" not in server.json("get", "pod", "web-1", "-n", ns)["metadata"], \
        "web-1 waits while web-2 terminates"
    server.kubectl("delete", "pod", "web-2", "-n", ns, "--grace-period=0", "--force")
    until(lambda: "deletionTimestamp" in server.json("get", "pod", "web-1", "-n", ns)["metadata"],
          "web-1 terminating after web-2 is gone")
    until(lambda: server.kubelet(ns, node) >= 0 and names(server.pods(ns)) == ["web-0"], "only web-0 left")
    assert names(server.json("get", "pvc", "-n", ns)["items"]) == ["www-web-0", "www-web-1", "www-web-2"], \
        "claims are retained on scale-down"

    # back to 3, then a rolling update held at partition 2: only web-2 moves
    server.kubectl("scale", "sts", "web", "--replicas=3", "-n", ns)
    until(lambda: server.kubelet(ns, node) >= 0 and "3/3" in server.kubectl("get", "sts", "web", "-n", ns), "3/3")
    server.kubectl("patch", "sts", "web", "-n", ns, "-p",
                   '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}')
    server.kubectl("set", "image", "sts", "web", "nginx=nginx:1.16-alpine", "-n", ns)
    out = rollout(server, ns, "statefulset", "web", node)
    assert "partitioned roll out complete: 1 new pods have been updated" in out
    imgs = {p["metadata"]["name"]: image(p) for p in server.live(ns)}
    assert imgs == {"web-0": "nginx:1.15-alpine", "web-1": "nginx:1.15-alpine", "web-2": "nginx:1.16-alpine"}
    st = server.json("get", "sts", "web", "-n", ns)["status"]
    assert st["currentRevision"] == rev1 and st["updateRevision"] != rev1 and st["updatedReplicas"] == 1
    rev2 = st["updateRevision"]

    # partition 0: the rest roll from the highest ordinal, then currentRevision follows
    server.kubectl("patch", "sts", "web", "-n", ns, "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    until(lambda: "deletionTimestamp" in server.json("get", "pod", "web-1", "-n", ns)["metadata"],
          "web-1 replaced next (highest old ordinal)")
    web0 = server.json("get", "pod", "web-0", "-n", ns)
    assert "deletionTimestamp" not in web0["metadata"] and image(web0) == "nginx:1.15-alpine", "one at a time"
    out = rollout(server, ns, "statefulset", "web", node)
    # (the API server defaults partition to 0, so kubectl speaks of a partitioned roll out, as with Kubernetes)
    assert out.rstrip().endswith("partitioned roll out complete: 3 new pods have been updated...")
    assert all(image(p) == "nginx:1.16-alpine" for p in server.live(ns))
    st = until(lambda: (lambda s: s["currentRevision"] == rev2 and s)(
        server.json("get", "sts", "web", "-n", ns)["status"]), "currentRevision = updateRevision")
    assert st["currentReplicas"] == 3

    # history and undo
    assert sorted(history(server, ns, "statefulset", "web")) == [1, 2]
    server.kubectl("rollout", "undo", "statefulset", "web", "-n", ns)
    out = rollout(server, ns, "statefulset", "web", node)
    assert out.rstrip().endswith("partitioned roll out complete: 3 new pods have been updated...")
    until(lambda: server.json("get", "sts", "web", "-n", ns)["status"]["currentRevision"] == rev1,
          "the undo's revision is the first one again")
    assert all(image(p) == "nginx:1.15-alpine" for p in server.live(ns))
    assert sorted(history(server, ns, "statefulset", "web")) == [2, 3]

    server.kubectl("delete", "sts", "web", "-n", ns)
    until(lambda: server.kubelet(ns, node) >= 0 and not server.pods(ns), "pods gone with the set")
    assert len(server.json("get", "pvc", "-n", ns)["items"]) == 3, "claims outlive the set (whenDeleted Retain)"
