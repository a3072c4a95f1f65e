"""Seed 001 end to end: every kubectl step of the walkthrough, run with the
real kubectl against `berth up` (API server, scheduler, controllers and the
node agent on this machine), with busybox-based images built by `berth build`
in place of Docker Hub's:

  nginx:1.15-alpine / 1.16-alpine / 1.17-alpine   busybox httpd serving a
        version page on :80, and an `nginx -v` that prints the version
  busybox:latest                                  the busybox image
  pi:latest                                       prints pi to 2,000 digits
                                                  with busybox bc

The cluster runs with a private root, runroot and data dir, the API on a
free loopback port; everything is stopped by PID and removed at the end.
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
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"

NGINX_DOCKERFILE = """FROM bb:latest
ARG VERSION
RUN mkdir -p /usr/share/nginx/html /usr/sbin && \\
    echo "nginx version: nginx/${VERSION}" > /usr/share/nginx/html/index.html && \\
    printf '#!/bin/sh\\necho "nginx version: nginx/%s" >&2\\n' "${VERSION}" > /usr/sbin/nginx && \\
    chmod 755 /usr/sbin/nginx
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
"""

PI_DOCKERFILE = """FROM bb:latest
COPY pi.sh /usr/bin/pi
CMD ["/usr/bin/pi"]
"""

# pi to 2,000 digits ("3." and 1,999 decimals) with busybox bc (Machin's formula)
PI_SCRIPT = """#!/bin/sh
echo 'scale=2005; 16*a(1/5)-4*a(1/239)' | bc -l | tr -d '\\\\\\n' | cut -c1-2001
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy-nginx
spec:
  replicas: 1
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

REPLICASET = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs-nginx
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.15-alpine
        ports:
        - name: http
          containerPort: 80
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

JOB_PI = """apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata:
      name: pi
    spec:
      containers:
      - name: pi
        image: pi:latest
        imagePullPolicy: IfNotPresent
      restartPolicy: Never
"""

JOB_BUSYBOX = """apiVersion: batch/v1
kind: Job
metadata:
  name: busybox-job
spec:
  completions: 10
  parallelism: 1
  template:
    metadata:
      name: busybox-job-pod
    spec:
      containers:
      - name: busybox
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["echo", "hello"]
      restartPolicy: Never
"""

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: cronjob1
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox
            args:
            - /bin/sh
            - -c
            - date; echo hello kubernetes
            imagePullPolicy: IfNotPresent
          restartPolicy: OnFailure
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=90, every=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"never happened within {timeout}s: {what} (last: {last!r})")


class Cluster:
    """`berth up` with a private root/runroot/data dir."""

    def __init__(self, busybox_tar):
        self.base = tempfile.mkdtemp(prefix="berth-seed001-")
        self.root = os.path.join(self.base, "root")
        self.runroot = os.path.join(self.base, "run")
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.berth("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "bb:latest")
        self.berth("tag", "bb:latest", "busybox:latest")
        self.build_images()
        self.log = open(os.path.join(self.base, "up.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "--root", self.root, "--runroot", self.runroot, "up", "--data-dir", self.data,
             "--listen", f"127.0.0.1:{self.port}", "--no-registry", "--node-name", "seed-node"],
            stdout=self.log, stderr=subprocess.STDOUT)
        until(lambda: os.path.exists(self.kubeconfig) and self.kubectl("get", "nodes", check=False).returncode == 0,
              "the API answers", timeout=60)
        until(lambda: " Ready " in self.kubectl("get", "nodes").stdout, "the node is Ready", timeout=60)

    def berth(self, *args, check=True, timeout=300):
        p = subprocess.run([BERTH, "--root", self.root, "--runroot", self.runroot, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} failed: {p.stderr}")
        return p

    def build_images(self):
        ctx = os.path.join(self.base, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write(NGINX_DOCKERFILE)
        for v, full in (("1.15", "1.15.12"), ("1.16", "1.16.1"), ("1.17", "1.17.10")):
            self.berth("build", "--build-arg", f"VERSION={full}", "-t", f"nginx:{v}-alpine", ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write(PI_DOCKERFILE)
        with open(os.path.join(ctx, "pi.sh"), "w") as f:
            f.write(PI_SCRIPT)
        os.chmod(os.path.join(ctx, "pi.sh"), 0o755)
        self.berth("build", "-t", "pi:latest", ctx)

    def kubectl(self, *args, check=True, input=None, timeout=120):
        # KUBECONFIG, not --kubeconfig: --record writes kubectl's command line
        # into the change cause, and the seed's has no extra flags
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        p = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        return p

    def apply(self, text):
        return self.kubectl("apply", "-f", "-", input=text).stdout

    def rows(self, *args):
        """`kubectl get ...` as a list of dicts keyed by the header."""
        out = self.kubectl("get", *args).stdout.splitlines()
        if not out:
            return []
        head = re.split(r"\s{2,}", out[0].strip())
        return [dict(zip(head, re.split(r"\s{2,}", line.strip()))) for line in out[1:]]

    def pods(self, prefix):
        return [r for r in self.rows("pods", "-o", "wide") if r["NAME"].startswith(prefix)]

    def stop(self):
        # workloads first, then the pods: the agent tears each one down
        for kind in ("deployments", "replicasets", "daemonsets", "jobs", "cronjobs"):
            self.kubectl("delete", kind, "--all", "--wait=false", check=False, timeout=60)
        self.kubectl("delete", "pods", "--all", "--wait=false", check=False, timeout=60)
        try:
            until(lambda: self.kubectl("get", "pods", "-o", "name", check=False).stdout == "", "pods gone",
                  timeout=120)
        except AssertionError:
            pass  # a stuck pod is killed below; the test that left it failed already
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # the agent leaves pods running on purpose (a new agent adopts them):
        # stop what this test started
        for st in subprocess.run(["find", os.path.join(self.root, "pods"), "-name", "state.json"],
                                 capture_output=True, text=True).stdout.split():
            try:
                with open(st) as f:
                    pid = json.load(f).get("pid")
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self.log.close()


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = Cluster(busybox_tar)
    yield c
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


def running(c, prefix, n):
    pods = c.pods(prefix)
    ok = len(pods) == n and all(p["STATUS"] == "Running" and p["READY"] == "1/1" for p in pods)
    return pods if ok else None


def exec_version(c, pod):
    p = c.kubectl("exec", pod, "--", "nginx", "-v", check=False)
    if p.returncode != 0:
        with open(os.path.join(c.base, "up.log"), errors="replace") as f:
            tail = "".join(f.readlines()[-40:])
        raise AssertionError(f"kubectl exec {pod} failed: {p.stderr}\n--- berth up log ---\n{tail}")
    return p.stderr.strip() + p.stdout.strip()


def test_deployment_walkthrough(cluster):
    c = cluster
    assert c.apply(DEPLOYMENT).strip() == "deployment.apps/deploy-nginx created"
    until(lambda: running(c, "deploy-nginx-", 1), "one deploy-nginx pod Running")
    d = c.rows("deployment")[0]
    assert (d["NAME"], d["READY"], d["UP-TO-DATE"], d["AVAILABLE"]) == ("deploy-nginx", "1/1", "1", "1")
    rs = c.rows("replicasets")[0]
    assert re.fullmatch(r"deploy-nginx-[a-z0-9]{8,10}", rs["NAME"])
    assert (rs["DESIRED"], rs["CURRENT"], rs["READY"]) == ("1", "1", "1")
    pod = c.pods("deploy-nginx-")[0]
    assert pod["NAME"].startswith(rs["NAME"] + "-") and pod["NODE"] == "seed-node"
    # the pod's IP serves the page from the host
    with urllib.request.urlopen(f"http://{pod['IP']}/", timeout=10) as r:
        assert r.read().decode().strip() == "nginx version: nginx/1.15.12"

    # a deleted pod is replaced by a new one with a new IP
    assert c.kubectl("delete", "pod", pod["NAME"]).stdout.strip() == f'pod "{pod["NAME"]}" deleted'
    new = until(lambda: [p for p in (running(c, "deploy-nginx-", 1) or []) if p["NAME"] != pod["NAME"]],
                "a replacement pod")[0]
    name = new["NAME"]
    assert "Image:          nginx:1.15-alpine" in c.kubectl("describe", "pod", name).stdout
    assert exec_version(c, name) == "nginx version: nginx/1.15.12"

    # upgrade to 1.16, then 1.17, recorded
    assert "image updated" in c.kubectl("set", "image", "deployment", "deploy-nginx", "nginx=nginx:1.16-alpine",
                                        "--record").stdout
    out = c.kubectl("rollout", "status", "deployment", "deploy-nginx", "--timeout=120s").stdout
    assert 'deployment "deploy-nginx" successfully rolled out' in out
    name = until(lambda: running(c, "deploy-nginx-", 1), "the 1.16 pod")[0]["NAME"]
    assert exec_version(c, name) == "nginx version: nginx/1.16.1"
    c.kubectl("set", "image", "deployment", "deploy-nginx", "nginx=nginx:1.17-alpine", "--record")
    c.kubectl("rollout", "status", "deployment", "deploy-nginx", "--timeout=120s")
    hist = c.kubectl("rollout", "history", "deployment", "deploy-nginx").stdout
    assert re.search(r"^1\s+<none>$", hist, re.M)
    assert re.search(r"^2\s+kubectl set image deployment deploy-nginx nginx=nginx:1.16-alpine --record=true$", hist, re.M)
    assert re.search(r"^3\s+kubectl set image deployment deploy-nginx nginx=nginx:1.17-alpine --record=true$", hist, re.M)
    rev1 = c.kubectl("rollout", "history", "deployment", "deploy-nginx", "--revision=1").stdout
    assert "Image:\tnginx:1.15-alpine" in rev1 and "pod-template-hash=" in rev1

    # undo to revision 1: it comes back as revision 4
    assert "rolled back" in c.kubectl("rollout", "undo", "deployment", "deploy-nginx", "--to-revision=1").stdout
    c.kubectl("rollout", "status", "deployment", "deploy-nginx", "--timeout=120s")
    hist = c.kubectl("rollout", "history", "deployment", "deploy-nginx").stdout
    revs = [l.split()[0] for l in hist.splitlines()[2:] if l.strip()]
    assert revs == ["2", "3", "4"]
    name = until(lambda: running(c, "deploy-nginx-", 1), "the undone pod")[0]["NAME"]
    assert exec_version(c, name) == "nginx version: nginx/1.15.12"

    # scaling: 2, 4, 1, 16, then an update of all 16
    for n in (2, 4, 1, 16):
        c.kubectl("scale", "deployment", "deploy-nginx", f"--replicas={n}")
        until(lambda: running(c, "deploy-nginx-", n), f"{n} pods Running", timeout=120)
    c.kubectl("set", "image", "deployment", "deploy-nginx", "nginx=nginx:1.17-alpine", "--record")
    out = c.kubectl("rollout", "status", "deployment", "deploy-nginx", "--timeout=240s", timeout=300).stdout
    assert 'deployment "deploy-nginx" successfully rolled out' in out
    d = c.rows("deployment")[0]
    assert (d["READY"], d["UP-TO-DATE"], d["AVAILABLE"]) == ("16/16", "16", "16")

    # deleting the deployment deletes its pods
    c.kubectl("delete", "deployment", "deploy-nginx")
    until(lambda: not c.pods("deploy-nginx-"), "the deployment's pods gone", timeout=120)


def test_replicaset_walkthrough(cluster):
    c = cluster
    assert c.apply(REPLICASET).strip() == "replicaset.apps/rs-nginx created"
    until(lambda: running(c, "rs-nginx-", 2), "two rs-nginx pods Running")
    rs = [r for r in c.rows("rs") if r["NAME"] == "rs-nginx"][0]
    assert (rs["DESIRED"], rs["CURRENT"], rs["READY"]) == ("2", "2", "2")
    assert all(re.fullmatch(r"rs-nginx-[a-z0-9]{5}", p["NAME"]) for p in c.pods("rs-nginx-"))
    p = c.kubectl("get", "deployment")
    assert p.stdout == "" and "No resources found in default namespace." in p.stderr
    c.kubectl("delete", "rs", "rs-nginx")
    until(lambda: not c.pods("rs-nginx-"), "rs pods gone", timeout=120)


def test_daemonset_walkthrough(cluster):
    c = cluster
    assert c.apply(DAEMONSET).strip() == "daemonset.apps/daemonset-nginx created"
    until(lambda: running(c, "daemonset-nginx-", 1), "one daemon pod Running")
    ds = c.rows("ds")[0]
    assert (ds["DESIRED"], ds["CURRENT"], ds["READY"], ds["UP-TO-DATE"], ds["AVAILABLE"],
            ds["NODE SELECTOR"]) == ("1", "1", "1", "1", "1", "<none>")
    c.kubectl("set", "image", "daemonset", "daemonset-nginx", "c1=nginx:1.17-alpine", "--record")
    c.kubectl("rollout", "status", "daemonset", "daemonset-nginx", "--timeout=120s")
    pod = until(lambda: running(c, "daemonset-nginx-", 1), "the updated daemon pod")[0]["NAME"]
    assert re.search(r"Image:\s+nginx:1.17-alpine", c.kubectl("describe", "pod", pod).stdout)
    c.kubectl("delete", "ds", "daemonset-nginx")
    until(lambda: not c.pods("daemonset-nginx-"), "daemon pods gone", timeout=120)


def test_jobs_walkthrough(cluster):
    c = cluster
    assert c.apply(JOB_PI).strip() == "job.batch/pi created"
    until(lambda: [j for j in c.rows("jobs") if j["NAME"] == "pi" and j["COMPLETIONS"] == "1/1"], "pi completes",
          timeout=180)
    pod = [p for p in c.pods("pi-")][0]
    assert pod["STATUS"] == "Completed" and pod["READY"] == "0/1"
    digits = c.kubectl("logs", pod["NAME"]).stdout.strip()
    assert digits.startswith("3.14159265358979323846264338327950288419716939937510") and len(digits) == 2001

    assert c.apply(JOB_BUSYBOX).strip() == "job.batch/busybox-job created"
    job = until(lambda: [j for j in c.rows("job") if j["NAME"] == "busybox-job" and j["COMPLETIONS"] == "10/10"],
                "10/10 completions", timeout=240)[0]
    assert re.fullmatch(r"\d+s", job["DURATION"])
    pods = c.pods("busybox-job-")
    assert len(pods) == 10 and all(p["STATUS"] == "Completed" for p in pods)
    assert c.kubectl("logs", pods[0]["NAME"]).stdout == "hello\n"


def test_cronjob_walkthrough(cluster):
    c = cluster
    assert c.apply(CRONJOB).strip() == "cronjob.batch/cronjob1 created"
    cj = c.rows("cronjob")[0]
    assert (cj["NAME"], cj["SCHEDULE"], cj["SUSPEND"]) == ("cronjob1", "* * * * *", "False")
    pod = until(lambda: [p for p in c.pods("cronjob1-") if p["STATUS"] == "Completed"], "a cron pod completes",
                timeout=150)[0]
    minutes = int(pod["NAME"].split("-")[1])
    assert abs(minutes * 60 - time.time()) < 300  # named after its scheduled minute
    assert "hello kubernetes" in c.kubectl("logs", pod["NAME"]).stdout
    assert c.rows("cronjob")[0]["LAST SCHEDULE"] != "<none>"
    c.kubectl("delete", "cronjob", "cronjob1")
