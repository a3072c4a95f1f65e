"""What the agent keeps per pod, kept small, with the pod still fully served.

A steady pod drops its tree and keeps text (src/agent/worker.c pod_sleep),
the copy of an API pod loses the fields the agent never reads, the OCI
process for exec probes is kept as text, the CNI result only on disk and
the Event cache keeps hashes.  One cluster (test_agent_api.Cluster: `berth
server` + `berth agent` on a private root) runs one pod through all of it:
exec probes on the sleeping pod, a liveness failure that restarts the
container (the pod woken: preStop, grace, a new spec built from the text),
the repeated Started Event counted, kubectl exec, deletion.  The memory
itself is measured by bench/cluster.py mem.
"""
import json
import os

import pytest

import test_agent_api
from test_agent_api import wait_for


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = test_agent_api.Cluster(busybox_tar)
    c.start_agent()
    yield c
    problems = c.cleanup()
    assert not problems, problems


def pod_status(c, ns, name):
    p = c.get("pod", name, ns)
    return p.get("status", {}) if p else {}


def ready_restarts(c, ns, name):
    """restartCount + 1 once Running and ready (so 0 counts as true), else 0."""
    st = pod_status(c, ns, name)
    cs = (st.get("containerStatuses") or [{}])[0]
    return cs.get("restartCount", 0) + 1 if st.get("phase") == "Running" and cs.get("ready") else 0


def exec_out(c, ns, name, *cmd):
    return c.kubectl("exec", name, "-n", ns, "--", *cmd, check=False)


def test_steady_pod_kept_small_and_served(cluster):
    c = cluster
    ns = c.namespace("agentmem")
    # generous timeouts: a slow exec on a loaded machine is no failure here
    probe = {"exec": {"command": ["test", "-e", "/tmp/ok"]}, "periodSeconds": 1, "failureThreshold": 1,
             "timeoutSeconds": 30}
    c.create_pod(ns, "steady", [{
        "name": "c", "image": "bb:latest", "imagePullPolicy": "Never",
        "command": ["sh", "-c", "touch /tmp/ok; exec sleep 3600"],
        "readinessProbe": probe, "livenessProbe": probe}],
        terminationGracePeriodSeconds=2,
        tolerations=[{"key": "example.com/x", "operator": "Exists"}], nodeSelector={"zone": "test"})
    c.kubectl("label", "pod", "steady", "-n", ns, "tier=edge")
    before = wait_for(lambda: ready_restarts(c, ns, "steady"), "steady Running and Ready") - 1

    # what the agent wrote of its copy: the fields it never reads are gone
    d = c.pod_dir(ns, "steady")
    with open(os.path.join(d, "pod.json")) as f:
        kept = json.load(f)
    meta, spec = kept["metadata"], kept["spec"]
    assert "managedFields" not in meta and "creationTimestamp" not in meta, meta
    for key in ("tolerations", "nodeSelector", "schedulerName", "priority", "enableServiceLinks"):
        assert key not in spec, key
    assert "terminationMessagePath" not in spec["containers"][0]
    assert meta["annotations"]["kubernetes.io/config.source"] == "api"
    def kept_label():
        with open(os.path.join(d, "pod.json")) as f:
            return json.load(f)["metadata"].get("labels", {}).get("tier") == "edge"
    wait_for(kept_label, "the label reached the kept copy")
    with open(os.path.join(d, "sandbox.json")) as f:
        assert f.read().count("cniResult") == 1, "the CNI result is kept on disk for DEL"
    with open(os.path.join(d, "c", "state.json")) as f:
        process = json.load(f)["process"]
    assert "args" not in process and process["capabilities"]["bounding"], process

    # exec through the kubelet endpoint; probes keep running on the steady pod
    assert exec_out(c, ns, "steady", "cat", "/etc/hostname").strip() == "steady"

    # a failed liveness probe restarts the container: the pod's tree comes back
    exec_out(c, ns, "steady", "rm", "/tmp/ok")
    def restarted():
        n = ready_restarts(c, ns, "steady") - 1
        return n if n > before else None
    restarts = wait_for(restarted, "restarted, Ready again", timeout=120)
    cs = pod_status(c, ns, "steady")["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] != 0 or cs["lastState"]["terminated"].get("signal")

    def started_count():
        evs = [e for e in test_agent_api.events_of(c, ns, "steady") if e["reason"] == "Started"]
        return evs and evs[0].get("count") == restarts + 1 and len(evs) == 1
    wait_for(started_count, "one Started Event, counted once per start")
    killing = [e for e in test_agent_api.events_of(c, ns, "steady") if e["reason"] == "Killing"]
    assert killing and "liveness" in killing[0]["message"], killing

    # still served after the restart, and deleted as before
    assert exec_out(c, ns, "steady", "cat", "/etc/hostname").strip() == "steady"
    c.kubectl("delete", "pod", "steady", "-n", ns, "--wait=true", "--timeout=60s")
    wait_for(lambda: c.pod_dir(ns, "steady") is None, "the pod's directory removed")
