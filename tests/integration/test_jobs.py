"""The Job and CronJob controllers driven by the real kubectl against `berth
server` (controllers in-process).

One server per module (free port, temp data dir, stopped by PID); each test
works in its own namespace.  There is no node agent in these tests, so the
test plays the kubelet: `finish()` PATCHes a pod's status subresource to
phase Succeeded or Failed with a terminated container status (exit code),
which is all the job controller reads.
"""
import json
import re
import shutil
import subprocess
import time

import pytest

from test_controllers import Server, until

PI = """
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  completions: 10
  parallelism: 2
  template:
    metadata:
      name: pi
    spec:
      containers:
      - name: pi
        image: perl
        imagePullPolicy: IfNotPresent
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
"""


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def finish(server, ns, pod, phase="Succeeded", code=0, restarts=0):
    """Act as the kubelet: the pod's container terminated with code; phase Succeeded/Failed."""
    t = now()
    c = pod["spec"]["containers"][0]
    status = {"status": {"phase": phase, "startTime": t, "containerStatuses": [{
        "name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": restarts,
        "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                 "startedAt": t, "finishedAt": t}}}]}}
    server.kubectl("patch", "pod", pod["metadata"]["name"], "-n", ns, "--subresource=status", "--type=merge",
                   "-p", json.dumps(status))


def active_pods(server, ns):
    return [p for p in server.pods(ns) if p["status"].get("phase") not in ("Succeeded", "Failed")
            and "deletionTimestamp" not in p["metadata"]]


def job(server, ns, name):
    return server.json("get", "job", name, "-n", ns)


def condition(j, type_):
    return next((c for c in j.get("status", {}).get("conditions", []) if c["type"] == type_
                 and c["status"] == "True"), None)


def apply(server, ns, text):
    return server.kubectl("apply", "-n", ns, "-f", "-", input=text)


def events(server, ns):
    return server.json("get", "events", "-n", ns)["items"]


def test_pi_completions_10_parallelism_2(server):
    ns = server.namespace("pi")
    assert apply(server, ns, PI).strip() == "job.batch/pi created"
    j = job(server, ns, "pi")
    uid = j["metadata"]["uid"]
    assert j["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": uid}
    seen = set()
    while True:
        pods = until(lambda: active_pods(server, ns) or
                     (condition(job(server, ns, "pi"), "Complete") and "done"), "active pods or Complete")
        if pods == "done":
            break
        assert len(pods) <= 2, "never more than parallelism pods"
        for p in pods:
            name = p["metadata"]["name"]
            assert re.fullmatch(r"pi-[bcdfghjklmnpqrstvwxz2456789]{5}", name), name
            labels = p["metadata"]["labels"]
            assert labels["batch.kubernetes.io/job-name"] == "pi" and labels["job-name"] == "pi"
            assert labels["batch.kubernetes.io/controller-uid"] == uid and labels["controller-uid"] == uid
            ref = p["metadata"]["ownerReferences"][0]
            assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Job", "pi", uid, True)
            seen.add(name)
            finish(server, ns, p)
    assert len(seen) == 10, "one pod per completion"
    st = job(server, ns, "pi")["status"]
    assert st["succeeded"] == 10 and "active" not in st and st["startTime"] and st["completionTime"]
    out = server.kubectl("get", "jobs", "-n", ns).splitlines()
    head = out[0].split()
    assert head[:2] == ["NAME", "STATUS"] or head[:2] == ["NAME", "COMPLETIONS"], out
    row = dict(zip(head, out[1].split()))
    assert row["NAME"] == "pi" and row["COMPLETIONS"] == "10/10"
    assert re.fullmatch(r"\d+s|\d+m\d*s?", row["DURATION"]), row
    if "STATUS" in row:
        assert row["STATUS"] == "Complete"
    mine = [e for e in events(server, ns) if e["involvedObject"]["kind"] == "Job"]
    assert {"SuccessfulCreate", "Completed"} <= {e["reason"] for e in mine}
    assert all(e["source"]["component"] == "job-controller" and e["involvedObject"]["uid"] == uid for e in mine)
    assert len([e for e in mine if e["reason"] == "SuccessfulCreate"]) == 10


FAILING = """
apiVersion: batch/v1
kind: Job
metadata:
  name: flaky
spec:
  backoffLimit: 1
  template:
    spec:
      containers:
      - name: c
        image: busybox
        command: ["false"]
      restartPolicy: Never
"""


def test_backoff_limit(server):
    ns = server.namespace("backoff")
    apply(server, ns, FAILING)
    first = until(lambda: active_pods(server, ns), "first pod")[0]
    finish(server, ns, first, "Failed", 1)
    failed_at = time.time()
    second = until(lambda: active_pods(server, ns), "replacement pod", tries=600)[0]
    assert second["metadata"]["name"] != first["metadata"]["name"]
    assert time.time() - failed_at >= 9, "the replacement waits the 10 s back-off"
    finish(server, ns, second, "Failed", 1)
    j = until(lambda: (lambda j: condition(j, "Failed") and j)(job(server, ns, "flaky")), "Failed")
    c = condition(j, "Failed")
    assert c["reason"] == "BackoffLimitExceeded" and c["message"] == "Job has reached the specified backoff limit"
    assert j["status"]["failed"] == 2 and "completionTime" not in j["status"]
    assert "BackoffLimitExceeded" in {e["reason"] for e in events(server, ns)}
    assert not active_pods(server, ns)
    assert server.kubectl("get", "job", "flaky", "-n", ns).splitlines()[1].split()[1] in ("Failed", "0/1")


def test_pod_failure_policy_and_onfailure(server):
    ns = server.namespace("pfp")
    manifest = FAILING.replace("backoffLimit: 1", "backoffLimit: 6\n  podFailurePolicy:\n    rules:\n"
                               "    - action: Ignore\n      onExitCodes: {operator: In, values: [3]}\n"
                               "    - action: FailJob\n      onExitCodes: {containerName: c, operator: In, values: [42]}")
    apply(server, ns, manifest)
    p = until(lambda: active_pods(server, ns), "pod")[0]
    finish(server, ns, p, "Failed", 3)   # ignored: replaced at once, not counted
    p2 = until(lambda: (lambda a: a and a[0]["metadata"]["name"] != p["metadata"]["name"] and a)(
        active_pods(server, ns)), "replacement of the ignored failure")[0]
    assert job(server, ns, "flaky")["status"].get("failed", 0) == 0
    finish(server, ns, p2, "Failed", 42)
    j = until(lambda: (lambda j: condition(j, "Failed") and j)(job(server, ns, "flaky")), "Failed by policy")
    c = condition(j, "Failed")
    assert c["reason"] == "PodFailurePolicy"
    assert c["message"] == (f"Container c for pod {ns}/{p2['metadata']['name']} failed with exit code 42 "
                            "matching FailJob rule at index 1")

    # OnFailure: container restarts count against backoffLimit
    apply(server, ns, FAILING.replace("flaky", "restarts").replace("Never", "OnFailure"))
    p = until(lambda: [x for x in active_pods(server, ns) if x["metadata"]["name"].startswith("restarts-")], "pod")[0]
    c0 = p["spec"]["containers"][0]
    server.kubectl("patch", "pod", p["metadata"]["name"], "-n", ns, "--subresource=status", "--type=merge", "-p",
                   json.dumps({"status": {"phase": "Running", "containerStatuses": [{
                       "name": c0["name"], "image": c0["image"], "imageID": "", "ready": False, "restartCount": 1,
                       "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}))
    j = until(lambda: (lambda j: condition(j, "Failed") and j)(job(server, ns, "restarts")), "OnFailure Failed")
    assert condition(j, "Failed")["reason"] == "BackoffLimitExceeded"


INDEXED = """
apiVersion: batch/v1
kind: Job
metadata:
  name: idx
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      containers:
      - name: w
        image: busybox
        command: ["sh", "-c", "echo $JOB_COMPLETION_INDEX"]
      restartPolicy: Never
"""


def test_indexed(server):
    ns = server.namespace("indexed")
    apply(server, ns, INDEXED)
    pods = until(lambda: (lambda a: len(a) == 3 and a)(active_pods(server, ns)), "3 indexed pods")
    by_index = {}
    for p in pods:
        ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == ix
        assert p["spec"]["hostname"] == f"idx-{ix}"
        assert re.fullmatch(rf"idx-{ix}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", p["metadata"]["name"])
        env = {e["name"]: e for e in p["spec"]["containers"][0]["env"]}
        assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        by_index[ix] = p
    assert sorted(by_index) == ["0", "1", "2"]
    finish(server, ns, by_index["0"])
    finish(server, ns, by_index["2"])
    until(lambda: job(server, ns, "idx")["status"].get("completedIndexes") == "0,2", "completedIndexes 0,2")
    # a failed index is recreated with the same index
    finish(server, ns, by_index["1"], "Failed", 1)
    again = until(lambda: active_pods(server, ns), "index 1 again", tries=600)[0]
    assert again["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1"
    finish(server, ns, again)
    j = until(lambda: (lambda j: condition(j, "Complete") and j)(job(server, ns, "idx")), "Complete")
    assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3
    assert j["status"]["failed"] == 1


SUSPENDED = """
apiVersion: batch/v1
kind: Job
metadata:
  name: later
spec:
  suspend: true
  parallelism: 2
  completions: 4
  template:
    spec:
      containers:
      - name: c
        image: busybox
      restartPolicy: Never
"""


def test_suspend(server):
    ns = server.namespace("suspend")
    apply(server, ns, SUSPENDED)
    j = until(lambda: (lambda j: condition(j, "Suspended") and j)(job(server, ns, "later")), "Suspended")
    assert condition(j, "Suspended")["reason"] == "JobSuspended" and not server.pods(ns)
    assert "startTime" not in j["status"]
    assert server.kubectl("get", "job", "later", "-n", ns).splitlines()[1].split()[:3] == ["later", "Suspended", "0/4"]
    server.kubectl("patch", "job", "later", "-n", ns, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    until(lambda: len(active_pods(server, ns)) == 2, "2 pods after resume")
    j = job(server, ns, "later")
    c = next(c for c in j["status"]["conditions"] if c["type"] == "Suspended")
    assert (c["status"], c["reason"]) == ("False", "JobResumed") and j["status"]["startTime"]
    server.kubectl("patch", "job", "later", "-n", ns, "--type=merge", "-p", '{"spec":{"suspend":true}}')
    until(lambda: not server.pods(ns), "active pods deleted on suspend")
    until(lambda: condition(job(server, ns, "later"), "Suspended"), "Suspended again")


def test_ttl_after_finished(server):
    ns = server.namespace("ttl")
    apply(server, ns, FAILING.replace("flaky", "short").replace("backoffLimit: 1", "backoffLimit: 0\n"
                                                                  "  ttlSecondsAfterFinished: 2"))
    p = until(lambda: active_pods(server, ns), "pod")[0]
    finish(server, ns, p)
    until(lambda: condition(job(server, ns, "short"), "Complete"), "Complete")
    until(lambda: not server.json("get", "jobs", "-n", ns)["items"], "job deleted after its TTL", tries=600)
    until(lambda: not server.pods(ns), "its pods collected (background propagation)")


def test_active_deadline(server):
    ns = server.namespace("deadline")
    apply(server, ns, FAILING.replace("flaky", "slow").replace("backoffLimit: 1", "activeDeadlineSeconds: 2"))
    until(lambda: active_pods(server, ns), "pod")
    j = until(lambda: (lambda j: condition(j, "Failed") and j)(job(server, ns, "slow")), "DeadlineExceeded")
    c = condition(j, "Failed")
    assert c["reason"] == "DeadlineExceeded" and c["message"] == "Job was active longer than specified deadline"
    until(lambda: not active_pods(server, ns), "active pods deleted")


CRONJOB = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "%s"
  jobTemplate:
    metadata:
      labels: {from: cron}
    spec:
      template:
        spec:
          containers:
          - name: c
            image: busybox
          restartPolicy: OnFailure
"""


def test_cronjob_runs_at_minute_boundary(server):
    ns = server.namespace("cron")
    assert apply(server, ns, CRONJOB % "*/1 * * * *").strip() == "cronjob.batch/tick created"
    jobs = until(lambda: server.json("get", "jobs", "-n", ns)["items"], "a Job at the next minute", tries=900)
    j = jobs[0]
    minutes = int(j["metadata"]["name"].rsplit("-", 1)[1])
    assert j["metadata"]["name"] == f"tick-{minutes}"
    ts = j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes * 60)) == ts or ts.endswith(":00")
    assert j["metadata"]["labels"]["from"] == "cron"
    ref = j["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "tick", True)
    cj = until(lambda: (lambda c: c["status"].get("active") and c)(server.json("get", "cronjob", "tick", "-n", ns)),
               "status.active")
    assert cj["status"]["active"][0]["name"] == j["metadata"]["name"]
    assert cj["status"]["lastScheduleTime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes * 60))
    assert "SuccessfulCreate" in {e["reason"] for e in events(server, ns) if e["source"]["component"] ==
                                  "cronjob-controller"}
    row = server.kubectl("get", "cronjob", "-n", ns).splitlines()[1]
    assert row.startswith("tick") and "*/1 * * * *" in row


def test_invalid_schedule_and_zone(server):
    ns = server.namespace("badcron")
    p = subprocess.run(["/usr/bin/kubectl", "apply", "-n", ns, "-f", "-"], input=CRONJOB % "61 * * * *",
                       capture_output=True, text=True, env=server.env())
    assert p.returncode != 0
    assert 'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' in p.stderr
    p = subprocess.run(["/usr/bin/kubectl", "apply", "-n", ns, "-f", "-"], input=CRONJOB % "@every 1h",
                       capture_output=True, text=True, env=server.env())
    assert p.returncode != 0 and "spec.schedule" in p.stderr and "unrecognized descriptor" in p.stderr
    zoned = (CRONJOB % "0 9 * * *").replace("  jobTemplate:", "  timeZone: Mars/Olympus\n  jobTemplate:")
    p = subprocess.run(["/usr/bin/kubectl", "apply", "-n", ns, "-f", "-"], input=zoned,
                       capture_output=True, text=True, env=server.env())
    assert p.returncode != 0 and 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone' in p.stderr
    ok = apply(server, ns, zoned.replace("Mars/Olympus", "Europe/Berlin"))
    assert ok.strip() == "cronjob.batch/tick created"
    row = server.kubectl("get", "cronjob", "tick", "-n", ns).splitlines()[1]
    assert row.startswith("tick") and "0 9 * * *" in row and "Europe/Berlin" in row.split()
