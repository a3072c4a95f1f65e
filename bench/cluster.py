#!/usr/bin/python3
"""bench/cluster.py - cluster scenarios timed from outside (bench/cluster.sh).

  up BERTH BASE          issue 6: one node (`berth up`, private root/runroot/
                         data dir, free ports): RSS and PSS of berth's own
                         processes idle; 100 busybox `sleep 3600` pods in one
                         `kubectl apply` -> all Running; RSS/PSS with them;
                         delete -> all gone.  Then issue 7's rolling update:
                         a 100-replica Deployment (busybox httpd, readiness
                         probe) updated, until the rollout is complete.
  mem BERTH BASE         the memory part of `up` alone: idle, then 100 pods
                         Running and 10 s settled, PSS per role (and each
                         role's private PSS: heap, malloc arenas, stacks);
                         no rollout.
  rs BERTH BASE          issue 7: `berth server` only, 10 Ready Node objects
                         without agents; a ReplicaSet scaled 0 -> 500 -> 0:
                         time until the controller has created all pods, then
                         until they are all gone (grace 0).

Every line printed is "name value unit target".  State is polled through
the API with the admin token (every 50 ms) rather than with kubectl, so the
poller costs little CPU on a small machine.  Every process started here is
stopped by PID; pods' containers left by a failure are killed by PID and the
proxy's iptables chains removed.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

KUBECTL = "/usr/bin/kubectl"


def free_port(host="127.0.0.1"):
    while True:
        with socket.socket() as t:
            t.bind((host, 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((host, port))
                except OSError:
                    continue
                return port


def node_ip():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("8.8.8.8", 53))
        return s.getsockname()[0]


def until(fn, what, timeout=300, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise SystemExit(f"cluster bench: never happened within {timeout}s: {what}")


def report(name, value, unit, target=""):
    print(f"{name} {value} {unit} {target}".rstrip(), flush=True)


class Api:
    def __init__(self, data, port):
        with open(os.path.join(data, "tokens")) as f:
            self.token = f.readline().split(",")[0]
        self.ctx = ssl.create_default_context(cafile=os.path.join(data, "tls", "ca.crt"))
        self.port = port
        self.kubeconfig = os.path.join(data, "kubeconfig.yaml")
        self.c = None

    def call(self, method, path, body=None, ctype="application/json"):
        for attempt in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=120)
                h = {"Authorization": "Bearer " + self.token, "Content-Type": ctype}
                self.c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
                r = self.c.getresponse()
                data = r.read()
                if r.status >= 300:
                    raise SystemExit(f"{method} {path}: {r.status} {data[:300]!r}")
                return json.loads(data) if data else None
            except (ConnectionError, http.client.HTTPException, OSError):
                self.c = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def pods(self, ns):
        return self.call("GET", f"/api/v1/namespaces/{ns}/pods")["items"]

    def kubectl(self, *args, input=None):
        p = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], input=input, capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)}: {p.stderr}")
        return p.stdout


def wait_api(data, port, proc, timeout=60):
    def ready():
        if proc.poll() is not None:
            raise SystemExit(f"cluster bench: {proc.args[3:5]} exited with {proc.returncode}")
        if not os.path.exists(os.path.join(data, "kubeconfig.yaml")):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    until(ready, "the API answers", timeout)
    return Api(data, port)


def descendants(pid):
    """pid and every process below it."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def anon_pss(pid):
    """PSS (kB) of a process's private memory: heap, stacks and anonymous
    mappings (malloc arenas, thread stacks) - what its own data costs, not
    the libraries it shares."""
    total, anon = 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                anon = len(head) == 5 or head[5] in ("[heap]", "[stack]")
            elif anon and head[0] == "Pss:":
                total += int(head[1])
    return total


def berth_memory(up_pid, berth):
    """(processes, RSS kB, PSS kB, shims, shim RSS kB) of berth's own
    processes under up_pid: those running the berth binary (server, agent,
    registry, the per-container shims), not the pods' processes."""
    exe = os.path.realpath(berth)
    n = rss = pss = shims = shim_rss = shim_pss = 0
    agent = None
    roles = {}
    procs = []
    for p in descendants(up_pid):
        try:
            if os.path.realpath(f"/proc/{p}/exe") != exe:
                continue
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{p}/status") as f:
                st = {l.split(":")[0]: l.split()[1] for l in f if l.startswith(("VmRSS:", "Threads:"))}
            r, nth = int(st["VmRSS"]), int(st["Threads"])
            with open(f"/proc/{p}/smaps_rollup") as f:
                s = next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
        procs.append((p, argv, r, s, nth))
        if b"agent" in argv:
            agent = agent or p
    for p, argv, r, s, nth in procs:
        n += 1
        rss += r
        pss += s
        # the agent's shim server is `berth shim`, a child of the agent; the
        # shims are its forks (same argv); older agents forked shims themselves
        with open(f"/proc/{p}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        server = b"shim" in argv and ppid == agent
        if server:
            roles["shim-server"] = (r, s, nth, None)
        elif (b"shim" in argv and ppid != agent) or (agent and ppid == agent):
            shims += 1
            shim_rss += r
            shim_pss += s
        else:
            role = next((a.decode() for a in argv if a in (b"up", b"server", b"agent", b"registry")), "?")
            try:
                anon = anon_pss(p)
            except OSError:
                anon = 0
            roles[role] = (r, s, nth, anon)
    return n, rss, pss, shims, shim_rss, shim_pss, roles


def report_memory(label, up_pid, berth, target="", samples=1):
    """One line per number; with several samples (1 s apart) the one whose
    total PSS is the median, so a reading taken just before a process trims
    its heap does not decide the result alone."""
    taken = []
    for i in range(samples):
        if i:
            time.sleep(1)
        taken.append(berth_memory(up_pid, berth))
    taken.sort(key=lambda m: m[2])
    n, rss, pss, shims, shim_rss, shim_pss, roles = taken[len(taken) // 2]
    if samples > 1:
        report(f"up-{label}-pss-min/max-of-{samples}", f"{taken[0][2] / 1024:.1f}/{taken[-1][2] / 1024:.1f}", "MB")
    report(f"up-{label}-processes", n, "")
    report(f"up-{label}-rss", f"{rss / 1024:.1f}", "MB", target)
    report(f"up-{label}-pss", f"{pss / 1024:.1f}", "MB")
    for role, (r, s, nth, anon) in sorted(roles.items()):
        report(f"up-{label}-{role}-rss/pss", f"{r / 1024:.1f}/{s / 1024:.1f}", "MB")
        if anon is not None:
            report(f"up-{label}-{role}-private-pss", f"{anon / 1024:.1f}", "MB", "(heap, arenas, stacks)")
        report(f"up-{label}-{role}-threads", nth, "")
    if shims:
        report(f"up-{label}-shims", shims, "")
        report(f"up-{label}-shim-rss/pss-each", f"{shim_rss / shims / 1024:.2f}/{shim_pss / shims / 1024:.2f}", "MB")
        report(f"up-{label}-rss/pss-without-shims", f"{(rss - shim_rss) / 1024:.1f}/{(pss - shim_pss) / 1024:.1f}",
               "MB")


def pod_manifest(i):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"sleep-{i:03d}", "labels": {"app": "sleep"}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "c", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "3600"]}]}}


def deployment(n):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": n, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {
                "terminationGracePeriodSeconds": 0, "containers": [{
                    "name": "httpd", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                    "command": ["httpd", "-f", "-p", "80", "-h", "/etc"],
                    "env": [{"name": "VERSION", "value": "1"}],
                    "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 1}}]}}}}


def rollout_done(api, gen):
    d = api.call("GET", "/apis/apps/v1/namespaces/default/deployments/web")
    s, want = d.get("status", {}), d["spec"]["replicas"]
    return (s.get("observedGeneration", 0) >= gen and s.get("updatedReplicas") == want
            and s.get("availableReplicas") == want and s.get("replicas") == want)


def agent_drained(root, run):
    """The agent has torn every pod down (pod dirs and namespace pins gone):
    the API forgets a pod with grace 0 before the agent is done with it."""
    def empty(d):
        return not os.path.isdir(d) or not os.listdir(d)
    return empty(os.path.join(root, "pods")) and empty(os.path.join(run, "agent"))


def scenario_up(berth, base, mem_only=False):
    root, run, data = (os.path.join(base, x) for x in ("root", "run", "data"))
    bb = os.path.join(base, "bb.tar")
    subprocess.run([berth, "--root", root, "--runroot", run, "import", "--change", 'CMD ["/bin/sh"]', bb,
                    "busybox:latest"], check=True, capture_output=True)
    port = free_port()
    ip = node_ip()
    log = open(os.path.join(base, "up.log"), "ab")
    proc = subprocess.Popen([berth, "--root", root, "--runroot", run, "up", "--data-dir", data, "--listen",
                             f"127.0.0.1:{port}", "--registry-listen", f"127.0.0.1:{free_port()}",
                             "--dns-listen", f"{ip}:{free_port(ip)}", "--node-name", "bench-node"],
                            stdout=log, stderr=subprocess.STDOUT)
    api = None
    try:
        api = wait_api(data, port, proc)
        until(lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in
                          (api.call("GET", "/api/v1/nodes/bench-node") if any(
                              n["metadata"]["name"] == "bench-node" for n in api.call("GET", "/api/v1/nodes")["items"])
                           else {}).get("status", {}).get("conditions", [])), "node Ready", 60)
        time.sleep(3)  # idle: the server, registry and `up` trim after ~1 s without requests
        report_memory("idle-0-pods", proc.pid, berth, samples=3)

        manifests = json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod_manifest(i) for i in range(100)]})
        t0 = time.monotonic()
        api.kubectl("apply", "-f", "-", input=manifests)
        until(lambda: sum(p.get("status", {}).get("phase") == "Running" for p in api.pods("default")) == 100,
              "100 pods Running", 600)
        report("up-100-pods-running", f"{time.monotonic() - t0:.2f}", "s", "<= 10 s")
        time.sleep(10 if mem_only else 5)  # let the shims and the agent settle (the shims trim after starting)
        report_memory("100-pods", proc.pid, berth, "<= 40 MB", samples=5)
        if mem_only:
            return
        t0 = time.monotonic()
        api.kubectl("delete", "pods", "-l", "app=sleep", "--wait=false")
        until(lambda: not api.pods("default"), "100 pods gone", 600)
        report("up-100-pods-gone", f"{time.monotonic() - t0:.2f}", "s")

        # issue 7: rolling update of a 100-replica Deployment on one node
        api.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment(100))
        until(lambda: rollout_done(api, 1), "100 replicas available", 600)
        t0 = time.monotonic()
        d = api.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web",
                     {"spec": {"template": {"spec": {"containers": [{"name": "httpd", "env": [
                         {"name": "VERSION", "value": "2"}]}]}}}}, "application/strategic-merge-patch+json")
        until(lambda: rollout_done(api, d["metadata"]["generation"]), "the rollout complete", 900)
        report("up-rolling-update-100", f"{time.monotonic() - t0:.2f}", "s", "<= 30 s")
        api.call("DELETE", "/apis/apps/v1/namespaces/default/deployments/web")
        until(lambda: not api.pods("default"), "the deployment's pods gone", 600)
    finally:
        if api:
            try:
                api.kubectl("delete", "deployments,pods", "--all", "--wait=false")
                until(lambda: not api.pods("default"), "pods gone", 120)
                until(lambda: agent_drained(root, run), "the agent tore the pods down", 120)
            except (SystemExit, Exception):
                pass
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        for dirpath, _, files in os.walk(os.path.join(root, "pods")):
            if "state.json" in files:
                try:
                    with open(os.path.join(dirpath, "state.json")) as f:
                        pid = json.load(f).get("pid")
                    if pid:
                        os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        subprocess.run([berth, "proxy", "--cleanup"], capture_output=True)
        with open("/proc/self/mountinfo") as f:  # pins of pods torn down halfway
            for mp in sorted({l.split()[4] for l in f if l.split()[4].startswith(base + "/")}, reverse=True):
                subprocess.run(["umount", "-l", mp], capture_output=True)


def scenario_rs(berth, base):
    data = os.path.join(base, "rs-data")
    port = free_port()
    log = open(os.path.join(base, "server.log"), "ab")
    proc = subprocess.Popen([berth, "server", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        api = wait_api(data, port, proc)
        res = {"cpu": "32", "memory": "128Gi", "pods": "110"}
        for i in range(10):
            name = f"node-{i}"
            api.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
                "name": name, "labels": {"kubernetes.io/hostname": name}}})
            api.call("PATCH", f"/api/v1/nodes/{name}/status", {"status": {
                "capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True"}]}},
                "application/merge-patch+json")
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"}, "spec": {
            "replicas": 0, "selector": {"matchLabels": {"app": "rs"}}, "template": {
                "metadata": {"labels": {"app": "rs"}}, "spec": {"terminationGracePeriodSeconds": 0,
                                                                "containers": [{"name": "c", "image": "busybox"}]}}}}
        api.call("POST", "/apis/apps/v1/namespaces/default/replicasets", rs)
        scale = "/apis/apps/v1/namespaces/default/replicasets/rs/scale"
        t0 = time.monotonic()
        api.call("PATCH", scale, {"spec": {"replicas": 500}}, "application/merge-patch+json")
        until(lambda: len(api.pods("default")) == 500, "500 pods created", 300)
        report("rs-scale-0-to-500-created", f"{time.monotonic() - t0:.2f}", "s", "<= 1 s")
        until(lambda: all(p["spec"].get("nodeName") for p in api.pods("default")), "500 pods bound", 300)
        report("rs-scale-0-to-500-bound", f"{time.monotonic() - t0:.2f}", "s")
        nodes = {p["spec"]["nodeName"] for p in api.pods("default")}
        report("rs-nodes-used", len(nodes), "")
        t0 = time.monotonic()
        api.call("PATCH", scale, {"spec": {"replicas": 0}}, "application/merge-patch+json")
        until(lambda: all(p["metadata"].get("deletionTimestamp") for p in api.pods("default")),
              "500 pods deleted by the controller", 300)
        report("rs-scale-500-to-0-deleted", f"{time.monotonic() - t0:.2f}", "s", "(every pod terminating or gone)")
        until(lambda: not api.pods("default"), "500 pods gone", 300)
        report("rs-scale-500-to-0-gone", f"{time.monotonic() - t0:.2f}", "s", "<= 1 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("up", "mem", "rs"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "mem":
        scenario_up(sys.argv[2], sys.argv[3], mem_only=True)
    else:
        {"up": scenario_up, "rs": scenario_rs}[sys.argv[1]](sys.argv[2], sys.argv[3])
