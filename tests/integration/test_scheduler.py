"""The scheduler, in-process in a real `berth server` (and remotely as
`berth scheduler`), driven by the real kubectl.

Every test starts its own server on 127.0.0.1 (free port, temp data dir,
--disable-controllers unless it needs a ReplicaSet) and stops it by PID at
teardown.  There are no node agents: Node objects are created with kubectl
and given a Ready condition and allocatable resources through the status
subresource, as a kubelet would report them.  Every wait is a poll with a
generous deadline.
"""
import json
import os
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

CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("never happened: " + what)


class Server:
    def __init__(self, *extra):
        self.data = tempfile.mkdtemp(prefix="berth-sched-")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.procs = []
        self.proc = self.spawn([BERTH, "server", "--data-dir", self.data, "--listen",
                                f"127.0.0.1:{self.port}", *extra])
        until(self.ready, "berth server ready")

    def spawn(self, argv):
        p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("berth server exited: " + open(self.log.name).read())
        if not os.path.exists(self.kubeconfig):
            return False
        p = subprocess.run([KUBECTL, "get", "--raw", "/readyz"], capture_output=True, text=True, env=self.env())
        return p.returncode == 0

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
        self.log.close()

    def env(self):
        return dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)

    def kubectl(self, *args, check=True, input=None):
        p = subprocess.run([KUBECTL] + list(args), capture_output=True, text=True, env=self.env(),
                           input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p.stdout

    def apply(self, obj):
        return self.kubectl("create", "-f", "-", input=json.dumps(obj))

    def node(self, name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None, ready="True",
             unschedulable=False):
        spec = {}
        if taints:
            spec["taints"] = taints
        if unschedulable:
            spec["unschedulable"] = True
        self.apply({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
                    "spec": spec})
        res = {"cpu": cpu, "memory": memory, "pods": pods}
        status = {"capacity": res, "allocatable": res,
                  "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady"}]}
        self.kubectl("patch", "node", name, "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": status}))

    def pod(self, name, ns="default", cpu=None, memory=None, **spec):
        ctr = {"name": "c", "image": "busybox:1"}
        req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
        if req:
            ctr["resources"] = {"requests": req}
        if "ports" in spec:
            ctr["ports"] = spec.pop("ports")
        self.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                    "spec": dict({"containers": [ctr]}, **spec)})

    def get_pod(self, name, ns="default"):
        return json.loads(self.kubectl("get", "pod", name, "-n", ns, "-o", "json"))

    def node_of(self, name, ns="default"):
        return self.get_pod(name, ns)["spec"].get("nodeName")

    def wait_bound(self, name, ns="default"):
        return until(lambda: self.node_of(name, ns), f"pod {name} bound")

    def condition(self, name, ns="default"):
        for c in self.get_pod(name, ns).get("status", {}).get("conditions", []):
            if c["type"] == "PodScheduled":
                return c
        return None

    def wait_unschedulable(self, name, message, ns="default"):
        def check():
            c = self.condition(name, ns)
            return c if c and c["status"] == "False" and c.get("message") == message else None
        try:
            c = until(check, f"pod {name} unschedulable with the expected message")
        except AssertionError:
            raise AssertionError(f"condition: {self.condition(name, ns)}\nwanted: {message}")
        assert c["reason"] == "Unschedulable"
        assert self.node_of(name, ns) is None
        return c


@pytest.fixture
def server():
    s = Server("--disable-controllers")
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def test_binds_pod_and_records_scheduled_event(server):
    server.node("n1")
    server.pod("web", cpu="500m", memory="64Mi")
    assert server.wait_bound("web") == "n1"
    events = until(lambda: [e for e in json.loads(server.kubectl("get", "events", "-o", "json"))["items"]
                            if e["reason"] == "Scheduled" and e["involvedObject"]["name"] == "web"],
                   "Scheduled event")
    e = events[0]
    assert e["message"] == "Successfully assigned default/web to n1"
    assert e["type"] == "Normal"
    assert e["source"]["component"] == "default-scheduler"
    assert e["reportingComponent"] == "default-scheduler"
    out = until(lambda: (lambda o: o if "Successfully assigned default/web to n1" in o else None)(
        server.kubectl("describe", "pod", "web")), "describe shows the Scheduled event")
    assert "default-scheduler" in out


def test_node_selector_affinity_and_taints(server):
    server.node("ssd", labels={"disk": "ssd"})
    server.node("gpu", labels={"accel": "gpu", "cores": "64"},
                taints=[{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}])
    server.node("plain")
    server.pod("wants-ssd", nodeSelector={"disk": "ssd"})
    server.pod("tolerates-gpu", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "ml",
                                              "effect": "NoSchedule"}],
               affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                   "nodeSelectorTerms": [{"matchExpressions": [{"key": "cores", "operator": "Gt",
                                                                "values": ["32"]}]}]}}})
    server.pod("by-name", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["plain"]}]}]}}})
    server.pod("prefers-plain", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                                             "values": ["plain"]}]}}]}})
    server.pod("no-toleration", nodeSelector={"accel": "gpu"})
    assert server.wait_bound("wants-ssd") == "ssd"
    assert server.wait_bound("tolerates-gpu") == "gpu"
    assert server.wait_bound("by-name") == "plain"
    assert server.wait_bound("prefers-plain") == "plain"
    server.wait_unschedulable(
        "no-toleration",
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")
    # a pod never lands on the tainted node without a toleration
    for i in range(6):
        server.pod(f"free-{i}")
    for i in range(6):
        assert server.wait_bound(f"free-{i}") in ("ssd", "plain")


def test_insufficient_resources_then_new_node(server):
    server.node("cp", cpu="8", taints=[{"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"}])
    for i in range(1, 4):
        server.node(f"w{i}", cpu="1")
    server.pod("big", cpu="2")
    msg = ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
           "3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
    server.wait_unschedulable("big", msg)
    assert server.get_pod("big")["status"].get("phase") == "Pending"
    describe = until(lambda: (lambda o: o if msg in o else None)(server.kubectl("describe", "pod", "big")),
                     "kubectl describe pod shows the FailedScheduling event")
    assert "FailedScheduling" in describe and "default-scheduler" in describe
    events = server.kubectl("get", "events", "--field-selector", "involvedObject.name=big")
    assert "FailedScheduling" in events and msg in events
    # a node that fits arrives: the pending pod is retried and bound there
    server.node("large", cpu="4")
    assert server.wait_bound("big") == "large"
    until(lambda: (server.condition("big") or {}).get("status") == "True", "PodScheduled becomes True")


def test_requests_are_accounted_and_freed(server):
    server.node("solo", cpu="1", memory="1Gi")
    server.pod("first", cpu="600m", memory="100Mi")
    assert server.wait_bound("first") == "solo"
    server.pod("second", cpu="600m")
    server.wait_unschedulable(
        "second", "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                  "1 No preemption victims found for incoming pod.")
    server.kubectl("delete", "pod", "first", "--grace-period=0", "--force", "--wait=false")
    assert server.wait_bound("second") == "solo"


def test_pod_waiting_for_its_claim_is_retried_when_it_appears(server):
    server.node("n1")
    server.pod("db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "late"}}])
    server.wait_unschedulable(
        "db", '0/1 nodes are available: persistentvolumeclaim "late" not found. preemption: 0/1 nodes are '
              'available: 1 Preemption is not helpful for scheduling.')
    server.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "wait"},
                  "provisioner": "example.com/none", "volumeBindingMode": "WaitForFirstConsumer"})
    server.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "late"},
                  "spec": {"storageClassName": "wait", "accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "1Gi"}}}})
    # the claim's arrival requeues the pod (only the 5-minute retry would otherwise)
    assert until(lambda: server.node_of("db"), "pod bound once its claim exists", timeout=45) == "n1"
    pvc = json.loads(server.kubectl("get", "pvc", "late", "-o", "json"))
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "n1"


def test_host_ports_and_pod_count(server):
    server.node("ports", pods="2")
    server.pod("http-a", ports=[{"containerPort": 80, "hostPort": 8080}])
    assert server.wait_bound("http-a") == "ports"
    server.pod("http-b", ports=[{"containerPort": 80, "hostPort": 8080}])
    server.wait_unschedulable(
        "http-b", "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. "
                  "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
    server.pod("udp", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}])
    assert server.wait_bound("udp") == "ports"
    server.pod("third")
    server.wait_unschedulable(
        "third", "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: "
                 "1 No preemption victims found for incoming pod.")


def test_unready_and_cordoned_nodes(server):
    server.node("down", ready="False")
    server.node("cordoned", unschedulable=True)
    server.pod("waiting")
    server.wait_unschedulable(
        "waiting", "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
                   "1 node(s) were unschedulable. preemption: 0/2 nodes are available: "
                   "2 Preemption is not helpful for scheduling.")
    server.pod("tolerant", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                         "effect": "NoSchedule"}])
    assert server.wait_bound("tolerant") == "cordoned"
    # the node becomes Ready: the waiting pod follows
    server.kubectl("patch", "node", "down", "--subresource=status", "--type=merge", "-p",
                   json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}))
    assert server.wait_bound("waiting") == "down"


def test_spreads_replicaset_pods():
    s = Server()  # with the controllers: a ReplicaSet makes pods with a controller ownerReference
    try:
        for n in ("a", "b", "c"):
            s.node(n)
        s.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                 "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}},
                          "template": {"metadata": {"labels": {"app": "web"}},
                                       "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}}})

        def placed():
            pods = json.loads(s.kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
            nodes = [p["spec"].get("nodeName") for p in pods]
            return nodes if len(nodes) == 6 and all(nodes) else None
        nodes = until(placed, "6 ReplicaSet pods bound", timeout=90)
        assert sorted(nodes.count(n) for n in ("a", "b", "c")) == [2, 2, 2], nodes
    finally:
        s.stop()
        shutil.rmtree(s.data, ignore_errors=True)


def test_disable_scheduler_and_remote_scheduler():
    s = Server("--disable-controllers", "--disable-scheduler")
    try:
        s.node("n1")
        s.pod("later")
        # nothing schedules in-process: the pod stays unassigned until a remote scheduler runs
        time.sleep(1)
        assert s.node_of("later") is None and s.condition("later") is None
        s.spawn([BERTH, "scheduler", "--kubeconfig", s.kubeconfig])
        assert s.wait_bound("later") == "n1"
    finally:
        s.stop()
        shutil.rmtree(s.data, ignore_errors=True)


def test_scheduler_help():
    p = subprocess.run([BERTH, "scheduler", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--kubeconfig" in p.stdout
    p = subprocess.run([BERTH, "server", "--help"], capture_output=True, text=True)
    assert "--disable-scheduler" in p.stdout
