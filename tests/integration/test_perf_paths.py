"""The API server's fast paths, through the real binary: acknowledged
writes of a concurrent burst survive a SIGKILL (SQLite group commit), field
selectors answered from the watch cache agree with the objects, and the
in-process scheduler binds pods and writes Events without HTTP.

Every test starts its own `berth server` on 127.0.0.1 (free port, temp data
dir) and stops it by PID.  Waits poll with generous deadlines.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("never happened: " + what)


class Server:
    def __init__(self, *extra, log_level=None):
        self.data = tempfile.mkdtemp(prefix="berth-perfpaths-")
        self.port = free_port()
        self.extra = list(extra)
        self.log_level = log_level
        self.proc = None
        self.logf = None
        self.start()

    def start(self):
        self.logf = open(os.path.join(self.data, "server.log"), "ab")
        argv = [BERTH] + (["--log-level", self.log_level] if self.log_level else []) + [
            "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}"] + self.extra
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT)
        until(self.ready, "berth server ready")
        self.token = open(os.path.join(self.data, "tokens")).readline().split(",")[0]

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("berth server exited: " + self.log_text())
        if not os.path.exists(os.path.join(self.data, "kubeconfig.yaml")):
            return False
        try:
            c = self.conn()
            c.request("GET", "/readyz")
            r = c.getresponse()
            r.read()
            return r.status == 200
        except OSError:
            return False

    def log_text(self):
        self.logf.flush()
        return open(os.path.join(self.data, "server.log"), errors="replace").read()

    def conn(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.data, "tls", "ca.crt"))
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=60)

    def call(self, c, method, path, body=None, ctype="application/json"):
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + self.token, "Content-Type": ctype})
        r = c.getresponse()
        return r.status, r.read()

    def api(self, method, path, body=None, ctype="application/json"):
        status, data = self.call(self.conn(), method, path, body, ctype)
        if status >= 300:
            raise AssertionError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.logf and not self.logf.closed:
            self.logf.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture
def servers():
    made = []

    def make(*extra, **kw):
        s = Server(*extra, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.cleanup()


def test_acknowledged_writes_survive_sigkill_mid_burst(servers):
    s = servers("--disable-controllers", "--disable-scheduler")
    s.api("POST", "/api/v1/namespaces", {"metadata": {"name": "burst"}})
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k):
        c = s.conn()
        i = 0
        while not stop.is_set():
            name = f"w{k}-{i}"
            try:
                status, data = s.call(c, "POST", "/api/v1/namespaces/burst/configmaps",
                                      {"metadata": {"name": name}, "data": {"v": name}})
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this write was never acknowledged
            if status != 201:
                return
            rv = json.loads(data)["metadata"]["resourceVersion"]
            with lock:
                acked[name] = rv
            i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    until(lambda: len(acked) >= 400, "400 acknowledged creates")
    s.kill9()
    stop.set()
    for t in threads:
        t.join(60)
    with lock:
        expect = dict(acked)
    s.start()
    got = s.api("GET", "/api/v1/namespaces/burst/configmaps")
    have = {o["metadata"]["name"]: o for o in got["items"]}
    missing = [n for n in expect if n not in have]
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
    wrong = [n for n, rv in expect.items() if have[n]["metadata"]["resourceVersion"] != rv or have[n]["data"]["v"] != n]
    assert not wrong, f"changed after the crash: {wrong[:5]}"
    rvs = [int(o["metadata"]["resourceVersion"]) for o in got["items"]]
    assert len(set(rvs)) == len(rvs), "every create kept a revision of its own"
    after = s.api("POST", "/api/v1/namespaces/burst/configmaps", {"metadata": {"name": "after"}})
    assert int(after["metadata"]["resourceVersion"]) > max(rvs)


def test_field_selectors_from_the_cache_agree_with_the_objects(servers):
    s = servers("--disable-controllers", "--disable-scheduler")
    s.api("POST", "/api/v1/namespaces", {"metadata": {"name": "fs"}})
    for i in range(12):
        spec = {"containers": [{"name": "c", "image": "busybox:1"}]}
        if i % 3:
            spec["nodeName"] = f"n{i % 3}"
        s.api("POST", "/api/v1/namespaces/fs/pods",
              {"metadata": {"name": f"p{i}", "labels": {"i": str(i % 2)},
                            "annotations": {"note": "quote \" and [brackets] and \\u00e9"}}, "spec": spec})
    everything = s.api("GET", "/api/v1/namespaces/fs/pods")["items"]

    def names(q):
        got = s.api("GET", "/api/v1/namespaces/fs/pods?" + q)
        return sorted(o["metadata"]["name"] for o in got["items"])

    def expect(pred):
        return sorted(o["metadata"]["name"] for o in everything if pred(o))

    node = lambda o: o["spec"].get("nodeName", "")  # noqa: E731
    assert names("fieldSelector=spec.nodeName%3D") == expect(lambda o: node(o) == "") != []
    assert names("fieldSelector=spec.nodeName%3Dn1") == expect(lambda o: node(o) == "n1") != []
    assert names("fieldSelector=spec.nodeName!%3Dn1") == expect(lambda o: node(o) != "n1")
    assert names("fieldSelector=metadata.name%3Dp4") == ["p4"]
    assert names("fieldSelector=spec.nodeName%3Dn2,metadata.name!%3Dp2") == \
        expect(lambda o: node(o) == "n2" and o["metadata"]["name"] != "p2")
    assert names("fieldSelector=spec.nodeName%3Dn2&labelSelector=i%3D1") == \
        expect(lambda o: node(o) == "n2" and o["metadata"]["labels"]["i"] == "1")
    assert names("fieldSelector=spec.restartPolicy%3DAlways") == expect(lambda o: True)
    assert names("fieldSelector=spec.nodeName%3Dnowhere") == []
    # limit with a selector: pages of matching objects only
    page = s.api("GET", "/api/v1/namespaces/fs/pods?fieldSelector=spec.nodeName%3D&limit=2")
    assert [o["metadata"]["name"] for o in page["items"]] == expect(lambda o: node(o) == "")[:2]
    assert page["metadata"].get("continue")

    # a watch with a field selector sees exactly the matching change
    c = s.conn()
    rv = s.api("GET", "/api/v1/namespaces/fs/pods")["metadata"]["resourceVersion"]
    c.request("GET", f"/api/v1/namespaces/fs/pods?watch=1&resourceVersion={rv}&fieldSelector=spec.nodeName%3Dn1",
              headers={"Authorization": "Bearer " + s.token})
    r = c.getresponse()
    assert r.status == 200
    s.api("PATCH", "/api/v1/namespaces/fs/pods/p0", {"metadata": {"labels": {"x": "unbound"}}},
          "application/merge-patch+json")
    s.api("PATCH", "/api/v1/namespaces/fs/pods/p1", {"metadata": {"labels": {"x": "on-n1"}}},
          "application/merge-patch+json")
    ev = json.loads(r.readline())
    assert ev["type"] == "MODIFIED"
    assert ev["object"]["metadata"]["name"] == "p1" and ev["object"]["metadata"]["labels"]["x"] == "on-n1"
    c.close()


def test_in_process_scheduler_binds_without_http(servers):
    s = servers("--disable-controllers", log_level="debug")
    res = {"cpu": "8", "memory": "16Gi", "pods": "110"}
    s.api("POST", "/api/v1/nodes", {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}})
    s.api("PATCH", "/api/v1/nodes/n1/status", {"status": {"capacity": res, "allocatable": res,
                                                          "conditions": [{"type": "Ready", "status": "True"}]}},
          "application/merge-patch+json")
    for i in range(20):
        s.api("POST", "/api/v1/namespaces/default/pods", {"metadata": {"name": f"b{i}"}, "spec": {
            "containers": [{"name": "c", "image": "busybox:1", "resources": {"requests": {"cpu": "100m"}}}]}})
    # one that fits nowhere: its condition and Event are written in-process too
    s.api("POST", "/api/v1/namespaces/default/pods", {"metadata": {"name": "huge"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1", "resources": {"requests": {"cpu": "64"}}}]}})

    def bound():
        pods = s.api("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1")["items"]
        return len(pods) == 20
    until(bound, "20 pods bound to n1")

    def events():
        evs = s.api("GET", "/api/v1/namespaces/default/events")["items"]
        sched = {e["involvedObject"]["name"] for e in evs if e["reason"] == "Scheduled"}
        failed = [e for e in evs if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == "huge"]
        return len(sched) == 20 and failed
    until(events, "Scheduled Events for all 20 and FailedScheduling for huge")
    conds = s.api("GET", "/api/v1/namespaces/default/pods/huge")["status"].get("conditions", [])
    assert any(c["type"] == "PodScheduled" and c["status"] == "False" and c["reason"] == "Unschedulable"
               for c in conds)
    b0 = s.api("GET", "/api/v1/namespaces/default/pods/b0")
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in b0["status"]["conditions"])
    log = s.log_text()
    # HTTP requests are logged at debug level ("POST /path -> status"): the
    # test's own creates are there, the scheduler's bindings and Events not
    assert "POST /api/v1/namespaces/default/pods -> 201" in log
    assert "/binding ->" not in log
    assert "POST /api/v1/namespaces/default/events ->" not in log
    assert "PATCH /api/v1/namespaces/default/pods/huge/status ->" not in log
