"""The node agent joined to an API server: `berth agent --server URL --token T`.

The module starts one `berth server` (SQLite, a free loopback port, a temp
data dir) and one agent with a private --root/--runroot holding the busybox
image, registered as node NODE; the real kubectl drives it.  Each test works
in its own namespace and sets spec.nodeName itself (no scheduler needed).
Teardown deletes the namespaces' pods through the API, waits for the agent to
stop them, stops the agent and the server by PID and checks that nothing the
pods had is left (pod dirs, pinned namespaces, cgroups, leases, processes,
mounts).  Waits poll with generous deadlines and assert states, never
durations.
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

from conftest import BERTH
from test_agent import leftovers

KUBECTL = "/usr/bin/kubectl"
NODE = "agentapi-node"
WAIT = 90


def wait_for(pred, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, busybox_tar):
        self.base = tempfile.mkdtemp(prefix="berth-agentapi-")
        self.data = os.path.join(self.base, "data")
        self.root = os.path.join(self.base, "root")
        self.runroot = os.path.join(self.base, "run")
        os.makedirs(self.root)
        os.makedirs(self.runroot)
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.port = free_port()
        self.server_log = open(os.path.join(self.base, "server.log"), "ab")
        self.server = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.server_log, stderr=subprocess.STDOUT)
        self.agent = None
        self.uids = {}
        wait_for(self.server_ready, "berth server listening")
        self.token = subprocess.run([BERTH, "token", "create", "--data-dir", self.data], check=True,
                                    capture_output=True, text=True).stdout.strip()
        subprocess.run(self.berth("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "bb:latest"),
                       check=True, capture_output=True)

    def berth(self, *args):
        return [BERTH, "--root", self.root, "--runroot", self.runroot] + [str(a) for a in args]

    def server_ready(self):
        if self.server.poll() is not None:
            raise AssertionError("berth server exited: " + open(self.server_log.name).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return os.path.exists(self.kubeconfig)

    def start_agent(self):
        self.agent_log = open(os.path.join(self.base, "agent.log"), "a")
        self.agent = subprocess.Popen(
            self.berth("agent", "--server", f"https://127.0.0.1:{self.port}", "--token", self.token,
                       "--ca-file", os.path.join(self.data, "tls", "ca.crt"), "--node-name", NODE,
                       "--crash-backoff", "1s", "--token-refresh", "2s", "--kubelet-port", "0", "--labels", "zone=test,example.com/tier=edge",
                       "--taints", "dedicated=agents:PreferNoSchedule", "--pod-cidr", "10.244.7.0/24"),
            stdout=self.agent_log, stderr=subprocess.STDOUT)

    def stop_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            rc = self.agent.wait(timeout=60)
            log = self.agent_text()
            assert rc == 0 and "runtime error" not in log, f"agent exited {rc}: {log[-3000:]}"
        self.agent = None

    def agent_text(self):
        with open(os.path.join(self.base, "agent.log")) as f:
            return f.read()

    def kubectl(self, *args, check=True, input=None):
        p = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig] + [str(a) for a in args], capture_output=True,
                           text=True, input=input, timeout=120, env=dict(os.environ, HOME=self.base))
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(map(str, args))} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}\nagent: {self.agent_text()[-3000:]}")
        return p.stdout

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json"))

    def get(self, kind, name, ns=None):
        args = ["get", kind, name] + (["-n", ns] if ns else [])
        p = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig] + args + ["-o", "json"], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ, HOME=self.base))
        return json.loads(p.stdout) if p.returncode == 0 else None

    def namespace(self, name):
        self.kubectl("create", "namespace", name)
        return name

    def create_pod(self, ns, name, containers, **spec):
        s = {"nodeName": NODE, "terminationGracePeriodSeconds": 5, "containers": containers}
        s.update(spec)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": s}
        self.kubectl("create", "-f", "-", input=json.dumps(pod))
        uid = self.get("pod", name, ns)["metadata"]["uid"]
        self.uids[f"{ns}/{name}"] = uid
        return uid

    def pod_dirs(self):
        d = os.path.join(self.root, "pods")
        return os.listdir(d) if os.path.isdir(d) else []

    def pod_dir(self, ns, name):
        for d in self.pod_dirs():
            if d.startswith(f"{ns}_{name}_"):
                return os.path.join(self.root, "pods", d)
        return None

    def cleanup(self):
        for key in list(self.uids):
            ns, name = key.split("/")
            self.kubectl("delete", "pod", name, "-n", ns, "--ignore-not-found", "--wait=false", check=False)
        if self.agent is None:
            self.start_agent()
        wait_for(lambda: not self.pod_dirs(), "the agent stopped every pod", timeout=120)
        self.stop_agent()
        problems = []
        if os.path.isdir(os.path.join(self.runroot, "agent")) and os.listdir(os.path.join(self.runroot, "agent")):
            problems.append("pinned namespaces left")
        for key, uid in self.uids.items():
            left = leftovers(uid)
            if left:
                problems.append(f"{key} left {left}")
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if l.split()[4].startswith(self.base)]
        for mp in reversed(mounts):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if mounts:
            problems.append(f"mounts left {mounts}")
        if self.server.poll() is None:
            os.kill(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server_log.close()
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = Cluster(busybox_tar)
    c.start_agent()
    yield c
    problems = c.cleanup()
    assert not problems, problems


def condition(obj, type_):
    for c in obj["status"].get("conditions", []):
        if c["type"] == type_:
            return c
    return None


def node_ready(c):
    n = c.get("node", NODE)
    return n if n and (condition(n, "Ready") or {}).get("status") == "True" else None


def pod_line(c, ns, name):
    out = c.kubectl("get", "pod", name, "-n", ns, "--no-headers", check=False)
    return out.split()


def running_1_1(c, ns, name):
    f = pod_line(c, ns, name)
    return len(f) >= 3 and f[1] == "1/1" and f[2] == "Running"


def pids_of(marker):
    """PIDs of processes whose command line contains marker."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(l.split(None, 1)[0]) for l in out.splitlines() if marker in l and "ps -eo" not in l]


def events_of(c, ns, name):
    return [e for e in c.json("get", "events", "-n", ns)["items"] if e["involvedObject"]["name"] == name]


def test_help_and_usage():
    out = subprocess.run([BERTH, "agent", "--help"], capture_output=True, text=True, check=True).stdout
    for opt in ("--server", "--token", "--kubeconfig", "--node-ip", "--pod-cidr", "--labels", "--taints",
                "--ca-file", "--insecure-skip-tls-verify"):
        assert opt in out, opt
    p = subprocess.run([BERTH, "agent", "--server", "https://127.0.0.1:1", "--taints", "x"], capture_output=True,
                       text=True)
    assert p.returncode != 0 and "--token" in p.stderr


def test_node_registered_ready(cluster):
    c = cluster
    wait_for(lambda: node_ready(c), "node Ready")
    line = [l for l in c.kubectl("get", "nodes").splitlines() if l.startswith(NODE)]
    assert line and line[0].split()[1] == "Ready", c.kubectl("get", "nodes")
    n = c.get("node", NODE)
    labels = n["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == NODE
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] in ("amd64", "arm64")
    assert labels["zone"] == "test" and labels["example.com/tier"] == "edge"
    assert n["spec"]["podCIDR"] == "10.244.7.0/24"
    assert {"key": "dedicated", "value": "agents", "effect": "PreferNoSchedule"} in n["spec"]["taints"]
    st = n["status"]
    assert st["capacity"]["pods"] == "110" and int(st["capacity"]["cpu"]) >= 1
    assert st["capacity"]["memory"].endswith("Ki") and int(st["capacity"]["memory"][:-2]) > 0
    assert "ephemeral-storage" in st["allocatable"]
    types = {a["type"]: a["address"] for a in st["addresses"]}
    assert types["InternalIP"] == "127.0.0.1" and types["Hostname"]
    info = st["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("berth://")
    assert info["kubeletVersion"].startswith("v1.")
    assert info["bootID"] == open("/proc/sys/kernel/random/boot_id").read().strip()
    assert info["kernelVersion"] == os.uname().release
    assert info["architecture"] == labels["kubernetes.io/arch"]
    for t in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert condition(n, t)["status"] == "False", t
    assert condition(n, "Ready")["reason"] == "KubeletReady"
    assert st["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0


def test_lease_and_heartbeat_renew(cluster):
    c = cluster
    wait_for(lambda: node_ready(c), "node Ready")
    lease = wait_for(lambda: c.get("lease", NODE, "kube-node-lease"), "the node's Lease")
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    first = lease["spec"]["renewTime"]
    hb = condition(c.get("node", NODE), "Ready")["lastHeartbeatTime"]
    wait_for(lambda: c.get("lease", NODE, "kube-node-lease")["spec"]["renewTime"] != first, "lease renewed")
    wait_for(lambda: condition(c.get("node", NODE), "Ready")["lastHeartbeatTime"] != hb, "node heartbeat")
    # the transition time stays while the node stays Ready
    n = c.get("node", NODE)
    assert condition(n, "Ready")["lastTransitionTime"] <= hb


def test_pod_runs_with_status_and_events(cluster):
    c = cluster
    ns = c.namespace("run")
    c.kubectl("create", "configmap", "greet", "-n", ns, "--from-literal=word=bonjour")
    c.create_pod(ns, "web", [{"name": "app", "image": "bb:latest", "imagePullPolicy": "Never",
                              "command": ["sh", "-c", "echo word=$WORD; exec sleep 1001"],
                              "env": [{"name": "WORD", "valueFrom": {"configMapKeyRef": {"name": "greet",
                                                                                         "key": "word"}}}]}])
    wait_for(lambda: running_1_1(c, ns, "web"), "pod web Running 1/1")
    pod = c.get("pod", "web", ns)
    st = pod["status"]
    assert st["phase"] == "Running"
    assert st["podIP"] and st["podIP"] != "127.0.0.1"
    assert st["hostIP"] == "127.0.0.1"
    assert st["qosClass"] == "BestEffort"
    for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
        assert condition(pod, t)["status"] == "True", t
    cs = st["containerStatuses"][0]
    assert cs["name"] == "app" and cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert "running" in cs["state"] and cs["state"]["running"]["startedAt"]
    assert cs["image"] == "bb:latest"
    # the ConfigMap came through the API (the container printed it)
    logf = os.path.join(c.pod_dir(ns, "web"), "app", "0.log")
    wait_for(lambda: os.path.exists(logf) and "word=bonjour" in open(logf).read(), "the container's output")
    # kubectl logs reaches the agent (the server relays to the Node's kubelet endpoint)
    assert c.kubectl("logs", "web", "-n", ns).strip() == "word=bonjour"
    assert c.kubectl("exec", "web", "-n", ns, "--", "sh", "-c", "echo $WORD from $(hostname)").strip() == \
        "bonjour from web"
    # Events as the kubelet records them
    wait_for(lambda: {"Pulled", "Created", "Started"} <= {e["reason"] for e in events_of(c, ns, "web")},
             "Pulled/Created/Started events")
    for e in events_of(c, ns, "web"):
        assert e["source"]["component"] == "kubelet" and e["source"]["host"] == NODE
        assert e["involvedObject"]["fieldPath"] == "spec.containers{app}"
        assert e["involvedObject"]["uid"] == pod["metadata"]["uid"]
    desc = c.kubectl("describe", "pod", "web", "-n", ns)
    assert "Started container app" in desc and "kubelet" in desc
    # a hostNetwork pod's address is the node's
    c.create_pod(ns, "hostnet", [{"name": "h", "image": "bb:latest", "imagePullPolicy": "Never",
                                  "command": ["sleep", "1008"]}], hostNetwork=True)
    wait_for(lambda: running_1_1(c, ns, "hostnet"), "hostNetwork pod Running")
    assert c.get("pod", "hostnet", ns)["status"]["podIP"] == "127.0.0.1"


def test_crashloop_backoff_and_aggregated_events(cluster):
    c = cluster
    ns = c.namespace("crash")
    c.create_pod(ns, "crash", [{"name": "c", "image": "bb:latest", "imagePullPolicy": "Never",
                                "command": ["sh", "-c", "exit 3"]}])

    def looping():
        f = pod_line(c, ns, "crash")
        return len(f) >= 4 and f[2] == "CrashLoopBackOff" and int(f[3]) >= 2
    wait_for(looping, "CrashLoopBackOff with restarts")
    cs = c.get("pod", "crash", ns)["status"]["containerStatuses"][0]
    assert cs["restartCount"] >= 2
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "Error"

    def backoff_counted():
        evs = [e for e in events_of(c, ns, "crash") if e["reason"] == "BackOff"]
        return evs if len(evs) == 1 and evs[0]["count"] >= 2 else None
    ev = wait_for(backoff_counted, "one BackOff event with count >= 2")[0]
    assert ev["type"] == "Warning" and "Back-off restarting failed container c" in ev["message"]
    assert ev["lastTimestamp"] >= ev["firstTimestamp"]
    started = [e for e in events_of(c, ns, "crash") if e["reason"] == "Started"]
    assert len(started) == 1 and started[0]["count"] >= 2
    assert "Back-off restarting failed container" in c.kubectl("describe", "pod", "crash", "-n", ns)


def test_delete_pod_waits_until_gone(cluster):
    c = cluster
    ns = c.namespace("del")
    c.create_pod(ns, "victim", [{"name": "v", "image": "bb:latest", "imagePullPolicy": "Never",
                                 "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1002 & wait"]}],
                 terminationGracePeriodSeconds=30)
    wait_for(lambda: running_1_1(c, ns, "victim"), "pod victim Running")
    pids = wait_for(lambda: pids_of("sleep 1002"), "the container's process")
    out = c.kubectl("delete", "pod", "victim", "-n", ns)
    assert out.strip() == 'pod "victim" deleted'
    # kubectl returned: the pod is gone from the API and on the node
    assert c.get("pod", "victim", ns) is None
    assert c.pod_dir(ns, "victim") is None
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not pids_of("sleep 1002")
    kills = [e for e in events_of(c, ns, "victim") if e["reason"] == "Killing"]
    assert kills and kills[0]["message"] == "Stopping container v"


def test_agent_restart_keeps_pod(cluster):
    c = cluster
    ns = c.namespace("restart")
    c.create_pod(ns, "steady", [{"name": "s", "image": "bb:latest", "imagePullPolicy": "Never",
                                 "command": ["sleep", "1003"]}])
    c.create_pod(ns, "orphan", [{"name": "o", "image": "bb:latest", "imagePullPolicy": "Never",
                                 "command": ["sleep", "1004"]}])
    wait_for(lambda: running_1_1(c, ns, "steady") and running_1_1(c, ns, "orphan"), "pods Running")
    before = c.get("pod", "steady", ns)["status"]["containerStatuses"][0]
    pids = pids_of("sleep 1003")
    assert len(pids) == 1
    c.stop_agent()
    # while the agent is away the pod is removed from the API for good
    c.kubectl("delete", "pod", "orphan", "-n", ns, "--grace-period=0", "--force")
    assert pids_of("sleep 1004"), "the agent's absence does not stop pods"
    c.start_agent()
    # the new agent kills what the API no longer has ...
    wait_for(lambda: not pids_of("sleep 1004") and c.pod_dir(ns, "orphan") is None, "orphan pod stopped")
    # ... and keeps the rest running, not restarted
    assert pids_of("sleep 1003") == pids
    after = c.get("pod", "steady", ns)["status"]["containerStatuses"][0]
    assert after["restartCount"] == 0
    assert after["state"]["running"]["startedAt"] == before["state"]["running"]["startedAt"]
    assert running_1_1(c, ns, "steady")
    # and still obeys the API (the server itself drops the pod once its 1 s
    # grace is over, so the agent's teardown may finish after kubectl returns)
    c.kubectl("delete", "pod", "steady", "-n", ns, "--grace-period=1")
    wait_for(lambda: not pids_of("sleep 1003") and c.pod_dir(ns, "steady") is None, "steady pod stopped")


def test_agent_idle_rss(cluster):
    c = cluster
    wait_for(lambda: node_ready(c), "node Ready")
    with open(f"/proc/{c.agent.pid}/status") as f:
        rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
    print(f"\nagent (API mode) RSS: {rss} kB")
    assert rss < 32 * 1024


def test_service_account_token_volume(cluster):
    c = cluster
    ns = c.namespace("sa")
    script = ("d=/var/run/secrets/kubernetes.io/serviceaccount; echo ns=$(cat $d/namespace); "
              "echo tok=$(cut -c1-3 $d/token); grep -c 'BEGIN CERTIFICATE' $d/ca.crt; "
              "touch $d/x 2>/dev/null || echo read-only; "
              "while true; do echo tail=$(tail -c 12 $d/token); sleep 1; done")
    c.create_pod(ns, "sa", [{"name": "a", "image": "bb:latest", "imagePullPolicy": "Never",
                             "command": ["sh", "-c", script]}])
    c.create_pod(ns, "nosa", [{"name": "b", "image": "bb:latest", "imagePullPolicy": "Never",
                               "command": ["sh", "-c", "ls /var/run/secrets/kubernetes.io/serviceaccount "
                                           "|| echo no-token; exec sleep 1006"]}],
                 automountServiceAccountToken=False)
    wait_for(lambda: running_1_1(c, ns, "sa") and running_1_1(c, ns, "nosa"), "pods Running")
    logf = os.path.join(c.pod_dir(ns, "sa"), "a", "0.log")
    wait_for(lambda: os.path.exists(logf) and "read-only" in open(logf).read(), "the container's output")
    out = open(logf).read()
    assert "ns=sa" in out and "tok=eyJ" in out, out
    assert " 1\n" in out or "F 1\n" in out, out  # one certificate in ca.crt
    # ca.crt is the cluster's CA and the token authenticates as the ServiceAccount
    vols = os.path.join(c.pod_dir(ns, "sa"), "volumes", "kubernetes.io~projected")
    (vol,) = [v for v in os.listdir(vols) if v.startswith("kube-api-access-")]
    with open(os.path.join(vols, vol, "ca.crt")) as f, open(os.path.join(c.data, "tls", "ca.crt")) as g:
        assert f.read() == g.read()
    with open(os.path.join(vols, vol, "token")) as f:
        token = f.read()
    p = subprocess.run([KUBECTL, "--server", f"https://127.0.0.1:{c.port}", "--certificate-authority",
                        os.path.join(c.data, "tls", "ca.crt"), "--token", token, "auth", "can-i", "list", "nodes"],
                       capture_output=True, text=True, env=dict(os.environ, HOME=c.base, KUBECONFIG="/dev/null"))
    assert p.stdout.strip() == "no" and "Unauthorized" not in p.stderr, (p.stdout, p.stderr)
    p = subprocess.run([KUBECTL, "--server", f"https://127.0.0.1:{c.port}", "--certificate-authority",
                        os.path.join(c.data, "tls", "ca.crt"), "--token", token + "x", "auth", "can-i", "list",
                        "nodes"], capture_output=True, text=True,
                       env=dict(os.environ, HOME=c.base, KUBECONFIG="/dev/null"))
    assert p.returncode != 0 and p.stdout.strip() != "no"
    # the agent (--token-refresh 2s) rewrites the token; the container sees each new one
    def tails():
        return {l.split("tail=", 1)[1] for l in open(logf).read().splitlines() if "tail=" in l}
    wait_for(lambda: len(tails()) >= 2, "a refreshed token inside the container")
    # automountServiceAccountToken: false gets none
    logb = os.path.join(c.pod_dir(ns, "nosa"), "b", "0.log")
    wait_for(lambda: os.path.exists(logb) and "no-token" in open(logb).read(), "no token in the second pod")


def test_kubeconfig_and_static_pods_together(cluster, tmp_path):
    """A second agent from the admin kubeconfig, also running a static pod:
    both sources in one agent; the static pod gets no status writes."""
    c = cluster
    root, run, manifests = tmp_path / "root", tmp_path / "run", tmp_path / "manifests"
    for d in (root, run, manifests):
        d.mkdir()
    node = "agentapi-kc"
    (manifests / "s.json").write_text(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "static"},
        "spec": {"containers": [{"name": "s", "image": "missing:latest", "imagePullPolicy": "Never"}]}}))
    log = open(tmp_path / "agent.log", "w")
    p = subprocess.Popen([BERTH, "--root", root, "--runroot", run, "agent", "--kubeconfig", c.kubeconfig,
                          "--node-name", node, "--node-ip", "127.0.0.9", "--pod-manifest-path", manifests,
                          "--kubelet-port", "0"],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        n = wait_for(lambda: (lambda n: n if n and (condition(n, "Ready") or {}).get("status") == "True" else None)(
            c.get("node", node)), "second node Ready")
        assert {"type": "InternalIP", "address": "127.0.0.9"} in n["status"]["addresses"]
        # the static pod runs through the same agent (ErrImageNeverPull: no image in this root) ...
        def static_status():
            d = [x for x in os.listdir(root / "pods")] if (root / "pods").exists() else []
            if not d:
                return None
            try:
                with open(root / "pods" / d[0] / "status.json") as f:
                    st = json.load(f)
            except (OSError, ValueError):
                return None
            cs = st.get("containerStatuses") or [{}]
            return st if cs[0].get("state", {}).get("waiting", {}).get("reason") == "ErrImageNeverPull" else None
        wait_for(static_status, "static pod reported ErrImageNeverPull")
        # ... and shows in the API server as its mirror pod, with the node's status of it
        mirror = wait_for(lambda: (lambda m: m if m and (m.get("status", {}).get("containerStatuses") or [{}])[0]
                                   .get("state", {}).get("waiting", {}).get("reason") == "ErrImageNeverPull"
                                   else None)(c.get("pod", f"static-{node}", "default")), "the mirror pod")
        assert "kubernetes.io/config.mirror" in mirror["metadata"]["annotations"]
        assert mirror["spec"]["nodeName"] == node
    finally:
        os.unlink(manifests / "s.json")
        wait_for(lambda: not os.listdir(root / "pods"), "static pod stopped")
        wait_for(lambda: c.get("pod", f"static-{node}", "default") is None, "the mirror pod gone")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0
        log.close()
        c.kubectl("delete", "node", node)
        c.kubectl("delete", "lease", node, "-n", "kube-node-lease", "--ignore-not-found")


def test_probe_and_image_events(cluster):
    c = cluster
    ns = c.namespace("probe")
    c.create_pod(ns, "live", [{"name": "l", "image": "bb:latest", "imagePullPolicy": "Never",
                               "command": ["sleep", "1007"],
                               "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1,
                                                 "failureThreshold": 1}}], terminationGracePeriodSeconds=1)
    c.create_pod(ns, "noimg", [{"name": "n", "image": "not-here:1", "imagePullPolicy": "Never"}])

    def reasons(name):
        return {e["reason"]: e for e in events_of(c, ns, name)}
    ev = wait_for(lambda: (lambda r: r if {"Unhealthy", "Killing"} <= set(r) else None)(reasons("live")),
                  "Unhealthy and Killing events")
    assert ev["Unhealthy"]["type"] == "Warning" and ev["Unhealthy"]["message"].startswith("Liveness probe failed")
    assert ev["Killing"]["message"] == "Container l failed liveness probe, will be restarted"
    wait_for(lambda: c.get("pod", "live", ns)["status"]["containerStatuses"][0]["restartCount"] >= 1,
             "restart after the failed liveness probe")
    wait_for(lambda: pod_line(c, ns, "noimg")[2:3] == ["ErrImageNeverPull"], "ErrImageNeverPull shown")
    failed = wait_for(lambda: reasons("noimg").get("Failed"), "Failed event")
    assert failed["type"] == "Warning" and failed["message"].startswith("Error: ")
    assert "not-here:1" in failed["message"]


def test_agent_survives_server_restart(busybox_tar, tmp_path):
    """An agent whose API server goes away and comes back (same data dir and
    port) re-lists and keeps working: its node stays registered and a pod
    created afterwards runs."""
    c = Cluster(busybox_tar)
    try:
        c.start_agent()
        wait_for(lambda: node_ready(c), "node Ready")
        os.kill(c.server.pid, signal.SIGTERM)
        c.server.wait(timeout=30)
        c.server = subprocess.Popen(
            [BERTH, "server", "--data-dir", c.data, "--listen", f"127.0.0.1:{c.port}"],
            stdout=c.server_log, stderr=subprocess.STDOUT)
        wait_for(c.server_ready, "berth server back")
        assert c.agent.poll() is None, "the agent kept running without its server"
        ns = c.namespace("back")
        c.create_pod(ns, "after", [{"name": "a", "image": "bb:latest", "imagePullPolicy": "Never",
                                    "command": ["sleep", "1009"]}])
        wait_for(lambda: running_1_1(c, ns, "after"), "pod created after the restart Running")
        hb = condition(c.get("node", NODE), "Ready")["lastHeartbeatTime"]
        wait_for(lambda: condition(c.get("node", NODE), "Ready")["lastHeartbeatTime"] != hb,
                 "heartbeats to the new server")
    finally:
        problems = c.cleanup()
    assert not problems, problems
