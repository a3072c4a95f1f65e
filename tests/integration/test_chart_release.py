"""Helm releases (`berth chart install/upgrade/rollback/uninstall/list/status/
history/get/test`) against a real `berth server` on a free loopback port,
checked with the real kubectl: the objects, the release Secrets in Helm's
format (base64 -> gunzip -> JSON), helm's printed text, hooks and failures.

Each test uses its own namespace, so the module shares one server.
"""
import base64
import gzip
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
CONFORMANCE = os.path.join(os.path.dirname(TOP), "shared", "conformance", "helm", "charts", "v3")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="berth-rel-")
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}",
             "--disable-controllers"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("berth server exited: " + open(self.log.name).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if os.path.exists(self.kubeconfig) and self.kubectl("get", "ns", check=False).returncode == 0:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("berth server did not come up")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)

    def kubectl(self, *args, check=True, input=None):
        p = subprocess.run(["/usr/bin/kubectl"] + list(args), capture_output=True, text=True, env=self.env,
                           input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def chart(self, *args, check=True):
        p = subprocess.run([BERTH, "chart"] + [str(a) for a in args], capture_output=True, text=True,
                           env=self.env, timeout=180)
        if check and p.returncode != 0:
            raise AssertionError(f"berth chart {' '.join(map(str, args))}: {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def get_json(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def exists(self, ns, kind, name):
        return self.kubectl("get", "-n", ns, kind, name, check=False).returncode == 0

    def secrets(self, ns):
        out = self.get_json("secrets", "-n", ns, "-l", "owner=helm")
        return {s["metadata"]["name"]: s for s in out["items"]}


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.stop()


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


def decode_release(secret):
    """What Helm does to read a release: base64 (API) -> base64 -> gunzip -> JSON."""
    inner = base64.b64decode(secret["data"]["release"])
    raw = base64.b64decode(inner)
    assert raw[:3] == b"\x1f\x8b\x08"
    return json.loads(gzip.decompress(raw))


def write_chart(root, name="web", version="0.1.0", app_version="1.16.0", templates=None, values="", notes=None):
    """A chart shaped like seed 002's example: Chart.yaml, values.yaml, templates/ with
    _helpers.tpl and NOTES.txt."""
    d = os.path.join(str(root), name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "templates"))
    with open(os.path.join(d, "Chart.yaml"), "w") as f:
        f.write(f"apiVersion: v2\nname: {name}\ndescription: A demo\ntype: application\n"
                f"version: {version}\nappVersion: \"{app_version}\"\n")
    with open(os.path.join(d, "values.yaml"), "w") as f:
        f.write(values)
    with open(os.path.join(d, "templates", "_helpers.tpl"), "w") as f:
        f.write('{{- define "web.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end }}\n')
    if notes is not None:
        with open(os.path.join(d, "templates", "NOTES.txt"), "w") as f:
            f.write(notes)
    for fname, text in (templates or {}).items():
        with open(os.path.join(d, "templates", fname), "w") as f:
            f.write(text)
    return d


WEB_VALUES = """\
imageRegistry: "quay.io/deis"
dockerTag: "latest"
pullPolicy: "Always"
storage: "s3"
replicaCount: 1
extraConfig: true
"""

WEB_TEMPLATES = {
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
    spec:
      containers:
        - name: db
          image: {{ .Values.imageRegistry }}/postgres:{{ .Values.dockerTag }}
          imagePullPolicy: {{ .Values.pullPolicy }}
          env:
            - name: DATABASE_STORAGE
              value: {{ default "minio" .Values.storage }}
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ include "web.fullname" . }}
spec:
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
  ports:
    - port: 5432
""",
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "web.fullname" . }}-settings
data:
  storage: {{ .Values.storage | quote }}
  revision: "{{ .Release.Revision }}"
{{- if .Values.extraConfig }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "web.fullname" . }}-extra
data:
  on: "yes"
{{- end }}
""",
}

WEB_NOTES = "Get the application URL by running:\n  kubectl get svc {{ include \"web.fullname\" . }} -n {{ .Release.Namespace }}\n"


def web_chart(tmp, **kw):
    return write_chart(tmp, templates=WEB_TEMPLATES, values=WEB_VALUES, notes=WEB_NOTES, **kw)


STATUS_RE = re.compile(
    r"^NAME: (?P<name>\S+)\nLAST DEPLOYED: (?P<date>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\n"
    r"NAMESPACE: (?P<ns>\S+)\nSTATUS: (?P<status>\S+)\nREVISION: (?P<rev>\d+)\n")


def test_install_creates_objects_and_helm_secret(cluster, tmp):
    chart = web_chart(tmp)
    vals = tmp / "prod.yaml"
    vals.write_text("storage: gcs\n")
    p = cluster.chart("install", "web1", chart, "-n", "inst", "--create-namespace", "-f", vals)
    m = STATUS_RE.match(p.stdout)
    assert m, p.stdout
    assert (m["name"], m["ns"], m["status"], m["rev"]) == ("web1", "inst", "deployed", "1")
    # helm prints TEST SUITE: None and the rendered NOTES.txt after the status
    assert p.stdout[m.end():] == ("TEST SUITE: None\nNOTES:\nGet the application URL by running:\n"
                                  "  kubectl get svc web1-web -n inst\n")
    # the objects, with Helm's ownership metadata
    dep = cluster.get_json("deployment", "web1-web", "-n", "inst")
    assert dep["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "gcs"
    assert dep["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert dep["metadata"]["annotations"]["meta.helm.sh/release-name"] == "web1"
    assert dep["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == "inst"
    assert cluster.exists("inst", "service", "web1-web")
    cm = cluster.get_json("configmap", "web1-web-settings", "-n", "inst")
    assert cm["data"] == {"storage": "gcs", "revision": "1"}
    # the release Secret as Helm stores it
    secrets = cluster.secrets("inst")
    assert list(secrets) == ["sh.helm.release.v1.web1.v1"]
    s = secrets["sh.helm.release.v1.web1.v1"]
    assert s["type"] == "helm.sh/release.v1"
    labels = s["metadata"]["labels"]
    assert {k: labels[k] for k in ("name", "owner", "status", "version")} == \
        {"name": "web1", "owner": "helm", "status": "deployed", "version": "1"}
    assert labels["modifiedAt"].isdigit()
    rel = decode_release(s)
    assert list(rel) == ["name", "info", "chart", "config", "manifest", "version", "namespace"]
    assert rel["name"] == "web1" and rel["namespace"] == "inst" and rel["version"] == 1
    assert rel["info"]["status"] == "deployed"
    assert rel["info"]["description"] == "Install complete"
    assert rel["info"]["deleted"] == "0001-01-01T00:00:00Z"
    assert rel["info"]["notes"].startswith("Get the application URL")
    assert rel["config"] == {"storage": "gcs"}
    assert rel["chart"]["metadata"] == {"name": "web", "version": "0.1.0", "description": "A demo",
                                        "apiVersion": "v2", "appVersion": "1.16.0", "type": "application"}
    assert rel["chart"]["values"]["storage"] == "s3"
    names = sorted(t["name"] for t in rel["chart"]["templates"])
    assert names == ["templates/NOTES.txt", "templates/_helpers.tpl", "templates/configmap.yaml",
                     "templates/deployment.yaml", "templates/service.yaml"]
    helpers = next(t for t in rel["chart"]["templates"] if t["name"] == "templates/_helpers.tpl")
    assert b"web.fullname" in base64.b64decode(helpers["data"])
    # manifest: install order (ConfigMap, Service, Deployment), each with its source
    sources = re.findall(r"^# Source: (\S+)\n(?:.*\n)*?kind: (\w+)", rel["manifest"], re.M)
    assert [k for _, k in sources] == ["ConfigMap", "ConfigMap", "Service", "Deployment"]
    assert rel["manifest"].startswith("---\n# Source: web/templates/configmap.yaml\n")
    # a second install of the same name is refused
    p = cluster.chart("install", "web1", chart, "-n", "inst", check=False)
    assert p.returncode == 1
    assert p.stderr == "Error: INSTALLATION FAILED: cannot re-use a name that is still in use\n"


def table_rows(text):
    lines = text.rstrip("\n").split("\n")
    return [[c.rstrip(" ") for c in line.split("\t")] for line in lines]


def test_list_status_history_get(cluster, tmp):
    chart = web_chart(tmp)
    cluster.chart("install", "lst", chart, "-n", "lst", "--create-namespace", "--set", "replicaCount=2")
    out = cluster.chart("list", "-n", "lst").stdout
    rows = table_rows(out)
    assert rows[0] == ["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"]
    assert len(rows) == 2
    name, ns, rev, updated, status, chart_v, app = rows[1]
    assert (name, ns, rev, status, chart_v, app) == ("lst", "lst", "1", "deployed", "web-0.1.0", "1.16.0")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC", updated), updated
    # uitable: every cell padded to its column's width, columns joined by tabs
    first = out.split("\n")[0].split("\t")
    second = out.split("\n")[1].split("\t")
    assert [len(c) for c in first] == [len(c) for c in second]
    assert cluster.chart("list", "-n", "lst", "-q").stdout == "lst\n"
    lj = json.loads(cluster.chart("list", "-n", "lst", "-o", "json").stdout)
    assert lj == [{"name": "lst", "namespace": "lst", "revision": "1", "updated": updated,
                   "status": "deployed", "chart": "web-0.1.0", "app_version": "1.16.0"}]
    # -A sees it from any namespace; the default namespace has none of it
    assert "lst" in [r[0] for r in table_rows(cluster.chart("list", "-A").stdout)[1:]]
    assert len(table_rows(cluster.chart("list").stdout)) == 1 or \
        "lst" not in [r[0] for r in table_rows(cluster.chart("list").stdout)[1:]]

    st = cluster.chart("status", "lst", "-n", "lst", "--show-desc").stdout
    m = STATUS_RE.match(st)
    assert m and m["status"] == "deployed" and m["rev"] == "1"
    assert st[m.end():].startswith("DESCRIPTION: Install complete\nTEST SUITE: None\nNOTES:\n")
    sj = json.loads(cluster.chart("status", "lst", "-n", "lst", "-o", "json").stdout)
    assert sj["name"] == "lst" and sj["info"]["status"] == "deployed" and sj["config"] == {"replicaCount": 2}

    hist = table_rows(cluster.chart("history", "lst", "-n", "lst").stdout)
    assert hist[0] == ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]
    assert hist[1][0] == "1" and hist[1][2:] == ["deployed", "web-0.1.0", "1.16.0", "Install complete"]
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", hist[1][1])
    hj = json.loads(cluster.chart("history", "lst", "-n", "lst", "-o", "json").stdout)
    assert hj[0]["revision"] == 1 and hj[0]["description"] == "Install complete"

    assert cluster.chart("get", "values", "lst", "-n", "lst").stdout == "USER-SUPPLIED VALUES:\nreplicaCount: 2\n"
    allv = cluster.chart("get", "values", "lst", "-n", "lst", "-a").stdout
    assert allv.startswith("COMPUTED VALUES:\n") and "replicaCount: 2\n" in allv and "storage: s3\n" in allv
    assert json.loads(cluster.chart("get", "values", "lst", "-n", "lst", "-o", "json").stdout) == {"replicaCount": 2}
    man = cluster.chart("get", "manifest", "lst", "-n", "lst").stdout
    assert man.startswith("---\n# Source: web/templates/configmap.yaml\n") and "replicas: 2\n" in man
    assert cluster.chart("get", "notes", "lst", "-n", "lst").stdout == \
        "NOTES:\nGet the application URL by running:\n  kubectl get svc lst-web -n lst\n\n"
    everything = cluster.chart("get", "all", "lst", "-n", "lst").stdout
    for part in ("CHART: web\nVERSION: 0.1.0\nAPP_VERSION: 1.16.0\n", "USER-SUPPLIED VALUES:\n",
                 "COMPUTED VALUES:\n", "HOOKS:\n", "MANIFEST:\n---\n# Source:", "NOTES:\n"):
        assert part in everything, part
    p = cluster.chart("status", "nope", "-n", "lst", check=False)
    assert p.returncode == 1 and p.stderr == "Error: release: not found\n"


def test_upgrade_rollback_uninstall(cluster, tmp):
    ns = "life"
    chart = web_chart(tmp)
    cluster.chart("install", "app", chart, "-n", ns, "--create-namespace")
    assert cluster.exists(ns, "configmap", "app-web-extra")
    # someone edits the live object: the upgrade's three-way merge still lands the chart's value
    cluster.kubectl("label", "-n", ns, "configmap", "app-web-settings", "touched=yes")
    v2 = tmp / "v2.yaml"
    v2.write_text("storage: gcs\nextraConfig: false\n")
    p = cluster.chart("upgrade", "app", chart, "-n", ns, "-f", v2)
    assert p.stdout.startswith('Release "app" has been upgraded. Happy Helming!\nNAME: app\n')
    assert STATUS_RE.match(p.stdout.split("\n", 1)[1])["rev"] == "2"
    cm = cluster.get_json("configmap", "app-web-settings", "-n", ns)
    assert cm["data"] == {"storage": "gcs", "revision": "2"}
    assert cm["metadata"]["labels"]["touched"] == "yes"      # a live-only field survives the merge patch
    assert not cluster.exists(ns, "configmap", "app-web-extra")  # gone from the manifest: deleted
    secrets = cluster.secrets(ns)
    assert sorted(secrets) == ["sh.helm.release.v1.app.v1", "sh.helm.release.v1.app.v2"]
    assert secrets["sh.helm.release.v1.app.v1"]["metadata"]["labels"]["status"] == "superseded"
    assert decode_release(secrets["sh.helm.release.v1.app.v1"])["info"]["status"] == "superseded"
    r2 = decode_release(secrets["sh.helm.release.v1.app.v2"])
    assert r2["info"]["status"] == "deployed" and r2["info"]["description"] == "Upgrade complete"
    r1 = decode_release(secrets["sh.helm.release.v1.app.v1"])
    assert r2["info"]["first_deployed"] == r1["info"]["first_deployed"]

    # upgrade without values reuses the last ones (Helm 3)
    cluster.chart("upgrade", "app", chart, "-n", ns)
    assert cluster.get_json("configmap", "app-web-settings", "-n", ns)["data"]["storage"] == "gcs"
    # --reset-values goes back to the chart's defaults
    cluster.chart("upgrade", "app", chart, "-n", ns, "--reset-values")
    assert cluster.get_json("configmap", "app-web-settings", "-n", ns)["data"]["storage"] == "s3"
    assert cluster.exists(ns, "configmap", "app-web-extra")

    p = cluster.chart("rollback", "app", "2", "-n", ns)
    assert p.stdout == "Rollback was a success! Happy Helming!\n"
    assert cluster.get_json("configmap", "app-web-settings", "-n", ns)["data"] == {"storage": "gcs", "revision": "2"}
    assert not cluster.exists(ns, "configmap", "app-web-extra")
    hist = table_rows(cluster.chart("history", "app", "-n", ns).stdout)[1:]
    assert [(h[0], h[2], h[5]) for h in hist] == [
        ("1", "superseded", "Install complete"), ("2", "superseded", "Upgrade complete"),
        ("3", "superseded", "Upgrade complete"), ("4", "superseded", "Upgrade complete"),
        ("5", "deployed", "Rollback to 2")]

    # --keep-history: objects go, the record stays as uninstalled
    p = cluster.chart("uninstall", "app", "-n", ns, "--keep-history")
    assert p.stdout == 'release "app" uninstalled\n'
    for kind, name in (("deployment", "app-web"), ("service", "app-web"), ("configmap", "app-web-settings")):
        assert not cluster.exists(ns, kind, name), (kind, name)
    secrets = cluster.secrets(ns)
    assert len(secrets) == 5
    last = decode_release(secrets["sh.helm.release.v1.app.v5"])
    assert last["info"]["status"] == "uninstalled"
    assert last["info"]["description"] == "Uninstallation complete"
    assert last["info"]["deleted"] != "0001-01-01T00:00:00Z"
    assert table_rows(cluster.chart("list", "-n", ns).stdout)[1:] == []
    assert table_rows(cluster.chart("list", "-n", ns, "--uninstalled").stdout)[1][4] == "uninstalled"
    p = cluster.chart("uninstall", "app", "-n", ns, "--keep-history", check=False)
    assert p.returncode == 1 and p.stderr == 'Error: "app" is already deleted\n'
    # a plain uninstall purges the history
    cluster.chart("uninstall", "app", "-n", ns)
    assert cluster.secrets(ns) == {}
    p = cluster.chart("uninstall", "app", "-n", ns, check=False)
    assert p.returncode == 1
    assert p.stderr == "Error: uninstall: Release not loaded: app: release: not found\n"


def test_upgrade_install_and_history_max(cluster, tmp):
    ns = "hmax"
    chart = web_chart(tmp)
    cluster.kubectl("create", "namespace", ns)
    p = cluster.chart("upgrade", "--install", "up", chart, "-n", ns)
    assert p.stdout.startswith('Release "up" does not exist. Installing it now.\nNAME: up\n')
    for _ in range(3):
        cluster.chart("upgrade", "up", chart, "-n", ns, "--history-max", "2")
    assert sorted(cluster.secrets(ns)) == ["sh.helm.release.v1.up.v3", "sh.helm.release.v1.up.v4"]
    p = cluster.chart("upgrade", "nothere", chart, "-n", ns, check=False)
    assert p.returncode == 1 and p.stderr == 'Error: UPGRADE FAILED: "nothere" has no deployed releases\n'


def test_template_error_installs_nothing(cluster, tmp):
    ns = "bad"
    cluster.kubectl("create", "namespace", ns)
    chart = write_chart(tmp, name="bad", templates={
        "ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
        "broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.name }}\n",
    })
    p = cluster.chart("install", "b", chart, "-n", ns, check=False)
    assert p.returncode == 1
    assert p.stderr == ("Error: INSTALLATION FAILED: execution error at (bad/templates/broken.yaml:4:11): "
                        "name is required\n")
    assert cluster.secrets(ns) == {}
    assert not cluster.exists(ns, "configmap", "fine")
    # --dry-run renders and prints, stores and creates nothing
    p = cluster.chart("install", "b", chart, "-n", ns, "--dry-run", "--set", "name=given")
    assert "STATUS: pending-install\n" in p.stdout and "MANIFEST:\n---\n# Source: bad/templates/broken.yaml\n" in p.stdout
    assert cluster.secrets(ns) == {} and not cluster.exists(ns, "configmap", "given")


HOOK = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations:
    "helm.sh/hook": {events}
    "helm.sh/hook-weight": "{weight}"
{policy}data:
  at: "{{{{ .Release.Revision }}}}"
"""


def hook(name, events, weight, policy=None):
    pol = f'    "helm.sh/hook-delete-policy": {policy}\n' if policy else ""
    return HOOK.format(name=name, events=events, weight=weight, policy=pol)


def rv(cluster, ns, name):
    return int(cluster.get_json("configmap", name, "-n", ns)["metadata"]["resourceVersion"])


def test_hooks_weight_order_and_policies(cluster, tmp):
    ns = "hooks"
    cluster.kubectl("create", "namespace", ns)
    chart = write_chart(tmp, name="hk", templates={
        "main.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: main\ndata:\n  x: \"1\"\n",
        # names sort the other way round from weights
        "h1.yaml": hook("a-pre-last", "pre-install", 10),
        "h2.yaml": hook("b-pre-first", "pre-install", -5),
        "h3.yaml": hook("c-pre-middle", "pre-install,pre-upgrade", 0),
        "h4.yaml": hook("post", "post-install", 0),
        "h5.yaml": hook("gone", "post-install", 1, "hook-succeeded"),
        "t.yaml": hook("hk-test", "test", 0),
    })
    cluster.chart("install", "hk", chart, "-n", ns)
    first, middle, last = rv(cluster, ns, "b-pre-first"), rv(cluster, ns, "c-pre-middle"), rv(cluster, ns, "a-pre-last")
    main, post = rv(cluster, ns, "main"), rv(cluster, ns, "post")
    assert first < middle < last < main < post, (first, middle, last, main, post)
    assert not cluster.exists(ns, "configmap", "gone")       # hook-succeeded
    assert not cluster.exists(ns, "configmap", "hk-test")    # tests run only with `test`
    rel = decode_release(cluster.secrets(ns)["sh.helm.release.v1.hk.v1"])
    byname = {h["name"]: h for h in rel["hooks"]}
    assert byname["b-pre-first"]["weight"] == -5 and byname["b-pre-first"]["events"] == ["pre-install"]
    assert byname["c-pre-middle"]["events"] == ["pre-install", "pre-upgrade"]
    assert byname["gone"]["delete_policies"] == ["hook-succeeded"]
    assert byname["post"]["last_run"]["phase"] == "Succeeded"
    assert byname["post"]["path"] == "hk/templates/h4.yaml"
    assert byname["hk-test"]["last_run"]["phase"] == ""
    assert "kind: ConfigMap" not in rel["manifest"].split("name: main")[1]   # hooks are not in the manifest
    # pre-upgrade: before-hook-creation (the default) replaces the old hook object
    uid = cluster.get_json("configmap", "c-pre-middle", "-n", ns)["metadata"]["uid"]
    cluster.chart("upgrade", "hk", chart, "-n", ns)
    cm = cluster.get_json("configmap", "c-pre-middle", "-n", ns)
    assert cm["metadata"]["uid"] != uid and cm["data"]["at"] == "2"
    assert cluster.get_json("configmap", "b-pre-first", "-n", ns)["data"]["at"] == "1"
    # test hooks
    p = cluster.chart("test", "hk", "-n", ns)
    m = STATUS_RE.match(p.stdout)
    assert m and m["rev"] == "2"
    rest = p.stdout[m.end():]
    assert re.match(r"TEST SUITE:     hk-test\nLast Started:   .+\nLast Completed: .+\nPhase:          Succeeded\n$",
                    rest), rest
    assert cluster.exists(ns, "configmap", "hk-test")
    rel = decode_release(cluster.secrets(ns)["sh.helm.release.v1.hk.v2"])
    assert next(h for h in rel["hooks"] if h["name"] == "hk-test")["last_run"]["phase"] == "Succeeded"


def test_failed_install_and_atomic(cluster, tmp):
    ns = "fail"
    cluster.kubectl("create", "namespace", ns)
    # the API server refuses this object (invalid name), so the install fails after its pre-install hook
    chart = write_chart(tmp, name="fl", templates={
        "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine-one\n",
        "b.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: Not_Valid\nspec:\n  ports:\n  - port: 80\n",
        "h.yaml": hook("pre", "pre-install", 0),
    })
    p = cluster.chart("install", "f1", chart, "-n", ns, check=False)
    assert p.returncode == 1 and p.stderr.startswith("Error: INSTALLATION FAILED: ")
    s = cluster.secrets(ns)
    assert list(s) == ["sh.helm.release.v1.f1.v1"]
    assert s["sh.helm.release.v1.f1.v1"]["metadata"]["labels"]["status"] == "failed"
    rel = decode_release(s["sh.helm.release.v1.f1.v1"])
    assert rel["info"]["status"] == "failed" and rel["info"]["description"].startswith('Release "f1" failed: ')
    assert [r[4] for r in table_rows(cluster.chart("list", "-n", ns).stdout)[1:]] == ["failed"]
    cluster.chart("uninstall", "f1", "-n", ns)
    assert not cluster.exists(ns, "configmap", "fine-one")
    # --atomic: the failed install is uninstalled again
    p = cluster.chart("install", "f2", chart, "-n", ns, "--atomic", "--timeout", "30s", check=False)
    assert p.returncode == 1
    assert "release f2 failed, and has been uninstalled due to atomic being set" in p.stderr
    assert cluster.secrets(ns) == {}
    assert not cluster.exists(ns, "configmap", "fine-one")


def test_lookup_reads_the_cluster(cluster, tmp):
    ns = "look"
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("create", "configmap", "existing", "-n", ns, "--from-literal=token=s3cret")
    chart = write_chart(tmp, name="lk", templates={"cm.yaml": """\
{{- $old := lookup "v1" "ConfigMap" .Release.Namespace "existing" }}
{{- $none := lookup "v1" "ConfigMap" .Release.Namespace "absent" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: copy
data:
  token: {{ $old.data.token | quote }}
  absent: "{{ len $none }}"
  namespaces: "{{ gt (len (lookup "v1" "Namespace" "" "").items) 1 }}"
"""})
    cluster.chart("install", "lk", chart, "-n", ns)
    assert cluster.get_json("configmap", "copy", "-n", ns)["data"] == \
        {"token": "s3cret", "absent": "0", "namespaces": "true"}


def test_conformance_charts(cluster):
    ns = "conf"
    cluster.kubectl("create", "namespace", ns)
    # subchart: templates of the parent and of both subcharts; NOTES of the parent only
    p = cluster.chart("install", "sc", os.path.join(CONFORMANCE, "subchart"), "-n", ns, "--skip-crds")
    assert p.stdout.endswith("NOTES:\nSample notes for subchart\n")
    for kind, name in (("service", "subchart"), ("service", "subcharta"), ("service", "subchartb"),
                       ("serviceaccount", "subchart-sa"), ("role", "subchart-role"),
                       ("rolebinding", "subchart-binding")):
        assert cluster.exists(ns, kind, name), (kind, name)
    rel = decode_release(cluster.secrets(ns)["sh.helm.release.v1.sc.v1"])
    kinds = re.findall(r"^kind: (\w+)", rel["manifest"], re.M)
    order = ["ServiceAccount", "Role", "RoleBinding", "Service"]
    assert [k for k in kinds if k in order] == sorted((k for k in kinds if k in order), key=order.index)
    assert sorted(h["name"] for h in rel["hooks"]) == ["sc-test", "sc-testconfig"]
    # object-order: same-kind objects keep their template order
    cluster.chart("install", "oo", os.path.join(CONFORMANCE, "object-order"), "-n", ns)
    rel = decode_release(cluster.secrets(ns)["sh.helm.release.v1.oo.v1"])
    names = re.findall(r"^  name: (\w+)", rel["manifest"], re.M)
    # NetworkPolicies (in template order) come before the Deployment "fourth" of 01-a.yml
    assert names[:4] == ["first", "second", "third", "fifth"] and names[-1] == "fourth"
    listed = json.loads(cluster.kubectl("get", "networkpolicies", "-n", ns, "-o", "json").stdout)["items"]
    assert [h["name"] for h in rel["hooks"]] == ["sixth"]       # the pre-install hook of 02-b.yml
    assert sorted(i["metadata"]["name"] for i in listed) == sorted(names[:-1] + ["sixth"])
    assert cluster.exists(ns, "deployment", "fourth")


def test_atomic_upgrade_rolls_back_and_wait_times_out(cluster, tmp):
    ns = "atom"
    cluster.kubectl("create", "namespace", ns)
    good = write_chart(tmp, name="at", templates={
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  rev: \"{{ .Release.Revision }}\"\n"})
    cluster.chart("install", "at", good, "-n", ns)
    bad = write_chart(tmp / "b", name="at", templates={
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  rev: \"{{ .Release.Revision }}\"\n",
        "svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 1\n"})
    p = cluster.chart("upgrade", "at", bad, "-n", ns, "--atomic", "--timeout", "30s", check=False)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: UPGRADE FAILED: release at failed, and has been rolled back due to atomic "
                               "being set: ")
    hist = table_rows(cluster.chart("history", "at", "-n", ns).stdout)[1:]
    assert [(h[0], h[2]) for h in hist] == [("1", "superseded"), ("2", "failed"), ("3", "deployed")]
    assert hist[1][5].startswith('Upgrade "at" failed: ') and hist[2][5] == "Rollback to 1"
    assert cluster.get_json("configmap", "keep", "-n", ns)["data"]["rev"] == "1"
    # --wait: a Deployment never becomes available without controllers and nodes
    dep = write_chart(tmp / "w", name="wt", templates={"d.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: never-ready
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: c
        image: busybox
"""})
    p = cluster.chart("install", "wt", dep, "-n", ns, "--wait", "--timeout", "2s", check=False)
    assert p.returncode == 1
    assert p.stderr == "Error: INSTALLATION FAILED: Deployment never-ready: timed out waiting for the condition\n"
    assert cluster.secrets(ns)["sh.helm.release.v1.wt.v1"]["metadata"]["labels"]["status"] == "failed"


def test_kubeconfig_flag_and_context_namespace(cluster, tmp):
    cluster.kubectl("create", "namespace", "ctxns")
    kc = tmp / "kubeconfig"
    shutil.copy(cluster.kubeconfig, kc)
    env = dict(cluster.env, KUBECONFIG=str(kc))
    subprocess.run(["/usr/bin/kubectl", "config", "set-context", "--current", "--namespace=ctxns"], env=env,
                   check=True, capture_output=True, timeout=60)
    chart = write_chart(tmp, name="kc", templates={
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kc-cm\n"})
    # no $KUBECONFIG and no ~/.kube/config: only --kubeconfig finds the cluster
    bare = dict(os.environ, HOME=str(tmp))
    bare.pop("KUBECONFIG", None)
    p = subprocess.run([BERTH, "chart", "install", "kc", chart, "--kubeconfig", str(kc)], env=bare,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "NAMESPACE: ctxns\n" in p.stdout           # the context's namespace, as helm
    assert cluster.exists("ctxns", "configmap", "kc-cm")
    p = subprocess.run([BERTH, "chart", "list"], env=bare, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr.startswith("Error: Kubernetes cluster unreachable")
