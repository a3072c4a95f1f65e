"""The cluster API server driven by the real kubectl.

Each test module run starts `berth server` on 127.0.0.1 with a free port and
a temporary data dir, points KUBECONFIG at the kubeconfig it wrote, and stops
it by PID at teardown.  Every kubectl found (/usr/bin/kubectl and the
kubectl.1.27 ... kubectl.1.33 of the Google Cloud SDK) runs the user flow of
seed 001: apply, get (wide/yaml/jsonpath), label, scale, set image, delete.
"""
import glob
import base64
import json
import os
import selectors
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

KUBECTLS = ["/usr/bin/kubectl"] + sorted(
    glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.[0-9]*"),
    key=lambda p: tuple(int(x) for x in p.rsplit("kubectl.", 1)[1].split(".")))

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy-nginx
  labels: {app: nginx}
spec:
  replicas: %(replicas)d
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.15-alpine
        ports:
        - containerPort: 80
        env:
        - {name: MODE, value: "%(mode)s"}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: nginx}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="berth-api-")
        self.port = free_port()
        self.proc = None
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")

    def start(self):
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise AssertionError("berth server exited: " + open(self.log.name).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if os.path.exists(self.kubeconfig):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("berth server did not start listening")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        self.log.close()

    def kubectl(self, *args, check=True, kubectl="/usr/bin/kubectl", input=None):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)
        p = subprocess.run([kubectl] + list(args), capture_output=True, text=True, env=env,
                           input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def test_server_help():
    p = subprocess.run([BERTH, "server", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--data-dir" in p.stdout and "--listen" in p.stdout
    for cmd in ("kubeconfig", "token"):
        p = subprocess.run([BERTH, cmd, "--help"], capture_output=True, text=True)
        assert p.returncode == 0 and "--data-dir" in p.stdout


def test_kubeconfig_command(server):
    p = subprocess.run([BERTH, "kubeconfig", "--data-dir", server.data], capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stdout == open(server.kubeconfig).read()
    assert f"server: https://127.0.0.1:{server.port}" in p.stdout
    assert "certificate-authority-data:" in p.stdout


def test_version_and_discovery(server):
    out = server.kubectl("version").stdout
    assert "Server Version: v1.31" in out
    res = server.kubectl("api-resources").stdout
    rows = {line.split()[0]: line for line in res.splitlines()[1:]}
    for name in ("pods", "services", "configmaps", "secrets", "namespaces", "deployments", "replicasets",
                 "serviceaccounts", "jobs", "cronjobs", "customresourcedefinitions"):
        assert name in rows, name
    assert "apps/v1" in rows["deployments"] and "deploy" in rows["deployments"]
    assert "false" in rows["namespaces"].split()
    health = server.kubectl("get", "--raw", "/healthz").stdout
    assert health == "ok"


def test_unauthenticated_is_401(server):
    env = dict(os.environ, HOME=server.data)
    p = subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{server.port}",
                        "--insecure-skip-tls-verify", "--token", "wrong", "get", "pods"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0
    assert "Unauthorized" in p.stderr


@pytest.mark.parametrize("kubectl", KUBECTLS, ids=[os.path.basename(k) for k in KUBECTLS])
def test_user_flow(server, kubectl):
    ns = "flow-" + os.path.basename(kubectl).replace(".", "-")
    k = lambda *a, **kw: server.kubectl(*a, kubectl=kubectl, **kw)
    assert k("create", "namespace", ns).stdout.strip() == f"namespace/{ns} created"
    out = k("apply", "-n", ns, "-f", "-", input=MANIFEST % {"replicas": 3, "mode": "a"}).stdout
    assert "deployment.apps/deploy-nginx created" in out
    assert "service/web created" in out and "configmap/settings created" in out
    again = k("apply", "-n", ns, "-f", "-", input=MANIFEST % {"replicas": 3, "mode": "a"}).stdout
    assert "deployment.apps/deploy-nginx unchanged" in again
    changed = k("apply", "-n", ns, "-f", "-", input=MANIFEST % {"replicas": 2, "mode": "b"}).stdout
    assert "deployment.apps/deploy-nginx configured" in changed

    wide = k("get", "-n", ns, "deploy,svc,cm", "-o", "wide").stdout
    assert "CONTAINERS" in wide and "IMAGES" in wide and "SELECTOR" in wide
    dep_row = [l for l in wide.splitlines() if l.startswith("deployment.apps/deploy-nginx")][0].split()
    assert dep_row[1] == "0/2" and "nginx:1.15-alpine" in dep_row and "app=nginx" in dep_row
    svc_row = [l for l in wide.splitlines() if l.startswith("service/web")][0].split()
    assert svc_row[1] == "ClusterIP" and svc_row[2].startswith("10.43.") and svc_row[4] == "80/TCP"

    dep = json.loads(k("get", "-n", ns, "deployment", "deploy-nginx", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "b"}]
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]

    yaml_out = k("get", "-n", ns, "cm", "settings", "-o", "yaml").stdout
    assert "greeting: hello" in yaml_out and "resourceVersion:" in yaml_out and "uid:" in yaml_out
    jp = k("get", "-n", ns, "svc", "web", "-o", "jsonpath={.spec.ports[0].port} {.spec.type}").stdout
    assert jp == "80 ClusterIP"

    assert "labeled" in k("label", "-n", ns, "deployment", "deploy-nginx", "tier=web").stdout
    assert "scaled" in k("scale", "-n", ns, "deployment", "deploy-nginx", "--replicas=4").stdout
    assert "image updated" in k("set", "image", "-n", ns, "deployment/deploy-nginx",
                                "nginx=nginx:1.16-alpine").stdout
    got = k("get", "-n", ns, "deployment", "deploy-nginx", "-o",
            "jsonpath={.metadata.labels.tier} {.spec.replicas} {.spec.template.spec.containers[0].image}").stdout
    assert got == "web 4 nginx:1.16-alpine"
    names = k("get", "-n", ns, "deploy", "-l", "tier=web", "-o", "name").stdout.split()
    assert names == ["deployment.apps/deploy-nginx"]

    out = k("delete", "-n", ns, "-f", "-", input=MANIFEST % {"replicas": 2, "mode": "b"}).stdout
    assert 'deployment.apps "deploy-nginx" deleted' in out
    gone = k("get", "-n", ns, "deployment", "deploy-nginx", check=False)
    assert gone.returncode != 0
    assert 'Error from server (NotFound): deployments.apps "deploy-nginx" not found' in gone.stderr
    assert f'namespace "{ns}" deleted' in k("delete", "namespace", ns).stdout
    assert k("get", "namespace", ns, check=False).returncode != 0


def test_error_texts(server):
    k = server.kubectl
    k("create", "namespace", "errs")
    p = k("create", "namespace", "errs", check=False)
    assert p.returncode != 0
    assert 'Error from server (AlreadyExists): namespaces "errs" already exists' in p.stderr
    p = k("get", "-n", "errs", "configmap", "absent", check=False)
    assert 'Error from server (NotFound): configmaps "absent" not found' in p.stderr
    bad = MANIFEST.split("---")[0].replace("replicas: %(replicas)d", "replicas: -1").replace("%(mode)s", "x")
    p = k("apply", "-n", "errs", "-f", "-", input=bad, check=False)
    assert p.returncode != 0
    assert 'The Deployment "deploy-nginx" is invalid: spec.replicas: Invalid value: -1: ' \
           'must be greater than or equal to 0' in p.stderr
    p = k("create", "-n", "errs", "configmap", "Bad_Name", check=False)
    assert 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in p.stderr
    p = k("create", "-n", "no-such-ns", "configmap", "x", check=False)
    assert 'namespaces "no-such-ns" not found' in p.stderr
    p = k("get", "cm", "-n", "errs", "-l", "a in (b", check=False)
    assert p.returncode != 0 and "BadRequest" in p.stderr
    # a stale resourceVersion on replace is a conflict
    k("create", "-n", "errs", "configmap", "cas", "--from-literal=a=1")
    cm = json.loads(k("get", "-n", "errs", "cm", "cas", "-o", "json").stdout)
    k("patch", "-n", "errs", "cm", "cas", "-p", '{"data":{"a":"2"}}')
    cm["data"]["a"] = "3"
    p = k("replace", "-f", "-", input=json.dumps(cm), check=False)
    assert p.returncode != 0
    assert 'Operation cannot be fulfilled on configmaps "cas": the object has been modified' in p.stderr
    assert k("get", "-n", "errs", "cm", "cas", "-o", "jsonpath={.data.a}").stdout == "2"
    # a uid in a patch is a precondition: another uid fails and changes nothing, the same uid applies
    uid = cm["metadata"]["uid"]
    p = k("patch", "-n", "errs", "cm", "cas", "-p", '{"metadata":{"uid":"0000-other"},"data":{"a":"4"}}', check=False)
    assert p.returncode != 0
    assert (f'Operation cannot be fulfilled on configmaps "cas": Precondition failed: UID in precondition: '
            f'0000-other, UID in object meta: {uid}') in p.stderr
    assert k("get", "-n", "errs", "cm", "cas", "-o", "jsonpath={.data.a}").stdout == "2"
    k("patch", "-n", "errs", "cm", "cas", "-p", json.dumps({"metadata": {"uid": uid}, "data": {"a": "5"}}))
    assert k("get", "-n", "errs", "cm", "cas", "-o", "jsonpath={.data.a}").stdout == "5"
    k("delete", "namespace", "errs")


def test_secret_string_data_is_merged_into_data(server):
    k = server.kubectl
    k("create", "namespace", "sd")
    sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "sd"},
           "data": {"keep": base64.b64encode(b"old").decode(), "over": base64.b64encode(b"x").decode()},
           "stringData": {"over": "plain text", "new": "caf\u00e9"}}
    k("create", "-f", "-", input=json.dumps(sec))
    got = json.loads(k("get", "secret", "s", "-n", "sd", "-o", "json").stdout)
    dec = {key: base64.b64decode(v).decode() for key, v in got["data"].items()}
    assert dec == {"keep": "old", "over": "plain text", "new": "caf\u00e9"}, "stringData wins over data"
    assert "stringData" not in got, "stringData is write-only"
    # a patch of stringData changes data too (kubectl patch secret -p '{"stringData":...}')
    k("patch", "secret", "s", "-n", "sd", "-p", '{"stringData":{"keep":"new value"}}')
    got = json.loads(k("get", "secret", "s", "-n", "sd", "-o", "json").stdout)
    assert base64.b64decode(got["data"]["keep"]).decode() == "new value" and "stringData" not in got
    p = k("create", "-n", "sd", "-f", "-", check=False, input=json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad"}, "stringData": {"no/slash": "v"}}))
    assert p.returncode != 0 and 'Secret "bad" is invalid: data[no/slash]: Invalid value: "no/slash"' in p.stderr
    k("delete", "namespace", "sd")


def read_until(proc, needle, limit=60):
    """Lines from proc.stdout until one contains needle (None at EOF/limit)."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + limit
    buf = ""
    while time.monotonic() < deadline:
        if not sel.select(timeout=1):
            continue
        chunk = os.read(proc.stdout.fileno(), 4096).decode()
        if not chunk:
            return None
        buf += chunk
        if needle in buf:
            return buf
    return None


def test_watch_receives_events(server):
    k = server.kubectl
    k("create", "namespace", "watched")
    env = dict(os.environ, KUBECONFIG=server.kubeconfig, HOME=server.data)
    w = subprocess.Popen(["/usr/bin/kubectl", "get", "configmaps", "-n", "watched", "-w",
                          "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        # the initial list prints the namespace's (empty) state; then the event arrives
        k("create", "-n", "watched", "configmap", "ping", "--from-literal=a=b")
        got = read_until(w, "ping")
        assert got is not None and "ADDED" in got
        k("delete", "-n", "watched", "configmap", "ping")
        got = read_until(w, "DELETED")
        assert got is not None
    finally:
        w.kill()
        w.wait()
    k("delete", "namespace", "watched")


def test_pagination_and_selectors(server):
    k = server.kubectl
    k("create", "namespace", "pages")
    for i in range(7):
        k("create", "-n", "pages", "configmap", f"cm{i}", f"--from-literal=i={i}")
        k("label", "-n", "pages", "configmap", f"cm{i}", f"parity={'even' if i % 2 == 0 else 'odd'}")
    names = k("get", "-n", "pages", "cm", "--chunk-size=2", "-o", "name").stdout.split()
    assert [n for n in names if n.startswith("configmap/cm")] == [f"configmap/cm{i}" for i in range(7)]
    odd = k("get", "-n", "pages", "cm", "-l", "parity in (odd)", "-o", "name").stdout.split()
    assert odd == ["configmap/cm1", "configmap/cm3", "configmap/cm5"]
    notodd = k("get", "-n", "pages", "cm", "-l", "parity,parity!=odd", "-o", "name").stdout.split()
    assert notodd == ["configmap/cm0", "configmap/cm2", "configmap/cm4", "configmap/cm6"]
    one = k("get", "-n", "pages", "cm", "--field-selector", "metadata.name=cm3", "-o", "name").stdout.split()
    assert one == ["configmap/cm3"]
    k("delete", "namespace", "pages")


def test_seed_003_registry_secret_and_admin_token(server):
    k = server.kubectl
    k("create", "secret", "docker-registry", "my-secret", "--docker-server=reg.example",
      "--docker-username=u", "--docker-password=p")
    assert k("get", "secret", "my-secret", "-o", "jsonpath={.type}").stdout == "kubernetes.io/dockerconfigjson"
    k("patch", "serviceaccount", "default", "-p", '{"imagePullSecrets":[{"name":"my-secret"}]}')
    assert k("get", "sa", "default", "-o", "jsonpath={.imagePullSecrets[0].name}").stdout == "my-secret"
    k("create", "serviceaccount", "dashboard-admin", "-n", "kube-system")
    k("create", "clusterrolebinding", "dashboard-cluster-admin", "--clusterrole=cluster-admin",
      "--serviceaccount=kube-system:dashboard-admin")
    token = k("create", "token", "dashboard-admin", "-n", "kube-system").stdout.strip()
    assert token.count(".") == 2
    env = dict(os.environ, HOME=server.data)
    p = subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{server.port}",
                        "--certificate-authority", os.path.join(server.data, "tls", "ca.crt"),
                        "--token", token, "get", "namespace", "kube-system", "-o", "name"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "namespace/kube-system"
    assert k("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    new = subprocess.run([BERTH, "token", "create", "--data-dir", server.data], capture_output=True, text=True)
    assert new.returncode == 0
    p = subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{server.port}",
                        "--certificate-authority", os.path.join(server.data, "tls", "ca.crt"),
                        "--token", new.stdout.strip(), "get", "ns", "default", "-o", "name"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.stdout.strip() == "namespace/default"
    k("delete", "secret", "my-secret")


def test_data_survives_restart(server):
    k = server.kubectl
    k("create", "namespace", "durable")
    k("create", "-n", "durable", "configmap", "keep", "--from-literal=k=v")
    before = json.loads(k("get", "-n", "durable", "cm", "keep", "-o", "json").stdout)
    ip_before = k("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout
    server.stop()
    server.start()
    after = json.loads(k("get", "-n", "durable", "cm", "keep", "-o", "json").stdout)
    assert after["data"] == {"k": "v"}
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    k("create", "-n", "durable", "configmap", "later")
    later = json.loads(k("get", "-n", "durable", "cm", "later", "-o", "json").stdout)
    assert int(later["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert k("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}").stdout == ip_before
    k("delete", "namespace", "durable")
