"""One `berth server` driven with the real kubectl, for the integration
tests that need an API server and nothing else (no agent): start it in a
temp data dir on a free port, wait for /readyz, run kubectl against it, stop
it by PID.  Extra server flags (--disable-controllers ...) per test module.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))
KUBECTL = "/usr/bin/kubectl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fn, what, timeout=60):
    """fn's first true value, polled every 0.1 s; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("never happened: " + what)


class ApiServer:
    """A running `berth server` (started by the constructor)."""

    def __init__(self, extra_args=(), prefix="berth-api-"):
        self.extra_args = list(extra_args)
        self.data = tempfile.mkdtemp(prefix=prefix)
        self.port = free_port()
        self.kubeconfig = os.path.join(self.data, "kubeconfig.yaml")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.data, "server.log"), "ab")
        self.proc = subprocess.Popen([BERTH, "server", *self.extra_args, "--data-dir", self.data,
                                      "--listen", f"127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        until(self.ready, "berth server ready")

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("berth server exited: " + open(self.log.name).read())
        if not os.path.exists(self.kubeconfig):
            return False
        p = subprocess.run([KUBECTL, "get", "--raw", "/readyz"], capture_output=True, text=True, env=self.env())
        return p.returncode == 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def env(self):
        return dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.data)

    def run_kubectl(self, *args, check=True, input=None):
        """kubectl against this server: the CompletedProcess (text)."""
        p = subprocess.run([KUBECTL] + list(args), capture_output=True, text=True, env=self.env(),
                           input=input, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p
