"""The node agent pulls images (src/agent/pull.c) from a real registry.

The module runs one `berth server` and one `berth agent` (test_agent_api's
Cluster; the agent's own credentials file does not exist, so only the pods'
pull secrets open the registry) and one `berth registry serve --auth token`
with a users file on a free loopback port.  Images are busybox from a
separate pusher root, pushed with `berth push --creds`; each test uses its
own repositories, so what one pulls into the agent's store does not change
another.  Secrets are made by `kubectl create secret docker-registry` as a
user would.  Waits poll conditions with generous deadlines; the registry's
request log tells which requests a pull made.
"""
import io
import json
import os
import re
import signal
import socket
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from conftest import BERTH, Berth
from test_agent_api import NODE, Cluster, events_of, free_port, pod_line, running_1_1, wait_for

USER, PASSWORD = "alice", "secret1"


class Registry:
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "regroot")
        self.users = os.path.join(base, "users")
        subprocess.run([BERTH, "registry", "user", "add", "--users", self.users, USER, "-p", PASSWORD],
                       check=True, capture_output=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = os.path.join(base, "registry.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BERTH, "registry", "serve", "--addr", self.host, "--root", self.root,
                                      "--auth", "token", "--users", self.users],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self.listening, "registry listening")

    def listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("registry exited: " + open(self.log_path).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def requests(self, repo):
        """Request lines the registry logged for a repository."""
        with open(self.log_path) as f:
            return [l for l in f if f"/v2/{repo}/" in l]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class PullCluster(Cluster):
    """test_agent_api's cluster whose agent has no credentials of its own."""

    def start_agent(self):
        self.agent_log = open(os.path.join(self.base, "agent.log"), "a")
        env = dict(os.environ, REGISTRY_AUTH_FILE=os.path.join(self.base, "no-node-credentials.json"),
                   HOME=self.base)
        self.agent = subprocess.Popen(
            self.berth("agent", "--server", f"https://127.0.0.1:{self.port}", "--token", self.token,
                       "--ca-file", os.path.join(self.data, "tls", "ca.crt"), "--node-name", NODE,
                       "--crash-backoff", "1s", "--kubelet-port", "0", "--pod-cidr", "10.244.9.0/24"),
            stdout=self.agent_log, stderr=subprocess.STDOUT, env=env)


class Env:
    def __init__(self, cluster, registry, pusher):
        self.c, self.reg, self.pusher = cluster, registry, pusher
        self.version = 0

    def push(self, repo, tag="v1", version=None):
        """Push busybox plus a file /version (a layer the agent's store does
        not have) with ENV VERSION=version as host/repo:tag; (ref, digest)."""
        if version is None:
            self.version += 1
            version = f"n{self.version}"
        ref = f"{self.reg.host}/{repo}:{tag}"
        tar = os.path.join(self.pusher.base, f"{version}.tar")
        shutil.copyfile(self.pusher.busybox_tar, tar)
        with tarfile.open(tar, "a") as t:
            data = f"{version} {repo}\n".encode()
            info = tarfile.TarInfo("version")
            info.size, info.mode = len(data), 0o644
            t.addfile(info, io.BytesIO(data))
        self.pusher.run("import", "--change", 'CMD ["/bin/sh"]', "--change", f"ENV VERSION={version}", tar, ref)
        out = self.pusher.out("push", "-q", "--creds", f"{USER}:{PASSWORD}", ref)
        digest = re.search(r"sha256:[0-9a-f]{64}", out)
        assert digest, out
        return ref, digest.group(0)

    def secret(self, ns, name, password=PASSWORD, server=None):
        self.c.kubectl("create", "secret", "docker-registry", name, "-n", ns,
                       f"--docker-server={server or self.reg.host}", f"--docker-username={USER}",
                       f"--docker-password={password}", "--docker-email=alice@example.com")

    def pod(self, ns, name, image, policy="IfNotPresent", secrets=("regcred",), command=None):
        ctr = {"name": "app", "image": image, "imagePullPolicy": policy,
               "command": command or ["sh", "-c", "echo version=$VERSION; cat /version; exec sleep 1000"]}
        spec = {"terminationGracePeriodSeconds": 1}
        if secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in secrets]
        return self.c.create_pod(ns, name, [ctr], **spec)

    def events(self, ns, name, reason=None):
        return [e for e in events_of(self.c, ns, name) if reason is None or e["reason"] == reason]

    def status(self, ns, name):
        cs = (self.c.get("pod", name, ns) or {}).get("status", {}).get("containerStatuses") or [{}]
        return cs[0]

    def waiting(self, ns, name):
        return self.status(ns, name).get("state", {}).get("waiting") or {}

    def all_logs(self, ns, name):
        d = self.c.pod_dir(ns, name)
        out = ""
        if d and os.path.isdir(os.path.join(d, "app")):
            for f in sorted(os.listdir(os.path.join(d, "app"))):
                if f.endswith(".log"):
                    with open(os.path.join(d, "app", f)) as fh:
                        out += fh.read()
        return out

    def log(self, ns, name):
        d = self.c.pod_dir(ns, name)
        path = os.path.join(d, "app", "0.log") if d else None
        return open(path).read() if path and os.path.exists(path) else ""


@pytest.fixture(scope="module")
def env(pusher, busybox_tar):
    c = PullCluster(busybox_tar)
    reg = None
    try:
        reg = Registry(c.base)
        c.start_agent()
        pusher.busybox_tar = busybox_tar
        yield Env(c, reg, pusher)
    finally:
        problems = c.cleanup()
        if reg:
            reg.stop()
        assert not problems, problems


@pytest.fixture(scope="module")
def pusher():
    """A root of its own that makes and pushes the test images."""
    b = Berth(tempfile.mkdtemp(prefix="berth-pusher-"))
    yield b
    b.cleanup()


def pulled_re(image):
    return re.compile(r'^Successfully pulled image "' + re.escape(image) +
                      r'" in [0-9.]+(ms|s) \([0-9.]+(ms|s) including waiting\)\. Image size: (\d+) bytes\.$')


def test_pod_secret_pull_runs(env):
    c = env.c
    ns = c.namespace("pull-secret")
    image, digest = env.push("team/app")
    env.secret(ns, "regcred")
    env.pod(ns, "web", image, secrets=("not-there", "regcred"))
    wait_for(lambda: running_1_1(c, ns, "web"), "the pulled image running")
    missing = env.events(ns, "web", "FailedToRetrieveImagePullSecret")
    assert missing and missing[0]["type"] == "Warning" and missing[0]["message"] == (
        "Unable to retrieve some image pull secrets (not-there); attempting to pull the image may not succeed.")
    out = wait_for(lambda: (lambda t: t if "team/app" in t else None)(env.log(ns, "web")), "container output")
    assert re.search(r"F version=(n\d+)\n.* F \1 team/app\n", out), out  # ENV and the pushed layer's file (CRI log)
    st = env.status(ns, "web")
    assert st["imageID"] == f"{env.reg.host}/team/app@{digest}", st
    assert st["image"] == image
    pulling = env.events(ns, "web", "Pulling")
    assert [e["message"] for e in pulling] == [f'Pulling image "{image}"'] and pulling[0]["type"] == "Normal"
    pulled = env.events(ns, "web", "Pulled")
    assert len(pulled) == 1 and pulled[0]["type"] == "Normal", pulled
    m = pulled_re(image).match(pulled[0]["message"])
    assert m and int(m.group(3)) > 100000, pulled[0]["message"]
    assert pulled[0]["involvedObject"]["fieldPath"] == "spec.containers{app}"
    # the token flow carried the secret's user
    assert any("GET /token" in l and f"user={USER}" in l for l in open(env.reg.log_path)), "no token for alice"
    reqs = env.reg.requests("team/app")
    assert any("GET /v2/team/app/manifests/v1 200" in l for l in reqs), reqs
    # the config and the new layer came down with the token; busybox's layer the store had
    assert len([l for l in reqs if re.search(r"GET /v2/team/app/blobs/sha256:\w+ 200", l)]) == 2, reqs


def test_serviceaccount_pull_secrets(env):
    """Seed 003: the secret on the namespace's default ServiceAccount (its
    server given with a scheme, as the seed writes it); pods name none."""
    c = env.c
    ns = c.namespace("pull-sa")
    image, digest = env.push("team/sa")
    env.secret(ns, "regcred", server=f"https://{env.reg.host}")
    wait_for(lambda: c.get("serviceaccount", "default", ns), "the default ServiceAccount")
    c.kubectl("patch", "serviceaccount", "default", "-n", ns, "-p", '{"imagePullSecrets":[{"name":"regcred"}]}')
    env.pod(ns, "nosecret", image, secrets=())
    wait_for(lambda: running_1_1(c, ns, "nosecret"), "the pod without secrets running")
    assert env.status(ns, "nosecret")["imageID"] == f"{env.reg.host}/team/sa@{digest}"
    assert len(env.events(ns, "nosecret", "Pulled")) == 1
    # an init container's image is pulled the same way, before the app container starts
    init_image, init_digest = env.push("team/init")
    c.create_pod(ns, "withinit", [{"name": "app", "image": "bb:latest", "imagePullPolicy": "Never",
                                   "command": ["sleep", "1000"]}], terminationGracePeriodSeconds=1,
                 initContainers=[{"name": "init", "image": init_image, "imagePullPolicy": "IfNotPresent",
                                  "command": ["cat", "/version"]}])
    wait_for(lambda: running_1_1(c, ns, "withinit"), "the pod with a pulled init container running")
    pulled = env.events(ns, "withinit", "Pulled")
    init_pulled = [e for e in pulled if e["involvedObject"].get("fieldPath") == "spec.initContainers{init}"]
    assert len(init_pulled) == 1 and pulled_re(init_image).match(init_pulled[0]["message"]), pulled
    ist = c.get("pod", "withinit", ns)["status"]["initContainerStatuses"][0]
    assert ist["imageID"] == f"{env.reg.host}/team/init@{init_digest}"
    assert ist["state"]["terminated"]["reason"] == "Completed"


def test_wrong_password_backs_off_then_recovers(env):
    c = env.c
    ns = c.namespace("pull-badpw")
    image, _ = env.push("team/locked")
    env.secret(ns, "regcred", password="not-the-password")
    env.pod(ns, "bad", image)
    failed = wait_for(lambda: [e for e in env.events(ns, "bad", "Failed")
                               if e["message"].startswith(f'Failed to pull image "{image}": ')], "Failed to pull event")
    assert failed[0]["type"] == "Warning"
    assert "incorrect username or password" in failed[0]["message"], failed[0]["message"]
    wait_for(lambda: any(e["message"] == "Error: ErrImagePull" for e in env.events(ns, "bad", "Failed")),
             "Error: ErrImagePull")
    w = wait_for(lambda: (lambda w: w if w.get("reason") == "ImagePullBackOff" else None)(env.waiting(ns, "bad")),
                 "ImagePullBackOff")
    assert w["message"] == f'Back-off pulling image "{image}"'
    assert pod_line(c, ns, "bad")[1:3] in (["0/1", "ImagePullBackOff"], ["0/1", "ErrImagePull"])
    backoff = wait_for(lambda: env.events(ns, "bad", "BackOff"), "BackOff event")
    assert backoff[0]["message"] == f'Back-off pulling image "{image}"' and backoff[0]["type"] == "Normal"
    assert any(e["message"] == "Error: ImagePullBackOff" for e in env.events(ns, "bad", "Failed"))
    # the pull is retried after the back-off: ErrImagePull again, the Failed event repeats
    wait_for(lambda: any(e["message"].startswith("Failed to pull") and e.get("count", 1) >= 2
                         for e in env.events(ns, "bad", "Failed")), "a second failed pull")
    assert c.get("pod", "bad", ns)["status"]["phase"] == "Pending"
    # the right password in the secret: the next retry pulls and the pod runs
    c.kubectl("delete", "secret", "regcred", "-n", ns)
    env.secret(ns, "regcred")
    wait_for(lambda: running_1_1(c, ns, "bad"), "running after the secret was fixed")
    assert len(env.events(ns, "bad", "Pulled")) == 1


def test_missing_image_backs_off(env):
    c = env.c
    ns = c.namespace("pull-missing")
    env.push("team/present")
    image = f"{env.reg.host}/team/present:no-such-tag"
    env.secret(ns, "regcred")
    env.pod(ns, "ghost", image)
    failed = wait_for(lambda: [e for e in env.events(ns, "ghost", "Failed")
                               if e["message"].startswith(f'Failed to pull image "{image}": ')], "Failed to pull event")
    assert "MANIFEST_UNKNOWN" in failed[0]["message"] or "manifest unknown" in failed[0]["message"], failed
    wait_for(lambda: env.waiting(ns, "ghost").get("reason") == "ImagePullBackOff", "ImagePullBackOff")
    wait_for(lambda: any(e["message"] == "Error: ErrImagePull" for e in env.events(ns, "ghost", "Failed")),
             "Error: ErrImagePull")
    # a status between two pulls says why
    st = env.waiting(ns, "ghost")
    assert st["message"] in (f'Back-off pulling image "{image}"',) or "no-such-tag" in st["message"], st
    assert not env.events(ns, "ghost", "Pulled")


def test_invalid_image_name(env):
    c = env.c
    ns = c.namespace("pull-invalid")
    image = f"{env.reg.host}/Team/App:v1"
    env.pod(ns, "upper", image, secrets=())
    w = wait_for(lambda: (lambda w: w if w.get("reason") == "InvalidImageName" else None)(env.waiting(ns, "upper")),
                 "InvalidImageName")
    assert w["message"].startswith(f'Failed to apply default image tag "{image}": couldn\'t parse image name '
                                   f'"{image}": '), w
    assert "lowercase" in w["message"]
    inspect = wait_for(lambda: env.events(ns, "upper", "InspectFailed"), "InspectFailed event")
    assert inspect[0]["type"] == "Warning" and inspect[0]["message"] == w["message"]
    wait_for(lambda: any(e["message"] == "Error: InvalidImageName" for e in env.events(ns, "upper", "Failed")),
             "Error: InvalidImageName")
    assert not env.events(ns, "upper", "Pulling")
    assert not [l for l in open(env.reg.log_path) if "/v2/Team/" in l]


def test_always_repulls_a_moved_tag(env):
    """Always pulls before every start: the tag moved to a new image, the
    container's next instance runs the new one."""
    c = env.c
    ns = c.namespace("pull-always")
    env.secret(ns, "regcred")
    image, d1 = env.push("team/moving", version="one")
    env.pod(ns, "loop", image, policy="Always", command=["sh", "-c", "echo version=$VERSION; sleep 2"])
    wait_for(lambda: "version=one" in env.all_logs(ns, "loop"), "the first image's output")
    assert env.status(ns, "loop")["imageID"] == f"{env.reg.host}/team/moving@{d1}"
    # the tag moves to a new image
    _, d2 = env.push("team/moving", version="two")
    assert d1 != d2
    wait_for(lambda: "version=two" in env.all_logs(ns, "loop"), "a restarted instance on the new image")
    wait_for(lambda: env.status(ns, "loop").get("imageID") == f"{env.reg.host}/team/moving@{d2}", "the new imageID")
    pulled = env.events(ns, "loop", "Pulled")
    assert len(pulled) >= 2 and all(pulled_re(image).match(e["message"]) for e in pulled), pulled
    assert env.status(ns, "loop")["restartCount"] >= 1
    # IfNotPresent uses what the store has now (the moved tag) without asking the registry
    before = len(env.reg.requests("team/moving"))
    env.pod(ns, "third", image, policy="IfNotPresent")
    wait_for(lambda: running_1_1(c, ns, "third"), "third pod running")
    assert "version=two" in wait_for(lambda: env.log(ns, "third"), "third output")
    assert len(env.reg.requests("team/moving")) == before


def test_if_not_present_makes_no_request(env):
    c = env.c
    ns = c.namespace("pull-present")
    env.secret(ns, "regcred")
    image, _ = env.push("team/once")
    env.pod(ns, "one", image)
    wait_for(lambda: running_1_1(c, ns, "one"), "first pod running")
    n = len(env.reg.requests("team/once"))
    assert n >= 1
    env.pod(ns, "two", image)
    wait_for(lambda: running_1_1(c, ns, "two"), "second pod running")
    assert len(env.reg.requests("team/once")) == n, env.reg.requests("team/once")
    present = env.events(ns, "two", "Pulled")
    assert [e["message"] for e in present] == [f'Container image "{image}" already present on machine']
    assert not env.events(ns, "two", "Pulling")
    # Always with an unchanged digest pulls again: the manifest only, no blob
    blobs_before = [l for l in env.reg.requests("team/once") if "/blobs/" in l]
    env.pod(ns, "three", image, policy="Always")
    wait_for(lambda: running_1_1(c, ns, "three"), "third pod running")
    reqs = env.reg.requests("team/once")
    assert len(reqs) > n and [l for l in reqs if "/blobs/" in l] == blobs_before, reqs
    assert pulled_re(image).match(env.events(ns, "three", "Pulled")[0]["message"])


class HangingRegistry:
    """A registry on loopback whose manifest requests wait until released
    (then MANIFEST_UNKNOWN): a pull that stays in flight as long as a test
    wants.  Counts the manifest requests it received."""

    def __init__(self):
        import http.server
        import threading
        outer = self
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.manifest_requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, body=b"{}"):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                if "/manifests/" in self.path:
                    with outer.lock:
                        outer.manifest_requests += 1
                    outer.release.wait(120)
                    return self.reply(404, json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN",
                                                                   "message": "manifest unknown"}]}).encode())
                self.reply(200 if self.path == "/v2/" else 404)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.manifest_requests

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_pull_in_flight_blocks_nothing_else(env):
    """While a pull hangs, other pods start; a second container wanting the
    same image waits for the pull in flight instead of starting another."""
    c = env.c
    ns = c.namespace("pull-hang")
    reg = HangingRegistry()
    try:
        image = f"{reg.host}/slow/app:v1"
        env.pod(ns, "slow", image, secrets=())
        wait_for(lambda: reg.count() == 1, "the pull's manifest request in flight")
        env.pod(ns, "slow2", image, secrets=())
        # its sandbox is up: the agent has been through slow2's image step
        wait_for(lambda: (c.get("pod", "slow2", ns) or {}).get("status", {}).get("podIP"), "slow2's sandbox")
        env.pod(ns, "local", "bb:latest", policy="Never", secrets=())
        wait_for(lambda: running_1_1(c, ns, "local"), "a pod with a local image running during the pull")
        # slow2 waits for the pull of its image in flight instead of starting one
        assert reg.count() == 1
        assert env.events(ns, "slow2", "Pulling") == []
        assert pod_line(c, ns, "slow")[1:3] == ["0/1", "ContainerCreating"]
        reg.release.set()
        failed = wait_for(lambda: [e for e in env.events(ns, "slow", "Failed")
                                   if e["message"].startswith(f'Failed to pull image "{image}": ')], "slow's pull failed")
        assert "MANIFEST_UNKNOWN" in failed[0]["message"], failed
        # then slow2 pulls with its own turn
        wait_for(lambda: env.events(ns, "slow2", "Pulling"), "slow2's own pull")
        wait_for(lambda: reg.count() >= 2, "slow2's manifest request")
    finally:
        reg.stop()
