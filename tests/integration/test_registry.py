"""berth registry serve / push / pull / login: the distribution API, auth,
gc, and interop with skopeo, podman and Debian's docker-registry.

Every server listens on 127.0.0.1 on a free port and is stopped by PID."""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BERTH


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


class Registry:
    def __init__(self, base, *extra):
        self.root = os.path.join(base, "regroot")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.log = open(os.path.join(base, "registry.log"), "w+")
        self.proc = subprocess.Popen([BERTH, "registry", "serve", "--addr", self.host, "--root", self.root,
                                      *extra], stdout=self.log, stderr=self.log)
        wait_listening(self.port, self.proc)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()

    def req(self, method, path, data=None, headers=None, auth=None):
        """(status, headers, body) without raising on HTTP errors."""
        url = path if path.startswith("http") else self.url + path
        r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if auth:
            r.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def push_blob(self, repo, data, auth=None):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        st, h, _ = self.req("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", data=data, auth=auth,
                            headers={"Content-Type": "application/octet-stream"})
        assert st == 201, st
        return d, len(data)


def err_code(body):
    return json.loads(body)["errors"][0]["code"]


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="berth-reg-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def registry(workdir):
    r = Registry(workdir)
    yield r
    r.stop()


def image_manifest(reg, repo, layer=b"layer-bytes", config=None):
    config = config or json.dumps({"architecture": "amd64", "os": "linux",
                                   "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    cd, cs = reg.push_blob(repo, config)
    ld, ls = reg.push_blob(repo, layer)
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]}
    return m, ld


def put_manifest(reg, repo, ref, m, auth=None):
    body = json.dumps(m).encode()
    return reg.req("PUT", f"/v2/{repo}/manifests/{ref}", data=body, auth=auth,
                   headers={"Content-Type": m.get("mediaType", "application/vnd.oci.image.manifest.v1+json")})


# ---- the distribution API ----

def test_base_and_version_header(registry):
    st, h, body = registry.req("GET", "/v2/")
    assert st == 200 and h["Docker-Distribution-API-Version"] == "registry/2.0"


def test_chunked_upload_range_and_digest(registry):
    data = os.urandom(300000)
    st, h, _ = registry.req("POST", "/v2/a/b/blobs/uploads/")
    assert st == 202 and h["OCI-Chunk-Min-Length"]
    loc = h["Location"]
    st, h, _ = registry.req("PATCH", loc, data=data[:100000],
                            headers={"Content-Range": "0-99999", "Content-Type": "application/octet-stream"})
    assert st == 202 and h["Range"] == "0-99999"
    # out of order: the spec's 416 and the current range
    st, h, body = registry.req("PATCH", h["Location"], data=data[200000:],
                               headers={"Content-Range": "200000-299999"})
    assert st == 416 and h["Range"] == "0-99999"
    # the client went away: GET tells where to resume
    st, h, _ = registry.req("GET", loc)
    assert st == 204 and h["Range"] == "0-99999"
    st, h, _ = registry.req("PATCH", loc, data=data[100000:], headers={"Content-Range": "100000-299999"})
    assert st == 202
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    # wrong digest: rejected, nothing stored
    bad = "sha256:" + "0" * 64
    st, _, body = registry.req("PUT", f"{loc}?digest={bad}", data=b"")
    assert st == 400 and err_code(body) == "DIGEST_INVALID"
    st, _, _ = registry.req("HEAD", f"/v2/a/b/blobs/{bad}")
    assert st == 404
    # that upload is gone; a fresh monolithic one works
    d2, _ = registry.push_blob("a/b", data)
    assert d2 == d
    st, h, body = registry.req("GET", f"/v2/a/b/blobs/{d}")
    assert st == 200 and body == data and h["Docker-Content-Digest"] == d
    st, h, body = registry.req("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=10-19"})
    assert st == 206 and body == data[10:20] and h["Content-Range"] == "bytes 10-19/300000"
    st, h, _ = registry.req("HEAD", f"/v2/a/b/blobs/{d}")
    assert st == 200 and int(h["Content-Length"]) == 300000
    # another repository does not see it until mounted
    st, _, _ = registry.req("HEAD", f"/v2/other/blobs/{d}")
    assert st == 404
    st, h, _ = registry.req("POST", f"/v2/other/blobs/uploads/?mount={d}&from=a/b")
    assert st == 201 and h["Location"].endswith(d)
    st, _, _ = registry.req("HEAD", f"/v2/other/blobs/{d}")
    assert st == 200
    st, _, _ = registry.req("DELETE", f"/v2/other/blobs/{d}")
    assert st == 202
    st, _, _ = registry.req("HEAD", f"/v2/other/blobs/{d}")
    assert st == 404


def test_cancel_upload(registry):
    st, h, _ = registry.req("POST", "/v2/c/blobs/uploads/")
    loc = h["Location"]
    assert registry.req("DELETE", loc)[0] == 204
    st, _, body = registry.req("GET", loc)
    assert st == 404 and err_code(body) == "BLOB_UPLOAD_UNKNOWN"


def test_manifests_tags_catalog_referrers(registry):
    m, ld = image_manifest(registry, "lib/app")
    st, h, _ = put_manifest(registry, "lib/app", "v1", m)
    assert st == 201
    md = h["Docker-Content-Digest"]
    assert md == "sha256:" + hashlib.sha256(json.dumps(m).encode()).hexdigest()
    for t in ["v2", "v3", "a0"]:
        assert put_manifest(registry, "lib/app", t, m)[0] == 201
    st, h, body = registry.req("GET", "/v2/lib/app/manifests/v1")
    assert st == 200 and json.loads(body) == m and h["Docker-Content-Digest"] == md
    assert h["Content-Type"] == "application/vnd.oci.image.manifest.v1+json"
    st, h, body = registry.req("GET", "/v2/lib/app/tags/list?n=2")
    assert json.loads(body)["tags"] == ["a0", "v1"] and 'rel="next"' in h["Link"]
    st, h, body = registry.req("GET", "/v2/lib/app/tags/list?n=2&last=v1")
    assert json.loads(body)["tags"] == ["v2", "v3"]
    st, _, body = registry.req("GET", "/v2/_catalog")
    assert json.loads(body)["repositories"] == ["lib/app"]
    # an artifact referring to it
    cfg, cs = registry.push_blob("lib/app", b"{}")
    art = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "artifactType": "application/vnd.example.sig",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": cfg, "size": cs},
           "layers": [], "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                     "digest": md, "size": len(json.dumps(m))}}
    st, h, _ = put_manifest(registry, "lib/app", "sig", art)
    assert st == 201 and h["OCI-Subject"] == md
    st, h, body = registry.req("GET", f"/v2/lib/app/referrers/{md}")
    refs = json.loads(body)["manifests"]
    assert len(refs) == 1 and refs[0]["artifactType"] == "application/vnd.example.sig"
    st, h, body = registry.req("GET", f"/v2/lib/app/referrers/{md}?artifactType=other")
    assert json.loads(body)["manifests"] == [] and h["OCI-Filters-Applied"] == "artifactType"
    # an index over it
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": m["mediaType"], "digest": md, "size": len(json.dumps(m)),
                          "platform": {"os": "linux", "architecture": "amd64"}}]}
    assert put_manifest(registry, "lib/app", "multi", idx)[0] == 201
    # delete by tag, then by digest
    assert registry.req("DELETE", "/v2/lib/app/manifests/v3")[0] == 202
    assert registry.req("GET", "/v2/lib/app/manifests/v3")[0] == 404
    assert registry.req("DELETE", f"/v2/lib/app/manifests/{md}")[0] == 202
    st, _, body = registry.req("GET", "/v2/lib/app/manifests/v1")
    assert st == 404 and err_code(body) == "MANIFEST_UNKNOWN"


def test_bad_input(registry):
    st, _, body = registry.req("GET", "/v2/Upper/manifests/latest")
    assert st == 400 and err_code(body) == "NAME_INVALID"
    st, _, body = registry.req("GET", "/v2/a/../b/manifests/latest")
    assert st in (400, 404)
    st, _, body = registry.req("GET", "/v2/" + "a" * 300 + "/tags/list")
    assert st == 400 and err_code(body) == "NAME_INVALID"
    st, _, body = registry.req("GET", "/v2/a/blobs/sha256:1234")
    assert st == 400 and err_code(body) == "DIGEST_INVALID"
    st, _, body = registry.req("GET", "/v2/a/manifests/nope")
    assert st == 404 and err_code(body) == "MANIFEST_UNKNOWN"
    st, _, body = registry.req("GET", "/v2/never/tags/list")
    assert st == 404 and err_code(body) == "NAME_UNKNOWN"
    # a manifest naming a blob the repository lacks
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "x", "digest": "sha256:" + "1" * 64, "size": 2}, "layers": []}
    st, _, body = put_manifest(registry, "a", "t", m)
    assert st == 400 and err_code(body) == "MANIFEST_BLOB_UNKNOWN"
    st, _, body = registry.req("PUT", "/v2/a/manifests/t", data=b"{not json",
                               headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert st == 400 and err_code(body) == "MANIFEST_INVALID"
    st, _, body = registry.req("PUT", "/v2/a/manifests/t", data=b" " * (5 << 20),
                               headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert st == 413
    # manifest pushed by a digest it does not have
    good, _ = image_manifest(registry, "a")
    st, _, body = put_manifest(registry, "a", "sha256:" + "2" * 64, good)
    assert st == 400 and err_code(body) == "DIGEST_INVALID"
    # "a" holds blobs but no manifest: not in the catalog (nor a repository with only an open upload)
    registry.req("POST", "/v2/only/upload/blobs/uploads/")
    st, _, body = registry.req("GET", "/v2/_catalog")
    assert json.loads(body)["repositories"] == []
    assert registry.req("GET", "/v2/a/tags/list")[2] == b'{"name":"a","tags":[]}'
    assert put_manifest(registry, "a", "t", good)[0] == 201
    st, _, body = registry.req("GET", "/v2/_catalog")
    assert json.loads(body)["repositories"] == ["a"]


OCI_M = "application/vnd.oci.image.manifest.v1+json"
DOCKER_M = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_L = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_manifest_accept_negotiation(registry):
    m, _ = image_manifest(registry, "neg/app")
    st, h, _ = put_manifest(registry, "neg/app", "v1", m)
    md = h["Docker-Content-Digest"]
    for accept in [None, OCI_M, f"{DOCKER_M}, {OCI_M}", "*/*", "application/*", f"{OCI_M}; q=0.5"]:
        for method in ["GET", "HEAD"]:
            st, h, body = registry.req(method, "/v2/neg/app/manifests/v1",
                                       headers={"Accept": accept} if accept else {})
            assert st == 200 and h["Content-Type"] == OCI_M, (method, accept)
            assert h["Docker-Content-Digest"] == md
    # a client that reads only Docker types: the tag has nothing for it
    docker_only = {"Accept": f"{DOCKER_M}, {DOCKER_L}"}
    st, _, body = registry.req("GET", "/v2/neg/app/manifests/v1", headers=docker_only)
    assert st == 404 and err_code(body) == "MANIFEST_UNKNOWN"
    assert registry.req("HEAD", "/v2/neg/app/manifests/v1", headers=docker_only)[0] == 404
    st, _, _ = registry.req("GET", "/v2/neg/app/manifests/v1", headers={"Accept": f"*/*, {OCI_M};q=0"})
    assert st == 404
    # by digest the stored bytes are served whatever Accept says (the spec's MUST)
    st, h, body = registry.req("GET", f"/v2/neg/app/manifests/{md}", headers=docker_only)
    assert st == 200 and h["Content-Type"] == OCI_M and json.loads(body) == m
    # a Docker schema2 manifest for a client asking only for OCI: 404 by tag, 200 by digest
    dm = dict(m, mediaType=DOCKER_M)
    dm["config"] = dict(m["config"], mediaType="application/vnd.docker.container.image.v1+json")
    dm["layers"] = [dict(m["layers"][0], mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip")]
    st, h, _ = put_manifest(registry, "neg/app", "d1", dm)
    dd = h["Docker-Content-Digest"]
    assert registry.req("GET", "/v2/neg/app/manifests/d1", headers={"Accept": OCI_M})[0] == 404
    st, h, _ = registry.req("GET", "/v2/neg/app/manifests/d1", headers=docker_only)
    assert st == 200 and h["Content-Type"] == DOCKER_M
    assert registry.req("GET", f"/v2/neg/app/manifests/{dd}", headers={"Accept": OCI_M})[0] == 200


def test_metrics_behind_auth(workdir):
    users = make_users(workdir, ("mon", "mon-pass"))
    good = "Basic " + base64.b64encode(b"mon:mon-pass").decode()
    for mode in ["basic", "token"]:
        reg = Registry(workdir, "--auth", mode, "--users", users)
        try:
            assert reg.req("GET", "/metrics")[0] == 401
            assert reg.req("GET", "/metrics", auth="Basic " + base64.b64encode(b"mon:x").decode())[0] == 401
            st, _, body = reg.req("GET", "/metrics", auth=good)
            assert st == 200 and b"berth_registry_http_requests_total" in body
        finally:
            reg.stop()


def test_metrics_and_log(registry):
    registry.req("GET", "/v2/")
    st, _, body = registry.req("GET", "/metrics")
    assert st == 200 and b'berth_registry_http_requests_total{code="2xx"}' in body
    registry.log.seek(0)
    assert "GET /v2/ 200" in registry.log.read()


# ---- the client ----

def test_push_pull_run(bb, registry, workdir):
    ref = f"{registry.host}/test/bb:v1"
    bb.run("tag", "bb", ref)
    out = bb.out("push", ref)
    assert f"The push refers to repository [{registry.host}/test/bb]" in out
    assert "Pushed" in out and "v1: digest: sha256:" in out
    again = bb.out("push", ref)
    assert "Layer already exists" in again and "Pushed" not in again
    # a second repository on the same registry: the layer is mounted
    ref2 = f"{registry.host}/test/copy:v1"
    bb.run("tag", "bb", ref2)
    assert "Mounted from test/bb" in bb.out("push", ref2)
    # pull into a fresh root and run it
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        out = b2.out("pull", ref)
        assert "Pull complete" in out and "Status: Downloaded newer image" in out
        assert b2.json("inspect", ref)[0]["Id"] == bb.json("inspect", ref)[0]["Id"]
        assert b2.out("run", "--rm", ref, "echo", "pulled-ok").strip() == "pulled-ok"
        assert "Image is up to date" in b2.out("pull", ref)
    finally:
        assert not b2.cleanup()


def test_pull_index_and_by_digest(bb, registry, workdir):
    """A multi-platform index: pull reports the index digest; a pull by
    digest names the image by that digest reference."""
    ref = f"{registry.host}/multi/bb:single"
    bb.run("tag", "bb", ref)
    bb.run("push", ref)
    st, h, body = registry.req("GET", "/v2/multi/bb/manifests/single", headers={"Accept": OCI_M})
    md = h["Docker-Content-Digest"]
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": OCI_M, "digest": md, "size": len(body),
                          "platform": {"os": "linux", "architecture": "s390x"}},
                         {"mediaType": OCI_M, "digest": md, "size": len(body),
                          "platform": {"os": "linux", "architecture": "amd64"}}]}
    st, h, _ = put_manifest(registry, "multi/bb", "all", idx)
    assert st == 201
    xd = h["Docker-Content-Digest"]
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        out = b2.out("pull", f"{registry.host}/multi/bb:all")
        assert f"Digest: {xd}" in out, out
        byd = f"{registry.host}/multi/bb@{xd}"
        out = b2.out("pull", byd)
        assert f"Digest: {xd}" in out and byd in out
        assert b2.json("inspect", byd)[0]["ManifestDigest"] == md
        assert b2.out("run", "--rm", byd, "echo", "by-digest").strip() == "by-digest"
        assert "Image is up to date" in b2.out("pull", byd)
        images = b2.out("images")
        assert f"{registry.host}/multi/bb" in images
    finally:
        assert not b2.cleanup()


def test_gc(bb, registry):
    ref = f"{registry.host}/g/bb:v1"
    bb.run("tag", "bb", ref)
    bb.run("push", ref)
    orphan, _ = registry.push_blob("g/bb", b"orphan")
    out = subprocess.run([BERTH, "registry", "gc", "--root", registry.root, "--dry-run", "--grace", "0"],
                         capture_output=True, text=True, check=True).stdout
    assert orphan in out
    subprocess.run([BERTH, "registry", "gc", "--root", registry.root, "--grace", "0"], check=True,
                   capture_output=True)
    assert registry.req("HEAD", f"/v2/g/bb/blobs/{orphan}")[0] == 404
    # gc beside an upload in flight and temp files of writes in flight: all left alone
    st, h, _ = registry.req("POST", "/v2/g/bb/blobs/uploads/")
    loc = h["Location"]
    data = os.urandom(200000)
    assert registry.req("PATCH", loc, data=data[:100000], headers={"Content-Range": "0-99999"})[0] == 202
    blobs = os.path.join(registry.root, "blobs", "sha256")
    temps = [os.path.join(blobs, n) for n in ("." + "e" * 64 + ".tmp-Ab12Cd", "f" * 64 + ".tmp.Xy34Zw")]
    for t in temps:
        with open(t, "wb") as f:
            f.write(b"half-written")
    for extra in [[], ["--delete-untagged"]]:
        subprocess.run([BERTH, "registry", "gc", "--root", registry.root, "--grace", "0", *extra], check=True,
                       capture_output=True)
    assert all(os.path.exists(t) for t in temps)
    st, h, _ = registry.req("GET", loc)
    assert st == 204 and h["Range"] == "0-99999"
    assert registry.req("PATCH", loc, data=data[100000:], headers={"Content-Range": "100000-199999"})[0] == 202
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    assert registry.req("PUT", f"{loc}?digest={d}", data=b"")[0] == 201
    for t in temps:
        os.unlink(t)
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        b2.run("pull", ref)  # everything the manifest references survived
    finally:
        b2.cleanup()


# ---- auth ----

def make_users(workdir, *pairs):
    users = os.path.join(workdir, "users")
    for u, p in pairs:
        subprocess.run([BERTH, "registry", "user", "add", "--users", users, u, "-p", p], check=True)
    return users


def test_token_auth(bb, workdir):
    users = make_users(workdir, ("alice", "secret1"), ("bob", "secret2"))
    acl = os.path.join(workdir, "acl")
    with open(acl, "w") as f:
        f.write("alice/* alice pull,push,delete\npublic/* * pull\npublic/* alice pull,push\n")
    reg = Registry(workdir, "--auth", "token", "--users", users, "--acl", acl)
    env = dict(os.environ, DOCKER_CONFIG=os.path.join(workdir, "docker"))
    try:
        st, h, body = reg.req("GET", "/v2/alice/x/manifests/latest")
        assert st == 401 and h["WWW-Authenticate"].startswith("Bearer realm=")
        assert 'scope="repository:alice/x:pull"' in h["WWW-Authenticate"]
        p = bb.run("login", "-u", "alice", "-p", "wrong", reg.host, check=False, env=env)
        assert p.returncode == 125 and "incorrect username or password" in p.stderr
        assert "Login Succeeded" in bb.out("login", "-u", "alice", "-p", "secret1", reg.host, env=env)
        cfg = json.load(open(os.path.join(workdir, "docker", "config.json")))
        assert base64.b64decode(cfg["auths"][reg.host]["auth"]) == b"alice:secret1"
        ref = f"{reg.host}/alice/bb:1"
        bb.run("tag", "bb", ref)
        assert "Pushed" in bb.out("push", ref, env=env)
        # bob may not push there
        p = bb.run("push", "--creds", "bob:secret2", ref, f"{reg.host}/alice/other:1", check=False)
        assert p.returncode == 125
        # a token for one repository does not open another
        tok = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{reg.url}/token?service=berth-registry&scope=repository:alice/bb:pull",
            headers={"Authorization": "Basic " + base64.b64encode(b"alice:secret1").decode()})).read())["token"]
        assert reg.req("GET", "/v2/alice/bb/manifests/1", auth="Bearer " + tok)[0] == 200
        assert reg.req("GET", "/v2/alice/zz/manifests/1", auth="Bearer " + tok)[0] == 401
        forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
        assert reg.req("GET", "/v2/alice/bb/manifests/1", auth="Bearer " + forged)[0] == 401
        # anonymous pull where the ACL allows it
        pub = f"{reg.host}/public/bb:1"
        bb.run("tag", "bb", pub)
        bb.run("push", "--creds", "alice:secret1", pub)
        anon = dict(os.environ, DOCKER_CONFIG=os.path.join(workdir, "anon"))
        from conftest import Berth
        b2 = Berth(tempfile.mkdtemp(prefix="berth-it-"))
        try:
            b2.run("pull", pub, env=anon)
            assert b2.run("pull", ref, env=anon, check=False).returncode == 125
            # a temporary password works, and stops working after its expiry
            tmp = subprocess.run([BERTH, "registry", "token", "--root", reg.root, "--user", "alice",
                                  "--expires", "2s"], capture_output=True, text=True, check=True).stdout.strip()
            b2.run("pull", "--creds", f"alice:{tmp}", ref)
            time.sleep(3)
            assert b2.run("pull", "--creds", f"alice:{tmp}", f"{reg.host}/alice/bb@sha256:" + "0" * 64,
                          check=False).returncode == 125
            p = b2.run("login", "-u", "alice", "-p", tmp, reg.host, env=anon, check=False)
            assert p.returncode == 125
        finally:
            b2.cleanup()
        assert "Removing login credentials" in bb.out("logout", reg.host, env=env)
        assert reg.host not in json.load(open(os.path.join(workdir, "docker", "config.json")))["auths"]
    finally:
        reg.stop()


def test_token_oauth2_post_form(bb, workdir):
    """The token endpoint's OAuth2 form (grant_type=password / refresh_token),
    as Docker's daemon posts it."""
    users = make_users(workdir, ("dan", "dan-pass"), ("eve", "eve-pass"))
    reg = Registry(workdir, "--auth", "token", "--users", users)
    form = "application/x-www-form-urlencoded"

    def post(fields):
        data = urllib.parse.urlencode(fields).encode()
        st, _, body = reg.req("POST", "/token", data=data, headers={"Content-Type": form})
        return st, json.loads(body)

    try:
        ref = f"{reg.host}/dan/bb:1"
        bb.run("tag", "bb", ref)
        bb.run("push", "--creds", "dan:dan-pass", ref)
        scope = "repository:dan/bb:pull"
        st, tok = post({"grant_type": "password", "username": "dan", "password": "dan-pass", "service":
                        "berth-registry", "client_id": "docker", "access_type": "offline", "scope": scope})
        assert st == 200 and tok["access_token"] and tok["expires_in"] > 0 and tok["refresh_token"]
        assert reg.req("GET", "/v2/dan/bb/manifests/1", auth="Bearer " + tok["access_token"])[0] == 200
        # the refresh token is no bearer token and no password
        assert reg.req("GET", "/v2/dan/bb/manifests/1", auth="Bearer " + tok["refresh_token"])[0] == 401
        basic = "Basic " + base64.b64encode(b"dan:" + tok["refresh_token"].encode()).decode()
        assert reg.req("GET", f"/token?scope={scope}", auth=basic)[0] == 401
        st, tok2 = post({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
                         "service": "berth-registry", "client_id": "docker", "scope": scope})
        assert st == 200 and tok2["refresh_token"]
        assert reg.req("GET", "/v2/dan/bb/manifests/1", auth="Bearer " + tok2["access_token"])[0] == 200
        # without access_type=offline: no refresh token
        st, tok3 = post({"grant_type": "password", "username": "dan", "password": "dan-pass", "scope": scope})
        assert st == 200 and "refresh_token" not in tok3
        st, e = post({"grant_type": "password", "username": "dan", "password": "nope", "scope": scope})
        assert st == 401 and e["error"] == "invalid_grant"
        st, e = post({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"][:-3] + "AAA"})
        assert st == 401 and e["error"] == "invalid_grant"
        st, e = post({"grant_type": "client_credentials"})
        assert st == 400 and e["error"] == "unsupported_grant_type"
        st, e = post({"username": "dan"})
        assert st == 400 and e["error"] == "invalid_request"
        # GET with offline_token=true hands out a refresh token too
        good = "Basic " + base64.b64encode(b"dan:dan-pass").decode()
        st, _, body = reg.req("GET", f"/token?scope={scope}&offline_token=true", auth=good)
        assert st == 200 and json.loads(body)["refresh_token"]
        # a deleted user's refresh token stops working
        subprocess.run([BERTH, "registry", "user", "del", "--users", users, "dan"], check=True)
        st, e = post({"grant_type": "refresh_token", "refresh_token": tok2["refresh_token"]})
        assert st == 401
    finally:
        reg.stop()


def test_basic_auth_and_users(workdir):
    users = make_users(workdir, ("carol", "pw-carol"))
    out = subprocess.run([BERTH, "registry", "user", "list", "--users", users], capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["carol"]
    assert open(users).read().startswith("carol:$2b$")
    reg = Registry(workdir, "--auth", "basic", "--users", users)
    try:
        assert reg.req("GET", "/v2/")[0] == 401
        good = "Basic " + base64.b64encode(b"carol:pw-carol").decode()
        assert reg.req("GET", "/v2/", auth=good)[0] == 200
        assert reg.req("GET", "/v2/", auth="Basic " + base64.b64encode(b"carol:nope").decode())[0] == 401
        subprocess.run([BERTH, "registry", "user", "del", "--users", users, "carol"], check=True)
        assert reg.req("GET", "/v2/", auth=good)[0] == 401
    finally:
        reg.stop()


# ---- interop ----

def skopeo(*args):
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("mode", ["token", "basic"])
def test_skopeo_copy_both_ways(bb, workdir, mode):
    users = make_users(workdir, ("sk", "sk-pass"))
    reg = Registry(workdir, "--auth", mode, "--users", users)
    try:
        archive = os.path.join(workdir, "bb.tar")
        bb.run("save", "-o", archive, "bb")
        dest = f"docker://{reg.host}/sk/bb:1"
        p = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "sk:sk-pass",
                   f"docker-archive:{archive}", dest)
        assert p.returncode == 0, p.stderr
        p = skopeo("inspect", "--tls-verify=false", "--creds", "sk:sk-pass", dest)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["Name"] == f"{reg.host}/sk/bb"
        p = skopeo("copy", "--src-tls-verify=false", "--src-creds", "sk:sk-pass", dest,
                   f"oci:{workdir}/oci:bb")
        assert p.returncode == 0, p.stderr
        assert os.path.exists(f"{workdir}/oci/index.json")
        assert skopeo("inspect", "--tls-verify=false", dest).returncode != 0  # no anonymous access
    finally:
        reg.stop()


def test_podman_pulls_what_berth_pushed(bb, registry, workdir):
    ref = f"{registry.host}/pm/bb:1"
    bb.run("tag", "bb", ref)
    bb.run("push", ref)
    store = os.path.join(workdir, "podman")
    os.makedirs(store)
    conf = os.path.join(store, "containers.conf")
    with open(conf, "w") as f:  # private config: nothing of the system's podman setup is touched
        f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n')
    env = dict(os.environ, CONTAINERS_CONF=conf)
    base = ["podman", "--root", f"{store}/root", "--runroot", f"{store}/run", "--storage-driver", "vfs"]
    try:
        p = subprocess.run(base + ["pull", "--tls-verify=false", ref], capture_output=True, text=True,
                           timeout=120, env=env)
        assert p.returncode == 0, p.stderr
        p = subprocess.run(base + ["run", "--rm", "--cgroups=disabled", "--network", "none", ref, "echo",
                                   "from-podman"], capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0 and p.stdout.strip() == "from-podman", p.stderr
    finally:
        subprocess.run(base + ["rmi", "-a", "-f"], capture_output=True, timeout=60, env=env)
        subprocess.run(["umount", "-R", f"{store}/root"], capture_output=True)


def test_push_pull_against_docker_registry(bb, workdir):
    users = make_users(workdir, ("dr", "dr-pass"))
    port = free_port()
    cfg = os.path.join(workdir, "config.yml")
    with open(cfg, "w") as f:
        f.write(f"""version: 0.1
storage:
  filesystem:
    rootdirectory: {workdir}/dr
http:
  addr: 127.0.0.1:{port}
auth:
  htpasswd:
    realm: test
    path: {users}
""")
    log = open(os.path.join(workdir, "dr.log"), "w")
    proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=log, stderr=log)
    try:
        wait_listening(port, proc)
        env = dict(os.environ, DOCKER_CONFIG=os.path.join(workdir, "docker"))
        host = f"127.0.0.1:{port}"
        bb.run("login", "-u", "dr", "-p", "dr-pass", host, env=env)
        ref = f"{host}/ref/bb:v1"
        bb.run("tag", "bb", ref)
        out = bb.out("push", ref, env=env)
        assert "Pushed" in out and "v1: digest:" in out
        assert "Layer already exists" in bb.out("push", ref, env=env)
        from conftest import Berth
        b2 = Berth(tempfile.mkdtemp(prefix="berth-it-"))
        try:
            assert b2.run("pull", ref, check=False).returncode == 125  # not logged in there
            b2.run("pull", ref, env=env)
            assert b2.out("run", "--rm", ref, "echo", "via-distribution").strip() == "via-distribution"
        finally:
            assert not b2.cleanup()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


# ---- TLS ----

def make_tls(workdir):
    """A CA made here and a server certificate for 127.0.0.1 signed by it."""
    d = os.path.join(workdir, "tls")
    os.makedirs(d)
    ssl = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=berth test CA", "-days", "2")
    ssl("req", "-new", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "srv.crt", "-days", "2", "-extfile", "ext")
    return d


def test_tls_push_pull_with_ca_flag_certs_d_and_skopeo(bb, workdir):
    import ssl
    tls = make_tls(workdir)
    reg = Registry(workdir, "--tls-cert", os.path.join(tls, "srv.crt"), "--tls-key", os.path.join(tls, "srv.key"))
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(tls, "ca.crt"))
        with urllib.request.urlopen(f"https://{reg.host}/v2/", context=ctx, timeout=30) as r:
            assert r.status == 200
        # the client's own CA directory (--cert-dir, as podman/skopeo)
        certdir = os.path.join(workdir, "certdir")
        os.makedirs(certdir)
        shutil.copy(os.path.join(tls, "ca.crt"), os.path.join(certdir, "ca.crt"))
        ref = f"{reg.host}/tls/bb:1"
        bb.run("tag", "bb", ref)
        # untrusted: refused, and nothing falls back to plain http
        p = bb.run("push", ref, check=False)
        assert p.returncode != 0 and "certificate" in p.stderr.lower(), p.stderr
        out = bb.out("push", "--cert-dir", certdir, ref)
        assert "Pushed" in out and "1: digest: sha256:" in out
        # a certs.d tree as docker has it (/etc/docker/certs.d/HOST:PORT/ca.crt), test-owned
        certs_d = os.path.join(workdir, "certs.d")
        os.makedirs(os.path.join(certs_d, reg.host))
        shutil.copy(os.path.join(tls, "ca.crt"), os.path.join(certs_d, reg.host, "ca.crt"))
        env = dict(os.environ, BERTH_CERTS_D=certs_d)
        out = b2.out("pull", ref, env=env)
        assert "Pull complete" in out
        assert b2.out("run", "--rm", ref, "echo", "over-tls").strip() == "over-tls"
        # skopeo reads what berth pushed over https, trusting the CA through --cert-dir
        p = skopeo("inspect", "--cert-dir", certdir, f"docker://{ref}")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["Digest"] == bb.json("inspect", ref)[0]["RepoDigests"][0].split("@")[1] \
            if bb.json("inspect", ref)[0].get("RepoDigests") else True
        p = skopeo("copy", "--src-cert-dir", certdir, f"docker://{ref}", f"oci:{workdir}/tls-oci:bb")
        assert p.returncode == 0, p.stderr
        p = skopeo("copy", "--dest-cert-dir", certdir, f"oci:{workdir}/tls-oci:bb", f"docker://{reg.host}/tls/sk:1")
        assert p.returncode == 0, p.stderr
        st_tags = json.loads(urllib.request.urlopen(f"https://{reg.host}/v2/tls/sk/tags/list", context=ctx,
                                                    timeout=30).read())
        assert st_tags["tags"] == ["1"]
        # without the CA skopeo refuses too
        assert skopeo("inspect", f"docker://{ref}").returncode != 0
    finally:
        reg.stop()
        assert not b2.cleanup()


# ---- concurrency ----

def test_concurrent_pushes_of_same_blob_and_tag(bb, registry, workdir):
    """Several clients push the same blobs and tag at once: every push
    succeeds, the store holds each blob once with the right bytes, no upload
    is left behind, and the tag names a complete manifest."""
    import concurrent.futures
    data = os.urandom(3 << 20)
    d = "sha256:" + hashlib.sha256(data).hexdigest()

    def raw_push(i):
        # chunked: POST, two PATCHes, PUT
        st, h, _ = registry.req("POST", "/v2/race/raw/blobs/uploads/")
        assert st == 202
        half = len(data) // 2
        st, h, _ = registry.req("PATCH", h["Location"], data=data[:half],
                                headers={"Content-Range": f"0-{half - 1}"})
        assert st == 202
        st, h, _ = registry.req("PATCH", h["Location"], data=data[half:],
                                headers={"Content-Range": f"{half}-{len(data) - 1}"})
        assert st == 202
        st, _, _ = registry.req("PUT", f"{h['Location']}?digest={d}", data=b"")
        return st

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert list(ex.map(raw_push, range(8))) == [201] * 8
    blob = os.path.join(registry.root, "blobs", "sha256", d[7:])
    with open(blob, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == d[7:]
    st, _, body = registry.req("GET", f"/v2/race/raw/blobs/{d}")
    assert st == 200 and body == data

    # whole images: the same image and tag from several berth clients at once
    ref = f"{registry.host}/race/bb:1"
    bb.run("tag", "bb", ref)
    procs = [subprocess.Popen(bb.cmd("push", "-q", ref), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [o[1] for o in outs]
    digests = {o[0].strip() for o in outs}
    assert len(digests) == 1
    st, h, body = registry.req("GET", "/v2/race/bb/manifests/1",
                               headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert st == 200 and h["Docker-Content-Digest"] in next(iter(digests))
    m = json.loads(body)
    for desc in [m["config"], *m["layers"]]:
        st, _, blob = registry.req("GET", f"/v2/race/bb/blobs/{desc['digest']}")
        assert st == 200 and "sha256:" + hashlib.sha256(blob).hexdigest() == desc["digest"]
        assert len(blob) == desc["size"]
    # nothing half-written: no upload sessions, no temp files beside the blobs
    assert os.listdir(os.path.join(registry.root, "uploads")) == []
    assert not [n for n in os.listdir(os.path.join(registry.root, "blobs", "sha256")) if len(n) != 64]
    st, _, body = registry.req("GET", "/v2/race/bb/tags/list")
    assert json.loads(body)["tags"] == ["1"]
    # and it pulls (every digest verified again) into a fresh store
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        b2.run("pull", ref)
        assert b2.out("run", "--rm", ref, "echo", "raced").strip() == "raced"
    finally:
        assert not b2.cleanup()


def test_pull_rejects_a_layer_whose_bytes_do_not_match(bb, registry, workdir):
    """A layer streamed and unpacked while it downloads is discarded when the
    blob's digest does not match: no layer, no blob, no image."""
    ref = f"{registry.host}/bad/bb:1"
    bb.run("tag", "bb", ref)
    bb.run("push", ref)
    st, _, body = registry.req("GET", "/v2/bad/bb/manifests/1",
                               headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    layer = json.loads(body)["layers"][0]["digest"]
    path = os.path.join(registry.root, "blobs", "sha256", layer[7:])
    with open(path, "r+b") as f:  # corrupt the stored bytes behind the registry's back
        f.seek(-100, os.SEEK_END)
        f.write(b"\0" * 100)
    other = tempfile.mkdtemp(prefix="berth-it-")
    from conftest import Berth
    b2 = Berth(other)
    try:
        p = b2.run("pull", ref, check=False)
        assert p.returncode != 0 and ("digest" in p.stderr or "diff_id" in p.stderr), p.stderr
        assert b2.run("inspect", ref, check=False).returncode != 0
        layers = os.path.join(b2.root, "layers")
        assert not [n for n in os.listdir(layers) if not n.startswith(".")] if os.path.isdir(layers) else True
        assert not os.path.exists(os.path.join(b2.root, "image", "blobs", "sha256", layer[7:]))
    finally:
        assert not b2.cleanup()
