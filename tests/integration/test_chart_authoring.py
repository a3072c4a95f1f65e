"""Chart authoring through the real binary: `berth chart create` -> lint ->
template (the scaffold renders as helm renders it) -> package (the archive
holds the right files, .helmignore honoured) -> repo index -> dependency
update/build/list, plus the --set family and values.schema.json through
`berth chart template`, and `chart show`.
"""
import hashlib
import json
import os
import subprocess
import tarfile

import pytest
import yaml

from conftest import BERTH

SCAFFOLD = [
    ".helmignore", "Chart.yaml", "templates/NOTES.txt", "templates/_helpers.tpl",
    "templates/deployment.yaml", "templates/hpa.yaml", "templates/httproute.yaml",
    "templates/ingress.yaml", "templates/service.yaml", "templates/serviceaccount.yaml",
    "templates/tests/test-connection.yaml", "values.yaml",
]


def run(*args, cwd=None, ok=True):
    r = subprocess.run([BERTH, "chart"] + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


@pytest.fixture
def work(tmp_path):
    r = run("create", "mychart", cwd=tmp_path)
    assert r.stdout == "Creating mychart\n"
    return tmp_path


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return sorted(out)


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_create_writes_helm_scaffold(work):
    c = work / "mychart"
    assert files_under(c) == sorted(SCAFFOLD)
    assert (c / "charts").is_dir()
    meta = yaml.safe_load((c / "Chart.yaml").read_text())
    assert meta == {"apiVersion": "v2", "name": "mychart", "description": "A Helm chart for Kubernetes",
                    "type": "application", "version": "0.1.0", "appVersion": "1.16.0"}
    assert (c / "values.yaml").read_text().startswith("# Default values for mychart.\n")
    helpers = (c / "templates/_helpers.tpl").read_text()
    assert '{{- define "mychart.fullname" -}}' in helpers and "<CHARTNAME>" not in helpers


def test_create_errors(tmp_path):
    r = run("create", "bad name!", cwd=tmp_path, ok=False)
    assert r.returncode == 1
    assert 'chart name must match the regular expression "^[a-zA-Z0-9._-]+$"' in r.stderr
    (tmp_path / "afile").write_text("x")
    r = run("create", "afile", cwd=tmp_path, ok=False)
    assert "already exists and is not a directory" in r.stderr
    # an existing chart is overwritten with Helm's warning
    run("create", "again", cwd=tmp_path)
    r = run("create", "again", cwd=tmp_path)
    assert 'WARNING: File "%s/again/Chart.yaml" already exists. Overwriting.' % tmp_path in r.stdout


def test_lint_scaffold_and_errors(work):
    r = run("lint", "mychart", cwd=work)
    assert r.stdout == ("==> Linting mychart\n[INFO] Chart.yaml: icon is recommended\n\n"
                        "1 chart(s) linted, 0 chart(s) failed\n")
    chart = work / "mychart" / "Chart.yaml"
    good = chart.read_text()
    chart.write_text(good.replace("version: 0.1.0", "version: notsemver"))
    r = run("lint", "mychart", cwd=work, ok=False)
    assert r.returncode == 1
    assert "[ERROR] Chart.yaml: version 'notsemver' is not a valid SemVer\n" in r.stdout
    assert r.stderr == "Error: 1 chart(s) linted, 1 chart(s) failed\n"
    chart.write_text(good)
    (work / "mychart" / "templates" / "broken.yaml").write_text("a: b\n  c: d: e\n")
    (work / "mychart" / "templates" / "notes.md").write_text("x")
    r = run("lint", "mychart", cwd=work, ok=False)
    assert "[ERROR] templates/broken.yaml: unable to parse YAML: error converting YAML to JSON: " in r.stdout
    assert ("[ERROR] templates/notes.md: file extension '.md' not valid. "
            "Valid extensions are .yaml, .yml, .tpl, or .txt\n") in r.stdout
    # --strict turns the scaffold's INFO into no failure, warnings into failures
    os.unlink(work / "mychart" / "templates" / "broken.yaml")
    os.unlink(work / "mychart" / "templates" / "notes.md")
    run("lint", "--strict", "mychart", cwd=work)


def test_lint_schema_and_values(work):
    c = work / "mychart"
    (c / "values.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"replicaCount": {"type": "integer", "minimum": 1}}}))
    run("lint", "mychart", cwd=work)
    r = run("lint", "mychart", "--set", "replicaCount=0", cwd=work, ok=False)
    assert "[ERROR] values.yaml: - replicaCount: Must be greater than or equal to 1\n" in r.stdout


def test_template_renders_scaffold(work):
    r = run("template", "mychart", cwd=work)
    sources = [l[len("# Source: "):] for l in r.stdout.splitlines() if l.startswith("# Source: ")]
    assert sources == ["mychart/templates/serviceaccount.yaml", "mychart/templates/service.yaml",
                       "mychart/templates/deployment.yaml", "mychart/templates/tests/test-connection.yaml"]
    ds = docs(r.stdout)
    assert [d["kind"] for d in ds] == ["ServiceAccount", "Service", "Deployment", "Pod"]
    dep = ds[2]
    assert dep["metadata"]["name"] == "release-name-mychart"
    assert dep["spec"]["replicas"] == 1
    assert dep["metadata"]["labels"] == {
        "helm.sh/chart": "mychart-0.1.0", "app.kubernetes.io/name": "mychart",
        "app.kubernetes.io/instance": "release-name", "app.kubernetes.io/version": "1.16.0",
        "app.kubernetes.io/managed-by": "Helm"}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.0"
    assert ds[3]["metadata"]["annotations"] == {"helm.sh/hook": "test"}


def test_set_family_through_template(work):
    (work / "tag.txt").write_text("from-file")
    r = run("template", "rel", "mychart", "--set", "replicaCount=3,service.port=8080",
            "--set-string", "image.repository=0123", "--set-file", "image.tag=tag.txt",
            "--set-json", 'podAnnotations={"a":"b","n":1}', "--set-literal", "nameOverride=x,y", cwd=work)
    ds = {d["kind"]: d for d in docs(r.stdout)}
    dep = ds["Deployment"]
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["metadata"]["annotations"] == {"a": "b", "n": 1}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "0123:from-file"
    assert ds["Service"]["spec"]["ports"][0]["port"] == 8080
    assert dep["metadata"]["labels"]["app.kubernetes.io/name"] == "x,y"
    # order: --set-string beats --set for the same key, -f files come first
    (work / "v.yaml").write_text("replicaCount: 7\nservice:\n  port: 1\n")
    r = run("template", "mychart", "-f", "v.yaml", "--set", "service.port=2", cwd=work)
    ds = {d["kind"]: d for d in docs(r.stdout)}
    assert ds["Deployment"]["spec"]["replicas"] == 7 and ds["Service"]["spec"]["ports"][0]["port"] == 2
    r = run("template", "mychart", "--set", "service.port=2", "--set-string", "service.port=3", cwd=work)
    assert 'port: 3' in r.stdout
    # null deletes a default; errors carry Helm's texts
    r = run("template", "mychart", "--set", "a.b=1", "--set", "a.b.c=2", cwd=work, ok=False)
    assert r.stderr == ("Error: failed parsing --set data: unable to parse key: interface conversion: "
                        "interface {} is int64, not map[string]interface {}\n")
    r = run("template", "mychart", "--set", "l[70000]=1", cwd=work, ok=False)
    assert r.stderr == "Error: failed parsing --set data: index of 70000 is greater than maximum supported index of 65536\n"
    r = run("template", "mychart", "--set-json", "a={bad", cwd=work, ok=False)
    assert r.stderr == "Error: failed parsing --set-json data a={bad\n"
    r = run("template", "mychart", "--set-file", "a=/nonexistent/x", cwd=work, ok=False)
    assert "failed parsing --set-file data: open /nonexistent/x" in r.stderr


def test_schema_violations_named(work):
    c = work / "mychart"
    (c / "values.schema.json").write_text(json.dumps({
        "type": "object", "required": ["replicaCount"],
        "properties": {"replicaCount": {"type": "integer"},
                       "service": {"properties": {"type": {"enum": ["ClusterIP", "NodePort"]}}}}}))
    run("template", "mychart", cwd=work)
    r = run("template", "mychart", "--set", "replicaCount=abc", "--set", "service.type=Foo", cwd=work, ok=False)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: values don't meet the specifications of the schema(s) in the following chart(s):\n"
                               "mychart:\n")
    assert "- replicaCount: Invalid type. Expected: integer, given: string\n" in r.stderr
    assert '- service.type: service.type must be one of the following: "ClusterIP", "NodePort"\n' in r.stderr


def test_package_index_and_dependencies(work):
    c = work / "mychart"
    (c / ".helmignore").write_text((c / ".helmignore").read_text() + "secret.txt\n")
    (c / "secret.txt").write_text("no")
    (c / "README.md").write_text("# mychart\n")
    r = run("package", "mychart", "--version", "1.2.3", "--app-version", "9.9", "-d", "repo", cwd=work)
    assert r.stdout == "Successfully packaged chart and saved it to: repo/mychart-1.2.3.tgz\n"
    tgz = work / "repo" / "mychart-1.2.3.tgz"
    with tarfile.open(tgz) as t:
        names = sorted(t.getnames())
        meta = yaml.safe_load(t.extractfile("mychart/Chart.yaml").read())
    assert names == sorted(["mychart/" + f for f in SCAFFOLD + ["README.md"]])
    assert meta["version"] == "1.2.3" and meta["appVersion"] == "9.9"
    r = run("package", "mychart", cwd=work)
    assert r.stdout == "Successfully packaged chart and saved it to: %s/mychart-0.1.0.tgz\n" % work
    # show reads the archive
    assert yaml.safe_load(run("show", "chart", tgz).stdout)["version"] == "1.2.3"
    assert run("show", "readme", tgz).stdout == "# mychart\n\n"
    assert run("show", "values", "mychart", cwd=work).stdout == (c / "values.yaml").read_text() + "\n"
    allout = run("show", "all", tgz).stdout
    assert allout.count("---\n") >= 2 and "# mychart" in allout

    os.rename(work / "mychart-0.1.0.tgz", work / "repo" / "mychart-0.1.0.tgz")
    run("repo", "index", "repo", "--url", "http://127.0.0.1:8879/charts", cwd=work)
    idx = yaml.safe_load((work / "repo" / "index.yaml").read_text())
    assert idx["apiVersion"] == "v1" and "generated" in idx
    entries = idx["entries"]["mychart"]
    assert [e["version"] for e in entries] == ["1.2.3", "0.1.0"]
    assert entries[0]["digest"] == hashlib.sha256(tgz.read_bytes()).hexdigest()
    assert entries[0]["urls"] == ["http://127.0.0.1:8879/charts/mychart-1.2.3.tgz"]
    assert entries[0]["created"].endswith("Z")
    # --merge keeps versions only the old index knows
    old = work / "old.yaml"
    old.write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"other": [
        {"name": "other", "version": "5.0.0", "urls": ["x.tgz"], "digest": "d"}]}}))
    run("repo", "index", "repo", "--merge", old, cwd=work)
    idx = yaml.safe_load((work / "repo" / "index.yaml").read_text())
    assert set(idx["entries"]) == {"mychart", "other"}
    assert idx["entries"]["mychart"][0]["urls"] == ["mychart-1.2.3.tgz"]

    # dependencies: a file:// subchart
    run("create", "sub", cwd=work)
    p = work / "mychart" / "Chart.yaml"
    p.write_text(p.read_text() + 'dependencies:\n- name: sub\n  version: ">=0.1.0"\n  repository: file://../sub\n')
    r = run("dependency", "list", "mychart", cwd=work)
    assert r.stdout.splitlines()[1].split("\t")[3].strip() == "missing"
    r = run("lint", "mychart", cwd=work)
    assert "[WARNING] mychart: chart directory is missing these dependencies: sub" in r.stdout
    r = run("dependency", "update", "mychart", cwd=work)
    assert "Saving 1 charts" in r.stdout
    lock = yaml.safe_load((work / "mychart" / "Chart.lock").read_text())
    assert lock["dependencies"] == [{"name": "sub", "repository": "file://../sub", "version": "0.1.0"}]
    assert lock["digest"].startswith("sha256:")
    assert os.listdir(work / "mychart" / "charts") == ["sub-0.1.0.tgz"]
    r = run("dependency", "list", "mychart", cwd=work)
    assert r.stdout.splitlines()[1].split("\t")[3].strip() == "ok"
    os.unlink(work / "mychart" / "charts" / "sub-0.1.0.tgz")
    run("dependency", "build", "mychart", cwd=work)
    assert os.listdir(work / "mychart" / "charts") == ["sub-0.1.0.tgz"]
    out = run("template", "mychart", cwd=work).stdout
    assert "# Source: mychart/charts/sub/templates/deployment.yaml" in out
    p.write_text(p.read_text().replace(">=0.1.0", ">=0.2.0"))
    r = run("dependency", "build", "mychart", cwd=work, ok=False)
    assert "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml)" in r.stderr
    r = run("dependency", "update", "mychart", cwd=work, ok=False)
    assert "can't get a valid version for repositories sub" in r.stderr
