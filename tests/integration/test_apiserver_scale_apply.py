"""Server-side apply on the scale subresource: `kubectl apply --server-side
--subresource=scale` (kubectl >= 1.27 sends the parent's manifest to
.../scale as application/apply-patch) applies only spec.replicas, conflicts
with the manager owning it unless forced, and records an Apply entry for the
subresource; `kubectl scale` records an Update for it; a YAML autoscaling/v1
Scale body is taken as well."""
import json
import os
import shutil
import subprocess

import pytest

from test_apiserver import KUBECTLS
from test_apiserver_tables import ApiServer



def has_apply_subresource(kubectl):
    p = subprocess.run([kubectl, "apply", "--help"], capture_output=True, text=True, timeout=60)
    return "--subresource=" in p.stdout


# the versioned kubectls whose apply has --subresource (1.32, 1.33); /usr/bin/kubectl
# is a dispatcher that runs the build matching the server's version (1.31: without it)
NEW_KUBECTLS = [k for k in KUBECTLS if "kubectl." in os.path.basename(k) and has_apply_subresource(k)]


@pytest.fixture(scope="module")
def srv():
    s = ApiServer()
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data, ignore_errors=True)


def entries(srv, name):
    st, d = srv.call("GET", f"/apis/apps/v1/namespaces/default/deployments/{name}")
    assert st == 200
    return d["spec"]["replicas"], {(m["manager"], m["operation"], m.get("subresource", "")): m["fieldsV1"]
                                   for m in d["metadata"]["managedFields"]}


@pytest.mark.parametrize("kubectl", sorted({NEW_KUBECTLS[0], NEW_KUBECTLS[-1]}))
def test_apply_on_scale(srv, kubectl):
    name = "web-" + os.path.basename(kubectl).replace(".", "-")
    srv.kubectl("create", "deployment", name, "--image=nginx", "--replicas=1")
    manifest = os.path.join(srv.data, name + ".yaml")
    with open(manifest, "w") as f:
        f.write(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 3\n"
                "  template:\n    spec:\n      containers: [{name: x, image: other}]\n")
    p = srv.kubectl("apply", "--server-side", "--subresource=scale", "-f", manifest, kubectl=kubectl, check=False)
    assert p.returncode != 0
    assert 'conflict with "kubectl-create"' in p.stderr and ".spec.replicas" in p.stderr
    assert entries(srv, name)[0] == 1  # nothing written
    p = srv.kubectl("apply", "--server-side", "--force-conflicts", "--subresource=scale", "-f", manifest,
                    kubectl=kubectl)
    replicas, mf = entries(srv, name)
    assert replicas == 3
    assert mf[("kubectl", "Apply", "scale")] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in mf[("kubectl-create", "Update", "")]["f:spec"]
    st, d = srv.call("GET", f"/apis/apps/v1/namespaces/default/deployments/{name}")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"  # only replicas applied
    srv.kubectl("scale", "deployment", name, "--replicas=5", kubectl=kubectl)
    replicas, mf = entries(srv, name)
    assert replicas == 5
    # the manager is the User-Agent's product (kubectl, or kubectl.1.NN for the versioned builds)
    upd = [v for (m, op, sub), v in mf.items() if m.startswith("kubectl") and op == "Update" and sub == "scale"]
    assert upd == [{"f:spec": {"f:replicas": {}}}], mf


def test_apply_scale_yaml_body(srv):
    srv.kubectl("create", "deployment", "yaml-scale", "--image=nginx", "--replicas=1")
    body = "apiVersion: autoscaling/v1\nkind: Scale\nmetadata:\n  name: yaml-scale\nspec:\n  replicas: 4\n"
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=60)
    c.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/yaml-scale/scale?fieldManager=hpa&force=true",
              body=body, headers={"Authorization": "Bearer " + srv.token,
                                  "Content-Type": "application/apply-patch+yaml"})
    r = c.getresponse()
    out = json.loads(r.read())
    c.close()
    assert r.status == 200, out
    assert out["kind"] == "Scale" and out["spec"]["replicas"] == 4
    replicas, mf = entries(srv, "yaml-scale")
    assert replicas == 4 and mf[("hpa", "Apply", "scale")] == {"f:spec": {"f:replicas": {}}}
    # a Scale body is only for the scale subresource
    st, out = srv.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/yaml-scale?fieldManager=hpa",
                       {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "yaml-scale"}})
    assert st in (400, 415), out
