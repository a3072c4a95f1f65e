"""Cluster DNS records beyond a service's A/SRV, through the real binary: a
`berth server` (default service CIDR 10.43.0.0/16) and a `berth dns` on
127.0.0.1 forwarding to a fake upstream this module runs.  One selector-less
Service with an EndpointSlice written here (one endpoint in the pod CIDR with
a hostname, one outside the cluster's networks) gives the PTR records; the
other checks need no objects: AAAA NODATA, A-B-C-D.NS.pod names, dns-version
TXT, the apex SOA, and which reverse names are answered or forwarded.  Every
process is started here and stopped by its PID at teardown.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"
T_PTR, T_A, T_SOA, T_TXT, T_AAAA = 12, 1, 6, 16, 28


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("never happened: " + what)
        time.sleep(0.2)


def encode_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"


def decode_name(buf, off):
    """(name, offset after the name where it appears); follows pointers."""
    labels, end = [], None
    for _ in range(128):
        n = buf[off]
        if n & 0xC0 == 0xC0:
            end = end or off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
        elif n == 0:
            return ".".join(labels), end or off + 1
        else:
            labels.append(buf[off + 1:off + 1 + n].decode())
            off += 1 + n
    raise AssertionError("compression loop")


def query(port, name, qtype):
    """One UDP question; (flags, answers, authority), records as (name, type, value)."""
    qid = int.from_bytes(os.urandom(2), "big")
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(msg, ("127.0.0.1", port))
        buf = s.recv(4096)
    rid, flags, qd, an, ns, _ = struct.unpack(">HHHHHH", buf[:12])
    assert rid == qid
    off = decode_name(buf, 12)[1] + 4 if qd else 12

    def records(count, off):
        out = []
        for _ in range(count):
            owner, off = decode_name(buf, off)
            t, _, _, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
            rd = buf[off + 10:off + 10 + rdlen]
            if t == T_A:
                v = socket.inet_ntop(socket.AF_INET, rd)
            elif t == T_PTR:
                v = decode_name(buf, off + 10)[0]
            elif t == T_SOA:
                v = decode_name(buf, off + 10)[0]  # the primary server's name
            elif t == T_TXT:
                v = rd[1:1 + rd[0]].decode()
            else:
                v = rd
            out.append((owner, t, v))
            off += 10 + rdlen
        return out, off

    answers, off = records(an, off)
    auth, _ = records(ns, off)
    return flags, answers, auth


class Upstream:
    """A resolver that answers every question NXDOMAIN and records the names."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.3)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            name, off = decode_name(q, 12)
            self.seen.append(name)
            self.sock.sendto(q[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + q[12:off + 4], peer)

    def close(self):
        self.stopped = True
        self.thread.join(timeout=5)
        self.sock.close()


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-dnsrec-")
        self.data = os.path.join(self.tmp, "data")
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.procs = []
        self.upstream = Upstream()

    def start(self, args, log):
        out = open(os.path.join(self.tmp, log), "w")
        p = subprocess.Popen([BERTH] + args, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(p)
        return p

    def kubectl(self, *args, input=None):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)
        p = subprocess.run([KUBECTL] + list(args), capture_output=True, text=True, env=env, input=input, timeout=120)
        return p

    def api_ready(self):
        if self.server.poll() is not None:
            raise AssertionError("berth server exited: " + open(os.path.join(self.tmp, "server.log")).read())
        return os.path.exists(self.kubeconfig) and self.kubectl("get", "ns", "default").returncode == 0

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.upstream.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def env():
    e = Env()
    try:
        api = free_port(socket.SOCK_STREAM)
        e.server = e.start(["server", "--data-dir", e.data, "--listen", f"127.0.0.1:{api}"], "server.log")
        until(e.api_ready, "berth server answering kubectl")
        e.port = free_port(socket.SOCK_DGRAM)
        e.dns = e.start(["dns", "--kubeconfig", e.kubeconfig, "--listen", f"127.0.0.1:{e.port}",
                         "--upstream", f"127.0.0.1:{e.upstream.port}"], "dns.log")
        objs = {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rev", "namespace": "default"},
             "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "rev-manual", "namespace": "default",
                          "labels": {"kubernetes.io/service-name": "rev",
                                     "endpointslice.kubernetes.io/managed-by": "test.berth"}},
             "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
             "endpoints": [{"addresses": ["10.42.9.9"], "hostname": "h0", "conditions": {"ready": True}},
                           {"addresses": ["192.0.2.55"], "conditions": {"ready": True}}]}]}
        p = e.kubectl("apply", "-f", "-", input=json.dumps(objs))
        assert p.returncode == 0, p.stderr
        svc = json.loads(e.kubectl("get", "svc", "rev", "-o", "json").stdout)
        e.cluster_ip = svc["spec"]["clusterIP"]
        yield e
    finally:
        e.close()


def reverse(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def test_ptr_records(env):
    assert env.cluster_ip.startswith("10.43.")
    until(lambda: query(env.port, reverse(env.cluster_ip), T_PTR)[1] ==
          [(reverse(env.cluster_ip), T_PTR, "rev.default.svc.cluster.local")], "PTR of the ClusterIP")
    until(lambda: query(env.port, "9.9.42.10.in-addr.arpa", T_PTR)[1] ==
          [("9.9.42.10.in-addr.arpa", T_PTR, "h0.rev.default.svc.cluster.local")], "PTR of the endpoint")
    flags, ans, _ = query(env.port, "55.2.0.192.in-addr.arpa", T_PTR)
    assert ans == [("55.2.0.192.in-addr.arpa", T_PTR, "192-0-2-55.rev.default.svc.cluster.local")]
    assert flags & 0x0400, "answered authoritatively"
    # an unknown address in the service CIDR: ours, NXDOMAIN with the zone's SOA, never forwarded
    flags, ans, auth = query(env.port, "250.250.43.10.in-addr.arpa", T_PTR)
    assert flags & 0xF == 3 and flags & 0x0400 and ans == []
    assert [(o, t) for o, t, _ in auth] == [("43.10.in-addr.arpa", T_SOA)]
    # unknown addresses elsewhere (IPv4 and IPv6) go upstream
    for name in ("56.2.0.192.in-addr.arpa", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"):
        flags, ans, _ = query(env.port, name, T_PTR)
        assert flags & 0xF == 3 and not flags & 0x0400, f"{name}: the upstream's NXDOMAIN"
    assert "250.250.43.10.in-addr.arpa" not in env.upstream.seen
    assert "56.2.0.192.in-addr.arpa" in env.upstream.seen


def test_other_records(env):
    until(lambda: query(env.port, "rev.default.svc.cluster.local", T_A)[1], "A of the service")
    flags, ans, auth = query(env.port, "rev.default.svc.cluster.local", T_AAAA)
    assert flags & 0xF == 0 and ans == [] and [t for _, t, _ in auth] == [T_SOA], "AAAA: NODATA with the SOA"
    flags, ans, _ = query(env.port, "10-42-0-9.default.pod.cluster.local", T_A)
    assert flags & 0xF == 0 and ans == [("10-42-0-9.default.pod.cluster.local", T_A, "10.42.0.9")]
    assert query(env.port, "10-42-0.default.pod.cluster.local", T_A)[0] & 0xF == 3
    assert query(env.port, "dns-version.cluster.local", T_TXT)[1] == [("dns-version.cluster.local", T_TXT, "1.1.0")]
    flags, ans, _ = query(env.port, "cluster.local", T_SOA)
    assert ans == [("cluster.local", T_SOA, "ns.dns.cluster.local")]
    assert not any("cluster.local" in n for n in env.upstream.seen), "cluster names never go upstream"
