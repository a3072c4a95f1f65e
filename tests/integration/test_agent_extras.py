"""What the node agent does beyond running pods, as the kubelet does:

- configMap / secret / downwardAPI volumes follow their objects (the
  periodic sync, `--volume-refresh 1s` here), through the ..data swap; a
  subPath mount keeps the old content;
- securityContext fsGroup / supplementalGroups: the volumes' group, setgid
  directories, the process's supplementary groups;
- shareProcessNamespace: containers of the pod see each other's processes,
  PID 1 is the pod's "pause" holder, which goes with the pod;
- mirror pods of static pods (--pod-manifest-path with --server): created,
  re-created after a delete while the static pod keeps running, deleted with
  the manifest;
- the local-path provisioner's directory is removed by the agent once its
  PV is deleted;
- a pod asking for a hostPort another pod of the node holds is rejected
  (Failed, NodePorts) and never takes the port.

One `berth server` and one agent (private roots, node NODE), real kubectl;
each test uses its own namespace.  Teardown (test_agent_api.Cluster.cleanup)
deletes the pods, waits for the agent to stop them and checks that nothing
is left (pod dirs, pinned namespaces, cgroups, mounts, processes).
"""
import json
import os
import subprocess
import urllib.request

import pytest

import test_agent_api
from test_agent_api import wait_for, free_port

NODE = "extras-node"


class ExtrasCluster(test_agent_api.Cluster):
    def __init__(self, busybox_tar):
        super().__init__(busybox_tar)
        self.busybox_tar = busybox_tar
        self.manifests = os.path.join(self.base, "manifests")
        os.makedirs(self.manifests)
        self.holders = []

    def start_agent(self):
        self.agent_log = open(os.path.join(self.base, "agent.log"), "a")
        self.agent = subprocess.Popen(
            self.berth("agent", "--server", f"https://127.0.0.1:{self.port}", "--token", self.token,
                       "--ca-file", os.path.join(self.data, "tls", "ca.crt"), "--node-name", NODE,
                       "--kubelet-port", "0", "--pod-cidr", "10.244.214.0/24", "--volume-refresh", "1s",
                       "--node-status-update-frequency", "1s", "--pod-manifest-path", self.manifests,
                       "--file-check-frequency", "1s"),
            stdout=self.agent_log, stderr=subprocess.STDOUT)

    def create_pod(self, ns, name, containers, **spec):
        s = {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": containers}
        s.update(spec)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": s}
        self.kubectl("create", "-f", "-", input=json.dumps(pod))
        uid = self.get("pod", name, ns)["metadata"]["uid"]
        self.uids[f"{ns}/{name}"] = uid
        return uid

    def cleanup(self):
        for f in os.listdir(self.manifests):
            os.unlink(os.path.join(self.manifests, f))
        problems = super().cleanup()
        for pid, start in self.holders:
            if proc_start(pid) == start:
                problems.append(f"pause process {pid} left")
        return problems


def proc_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = ExtrasCluster(busybox_tar)
    c.start_agent()
    yield c
    problems = c.cleanup()
    assert not problems, problems


def sleeper(name, marker="3000", **extra):
    c = {"name": name, "image": "bb:latest", "imagePullPolicy": "Never", "command": ["sleep", marker]}
    c.update(extra)
    return c


def running(c, ns, name, n=1):
    f = c.kubectl("get", "pod", name, "-n", ns, "--no-headers", check=False).split()
    return len(f) >= 3 and f[1] == f"{n}/{n}" and f[2] == "Running"


def exec_out(c, ns, pod, *cmd, container=None):
    args = ["exec", pod, "-n", ns] + (["-c", container] if container else []) + ["--"] + list(cmd)
    p = subprocess.run([test_agent_api.KUBECTL, "--kubeconfig", c.kubeconfig] + args, capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, HOME=c.base))
    return p.stdout if p.returncode == 0 else None


def test_volumes_follow_their_objects(cluster):
    c = cluster
    ns = c.namespace("refresh")
    c.kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=one", "--from-literal=gone=soon")
    c.kubectl("create", "secret", "generic", "sec", "-n", ns, "--from-literal=b=first")
    c.create_pod(ns, "reader", [sleeper("main", volumeMounts=[
        {"name": "cm", "mountPath": "/cm"}, {"name": "sec", "mountPath": "/sec"},
        {"name": "dw", "mountPath": "/dw"}, {"name": "cm", "mountPath": "/sub/a", "subPath": "a"}])],
        volumes=[{"name": "cm", "configMap": {"name": "cm"}}, {"name": "sec", "secret": {"secretName": "sec"}},
                 {"name": "dw", "downwardAPI": {"items": [{"path": "labels",
                                                           "fieldRef": {"fieldPath": "metadata.labels"}}]}}])
    wait_for(lambda: running(c, ns, "reader"), "reader Running")
    assert exec_out(c, ns, "reader", "cat", "/cm/a") == "one"
    assert exec_out(c, ns, "reader", "cat", "/sec/b") == "first"
    assert exec_out(c, ns, "reader", "cat", "/sub/a") == "one"
    before = exec_out(c, ns, "reader", "readlink", "/cm/..data").strip()
    c.kubectl("patch", "configmap", "cm", "-n", ns, "--type=json",
              "-p", '[{"op":"replace","path":"/data/a","value":"two"},{"op":"remove","path":"/data/gone"}]')
    c.kubectl("patch", "secret", "sec", "-n", ns, "-p", '{"data":{"b":"c2Vjb25k"}}')
    c.kubectl("label", "pod", "reader", "-n", ns, "color=blue")
    wait_for(lambda: exec_out(c, ns, "reader", "cat", "/cm/a") == "two", "the configMap volume updated")
    wait_for(lambda: exec_out(c, ns, "reader", "cat", "/sec/b") == "second", "the secret volume updated")
    wait_for(lambda: 'color="blue"' in (exec_out(c, ns, "reader", "cat", "/dw/labels") or ""),
             "the downwardAPI volume updated")
    listing = exec_out(c, ns, "reader", "ls", "-a", "/cm").split()
    assert "gone" not in listing and "a" in listing, listing
    after = exec_out(c, ns, "reader", "readlink", "/cm/..data").strip()
    assert after.startswith("..") and after != before, (before, after)
    # a subPath mount is the file itself: it keeps the old content (as in Kubernetes)
    assert exec_out(c, ns, "reader", "cat", "/sub/a") == "one"
    # an object that did not change is not rewritten: after another change
    # of the configMap shows (a later refresh pass), the secret's ..data is
    # the same directory
    sec = exec_out(c, ns, "reader", "readlink", "/sec/..data").strip()
    c.kubectl("patch", "configmap", "cm", "-n", ns, "-p", '{"data":{"a":"three"}}')
    wait_for(lambda: exec_out(c, ns, "reader", "cat", "/cm/a") == "three", "the second configMap change")
    assert exec_out(c, ns, "reader", "readlink", "/sec/..data").strip() == sec
    assert exec_out(c, ns, "reader", "cat", "/sec/b") == "second"


def test_fs_group_and_supplemental_groups(cluster):
    c = cluster
    ns = c.namespace("fsgroup")
    c.kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=1")
    c.create_pod(ns, "grp", [sleeper("main", volumeMounts=[{"name": "data", "mountPath": "/data"},
                                                             {"name": "cm", "mountPath": "/cm"}])],
                 securityContext={"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                                  "supplementalGroups": [4000], "fsGroupChangePolicy": "OnRootMismatch"},
                 volumes=[{"name": "data", "emptyDir": {}}, {"name": "cm", "configMap": {"name": "cm"}}])
    wait_for(lambda: running(c, ns, "grp"), "grp Running")
    ident = exec_out(c, ns, "grp", "id")
    assert "uid=1000" in ident and "gid=3000" in ident, ident
    groups = exec_out(c, ns, "grp", "id", "-G").split()
    assert "2000" in groups and "4000" in groups, groups
    st = exec_out(c, ns, "grp", "stat", "-c", "%g %A", "/data").split()
    assert st[0] == "2000" and st[1][6] in "sS" and st[1][4:6] == "rw", st
    # a file the process makes inherits the group of the setgid directory
    assert exec_out(c, ns, "grp", "sh", "-c", "echo x > /data/f && stat -c %g /data/f").strip() == "2000"
    assert exec_out(c, ns, "grp", "stat", "-L", "-c", "%g", "/cm/a").strip() == "2000"
    # the group is what lets uid 1000 write into the volume's directory
    assert exec_out(c, ns, "grp", "sh", "-c", "mkdir /data/sub && stat -c %g /data/sub").strip() == "2000"
    # without fsGroup: nothing of that
    c.create_pod(ns, "plain", [sleeper("main", volumeMounts=[{"name": "data", "mountPath": "/data"}])],
                 securityContext={"runAsUser": 1000}, volumes=[{"name": "data", "emptyDir": {}}])
    wait_for(lambda: running(c, ns, "plain"), "plain Running")
    assert "2000" not in exec_out(c, ns, "plain", "id", "-G").split()
    assert exec_out(c, ns, "plain", "stat", "-c", "%g", "/data").strip() == "0"


def test_groups_added_to_a_named_image_user(cluster):
    """fsGroup and supplementalGroups join the groups of a user the image names
    (resolved in the container's /etc/group), as the kubelet's runtime does."""
    c = cluster
    subprocess.run(c.berth("import", "--change", "USER app", "--change", 'CMD ["/bin/sh"]', c.busybox_tar,
                           "bb-app:1"), check=True, capture_output=True)
    ns = c.namespace("namedgrp")
    c.create_pod(ns, "app", [dict(sleeper("main"), image="bb-app:1")],
                 securityContext={"fsGroup": 2100, "supplementalGroups": [4100]})
    wait_for(lambda: running(c, ns, "app"), "app Running")
    status = exec_out(c, ns, "app", "cat", "/proc/1/status")
    assert "\nUid:\t1000\t" in status and "\nGroups:\t10 2100 4100" in status, status
    ident = exec_out(c, ns, "app", "id")
    assert "uid=1000(app)" in ident, ident
    groups = exec_out(c, ns, "app", "id", "-G").split()
    assert "10" in groups, f"the image user's own group (wheel) stays: {groups}"
    assert "2100" in groups and "4100" in groups, groups


def test_share_process_namespace(cluster):
    c = cluster
    ns = c.namespace("sharepid")
    c.create_pod(ns, "shared", [sleeper("one", "3101"), sleeper("two", "3102")], shareProcessNamespace=True)
    c.create_pod(ns, "apart", [sleeper("one", "3201"), sleeper("two", "3202")])
    wait_for(lambda: running(c, ns, "shared", 2) and running(c, ns, "apart", 2), "both pods Running")
    ps = exec_out(c, ns, "shared", "ps", "-o", "pid,args", container="two")
    assert "sleep 3101" in ps and "sleep 3102" in ps, ps
    assert exec_out(c, ns, "shared", "cat", "/proc/1/comm", container="one").strip() == "pause"
    ps2 = exec_out(c, ns, "apart", "ps", "-o", "pid,args", container="two")
    assert "sleep 3202" in ps2 and "sleep 3201" not in ps2, ps2
    # the holder goes with the pod
    sb = json.load(open(os.path.join(c.pod_dir(ns, "shared"), "sandbox.json")))
    pid = sb["pidHolder"]
    start = proc_start(pid)
    assert start is not None
    c.holders.append((pid, start))
    c.kubectl("delete", "pod", "shared", "-n", ns)
    wait_for(lambda: proc_start(pid) != start, "the pause process gone")


def test_mirror_pod_of_static_pod(cluster):
    c = cluster
    manifest = os.path.join(c.manifests, "web.yaml")
    with open(manifest + ".tmp", "w") as f:
        f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web}\n"
                "spec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n"
                "    image: bb:latest\n    imagePullPolicy: Never\n    command: [sleep, '3300']\n")
    os.rename(manifest + ".tmp", manifest)
    name = f"web-{NODE}"

    def mirror():
        p = c.get("pod", name, "default")
        return p if p and p.get("status", {}).get("phase") == "Running" else None
    m = wait_for(mirror, "the mirror pod Running")
    ann = m["metadata"]["annotations"]
    assert ann["kubernetes.io/config.mirror"] == ann["kubernetes.io/config.hash"]
    assert ann["kubernetes.io/config.source"] == "file"
    owner = m["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "Node" and owner["name"] == NODE and owner["uid"] == c.get("node", NODE)["metadata"]["uid"]
    assert m["metadata"]["labels"] == {"app": "web"} and m["spec"]["nodeName"] == NODE
    assert m["status"]["containerStatuses"][0]["ready"] is True
    static_dir = c.pod_dir("default", name)
    state = json.load(open(os.path.join(static_dir, "main", "state.json")))
    # deleted by someone: it comes back, the static pod keeps running
    c.kubectl("delete", "pod", name, "--wait=false")
    wait_for(lambda: (c.get("pod", name, "default") or {}).get("metadata", {}).get("uid") not in
             (None, m["metadata"]["uid"]), "the mirror pod re-created")
    assert c.pod_dir("default", name) == static_dir
    again = json.load(open(os.path.join(static_dir, "main", "state.json")))
    assert again.get("pid") == state.get("pid") and os.path.exists(f"/proc/{state.get('pid')}")
    # the manifest goes: the mirror goes
    os.unlink(manifest)
    wait_for(lambda: c.get("pod", name, "default") is None, "the mirror pod deleted")
    wait_for(lambda: c.pod_dir("default", name) is None, "the static pod stopped")


def test_local_path_directory_removed_with_its_volume(cluster):
    c = cluster
    ns = c.namespace("localpath")
    for claim in ("data", "keep"):
        c.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": ns,
                         "annotations": {"volume.kubernetes.io/selected-node": NODE}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}}))
    for claim in ("data", "keep"):
        wait_for(lambda: (c.get("pvc", claim, ns) or {}).get("status", {}).get("phase") == "Bound", f"{claim} Bound")
    paths = {}
    for claim in ("data", "keep"):
        pv = c.get("pv", c.get("pvc", claim, ns)["spec"]["volumeName"])
        paths[claim] = pv["spec"]["hostPath"]["path"]
        c.create_pod(ns, f"use-{claim}", [sleeper("main", command=["sh", "-c", "echo hi > /v/f && exec sleep 3400"],
                                                  volumeMounts=[{"name": "v", "mountPath": "/v"}])],
                     volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": claim}}])
    for claim in ("data", "keep"):
        wait_for(lambda: running(c, ns, f"use-{claim}"), f"use-{claim} Running")
        wait_for(lambda: os.path.exists(os.path.join(paths[claim], "f")), f"{claim}'s file written")
    assert os.path.basename(paths["data"]).startswith(c.get("pvc", "data", ns)["spec"]["volumeName"] + "_")
    c.kubectl("delete", "pod", "use-data", "-n", ns)
    c.kubectl("delete", "pvc", "data", "-n", ns)
    wait_for(lambda: not os.path.exists(paths["data"]), "the agent removed the deleted volume's directory")
    assert os.path.isdir(paths["keep"]), "another claim's directory stays"
    c.kubectl("delete", "pod", "use-keep", "-n", ns)
    c.kubectl("delete", "pvc", "keep", "-n", ns)
    wait_for(lambda: not os.path.exists(paths["keep"]), "the second directory removed")


def fetch(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:
            return r.read().decode()
    except OSError:
        return None


def test_host_port_conflict_rejected(cluster):
    c = cluster
    ns = c.namespace("hostport")
    port = free_port()

    def web(name, text, proto="TCP"):
        return {"name": name, "image": "bb:latest", "imagePullPolicy": "Never",
                "command": ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"],
                "ports": [{"containerPort": 80, "hostPort": port, "protocol": proto}]}
    c.create_pod(ns, "first", [web("httpd", "first")])
    wait_for(lambda: running(c, ns, "first"), "first Running")
    assert wait_for(lambda: fetch(port), "the hostPort answers") == "first\n"
    c.create_pod(ns, "second", [web("httpd", "second")])

    def failed():
        p = c.get("pod", "second", ns)
        return p if p and p.get("status", {}).get("phase") == "Failed" else None
    st = wait_for(failed, "second rejected")["status"]
    assert st["reason"] == "NodePorts"
    assert st["message"] == ("Pod was rejected: Predicate NodePorts failed: "
                             "node(s) didn't have free ports for the requested pod ports")
    assert c.pod_dir(ns, "second") is None, "nothing of the rejected pod runs"
    evs = wait_for(lambda: [e for e in c.json("get", "events", "-n", ns)["items"]
                            if e["involvedObject"]["name"] == "second" and e["reason"] == "NodePorts"], "the Event")
    assert evs[0]["type"] == "Warning" and evs[0]["message"].startswith("Predicate NodePorts failed")
    assert fetch(port) == "first\n", "the port stays with the first pod"
    # the same port for UDP is free
    c.create_pod(ns, "udp", [web("httpd", "udp", proto="UDP")])
    wait_for(lambda: running(c, ns, "udp"), "the UDP pod Running")
    # the holder goes; the rejected pod stays rejected
    c.kubectl("delete", "pod", "first", "-n", ns)
    wait_for(lambda: c.pod_dir(ns, "first") is None, "first gone")
    assert c.get("pod", "second", ns)["status"]["phase"] == "Failed" and c.pod_dir(ns, "second") is None
