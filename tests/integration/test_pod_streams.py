"""Pod streams through the API server and the node agent: `kubectl exec`,
`cp`, `attach` and `port-forward` with every kubectl 1.27 ... 1.33.

kubectl <= 1.29 speaks SPDY/3.1 for all of them; 1.30+ uses WebSocket for
exec/attach/cp and, from 1.31, SPDY tunnelled in a WebSocket for
port-forward.  One `berth server` and one agent (the fixture of test_agent_api.py,
with a pod network of its own) serve the module; each test works in its own
namespace.  Port-forwarding only ever listens on 127.0.0.1 (free ports).
Waits poll with generous deadlines; nothing is timed.
"""
import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from test_agent_api import Cluster, free_port, wait_for

SDK = "/usr/lib/google-cloud-sdk/bin"
VERSIONS = ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"]


def kubectl_bin(v):
    return f"{SDK}/kubectl.{v}" if v else "/usr/bin/kubectl"


class StreamCluster(Cluster):
    def start_agent(self):
        self.agent_log = open(os.path.join(self.base, "agent.log"), "a")
        self.agent = subprocess.Popen(
            self.berth("agent", "--server", f"https://127.0.0.1:{self.port}", "--token", self.token,
                       "--ca-file", os.path.join(self.data, "tls", "ca.crt"), "--node-name", "streams-node",
                       "--crash-backoff", "1s", "--kubelet-port", "0", "--pod-cidr", "10.244.213.0/24"),
            stdout=self.agent_log, stderr=subprocess.STDOUT)

    def run(self, v, *args, input=None, timeout=120):
        return subprocess.run([kubectl_bin(v), "--kubeconfig", self.kubeconfig] + [str(a) for a in args],
                              capture_output=True, text=True, input=input, timeout=timeout,
                              env=dict(os.environ, HOME=self.base))

    def popen(self, v, *args, stdin=subprocess.DEVNULL):
        return subprocess.Popen([kubectl_bin(v), "--kubeconfig", self.kubeconfig] + [str(a) for a in args],
                                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, HOME=self.base))

    def pod(self, ns, name, containers, **spec):
        for c in containers:
            c.setdefault("imagePullPolicy", "Never")
        s = {"nodeName": "streams-node", "terminationGracePeriodSeconds": 1, "containers": containers}
        s.update(spec)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": s}
        self.kubectl("create", "-f", "-", input=json.dumps(pod))
        self.uids[f"{ns}/{name}"] = self.get("pod", name, ns)["metadata"]["uid"]
        wait_for(lambda: (self.get("pod", name, ns) or {}).get("status", {}).get("phase") == "Running",
                 f"pod {ns}/{name} running")


@pytest.fixture(scope="module")
def sc(busybox_tar):
    c = StreamCluster(busybox_tar)
    c.start_agent()
    wait_for(lambda: c.get("node", "streams-node"), "node registered")
    yield c
    problems = c.cleanup()
    assert not problems, problems


@pytest.fixture(scope="module")
def shell(sc):
    ns = sc.namespace("streams")
    sc.pod(ns, "sh", [{"name": "main", "image": "bb:latest", "command": ["sleep", "100000"]}])
    return ns


def fail_msg(p):
    return f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"


@pytest.mark.parametrize("v", VERSIONS)
def test_exec_every_kubectl(sc, shell, v):
    p = sc.run(v, "exec", "sh", "-n", shell, "--", "sh", "-c", "echo out-$((6*7)); echo err-text >&2; exit 3")
    assert p.returncode == 3, fail_msg(p)
    assert p.stdout == "out-42\n", fail_msg(p)
    assert "err-text" in p.stderr, fail_msg(p)
    p = sc.run(v, "exec", "sh", "-n", shell, "--", "true")
    assert p.returncode == 0 and p.stdout == "", fail_msg(p)
    # stdin, closed by the client at its end: cat must see EOF and finish
    data = "".join(f"line {i} {v}\n" for i in range(2000))
    p = sc.run(v, "exec", "-i", "sh", "-n", shell, "--", "sh", "-c", "cat; echo end", input=data)
    assert p.returncode == 0, fail_msg(p)
    assert p.stdout == data + "end\n"


@pytest.mark.parametrize("v", [""])
def test_long_quiet_exec(sc, shell, v):
    """A minute and more without output: kubectl >= 1.30 pings the WebSocket
    and gives up on a connection whose pongs do not come back."""
    p = sc.run(v, "exec", "sh", "-n", shell, "--", "sh", "-c", "sleep 75; echo woke")
    assert p.returncode == 0 and p.stdout == "woke\n", fail_msg(p)


@pytest.mark.parametrize("v", ["1.27", "1.29", ""])
def test_cp_into_and_out_of_pod(sc, shell, v, tmp_path):
    src = tmp_path / "src.bin"
    payload = os.urandom(300 * 1024)
    src.write_bytes(payload)
    tag = v or "cur"
    p = sc.run(v, "cp", str(src), f"{shell}/sh:/tmp/cp-{tag}.bin")
    assert p.returncode == 0, fail_msg(p)
    p = sc.run(v, "exec", "sh", "-n", shell, "--", "wc", "-c", f"/tmp/cp-{tag}.bin")
    assert p.stdout.split()[0] == str(len(payload)), fail_msg(p)
    back = tmp_path / "back.bin"
    p = sc.run(v, "cp", f"{shell}/sh:/tmp/cp-{tag}.bin", str(back))
    assert p.returncode == 0, fail_msg(p)
    assert back.read_bytes() == payload


def read_until(proc, stream, needle, timeout=90):
    """Read proc's stream until needle shows up; everything read so far."""
    buf = b""
    end = time.monotonic() + timeout
    fd = stream.fileno()
    while needle.encode() not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}: {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                err = proc.stderr.read().decode() if stream is proc.stdout else ""
                raise AssertionError(f"stream ended before {needle!r}: {buf!r}; exit {proc.wait()} {err}")
            buf += chunk
    return buf.decode()


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=3)  # kubectl attach may ignore it: then it is killed
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    if proc.stdin:
        proc.stdin.close()


def http_get(port):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


@pytest.fixture(scope="module")
def web(sc):
    ns = sc.namespace("streams-web")
    sc.pod(ns, "web", [{"name": "httpd", "image": "bb:latest", "command": [
        "sh", "-c", "mkdir -p /www && echo hello-from-pod-$(hostname) > /www/index.html && "
                    "exec httpd -f -p 8080 -h /www"]}])
    return ns


@pytest.mark.parametrize("v", ["1.27", "1.30", "1.33"])
def test_port_forward(sc, web, v):
    port = free_port()
    verbose = ["-v=6"] if v == "1.33" else []
    pf = sc.popen(v, "port-forward", "-n", web, "pod/web", f"{port}:8080", "--address", "127.0.0.1", *verbose)
    try:
        read_until(pf, pf.stdout, "Forwarding from")
        if verbose:  # 1.31+: SPDY tunnelled in a WebSocket (a GET upgrade; plain SPDY is a POST)
            line = [l for l in read_until(pf, pf.stderr, "Switching Protocols").splitlines()
                    if "Switching Protocols" in l][0]
            assert "GET" in line and "/portforward" in line, line
        for _ in range(3):  # several connections over the one forwarding session
            body = http_get(port)
            assert "200 OK" in body and "hello-from-pod-web" in body, body
        # a port nobody listens on: the connection fails, the session stays
        bad = free_port()
        pf2 = sc.popen(v, "port-forward", "-n", web, "pod/web", f"{bad}:9", "--address", "127.0.0.1")
        try:
            read_until(pf2, pf2.stdout, "Forwarding from")
            try:  # kubectl drops the local connection: an empty answer or a reset
                assert "hello" not in http_get(bad)
            except ConnectionResetError:
                pass
            err = read_until(pf2, pf2.stderr, "127.0.0.1:9")
            assert "error forwarding port 9" in err
        finally:
            stop(pf2)
        assert "hello-from-pod-web" in http_get(port)
    finally:
        stop(pf)


@pytest.mark.parametrize("v", ["1.27", ""])
def test_attach_streams_output_until_container_ends(sc, v):
    ns = sc.namespace(f"attach-{v.replace('.', '') or 'cur'}")
    sc.pod(ns, "talker", [{"name": "main", "image": "bb:latest", "command": [
        "sh", "-c", "i=0; while [ ! -e /tmp/go ]; do echo tick $i; i=$((i+1)); sleep 0.2; done; "
                    "echo last-words; echo to-stderr >&2; exit 5"]}], restartPolicy="Never")
    # the log already holds ticks 0..3: attach must start from what comes next
    wait_for(lambda: "tick 3" in sc.run("", "logs", "talker", "-n", ns).stdout, "four ticks logged")
    at = sc.popen(v, "attach", "talker", "-n", ns)
    try:
        out = read_until(at, at.stdout, "tick ")
        while not re.search(r"tick \d+\n", out):
            out += read_until(at, at.stdout, "\n")
        first = int(re.search(r"tick (\d+)\n", out).group(1))
        assert first > 3, out
        p = sc.run("", "exec", "talker", "-n", ns, "--", "touch", "/tmp/go")
        assert p.returncode == 0, fail_msg(p)
        rest = read_until(at, at.stdout, "last-words")
        assert "last-words" in rest
        at.wait(timeout=90)
        assert "to-stderr" in at.stderr.read().decode()
        assert at.returncode == 5
    finally:
        stop(at)


@pytest.mark.parametrize("v", ["1.27", ""])
def test_attach_stdin(sc, v):
    ns = sc.namespace(f"attachin-{v.replace('.', '') or 'cur'}")
    sc.pod(ns, "reader", [{"name": "main", "image": "bb:latest", "stdin": True, "command": [
        "sh", "-c", "while read l; do echo got:$l; done; echo stdin-closed"]}])
    at = sc.popen(v, "attach", "-i", "reader", "-n", ns, stdin=subprocess.PIPE)
    try:
        at.stdin.write(b"abc\n")
        at.stdin.flush()
        assert "got:abc" in read_until(at, at.stdout, "got:abc")
        at.stdin.write(b"second\n")
        at.stdin.flush()
        assert "got:second" in read_until(at, at.stdout, "got:second")
    finally:
        stop(at)


def test_attach_stdin_refused_without_spec_stdin(sc, shell):
    p = sc.run("", "attach", "-i", "sh", "-n", shell, input="x\n", timeout=120)
    assert p.returncode != 0
    assert "stdin" in p.stderr, fail_msg(p)


def test_bad_spdy_frames_close_only_that_connection(sc, shell):
    """Garbage after a real SPDY upgrade: the agent logs it, ends that
    session (its process too), keeps running and serves the next exec."""
    import socket
    import ssl
    api = sc.get("node", "streams-node")
    port = api["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = os.path.join(sc.data, "tls")
    ctx.load_cert_chain(os.path.join(tls, "admin.crt"), os.path.join(tls, "admin.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(f"POST /exec/{shell}/sh/main?command=sleep&command=4321&stdout=true HTTP/1.1\r\n"
                      "Host: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 101"), head
            assert b"v4.channel.k8s.io" in head
            # a SYN_STREAM whose header block is not zlib data
            s.sendall(bytes([0x80, 3, 0, 1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + b"junk")
            wait_for(lambda: "bad SPDY frame" in sc.agent_text(), "the agent logged the bad frame")
    # the process of that exec was ended with the connection
    wait_for(lambda: "sleep 4321" not in sc.run("", "exec", "sh", "-n", shell, "--", "ps", "-o", "args").stdout,
             "the exec of the bad connection ended")
    assert sc.agent.poll() is None
    p = sc.run("1.27", "exec", "sh", "-n", shell, "--", "echo", "still-here")
    assert p.returncode == 0 and p.stdout == "still-here\n", fail_msg(p)
