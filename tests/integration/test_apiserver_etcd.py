"""The API server over the real etcd (Debian's etcd-server): two `berth server`
processes share one etcd, see each other's writes, and each one's watches see
the other's.  etcd runs on 127.0.0.1 with free ports and a temp data dir and is
stopped by PID, as are the servers.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from test_apiserver import BERTH, Server, free_port, read_until, MANIFEST


class Etcd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="berth-etcd-")
        self.port, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            ["etcd", "--name", "t", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{peer}"], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            assert self.proc.poll() is None, open(self.log.name).read()
            try:
                req = urllib.request.Request(self.url + "/v3/kv/range", data=b'{"key":"Lw=="}', method="POST")
                urllib.request.urlopen(req, timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("etcd did not start")

    def stop(self):
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class EtcdServer(Server):
    def __init__(self, etcd):
        super().__init__()
        self.etcd = etcd

    def start(self):
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [BERTH, "server", "--data-dir", self.data, "--listen", f"127.0.0.1:{self.port}",
             "--datastore", f"etcd:{self.etcd.url}"], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            assert self.proc.poll() is None, open(self.log.name).read()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if os.path.exists(self.kubeconfig):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("berth server did not start")


@pytest.fixture(scope="module")
def cluster():
    etcd = Etcd()
    a, b = EtcdServer(etcd), EtcdServer(etcd)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for s in (a, b):
            if s.proc:
                s.stop()
            shutil.rmtree(s.data, ignore_errors=True)
        etcd.stop()


def test_two_servers_share_writes(cluster):
    a, b = cluster
    a.kubectl("create", "namespace", "shared")
    a.kubectl("create", "-n", "shared", "configmap", "one", "--from-literal=k=v")
    got = json.loads(b.kubectl("get", "-n", "shared", "cm", "one", "-o", "json").stdout)
    assert got["data"] == {"k": "v"}
    mine = json.loads(a.kubectl("get", "-n", "shared", "cm", "one", "-o", "json").stdout)
    assert got["metadata"]["resourceVersion"] == mine["metadata"]["resourceVersion"]
    assert got["metadata"]["uid"] == mine["metadata"]["uid"]
    # compare-and-swap across servers: b's update makes a's copy stale
    b.kubectl("patch", "-n", "shared", "cm", "one", "-p", '{"data":{"k":"b"}}')
    mine["data"]["k"] = "a"
    p = a.kubectl("replace", "-f", "-", input=json.dumps(mine), check=False)
    assert p.returncode != 0 and 'Operation cannot be fulfilled on configmaps "one"' in p.stderr
    assert a.kubectl("get", "-n", "shared", "cm", "one", "-o", "jsonpath={.data.k}").stdout == "b"
    p = b.kubectl("create", "-n", "shared", "configmap", "one", check=False)
    assert p.returncode != 0 and 'configmaps "one" already exists' in p.stderr
    for i in range(5):
        b.kubectl("create", "-n", "shared", "configmap", f"page{i}")
    names = a.kubectl("get", "-n", "shared", "cm", "--chunk-size=2", "-o", "name").stdout.split()
    assert [n for n in names if n.startswith("configmap/page")] == [f"configmap/page{i}" for i in range(5)]
    a.kubectl("delete", "-n", "shared", "cm", "page0")
    assert b.kubectl("get", "-n", "shared", "cm", "page0", check=False).returncode != 0


def test_watch_sees_other_servers_writes(cluster):
    a, b = cluster
    a.kubectl("create", "namespace", "watched")
    env = dict(os.environ, KUBECONFIG=b.kubeconfig, HOME=b.data)
    w = subprocess.Popen(["/usr/bin/kubectl", "get", "configmaps", "-n", "watched", "-w", "--output-watch-events"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        a.kubectl("create", "-n", "watched", "configmap", "ping", "--from-literal=a=b")
        got = read_until(w, "ping")
        assert got is not None and "ADDED" in got
        a.kubectl("label", "-n", "watched", "configmap", "ping", "x=y")
        assert read_until(w, "MODIFIED") is not None
        a.kubectl("delete", "-n", "watched", "configmap", "ping")
        assert read_until(w, "DELETED") is not None
    finally:
        w.kill()
        w.wait()


def test_user_flow_and_restart_on_etcd(cluster):
    a, b = cluster
    a.kubectl("create", "namespace", "flow")
    out = a.kubectl("apply", "-n", "flow", "-f", "-", input=MANIFEST % {"replicas": 2, "mode": "a"}).stdout
    assert "deployment.apps/deploy-nginx created" in out
    out = b.kubectl("apply", "-n", "flow", "-f", "-", input=MANIFEST % {"replicas": 3, "mode": "b"}).stdout
    assert "deployment.apps/deploy-nginx configured" in out
    assert b.kubectl("scale", "-n", "flow", "deploy/deploy-nginx", "--replicas=4").returncode == 0
    assert a.kubectl("get", "-n", "flow", "deploy", "deploy-nginx", "-o",
                     "jsonpath={.spec.replicas} {.metadata.generation}").stdout == "4 3"
    before = a.kubectl("get", "-n", "flow", "deploy", "deploy-nginx", "-o", "jsonpath={.metadata.resourceVersion}").stdout
    a.stop()
    a.start()
    assert a.kubectl("get", "-n", "flow", "deploy", "deploy-nginx", "-o",
                     "jsonpath={.metadata.resourceVersion}").stdout == before
    a.kubectl("delete", "namespace", "flow")
    assert b.kubectl("get", "-n", "flow", "deploy", "deploy-nginx", check=False).returncode != 0


def test_serviceaccount_token_works_on_every_server(cluster):
    a, b = cluster
    a.kubectl("create", "namespace", "tokens")
    a.kubectl("create", "serviceaccount", "bot", "-n", "tokens")
    tok = a.kubectl("create", "token", "bot", "-n", "tokens").stdout.strip()
    b.kubectl("create", "clusterrolebinding", "bot-view", "--clusterrole=view", "--serviceaccount=tokens:bot")
    for s in (a, b):
        env = dict(os.environ, HOME=s.data)
        env.pop("KUBECONFIG", None)
        p = subprocess.run(["/usr/bin/kubectl", "--server", f"https://127.0.0.1:{s.port}",
                            "--certificate-authority", os.path.join(s.data, "tls", "ca.crt"), "--token", tok,
                            "get", "serviceaccounts", "-n", "tokens", "-o", "name"],
                           capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0 and "serviceaccount/bot" in p.stdout, p.stderr


def test_service_addresses_unique_across_servers(cluster):
    a, b = cluster
    a.kubectl("create", "namespace", "addrs")
    docs = {s: "\n---\n".join(
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {tag}-{i}, namespace: addrs}}\n"
        f"spec:\n  type: NodePort\n  selector: {{app: x}}\n  ports:\n  - port: 80"
        for i in range(15)) for s, tag in ((a, "a"), (b, "b"))}
    env = {s: dict(os.environ, KUBECONFIG=s.kubeconfig, HOME=s.data) for s in (a, b)}
    procs = [subprocess.Popen(["/usr/bin/kubectl", "apply", "-f", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env[s]) for s in (a, b)]
    for p, s in zip(procs, (a, b)):
        p.stdin.write(docs[s])
        p.stdin.close()
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    items = json.loads(a.kubectl("get", "services", "-n", "addrs", "-o", "json").stdout)["items"]
    assert len(items) == 30
    ips = [s["spec"]["clusterIP"] for s in items]
    ports = [s["spec"]["ports"][0]["nodePort"] for s in items]
    assert len(set(ips)) == 30 and len(set(ports)) == 30
    # a deleted Service's addresses are given back through the store
    a.kubectl("delete", "service", "-n", "addrs", "a-0")
    p = subprocess.run(["etcdctl", "--endpoints", a.etcd.url, "get", "--prefix", "--keys-only",
                        "/registry/berth/allocations/"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    keys = p.stdout.split()
    by_name = {s["metadata"]["name"]: s["spec"]["clusterIP"] for s in items}
    assert f"/registry/berth/allocations/clusterips/{by_name['a-0']}" not in keys
    assert f"/registry/berth/allocations/clusterips/{by_name['b-0']}" in keys


def test_etcd_gone_is_reported_and_sigterm_still_stops(tmp_path):
    """With its etcd gone the server says so: /readyz fails naming etcd, a
    create is a 500 naming etcd (not a missing namespace), and SIGTERM
    still stops it."""
    etcd = Etcd()
    s = EtcdServer(etcd)
    try:
        s.start()
        s.kubectl("create", "configmap", "before")
        assert s.kubectl("get", "--raw", "/readyz").stdout == "ok"
        watch = subprocess.Popen(["/usr/bin/kubectl", "get", "configmaps", "-w"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=dict(os.environ, KUBECONFIG=s.kubeconfig, HOME=s.data))
        etcd.stop()
        p = s.kubectl("get", "--raw", "/readyz", check=False)
        assert p.returncode != 0 and "etcd failed" in p.stderr + p.stdout
        assert s.kubectl("get", "--raw", "/livez").stdout == "ok"
        p = s.kubectl("create", "configmap", "after", check=False)
        assert p.returncode != 0
        assert "not found" not in p.stderr and "etcd" in p.stderr, p.stderr
        os.kill(s.proc.pid, signal.SIGTERM)
        assert s.proc.wait(timeout=60) == 0, open(s.log.name).read()
        watch.wait(timeout=60)
    finally:
        if s.proc and s.proc.poll() is None:
            s.stop()
        shutil.rmtree(s.data, ignore_errors=True)
        if etcd.proc.poll() is None:
            etcd.stop()
