"""The node agent's image garbage collection (the kubelet's image GC): over
the high threshold of the image filesystem, unused images go, least
recently used first; images a pod uses and images younger than the
minimum age stay.

The agent runs static pods (--pod-manifest-path) on its own root; the
thresholds are set so the collector always has work (high 0: always over,
low 0: free all it can), with a short period so a round comes soon.
"""
import json
import os
import subprocess

import pytest

from test_agent import AgentRun, pod, wait_for


def image_names(b):
    return {n for img in json.loads(b.out("images", "--format", "json")) for n in img["Names"] or []}


def run_agent(bb, *gc_flags):
    a = AgentRun(bb)
    a.log = open(os.path.join(bb.base, "agent.log"), "a")
    cmd = bb.cmd("agent")
    cmd.insert(1, "--log-level=debug")
    a.proc = subprocess.Popen(
        cmd + [ "--pod-manifest-path", a.manifests, "--node-name", a.node, "--crash-backoff", "1s",
               "--file-check-frequency", "1s", "--image-gc-period", "300ms", *gc_flags],
        stdout=a.log, stderr=subprocess.STDOUT)
    return a


def agent_log(bb):
    with open(os.path.join(bb.base, "agent.log")) as f:
        return f.read()


def stop_all(a, bb):
    for f in os.listdir(a.manifests):
        os.unlink(os.path.join(a.manifests, f))
    wait_for(lambda: not os.listdir(os.path.join(bb.root, "pods")), "all pods stopped")
    a.stop()


@pytest.fixture
def three_images(bb, busybox_tar):
    # three distinct images (their configs differ) from the one busybox rootfs
    bb.run("import", "--change", "LABEL which=used", "--change", 'CMD ["/bin/sh"]', busybox_tar, "used:1")
    bb.run("import", "--change", "LABEL which=spare", busybox_tar, "spare:1")
    bb.run("import", "--change", "LABEL which=other", busybox_tar, "other:1")
    return bb


def test_unused_images_go_used_ones_stay(three_images):
    bb = three_images
    a = run_agent(bb, "--image-gc-high-threshold", "0", "--image-gc-low-threshold", "0",
                  "--minimum-image-ttl-duration", "1s")
    try:
        a.put("web", pod("web", [{"name": "c", "image": "used:1", "command": ["sleep", "3600"],
                                  "imagePullPolicy": "Never"}]))
        a.wait_phase("web", "Running")
        wait_for(lambda: not ({"docker.io/library/spare:1", "docker.io/library/other:1"} & image_names(bb))
                 and "image gc: removed" in agent_log(bb), "unused images removed", timeout=90)
        names = image_names(bb)
        assert "docker.io/library/used:1" in names, names
        assert "docker.io/library/bb:latest" not in names, "bb:latest is not used by any pod either"
        st = a.status("web")
        assert st["phase"] == "Running" and st["containerStatuses"][0]["ready"] is True
        # the pod's image is still whole: a new container of it starts
        a.put("again", pod("again", [{"name": "c", "image": "used:1", "command": ["true"],
                                      "imagePullPolicy": "Never"}], restartPolicy="Never"))
        a.wait_phase("again", "Succeeded")
        # the unpacked layers of the removed images are gone; the used one's stay
        assert bb.run("inspect", "spare:1", check=False).returncode != 0
    finally:
        stop_all(a, bb)


def test_young_images_and_high_threshold_100_keep_everything(three_images):
    bb = three_images
    a = run_agent(bb, "--image-gc-high-threshold", "0", "--image-gc-low-threshold", "0",
                  "--minimum-image-ttl-duration", "1h")
    try:
        # rounds run and find nothing old enough
        wait_for(lambda: agent_log(bb).count("unused and older than the minimum age") >= 3, "three gc rounds")
        assert "4 images, 0 unused and older than the minimum age" in agent_log(bb)
        assert agent_log(bb).count("the rest is in use or too young") == 1, "said once, not every round"
        assert {"docker.io/library/spare:1", "docker.io/library/other:1", "docker.io/library/used:1"} <= image_names(bb)
        assert "image gc: removed" not in agent_log(bb)
    finally:
        stop_all(a, bb)
    a = run_agent(bb, "--image-gc-high-threshold", "100", "--minimum-image-ttl-duration", "0s")
    try:
        a.put("p", pod("p", [{"name": "c", "image": "used:1", "command": ["true"], "imagePullPolicy": "Never"}],
                       restartPolicy="Never"))
        a.wait_phase("p", "Succeeded")
        assert {"docker.io/library/spare:1", "docker.io/library/other:1"} <= image_names(bb)
        assert "image gc: removed" not in agent_log(bb), "high threshold 100 turns the collector off"
    finally:
        stop_all(a, bb)


def test_bad_thresholds_are_refused(bb):
    p = bb.run("agent", "--pod-manifest-path", bb.base, "--image-gc-high-threshold", "50",
               "--image-gc-low-threshold", "60", check=False)
    assert p.returncode != 0 and "--image-gc-low-threshold (60) must not exceed --image-gc-high-threshold (50)" in p.stderr
    p = bb.run("agent", "--pod-manifest-path", bb.base, "--image-gc-high-threshold", "101", check=False)
    assert p.returncode != 0 and "--image-gc-high-threshold: want a percentage 0..100, not '101'" in p.stderr
