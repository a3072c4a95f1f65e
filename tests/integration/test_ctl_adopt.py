"""What the workload controllers do beyond making pods, driven by the real
kubectl against `berth server` (controllers in-process):

* DaemonSet and StatefulSet adoption: `kubectl delete --cascade=orphan`
  leaves the pods running without an owner, and a new set with the same
  selector adopts them (names and uids unchanged, nothing restarts); a pod
  whose labels stop matching is released;
* the Job's batch.kubernetes.io/job-tracking finalizer: on every pod until
  the pod is counted, a finished pod deleted early is still counted, the
  pods of a deleted Job lose it;
* Event aggregation: a repeated event is one Event with a count ("(x3 over
  ...)" in describe), similar events beyond 10 are combined.

One server for the module (free port, temp data dir, stopped by PID); each
test works in its own namespace; Node objects are made and deleted here.
There is no node agent: `Server.kubelet()` (test_workloads.py) binds pods
and marks them Running and Ready, `finish()` (test_jobs.py) ends them.
"""
import json
import shutil

import pytest

from test_jobs import finish
from test_workloads import Server, until

NODES = ["adopt-n1", "adopt-n2"]


@pytest.fixture(scope="module")
def server():
    s = Server()
    for n in NODES:
        s.node(n)
    yield s
    for n in NODES:
        s.run("delete", "node", n, "--ignore-not-found")
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def namespace(server, name):
    server.kubectl("create", "namespace", name)
    return name


def get(server, ns, kind, name):
    p = server.run("get", kind, name, "-n", ns, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def controller_uid(obj):
    for r in obj["metadata"].get("ownerReferences", []):
        if r.get("controller"):
            return r["uid"]
    return None


def ids(pods):
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods}


def revisions(server, ns):
    return server.json("get", "controllerrevisions", "-n", ns)["items"]


def orphan_delete(server, ns, kind, name):
    server.kubectl("delete", kind, name, "-n", ns, "--cascade=orphan")
    until(lambda: get(server, ns, kind, name) is None, f"{kind} {name} gone")


DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      name: agent
  template:
    metadata:
      labels:
        name: agent
    spec:
      containers:
      - name: c1
        image: busybox:1.36
        imagePullPolicy: IfNotPresent
"""


def ds_settled(server, ns, want):
    """Play the kubelet; the DaemonSet once its status shows want pods ready and updated."""
    server.kubelet(ns)
    ds = get(server, ns, "ds", "agent")
    st = (ds or {}).get("status", {})
    done = all(st.get(k) == want for k in ("desiredNumberScheduled", "currentNumberScheduled",
                                            "updatedNumberScheduled", "numberReady", "numberAvailable"))
    return done and st.get("observedGeneration") == ds["metadata"]["generation"] and ds


def test_daemonset_orphan_then_readopt_keeps_pods(server):
    ns = namespace(server, "adopt-ds")
    server.kubectl("apply", "-n", ns, "-f", "-", input=DAEMONSET)
    ds = until(lambda: ds_settled(server, ns, 2), "the DaemonSet's two pods ready")
    pods = server.live(ns)
    assert len(pods) == 2 and all(controller_uid(p) == ds["metadata"]["uid"] for p in pods)
    before = ids(pods)
    revs = {r["metadata"]["name"] for r in revisions(server, ns)}
    assert len(revs) == 1

    orphan_delete(server, ns, "ds", "agent")
    left = server.live(ns)
    assert ids(left) == before, "the pods outlive their DaemonSet"
    assert all(not p["metadata"].get("ownerReferences") for p in left), "and have no owner"
    assert all(not r["metadata"].get("ownerReferences") for r in revisions(server, ns))

    server.kubectl("apply", "-n", ns, "-f", "-", input=DAEMONSET)
    ds2 = until(lambda: get(server, ns, "ds", "agent"), "the new DaemonSet")
    uid2 = ds2["metadata"]["uid"]
    assert uid2 != ds["metadata"]["uid"]
    until(lambda: (lambda ps: len(ps) == 2 and all(controller_uid(p) == uid2 for p in ps))(server.live(ns)),
          "both pods adopted by the new DaemonSet")
    until(lambda: ds_settled(server, ns, 2), "the new DaemonSet settled")
    assert ids(server.live(ns)) == before, "same names and uids: nothing was restarted"
    crs = revisions(server, ns)
    assert {r["metadata"]["name"] for r in crs} == revs, "the old revision was adopted, no new one"
    assert all(controller_uid(r) == uid2 for r in crs)
    row = server.kubectl("get", "ds", "agent", "-n", ns).splitlines()[1].split()
    assert row[1:6] == ["2", "2", "2", "2", "2"], row

    # a pod whose labels stop matching is released (and left running); its node gets a new one
    victim = sorted(before)[0]
    server.kubectl("label", "pod", victim, "-n", ns, "name=debug", "--overwrite")
    released = until(lambda: (lambda p: p and controller_uid(p) is None and p)(get(server, ns, "pod", victim)),
                     "the relabelled pod released")
    assert "deletionTimestamp" not in released["metadata"]
    until(lambda: (lambda ps: len(ps) == 2 and victim not in ids(ps))(
        [p for p in server.live(ns) if controller_uid(p) == uid2]) and ds_settled(server, ns, 2),
        "a replacement for the released pod")
    server.kubectl("delete", "namespace", ns, "--wait=false")


STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c1
        image: busybox:1.36
        imagePullPolicy: IfNotPresent
"""


def sts_settled(server, ns, want):
    server.kubelet(ns, NODES[0])
    sts = get(server, ns, "sts", "web")
    st = (sts or {}).get("status", {})
    done = all(st.get(k) == want for k in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas"))
    return done and st.get("observedGeneration") == sts["metadata"]["generation"] and sts


def test_statefulset_orphan_then_readopt_keeps_pods(server):
    ns = namespace(server, "adopt-sts")
    server.kubectl("apply", "-n", ns, "-f", "-", input=STATEFULSET)
    sts = until(lambda: sts_settled(server, ns, 2), "web-0 and web-1 ready")
    before = ids(server.live(ns))
    assert sorted(before) == ["web-0", "web-1"]
    revs = {r["metadata"]["name"] for r in revisions(server, ns)}

    orphan_delete(server, ns, "sts", "web")
    left = server.live(ns)
    assert ids(left) == before and all(not p["metadata"].get("ownerReferences") for p in left)

    server.kubectl("apply", "-n", ns, "-f", "-", input=STATEFULSET)
    sts2 = until(lambda: get(server, ns, "sts", "web"), "the new StatefulSet")
    uid2 = sts2["metadata"]["uid"]
    assert uid2 != sts["metadata"]["uid"]
    until(lambda: (lambda ps: len(ps) == 2 and all(controller_uid(p) == uid2 for p in ps))(server.live(ns)),
          "web-0 and web-1 adopted")
    until(lambda: sts_settled(server, ns, 2), "the new StatefulSet settled")
    assert ids(server.live(ns)) == before, "same names and uids: nothing was restarted"
    crs = revisions(server, ns)
    assert {r["metadata"]["name"] for r in crs} == revs and all(controller_uid(r) == uid2 for r in crs)
    st = get(server, ns, "sts", "web")["status"]
    assert st["currentRevision"] == st["updateRevision"] and st["updateRevision"] in revs
    server.kubectl("delete", "namespace", ns, "--wait=false")


JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  completions: 2
  parallelism: 2
  template:
    spec:
      containers:
      - name: c1
        image: busybox:1.36
        command: ["true"]
      restartPolicy: Never
"""
FINALIZER = "batch.kubernetes.io/job-tracking"


def tracked(pod):
    return FINALIZER in pod["metadata"].get("finalizers", [])


def job_pods(server, ns, uid):
    return [p for p in server.pods(ns) if controller_uid(p) == uid]


def test_job_pods_carry_the_finalizer_until_counted(server):
    ns = namespace(server, "track")
    server.kubectl("apply", "-n", ns, "-f", "-", input=JOB % "count")
    uid = until(lambda: get(server, ns, "job", "count"), "the job")["metadata"]["uid"]
    pods = until(lambda: (lambda ps: len(ps) == 2 and ps)(job_pods(server, ns, uid)), "two pods")
    assert all(tracked(p) for p in pods), "every pod is created with the tracking finalizer"
    a, b = sorted(pods, key=lambda p: p["metadata"]["name"])

    finish(server, ns, a)
    until(lambda: get(server, ns, "job", "count").get("status", {}).get("succeeded") == 1, "a counted")
    a_now = get(server, ns, "pod", a["metadata"]["name"])
    assert a_now and not tracked(a_now), "a counted pod loses the finalizer (and stays)"
    b_now = get(server, ns, "pod", b["metadata"]["name"])
    assert tracked(b_now), "a running pod keeps it"

    # b finishes and is deleted at once: counted all the same, then gone
    finish(server, ns, b)
    server.kubectl("delete", "pod", b["metadata"]["name"], "-n", ns, "--wait=false")
    j = until(lambda: (lambda j: any(c["type"] == "Complete" and c["status"] == "True"
                                     for c in j.get("status", {}).get("conditions", [])) and j)(
        get(server, ns, "job", "count")), "the job Complete")
    assert j["status"]["succeeded"] == 2 and "failed" not in j["status"]
    assert not j["status"].get("uncountedTerminatedPods"), j["status"]
    until(lambda: get(server, ns, "pod", b["metadata"]["name"]) is None, "the deleted pod gone")
    created = [e for e in server.json("get", "events", "-n", ns)["items"]
               if e["reason"] == "SuccessfulCreate" and e["involvedObject"]["name"] == "count"]
    assert sum(e.get("count", 1) for e in created) == 2, "no replacement pod was made"
    assert all(not tracked(p) for p in server.pods(ns))
    server.kubectl("delete", "namespace", ns, "--wait=false")


def test_pods_of_a_deleted_job_lose_the_finalizer(server):
    ns = namespace(server, "track-gone")
    server.kubectl("apply", "-n", ns, "-f", "-", input=JOB % "orphaned")
    uid = until(lambda: get(server, ns, "job", "orphaned"), "the job")["metadata"]["uid"]
    pods = until(lambda: (lambda ps: len(ps) == 2 and all(tracked(p) for p in ps) and ps)(
        job_pods(server, ns, uid)), "two tracked pods")
    orphan_delete(server, ns, "job", "orphaned")
    names = sorted(p["metadata"]["name"] for p in pods)
    until(lambda: (lambda ps: sorted(p["metadata"]["name"] for p in ps) == names and
                   not any(tracked(p) or p["metadata"].get("ownerReferences") for p in ps))(server.pods(ns)),
          "the orphaned pods without owner and finalizer")

    # deleted with its pods (background): they go, nothing holds them
    server.kubectl("apply", "-n", ns, "-f", "-", input=JOB % "cascade")
    uid2 = until(lambda: get(server, ns, "job", "cascade"), "the second job")["metadata"]["uid"]
    until(lambda: len(job_pods(server, ns, uid2)) == 2, "its two pods")
    server.kubectl("delete", "job", "cascade", "-n", ns)
    until(lambda: not job_pods(server, ns, uid2), "the job's pods gone")
    server.kubectl("delete", "namespace", ns, "--wait=false")


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ev
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ev
  template:
    metadata:
      labels:
        app: ev
    spec:
      containers:
      - name: c1
        image: busybox:1.36
"""


def scale_and_wait(server, ns, n):
    server.kubectl("scale", "deployment", "ev", "-n", ns, f"--replicas={n}")
    until(lambda: [r for r in server.json("get", "rs", "-n", ns)["items"] if r["spec"]["replicas"] == n],
          f"the replica set at {n}")


def test_repeated_event_is_counted(server):
    ns = namespace(server, "events-agg")
    server.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT)
    until(lambda: server.json("get", "rs", "-n", ns)["items"], "the replica set")
    # the first scale-up (the new set's) is recorded before the scaling starts
    until(lambda: [e for e in server.json("get", "events", "-n", ns)["items"] if e["reason"] == "ScalingReplicaSet"],
          "the first ScalingReplicaSet Event")
    for n in (0, 1, 0, 1):
        scale_and_wait(server, ns, n)
    rs = server.json("get", "rs", "-n", ns)["items"][0]["metadata"]["name"]
    up = f"Scaled up replica set {rs} to 1 from 0"

    def scaled_up():
        evs = [e for e in server.json("get", "events", "-n", ns)["items"]
               if e["reason"] == "ScalingReplicaSet" and e["message"] == up]
        # one Event for the repeated message, counting every scale-up exactly (a sync on a
        # stale cache does not record a size the set already has)
        return len(evs) == 1 and evs[0].get("count", 0) == 3 and evs
    try:
        ev = until(scaled_up, "one ScalingReplicaSet Event with count 3")[0]
    except AssertionError:
        evs = [(e["reason"], e["message"], e.get("count")) for e in server.json("get", "events", "-n", ns)["items"]]
        raise AssertionError(f"never one ScalingReplicaSet Event with count 3: {evs}")
    assert ev["involvedObject"]["name"] == "ev" and ev["source"]["component"] == "deployment-controller"
    assert ev["firstTimestamp"] <= ev["lastTimestamp"]
    down = [e for e in server.json("get", "events", "-n", ns)["items"]
            if e["message"] == f"Scaled down replica set {rs} to 0 from 1"]
    assert len(down) == 1 and down[0]["count"] == 2
    # `kubectl events` prints the count in LAST SEEN, as "(x3 over 4s)"
    listed = server.kubectl("events", "-n", ns, "--for", "deployment/ev").splitlines()
    assert any(up in line and "(x3 over " in line for line in listed), listed
    out = server.kubectl("describe", "deployment", "ev", "-n", ns)
    line = next(line for line in out.split("\nEvents:", 1)[1].splitlines() if up in line)
    assert "(x3 over " in line, line
    server.kubectl("delete", "namespace", ns, "--wait=false")


REPLICASET = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: many
spec:
  replicas: 12
  selector:
    matchLabels:
      app: many
  template:
    metadata:
      labels:
        app: many
    spec:
      containers:
      - name: c1
        image: busybox:1.36
"""


def test_similar_events_are_combined(server):
    ns = namespace(server, "events-comb")
    server.kubectl("apply", "-n", ns, "-f", "-", input=REPLICASET)
    until(lambda: len(server.pods(ns)) == 12, "12 pods")

    def created():
        evs = [e for e in server.json("get", "events", "-n", ns)["items"]
               if e["reason"] == "SuccessfulCreate" and e["involvedObject"]["name"] == "many"]
        return sum(e.get("count", 1) for e in evs) == 12 and evs
    evs = until(created, "12 creations recorded")
    combined = [e for e in evs if e["message"].startswith("(combined from similar events): Created pod: many-")]
    single = [e for e in evs if e not in combined]
    assert len(single) == 9 and all(e["count"] == 1 and e["message"].startswith("Created pod: many-")
                                    for e in single), single
    assert len(combined) == 1 and combined[0]["count"] == 3, combined
    server.kubectl("delete", "namespace", ns, "--wait=false")
