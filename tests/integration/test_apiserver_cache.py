"""The API server's watch cache, through the real binary over HTTPS: lists
at a resourceVersion, watches replayed from a revision inside the event
ring, 410 Gone below it, and a burst of writes seen by concurrent watchers
exactly once and in order.  (Two servers on one etcd seeing each other's
writes through their caches: test_apiserver_etcd.py.)"""
import http.client
import json
import os
import shutil
import ssl
import threading

import pytest

from test_apiserver import Server


class CacheServer(Server):
    """A server with a small event ring (BERTH_WATCH_CACHE_EVENTS)."""

    def start(self):
        old = os.environ.get("BERTH_WATCH_CACHE_EVENTS")
        os.environ["BERTH_WATCH_CACHE_EVENTS"] = "64"
        try:
            super().start()
        finally:
            if old is None:
                del os.environ["BERTH_WATCH_CACHE_EVENTS"]
            else:
                os.environ["BERTH_WATCH_CACHE_EVENTS"] = old
        self.token = open(os.path.join(self.data, "tokens")).readline().split(",")[0]
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.data, "tls", "ca.crt"))

    def conn(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)

    def call(self, method, path, body=None):
        c = self.conn()
        h = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data) if data else None

    def watch(self, path):
        """Every event of a watch that ends by its timeoutSeconds."""
        c = self.conn()
        c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = c.getresponse()
        assert r.status == 200
        events = [json.loads(line) for line in r.read().splitlines() if line.strip()]
        c.close()
        return events


@pytest.fixture(scope="module")
def srv():
    s = CacheServer()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def cm(srv, ns, name, value="0"):
    st, obj = srv.call("POST", f"/api/v1/namespaces/{ns}/configmaps",
                       {"metadata": {"name": name}, "data": {"v": value}})
    assert st == 201, obj
    return int(obj["metadata"]["resourceVersion"])


def ns(srv, name):
    st, _ = srv.call("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert st == 201


def test_list_at_resource_version_is_at_least_that_new(srv):
    ns(srv, "rvlist")
    rv = cm(srv, "rvlist", "a")
    for q in (f"resourceVersion={rv}", "resourceVersion=0", ""):
        st, lst = srv.call("GET", f"/api/v1/namespaces/rvlist/configmaps?{q}")
        assert st == 200
        assert int(lst["metadata"]["resourceVersion"]) >= rv, q
        assert [i["metadata"]["name"] for i in lst["items"]] == ["a"], q
        assert lst["items"][0]["metadata"]["resourceVersion"] == str(rv)
    # a consistent read right after a write sees it
    rv2 = cm(srv, "rvlist", "b")
    st, lst = srv.call("GET", "/api/v1/namespaces/rvlist/configmaps")
    assert int(lst["metadata"]["resourceVersion"]) >= rv2
    assert [i["metadata"]["name"] for i in lst["items"]] == ["a", "b"]
    # limit and continue: pages from the cache continue from the store's snapshot
    st, page = srv.call("GET", "/api/v1/namespaces/rvlist/configmaps?limit=1")
    assert [i["metadata"]["name"] for i in page["items"]] == ["a"] and page["metadata"]["continue"]
    st, page2 = srv.call("GET", "/api/v1/namespaces/rvlist/configmaps?limit=1&continue=" + page["metadata"]["continue"])
    assert st == 200 and [i["metadata"]["name"] for i in page2["items"]] == ["b"]
    # label selectors are evaluated on the cache
    st, _ = srv.call("POST", "/api/v1/namespaces/rvlist/configmaps",
                     {"metadata": {"name": "c", "labels": {"sel": "yes"}}})
    st, lst = srv.call("GET", "/api/v1/namespaces/rvlist/configmaps?labelSelector=sel%3Dyes")
    assert [i["metadata"]["name"] for i in lst["items"]] == ["c"]
    st, lst = srv.call("GET", "/api/v1/namespaces/rvlist/configmaps?fieldSelector=metadata.name%3Db")
    assert [i["metadata"]["name"] for i in lst["items"]] == ["b"]


def test_watch_from_revision_replays_exactly_the_later_events(srv):
    ns(srv, "replay")
    rv1 = cm(srv, "replay", "one")
    cm(srv, "replay", "two")
    st, _ = srv.call("PUT", "/api/v1/namespaces/replay/configmaps/two",
                     {"metadata": {"name": "two"}, "data": {"v": "changed"}})
    assert st == 200
    st, _ = srv.call("DELETE", "/api/v1/namespaces/replay/configmaps/one")
    assert st == 200
    evs = srv.watch(f"/api/v1/namespaces/replay/configmaps?watch=1&resourceVersion={rv1}&timeoutSeconds=2")
    got = [(e["type"], e["object"]["metadata"]["name"]) for e in evs]
    assert got == [("ADDED", "two"), ("MODIFIED", "two"), ("DELETED", "one")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    assert rvs == sorted(rvs) and rvs[0] > rv1
    assert evs[1]["object"]["data"]["v"] == "changed"


def test_watch_older_than_the_ring_is_gone(srv):
    ns(srv, "old")
    first = cm(srv, "old", "c0")
    for i in range(1, 80):  # the ring holds 64 events
        cm(srv, "old", f"c{i}")
    evs = srv.watch(f"/api/v1/namespaces/old/configmaps?watch=1&resourceVersion={first}&timeoutSeconds=2")
    assert len(evs) == 1 and evs[0]["type"] == "ERROR"
    status = evs[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {first} (")


def test_burst_with_concurrent_watchers_each_event_once_in_order(srv):
    ns(srv, "burst")
    st, lst = srv.call("GET", "/api/v1/namespaces/burst/configmaps")
    start = lst["metadata"]["resourceVersion"]
    results = {}

    def watcher(k):
        results[k] = srv.watch(f"/api/v1/namespaces/burst/configmaps?watch=1&resourceVersion={start}"
                               "&timeoutSeconds=8")

    ws = [threading.Thread(target=watcher, args=(k,)) for k in range(5)]
    for t in ws:
        t.start()

    def writer(w):
        for i in range(10):
            cm(srv, "burst", f"w{w}-{i}")

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in writers:
        t.start()
    for t in writers + ws:
        t.join()
    names = sorted(f"w{w}-{i}" for w in range(4) for i in range(10))
    for k in range(5):
        evs = results[k]
        assert [e["type"] for e in evs] == ["ADDED"] * 40, k
        assert sorted(e["object"]["metadata"]["name"] for e in evs) == names, k
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        assert rvs == sorted(rvs) and len(set(rvs)) == 40, k
