"""Server-side Tables served from the watch cache (`kubectl get`), CRD
additionalPrinterColumns, and Service address allocation as kube-apiserver
words its errors.  Drives the real binary over HTTPS and the real kubectl.

Table rows from the cache are cached per object version as text with the
time-dependent cells rendered per request; the store path (resourceVersionMatch=
Exact) still builds them from decoded objects, so the two must agree."""
import http.client
import json
import os
import re
import shutil
import ssl
import time

import pytest

from test_apiserver import Server

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

CRONTAB_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {
        "group": "stable.example.com",
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object", "description": "What the CronTab runs and when.",
                "properties": {
                    "cronSpec": {"type": "string", "description": "The schedule in cron format."},
                    "image": {"type": "string", "description": "The image to run."},
                    "replicas": {"type": "integer"},
                    "since": {"type": "string"},
                    "conditions": {"type": "array", "items": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": True}}}}}}},
            "additionalPrinterColumns": [
                {"name": "Spec", "type": "string", "description": "The cron spec", "jsonPath": ".spec.cronSpec"},
                {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                {"name": "Image", "type": "string", "priority": 1, "jsonPath": ".spec.image"},
                {"name": "Ready", "type": "string",
                 "jsonPath": ".spec.conditions[?(@.type==\"Ready\")].status"},
                {"name": "Since", "type": "date", "jsonPath": ".spec.since"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        }],
    },
}


class ApiServer(Server):
    def start(self):
        super().start()
        self.token = open(os.path.join(self.data, "tokens")).readline().split(",")[0]
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.data, "tls", "ca.crt"))

    def call(self, method, path, body=None, accept="application/json"):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)
        h = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json", "Accept": accept}
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, json.loads(data) if data else None


@pytest.fixture(scope="module")
def srv():
    s = ApiServer()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def create(srv, path, obj):
    st, out = srv.call("POST", path, obj)
    assert st == 201, out
    return out


def wait_for(fn, timeout=60, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def age_columns(table):
    return {i for i, c in enumerate(table["columnDefinitions"])
            if c["name"] in ("Age", "Last Seen", "First Seen", "Since", "Duration", "Last Schedule")}


def comparable(table):
    """Rows without their time-dependent cells, keyed by name."""
    ages = age_columns(table)
    return {r["object"]["metadata"]["name"] if "object" in r else r["cells"][0]:
            ([c for i, c in enumerate(r["cells"]) if i not in ages], r.get("object"))
            for r in table["rows"]}


def populate(srv, ns):
    create(srv, "/api/v1/namespaces", {"metadata": {"name": ns}})
    for i in range(5):
        create(srv, f"/api/v1/namespaces/{ns}/pods", {"metadata": {"name": f"p{i}", "labels": {"i": str(i)}},
               "spec": {"containers": [{"name": "c", "image": "busybox"}], "readinessGates": [] if i else
                        [{"conditionType": "x"}]}})
        create(srv, f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"cm{i}"}, "data": {"a": "1"}})
    create(srv, f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "s"}, "stringData": {"x": "y"}})
    create(srv, f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "metadata": {"name": "d"}, "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
            {"name": "c", "image": "nginx"}, {"name": "side", "image": "busybox"}]}}}})
    create(srv, f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "svc"}, "spec": {
        "type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80}]}})
    create(srv, f"/api/v1/namespaces/{ns}/events", {"metadata": {"name": "ev"}, "type": "Normal", "reason": "Test",
           "message": "hello \"quoted\" \u00e9", "involvedObject": {"kind": "Pod", "name": "p0"},
           "lastTimestamp": "2021-03-04T05:06:07Z"})


RESOURCES = ["/api/v1/namespaces/{ns}/pods", "/api/v1/namespaces/{ns}/configmaps", "/api/v1/namespaces/{ns}/secrets",
             "/apis/apps/v1/namespaces/{ns}/deployments", "/api/v1/namespaces/{ns}/services",
             "/api/v1/namespaces/{ns}/events"]


@pytest.mark.parametrize("include", [None, "Object", "None"])
def test_cached_table_equals_store_table(srv, include):
    ns = "tbl-" + (include or "meta").lower()
    populate(srv, ns)
    for res in RESOURCES:
        path = res.format(ns=ns)
        q = "?includeObject=" + include if include else ""
        st, cached = srv.call("GET", path + q, accept=TABLE)
        assert st == 200, cached
        assert cached["kind"] == "Table" and cached["rows"], (path, cached)
        rv = cached["metadata"]["resourceVersion"]
        sep = "&" if q else "?"
        st, stored = srv.call("GET", f"{path}{q}{sep}resourceVersion={rv}&resourceVersionMatch=Exact", accept=TABLE)
        assert st == 200, stored
        assert cached["columnDefinitions"] == stored["columnDefinitions"], path
        assert comparable(cached) == comparable(stored), path
        for row in cached["rows"]:
            if include == "None":
                assert "object" not in row
            elif include == "Object":
                assert row["object"]["metadata"]["resourceVersion"] and "spec" in row["object"] or \
                    path.endswith(("configmaps", "secrets", "events"))
            else:
                assert row["object"]["kind"] == "PartialObjectMetadata"
                assert row["object"]["metadata"]["namespace"] == ns
            for i in age_columns(cached):
                assert re.fullmatch(r"\d+[smhdy]\w*|<unknown>|<invalid>", row["cells"][i]), row["cells"]


def test_table_age_is_computed_per_request(srv):
    create(srv, "/api/v1/namespaces", {"metadata": {"name": "tbl-age"}})
    create(srv, "/api/v1/namespaces/tbl-age/configmaps", {"metadata": {"name": "old"}})
    path = "/api/v1/namespaces/tbl-age/configmaps"

    def age():
        st, t = srv.call("GET", path, accept=TABLE)
        assert st == 200
        col = [c["name"] for c in t["columnDefinitions"]].index("Age")
        return t["rows"][0]["cells"][col]
    first = age()
    assert re.fullmatch(r"\d+s", first)
    # the object is unchanged, so its row is the cached one: only the age moves
    later = wait_for(lambda: age() if age() != first else None, what="the Age cell to advance")
    assert int(later[:-1]) > int(first[:-1])


def test_event_columns_wide(srv):
    create(srv, "/api/v1/namespaces", {"metadata": {"name": "tbl-ev"}})
    create(srv, "/api/v1/namespaces/tbl-ev/events", {
        "metadata": {"name": "web.17"}, "type": "Warning", "reason": "BackOff", "message": "Back-off restarting",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
        "source": {"component": "kubelet", "host": "node-a"}, "count": 7,
        "firstTimestamp": "2021-03-04T05:06:07Z", "lastTimestamp": "2021-03-04T05:16:07Z"})
    st, t = srv.call("GET", "/api/v1/namespaces/tbl-ev/events", accept=TABLE)
    assert st == 200
    cols = [(c["name"], c["priority"]) for c in t["columnDefinitions"]]
    # kubectl's own event columns: the wide ones (priority 1) between and after, as -o wide prints them
    assert cols == [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
                    ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    cells = t["rows"][0]["cells"]
    assert cells[1:7] == ["Warning", "BackOff", "pod/web", "spec.containers{c}", "kubelet, node-a",
                          "Back-off restarting"]
    assert re.fullmatch(r"\d+[dy]\w*", cells[0]) and re.fullmatch(r"\d+[dy]\w*", cells[7])
    assert cells[8:] == [7, "web.17"]


def test_crd_printer_columns(srv):
    create(srv, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRONTAB_CRD)
    create(srv, "/api/v1/namespaces", {"metadata": {"name": "tbl-crd"}})
    path = "/apis/stable.example.com/v1/namespaces/tbl-crd/crontabs"
    # the CRD's resource appears once its table is refreshed
    wait_for(lambda: srv.call("GET", path)[0] == 200, what="the CronTab resource")
    create(srv, path, {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "my-new-cron"},
                       "spec": {"cronSpec": "* * * * */5", "image": "my-awesome-cron-image", "replicas": 3,
                                "since": "2020-01-01T00:00:00Z",
                                "conditions": [{"type": "Other", "status": "False"},
                                               {"type": "Ready", "status": "True"}]}})
    create(srv, path, {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "bare"},
                       "spec": {"since": "not a time"}})
    st, t = srv.call("GET", path, accept=TABLE)
    assert st == 200, t
    cols = [(c["name"], c["type"], c["priority"]) for c in t["columnDefinitions"]]
    assert cols == [("Name", "string", 0), ("Spec", "string", 0), ("Replicas", "integer", 0), ("Image", "string", 1),
                    ("Ready", "string", 0), ("Since", "date", 0), ("Age", "date", 0)]
    assert t["columnDefinitions"][1]["description"] == "The cron spec"
    rows = {r["cells"][0]: r["cells"] for r in t["rows"]}
    full = rows["my-new-cron"]
    assert full[1:5] == ["* * * * */5", 3, "my-awesome-cron-image", "True"]
    assert re.fullmatch(r"\d+y\d*d?", full[5]), full
    assert re.fullmatch(r"\d+s", full[6]), full
    assert rows["bare"][1:6] == [None, None, None, None, "<invalid>"]
    # the store path prints the same
    rv = t["metadata"]["resourceVersion"]
    st, stored = srv.call("GET", f"{path}?resourceVersion={rv}&resourceVersionMatch=Exact", accept=TABLE)
    assert comparable(stored) == comparable(t)

    out = srv.kubectl("get", "crontab", "-n", "tbl-crd").stdout.splitlines()
    assert out[0].split() == ["NAME", "SPEC", "REPLICAS", "READY", "SINCE", "AGE"]
    line = [l for l in out if l.startswith("my-new-cron")][0]
    assert "* * * * */5" in line and " 3 " in line and "True" in line
    wide = srv.kubectl("get", "ct", "-n", "tbl-crd", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SPEC", "REPLICAS", "IMAGE", "READY", "SINCE", "AGE"]
    assert "my-awesome-cron-image" in [l for l in wide if l.startswith("my-new-cron")][0]


def test_service_address_errors(srv):
    ns = "addr"
    create(srv, "/api/v1/namespaces", {"metadata": {"name": ns}})
    path = f"/api/v1/namespaces/{ns}/services"

    def svc(name, node_port=None, ip=None):
        spec = {"type": "NodePort" if node_port else "ClusterIP", "ports": [{"port": 80}]}
        if node_port:
            spec["ports"][0]["nodePort"] = node_port
        if ip:
            spec["clusterIP"] = ip
        return srv.call("POST", path, {"metadata": {"name": name}, "spec": spec})

    def invalid(resp, field, message):
        st, out = resp
        assert st == 422, out
        assert out["reason"] == "Invalid"
        assert out["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": field, "message": message}], out

    def absent(name):
        assert srv.call("GET", f"{path}/{name}")[0] == 404

    st, a = svc("a", node_port=30063, ip="10.43.0.55")
    assert st == 201, a
    invalid(svc("b", node_port=30063), "spec.ports[0].nodePort",
            "Invalid value: 30063: provided port is already allocated")
    absent("b")
    invalid(svc("c", node_port=29999), "spec.ports[0].nodePort",
            "Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767")
    absent("c")
    invalid(svc("d", ip="10.43.0.55"), "spec.clusterIPs",
            'Invalid value: []string{"10.43.0.55"}: failed to allocate IP 10.43.0.55: provided IP is already allocated')
    absent("d")
    invalid(svc("e", ip="10.99.0.5"), "spec.clusterIPs",
            'Invalid value: []string{"10.99.0.5"}: failed to allocate IP 10.99.0.5: the provided IP (10.99.0.5) is '
            'not in the valid range. The range of valid IPs is 10.43.0.0/16')
    absent("e")
    # a failed create gives back what it claimed: the IP of a create whose port failed is free
    invalid(svc("f", node_port=30063, ip="10.43.0.56"), "spec.ports[0].nodePort",
            "Invalid value: 30063: provided port is already allocated")
    st, g = svc("g", ip="10.43.0.56")
    assert st == 201, g
    # a create that fails in the store (AlreadyExists) keeps the existing Service's addresses
    st, out = svc("a", node_port=30064)
    assert st == 409, out
    invalid(svc("h", node_port=30063), "spec.ports[0].nodePort",
            "Invalid value: 30063: provided port is already allocated")
    st, out = svc("h", node_port=30064)  # and did not keep 30064
    assert st == 201, out
    # kubectl prints the same message
    p = srv.kubectl("create", "service", "nodeport", "k", "-n", ns, "--tcp=80:80", "--node-port=30063", check=False)
    assert p.returncode != 0
    assert 'Service "k" is invalid: spec.ports[0].nodePort: Invalid value: 30063: provided port is already ' \
           'allocated' in p.stderr
    # delete gives the addresses back
    st, _ = srv.call("DELETE", f"{path}/a")
    assert st == 200
    wait_for(lambda: srv.call("GET", f"{path}/a")[0] == 404, what="service a to go")
    st, b = svc("b", node_port=30063, ip="10.43.0.55")
    assert st == 201, b
    # dry run keeps nothing
    st, out = srv.call("POST", path + "?dryRun=All", {"metadata": {"name": "dry"}, "spec": {
        "type": "NodePort", "clusterIP": "10.43.0.57", "ports": [{"port": 80, "nodePort": 30065}]}})
    assert st == 201, out
    st, out = svc("real", node_port=30065, ip="10.43.0.57")
    assert st == 201, out
