"""PersistentVolumeClaims through the built-in local-path provisioner, and
hostPort, on a real `berth up` driven with kubectl.

- the default StorageClass local-path (WaitForFirstConsumer, Delete) exists
  and a claim without storageClassName gets it (DefaultStorageClass);
- a claim stays Pending until a pod uses it, then the scheduler's
  selected-node annotation makes the provisioner create PV pvc-<uid>
  (hostPath under <data-dir>/storage, node affinity, claimRef) and bind both;
  the pod's file is in that directory; kubectl's columns and describe;
- a pod whose claim is missing is unschedulable with kube-scheduler's words;
  a pod placed on the node while its claim is unbound waits in
  ContainerCreating with FailedMount, and starts once the claim is Bound;
- a StatefulSet's volumeClaimTemplates keep data across pod re-creation;
- deleting a claim deletes its PV and the directory;
- a container port with hostPort answers on the node (loopback and the
  node's address) and stops answering when the pod is gone.

The cluster has its own root, runroot and data dir (removed at the end,
storage included); everything the tests create is deleted.
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import urllib.request

import pytest

from test_up import Cluster, free_port, pod_ready, until

PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {{storage: 64Mi}}
"""

WRITER = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  {extra}
  containers:
  - name: c
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo hello-from-{name} > /data/hello && exec sleep 3600"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
"""

STS = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 1
  serviceName: web
  selector:
    matchLabels: {app: sts-web}
  template:
    metadata:
      labels: {app: sts-web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "[ -f /www/first ] || cat /proc/sys/kernel/random/uuid > /www/first; exec sleep 3600"]
        volumeMounts: [{name: www, mountPath: /www}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {storage: 32Mi}
"""

HOSTPORT = """apiVersion: v1
kind: Pod
metadata:
  name: hp
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo hostport-ok > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: [{{containerPort: 80, hostPort: {port}, protocol: TCP}}]
    readinessProbe:
      tcpSocket: {{port: 80}}
      periodSeconds: 1
"""


class PvcCluster(Cluster):
    def stop(self):
        self.kubectl("delete", "statefulsets,pods", "--all", "--wait=false", check=False, timeout=60)
        try:
            until(lambda: self.kubectl("get", "pods", "-o", "name", check=False).stdout == "", "pods gone",
                  timeout=120)
            self.kubectl("delete", "pvc", "--all", "--wait=false", check=False, timeout=60)
            until(lambda: self.kubectl("get", "pv", "-o", "name", check=False).stdout == "", "PVs gone",
                  timeout=60)
        except AssertionError:
            pass  # the test that left them failed already; the directories go with the base
        super().stop()


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = PvcCluster(busybox_tar)
    yield c
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


def storage(c):
    return os.path.join(c.data, "storage")


def phase(c, kind, name):
    p = c.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(p.stdout).get("status", {}).get("phase") if p.returncode == 0 else None


def events(c, name, reason):
    evs = c.get("events", "--field-selector", f"involvedObject.name={name}")["items"]
    return [e for e in evs if e["reason"] == reason]


def test_default_storage_class(cluster):
    c = cluster
    sc = until(lambda: c.kubectl("get", "storageclass", "local-path", "-o", "json", check=False).stdout,
               "the default StorageClass")
    sc = json.loads(sc)
    assert sc["provisioner"] == "berth.dev/local-path"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == "Delete"


def test_pvc_pending_until_used_then_bound(cluster):
    c = cluster
    until(lambda: c.kubectl("get", "sc", "local-path", check=False).returncode == 0, "the default class")
    c.kubectl("apply", "-f", "-", input=PVC.format(name="data"))
    pvc = c.get("pvc", "data")
    assert pvc["spec"]["storageClassName"] == "local-path"  # DefaultStorageClass admission
    # the controller saw it and waits for a consumer
    until(lambda: events(c, "data", "WaitForFirstConsumer"), "WaitForFirstConsumer event")
    assert phase(c, "pvc", "data") == "Pending"
    assert c.kubectl("get", "pv", "-o", "name").stdout == ""

    c.kubectl("apply", "-f", "-", input=WRITER.format(name="writer", claim="data", extra=""))
    until(lambda: pod_ready(c, "writer"), "writer Running", timeout=180)
    until(lambda: phase(c, "pvc", "data") == "Bound", "claim Bound")
    pvc = c.get("pvc", "data")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "up-node"
    uid = pvc["metadata"]["uid"]
    assert pvc["spec"]["volumeName"] == f"pvc-{uid}"
    assert pvc["status"]["capacity"] == {"storage": "64Mi"}
    assert pvc["status"]["accessModes"] == ["ReadWriteOnce"]

    pv = c.get("pv", f"pvc-{uid}")
    assert pv["status"]["phase"] == "Bound"
    path = os.path.join(storage(c), f"pvc-{uid}_default_data")
    assert pv["spec"]["hostPath"]["path"] == path
    assert pv["spec"]["capacity"] == {"storage": "64Mi"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["storageClassName"] == "local-path"
    ref = pv["spec"]["claimRef"]
    assert (ref["namespace"], ref["name"], ref["uid"]) == ("default", "data", uid)
    (term,) = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["up-node"]}]

    # the container's file is in the node's directory, made 0777
    until(lambda: os.path.exists(os.path.join(path, "hello")), "the file on the node")
    with open(os.path.join(path, "hello")) as f:
        assert f.read() == "hello-from-writer\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o777

    out = c.kubectl("get", "pvc,pv").stdout.splitlines()
    pvc_head = out.index(next(l for l in out if l.startswith("NAME") and "STATUS" in l.split()[1]))
    assert out[pvc_head].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                                     "VOLUMEATTRIBUTESCLASS", "AGE"]
    row = next(l for l in out if l.startswith("persistentvolumeclaim/data "))
    assert row.split()[:7] == ["persistentvolumeclaim/data", "Bound", f"pvc-{uid}", "64Mi", "RWO", "local-path",
                               "<unset>"]
    pv_head = next(l for l in out if l.startswith("NAME") and l.split()[1] == "CAPACITY")
    assert pv_head.split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
                               "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    row = next(l for l in out if l.startswith(f"persistentvolume/pvc-{uid} "))
    assert row.split()[:8] == [f"persistentvolume/pvc-{uid}", "64Mi", "RWO", "Delete", "Bound", "default/data",
                               "local-path", "<unset>"]
    sc = c.kubectl("get", "sc", "local-path").stdout.splitlines()
    assert sc[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert sc[1].split()[:6] == ["local-path", "(default)", "berth.dev/local-path", "Delete", "WaitForFirstConsumer",
                                 "false"], "the default class is marked as kubectl marks it"
    desc = c.kubectl("describe", "pvc", "data").stdout
    assert "ProvisioningSucceeded" in desc and f"Successfully provisioned volume pvc-{uid}" in desc
    assert "ExternalProvisioning" in desc


def test_missing_claim_is_unschedulable(cluster):
    c = cluster
    c.kubectl("apply", "-f", "-", input=WRITER.format(name="orphan", claim="nosuch", extra=""))

    def cond():
        for x in c.get("pod", "orphan").get("status", {}).get("conditions", []):
            if x["type"] == "PodScheduled" and x["status"] == "False":
                return x
    x = until(cond, "PodScheduled False")
    assert x["reason"] == "Unschedulable"
    assert x["message"] == ('0/1 nodes are available: persistentvolumeclaim "nosuch" not found. preemption: '
                            '0/1 nodes are available: 1 Preemption is not helpful for scheduling.')
    assert not c.get("pod", "orphan")["spec"].get("nodeName")
    c.kubectl("delete", "pod", "orphan", "--wait=false")


def test_pod_waits_for_unbound_claim(cluster):
    c = cluster
    c.kubectl("apply", "-f", "-", input=PVC.format(name="late"))
    # placed on the node directly: no scheduler, so nothing selected a node
    c.kubectl("apply", "-f", "-", input=WRITER.format(name="waiter", claim="late", extra="nodeName: up-node"))
    ev = until(lambda: events(c, "waiter", "FailedMount"), "FailedMount event")
    assert ev[0]["type"] == "Warning"
    assert ev[0]["message"] == ("Unable to attach or mount volumes: unmounted volumes=[data], unattached "
                                "volumes=[data], failed to process volumes=[data]: error processing PVC "
                                "default/late: PVC is not bound")
    st = c.get("pod", "waiter")["status"]
    assert st["phase"] == "Pending"
    (cs,) = st["containerStatuses"]
    assert cs["state"]["waiting"]["reason"] == "ContainerCreating"
    # what the scheduler would have done: the provisioner binds, the pod starts
    c.kubectl("annotate", "pvc", "late", "volume.kubernetes.io/selected-node=up-node")
    until(lambda: pod_ready(c, "waiter"), "waiter Running once the claim is Bound", timeout=180)
    assert phase(c, "pvc", "late") == "Bound"
    uid = c.get("pvc", "late")["metadata"]["uid"]
    assert c.kubectl("exec", "waiter", "--", "cat", "/data/hello").stdout == "hello-from-waiter\n"
    assert os.path.exists(os.path.join(storage(c), f"pvc-{uid}_default_late", "hello"))


def test_statefulset_keeps_data_across_pod_recreation(cluster):
    c = cluster
    c.kubectl("apply", "-f", "-", input=STS)
    until(lambda: pod_ready(c, "web-0"), "web-0 Running", timeout=180)
    until(lambda: phase(c, "pvc", "www-web-0") == "Bound", "www-web-0 Bound")
    first = until(lambda: c.kubectl("exec", "web-0", "--", "cat", "/www/first", check=False).stdout.strip(),
                  "web-0 wrote its stamp")
    uid0 = c.get("pod", "web-0")["metadata"]["uid"]
    c.kubectl("delete", "pod", "web-0")
    until(lambda: pod_ready(c, "web-0") and c.get("pod", "web-0")["metadata"]["uid"] != uid0,
          "web-0 re-created and Running", timeout=180)
    assert c.kubectl("exec", "web-0", "--", "cat", "/www/first").stdout.strip() == first
    assert len(c.get("pv")["items"]) >= 1 and phase(c, "pvc", "www-web-0") == "Bound"


def test_deleting_claim_deletes_volume_and_directory(cluster):
    c = cluster
    pvc = c.get("pvc", "data")
    uid = pvc["metadata"]["uid"]
    path = os.path.join(storage(c), f"pvc-{uid}_default_data")
    assert os.path.isdir(path)
    c.kubectl("delete", "pod", "writer")
    c.kubectl("delete", "pvc", "data")
    until(lambda: c.kubectl("get", "pv", f"pvc-{uid}", check=False).returncode != 0, "the PV deleted")
    until(lambda: not os.path.exists(path), "the directory removed")
    # the other claims' volumes stay
    late = c.get("pvc", "late")["metadata"]["uid"]
    assert os.path.isdir(os.path.join(storage(c), f"pvc-{late}_default_late"))


def nat_rules():
    return subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True, check=True).stdout


def test_host_port_reaches_pod(cluster):
    c = cluster
    port = free_port()
    c.kubectl("apply", "-f", "-", input=HOSTPORT.format(port=port))
    until(lambda: pod_ready(c, "hp"), "hp Running and ready", timeout=180)

    def fetch(host):
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=3) as r:
                return r.read().decode()
        except OSError:
            return None
    assert until(lambda: fetch("127.0.0.1"), "hostPort on loopback", timeout=60) == "hostport-ok\n"
    assert until(lambda: fetch(c.node_ip), "hostPort on the node address", timeout=60) == "hostport-ok\n"
    assert f"--dport {port} " in nat_rules()  # the portmap plugin's DNAT
    c.kubectl("delete", "pod", "hp")
    until(lambda: f"--dport {port} " not in nat_rules(), "the hostPort mapping removed with the pod", timeout=60)
    assert fetch("127.0.0.1") is None
