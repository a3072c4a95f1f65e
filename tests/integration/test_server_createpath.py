"""The API server's create path and its pod sweep as kubectl users see them,
after the work to make creates cheaper: a create answers with exactly the
object a GET returns (the stored text with its resourceVersion), a create in
a terminating namespace is refused (checked on the watch cache's text), and
a pod whose grace period ran out while the server was down is removed by
the first pod scan after the restart (terminating pods found on the watch
cache's texts, the others never decoded), while the other pods stay.

One `berth server` (controllers and scheduler off: none of this is theirs)
serves the module; every wait is a poll with a generous deadline; the server
is stopped by PID.
"""
import json
import shutil
import time
from datetime import datetime, timezone

import pytest

from apiserver_harness import ApiServer, until


class Server(ApiServer):
    def __init__(self):
        super().__init__(["--disable-controllers", "--disable-scheduler"], "berth-createpath-")

    def kubectl(self, *args, check=True, input=None):
        return self.run_kubectl(*args, check=check, input=input)

    def get(self, kind, name, ns):
        p = self.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
        if p.returncode != 0:
            assert "NotFound" in p.stderr, p.stderr
            return None
        return json.loads(p.stdout)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def pod(name, node=None, grace=None):
    spec = {"containers": [{"name": "c", "image": "busybox:1",
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "x"}}, "spec": spec}


def test_create_answers_with_the_stored_object(server):
    server.kubectl("create", "namespace", "cp-answer")
    path = "/api/v1/namespaces/cp-answer/pods"
    created = json.loads(server.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(pod("p1"))).stdout)
    meta = created["metadata"]
    assert meta["resourceVersion"] and meta["uid"] and meta["creationTimestamp"]
    assert created["spec"]["containers"][0]["name"] == "c" and created["spec"]["restartPolicy"] == "Always"
    assert meta["managedFields"][0]["operation"] == "Update", "the answer carries what was stored"
    got = json.loads(server.kubectl("get", "--raw", path + "/p1").stdout)
    assert created == got, "a GET returns exactly what the create answered"
    # and the next write's resourceVersion is above the one answered
    server.kubectl("label", "pod", "p1", "-n", "cp-answer", "x=y")
    assert int(server.get("pod", "p1", "cp-answer")["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])


def test_create_in_a_terminating_namespace_is_refused(server):
    ns = "cp-term"
    server.kubectl("create", "namespace", ns)
    server.kubectl("create", "configmap", "held", "-n", ns)
    server.kubectl("patch", "configmap", "held", "-n", ns, "--type=merge",
                   "-p", '{"metadata":{"finalizers":["example.com/hold"]}}')
    assert server.kubectl("create", "configmap", "before", "-n", ns, check=False).returncode == 0
    server.kubectl("delete", "namespace", ns, "--wait=false")
    until(lambda: (server.get("namespace", ns, "default") or {}).get("metadata", {}).get("deletionTimestamp"),
          "the namespace terminating")

    def refused():
        p = server.kubectl("create", "configmap", "late", "-n", ns, check=False)
        if p.returncode == 0:  # the cache had not seen the deletion yet: try again with another name
            server.kubectl("delete", "configmap", "late", "-n", ns, "--wait=false", check=False)
            return False
        return p.stderr
    err = until(refused, "a create refused")
    assert "forbidden" in err and "because it is being terminated" in err, err
    server.kubectl("patch", "configmap", "held", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')


def rfc3339(ts):
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def test_grace_period_that_ran_out_while_down_ends_after_restart(server):
    ns = "cp-sweep"
    server.kubectl("create", "namespace", ns)
    for p in (pod("going", node="no-agent-node", grace=3), pod("staying", node="no-agent-node"),
              pod("pending")):
        server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(p))
    server.kubectl("delete", "pod", "going", "-n", ns, "--wait=false")
    deadline = rfc3339(server.get("pod", "going", ns)["metadata"]["deletionTimestamp"])
    server.stop()
    # the grace period ends while no server runs: only the pod scan after
    # the restart can finish the deletion (this server's own reminder is gone)
    until(lambda: time.time() > deadline + 1, "the grace period over", timeout=30)
    server.start()
    until(lambda: server.get("pod", "going", ns) is None, "the terminating pod removed after the restart")
    assert server.get("pod", "staying", ns) is not None, "a bound pod not being deleted stays"
    assert server.get("pod", "pending", ns) is not None, "so does a pending one"
