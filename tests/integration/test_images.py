"""Images: import, images, tag, rmi, history, save and load, and moving images
to and from podman and skopeo.

The podman fixture runs podman with a private configuration, storage and tmp
dir under the test's temp dir (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF), the
runc runtime (crun refuses this host's hybrid cgroups), and removes afterwards
everything podman made outside it: mounts, its libpod_parent cgroups and the
few paths it insists on (/var/lib/containers/cache, /run/runc) when they did
not exist before.
"""
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

ID_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def store_json(berth, digest):
    """A blob of berth's store (OCI layout) parsed as JSON."""
    with open(os.path.join(berth.root, "image", "blobs", "sha256", digest.split(":")[1])) as f:
        return json.load(f)


def image(berth, name):
    """The `images --format json` record of the image called name."""
    for img in berth.json("images", "--format", "json"):
        if name in img["Names"] or img["Id"] == name:
            return img
    raise AssertionError(f"image {name} not listed")


def config_of(berth, name):
    return store_json(berth, image(berth, name)["Id"])


def store_is_empty(berth):
    blobs = os.listdir(os.path.join(berth.root, "image", "blobs", "sha256"))
    layers = [d for d in os.listdir(os.path.join(berth.root, "layers")) if not d.startswith(".empty")]
    links = os.listdir(os.path.join(berth.root, "l"))
    return blobs == [] and layers == [] and links == []


def make_tar(path, members):
    """members: (name, data) for files, (name, None) for directories."""
    with tarfile.open(path, "w") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))


# ---- import / images / history ----

def test_import_prints_id_and_lists_like_docker(berth, busybox_tar):
    out = berth.out("import", busybox_tar, "bb:latest").strip()
    assert ID_RE.match(out), out
    lines = berth.out("images").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = lines[1].split()
    assert row[0] == "bb" and row[1] == "latest" and row[2] == out[7:19]
    assert lines[1].endswith("MB")
    assert berth.out("images", "-q").split() == [out[7:19]]
    img = image(berth, "docker.io/library/bb:latest")
    assert img["Id"] == out and img["Size"] > 1_000_000 and img["Layers"] == 1


def test_import_changes_and_stdin_gzip(berth, busybox_tar, tmp_path):
    gz = tmp_path / "bb.tar.gz"
    with open(busybox_tar, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with open(gz, "rb") as f:
        p = subprocess.run(berth.cmd("import", "-c", "ENV A=1 B='two words'", "--change", "WORKDIR /srv",
                                     "--change", "ENTRYPOINT echo hi", "--change", "EXPOSE 8080",
                                     "--change", "LABEL team=img", "--change", "USER app",
                                     "-", "localhost/changed:v1"),
                           stdin=f, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    cfg = config_of(berth, "localhost/changed:v1")
    c = cfg["config"]
    assert c["Env"] == ["A=1", "B=two words"]
    assert c["WorkingDir"] == "/srv"
    assert c["Entrypoint"] == ["/bin/sh", "-c", "echo hi"]
    assert c["ExposedPorts"] == {"8080/tcp": {}}
    assert c["Labels"] == {"team": "img"}
    assert c["User"] == "app"
    assert cfg["os"] == "linux" and cfg["rootfs"]["type"] == "layers"
    assert cfg["history"][0]["comment"] == "Imported from -"
    # the same tarball, compressed or not, gives the same layer (diff_id of the uncompressed tar)
    berth.run("import", busybox_tar, "localhost/plain")
    assert config_of(berth, "localhost/plain:latest")["rootfs"] == cfg["rootfs"]
    assert len(os.listdir(os.path.join(berth.root, "layers"))) == 1


def test_import_errors_are_one_clear_line(berth, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(3000))
    p = berth.run("import", junk, "x", check=False)
    assert p.returncode == 125
    assert p.stderr.startswith(f"berth: error: import '{junk}': ") and p.stderr.count("\n") == 1, p.stderr
    p = berth.run("import", tmp_path / "missing.tar", "x", check=False)
    assert p.returncode == 125
    assert p.stderr.strip() == f"berth: error: import '{tmp_path / 'missing.tar'}': No such file or directory"
    p = berth.run("import", "--change", "RUN rm -rf /", junk, "x", check=False)
    assert p.returncode == 125 and "RUN is not supported" in p.stderr
    p = berth.run("import", junk, "Bad:Name", check=False)
    assert p.returncode == 125
    assert "invalid reference format: 'Bad:Name'" in p.stderr
    assert store_is_empty(berth)


def test_import_hostile_tarball_writes_nothing_outside(berth, tmp_path):
    evil = tmp_path / "evil.tar"
    make_tar(evil, [("ok", b"fine"), ("../../../escaped", b"pwned")])
    p = berth.run("import", evil, "evil", check=False)
    assert p.returncode == 125
    assert "path escapes the archive root" in p.stderr
    assert not os.path.exists(os.path.join(berth.root, "escaped"))
    assert not os.path.exists(os.path.join(berth.base, "escaped"))
    assert not os.path.exists(os.path.join(os.path.dirname(berth.base), "escaped"))
    assert [d for d in os.listdir(os.path.join(berth.root, "layers")) if not d.startswith(".empty")] == []
    with tarfile.open(tmp_path / "sym.tar", "w") as t:
        ti = tarfile.TarInfo("etc")
        ti.type = tarfile.SYMTYPE
        ti.linkname = str(tmp_path)
        t.addfile(ti)
        ti = tarfile.TarInfo("etc/passwd")
        ti.size = 5
        t.addfile(ti, io.BytesIO(b"pwned"))
    p = berth.run("import", tmp_path / "sym.tar", "evil", check=False)
    assert p.returncode == 125 and "'etc/passwd': component 'etc' is a symlink" in p.stderr
    assert not (tmp_path / "passwd").exists()


def test_history(bb):
    lines = bb.out("history", "bb").splitlines()
    assert re.split(r"\s{3,}", lines[0]) == ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    assert len(lines) == 2
    assert lines[1].startswith(image(bb, "docker.io/library/bb:latest")["Id"][7:19])
    assert "Imported from" in lines[1] and "MB" in lines[1]
    hist = bb.json("history", "--format", "json", "bb")
    assert len(hist) == 1 and hist[0]["size"] > 1_000_000
    p = bb.run("history", "nope", check=False)
    assert p.returncode == 125 and p.stderr.strip() == "berth: error: image 'nope' not found"


# ---- tag / rmi / gc ----

def test_tag_and_rmi_untag_then_delete_and_gc(bb):
    img_id = image(bb, "docker.io/library/bb:latest")["Id"]
    bb.run("tag", "bb", "localhost/other:v1")
    bb.run("tag", img_id[7:19], "registry.example.com:5000/team/app:2")
    names = image(bb, img_id)["Names"]
    assert sorted(names) == ["docker.io/library/bb:latest", "localhost/other:v1",
                             "registry.example.com:5000/team/app:2"]
    rows = [line.split()[:2] for line in bb.out("images").splitlines()[1:]]
    assert ["registry.example.com:5000/team/app", "2"] in rows and ["bb", "latest"] in rows
    p = bb.run("rmi", img_id[7:19], check=False)
    assert p.returncode == 125 and "must be forced" in p.stderr
    assert bb.out("rmi", "localhost/other:v1").strip() == "Untagged: localhost/other:v1"
    assert bb.out("rmi", "registry.example.com:5000/team/app:2").strip() == \
        "Untagged: registry.example.com:5000/team/app:2"
    out = bb.out("rmi", "bb").splitlines()
    assert out == ["Untagged: bb:latest", f"Deleted: {img_id}"]
    assert bb.out("images", "-q") == ""
    assert store_is_empty(bb)


def test_rmi_refuses_image_in_use(bb):
    img_id = image(bb, "docker.io/library/bb:latest")["Id"]
    cdir = os.path.join(bb.root, "containers", "f" * 64)
    os.makedirs(cdir)
    with open(os.path.join(cdir, "config.json"), "w") as f:
        json.dump({"ID": "f" * 64, "ImageID": img_id}, f)
    p = bb.run("rmi", "bb", check=False)
    assert p.returncode == 125
    assert "in use by a container" in p.stderr and p.stderr.startswith("berth: error: conflict")
    assert bb.out("rmi", "-f", "bb").strip() == "Untagged: bb:latest"
    row = bb.out("images").splitlines()[1].split()
    assert row[:3] == ["<none>", "<none>", img_id[7:19]]
    assert len(os.listdir(os.path.join(bb.root, "layers"))) == 1  # its container keeps the layers
    shutil.rmtree(cdir)
    assert bb.out("rmi", img_id).strip() == f"Deleted: {img_id}"
    assert store_is_empty(bb)


def test_tag_moves_and_bad_names(bb, busybox_tar):
    old = image(bb, "docker.io/library/bb:latest")["Id"]
    new = bb.out("import", "--change", "CMD [\"/bin/true\"]", busybox_tar, "bb").strip()
    assert new != old
    ids = bb.out("images", "-q", "--no-trunc").split()
    assert ids == [new, old]  # newest first; the old one is now <none>
    p = bb.run("tag", "bb", "Bad:Name", check=False)
    assert p.returncode == 125
    assert p.stderr.strip() == ("berth: error: invalid reference format: 'Bad:Name': "
                                "repository name must be lowercase")
    p = bb.run("tag", "nope", "x", check=False)
    assert p.stderr.strip() == "berth: error: image 'nope' not found"


# ---- save / load ----

@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_load_round_trip(bb, tmp_path, fmt, busybox_tar):
    bb.run("tag", "bb", "localhost/bb:v2")
    img = image(bb, "docker.io/library/bb:latest")
    archive = tmp_path / "out.tar"
    bb.run("save", "--format", fmt, "-o", archive, "bb", "localhost/bb:v2")
    with tarfile.open(archive) as t:
        names = t.getnames()
    if fmt == "docker-archive":
        assert "manifest.json" in names and "repositories" in names
        assert f"{img['Id'][7:]}.json" in names
    else:
        assert "oci-layout" in names and "index.json" in names
        assert f"blobs/sha256/{img['Id'][7:]}" in names
    other = type(bb)(str(tmp_path / "other"))
    try:
        with open(archive, "rb") as f:
            data = f.read()
        p = subprocess.run(other.cmd("load"), input=gzip.compress(data), capture_output=True)
        assert p.returncode == 0, p.stderr
        assert sorted(p.stdout.decode().splitlines()) == ["Loaded image: bb:latest",
                                                          "Loaded image: localhost/bb:v2"]
        loaded = image(other, "docker.io/library/bb:latest")
        assert loaded["Id"] == img["Id"]  # the config travels byte for byte
        assert sorted(loaded["Names"]) == ["docker.io/library/bb:latest", "localhost/bb:v2"]
        assert store_json(other, loaded["Id"])["config"]["Cmd"] == ["/bin/sh"]
        # loading again is idempotent
        assert other.run("load", "-i", archive).returncode == 0
        assert len(other.json("images", "--format", "json")) == 1
    finally:
        other.cleanup()


def test_save_to_stdout_and_errors(bb, tmp_path):
    p = subprocess.run(bb.cmd("save", "bb"), capture_output=True)
    assert p.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        manifest = json.load(t.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["docker.io/library/bb:latest"]
    p = bb.run("save", "-o", tmp_path / "x.tar", "nope", check=False)
    assert p.returncode == 125 and "image 'nope' not found" in p.stderr
    assert not (tmp_path / "x.tar").exists() and os.listdir(tmp_path) == []
    p = bb.run("save", "--format", "zip", "-o", tmp_path / "x.tar", "bb", check=False)
    assert p.returncode == 125 and "--format" in p.stderr
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an archive at all" * 100)
    p = bb.run("load", "-i", junk, check=False)
    assert p.returncode == 125 and p.stderr.startswith(f"berth: error: load '{junk}': ")
    make_tar(tmp_path / "empty.tar", [("hello.txt", b"hi")])
    p = bb.run("load", "-i", tmp_path / "empty.tar", check=False)
    assert "not a docker-archive or oci-archive" in p.stderr


# ---- podman and skopeo ----

class Podman:
    def __init__(self, base):
        self.base = base
        os.makedirs(os.path.join(base, "tmp"))
        conf = os.path.join(base, "containers.conf")
        with open(conf, "w") as f:
            f.write(f"""[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "{base}/tmp"
volume_path = "{base}/volumes"
""")
        storage = os.path.join(base, "storage.conf")
        with open(storage, "w") as f:
            f.write(f"""[storage]
driver = "overlay"
graphroot = "{base}/root"
runroot = "{base}/run"
""")
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)

    def run(self, *args, check=True):
        p = subprocess.run(["podman", *map(str, args)], capture_output=True, text=True, env=self.env,
                           timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {args} exited {p.returncode}: {p.stderr}")
        return p


def cgroup_dirs():
    found = set()
    for ctrl in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", ctrl, "libpod_parent")
        for dirpath, _, _ in os.walk(top):
            found.add(dirpath)
    return found


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    for tool in ("podman", "skopeo", "runc"):
        assert shutil.which(tool), f"{tool} is missing: run tools/deps.sh --peers"
    base = str(tmp_path_factory.mktemp("podman"))
    leftovers = [p for p in ("/var/lib/containers", "/run/runc", "/run/libpod") if not os.path.exists(p)]
    cgroups_before = cgroup_dirs()
    pm = Podman(base)
    yield pm
    pm.run("rm", "-af", check=False)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(base)]
    for mp in reversed(mounts):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    for d in sorted(cgroup_dirs() - cgroups_before, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass
    for p in leftovers:
        shutil.rmtree(p, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)


def test_podman_runs_what_berth_saves(bb, podman, tmp_path):
    archive = tmp_path / "bb-docker.tar"
    bb.run("save", "-o", archive, "bb")
    p = podman.run("load", "-i", archive)
    assert "Loaded image: docker.io/library/bb:latest" in p.stdout
    img_id = image(bb, "docker.io/library/bb:latest")["Id"]
    assert podman.run("images", "--format", "{{.ID}}", "docker.io/library/bb").stdout.strip() == img_id[7:19]
    p = podman.run("run", "--rm", "--network", "none", "docker.io/library/bb:latest", "/bin/true", check=False)
    assert p.returncode == 0, p.stderr
    p = podman.run("run", "--rm", "--network", "none", "docker.io/library/bb:latest", "cat", "/etc/motd")
    assert p.stdout == "busybox test image\n"


def test_skopeo_reads_berth_oci_archive(bb, podman, tmp_path):
    archive = tmp_path / "bb-oci.tar"
    bb.run("save", "--format", "oci-archive", "-o", archive, "bb")
    p = subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}"], capture_output=True, text=True,
                       env=podman.env, timeout=60)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    img = image(bb, "docker.io/library/bb:latest")
    assert info["Digest"] == img["Digest"]
    assert info["Os"] == "linux" and len(info["Layers"]) == 1
    p = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{archive}"], capture_output=True,
                       text=True, env=podman.env, timeout=60)
    assert json.loads(p.stdout)["config"]["Cmd"] == ["/bin/sh"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_berth_loads_what_podman_saves(berth, podman, busybox_tar, tmp_path, fmt):
    name = f"localhost/pm-{fmt}:1"
    podman.run("import", "--change", 'CMD ["/bin/echo","hi"]', "--change", "ENV FOO=bar",
               busybox_tar, name)
    pid = podman.run("images", "--no-trunc", "--format", "{{.ID}}", name).stdout.strip()
    archive = tmp_path / "pm.tar"
    podman.run("save", "--format", fmt, "-o", archive, name)
    out = berth.out("load", "-i", archive)
    assert out.strip() == f"Loaded image: {name}"
    img = image(berth, name)
    assert img["Id"].split(":")[-1] == pid.split(":")[-1]
    cfg = store_json(berth, img["Id"])["config"]
    assert cfg["Cmd"] == ["/bin/echo", "hi"] and "FOO=bar" in cfg["Env"]
    rows = berth.out("images").splitlines()
    assert any(r.split()[:2] == [name.rsplit(":", 1)[0], "1"] for r in rows)
    hist = berth.json("history", "--format", "json", name)
    assert hist[0]["size"] > 1_000_000
