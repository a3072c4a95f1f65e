#!/usr/bin/python3
"""bench/scheduler-load.py - load generator for bench/scheduler.sh.

Speaks HTTPS with keep-alive (one connection per client process, as client-go
does) to a `berth server`.  Subcommands print one line "NAME VALUE UNIT":

  nodes URL TOKEN CA N CLIENTS            create N Ready nodes (32 cpu, 128Gi, 110 pods)
  pods URL TOKEN CA NS N CLIENTS          create N pods, report the time until all are bound
  create URL TOKEN CA NS N CLIENTS        create N pods only (a backlog)
  wait URL TOKEN CA NS N                  report the time until N pods of NS are bound

"All bound" is polled (every 50 ms, after the creates returned) as an empty
list of the namespace's pods with fieldSelector spec.nodeName=.
"""
import http.client
import json
import multiprocessing
import ssl
import sys
import time
import urllib.parse


def conn(url, ca):
    u = urllib.parse.urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=600)


def call(c, method, path, token, body=None, ctype="application/json"):
    h = {"Authorization": "Bearer " + token, "Content-Type": ctype}
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def node_worker(args):
    url, token, ca, start, count = args
    c = conn(url, ca)
    res = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    for i in range(start, start + count):
        name = f"node-{i:04d}"
        call(c, "POST", "/api/v1/nodes", token, {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "labels": {"kubernetes.io/hostname": name}}})
        call(c, "PATCH", f"/api/v1/nodes/{name}/status", token, {"status": {
            "capacity": res, "allocatable": res, "conditions": [{"type": "Ready", "status": "True"}]}},
            "application/merge-patch+json")
    return count


def pod_worker(args):
    url, token, ca, ns, start, count = args
    c = conn(url, ca)
    for i in range(start, start + count):
        call(c, "POST", f"/api/v1/namespaces/{ns}/pods", token, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}})
    return count


def split(n, clients):
    per, extra = divmod(n, clients)
    out, start = [], 0
    for k in range(clients):
        cnt = per + (1 if k < extra else 0)
        out.append((start, cnt))
        start += cnt
    return out


def wait_all_bound(url, token, ca, ns, n):
    """Poll until no pod of ns is unbound (all n exist already); the monotonic
    time it was seen.  A list with fieldSelector spec.nodeName= and limit=1 is
    cheap for the server; one request every 50 ms does not disturb the run."""
    c = conn(url, ca)
    while True:
        t = time.monotonic()
        unbound = json.loads(call(c, "GET", f"/api/v1/namespaces/{ns}/pods?fieldSelector=spec.nodeName%3D&limit=1",
                                  token))
        if not unbound["items"]:
            return t
        time.sleep(0.05)


def nodes(url, token, ca, n, clients):
    n, clients = int(n), int(clients)
    jobs = [(url, token, ca, s, c) for s, c in split(n, clients)]
    t = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        done = sum(pool.map(node_worker, jobs))
    print(f"nodes_created {done} in {time.monotonic() - t:.1f} s")


def pods(url, token, ca, ns, n, clients):
    n, clients = int(n), int(clients)
    jobs = [(url, token, ca, ns, s, c) for s, c in split(n, clients)]
    with multiprocessing.Pool(clients) as pool:
        t = time.monotonic()
        pool.map(pod_worker, jobs)
        created = time.monotonic()
    end = wait_all_bound(url, token, ca, ns, n)
    print(f"pods_created {n / (created - t):.0f} /s")
    print(f"create_to_all_bound {n / (end - t):.0f} pods/s ({end - t:.2f} s for {n}; "
          f"last bound {end - created:.2f} s after the last create)")


def create(url, token, ca, ns, n, clients):
    n, clients = int(n), int(clients)
    jobs = [(url, token, ca, ns, s, c) for s, c in split(n, clients)]
    t = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        pool.map(pod_worker, jobs)
    print(f"pods_created {n / (time.monotonic() - t):.0f} /s")


def wait(url, token, ca, ns, n):
    n = int(n)
    t = time.monotonic()
    end = wait_all_bound(url, token, ca, ns, n)
    print(f"backlog_bound {n / (end - t):.0f} pods/s ({end - t:.2f} s for {n}, scheduler start-up included)")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"nodes": nodes, "pods": pods, "create": create, "wait": wait}[cmd](*args)
