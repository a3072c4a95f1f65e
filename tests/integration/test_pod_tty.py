"""Containers with `tty: true` driven by the real kubectl through a pty, as a
user types: `kubectl run -it --rm ... -- sh`, `kubectl attach -it`, window
resizes (`stty size` inside), `kubectl run -i ... -- cat` without a tty,
stdinOnce, the terminal's output in the container log, and a tty container
re-attached after its agent was killed and restarted.

kubectl 1.27 speaks SPDY/3.1, /usr/bin/kubectl WebSocket (v5).  One `berth
server` and one agent serve the module (test_pod_streams.py's cluster, with
a node and pod network of its own).  Waits poll with generous deadlines.
"""
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from test_agent_api import wait_for
from test_pod_streams import StreamCluster, kubectl_bin

NODE = "tty-node"


class TtyCluster(StreamCluster):
    def start_agent(self):
        self.agent_log = open(os.path.join(self.base, "agent.log"), "a")
        self.agent = subprocess.Popen(
            self.berth("agent", "--server", f"https://127.0.0.1:{self.port}", "--token", self.token,
                       "--ca-file", os.path.join(self.data, "tls", "ca.crt"), "--node-name", NODE,
                       "--crash-backoff", "1s", "--kubelet-port", "0", "--pod-cidr", "10.244.214.0/24"),
            stdout=self.agent_log, stderr=subprocess.STDOUT)

    def pod(self, ns, name, containers, **spec):
        spec.setdefault("nodeName", NODE)
        for c in containers:
            c.setdefault("imagePullPolicy", "Never")
        s = {"terminationGracePeriodSeconds": 1, "containers": containers}
        s.update(spec)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": s}
        self.kubectl("create", "-f", "-", input=json.dumps(pod))
        self.uids[f"{ns}/{name}"] = self.get("pod", name, ns)["metadata"]["uid"]
        wait_for(lambda: (self.get("pod", name, ns) or {}).get("status", {}).get("phase") == "Running",
                 f"pod {ns}/{name} running")

    def ctr_log(self, ns, name, ctr):
        uid = self.get("pod", name, ns)["metadata"]["uid"]
        d = os.path.join(self.root, "pods", f"{ns}_{name}_{uid}", ctr)
        logs = sorted((f for f in os.listdir(d) if f.endswith(".log")), key=lambda f: int(f.split(".")[0]))
        with open(os.path.join(d, logs[-1])) as f:
            return f.read()


@pytest.fixture(scope="module")
def tc(busybox_tar):
    c = TtyCluster(busybox_tar)
    c.start_agent()
    wait_for(lambda: c.get("node", NODE), "node registered")
    yield c
    # pods of `kubectl run` that a failed test left behind
    c.kubectl("delete", "pods", "--all", "--all-namespaces", "--wait=false", check=False)
    problems = c.cleanup()
    assert not problems, problems


class Term:
    """kubectl on a pty of rows x cols (its controlling terminal)."""

    def __init__(self, tc, v, *args, rows=33, cols=101):
        self.master, slave = os.openpty()
        self.resize(rows, cols, fd=slave)
        self.proc = subprocess.Popen([kubectl_bin(v), "--kubeconfig", tc.kubeconfig] + [str(a) for a in args],
                                     stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
                                     env=dict(os.environ, HOME=tc.base))
        os.close(slave)
        self.seen = b""

    def resize(self, rows, cols, fd=None):
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, text):
        os.write(self.master, text.encode())

    def expect(self, pattern, timeout=90):
        """Read until the regex shows up in what arrived since the last
        match; the text from there to the match's end."""
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern.encode(), self.seen)
            if m:
                out, self.seen = self.seen[:m.end()], self.seen[m.end():]
                return out.decode(errors="replace")
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}: {self.seen!r}")
            r, _, _ = select.select([self.master], [], [], left)
            try:
                chunk = os.read(self.master, 65536) if r else b""
            except OSError:  # EIO: kubectl is gone and the pty drained
                chunk = None
            if chunk is None or (r and not chunk):
                raise AssertionError(f"kubectl ended before {pattern!r}: {self.seen!r}, exit {self.proc.wait()}")
            self.seen += chunk

    def wait(self, timeout=90):
        """kubectl's exit code, the pty drained meanwhile."""
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.5)
            if r:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.proc.wait(timeout=1)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def shell_roundtrip(t, rows, cols):
    t.write("stty size; echo hi-$((6*7))\n")
    out = t.expect(r"hi-42")
    assert f"{rows} {cols}" in out, out


@pytest.mark.parametrize("v", ["1.27", ""])
def test_run_it_rm_shell(tc, v):
    ns = tc.namespace(f"run-it-{v.replace('.', '') or 'cur'}")
    t = Term(tc, v, "run", "-it", "--rm", "t", "-n", ns, "--image=bb:latest", "--image-pull-policy=Never",
             "--restart=Never", f"--overrides={json.dumps({'spec': {'nodeName': NODE}})}", "--",
             "sh", "-c", "echo first-$((5*5)); exec sh")
    try:
        t.expect(r"If you don't see a command prompt")
        # written before the pod was Running, so before kubectl attached: not lost
        t.expect(r"first-25")
        t.expect(r"/ # ")
        shell_roundtrip(t, 33, 101)
        t.resize(40, 120)  # SIGWINCH for kubectl: the new size reaches the container
        wait_size(t, 40, 120)
        t.write("exit 0\n")
        assert t.wait() == 0, t.seen
    finally:
        t.close()
    wait_for(lambda: tc.get("pod", "t", ns) is None, "the pod removed by --rm")


@pytest.mark.parametrize("v", ["1.27", ""])
def test_run_i_cat_without_tty(tc, v):
    ns = tc.namespace(f"run-i-{v.replace('.', '') or 'cur'}")
    data = "".join(f"piped line {i}\n" for i in range(50))
    p = tc.run(v, "run", "-i", "--rm", "t2", "-n", ns, "--image=bb:latest", "--image-pull-policy=Never",
               "--restart=Never", f"--overrides={json.dumps({'spec': {'nodeName': NODE}})}", "--", "cat",
               input=data)
    assert p.returncode == 0, p.stderr
    assert data in p.stdout, p.stdout
    wait_for(lambda: tc.get("pod", "t2", ns) is None, "the pod removed by --rm")


@pytest.fixture(scope="module")
def ttypod(tc):
    ns = tc.namespace("tty-attach")
    tc.pod(ns, "term", [{"name": "main", "image": "bb:latest", "stdin": True, "tty": True, "command": ["sh", "-c", "echo early-$((5*7)); exec sh"]}])
    return ns


def test_attach_it_reattach_and_log(tc, ttypod):
    ns = ttypod
    t = Term(tc, "", "attach", "-it", "term", "-n", ns, rows=33, cols=101)
    try:
        t.expect(r"early-35")  # the first client gets what the terminal showed before it came
        shell_roundtrip(t, 33, 101)
        t.write("echo to-err-$((2+3)) >&2; X=kept-$((1+1))\n")
        t.expect(r"to-err-5")
    finally:
        t.close()  # gone without a word: no stdinOnce, the shell keeps running
    assert tc.get("pod", "term", ns)["status"]["phase"] == "Running"
    # again, over SPDY, with another size; the shell's state is still there
    t = Term(tc, "1.27", "attach", "-it", "term", "-n", ns, rows=25, cols=77)
    try:
        t.write("\n")
        t.expect(r"/ # ")
        t.write("echo $X; stty size\n")
        out = t.expect(r"\d+ \d+\r?\n")
        assert "kept-2" in out and "25 77" in out, out
        assert "early-35" not in out, out  # only the first client gets it
        # a second client at the same time: both see the terminal's output
        other = Term(tc, "", "attach", "-it", "term", "-n", ns, rows=25, cols=77)
        try:
            for _ in range(30):  # until the second session is in place
                t.write("echo both-$((8*8))\n")
                t.expect(r"both-64")
                try:
                    other.expect(r"both-64", timeout=2)
                    break
                except AssertionError:
                    pass
            else:
                raise AssertionError("the second client never saw the output")
        finally:
            other.close()
    finally:
        t.close()
    # the terminal's output is logged as stdout only (the kubelet's way)
    log = tc.ctr_log(ns, "term", "main")
    assert re.search(r" stdout [PF] .*hi-42", log), log
    assert re.search(r" stdout [PF] .*to-err-5", log), log
    assert " stderr " not in log, log
    assert "hi-42" in tc.run("", "logs", "term", "-n", ns).stdout


def wait_size(t, rows, cols):
    """Ask `stty size` until the container sees rows x cols (kubectl sends
    a new size when its SIGWINCH comes)."""
    for _ in range(30):
        t.write("stty size\n")
        if f"{rows} {cols}" in t.expect(r"\d+ \d+\r?\n"):
            return
        time.sleep(1)
    raise AssertionError(f"the container never saw {rows}x{cols}")


@pytest.mark.parametrize("v", ["1.27", ""])
def test_exec_it_resize(tc, ttypod, v):
    t = Term(tc, v, "exec", "-it", "term", "-n", ttypod, "--", "sh", rows=31, cols=97)
    try:
        shell_roundtrip(t, 31, 97)
        t.resize(45, 130)
        wait_size(t, 45, 130)
        t.write("exit 3\n")
        assert t.wait() == 3, t.seen
    finally:
        t.close()


def test_attach_after_agent_restart(tc, ttypod):
    """The shim owns the terminal: a killed agent's successor attaches to
    the same shell."""
    ns = ttypod
    t = Term(tc, "", "attach", "-it", "term", "-n", ns)
    try:
        t.write("Y=before-$((3*3))\n")
        t.expect(r"/ # ")
    finally:
        t.close()
    def kubelet_port():
        return tc.get("node", NODE)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    old = kubelet_port()
    tc.agent.send_signal(signal.SIGKILL)
    tc.agent.wait(timeout=30)
    tc.start_agent()
    wait_for(lambda: kubelet_port() != old, "the new agent registered its endpoint")
    t = Term(tc, "", "attach", "-it", "term", "-n", ns)
    try:
        t.write("echo $Y-after\n")
        t.expect(r"before-9-after")
    finally:
        t.close()


def test_stdin_once_hangs_up_after_first_session(tc):
    ns = tc.namespace("tty-once")
    tc.pod(ns, "once", [{"name": "main", "image": "bb:latest", "stdin": True, "stdinOnce": True, "tty": True,
                         "command": ["sh"]}], restartPolicy="Never")
    t = Term(tc, "", "attach", "-it", "once", "-n", ns)
    try:
        t.write("echo first-$((4*4))\n")
        t.expect(r"first-16")
    finally:
        t.close()
    # the session ended: the terminal is hung up; the shell (pid 1 of its
    # namespace: SIGHUP has no default action) reads EOF and exits 0
    pod = wait_for(lambda: (lambda p: p if p and p["status"].get("phase") in ("Succeeded", "Failed") else None)(
        tc.get("pod", "once", ns)), "the shell ended with its terminal")
    st = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert st["exitCode"] == 0 and pod["status"]["phase"] == "Succeeded", st
    # a second attach finds the container gone
    p = tc.run("", "attach", "-i", "once", "-n", ns, input="x\n", timeout=120)
    assert p.returncode != 0, p.stdout


def test_attach_stdin_refused_for_tty_without_stdin(tc):
    ns = tc.namespace("tty-nostdin")
    tc.pod(ns, "ro", [{"name": "main", "image": "bb:latest", "tty": True,
                       "command": ["sh", "-c", "while true; do echo tick-$((5+5)); sleep 0.3; done"]}])
    p = tc.run("", "attach", "-i", "ro", "-n", ns, input="x\n", timeout=120)
    assert p.returncode != 0 and "stdin" in p.stderr, p.stderr
    # without stdin, the terminal's output streams
    at = tc.popen("", "attach", "ro", "-n", ns)
    try:
        buf = b""
        end = time.monotonic() + 90
        while b"tick-10" not in buf and time.monotonic() < end:
            r, _, _ = select.select([at.stdout], [], [], 5)
            if r:
                buf += os.read(at.stdout.fileno(), 65536)
        assert b"tick-10" in buf, buf
    finally:
        at.kill()
        at.wait()
        at.stdout.close()
        at.stderr.close()
