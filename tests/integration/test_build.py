"""berth build: Dockerfiles built into images of the store, run by berth and
by podman, read by skopeo.  Each test has its own root (the `bb` fixture
holds the busybox image as bb:latest)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from test_images import podman  # noqa: F401  (the shared podman fixture: private store, full cleanup)


def ctx(tmp_path, dockerfile, files=None):
    d = tmp_path / "ctx"
    d.mkdir(exist_ok=True)
    (d / "Dockerfile").write_text(dockerfile)
    for name, content in (files or {}).items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return d


def build(b, d, *args, check=True):
    return b.run("build", *args, d, check=check, timeout=120)


def config(b, name):
    return b.json("inspect", name)[0]["Config"]


def run_out(b, *args):
    return b.out("run", "--rm", "--network", "none", *args)


def image_ids(b):
    return sorted(b.out("images", "-q", "--no-trunc").split())


def test_build_log_run_copy_env_workdir_entrypoint(bb, tmp_path):
    d = ctx(tmp_path, "FROM bb\nRUN echo hi > /x\nCOPY data.txt /data/\nENV GREETING=hello N=1\n"
            "WORKDIR /data\nENTRYPOINT [\"/bin/sh\", \"-c\", \"cat /x; cat data.txt; echo $GREETING\"]\n",
            {"data.txt": "payload\n"})
    p = build(bb, d, "-t", "demo:1")
    lines = p.stdout.splitlines()
    assert lines[0] == "Step 1/6 : FROM bb"
    assert "Step 6/6 : ENTRYPOINT [\"/bin/sh\", \"-c\", \"cat /x; cat data.txt; echo $GREETING\"]" in lines
    assert any(re.fullmatch(r" ---> Running in [0-9a-f]{12}", l) for l in lines)
    m = re.search(r"^Successfully built ([0-9a-f]{12})$", p.stdout, re.M)
    assert m and lines[-1] == "Successfully tagged demo:1"
    assert bb.json("inspect", "demo:1")[0]["Id"][7:19] == m.group(1)
    assert run_out(bb, "demo:1") == "hi\npayload\nhello\n"
    cfg = config(bb, "demo:1")
    assert cfg["WorkingDir"] == "/data" and "GREETING=hello" in cfg["Env"] and cfg["Cmd"] is None
    hist = bb.json("inspect", "demo:1")[0]
    assert len(hist["RootFS"]["Layers"]) == 3  # busybox + RUN + COPY


def test_cache_hit_then_invalidation_and_no_cache(bb, tmp_path):
    d = ctx(tmp_path, "FROM bb\nRUN echo one > /one\nCOPY f.txt /f.txt\nRUN cat /f.txt > /g\n",
            {"f.txt": "v1\n"})
    first = build(bb, d, "-t", "c:1").stdout
    again = build(bb, d, "-t", "c:1").stdout
    assert again.count(" ---> Using cache") == 3 and "Running in" not in again
    assert first.splitlines()[-2] == again.splitlines()[-2]  # same image id
    os.utime(d / "f.txt", (1, 1))  # mtime alone does not invalidate
    assert build(bb, d).stdout.count(" ---> Using cache") == 3
    (d / "f.txt").write_text("v2\n")
    changed = build(bb, d, "-t", "c:2").stdout
    assert changed.count(" ---> Using cache") == 1  # only the first RUN
    assert run_out(bb, "c:2", "cat", "/g") == "v2\n"
    nc = build(bb, d, "--no-cache").stdout
    assert "Using cache" not in nc and nc.count("Running in") == 2


def test_multistage_target_copy_from_and_arg_scoping(bb, tmp_path):
    df = ("ARG BASE=bb\nARG VERSION=1\n"
          "FROM $BASE AS builder\nARG VERSION\nARG ONLY_HERE=x\n"
          "RUN echo built-$VERSION-$ONLY_HERE > /artifact\n"
          "FROM bb AS unused\nRUN exit 1\n"
          "FROM ${BASE} AS final\nRUN echo \"[$VERSION][$ONLY_HERE]\" > /scope\n"
          "COPY --from=builder /artifact /out/artifact\nCMD [\"cat\", \"/out/artifact\"]\n")
    d = ctx(tmp_path, df)
    p = build(bb, d, "--build-arg", "VERSION=7", "-t", "ms:1")
    assert "RUN exit 1" not in p.stdout  # the unused stage is not built
    assert run_out(bb, "ms:1") == "built-7-x\n"
    assert run_out(bb, "ms:1", "cat", "/scope") == "[][]\n"  # ARGs do not cross stages
    p = build(bb, d, "--target", "builder", "-t", "ms:builder")
    assert "COPY --from" not in p.stdout
    assert run_out(bb, "ms:builder", "cat", "/artifact") == "built-1-x\n"
    p = build(bb, d, "--target", "nope", check=False)
    assert p.returncode == 125 and "target stage \"nope\" could not be found" in p.stderr


def test_user_workdir_env_seen_by_run_and_build_args(bb, tmp_path):
    df = ("FROM bb\nARG WHO\nENV E1=first\nWORKDIR /srv\nWORKDIR sub\nUSER 1234:5678\n"
          "RUN echo \"$(id -u):$(id -g) $(pwd) $E1 $WHO\" > /tmp/seen\n"
          "USER root\nRUN cp /tmp/seen /seen\n")
    d = ctx(tmp_path, df)
    build(bb, d, "--build-arg", "WHO=arg-value", "-t", "u:1")
    assert run_out(bb, "u:1", "cat", "/seen") == "1234:5678 /srv/sub first arg-value\n"
    hist = bb.out("history", "--no-trunc", "u:1")
    assert "|1 WHO=arg-value" in hist


def test_metadata_instructions_in_config(bb, tmp_path):
    df = ("FROM bb\nLABEL a=1 \"b c\"=\"d e\"\nEXPOSE 80 53/udp\nVOLUME [\"/vol\"]\nSTOPSIGNAL SIGTERM\n"
          "HEALTHCHECK --interval=5s --retries=2 CMD true\nSHELL [\"/bin/sh\", \"-ec\"]\nCMD echo x\n"
          "ONBUILD RUN echo triggered > /trig\n")
    d = ctx(tmp_path, df)
    build(bb, d, "--label", "from=cli", "-t", "meta:1")
    cfg = config(bb, "meta:1")
    assert cfg["Labels"] == {"a": "1", "b c": "d e", "from": "cli"}
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "53/udp"} and "/vol" in cfg["Volumes"]
    assert cfg["StopSignal"] == "SIGTERM" and cfg["Cmd"] == ["/bin/sh", "-ec", "echo x"]
    assert cfg["Healthcheck"]["Test"] == ["CMD-SHELL", "true"] and cfg["Healthcheck"]["Interval"] == 5 * 10**9
    assert cfg["OnBuild"] == ["RUN echo triggered > /trig"]
    d2 = tmp_path / "child"
    d2.mkdir()
    (d2 / "Dockerfile").write_text("FROM meta:1\n")
    p = build(bb, d2, "-t", "child:1")
    assert "# Executing 1 build trigger" in p.stdout
    assert run_out(bb, "child:1", "cat", "/trig") == "triggered\n"
    assert not config(bb, "child:1").get("OnBuild")


def test_copy_rules_dockerignore_chown_chmod_add_tar_heredoc(bb, tmp_path):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"from the tar\n"
        info = tarfile.TarInfo("inner/file")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    files = {"src/a.txt": "a\n", "src/sub/b.txt": "b\n", "src/skip.log": "no\n", "keep.log": "yes\n",
             "x1.md": "1\n", "x2.md": "2\n", "arch.tgz": buf.getvalue(),
             ".dockerignore": "**/*.log\n!keep.log\n"}
    df = ("FROM bb\nCOPY src /dst/\nCOPY keep.log x*.md /many/\nCOPY --chown=12:34 --chmod=600 src/a.txt /own\n"
          "ADD arch.tgz /unpacked/\nENV WHO=world\nCOPY <<EOF /here.txt\nhello $WHO\nEOF\n"
          "RUN ls -R /dst /many /unpacked > /listing && stat -c '%u:%g %a' /own >> /listing\n")
    d = ctx(tmp_path, df, files)
    build(bb, d, "-t", "cp:1")
    listing = run_out(bb, "cp:1", "cat", "/listing")
    assert "a.txt" in listing and "sub" in listing and "skip.log" not in listing
    assert "keep.log" in listing and "x1.md" in listing and "x2.md" in listing
    assert "12:34 600" in listing
    assert run_out(bb, "cp:1", "cat", "/unpacked/inner/file") == "from the tar\n"
    assert run_out(bb, "cp:1", "cat", "/here.txt") == "hello world\n"


def test_failing_run_names_step_and_tags_nothing(bb, tmp_path):
    before = image_ids(bb)
    d = ctx(tmp_path, "FROM bb\nRUN echo partial > /p\nRUN echo out; exit 3\nCMD x\n")
    p = build(bb, d, "-t", "bad:1", check=False)
    assert p.returncode == 125
    assert "out\n" in p.stdout and "Step 3/4 : RUN echo out; exit 3" in p.stdout
    assert p.stderr.strip() == ("berth: error: Dockerfile:3: RUN: the command '/bin/sh -c echo out; exit 3' "
                                "returned a non-zero code: 3")
    assert bb.run("inspect", "bad:1", check=False).returncode != 0
    assert not os.listdir(os.path.join(bb.root, "build-tmp"))  # the partial layer is gone
    # the step before the failure is an untagged cache image, nothing else was added
    assert len(image_ids(bb)) == len(before) + 1


@pytest.mark.parametrize("dockerfile,files,message", [
    ("FROM bb\n\nCOPPY a b\n", {}, "Dockerfile:3: unknown instruction: COPPY"),
    ("FROM bb\nCMD [\"a\",\n", {}, "Dockerfile:2: cmd: malformed exec form"),
    ("FROM bb\nCOPY ../x /x\n", {}, "Dockerfile:2: COPY: source '../x' is outside the build context"),
    ("FROM bb\nCOPY link /x\n", {}, "Dockerfile:2: COPY: source 'link' leads outside the build context"),
    ("FROM bb\nCOPY missing /x\n", {}, "Dockerfile:2: COPY: source 'missing': file not found"),
    ("FROM bb\nCOPY --from=nostage /a /b\n", {}, "Dockerfile:2: copy --from=nostage: no such stage"),
    ("FROM bb AS a\nCOPY --from=b /x /x\nFROM bb AS b\nCOPY --from=a /x /x\n", {},
     "circular dependency between build stages"),
    ("FROM nosuchimage\n", {}, "Dockerfile:1: FROM nosuchimage: image not found locally"),
    ("FROM bb\nRUN --mount=type=cache true\n", {}, "Dockerfile:2: run: unknown flag: --mount"),
])
def test_bad_input_errors_name_the_line(bb, tmp_path, dockerfile, files, message):
    d = ctx(tmp_path, dockerfile, files)
    if "link" in dockerfile:
        os.symlink("/etc/passwd", d / "link")
    before = image_ids(bb)
    p = build(bb, d, "-t", "never:1", check=False)
    assert p.returncode == 125 and p.stderr.startswith("berth: error: "), p.stderr
    assert message in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert image_ids(bb) == before


def test_reproducible_with_timestamp(bb, tmp_path):
    d = ctx(tmp_path, "FROM bb\nRUN echo r > /r && mkdir /made\nCOPY f /f\nENV X=1\n", {"f": "content\n"})
    a = build(bb, d, "--no-cache", "--timestamp", "1700000000", "-q").stdout.strip()
    b = build(bb, d, "--no-cache", "--timestamp", "1700000000", "-q").stdout.strip()
    assert a == b and a.startswith("sha256:")
    c = build(bb, d, "--no-cache", "-q").stdout.strip()
    assert c != a
    cfg = bb.json("inspect", a)[0]
    assert cfg["Created"].startswith("2023-11-14T22:13:20")


def test_zstd_and_stdin_dockerfile_and_iidfile(bb, tmp_path):
    d = ctx(tmp_path, "FROM bb\nRUN echo z > /z\n")
    iid = tmp_path / "iid"
    build(bb, d, "--compression", "zstd", "--iidfile", iid, "-t", "z:1")
    assert run_out(bb, "z:1", "cat", "/z") == "z\n"
    assert iid.read_text() == bb.json("inspect", "z:1")[0]["Id"]
    p = bb.run("build", "-q", "-", input="FROM bb\nENV FROM_STDIN=1\n")
    assert "FROM_STDIN=1" in config(bb, p.stdout.strip())["Env"]


def test_help_and_usage(berth):
    p = berth.run("build", "--help")
    assert p.stdout.startswith("Usage: berth build")
    p = berth.run("build", check=False)
    assert p.returncode == 125 and "berth: error:" in p.stderr


def test_podman_runs_and_skopeo_inspects_built_image(bb, podman, tmp_path):
    d = ctx(tmp_path, "FROM bb\nRUN echo built > /b\nCOPY f /f\nENV K=v\nCMD [\"cat\", \"/b\", \"/f\"]\n",
            {"f": "file\n"})
    build(bb, d, "-t", "localhost/built:1")
    archive = tmp_path / "built.tar"
    bb.run("save", "-o", archive, "localhost/built:1")
    p = podman.run("load", "-i", archive)
    assert "localhost/built:1" in p.stdout
    p = podman.run("run", "--rm", "--network", "none", "localhost/built:1")
    assert p.stdout == "built\nfile\n"
    oci = tmp_path / "built-oci.tar"
    bb.run("save", "--format", "oci-archive", "-o", oci, "localhost/built:1")
    p = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{oci}"], capture_output=True, text=True,
                       env=podman.env, timeout=60)
    assert p.returncode == 0, p.stderr
    cfg = json.loads(p.stdout)
    assert cfg["config"]["Env"][-1] == "K=v" and len(cfg["rootfs"]["diff_ids"]) == 3
    created = [h.get("created_by", "") for h in cfg["history"]]
    assert created[-4].startswith("RUN /bin/sh -c echo built") and created[-3] == "COPY f /f"
    assert cfg["history"][-1].get("empty_layer") is True


def test_intermediate_images_hidden_unless_all(bb, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM bb\nRUN echo hi > /x\nENV A=1\nCMD [\"cat\", \"/x\"]\n")
    bb.run("build", "-t", "layered:1", str(tmp_path))
    plain = bb.out("images")
    assert "layered" in plain and "<none>" not in plain
    everything = bb.out("images", "-a")
    untagged = lambda out: [l for l in out.splitlines() if l.startswith("<none>")]
    assert len(untagged(everything)) == 2  # the RUN and ENV steps
    bb.run("tag", "layered:1", "layered:2")
    bb.run("rmi", "layered:1", "layered:2")
    # the final image lost its names and has no child: dangling, shown as <none>
    assert len(untagged(bb.out("images"))) == 1


def _tree(path):
    """name -> (type, mode, uid, gid, size, link target, content digest) of a tar."""
    import hashlib
    import tarfile
    out = {}
    with tarfile.open(path) as tf:
        for m in tf:
            name = m.name.lstrip("./").rstrip("/")
            if not name:
                continue
            digest = hashlib.sha256(tf.extractfile(m).read()).hexdigest() if m.isfile() else ""
            out[name] = (m.type, m.mode, m.uid, m.gid, m.size if m.isfile() else 0, m.linkname, digest)
    return out


def test_same_filesystem_as_buildah(bb, tmp_path):
    """The same Dockerfile built by buildah and by berth gives the same tree."""
    import shutil
    ctx = tmp_path / "ctx"
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "dir" / "sub" / "a").write_text("a\n")
    (ctx / "blob").write_bytes(os.urandom(300000))
    (ctx / "Dockerfile").write_text(
        "FROM docker.io/library/bb:latest\n"
        "RUN mkdir -p /opt/x && echo hi > /opt/x/f && ln -s /opt/x/f /opt/link && rm /etc/motd && chmod 700 /opt/x\n"
        "COPY blob /data/blob\n"
        "COPY dir /data/dir/\n"
        "WORKDIR /srv/app\n"
        "ENV A=1\n"
        "RUN echo $A > env.txt\n")
    bbtar = tmp_path / "bb.tar"
    bb.run("save", "-o", bbtar, "bb")
    hroot = os.path.join(bb.base, "buildah")  # under the fixture's base: leftover mounts fail the test
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    bh = ["buildah", "--root", hroot + "/root", "--runroot", hroot + "/run", "--storage-driver", "overlay"]
    try:
        subprocess.run(bh + ["pull", "-q", f"docker-archive:{bbtar}"], check=True, env=env, capture_output=True)
        subprocess.run(bh + ["bud", "-q", "--isolation", "chroot", "--layers", "-t", "docker.io/library/out:h", str(ctx)],
                       check=True, env=env, capture_output=True)
        htar = tmp_path / "h.tar"
        subprocess.run(bh + ["push", "-q", "docker.io/library/out:h", f"docker-archive:{htar}:docker.io/library/out:h"],
                       check=True, env=env, capture_output=True)
    finally:
        subprocess.run(bh + ["rm", "-a"], env=env, capture_output=True)
        subprocess.run(bh + ["rmi", "-a", "-f"], env=env, capture_output=True)
        with open("/proc/self/mountinfo") as f:
            for mp in reversed([l.split()[4] for l in f if l.split()[4].startswith(hroot)]):
                subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(hroot, ignore_errors=True)
    bb.run("load", "-i", htar)
    bb.run("build", "-q", "-t", "out:b", str(ctx))
    trees = {}
    for tag in ("h", "b"):
        cid = bb.out("create", f"out:{tag}", "true").strip()
        exp = tmp_path / f"exp-{tag}.tar"
        bb.run("export", "-o", exp, cid)
        trees[tag] = _tree(exp)
    # the init layer's files hold each container's own name and addresses;
    # buildah's chroot isolation leaves /run behind as an empty mount point
    for t in trees.values():
        for name in ("etc/hostname", "etc/hosts", "etc/resolv.conf"):
            t.pop(name, None)
    if trees["h"].get("run", (None,))[0] == b"5" and "run" not in trees["b"]:
        del trees["h"]["run"]
    assert "srv/app/env.txt" in trees["b"] and "data/dir/sub/a" in trees["b"]
    diff = {k: (trees["h"].get(k), trees["b"].get(k)) for k in set(trees["h"]) | set(trees["b"])
            if trees["h"].get(k) != trees["b"].get(k)}
    assert diff == {}


def test_tty_progress_view(bb, tmp_path):
    """On a terminal: one line per step that ends in DONE/CACHED, RUN output
    shown while it runs and erased after; the plain log's lines are not shown."""
    (tmp_path / "Dockerfile").write_text("FROM bb\nRUN echo visible-while-running\nENV X=1\n")
    cmd = " ".join(bb.cmd("build", "-t", "tty:1", str(tmp_path)))
    for expect in ("DONE", "CACHED"):
        log = tmp_path / "typescript"
        subprocess.run(["script", "-qec", cmd, str(log)], check=True, capture_output=True, timeout=60)
        text = log.read_text()
        assert "[2/3] RUN echo visible-while-running  " + expect in text
        assert "\x1b[2m  visible-while-running" in text or expect == "CACHED"
        assert "\x1b[1F\x1b[2K" in text  # lines were rewritten in place
        assert "Running in" not in text and "Step 2/3" not in text
        assert "Successfully tagged tty:1" in text
    # not a terminal: the plain docker-style log
    out = bb.out("build", "-t", "tty:1", str(tmp_path))
    assert "Step 2/3 : RUN echo visible-while-running" in out and "---> Using cache" in out


def test_from_an_image_only_a_registry_has(bb, tmp_path):
    """FROM host:port/repo:tag that is not in the store: pulled through the
    registry client with the credentials of config.json (basic auth here),
    then built on."""
    import tempfile
    from conftest import Berth
    from test_registry import Registry, make_users
    work = tempfile.mkdtemp(prefix="berth-from-")
    users = make_users(work, ("bu", "bu-pass"))
    reg = Registry(work, "--auth", "basic", "--users", users)
    b2 = Berth(tempfile.mkdtemp(prefix="berth-it-"))
    try:
        env = dict(os.environ, DOCKER_CONFIG=os.path.join(work, "docker"))
        env.pop("REGISTRY_AUTH_FILE", None)
        base = f"{reg.host}/base/bb:1"
        bb.run("tag", "bb", base)
        bb.run("login", "-u", "bu", "--password-stdin", reg.host, input="bu-pass\n", env=env)
        bb.run("push", base, env=env)
        d = ctx(tmp_path, f"FROM {base}\nRUN echo built-on-pulled > /made\nCMD [\"cat\", \"/made\"]\n")
        # a store without the base image and without credentials: the pull is refused
        p = b2.run("build", "-t", "onpulled:1", d, check=False, timeout=120,
                   env=dict(os.environ, DOCKER_CONFIG=os.path.join(work, "nobody")))
        assert p.returncode != 0 and "unauthorized" in (p.stdout + p.stderr).lower(), p.stderr
        assert b2.run("inspect", base, check=False).returncode != 0
        # with the credentials berth login stored: pulled, then built
        p = b2.run("build", "-t", "onpulled:1", d, timeout=120, env=env)
        assert f"Step 1/3 : FROM {base}" in p.stdout
        assert "Pull complete" in p.stdout and "Digest: sha256:" in p.stdout
        assert b2.json("inspect", base)[0]["Id"] == bb.json("inspect", base)[0]["Id"]
        assert run_out(b2, "onpulled:1") == "built-on-pulled\n"
        # the second build finds the base locally: no pull
        p = b2.run("build", "-t", "onpulled:2", d, timeout=120, env=env)
        assert "Pull complete" not in p.stdout and " ---> Using cache" in p.stdout
    finally:
        reg.stop()
        assert not b2.cleanup()
        shutil.rmtree(work, ignore_errors=True)
