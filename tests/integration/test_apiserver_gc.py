"""The API server's garbage collector as kubectl users observe it: background
cascades that respect a dependent's finalizers and a pod's graceful deletion,
foreground deletion (`kubectl delete --cascade=foreground` returns once the
blocking dependents are gone; Deployment -> ReplicaSet -> Pods), orphaning,
and a server restart in the middle of a foreground deletion.

One `berth server` (controllers and scheduler in-process, a Node object, no
agent) serves every test of the module; each test works in its own
namespace.  Every wait is a poll with a generous deadline; the server is
stopped by PID.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess

import pytest

from apiserver_harness import KUBECTL, ApiServer, until

HOLD = "example.com/hold"


class Server(ApiServer):
    def __init__(self):
        super().__init__((), "berth-gc-")

    def kubectl(self, *args, check=True, input=None):
        return self.run_kubectl(*args, check=check, input=input).stdout

    def create(self, obj, ns):
        out = self.kubectl("create", "-n", ns, "-f", "-", "-o", "json", input=json.dumps(obj))
        return json.loads(out)

    def get(self, kind, name, ns):
        p = subprocess.run([KUBECTL, "get", kind, name, "-n", ns, "-o", "json"], capture_output=True, text=True,
                           env=self.env(), timeout=120)
        if p.returncode != 0:
            assert "NotFound" in p.stderr, p.stderr
            return None
        return json.loads(p.stdout)

    def namespace(self, name):
        self.kubectl("create", "namespace", name)
        return name


@pytest.fixture(scope="module")
def server():
    s = Server()
    res = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    s.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}))
    s.kubectl("patch", "node", "n1", "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
        "capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}))
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def owner_ref(owner, block=True):
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block}


def configmap(server, ns, name, owners=(), finalizers=(), block=True):
    meta = {"name": name}
    if owners:
        meta["ownerReferences"] = [owner_ref(o, block) for o in owners]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}, ns)


def release(server, kind, name, ns):
    server.kubectl("patch", kind, name, "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')


def gone(server, kind, name, ns):
    return server.get(kind, name, ns) is None


def test_background_marks_a_dependent_with_a_finalizer(server):
    ns = server.namespace("gc-bg")
    owner = configmap(server, ns, "owner")
    held = configmap(server, ns, "held", owners=[owner], finalizers=[HOLD])
    configmap(server, ns, "grandchild", owners=[held])
    configmap(server, ns, "plain", owners=[owner])
    server.create({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "on-node", "ownerReferences": [owner_ref(owner)]},
                   "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 600,
                            "containers": [{"name": "c", "image": "busybox:1"}]}}, ns)

    server.kubectl("delete", "configmap", "owner", "-n", ns)
    assert gone(server, "configmap", "owner", ns)
    until(lambda: gone(server, "configmap", "plain", ns), "the dependent without finalizers deleted")
    h = server.get("configmap", "held", ns)
    assert h["metadata"].get("deletionTimestamp") and h["metadata"]["finalizers"] == [HOLD]
    pod = server.get("pod", "on-node", ns)
    assert pod["metadata"].get("deletionTimestamp") and pod["metadata"]["deletionGracePeriodSeconds"] == 600
    assert "Terminating" in server.kubectl("get", "pod", "on-node", "-n", ns)
    assert server.get("configmap", "grandchild", ns) is not None

    # the kubelet's last step: delete with grace 0
    server.kubectl("delete", "pod", "on-node", "-n", ns, "--grace-period=0", "--force")
    assert gone(server, "pod", "on-node", ns)
    release(server, "configmap", "held", ns)
    until(lambda: gone(server, "configmap", "held", ns), "the released dependent gone")
    until(lambda: gone(server, "configmap", "grandchild", ns), "the cascade continued to its dependent")
    server.kubectl("delete", "namespace", ns, "--wait=false")


def test_foreground_waits_for_a_blocking_dependent(server):
    ns = server.namespace("gc-fg")
    owner = configmap(server, ns, "owner")
    configmap(server, ns, "blocker", owners=[owner], finalizers=[HOLD])
    configmap(server, ns, "loose", owners=[owner], block=False)
    p = subprocess.Popen([KUBECTL, "delete", "configmap", "owner", "-n", ns, "--cascade=foreground"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env())
    try:
        o = until(lambda: (lambda o: o if o and o["metadata"].get("deletionTimestamp") else None)(
            server.get("configmap", "owner", ns)), "the owner marked")
        assert o["metadata"]["finalizers"] == ["foregroundDeletion"]
        until(lambda: gone(server, "configmap", "loose", ns), "the non-blocking dependent deleted")
        assert server.get("configmap", "blocker", ns)["metadata"].get("deletionTimestamp")
        # the owner is still there, so kubectl is still waiting for it
        assert server.get("configmap", "owner", ns) is not None and p.poll() is None
        release(server, "configmap", "blocker", ns)
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, err
    assert 'configmap "owner" deleted' in out
    assert gone(server, "configmap", "owner", ns) and gone(server, "configmap", "blocker", ns)
    server.kubectl("delete", "namespace", ns, "--wait=false")


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"terminationGracePeriodSeconds": 0,
                                   "containers": [{"name": "c", "image": "busybox:1"}]}}}}


def test_deployment_chain_foreground(server):
    ns = server.namespace("gc-chain")
    server.create(DEPLOYMENT, ns)

    def pods():
        return json.loads(server.kubectl("get", "pods", "-n", ns, "-o", "json"))["items"]

    ps = until(lambda: (lambda ps: ps if len(ps) == 2 and all(p["spec"].get("nodeName") for p in ps) else None)(
        pods()), "two bound pods")
    rs = json.loads(server.kubectl("get", "rs", "-n", ns, "-o", "json"))["items"]
    assert len(rs) == 1
    held = ps[0]["metadata"]["name"]
    server.kubectl("patch", "pod", held, "-n", ns, "--type=merge", "-p", json.dumps({"metadata": {"finalizers": [HOLD]}}))
    p = subprocess.Popen([KUBECTL, "delete", "deployment", "web", "-n", ns, "--cascade=foreground"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env())
    try:
        until(lambda: [x["metadata"]["name"] for x in pods()] == [held], "the pod without a finalizer gone")
        d = server.get("deployment", "web", ns)
        r = server.get("rs", rs[0]["metadata"]["name"], ns)
        assert d["metadata"].get("deletionTimestamp") and "foregroundDeletion" in d["metadata"]["finalizers"]
        assert r["metadata"].get("deletionTimestamp") and "foregroundDeletion" in r["metadata"]["finalizers"]
        assert server.get("pod", held, ns)["metadata"].get("deletionTimestamp")
        assert len(pods()) == 1, "no replacement pod for a ReplicaSet being deleted"
        assert p.poll() is None
        release(server, "pod", held, ns)
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, err
    assert 'deployment.apps "web" deleted' in out
    assert gone(server, "rs", rs[0]["metadata"]["name"], ns) and pods() == []
    server.kubectl("delete", "namespace", ns, "--wait=false")


def test_orphan_keeps_dependents(server):
    ns = server.namespace("gc-orphan")
    owner = configmap(server, ns, "owner")
    configmap(server, ns, "kid", owners=[owner])
    server.kubectl("delete", "configmap", "owner", "-n", ns, "--cascade=orphan")
    assert gone(server, "configmap", "owner", ns)
    kid = server.get("configmap", "kid", ns)
    assert kid is not None and "ownerReferences" not in kid["metadata"]
    assert not kid["metadata"].get("deletionTimestamp")
    server.kubectl("delete", "namespace", ns, "--wait=false")


def mark_foreground_offline(db, key):
    """Append a revision of key marked for foreground deletion to the stopped
    server's SQLite log: the state a server that died right after marking the
    owner (before deleting any dependent) leaves."""
    con = sqlite3.connect(db)
    try:
        rid, crev, value = con.execute("SELECT id, create_revision, value FROM kv WHERE name = ? ORDER BY id DESC "
                                       "LIMIT 1", (key,)).fetchone()
        obj = json.loads(value)
        obj["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        obj["metadata"]["finalizers"] = ["foregroundDeletion"]
        nxt = con.execute("SELECT MAX(id) FROM kv").fetchone()[0] + 1
        con.execute("INSERT INTO kv(id, name, created, deleted, create_revision, prev_revision, value) "
                    "VALUES (?, ?, 0, 0, ?, ?, ?)", (nxt, key, crev, rid, json.dumps(obj).encode()))
        con.commit()
    finally:
        con.close()


def test_restart_in_the_middle_of_a_foreground_deletion(server):
    ns = server.namespace("gc-restart")
    owner = configmap(server, ns, "owner")
    configmap(server, ns, "blocker", owners=[owner], finalizers=[HOLD])
    configmap(server, ns, "kid", owners=[owner])
    server.kubectl("delete", "configmap", "owner", "-n", ns, "--cascade=foreground", "--wait=false")
    until(lambda: gone(server, "configmap", "kid", ns), "the free dependent deleted")
    # a second owner, marked while the server is down and never worked on
    cut = configmap(server, ns, "cut")
    configmap(server, ns, "cut-kid", owners=[cut])
    server.stop()
    mark_foreground_offline(os.path.join(server.data, "state.db"), f"/registry/configmaps/{ns}/cut")
    server.start()

    assert "foregroundDeletion" in server.get("configmap", "owner", ns)["metadata"]["finalizers"]
    until(lambda: gone(server, "configmap", "cut-kid", ns) and gone(server, "configmap", "cut", ns),
          "the interrupted foreground deletion finished after the restart")
    release(server, "configmap", "blocker", ns)
    until(lambda: gone(server, "configmap", "owner", ns), "the owner gone once its dependent is released")
    server.kubectl("delete", "namespace", ns, "--wait=false")


def namespace_conditions(server, name):
    obj = server.get("namespace", name, "default")
    return {c["type"]: c for c in (obj or {}).get("status", {}).get("conditions", [])}


def test_namespace_deletion_waits_for_its_content(server):
    ns = server.namespace("gc-nsdel")
    configmap(server, ns, "held", finalizers=[HOLD])
    configmap(server, ns, "plain")
    server.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-node"},
                   "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 600,
                            "containers": [{"name": "c", "image": "busybox:1"}]}}, ns)
    p = subprocess.Popen([KUBECTL, "delete", "namespace", ns, "--wait=true"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env())
    try:
        until(lambda: "Terminating" in server.kubectl("get", "namespace", ns), "kubectl get ns shows Terminating")
        until(lambda: "NamespaceContentRemaining" in namespace_conditions(server, ns), "the conditions written")
        conds = namespace_conditions(server, ns)
        assert {t: (c["status"], c["reason"], c["message"]) for t, c in conds.items()} == {
            "NamespaceDeletionDiscoveryFailure": ("False", "ResourcesDiscovered", "All resources successfully discovered"),
            "NamespaceDeletionGroupVersionParsingFailure": ("False", "ParsedGroupVersions",
                                                            "All legacy kube types successfully parsed"),
            "NamespaceDeletionContentFailure": ("False", "ContentDeleted",
                                                "All content successfully deleted, may be waiting on finalization"),
            "NamespaceContentRemaining": ("True", "SomeResourcesRemain", "Some resources are remaining: "
                                          "configmaps. has 1 resource instances, pods. has 1 resource instances"),
            "NamespaceFinalizersRemaining": ("True", "SomeFinalizersRemain", "Some content in the namespace has "
                                             f"finalizers remaining: {HOLD} in 1 resource instances"),
        }
        obj = server.get("namespace", ns, "default")
        assert obj["spec"]["finalizers"] == ["kubernetes"] and obj["status"]["phase"] == "Terminating"
        assert gone(server, "configmap", "plain", ns)
        assert server.get("configmap", "held", ns)["metadata"].get("deletionTimestamp")
        pod = server.get("pod", "on-node", ns)
        assert pod["metadata"].get("deletionTimestamp") and pod["metadata"]["deletionGracePeriodSeconds"] == 600

        late = subprocess.run([KUBECTL, "create", "-n", ns, "-f", "-"], capture_output=True, text=True,
                              env=server.env(), input=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                                                  "metadata": {"name": "late"}}))
        assert late.returncode != 0
        assert ('Error from server (Forbidden): error when creating "STDIN": configmaps "late" is forbidden: '
                f'unable to create new content in namespace {ns} because it is being terminated') in late.stderr
        again = subprocess.run([KUBECTL, "delete", "namespace", ns, "--wait=false"], capture_output=True, text=True,
                               env=server.env())
        assert again.returncode != 0
        assert (f'Error from server (Conflict): Operation cannot be fulfilled on namespaces "{ns}": The system is '
                'ensuring all content is removed from this namespace.  Upon completion, this namespace will '
                'automatically be purged by the system.') in again.stderr
        assert p.poll() is None, "kubectl delete namespace returned while content remains"

        release(server, "configmap", "held", ns)
        until(lambda: namespace_conditions(server, ns).get("NamespaceFinalizersRemaining", {}).get("status") == "False",
              "the finalizer condition cleared")
        assert namespace_conditions(server, ns)["NamespaceContentRemaining"]["message"] == \
            "Some resources are remaining: pods. has 1 resource instances"
        assert p.poll() is None
        server.kubectl("delete", "pod", "on-node", "-n", ns, "--grace-period=0", "--force")
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 0, err
    assert f'namespace "{ns}" deleted' in out
    assert server.get("namespace", ns, "default") is None


def test_namespace_finalize_subresource_and_immortal_namespaces(server):
    ns = server.namespace("gc-nsfin")
    configmap(server, ns, "stuck", finalizers=[HOLD])
    server.kubectl("delete", "namespace", ns, "--wait=false")
    obj = until(lambda: (lambda o: o if o and "NamespaceFinalizersRemaining" in namespace_conditions(server, ns)
                         else None)(server.get("namespace", ns, "default")), "the namespace stuck on its content")
    obj = server.get("namespace", ns, "default")
    obj["spec"]["finalizers"] = []
    server.kubectl("replace", "--raw", f"/api/v1/namespaces/{ns}/finalize", "-f", "-", input=json.dumps(obj))
    until(lambda: server.get("namespace", ns, "default") is None, "the finalized namespace gone")
    release(server, "configmap", "stuck", ns)

    for name in ("default", "kube-system", "kube-public"):
        p = subprocess.run([KUBECTL, "delete", "namespace", name], capture_output=True, text=True, env=server.env())
        assert p.returncode != 0
        assert (f'Error from server (Forbidden): namespaces "{name}" is forbidden: this namespace may not be '
                'deleted') in p.stderr
        assert "deletionTimestamp" not in server.get("namespace", name, "default")["metadata"]
