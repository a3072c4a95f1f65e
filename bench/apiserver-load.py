#!/usr/bin/python3
"""bench/apiserver-load.py - load generator for bench/apiserver.sh.

Speaks HTTPS with keep-alive (one connection per client, as client-go does) to
a `berth server`, or plain HTTP to etcd's JSON gateway for the peer number.
Subcommands print one line "NAME VALUE UNIT":

  creates URL TOKEN CA N CLIENTS NS   pods created per second (CLIENTS processes, each
                                      one keep-alive connection: bench/rawhttp.py)
  list URL TOKEN CA NS RUNS           median ms of a 1,000-pod list: Table and raw
  watch URL TOKEN CA NS WATCHERS      ms from a write until every watcher has it
  etcdput URL N                       etcd's sequential puts per second
"""
import base64
import http.client
import json
import multiprocessing
import select
import ssl
import statistics
import sys
import time
import urllib.parse

from rawhttp import RawClient


def conn(url, ca):
    u = urllib.parse.urlparse(url)
    if u.scheme == "http":
        return http.client.HTTPConnection(u.hostname, u.port)
    ctx = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx)


def pod(name):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
                       "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}})


def create_worker(args):
    url, token, ca, ns, start, count = args
    c = RawClient(url, ca, token)  # bench/rawhttp.py: the client's CPU is not the server's rate
    path = f"/api/v1/namespaces/{ns}/pods"
    bodies = [pod(f"p{i}").encode() for i in range(start, start + count)]
    for i, body in enumerate(bodies):
        status, data = c.request("POST", path, body)
        if status != 201:
            raise SystemExit(f"create p{start + i}: {status} {data[:200]!r}")
    c.close()
    return count


def creates(url, token, ca, n, clients, ns):
    n, clients = int(n), int(clients)
    per = n // clients
    jobs = [(url, token, ca, ns, k * per, per) for k in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        t = time.monotonic()
        done = sum(pool.map(create_worker, jobs))
        dt = time.monotonic() - t
    print(f"creates_{clients} {done / dt:.0f} /s")


def timed_get(c, path, headers):
    t = time.monotonic()
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status}")
    return (time.monotonic() - t) * 1000, body


def list_bench(url, token, ca, ns, runs):
    c = conn(url, ca)
    auth = {"Authorization": "Bearer " + token}
    table = dict(auth, Accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    for name, h in (("list_table", table), ("list_raw", auth)):
        times = []
        for _ in range(int(runs)):
            ms, body = timed_get(c, f"/api/v1/namespaces/{ns}/pods", h)
            times.append(ms)
        n = len(json.loads(body).get("rows" if name == "list_table" else "items", []))
        print(f"{name} {statistics.median(times):.1f} ms ({n} pods)")


def watch_bench(url, token, ca, ns, watchers):
    u = urllib.parse.urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    c = conn(url, ca)
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    c.request("POST", f"/api/v1/namespaces/{ns}/configmaps", body=json.dumps(
        {"metadata": {"name": "fan"}, "data": {"v": "0"}}), headers=h)
    r = c.getresponse()
    rv = json.loads(r.read())["metadata"]["resourceVersion"]
    socks = []
    for _ in range(int(watchers)):
        s = ctx.wrap_socket(__import__("socket").create_connection((u.hostname, u.port)), server_hostname=u.hostname)
        s.sendall((f"GET /api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}&fieldSelector="
                   f"metadata.name%3Dfan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
        socks.append(s)
    # wait until every watch answered its headers
    for s in socks:
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        s.setblocking(False)
    results = []
    for k in range(5):
        time.sleep(0.2)
        body = json.dumps([{"op": "replace", "path": "/data/v", "value": str(k + 1)}])
        t = time.monotonic()
        c.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/fan", body=body,
                  headers=dict(h, **{"Content-Type": "application/json-patch+json"}))
        c.getresponse().read()
        waiting = set(socks)
        want = f'\\"v\\":\\"{k + 1}\\"'.encode().replace(b"\\", b"")
        seen = {s: b"" for s in socks}
        while waiting:
            ready, _, _ = select.select(list(waiting), [], [], 10)
            if not ready:
                raise SystemExit("watchers did not all see the write")
            for s in ready:
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        seen[s] += d
                except (ssl.SSLWantReadError, BlockingIOError):
                    pass
                if want in seen[s]:
                    waiting.discard(s)
        results.append((time.monotonic() - t) * 1000)
    for s in socks:
        s.close()
    print(f"watch_fanout_{watchers} {statistics.median(results):.1f} ms")


def etcd_put(url, n):
    c = conn(url, None)
    n = int(n)
    t = time.monotonic()
    for i in range(n):
        k = base64.b64encode(f"/bench/{i}".encode()).decode()
        v = base64.b64encode(pod(f"p{i}").encode()).decode()
        c.request("POST", "/v3/kv/put", body=json.dumps({"key": k, "value": v}))
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"etcd put: {r.status}")
    print(f"etcd_puts {n / (time.monotonic() - t):.0f} /s")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"creates": creates, "list": list_bench, "watch": watch_bench, "etcdput": etcd_put}[cmd](*args)
