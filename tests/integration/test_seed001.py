"""Seed 001 end to end on one node: every kubectl step of the walkthrough
(seed001_steps.py, the same replay test_multinode.py runs on four nodes),
run with the real kubectl against `berth up` (API server, scheduler,
controllers, the node agent with the service proxy, DNS) on this machine,
with busybox-based images built by `berth build` in place of Docker Hub's.

The cluster runs with a private root, runroot and data dir, the API on a
free loopback port; everything is stopped by PID and removed at the end,
also when a step fails: pods' processes, mounts, cgroups, the pod bridge,
its masquerade rule and lease directory, the proxy's chains.
"""
import os
import subprocess
import tempfile

import pytest

import seed001_steps
from netns_cluster import (BERTH, cleanup_node_state, curl, free_port, kill_pids, lease_dirs_cleanup,
                           root_netns_cleanup, stop_proc, tail, Node)
from seed001_steps import Kube, until

NODE = "seed-node"


class UpNode(Kube):
    """`berth up` with a private root/runroot/data dir: a seed001_steps handle."""
    nodes = [NODE]
    workers = [NODE]
    tainted = {}

    def __init__(self, busybox_tar):
        self.base = tempfile.mkdtemp(prefix="berth-seed001-")
        self.node_ = Node(NODE, self.base, None, None)
        self.data = os.path.join(self.base, "data")
        self.logpath = os.path.join(self.base, "up.log")
        super().__init__(os.path.join(self.data, "kubeconfig.yaml"))
        self.proc = self.log = None
        try:
            seed001_steps.build_images(self.node_.berth, self.base, busybox_tar)
            os.makedirs(self.node_.runroot, exist_ok=True)
            self.log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(
                [BERTH, "--root", self.node_.root, "--runroot", self.node_.runroot, "up", "--data-dir", self.data,
                 "--listen", f"127.0.0.1:{free_port()}", "--no-registry", "--node-name", NODE],
                stdout=self.log, stderr=subprocess.STDOUT)
            until(lambda: os.path.exists(self.kubeconfig) and
                  self.kubectl("get", "nodes", check=False).returncode == 0, "the API answers", timeout=90)
            until(lambda: [r for r in self.rows("nodes") if r["NAME"] == NODE and r["STATUS"] == "Ready"],
                  "the node is Ready", timeout=90)
            until(lambda: self.node(NODE)["spec"].get("podCIDR"), "the node's pod subnet", timeout=60)
        except BaseException:
            self.stop()
            raise

    def curl(self, node, url):
        assert node == NODE
        return curl(url)

    def diag(self):
        return tail(self.logpath, 40)

    def stop(self):
        cidr = None
        if self.proc and self.proc.poll() is None:
            try:
                # workloads first, then the pods: the agent tears each one down
                for kind in ("cronjobs", "deployments", "replicasets", "daemonsets", "jobs"):
                    self.kubectl("delete", kind, "--all", "--wait=false", check=False, timeout=60)
                self.kubectl("delete", "pods", "--all", "--wait=false", check=False, timeout=60)
                until(lambda: self.kubectl("get", "pods", "-o", "name", check=False).stdout == "", "pods gone",
                      timeout=120)
            except (AssertionError, subprocess.TimeoutExpired):
                pass  # a stuck pod is killed below; the test that left it failed already
            p = self.kubectl("get", "node", NODE, "-o", "jsonpath={.spec.podCIDR}", check=False, timeout=30)
            cidr = p.stdout.strip() if p.returncode == 0 else None
        stop_proc(self.proc, timeout=60)
        # the agent leaves pods running on purpose (a new agent adopts them):
        # stop what this test started
        kill_pids(self.node_.pod_pids())
        if self.log:
            self.log.close()
        cleanup_node_state(self.base, [self.node_])
        subprocess.run([BERTH, "proxy", "--cleanup"], capture_output=True, timeout=60)
        if cidr:
            root_netns_cleanup([cidr])
            lease_dirs_cleanup([cidr])
        subprocess.run(["rm", "-rf", self.base], capture_output=True)


@pytest.fixture(scope="module")
def cluster(busybox_tar):
    c = UpNode(busybox_tar)
    yield c
    c.stop()


@pytest.mark.parametrize("step", seed001_steps.STEPS, ids=lambda f: f.__name__)
def test_seed001_on_one_node(cluster, step):
    """Seed 001 step by step; the DaemonSet runs 1/1 on the lone node."""
    seed001_steps.run_step(cluster, step)
