"""`berth server`'s in-process components (controllers, scheduler, their
informers) reach the API without loopback HTTPS (apiserver/local-kube.h):
they still act on what kubectl does (a ReplicaSet gets its pods, scaling
down deletes them, the scheduler binds them to the Node), while the server
process holds no TCP connection to its own port, and its thread count does
not grow with the watches those components keep.

One `berth server` (a Ready Node object, no agent) for the module; every
wait is a poll with a generous deadline; the server is stopped by PID.
"""
import json
import os
import shutil

import pytest

from apiserver_harness import ApiServer, until as harness_until


def until(fn, what):
    return harness_until(fn, what, timeout=90)


def own_connections(pid, port):
    """The server's client-side TCP connections to 127.0.0.1:port (its own
    sockets whose remote end is the listen port)."""
    inodes = set()
    for d in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{d}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            rport = int(fields[2].split(":")[1], 16)
            if rport == port and fields[3] == "01" and fields[9] in inodes:
                n += 1
    return n


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("Threads:"))


@pytest.fixture(scope="module")
def server():
    srv = ApiServer((), "berth-local-")
    try:
        kubectl = srv.run_kubectl
        res = {"cpu": "8", "memory": "16Gi", "pods": "110"}
        kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}))
        kubectl("patch", "node", "n1", "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
            "capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True"}]}}))
        yield srv.proc, srv.port, kubectl
    finally:
        srv.stop()
        shutil.rmtree(srv.data, ignore_errors=True)


def pods(kubectl):
    return json.loads(kubectl("get", "pods", "-l", "app=local", "-o", "json").stdout)["items"]


def test_controllers_and_scheduler_work_without_loopback_connections(server):
    proc, port, kubectl = server
    before = threads(proc.pid)
    kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "local"}, "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "local"}}, "template": {
                "metadata": {"labels": {"app": "local"}}, "spec": {"terminationGracePeriodSeconds": 0,
                                                                    "containers": [{"name": "c", "image": "busybox"}]}}}}))
    # the ReplicaSet controller's watch saw the create; the scheduler's bound the pods
    until(lambda: len(pods(kubectl)) == 3 and all(p["spec"].get("nodeName") == "n1" for p in pods(kubectl)),
          "3 pods created and bound to n1")
    kubectl("scale", "replicaset", "local", "--replicas=1")
    until(lambda: len([p for p in pods(kubectl) if not p["metadata"].get("deletionTimestamp")]) == 1,
          "scaled down to 1 pod")
    assert own_connections(proc.pid, port) == 0, "in-process clients must not connect to the server's port"
    # a watch is a thread of the component that keeps it, not one more
    # connection thread (and TLS session) in the server as well
    assert threads(proc.pid) <= before + 4, (before, threads(proc.pid))
