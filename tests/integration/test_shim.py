"""The node agent's container shims: one `berth shim` server per agent
(spawned, not forked, from the agent) forks a small shim per container.

Static pods under `berth agent --pod-manifest-path` (the AgentRun helper and
teardown checks of test_agent.py): process layout, the exit file and OOM
kills written by the shim, the attach socket for containers with stdin,
and shims that outlive their agent and its server.
"""
import json
import os
import signal
import socket
import subprocess

import pytest

from test_agent import AgentRun, leftovers, pod, wait_for


@pytest.fixture
def agent(bb):
    a = AgentRun(bb)
    a.start()
    yield a
    for f in os.listdir(a.manifests):
        os.unlink(os.path.join(a.manifests, f))
    if a.proc is None:
        a.start()
    wait_for(lambda: not os.listdir(os.path.join(bb.root, "pods")), "all pods stopped")
    a.stop()
    assert not os.listdir(os.path.join(bb.runroot, "agent")), "pinned namespaces left"
    for name, uid in a.seen.items():
        assert leftovers(uid) == [], f"pod {name} left {leftovers(uid)}"
    assert not bb.mounts_under_root(), "mounts left"


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def argv(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if ppid(int(d)) == pid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def state(agent, name, cname):
    with open(os.path.join(agent.pod_dir(name), cname, "state.json")) as f:
        return json.load(f)


def attach(agent, name, cname):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(agent.pod_dir(name), cname, "attach.sock"))
    return s


def log_has(agent, name, cname, text, n=0):
    return wait_for(lambda: text in agent.log_text(name, cname, n) and agent.log_text(name, cname, n),
                    f"{text!r} in the log of {name}/{cname}")


def test_shim_hidden_and_not_by_hand(bb):
    assert "shim" not in bb.out("--help").split()
    p = bb.run("shim", check=False)
    assert p.returncode == 125 and "internal command of the node agent" in p.stderr


def test_shims_are_children_of_one_server(agent):
    agent.put("two", pod("two", [
        {"name": "a", "image": "bb:latest", "command": ["sleep", "3600"]},
        {"name": "b", "image": "bb:latest", "command": ["sleep", "3600"]}]))
    agent.wait_phase("two", "Running")
    shims = [state(agent, "two", c)["shim"] for c in ("a", "b")]
    servers = {ppid(s) for s in shims}
    assert len(servers) == 1 and len(set(shims)) == 2
    server = servers.pop()
    assert server != agent.proc.pid and ppid(server) == agent.proc.pid
    assert argv(server)[1:] == ["shim"]
    assert os.path.realpath(f"/proc/{server}/exe") == os.path.realpath(agent.b.cmd()[0])
    # each shim holds its container, in a session of its own
    for c, shim in zip(("a", "b"), shims):
        st = state(agent, "two", c)
        assert ppid(st["pid"]) == shim
        assert os.getsid(shim) == shim
    # only the server is the agent's shim child
    assert [p for p in children(agent.proc.pid) if argv(p)[1:] == ["shim"]] == [server]


def test_exit_file_and_restart_count(agent):
    agent.put("ex", pod("ex", [{"name": "c", "image": "bb:latest", "command": ["sh", "-c", "echo run; exit 3"]}],
                        restartPolicy="OnFailure"))
    c = wait_for(lambda: (agent.ctr("ex", "c") or {}).get("restartCount", 0) >= 1 and agent.ctr("ex", "c"),
                 "a restart")
    term = c["lastState"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"
    with open(os.path.join(agent.pod_dir("ex"), "c", "0.exit")) as f:
        ex = json.load(f)
    assert ex["exitCode"] == 3 and ex["signal"] == 0 and ex["oomKilled"] is False and ex["finishedAt"]
    assert "stdout F run" in agent.log_text("ex", "c", 0)


def test_oom_kill_is_reported(agent):
    agent.put("oom", pod("oom", [{"name": "c", "image": "bb:latest", "command": ["tail", "/dev/zero"],
                                  "resources": {"limits": {"memory": "16Mi"}}}], restartPolicy="Never"))
    st = agent.wait_phase("oom", "Failed")
    term = st["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137


def test_attach_writes_stdin(agent):
    agent.put("in", pod("in", [{"name": "c", "image": "bb:latest", "stdin": True,
                                "command": ["sh", "-c", "while read l; do echo got:$l; done; echo eof"]}]))
    agent.wait_phase("in", "Running")
    a = attach(agent, "in", "c")
    b = attach(agent, "in", "c")  # waits: one client at a time
    a.sendall(b"a1\n")
    b.sendall(b"b1\n")
    a.sendall(b"a2\n")
    text = log_has(agent, "in", "c", "got:a2")
    assert "got:a1" in text and "got:b1" not in text
    a.close()  # b is served once a left; stdin stays open (no stdinOnce)
    log_has(agent, "in", "c", "got:b1")
    b.close()
    c = attach(agent, "in", "c")
    c.sendall(b"c1\n")
    c.close()
    text = log_has(agent, "in", "c", "got:c1")
    assert "eof" not in text
    assert (agent.ctr("in", "c") or {}).get("state", {}).get("running")


def test_attach_stdin_once_closes_stdin(agent):
    agent.put("once", pod("once", [{"name": "c", "image": "bb:latest", "stdin": True, "stdinOnce": True,
                                    "command": ["sh", "-c", "cat; echo eof; exit 4"]}], restartPolicy="Never"))
    agent.wait_phase("once", "Running")
    a = attach(agent, "once", "c")
    a.sendall(b"hello\n")
    log_has(agent, "once", "c", "stdout F hello")
    a.close()
    st = agent.wait_phase("once", "Failed")
    assert st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 4
    text = agent.log_text("once", "c")
    assert text.index("hello") < text.index("eof")
    assert not os.path.exists(os.path.join(agent.pod_dir("once"), "c", "attach.sock"))


def test_no_attach_socket_without_stdin(agent):
    agent.put("plain", pod("plain", [{"name": "c", "image": "bb:latest",
                                      "command": ["sh", "-c", "read l; echo read-done; sleep 3600"]}]))
    agent.wait_phase("plain", "Running")
    assert not os.path.exists(os.path.join(agent.pod_dir("plain"), "c", "attach.sock"))
    # stdin is /dev/null: `read` sees EOF at once and the shell goes on
    log_has(agent, "plain", "c", "stdout F read-done")


def test_shims_outlive_agent_and_server(agent):
    agent.put("keep", pod("keep", [{"name": "c", "image": "bb:latest", "stdin": True,
                                    "command": ["sh", "-c", "read code; echo bye; exit $code"]}],
                          restartPolicy="Never"))
    agent.wait_phase("keep", "Running")
    st = state(agent, "keep", "c")
    shim, pid = st["shim"], st["pid"]
    server = ppid(shim)
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(timeout=30)
    agent.proc = None
    wait_for(lambda: not alive(server), "the server exits with its agent")
    assert alive(shim) and alive(pid)
    agent.start()
    # the old shim still serves stdin and writes the exit the new agent reads
    s = attach(agent, "keep", "c")
    s.sendall(b"7\n")
    s.close()
    done = agent.wait_phase("keep", "Failed")
    c = done["containerStatuses"][0]
    assert c["state"]["terminated"]["exitCode"] == 7 and c["restartCount"] == 0
    assert "stdout F bye" in agent.log_text("keep", "c")
    wait_for(lambda: not alive(shim), "the shim exits after its container")


def test_new_server_after_server_died(agent):
    agent.put("one", pod("one", [{"name": "c", "image": "bb:latest", "command": ["sleep", "3600"]}]))
    agent.wait_phase("one", "Running")
    first = state(agent, "one", "c")
    server = ppid(first["shim"])
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not alive(server), "server gone")
    assert alive(first["shim"]) and alive(first["pid"])
    agent.put("two", pod("two", [{"name": "c", "image": "bb:latest", "command": ["sleep", "3600"]}]))
    agent.wait_phase("two", "Running")
    again = ppid(state(agent, "two", "c")["shim"])
    assert again != server and ppid(again) == agent.proc.pid
    # the orphaned shim still reports its container's end
    os.kill(first["pid"], signal.SIGKILL)
    c = wait_for(lambda: (agent.ctr("one", "c") or {}).get("restartCount", 0) >= 1 and agent.ctr("one", "c"),
                 "restart after the kill")
    assert c["lastState"]["terminated"]["exitCode"] == 137
    assert os.path.exists(os.path.join(agent.pod_dir("one"), "c", "0.exit"))
