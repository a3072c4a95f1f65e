#!/usr/bin/python3
"""bench/scheduler-load.py - load generator for bench/scheduler.sh.

Speaks HTTPS with keep-alive (one connection per client process, as client-go
does; creates through bench/rawhttp.py) to a `berth server`.  Subcommands print one line "NAME VALUE UNIT":

  nodes URL TOKEN CA N CLIENTS            create N Ready nodes (32 cpu, 128Gi, 110 pods)
  pods URL TOKEN CA NS N CLIENTS          create N pods, report the time until all are bound
  create URL TOKEN CA NS N CLIENTS        create N pods only (a backlog)
  wait URL TOKEN CA NS N [T0]             report the time from T0 (time.time(); default:
                                          now) until N pods of NS are bound, and from the
                                          first bound pod to the last (start-up excluded)

"All bound" is seen on a watch of the namespace's pods (a list, then a watch
from its resourceVersion), not by polling: a poll with a field selector makes
the server look at every bound pod again, which is the server's CPU the
measurement would take from the scheduler.
"""
import http.client
import json
import multiprocessing
import ssl
import sys
import threading
import time
import urllib.parse

from rawhttp import RawClient


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
    c = RawClient(url, ca, token)  # bench/rawhttp.py: a lean client, the server is what is measured
    path = f"/api/v1/namespaces/{ns}/pods"
    bodies = [json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1",
                                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}).encode()
        for i in range(start, start + count)]
    for body in bodies:
        status, data = c.request("POST", path, body)
        if status >= 300:
            raise SystemExit(f"POST {path}: {status} {data[:200]!r}")
    c.close()
    return count


def split(n, clients):
    per, extra = divmod(n, clients)
    out, start = [], 0
    for k in range(clients):
        cnt = per + (1 if k < extra else 0)
        out.append((start, cnt))
        start += cnt
    return out


class BoundWatch:
    """Counts pods of ns bound to a node: a list, then a watch from its
    resourceVersion on a thread of its own (listed and watched again when
    the stream ends, e.g. a 410 for a reader that fell behind the watch
    cache's ring); wait() returns the time.time() the n-th pod was seen
    bound."""

    def __init__(self, url, token, ca, ns, n):
        self.url, self.token, self.ca, self.ns = url, token, ca, ns
        self.n, self.bound, self.done_at, self.first_at = n, set(), None, None
        self.cond = threading.Condition()
        self.resp = self._list_and_watch()
        threading.Thread(target=self._run, daemon=True).start()

    def _list_and_watch(self):
        c = conn(self.url, self.ca)
        lst = json.loads(call(c, "GET", f"/api/v1/namespaces/{self.ns}/pods", self.token))
        with self.cond:
            for p in lst["items"]:
                if p["spec"].get("nodeName"):
                    self.bound.add(p["metadata"]["name"])
            self._check()
        rv = lst["metadata"]["resourceVersion"]
        c.request("GET", f"/api/v1/namespaces/{self.ns}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=3600",
                  headers={"Authorization": "Bearer " + self.token})
        resp = c.getresponse()
        if resp.status != 200:
            raise SystemExit(f"watch pods: {resp.status}")
        return resp

    def _check(self):
        if self.first_at is None and self.bound:
            self.first_at = time.time()
        if self.done_at is None and len(self.bound) >= self.n:
            self.done_at = time.time()
            self.cond.notify_all()

    def _run(self):
        while self.done_at is None:
            for line in self.resp:
                if b'"nodeName"' not in line and b'"ERROR"' not in line:
                    continue  # cheap: only bound pods carry spec.nodeName
                ev = json.loads(line)
                if ev.get("type") == "ERROR":
                    break
                obj = ev.get("object", {})
                if ev.get("type") in ("ADDED", "MODIFIED") and obj.get("spec", {}).get("nodeName"):
                    with self.cond:
                        self.bound.add(obj["metadata"]["name"])
                        self._check()
            if self.done_at is None:
                self.resp = self._list_and_watch()

    def wait(self):
        with self.cond:
            while self.done_at is None:
                if not self.cond.wait(600):
                    raise SystemExit(f"only {len(self.bound)} of {self.n} pods bound after 600 s")
            return self.done_at


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
    w = BoundWatch(url, token, ca, ns, n)
    with multiprocessing.Pool(clients) as pool:
        t = time.time()
        pool.map(pod_worker, jobs)
        created = time.time()
    end = w.wait()
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


def wait(url, token, ca, ns, n, t0=None):
    n = int(n)
    t = float(t0) if t0 else time.time()
    w = BoundWatch(url, token, ca, ns, n)
    end = w.wait()
    print(f"backlog_bound {n / (end - t):.0f} pods/s ({end - t:.2f} s for {n}, scheduler start-up included; "
          f"first to last bound {end - w.first_at:.2f} s: {n / max(end - w.first_at, 1e-3):.0f} pods/s)")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"nodes": nodes, "pods": pods, "create": create, "wait": wait}[cmd](*args)
