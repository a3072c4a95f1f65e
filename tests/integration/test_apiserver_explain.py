"""`kubectl explain` against the OpenAPI v3 documents the server publishes
(/openapi/v3 and one document per group-version): the schema table of the
built-in kinds (types, descriptions, required fields, $ref structure) and
CRDs' openAPIV3Schema, with every kubectl found (1.27 ... 1.33)."""
import json
import shutil
import time

import pytest

from test_apiserver import KUBECTLS, Server
from test_apiserver_tables import CRONTAB_CRD, ApiServer


@pytest.fixture(scope="module")
def srv():
    s = ApiServer()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def fields(out):
    """The field names and types of an explain FIELDS section."""
    res = {}
    section = False
    for line in out.splitlines():
        if line.startswith("FIELDS:"):
            section = True
        elif section and line.startswith("  ") and not line.startswith("    ") and "\t" in line:
            name, typ = line.strip().split("\t", 1)
            res[name] = typ.strip()
    return res


@pytest.mark.parametrize("kubectl", KUBECTLS)
def test_explain_builtin_kinds(srv, kubectl):
    out = srv.kubectl("explain", "pods.spec.containers", kubectl=kubectl).stdout
    assert "KIND:       Pod" in out and "VERSION:    v1" in out
    assert "FIELD: containers <[]Container>" in out
    f = fields(out)
    assert f["image"] == "<string>"
    assert f["name"] == "<string> -required-"
    assert f["ports"] == "<[]ContainerPort>"
    assert f["resources"] == "<ResourceRequirements>"
    assert "The image to run." in out

    out = srv.kubectl("explain", "deployment.spec.strategy", kubectl=kubectl).stdout
    assert "GROUP:      apps" in out and "KIND:       Deployment" in out
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert fields(out) == {"rollingUpdate": "<RollingUpdateDeployment>", "type": "<string>"}

    out = srv.kubectl("explain", "deployment.spec.strategy.rollingUpdate.maxSurge", kubectl=kubectl).stdout
    assert "FIELD: maxSurge <" in out
    assert "Either an integer or a string" in out  # the referenced IntOrString's own description

    for res, field in [("cronjobs.spec", "schedule"), ("jobs.spec", "template"), ("daemonsets.spec", "selector"),
                       ("statefulsets.spec", "serviceName"), ("services.spec.ports", "nodePort"),
                       ("configmaps", "data"), ("secrets", "stringData"), ("namespaces.status", "phase"),
                       ("nodes.spec", "unschedulable"), ("pods.metadata", "labels")]:
        out = srv.kubectl("explain", res, kubectl=kubectl).stdout
        assert field in fields(out), (res, out)


def test_openapi_documents_are_self_contained(srv):
    st, root = srv.call("GET", "/openapi/v3")
    assert st == 200
    for gv in ("api/v1", "apis/apps/v1", "apis/batch/v1"):
        url = root["paths"][gv]["serverRelativeURL"]
        st, doc = srv.call("GET", url)
        assert st == 200, url
        schemas = doc["components"]["schemas"]
        kinds = {k["kind"] for s in schemas.values() for k in s.get("x-kubernetes-group-version-kind", [])}
        refs = set()

        def walk(v):
            if isinstance(v, dict):
                if "$ref" in v:
                    refs.add(v["$ref"].rsplit("/", 1)[1])
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(schemas)
        assert refs and refs <= set(schemas), refs - set(schemas)
        expect = {"api/v1": {"Pod", "Service", "ConfigMap", "Secret", "Namespace", "Node"},
                  "apis/apps/v1": {"Deployment", "DaemonSet", "StatefulSet"},
                  "apis/batch/v1": {"Job", "CronJob"}}[gv]
        assert expect <= kinds
        for k in expect:
            s = [s for s in schemas.values() if any(g["kind"] == k for g in s.get("x-kubernetes-group-version-kind", []))]
            assert s[0]["description"] and "spec" in s[0]["properties"] or k in ("ConfigMap", "Secret")


@pytest.mark.parametrize("kubectl", [KUBECTLS[0], KUBECTLS[-1]] if len(KUBECTLS) > 1 else KUBECTLS)
def test_explain_crd(srv, kubectl):
    st, _ = srv.call("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com")
    if st == 404:
        st, out = srv.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRONTAB_CRD)
        assert st == 201, out
    end = time.monotonic() + 60
    while True:
        p = srv.kubectl("explain", "crontab.spec", kubectl=kubectl, check=False)
        if p.returncode == 0 or time.monotonic() > end:
            break
        time.sleep(0.2)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "GROUP:      stable.example.com" in out and "KIND:       CronTab" in out
    assert "What the CronTab runs and when." in out
    f = fields(out)
    assert f["cronSpec"] == "<string>" and f["replicas"] == "<integer>"
    out = srv.kubectl("explain", "crontab", kubectl=kubectl).stdout
    assert fields(out)["metadata"] == "<ObjectMeta>"
