"""Shared fixtures for integration tests: they drive the real `berth` binary.

Each test gets its own state root and runroot under a temp dir; teardown
removes every container it made (berth rm -f), then checks that nothing is
left mounted under the root and no cgroup named after its containers remains,
and removes the directories.
"""
import json
import os
import shutil
import subprocess
import tempfile
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BERTH = os.environ.get("BERTH", os.path.join(TOP, "build", "berth"))


# The integration tests run as two groups side by side (tests/run-all.sh):
# "node" holds every module that runs pods (berth up, berth agent, network
# namespaces as nodes): they share the node's global state (the CNI bridge
# and leases, the proxy's iptables chains, the cluster DNS address, port
# 5000) and run one after another; "other" holds the rest (the container
# runtime, builds, images, registry, charts, API server and controllers
# without agents), which keep to their own roots and free ports.  A module
# that uses what a listed one defines (its cluster fixtures) is "node" too.
NODE_MODULES = {
    "test_agent", "test_agent_api", "test_agent_extras", "test_agent_pull", "test_chart_release",
    "test_ctl_adopt", "test_imagegc", "test_multinode", "test_pod_streams", "test_seed001",
    "test_services", "test_shim", "test_up", "test_volumes_pvc", "test_pod_tty",
}


def pytest_addoption(parser):
    parser.addoption("--group", choices=("node", "other"), default=None,
                     help="run only the modules of one group (see NODE_MODULES)")


def is_node_module(mod):
    """Listed, or using what a listed module defines (its cluster fixtures)."""
    def short(name):
        return (name or "").rsplit(".", 1)[-1]
    if short(mod.__name__) in NODE_MODULES:
        return True
    for v in vars(mod).values():
        origin = v.__name__ if isinstance(v, types.ModuleType) else getattr(v, "__module__", None)
        if short(origin) in NODE_MODULES:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    group = config.getoption("--group")
    if not group:
        return
    keep, drop = [], []
    for item in items:
        (keep if is_node_module(item.module) == (group == "node") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Berth:
    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.runroot, exist_ok=True)

    def cmd(self, *args):
        return [BERTH, "--root", self.root, "--runroot", self.runroot] + [str(a) for a in args]

    def run(self, *args, check=True, input=None, timeout=60, env=None):
        """Run berth; returns CompletedProcess with text stdout/stderr."""
        p = subprocess.run(self.cmd(*args), input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(map(str, args))} exited {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout

    def json(self, *args):
        return json.loads(self.out(*args))

    def mounts_under_root(self):
        res = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp.startswith(self.base):
                    res.append(mp)
        return res

    def cleanup(self):
        ids = []
        p = subprocess.run(self.cmd("ps", "-aq"), capture_output=True, text=True)
        if p.returncode == 0:
            ids = p.stdout.split()
        if ids:
            subprocess.run(self.cmd("rm", "-f", *ids), capture_output=True, text=True, timeout=60)
        leftovers = self.mounts_under_root()
        for mp in reversed(leftovers):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
        return leftovers


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory):
    """A busybox rootfs tarball made from Debian's busybox-static."""
    out = tmp_path_factory.mktemp("fixtures") / "busybox.tar"
    subprocess.run([os.path.join(TOP, "tests", "fixtures", "busybox-image.sh"), str(out)], check=True)
    return str(out)


@pytest.fixture
def berth():
    base = tempfile.mkdtemp(prefix="berth-it-")
    b = Berth(base)
    yield b
    leftovers = b.cleanup()
    assert not leftovers, f"mounts left behind: {leftovers}"


@pytest.fixture
def bb(berth, busybox_tar):
    """A berth root that holds the busybox image as 'bb:latest' (CMD sh)."""
    berth.run("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "bb:latest")
    return berth
