"""RBAC, Events and graceful pod deletion of the API server, through the real kubectl.

One `berth server` per module (127.0.0.1, free port, temp data dir, stopped by
PID).  A ServiceAccount token from `kubectl create token` with a Role that
allows only get/list on pods in one namespace gives the allowed/denied matrix
and `kubectl auth can-i` answers; Events created through the API show in
`kubectl describe`; a pod on a node is deleted gracefully.
"""
import json
import os
import shutil
import subprocess

import pytest

from test_apiserver import Server

NS = "team"


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def as_token(server, token, *args):
    env = dict(os.environ, HOME=server.data)
    env.pop("KUBECONFIG", None)
    return subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{server.port}",
                           "--certificate-authority", os.path.join(server.data, "tls", "ca.crt"),
                           "--token", token] + list(args), capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def reader(server):
    k = server.kubectl
    k("create", "namespace", NS)
    k("create", "serviceaccount", "reader", "-n", NS)
    k("create", "role", "pod-reader", "-n", NS, "--verb=get,list", "--resource=pods")
    k("create", "rolebinding", "reader-pods", "-n", NS, "--role=pod-reader", f"--serviceaccount={NS}:reader")
    k("run", "p1", "-n", NS, "--image=nginx")
    return k("create", "token", "reader", "-n", NS).stdout.strip()


def test_rbac_matrix(server, reader):
    user = f"system:serviceaccount:{NS}:reader"
    p = as_token(server, reader, "get", "pods", "-n", NS, "-o", "name")
    assert p.returncode == 0 and p.stdout.split() == ["pod/p1"]
    p = as_token(server, reader, "get", "pod", "p1", "-n", NS, "-o", "jsonpath={.metadata.name}")
    assert p.returncode == 0 and p.stdout == "p1"
    denied = [
        (("get", "pods", "-n", "default"),
         f'pods is forbidden: User "{user}" cannot list resource "pods" in API group "" in the namespace "default"'),
        (("get", "configmaps", "-n", NS),
         f'configmaps is forbidden: User "{user}" cannot list resource "configmaps" in API group "" '
         f'in the namespace "{NS}"'),
        (("delete", "pod", "p1", "-n", NS),
         f'pods "p1" is forbidden: User "{user}" cannot delete resource "pods" in API group "" '
         f'in the namespace "{NS}"'),
        (("get", "deployments", "-n", NS),
         f'deployments.apps is forbidden: User "{user}" cannot list resource "deployments" in API group "apps" '
         f'in the namespace "{NS}"'),
        (("get", "nodes"),
         f'nodes is forbidden: User "{user}" cannot list resource "nodes" in API group "" at the cluster scope'),
        (("logs", "p1", "-n", NS),
         f'pods "p1" is forbidden: User "{user}" cannot get resource "pods/log" in API group "" '
         f'in the namespace "{NS}"'),
    ]
    for args, msg in denied:
        p = as_token(server, reader, *args)
        assert p.returncode != 0, args
        assert f"Error from server (Forbidden): {msg}" in p.stderr, (args, p.stderr)
    # nothing was deleted by the denied request
    assert server.kubectl("get", "pod", "p1", "-n", NS, "-o", "name").stdout.strip() == "pod/p1"
    # discovery works for any authenticated user (system:discovery)
    p = as_token(server, reader, "api-resources", "--api-group=apps", "-o", "name")
    assert p.returncode == 0 and "deployments.apps" in p.stdout.split()


def test_auth_can_i(server, reader):
    answers = {
        ("list", "pods", "-n", NS): "yes",
        ("get", "pods/p1", "-n", NS): "yes",
        ("delete", "pods", "-n", NS): "no",
        ("list", "pods", "-n", "default"): "no",
        ("get", "pods", "--subresource=log", "-n", NS): "no",
        ("create", "deployments.apps", "-n", NS): "no",
        ("get", "/api"): "yes",
    }
    for args, want in answers.items():
        p = as_token(server, reader, "auth", "can-i", *args)
        assert p.stdout.strip() == want, (args, p.stdout, p.stderr)
        assert p.returncode == (0 if want == "yes" else 1)
    who = as_token(server, reader, "auth", "whoami", "-o", "json")
    info = json.loads(who.stdout)["status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{NS}:reader"
    assert info["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]
    assert server.kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"


def test_rbac_resource_names_subresources_and_clusterroles(server, reader):
    k = server.kubectl
    k("create", "role", "one-cm", "-n", NS, "--verb=get,update", "--resource=configmaps", "--resource-name=cfg")
    k("create", "rolebinding", "reader-one-cm", "-n", NS, "--role=one-cm", f"--serviceaccount={NS}:reader")
    k("create", "configmap", "cfg", "-n", NS, "--from-literal=a=1")
    k("create", "configmap", "other", "-n", NS, "--from-literal=a=1")
    assert as_token(server, reader, "get", "cm", "cfg", "-n", NS, "-o", "name").returncode == 0
    assert as_token(server, reader, "get", "cm", "other", "-n", NS).returncode != 0
    assert as_token(server, reader, "auth", "can-i", "list", "configmaps", "-n", NS).stdout.strip() == "no"
    # a subresource needs its own rule: get deployments + deployments/scale allows scaling, not patching
    k("create", "deployment", "web", "-n", NS, "--image=nginx")
    k("create", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "scaler", "namespace": NS},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
                  {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]}]}))
    k("create", "rolebinding", "reader-scaler", "-n", NS, "--role=scaler", f"--serviceaccount={NS}:reader")
    p = as_token(server, reader, "scale", "deployment", "web", "-n", NS, "--replicas=3")
    assert p.returncode == 0, p.stderr
    assert k("get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.replicas}").stdout == "3"
    assert as_token(server, reader, "auth", "can-i", "patch", "deployments", "-n", NS).stdout.strip() == "no"
    # the default view ClusterRole through a RoleBinding, cluster-admin through a ClusterRoleBinding
    k("create", "rolebinding", "reader-view", "-n", NS, "--clusterrole=view", f"--serviceaccount={NS}:reader")
    assert as_token(server, reader, "get", "deploy", "-n", NS, "-o", "name").stdout.split() == \
        ["deployment.apps/web"]
    assert as_token(server, reader, "get", "secrets", "-n", NS).returncode != 0
    assert as_token(server, reader, "get", "deploy", "-n", "default").returncode != 0
    k("create", "clusterrolebinding", "reader-admin", "--clusterrole=cluster-admin",
      f"--serviceaccount={NS}:reader")
    assert as_token(server, reader, "get", "secrets", "-n", "default").returncode == 0
    assert as_token(server, reader, "auth", "can-i", "*", "*").stdout.strip() == "yes"
    k("delete", "clusterrolebinding", "reader-admin")
    assert as_token(server, reader, "get", "nodes").returncode != 0


def test_default_roles_exist(server):
    names = server.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for want in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user"):
        assert f"clusterrole.rbac.authorization.k8s.io/{want}" in names
    crb = json.loads(server.kubectl("get", "clusterrolebinding", "cluster-admin", "-o", "json").stdout)
    assert crb["subjects"] == [{"kind": "Group", "name": "system:masters"}]


EVENT = """
apiVersion: v1
kind: Event
metadata: {name: web.%(n)s, namespace: %(ns)s}
involvedObject: {apiVersion: apps/v1, kind: Deployment, name: web, namespace: %(ns)s, uid: "%(uid)s"}
reason: ScalingReplicaSet
message: Scaled up replica set web-abc to %(n)s
type: Normal
source: {component: deployment-controller}
firstTimestamp: "2024-01-01T00:00:00Z"
lastTimestamp: "%(now)s"
count: 1
"""


def test_events_in_describe(server, reader):
    k = server.kubectl
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    uid = k("get", "deploy", "web", "-n", NS, "-o", "jsonpath={.metadata.uid}").stdout
    k("create", "-f", "-", input=EVENT % {"n": "1", "ns": NS, "uid": uid, "now": now})
    # an event about another object must not show
    k("create", "-f", "-", input=EVENT.replace("name: web,", "name: other,") % {
        "n": "9", "ns": NS, "uid": "00000000-0000-0000-0000-000000000000", "now": now})
    out = k("describe", "deployment", "web", "-n", NS).stdout
    assert "Events:" in out
    # the controller's own ScalingReplicaSet events show too: find the one made here
    row = [l for l in out.splitlines() if "ScalingReplicaSet" in l and "web-abc" in l]
    assert len(row) == 1 and "deployment-controller" in row[0] and "Scaled up replica set web-abc to 1" in row[0]
    sel = k("get", "events", "-n", NS, "--field-selector",
            f"involvedObject.name=web,involvedObject.uid={uid}", "-o", "name").stdout.split()
    # the field selector finds this deployment's events (the controller's too), not the other object's
    assert "event/web.1" in sel and "event/web.9" not in sel
    got = k("get", "events", "-n", NS).stdout
    assert "deployment/web" in got and "Scaled up replica set web-abc to 1" in got
    assert "events.k8s.io" in k("api-resources", "--api-group=events.k8s.io").stdout
    assert "Events:" in k("describe", "pod", "p1", "-n", NS).stdout


def test_graceful_pod_deletion(server, reader):
    k = server.kubectl
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "g1", "namespace": NS},
           "spec": {"nodeName": "node-a", "terminationGracePeriodSeconds": 2,
                    "containers": [{"name": "c", "image": "nginx"}]}}
    k("create", "-f", "-", input=json.dumps(pod))
    k("delete", "pod", "g1", "-n", NS, "--wait=false")
    got = json.loads(k("get", "pod", "g1", "-n", NS, "-o", "json").stdout)
    assert got["metadata"]["deletionGracePeriodSeconds"] == 2 and got["metadata"]["deletionTimestamp"]
    # kubectl's wait sees it go when the grace period ends
    out = k("wait", "--for=delete", "pod/g1", "-n", NS, "--timeout=60s", check=False)
    assert out.returncode == 0 or "not found" in out.stderr
    assert k("get", "pod", "g1", "-n", NS, check=False).returncode != 0
    # a kubelet's delete with grace 0 (kubectl --force) removes it at once
    pod["metadata"]["name"] = "g2"
    pod["spec"]["terminationGracePeriodSeconds"] = 3600
    k("create", "-f", "-", input=json.dumps(pod))
    k("delete", "pod", "g2", "-n", NS, "--wait=false")
    assert k("get", "pod", "g2", "-n", NS, "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}").stdout == "3600"
    k("delete", "pod", "g2", "-n", NS, "--grace-period=0", "--force")
    assert k("get", "pod", "g2", "-n", NS, check=False).returncode != 0
    # a pod no node runs goes at once
    k("run", "unscheduled", "-n", NS, "--image=nginx")
    k("delete", "pod", "unscheduled", "-n", NS, "--wait=false")
    assert k("get", "pod", "unscheduled", "-n", NS, check=False).returncode != 0


def as_cert(server, cert, key, *args):
    env = dict(os.environ, HOME=server.data)
    env.pop("KUBECONFIG", None)
    return subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{server.port}",
                           "--certificate-authority", os.path.join(server.data, "tls", "ca.crt"),
                           "--client-certificate", cert, "--client-key", key] + list(args),
                          capture_output=True, text=True, env=env, timeout=60)


def make_cert(server, subject, name, ca=True):
    d = server.data
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    if ca:
        csr = os.path.join(d, name + ".csr")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-subj", subject, "-out", csr], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(d, "tls", "ca.crt"),
                        "-CAkey", os.path.join(d, "tls", "ca.key"), "-days", "1", "-out", crt],
                       check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-subj", subject, "-days", "1", "-out", crt], check=True, capture_output=True)
    return crt, key


def test_client_certificates(server):
    tls = os.path.join(server.data, "tls")
    # the admin kubeconfig's certificate works on its own (CN=admin, O=system:masters)
    p = as_cert(server, os.path.join(tls, "admin.crt"), os.path.join(tls, "admin.key"), "get", "namespaces")
    assert p.returncode == 0 and "kube-system" in p.stdout, p.stderr
    # CN -> user, every O -> a group that RBAC binds
    crt, key = make_cert(server, "/O=cert-devs/O=cert-qa/CN=jane", "jane")
    p = as_cert(server, crt, key, "get", "pods", "-n", "default")
    assert p.returncode != 0 and 'User "jane" cannot list resource "pods"' in p.stderr
    server.kubectl("create", "clusterrolebinding", "cert-qa-view", "--clusterrole=view", "--group=cert-qa")
    assert as_cert(server, crt, key, "get", "pods", "-n", "default").returncode == 0
    assert as_cert(server, crt, key, "auth", "can-i", "create", "pods").stdout.strip() == "no"
    # a certificate the CA did not sign is nobody
    crt, key = make_cert(server, "/O=system:masters/CN=mallory", "mallory", ca=False)
    p = as_cert(server, crt, key, "get", "namespaces")
    assert p.returncode != 0 and "Unauthorized" in p.stderr
