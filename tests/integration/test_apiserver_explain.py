"""`kubectl explain` against the OpenAPI v3 documents the server publishes
(/openapi/v3 and one document per group-version): the schema tables of the
built-in kinds (types, descriptions, required fields, enums, $ref structure)
at every depth, and CRDs' openAPIV3Schema, with every kubectl found
(1.27 ... 1.33); the same tables as /openapi/v2 (explain --output
plaintext-openapiv2); the cached document text follows CRD changes; applying
manifests with fields the tables lack still works, with every kubectl."""
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
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1"} <= set(root["paths"])
    for gv in root["paths"]:
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
        assert refs and refs <= set(schemas), (gv, refs - set(schemas))
        for name, s in schemas.items():  # required fields are listed; no built-in kind is a bare object
            assert set(s.get("required", [])) <= set(s.get("properties", {})), name
            if s.get("x-kubernetes-group-version-kind") and not gv.startswith("apis/stable.example.com"):
                assert {"apiVersion", "kind", "metadata"} <= set(s.get("properties", {})), (gv, name)
        expect = {"api/v1": {"Pod", "Service", "ConfigMap", "Secret", "Namespace", "Node", "Event",
                             "PersistentVolumeClaim", "PersistentVolume", "Endpoints", "ServiceAccount"},
                  "apis/apps/v1": {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet"},
                  "apis/batch/v1": {"Job", "CronJob"}}.get(gv, set())
        assert expect <= kinds
        for k in expect:
            s = [s for s in schemas.values() if any(g["kind"] == k for g in s.get("x-kubernetes-group-version-kind", []))]
            assert s[0]["description"]
            assert "spec" in s[0]["properties"] or k in ("ConfigMap", "Secret", "Event", "Endpoints", "ServiceAccount")


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


# the newest kubectl and the oldest one
DEPTH_KUBECTLS = KUBECTLS[:1] + [k for k in KUBECTLS if k.endswith("kubectl.1.27")]

DEPTH = [
    ("pod.spec.securityContext", "<PodSecurityContext>",
     {"runAsUser": "<integer>", "runAsNonRoot": "<boolean>", "fsGroup": "<integer>",
      "seccompProfile": "<SeccompProfile>", "sysctls": "<[]Sysctl>", "supplementalGroups": "<[]integer>"}),
    ("pod.spec.containers.securityContext.capabilities", "<Capabilities>", {"add": "<[]string>", "drop": "<[]string>"}),
    ("pod.spec.containers.livenessProbe.httpGet", "<HTTPGetAction>",
     {"port": "<IntOrString> -required-", "httpHeaders": "<[]HTTPHeader>", "path": "<string>"}),
    ("pod.spec.containers.livenessProbe.httpGet.port", "<IntOrString>", {}),
    ("deployment.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution",
     "<[]PodAffinityTerm>", {"labelSelector": "<LabelSelector>", "topologyKey": "<string> -required-",
                             "namespaceSelector": "<LabelSelector>", "namespaces": "<[]string>"}),
    ("svc.spec.ports", "<[]ServicePort>",
     {"port": "<integer> -required-", "targetPort": "<IntOrString>", "nodePort": "<integer>", "protocol": "<string>"}),
    ("node.spec.taints", "<[]Taint>",
     {"key": "<string> -required-", "effect": "<string> -required-", "value": "<string>", "timeAdded": "<string>"}),
    ("cronjob.spec.jobTemplate.spec.template.spec.containers", "<[]Container>",
     {"name": "<string> -required-", "livenessProbe": "<Probe>", "securityContext": "<SecurityContext>",
      "env": "<[]EnvVar>", "lifecycle": "<Lifecycle>"}),
    ("pod.spec.containers.env.valueFrom.secretKeyRef", "<SecretKeySelector>",
     {"key": "<string> -required-", "name": "<string>", "optional": "<boolean>"}),
    ("pod.spec.containers.resources", "<ResourceRequirements>",
     {"limits": "<map[string]Quantity>", "requests": "<map[string]Quantity>", "claims": "<[]ResourceClaim>"}),
    ("pod.spec.volumes.projected.sources.serviceAccountToken", "<ServiceAccountTokenProjection>",
     {"path": "<string> -required-", "expirationSeconds": "<integer>", "audience": "<string>"}),
    ("statefulset.spec.persistentVolumeClaimRetentionPolicy", "<StatefulSetPersistentVolumeClaimRetentionPolicy>",
     {"whenDeleted": "<string>", "whenScaled": "<string>"}),
    ("job.spec.podFailurePolicy.rules.onExitCodes", "<PodFailurePolicyOnExitCodesRequirement>",
     {"operator": "<string> -required-", "values": "<[]integer> -required-", "containerName": "<string>"}),
    ("pod.status.containerStatuses.state.terminated", "<ContainerStateTerminated>",
     {"exitCode": "<integer> -required-", "reason": "<string>", "finishedAt": "<string>"}),
    ("ingress.spec.rules.http.paths.backend.service.port", "<ServiceBackendPort>",
     {"name": "<string>", "number": "<integer>"}),
    ("pdb.spec", "<PodDisruptionBudgetSpec>", {"minAvailable": "<IntOrString>", "selector": "<LabelSelector>"}),
]


@pytest.mark.parametrize("kubectl", DEPTH_KUBECTLS)
def test_explain_at_depth(srv, kubectl):
    for path, typ, want in DEPTH:
        out = srv.kubectl("explain", path, kubectl=kubectl).stdout
        assert f"FIELD: {path.rsplit('.', 1)[1]} {typ}" in out, (path, out)
        got = fields(out)
        assert {k: got.get(k) for k in want} == want, (path, out)


def test_explain_enums(srv):
    out = srv.kubectl("explain", "pod.spec.restartPolicy").stdout
    assert "ENUM:\n    Always\n    Never\n    OnFailure\n" in out, out
    out = srv.kubectl("explain", "pod.spec.volumes.hostPath").stdout
    assert 'enum: "", BlockDevice, CharDevice, Directory, ....' in out, out


def tree(out):
    """The nested field names of `explain --recursive` output: {name: (type, {children})}."""
    root, stack = {}, [(-1, {})]
    stack[0] = (-1, root)
    for line in out.split("FIELDS:\n", 1)[1].splitlines():
        if "\t" not in line:
            continue  # blank lines, enum lines
        name, typ = line.split("\t", 1)
        depth = (len(name) - len(name.lstrip(" "))) // 2
        while stack[-1][0] >= depth:
            stack.pop()
        children = {}
        stack[-1][1][name.strip()] = (typ.strip(), children)
        stack.append((depth, children))
    return root


def node(t, *path):
    for p in path:
        t = t[p][1] if isinstance(t, dict) else t
    return t


@pytest.mark.parametrize("kubectl", DEPTH_KUBECTLS)
def test_explain_recursive(srv, kubectl):
    t = tree(srv.kubectl("explain", "--recursive", "pod.spec", kubectl=kubectl).stdout)
    assert t["containers"][0] == "<[]Container> -required-"
    assert node(t, "containers", "livenessProbe", "httpGet")["port"][0] == "<IntOrString> -required-"
    assert "runAsUser" in node(t, "containers", "securityContext")
    assert node(t, "securityContext", "seccompProfile")["type"][0] == "<string> -required-"
    anti = node(t, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    assert anti["topologyKey"][0] == "<string> -required-"
    assert "matchExpressions" in node(anti, "labelSelector")
    assert node(t, "volumes", "projected", "sources", "serviceAccountToken")["path"][0] == "<string> -required-"
    assert "nodeSelectorTerms" in node(t, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    assert "key" in node(t, "topologySpreadConstraints", "labelSelector", "matchExpressions")


GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.cache.example.com"},
    "spec": {
        "group": "cache.example.com", "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                          "type": "object", "properties": {"size": {"type": "integer"}}}}}}}],
    },
}


def wait_for(cond, what, timeout=60):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            assert v, f"timed out waiting for {what}"
            return v
        time.sleep(0.2)


def test_cached_document_follows_crd_changes(srv):
    st, out = srv.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", GADGET_CRD)
    assert st == 201, out

    def gadget_spec():
        st, doc = srv.call("GET", "/openapi/v3/apis/cache.example.com/v1")
        if st != 200:
            return None
        s = doc["components"]["schemas"].get("com.example.cache.v1.Gadget") or \
            [s for s in doc["components"]["schemas"].values()
             if any(g["kind"] == "Gadget" for g in s.get("x-kubernetes-group-version-kind", []))][0]
        return s["properties"]["spec"]["properties"]

    assert set(wait_for(gadget_spec, "the Gadget document")) == {"size"}
    assert srv.call("GET", "/openapi/v3/apis/cache.example.com/v1") == srv.call("GET", "/openapi/v3/apis/cache.example.com/v1")
    st, crd = srv.call("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.cache.example.com")
    assert st == 200
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"] = \
        {"type": "string", "description": "The gadget's color."}
    st, out = srv.call("PUT", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.cache.example.com", crd)
    assert st == 200, out
    wait_for(lambda: "color" in (gadget_spec() or {}), "the changed schema in the served document")
    out = wait_for(lambda: (p := srv.kubectl("explain", "gadget.spec", check=False)).returncode == 0 and p.stdout,
                   "kubectl explain gadget.spec")
    assert fields(out) == {"color": "<string>", "size": "<integer>"}, out
    # the built-in group-versions are unaffected
    st, doc = srv.call("GET", "/openapi/v3/api/v1")
    assert st == 200 and "io.k8s.api.core.v1.PodSpec" in doc["components"]["schemas"]


APPLY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: deep}
spec:
  replicas: 0
  selector: {matchLabels: {app: deep}}
  template:
    metadata: {labels: {app: deep}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 10
            podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: deep}}}
      containers:
      - name: web
        image: %(image)s
        lifecycle:
          stopSignal: SIGTERM
          preStop: {sleep: {seconds: 1}}
        livenessProbe: {httpGet: {port: http, path: /}, periodSeconds: 5}
        ports: [{name: http, containerPort: 80}]
        securityContext: {capabilities: {drop: [ALL]}, allowPrivilegeEscalation: false}
        volumeMounts: [{name: tok, mountPath: /var/run/tok}]
      volumes:
      - name: tok
        projected: {sources: [{serviceAccountToken: {path: token, expirationSeconds: 3600}}]}
"""


@pytest.mark.parametrize("kubectl", DEPTH_KUBECTLS)
def test_apply_with_fields_the_tables_lack(srv, kubectl):
    """lifecycle.stopSignal (Kubernetes 1.33) is not in the tables: the
    published types are not closed, so kubectl still applies it."""
    ns = "explain-" + kubectl.rsplit("/", 1)[1].replace(".", "-")
    srv.kubectl("create", "namespace", ns, kubectl=kubectl)
    out = srv.kubectl("apply", "-n", ns, "-f", "-", input=APPLY % {"image": "nginx:1"}, kubectl=kubectl).stdout
    assert "deployment.apps/deep created" in out
    out = srv.kubectl("apply", "-n", ns, "-f", "-", input=APPLY % {"image": "nginx:2"}, kubectl=kubectl).stdout
    assert "deployment.apps/deep configured" in out
    st, dep = srv.call("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/deep")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:2" and c["lifecycle"]["preStop"] == {"sleep": {"seconds": 1}}


@pytest.mark.parametrize("kubectl", DEPTH_KUBECTLS)
def test_explain_openapi_v2(srv, kubectl):
    """/openapi/v2 (gnostic protobuf for kubectl) carries the same tables."""
    out = srv.kubectl("explain", "--output", "plaintext-openapiv2",
                      "deployment.spec.template.spec.affinity.podAntiAffinity"
                      ".requiredDuringSchedulingIgnoredDuringExecution", kubectl=kubectl).stdout
    assert "RESOURCE: requiredDuringSchedulingIgnoredDuringExecution <[]Object>" in out, out
    f = {k.strip(): v for k, v in (l.strip().split("\t", 1) for l in out.splitlines() if l.startswith("   ") and
                                   not l.startswith("     ") and "\t" in l)}
    assert f["topologyKey"] == "<string> -required-" and f["labelSelector"] == "<Object>", out
    out = srv.kubectl("explain", "--output", "plaintext-openapiv2", "pod.spec.securityContext.seccompProfile",
                      kubectl=kubectl).stdout
    assert "A seccomp profile." in out and "localhostProfile" in out, out
    st, doc = srv.call("GET", "/openapi/v2")
    assert st == 200 and doc["swagger"] == "2.0" and not doc["paths"]
    defs = doc["definitions"]
    assert defs["io.k8s.api.core.v1.HTTPGetAction"]["properties"]["port"]["$ref"] == \
        "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
    refs = {v["$ref"].rsplit("/", 1)[1] for d in defs.values() for p in d.get("properties", {}).values()
            for v in (p, p.get("items", {}), p.get("additionalProperties", {})) if isinstance(v, dict) and "$ref" in v}
    assert refs and refs <= set(defs), refs - set(defs)


@pytest.mark.parametrize("kubectl", [k for k in KUBECTLS if k.rsplit(".", 1)[-1] in ("27", "28")])
def test_old_kubectl_create_with_v2_definitions(srv, kubectl):
    """kubectl < 1.29 parses /openapi/v2 before every write: with definitions
    but no paths it still leaves validation to the server and patches from
    its own types (fields the tables lack pass)."""
    ns = "explain-v2-" + kubectl.rsplit(".", 1)[-1]
    srv.kubectl("create", "namespace", ns, kubectl=kubectl)
    out = srv.kubectl("create", "-n", ns, "-f", "-", input=APPLY % {"image": "nginx:1"}, kubectl=kubectl).stdout
    assert "deployment.apps/deep created" in out
    out = srv.kubectl("apply", "-n", ns, "-f", "-", input=APPLY % {"image": "nginx:3"}, kubectl=kubectl).stdout
    assert "deployment.apps/deep configured" in out
    st, dep = srv.call("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/deep")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:3"
