"""Server-side apply and managedFields, driven by the real kubectl.

Two field managers apply to one ConfigMap and one Deployment: shared
ownership when they agree, a 409 conflict naming the field and its manager
when they do not, --force-conflicts taking the field over, and a field
removed when the only manager that applied it stops applying it.  Update
operations (create, label, scale) are recorded as Update entries.
"""
import json
import shutil

import pytest

from test_apiserver import KUBECTLS, Server

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: owned
  labels: {app: demo}
data:
%s
"""

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa-web
spec:
  replicas: %(replicas)d
  selector:
    matchLabels: {app: ssa-web}
  template:
    metadata:
      labels: {app: ssa-web}
    spec:
      containers:
      - name: web
        image: %(image)s
"""


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def managed(server, kind, name):
    obj = json.loads(server.kubectl("get", kind, name, "-o", "json", "--show-managed-fields").stdout)
    return obj, {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


def apply(server, text, manager, *extra, check=True, kubectl="/usr/bin/kubectl"):
    return server.kubectl("apply", "--server-side", "--field-manager", manager, *extra, "-f", "-",
                          input=text, check=check, kubectl=kubectl)


def test_two_managers_conflict_force_and_removal(server):
    assert "serverside-applied" in apply(server, CM % '  a: "1"\n  b: "2"', "alice").stdout
    obj, mf = managed(server, "cm", "owned")
    fields = mf[("alice", "Apply")]["fieldsV1"]
    assert fields == {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
    assert mf[("alice", "Apply")]["apiVersion"] == "v1" and mf[("alice", "Apply")]["time"].endswith("Z")
    # bob agrees on a (shared ownership), adds c
    apply(server, CM % '  a: "1"\n  c: "3"', "bob")
    obj, mf = managed(server, "cm", "owned")
    assert obj["data"] == {"a": "1", "b": "2", "c": "3"}
    assert "f:a" in mf[("bob", "Apply")]["fieldsV1"]["f:data"] and "f:a" in mf[("alice", "Apply")]["fieldsV1"]["f:data"]
    # bob disagrees on b: a conflict, nothing written
    p = apply(server, CM % '  b: "20"', "bob", check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .data.b' in p.stderr
    assert "--force-conflicts" in p.stderr
    assert managed(server, "cm", "owned")[0]["data"]["b"] == "2"
    # two fields, two managers (a is co-owned): every (manager, field) listed
    p = apply(server, CM % '  a: "10"\n  b: "20"', "carol", check=False)
    assert "Apply failed with 3 conflicts" in p.stderr
    assert 'conflicts with "alice":\n- .data.a\n- .data.b\nconflicts with "bob":\n- .data.a' in p.stderr
    # forced: bob takes b over, alice loses it
    apply(server, CM % '  a: "1"\n  b: "20"\n  c: "3"', "bob", "--force-conflicts")
    obj, mf = managed(server, "cm", "owned")
    assert obj["data"]["b"] == "20"
    assert "f:b" not in mf[("alice", "Apply")]["fieldsV1"]["f:data"]
    assert "f:b" in mf[("bob", "Apply")]["fieldsV1"]["f:data"]
    # bob stops applying c (only he owns it): removed; stops applying a (alice still does): kept
    apply(server, CM % '  b: "20"', "bob")
    obj, mf = managed(server, "cm", "owned")
    assert obj["data"] == {"a": "1", "b": "20"}
    assert mf[("bob", "Apply")]["fieldsV1"]["f:data"] == {"f:b": {}}


def test_update_operations_are_recorded(server):
    server.kubectl("create", "configmap", "upd", "--from-literal=k=v")
    server.kubectl("label", "configmap", "upd", "tier=x")
    obj, mf = managed(server, "cm", "upd")
    assert mf[("kubectl-create", "Update")]["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}} or \
        mf[("kubectl-create", "Update")]["fieldsV1"] == {"f:data": {"f:k": {}}}
    assert mf[("kubectl-label", "Update")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:tier": {}}}}
    # an apply of a field an updater set conflicts with "<manager>" using v1
    p = apply(server, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upd\ndata:\n  k: other\n", "dave",
              check=False)
    assert 'conflict with "kubectl-create" using v1: .data.k' in p.stderr
    # client-side tools see the entries; plain -o yaml hides them (kubectl strips them)
    assert "managedFields" not in server.kubectl("get", "cm", "upd", "-o", "yaml").stdout


@pytest.mark.parametrize("kubectl", [KUBECTLS[0], KUBECTLS[-1], KUBECTLS[1]] if len(KUBECTLS) > 2 else KUBECTLS,
                         ids=lambda k: k.rsplit("/", 1)[1])
def test_deployment_lists_by_key(server, kubectl):
    name = "ssa-web"
    server.kubectl("delete", "deployment", name, "--ignore-not-found")
    apply(server, DEPLOY % {"replicas": 2, "image": "nginx:1"}, "ci", kubectl=kubectl)
    obj, mf = managed(server, "deployment", name)
    c = mf[("ci", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert c == {".": {}, "f:image": {}, "f:name": {}}
    assert obj["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"]  # defaults kept
    # kubectl scale is an Update of spec.replicas: the next apply of replicas conflicts
    server.kubectl("scale", "deployment", name, "--replicas=3", kubectl=kubectl)
    p = apply(server, DEPLOY % {"replicas": 2, "image": "nginx:2"}, "ci", check=False, kubectl=kubectl)
    assert p.returncode != 0 and ".spec.replicas" in p.stderr
    apply(server, DEPLOY % {"replicas": 2, "image": "nginx:2"}, "ci", "--force-conflicts", kubectl=kubectl)
    obj, mf = managed(server, "deployment", name)
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    # a second manager adds a container by key; the first one's stays
    apply(server, """apiVersion: apps/v1
kind: Deployment
metadata: {name: ssa-web}
spec:
  template:
    spec:
      containers:
      - {name: side, image: busybox}
""", "sidecar", kubectl=kubectl)
    obj, _ = managed(server, "deployment", name)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web", "side"]
    # the sidecar manager stops applying its container: it goes
    apply(server, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa-web, labels: {side: gone}}\n", "sidecar",
          kubectl=kubectl)
    obj, _ = managed(server, "deployment", name)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["web"]
