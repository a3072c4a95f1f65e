"""The node agent running static pods: `berth agent --pod-manifest-path`.

Each test has its own root with the busybox image (bb fixture), a manifest
directory and an agent process.  Teardown removes every manifest, waits for
the agent to stop the pods, stops the agent and checks that nothing the pods
had is left: pod directories, pinned namespaces, cgroups, address leases,
host veths, mounts and processes.  Waits poll the status the agent writes
(<root>/pods/<ns>_<name>_<uid>/status.json); they have generous deadlines
but assert states, never durations.
"""
import glob
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import BERTH

WAIT = 60


def wait_for(pred, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class AgentRun:
    def __init__(self, berth, node="testnode"):
        self.b = berth
        self.node = node
        self.manifests = os.path.join(berth.base, "manifests")
        self.ctl = os.path.join(berth.base, "ctl")
        os.makedirs(self.manifests, exist_ok=True)
        os.makedirs(self.ctl, exist_ok=True)
        self.proc = None
        self.seen = {}  # pod name -> uid (for the cleanup checks)

    def start(self):
        self.log = open(os.path.join(self.b.base, "agent.log"), "a")
        self.proc = subprocess.Popen(
            self.b.cmd("agent", "--pod-manifest-path", self.manifests, "--node-name", self.node,
                       "--crash-backoff", "1s", "--file-check-frequency", "1s"),
            stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None

    def put(self, name, manifest):
        tmp = os.path.join(self.manifests, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(manifest if isinstance(manifest, str) else json.dumps(manifest))
        os.rename(tmp, os.path.join(self.manifests, name + ".yaml"))

    def remove(self, name):
        os.unlink(os.path.join(self.manifests, name + ".yaml"))

    def pod_dir(self, name):
        d = glob.glob(os.path.join(self.b.root, "pods", f"default_{name}-{self.node}_*"))
        if d:
            self.seen[name] = d[0].rsplit("_", 1)[1]
        return d[0] if d else None

    def status(self, name):
        d = self.pod_dir(name)
        if not d:
            return None
        try:
            with open(os.path.join(d, "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def ctr(self, name, cname, init=False):
        st = self.status(name) or {}
        for c in st.get("initContainerStatuses" if init else "containerStatuses", []):
            if c["name"] == cname:
                return c
        return None

    def wait_phase(self, name, phase):
        return wait_for(lambda: (self.status(name) or {}).get("phase") == phase and self.status(name),
                        f"pod {name} {phase}")

    def log_text(self, name, cname, n=0):
        d = self.pod_dir(name)
        if not d:
            return ""
        try:
            with open(os.path.join(d, cname, f"{n}.log")) as f:
                return f.read()
        except OSError:
            return ""

    def wait_gone(self, name):
        wait_for(lambda: self.pod_dir(name) is None, f"pod {name} gone")


def pod(name, containers, **spec):
    s = {"containers": containers, "terminationGracePeriodSeconds": 5}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def leftovers(uid):
    found = []
    if glob.glob(f"/sys/fs/cgroup/*/kubepods/pod{uid}") or os.path.exists(f"/sys/fs/cgroup/kubepods/pod{uid}"):
        found.append("cgroup")
    for lease in glob.glob("/var/lib/cni/networks/berth/*"):
        try:
            with open(lease) as f:
                if f.read().split()[0] == uid:
                    found.append("lease " + lease)
        except (OSError, IndexError):
            pass
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    if uid in out:
        found.append("iptables rules")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    if uid in ps:
        found.append("processes")
    return found


@pytest.fixture
def agent(bb):
    a = AgentRun(bb)
    a.start()
    yield a
    for f in os.listdir(a.manifests):
        os.unlink(os.path.join(a.manifests, f))
    if a.proc is None:
        a.start()
    wait_for(lambda: not os.listdir(os.path.join(bb.root, "pods")), "all pods stopped")
    a.stop()
    assert not os.listdir(os.path.join(bb.runroot, "agent")), "pinned namespaces left"
    for name, uid in a.seen.items():
        assert leftovers(uid) == [], f"pod {name} left {leftovers(uid)}"
    assert not [m for m in bb.mounts_under_root()], "mounts left"


def test_agent_help_and_server_needs_token(bb):
    out = bb.out("agent", "--help")
    assert "--pod-manifest-path" in out and "--server" in out
    p = bb.run("agent", "--server", "https://127.0.0.1:6443", check=False)
    assert p.returncode != 0 and "--token" in p.stderr


def test_two_containers_share_network_init_emptydir_env(agent):
    t0 = time.monotonic()
    agent.put("web", pod("web", [
        {"name": "httpd", "image": "bb:latest", "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
         "volumeMounts": [{"name": "www", "mountPath": "/www"}]},
        {"name": "client", "image": "bb:latest",
         "command": ["sh", "-c", "until wget -q -O- http://localhost:8080/index.html; do sleep 0.2; done;"
                     " echo POD=$POD NS=$NS IP=$IP; sleep 3600"],
         "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                 {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}],
        initContainers=[{"name": "init", "image": "bb:latest",
                         "command": ["sh", "-c", "echo hello-from-init > /www/index.html"],
                         "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
        volumes=[{"name": "www", "emptyDir": {}}]))
    st = agent.wait_phase("web", "Running")
    print(f"\nmanifest -> Running: {time.monotonic() - t0:.3f}s")
    ip = st["podIP"]
    assert ip.startswith("10.89.")
    init = st["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"
    assert init["state"]["terminated"]["exitCode"] == 0
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds["Initialized"] == "True"
    text = wait_for(lambda: "POD=" in agent.log_text("web", "client") and agent.log_text("web", "client"),
                    "client output")
    assert "stdout F hello-from-init" in text
    assert f"POD=web-testnode NS=default IP={ip}" in text
    # the pod's IP answers from the host too
    with urllib.request.urlopen(f"http://{ip}:8080/index.html", timeout=10) as r:
        assert r.read() == b"hello-from-init\n"
    wait_for(lambda: all(c["ready"] for c in agent.status("web")["containerStatuses"]), "ready")
    assert {c["type"]: c["status"] for c in agent.status("web")["conditions"]}["Ready"] == "True"


def test_crashloop_backoff_on_failure(agent):
    agent.put("crash", pod("crash", [
        {"name": "fail", "image": "bb:latest", "command": ["sh", "-c", "echo boom; exit 3"]}],
        restartPolicy="OnFailure"))
    seen_backoff = wait_for(lambda: (agent.ctr("crash", "fail") or {}).get("state", {}).get("waiting", {})
                            .get("reason") == "CrashLoopBackOff" and agent.ctr("crash", "fail"),
                            "CrashLoopBackOff")
    assert "back-off 1s restarting failed container=fail pod=crash-testnode_default(" in \
        seen_backoff["state"]["waiting"]["message"]
    last = seen_backoff["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    c = wait_for(lambda: (agent.ctr("crash", "fail") or {}).get("restartCount", 0) >= 3 and agent.ctr("crash", "fail"),
                 "three restarts")
    assert agent.status("crash")["phase"] == "Running"  # OnFailure keeps trying
    assert "boom" in agent.log_text("crash", "fail", 2)


def test_never_and_succeeded(agent):
    agent.put("once", pod("once", [{"name": "ok", "image": "bb:latest", "command": ["true"]}],
                          restartPolicy="Never"))
    st = agent.wait_phase("once", "Succeeded")
    t = st["containerStatuses"][0]["state"]["terminated"]
    assert t["reason"] == "Completed" and t["exitCode"] == 0
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "PodCompleted"


def test_readiness_probe_flips_ready(agent):
    ctl = agent.ctl
    agent.put("rp", pod("rp", [
        {"name": "app", "image": "bb:latest", "command": ["sleep", "3600"],
         "volumeMounts": [{"name": "ctl", "mountPath": "/ctl"}],
         "readinessProbe": {"exec": {"command": ["test", "-e", "/ctl/ready"]},
                            "periodSeconds": 1, "failureThreshold": 1}}],
        volumes=[{"name": "ctl", "hostPath": {"path": ctl, "type": "Directory"}}]))
    wait_for(lambda: (agent.ctr("rp", "app") or {}).get("state", {}).get("running"), "running")
    c = agent.ctr("rp", "app")
    assert c["ready"] is False
    open(os.path.join(ctl, "ready"), "w").close()
    wait_for(lambda: agent.ctr("rp", "app")["ready"], "ready")
    assert {c["type"]: c["status"] for c in agent.status("rp")["conditions"]}["Ready"] == "True"
    os.unlink(os.path.join(ctl, "ready"))
    wait_for(lambda: agent.ctr("rp", "app")["ready"] is False, "unready again")
    cond = {c["type"]: c for c in agent.status("rp")["conditions"]}["Ready"]
    assert cond["status"] == "False" and cond["message"] == "containers with unready status: [app]"
    assert agent.ctr("rp", "app")["restartCount"] == 0


def test_liveness_probe_restarts(agent):
    ctl = agent.ctl
    open(os.path.join(ctl, "alive"), "w").close()
    agent.put("lp", pod("lp", [
        {"name": "app", "image": "bb:latest",
         "command": ["sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.2; done"],
         "volumeMounts": [{"name": "ctl", "mountPath": "/ctl"}],
         "livenessProbe": {"exec": {"command": ["test", "-e", "/ctl/alive"]}, "periodSeconds": 1,
                           "failureThreshold": 2}}],
        volumes=[{"name": "ctl", "hostPath": {"path": ctl}}]))
    wait_for(lambda: (agent.ctr("lp", "app") or {}).get("ready"), "running and ready")
    os.unlink(os.path.join(ctl, "alive"))
    c = wait_for(lambda: (agent.ctr("lp", "app") or {}).get("restartCount", 0) >= 1 and agent.ctr("lp", "app"),
                 "a restart after failed liveness")
    open(os.path.join(ctl, "alive"), "w").close()
    c = wait_for(lambda: (agent.ctr("lp", "app") or {}).get("state", {}).get("running") and agent.ctr("lp", "app"),
                 "running again")
    assert c["lastState"]["terminated"]["exitCode"] == 143  # SIGTERM handled by the trap


def test_tcp_and_http_probes(agent):
    agent.put("hp", pod("hp", [
        {"name": "web", "image": "bb:latest", "command": ["sh", "-c", "mkdir -p /w; echo ok > /w/h; httpd -f -p 8081 -h /w"],
         "ports": [{"name": "http", "containerPort": 8081}],
         "readinessProbe": {"httpGet": {"path": "/h", "port": "http"}, "periodSeconds": 1},
         "livenessProbe": {"tcpSocket": {"port": 8081}, "initialDelaySeconds": 1, "periodSeconds": 1,
                           "failureThreshold": 3}}]))
    wait_for(lambda: (agent.ctr("hp", "web") or {}).get("ready"), "ready through httpGet")
    time.sleep(2.5)  # a few liveness periods: tcpSocket keeps succeeding
    assert agent.ctr("hp", "web")["restartCount"] == 0


def test_graceful_termination_prestop(agent):
    ctl = agent.ctl
    agent.put("term", pod("term", [
        {"name": "app", "image": "bb:latest",
         "command": ["sh", "-c", "trap 'echo term >> /ctl/events; exit 0' TERM; echo started >> /ctl/events;"
                     " while :; do sleep 0.2; done"],
         "volumeMounts": [{"name": "ctl", "mountPath": "/ctl"}],
         "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "echo prestop >> /ctl/events"]}}}}],
        terminationGracePeriodSeconds=30,
        volumes=[{"name": "ctl", "hostPath": {"path": ctl}}]))
    agent.wait_phase("term", "Running")
    wait_for(lambda: os.path.exists(os.path.join(ctl, "events")), "started")
    uid = agent.seen["term"]
    agent.remove("term")
    agent.wait_gone("term")
    with open(os.path.join(ctl, "events")) as f:
        assert f.read().split() == ["started", "prestop", "term"]
    assert leftovers(uid) == []
    assert not os.path.exists(os.path.join(agent.b.runroot, "agent", uid))


def test_agent_restart_adopts_running_pod(agent):
    agent.put("keep", pod("keep", [{"name": "app", "image": "bb:latest", "command": ["sleep", "3600"]}]))
    agent.wait_phase("keep", "Running")
    d = agent.pod_dir("keep")
    with open(os.path.join(d, "app", "state.json")) as f:
        pid = json.load(f)["pid"]
    agent.stop()
    assert os.path.exists(f"/proc/{pid}"), "the container survives the agent"
    agent.start()
    # the new agent reports the same instance as running, not restarted
    wait_for(lambda: agent.proc.poll() is None and os.path.exists(os.path.join(d, "status.json")), "agent up")
    time.sleep(1.5)  # a few ticks of the new agent
    c = agent.ctr("keep", "app")
    assert c["restartCount"] == 0 and c["state"].get("running")
    with open(os.path.join(d, "app", "state.json")) as f:
        assert json.load(f)["pid"] == pid
    assert os.path.exists(f"/proc/{pid}")


def test_agent_idle_rss(agent):
    time.sleep(1)
    with open(f"/proc/{agent.proc.pid}/status") as f:
        rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
    print(f"\nagent idle RSS: {rss} kB")
    assert rss < 32 * 1024


def test_security_context_and_limits(agent):
    agent.put("sec", pod("sec", [
        {"name": "app", "image": "bb:latest",
         "command": ["sh", "-c", "echo uid=$(id -u) gid=$(id -g); touch /x 2>/dev/null || echo rofs;"
                     " cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max;"
                     " sleep 3600"],
         "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
         "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": True,
                             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
        {"name": "nonroot", "image": "bb:latest", "command": ["sleep", "3600"],
         "securityContext": {"runAsNonRoot": True}}]))
    # the three lines are written one after another; wait for the last one
    text = wait_for(lambda: str(64 * 1024 * 1024) in agent.log_text("sec", "app") and agent.log_text("sec", "app"),
                    "app output")
    assert "rofs" in text
    assert "uid=1000 gid=1000" in text
    assert str(64 * 1024 * 1024) in text
    c = wait_for(lambda: (agent.ctr("sec", "nonroot") or {}).get("state", {}).get("waiting", {})
                 .get("reason") == "CreateContainerConfigError" and agent.ctr("sec", "nonroot"), "config error")
    assert c["state"]["waiting"]["message"].startswith("container has runAsNonRoot and image will run as root")
    assert agent.status("sec")["phase"] == "Pending"
    with open(os.path.join(agent.pod_dir("sec"), "app", "state.json")) as f:
        pid = json.load(f)["pid"]
    with open(f"/proc/{pid}/status") as f:
        st = f.read()
    assert "NoNewPrivs:\t1" in st and "CapEff:\t0000000000000000" in st
