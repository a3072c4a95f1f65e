"""Containers driven through the real berth binary: lifecycle, isolation,
limits, logs, exec, commit/diff/export, errors and cleanup."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BERTH


def cgroup_exists(cid):
    return any(os.path.isdir(f"/sys/fs/cgroup/{c}/berth/{cid}")
               for c in ("memory", "pids", "cpu", "unified")) or os.path.isdir(f"/sys/fs/cgroup/berth/{cid}")


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_run_prints_output_and_returns_status(bb):
    p = bb.run("run", "--rm", "--network", "none", "bb", "sh", "-c", "echo hello; echo err >&2; exit 3",
               check=False)
    assert p.returncode == 3
    assert p.stdout == "hello\n"
    assert p.stderr == "err\n"
    assert bb.out("ps", "-aq") == ""  # --rm left no container


def test_isolation_namespaces_and_root(bb):
    out = bb.out("run", "--rm", "--network", "none", "--hostname", "box", "bb", "sh", "-c",
                 "echo pid=$$; hostname; ls /; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                 "readlink /proc/self/ns/mnt; ls /proc | grep -c '^[0-9]'")
    lines = out.splitlines()
    assert lines[0] == "pid=1"
    assert lines[1] == "box"
    assert "bin" in out and "etc" in out
    host_mnt = os.readlink("/proc/self/ns/mnt")
    assert host_mnt not in out
    # only the container's own processes are visible (sh + ls/grep pipeline)
    assert int(lines[-1]) <= 4


def test_security_defaults(bb):
    out = bb.out("run", "--rm", "--network", "none", "bb", "sh", "-c",
                 "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
                 "touch /sys/x 2>&1; cat /proc/kcore 2>&1 | head -c 20; echo; ls /dev")
    caps = int(re.search(r"CapEff:\s+([0-9a-f]+)", out).group(1), 16)
    assert caps == 0xa80425fb  # Docker's default set
    assert re.search(r"NoNewPrivs:\s+1", out)
    assert re.search(r"Seccomp:\s+2", out)
    assert "Read-only file system" in out
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm"):
        assert dev in out.split()


def test_privileged_gets_all_caps(bb):
    out = bb.out("run", "--rm", "--network", "none", "--privileged", "bb", "grep", "CapEff", "/proc/self/status")
    assert int(out.split()[1], 16) >= 0x1ffffffff


def test_cap_drop_and_add(bb):
    out = bb.out("run", "--rm", "--network", "none", "--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN", "bb",
                 "grep", "CapEff", "/proc/self/status")
    caps = int(out.split()[1], 16)
    assert not caps & (1 << 0)      # CAP_CHOWN dropped
    assert caps & (1 << 12)         # CAP_NET_ADMIN added


def test_user_from_image_passwd(bb):
    assert bb.out("run", "--rm", "--network", "none", "-u", "app", "bb", "id").strip() == \
        "uid=1000(app) gid=1000(app) groups=10(wheel)"
    assert bb.out("run", "--rm", "--network", "none", "-u", "1234:5", "bb", "id", "-u").strip() == "1234"
    p = bb.run("run", "--rm", "--network", "none", "-u", "ghost", "bb", "true", check=False)
    assert p.returncode != 0
    assert "ghost" in p.stderr


def test_env_workdir_and_env_file(bb, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# comment\nFROM_FILE=yes\n\nOTHER=2\n")
    out = bb.out("run", "--rm", "--network", "none", "-e", "A=1", "--env-file", str(envf), "-w", "/tmp/work",
                 "bb", "sh", "-c", "echo $A $FROM_FILE $OTHER; pwd; echo $PATH")
    assert out.splitlines() == ["1 yes 2", "/tmp/work",
                                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_memory_limit_oom_kill(bb):
    p = bb.run("run", "--name", "hog", "--network", "none", "-m", "16m", "--memory-swap", "16m", "bb", "sh", "-c",
               "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done", check=False, timeout=60)
    assert p.returncode == 137
    info = bb.json("inspect", "hog")[0]
    assert info["State"]["OOMKilled"] is True
    assert info["State"]["ExitCode"] == 137
    assert info["HostConfig"]["Memory"] == 16 * 1024 * 1024


def test_pids_limit(bb):
    out = bb.out("run", "--rm", "--network", "none", "--pids-limit", "5", "bb", "sh", "-c",
                 "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; echo done", check=False)
    assert "done" in out or "fork" in out.lower() or "Resource temporarily unavailable" in out


def test_cpus_limit_sets_quota(bb):
    cid = bb.out("run", "-d", "--network", "none", "--cpus", "0.5", "bb", "sleep", "30").strip()
    try:
        quota = open(f"/sys/fs/cgroup/cpu/berth/{cid}/cpu.cfs_quota_us").read().strip()
        period = open(f"/sys/fs/cgroup/cpu/berth/{cid}/cpu.cfs_period_us").read().strip()
        assert int(quota) * 2 == int(period)
    finally:
        bb.run("rm", "-f", cid)
    assert not cgroup_exists(cid)


def test_detached_lifecycle_ps_logs_stop_rm(bb):
    cid = bb.out("run", "-d", "--name", "web", "--network", "none", "bb", "sh", "-c",
                 "trap 'echo bye; exit 0' TERM; echo started; while true; do sleep 0.1; done").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert wait_for(lambda: "started" in bb.out("logs", "web"))
    ps = bb.out("ps")
    assert "web" in ps and "Up " in ps
    assert bb.out("ps", "-q").strip() == cid[:12]
    js = json.loads(bb.out("ps", "--format", "json"))
    assert js[0]["Names"] == ["web"] and js[0]["State"] == "running"
    assert bb.out("stop", "-t", "5", "web").strip() == "web"
    assert "bye" in bb.out("logs", "web")
    assert bb.out("ps", "-q") == ""
    assert "Exited (0)" in bb.out("ps", "-a")
    assert bb.out("wait", "web").strip() == "0"
    bb.run("rm", "web")
    assert bb.out("ps", "-aq") == ""
    assert not os.path.exists(os.path.join(bb.root, "containers", cid))
    assert not cgroup_exists(cid)


def test_logs_cri_format_tail_and_timestamps(bb):
    bb.run("run", "--name", "talk", "--network", "none", "bb", "sh", "-c",
           "echo one; echo two; echo three >&2; printf partial")
    raw = open(os.path.join(bb.root, "containers", bb.json("inspect", "talk")[0]["Id"], "ctr.log")).read()
    lines = raw.splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stdout F one$", lines[0])
    assert any(l.endswith("stderr F three") for l in lines)
    assert lines[-1].endswith("stdout P partial")
    p = bb.run("logs", "talk")
    assert p.stdout == "one\ntwo\npartial"
    assert p.stderr == "three\n"
    assert bb.out("logs", "--tail", "1", "talk") == "partial"
    ts = bb.out("logs", "-t", "--tail", "2", "talk")
    assert re.match(r"^\d{4}-\d\d-\d\dT", ts)


def test_logs_follow_ends_when_container_exits(bb):
    bb.run("run", "-d", "--name", "f", "--network", "none", "bb", "sh", "-c",
           "for i in 1 2 3; do echo line$i; sleep 0.2; done")
    p = bb.run("logs", "-f", "f", timeout=20)
    assert p.stdout == "line1\nline2\nline3\n"


def test_exec_joins_namespaces(bb):
    bb.run("run", "-d", "--name", "box", "--hostname", "insider", "--network", "none", "bb", "sleep", "60")
    out = bb.out("exec", "box", "sh", "-c", "hostname; ps -o pid,comm | grep -c sleep; echo $$")
    lines = out.split()
    assert lines[0] == "insider"
    assert lines[1] == "1"
    assert int(lines[2]) > 1
    assert bb.out("exec", "-e", "X=42", "-w", "/etc", "box", "sh", "-c", "echo $X; pwd").split() == ["42", "/etc"]
    assert bb.out("exec", "-u", "app", "box", "id", "-u").strip() == "1000"
    p = bb.run("exec", "box", "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7
    p = bb.run("exec", "box", "/nope", check=False)
    assert p.returncode == 127
    assert "/nope" in p.stderr
    assert re.match(r"^/dev/pts/\d+\s*$", bb.out("exec", "-t", "box", "tty"))  # the container's own devpts
    top = bb.out("top", "box")
    assert "sleep 60" in top
    stats = bb.out("stats", "--no-stream", "box")
    assert "box" in stats and "PIDS" in stats
    bb.run("rm", "-f", "box")


def test_exec_interactive_stdin(bb):
    bb.run("run", "-d", "--name", "cat", "--network", "none", "bb", "sleep", "60")
    p = bb.run("exec", "-i", "cat", "sh", "-c", "tr a-z A-Z", input="hello\n")
    assert p.stdout == "HELLO\n"


def test_run_interactive_stdin(bb):
    p = bb.run("run", "--rm", "-i", "--network", "none", "bb", "sh", "-c", "read x; echo got:$x", input="abc\n")
    assert p.stdout == "got:abc\n"


def test_tty_allocates_terminal(bb):
    out = bb.out("run", "--rm", "-t", "--network", "none", "bb", "sh", "-c", "tty; echo $TERM")
    assert "/dev/pts/" in out
    assert "xterm" in out


def test_commit_and_diff(bb):
    bb.run("run", "--name", "c1", "--network", "none", "bb", "sh", "-c",
           "mkdir -p /data && echo hi > /data/f && rm /etc/motd && echo x >> /etc/group")
    diff = bb.out("diff", "c1").splitlines()
    assert "A /data" in diff and "A /data/f" in diff
    assert "D /etc/motd" in diff
    assert "C /etc/group" in diff or "C /etc" in diff
    assert not any("hosts" in l or "resolv.conf" in l or "hostname" in l for l in diff)  # init layer never shows
    iid = bb.out("commit", "-m", "added data", "c1", "bb:committed").strip()
    assert iid.startswith("sha256:")
    out = bb.out("run", "--rm", "--network", "none", "bb:committed", "sh", "-c",
                 "cat /data/f; ls /etc/motd 2>&1; cat /etc/hosts | grep -c localhost")
    assert out.startswith("hi\n")
    assert "No such file" in out
    hist = bb.out("history", "bb:committed")
    assert "added data" in hist


def test_export_contains_changes(bb, tmp_path):
    bb.run("run", "--name", "ex", "--network", "none", "bb", "sh", "-c", "echo exported > /marker")
    out = tmp_path / "ex.tar"
    bb.run("export", "-o", str(out), "ex")
    names = subprocess.run(["tar", "tf", str(out)], capture_output=True, text=True, check=True).stdout.split()
    assert any(n.lstrip("./") == "marker" for n in names)
    assert any(n.lstrip("./") == "bin/busybox" for n in names)
    assert bb.mounts_under_root() == []


def test_volumes_tmpfs_readonly(bb, tmp_path):
    host = tmp_path / "vol"
    host.mkdir()
    (host / "in").write_text("from host")
    out = bb.out("run", "--rm", "--network", "none", "--read-only", "-v", f"{host}:/v", "-v", f"{host}:/ro:ro",
                 "--tmpfs", "/scratch", "bb", "sh", "-c",
                 "cat /v/in; echo out > /v/out; echo > /ro/x 2>&1 || echo ro-refused; "
                 "touch /rootfile 2>&1 || echo root-refused; echo t > /scratch/t && echo tmpfs-ok")
    assert "from host" in out
    assert "ro-refused" in out and "root-refused" in out and "tmpfs-ok" in out
    assert (host / "out").read_text() == "out\n"


def test_init_reaps_zombies(bb):
    out = bb.out("run", "--rm", "--init", "--network", "none", "bb", "sh", "-c",
                 "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$")
    lines = out.splitlines()
    assert lines[1] != "1"  # sh is not pid 1: the init is


def test_restart_on_failure(bb):
    bb.run("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "--network", "none", "bb", "sh", "-c",
           "echo run; exit 1")
    assert wait_for(lambda: bb.json("inspect", "flaky")[0]["RestartCount"] == 2 and
                    bb.json("inspect", "flaky")[0]["State"]["Status"] == "exited", timeout=20)
    assert bb.out("logs", "flaky").count("run") == 3


def test_start_created_container_and_attach(bb):
    cid = bb.out("create", "--name", "later", "--network", "none", "bb", "echo", "hi").strip()
    assert "Created" in bb.out("ps", "-a")
    p = bb.run("start", "-a", "later")
    assert p.stdout == "hi\n"
    assert bb.json("inspect", cid)[0]["State"]["ExitCode"] == 0


def test_errors_are_one_clear_line_with_docker_codes(bb):
    p = bb.run("run", "--rm", "--network", "none", "nope:latest", "true", check=False)
    assert p.returncode == 125 and "nope" in p.stderr and p.stderr.count("\n") == 1
    p = bb.run("run", "--rm", "--network", "none", "bb", "/no/such/cmd", check=False)
    assert p.returncode == 127 and "/no/such/cmd" in p.stderr
    p = bb.run("run", "--rm", "--network", "none", "bb", "/etc/passwd", check=False)
    assert p.returncode == 126
    p = bb.run("run", "--rm", "-m", "12q", "bb", "true", check=False)
    assert p.returncode == 125 and "12q" in p.stderr
    p = bb.run("run", "--rm", "-p", "99999:80", "bb", "true", check=False)
    assert p.returncode == 125 and "99999" in p.stderr
    bb.run("create", "--name", "dup", "bb", "true")
    p = bb.run("create", "--name", "dup", "bb", "true", check=False)
    assert p.returncode == 125 and "already in use" in p.stderr
    p = bb.run("rm", "ghost", check=False)
    assert p.returncode != 0 and "no such container: ghost" in p.stderr
    # nothing was left by the failures: only "dup" exists
    assert len(bb.out("ps", "-aq").split()) == 1
    assert bb.mounts_under_root() == []


def test_rm_running_needs_force(bb):
    cid = bb.out("run", "-d", "--network", "none", "bb", "sleep", "60").strip()
    p = bb.run("rm", cid, check=False)
    assert p.returncode != 0 and "running" in p.stderr
    pid = bb.json("inspect", cid)[0]["State"]["Pid"]
    bb.run("rm", "-f", cid)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not cgroup_exists(cid)


def test_kill_with_signal(bb):
    bb.run("run", "-d", "--name", "k", "--network", "none", "bb", "sh", "-c",
           "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    bb.run("kill", "-s", "USR1", "k")
    assert bb.out("wait", "k").strip() == "42"


def test_supervisor_keeps_container_after_cli_exits(bb):
    cid = bb.out("run", "-d", "--network", "none", "bb", "sleep", "60").strip()
    st = bb.json("inspect", cid)[0]["State"]
    assert st["Running"] and st["Pid"] > 0
    sup = json.load(open(os.path.join(bb.root, "containers", cid, "state.json")))["SupervisorPid"]
    rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{sup}/status").read()).group(1))
    assert rss > 0
    bb.run("rm", "-f", cid)


def host_veths():
    """The host ends of the veths on the default network's bridge (pods that
    the node tests run at the same time have veths on their own bridges)."""
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth", "master", "berth0"], capture_output=True,
                         text=True).stdout
    return {l.split(":")[1].strip().split("@")[0] for l in out.splitlines() if l.strip()}


def iptables_rules_mentioning(cid):
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if cid in l]


def test_bridge_network_publish_and_cleanup(bb):
    import urllib.request
    before = host_veths()
    cid = bb.out("run", "-d", "--name", "web", "-p", "127.0.0.1:18090:80", "bb", "sh", "-c",
                 "echo hello-web > /var/www/index.html; exec httpd -f -p 80 -h /var/www").strip()
    info = bb.json("inspect", "web")[0]
    ip = info["NetworkSettings"]["IPAddress"]
    assert ip.startswith("10.89.")
    body = None
    for _ in range(50):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:18090/", timeout=2).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    assert body == "hello-web\n"
    assert "127.0.0.1:18090->80/tcp" in bb.out("ps")
    hosts = bb.out("exec", "web", "cat", "/etc/hosts")
    assert f"{ip}\t{cid[:12]}" in hosts
    assert len(host_veths() - before) == 1
    bb.run("rm", "-f", "web")
    assert host_veths() == before
    assert iptables_rules_mentioning(cid) == []
    assert not os.path.exists(f"/var/lib/cni/networks/berth/{ip}")


def test_network_none_has_only_loopback(bb):
    out = bb.out("run", "--rm", "--network", "none", "bb", "sh", "-c", "ip -o link show | cut -d: -f2; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok")
    names = [l.strip() for l in out.splitlines() if l.strip() and l.strip() != "lo-ok"]
    assert names == ["lo"]
    assert "lo-ok" in out


def test_network_host_sees_host_interfaces(bb):
    def names(text):
        return {l.split(":")[0].strip() for l in text.splitlines()[2:]}
    # interfaces may come and go meanwhile (pods of other tests): the
    # container sees those present throughout and nothing else
    before = names(open("/proc/net/dev").read())
    seen = names(bb.out("run", "--rm", "--network", "host", "bb", "cat", "/proc/net/dev"))
    after = names(open("/proc/net/dev").read())
    assert before & after <= seen <= before | after
    assert "lo" in seen and len(seen) > 1


def test_failed_start_with_rm_leaves_nothing(bb):
    before = host_veths()
    p = bb.run("run", "--rm", "bb", "/no/such/binary", check=False)
    assert p.returncode == 127
    assert bb.out("ps", "-aq") == ""
    assert host_veths() == before
    assert os.listdir(os.path.join(bb.root, "containers")) in ([], [".lock"])
