"""Chart repositories over HTTP through the real binary: a `chart repo index`ed
directory served by python3 -m http.server on 127.0.0.1 (a free port), then
`chart repo add|list|update|remove`, `search repo`, `pull` (archive and
--untar) and `dependency update` of an http:// dependency, with Helm's files
(repositories.yaml, NAME-index.yaml) and texts.  Each test has its own
HELM_CONFIG_HOME / HELM_CACHE_HOME; the server is killed by PID.
"""
import hashlib
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request

import pytest
import yaml

from conftest import BERTH


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.env = dict(os.environ)
        self.env["HELM_CONFIG_HOME"] = str(tmp / "config")
        self.env["HELM_CACHE_HOME"] = str(tmp / "cache")
        self.env.pop("HELM_REPOSITORY_CONFIG", None)
        self.env.pop("HELM_REPOSITORY_CACHE", None)

    def run(self, *args, ok=True, cwd=None):
        r = subprocess.run([BERTH, "chart"] + [str(a) for a in args], cwd=cwd or self.tmp, env=self.env,
                           capture_output=True, text=True, timeout=120)
        if ok:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r


def make_chart(e, name, version, description=None, keywords=None):
    d = e.tmp / "src" / name
    if d.exists():
        import shutil
        shutil.rmtree(d)
    (e.tmp / "src").mkdir(exist_ok=True)
    e.run("create", name, cwd=e.tmp / "src")
    meta = yaml.safe_load((d / "Chart.yaml").read_text())
    meta["version"] = version
    if description:
        meta["description"] = description
    if keywords:
        meta["keywords"] = keywords
    (d / "Chart.yaml").write_text(yaml.safe_dump(meta))
    return d


@pytest.fixture
def repo(tmp_path):
    e = Env(tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    e.run("package", make_chart(e, "alpha", "0.1.0"), "-d", served)
    e.run("package", make_chart(e, "alpha", "0.2.0",
                                description="Second alpha, with a description longer than fifty characters"),
          "-d", served)
    e.run("package", make_chart(e, "alpha", "0.3.0-rc.1"), "-d", served)
    e.run("package", make_chart(e, "beta", "1.0.0", description="Beta chart", keywords=["database", "cache"]),
          "-d", served)
    e.run("repo", "index", served)
    port = free_port()
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=served,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/index.yaml", timeout=5).read()
            break
        except OSError:
            assert time.time() < deadline, "http.server did not come up"
            time.sleep(0.1)
    e.url = url
    e.served = served
    yield e
    srv.kill()
    srv.wait()


def test_repo_add_list_update_remove(repo):
    r = repo.run("repo", "add", "myrepo", repo.url)
    assert r.stdout == '"myrepo" has been added to your repositories\n'
    cfg = yaml.safe_load((repo.tmp / "config" / "repositories.yaml").read_text())
    assert [(x["name"], x["url"]) for x in cfg["repositories"]] == [("myrepo", repo.url)]
    assert oct((repo.tmp / "config" / "repositories.yaml").stat().st_mode & 0o777) == "0o600"
    cache = repo.tmp / "cache" / "repository"
    assert (cache / "myrepo-index.yaml").read_bytes() == (repo.served / "index.yaml").read_bytes()
    assert sorted((cache / "myrepo-charts.txt").read_text().split("\n")) == ["alpha", "beta"]
    # same again: skipped; same name, other URL: refused
    r = repo.run("repo", "add", "myrepo", repo.url)
    assert r.stdout == '"myrepo" already exists with the same configuration, skipping\n'
    r = repo.run("repo", "add", "myrepo", repo.url + "/other", ok=False)
    assert r.returncode == 1
    assert r.stderr == "Error: repository name (myrepo) already exists, please specify a different name\n"
    r = repo.run("repo", "add", "bad", repo.url + "/nope", ok=False)
    assert r.stderr.startswith(f'Error: looks like "{repo.url}/nope" is not a valid chart repository or cannot be '
                               f'reached: failed to fetch {repo.url}/nope/index.yaml : 404')
    assert "bad" not in (repo.tmp / "config" / "repositories.yaml").read_text()
    r = repo.run("repo", "add", "a/b", repo.url, ok=False)
    assert "contains '/'" in r.stderr

    r = repo.run("repo", "list")
    w = len(repo.url)
    assert r.stdout == f"NAME  \tURL{' ' * (w - 3)}\nmyrepo\t{repo.url}\n"

    # update picks up a new version
    repo.run("package", make_chart(repo, "beta", "1.1.0", description="Beta chart"), "-d", repo.served)
    repo.run("repo", "index", repo.served)
    r = repo.run("repo", "update")
    assert r.stdout == ("Hang tight while we grab the latest from your chart repositories...\n"
                        '...Successfully got an update from the "myrepo" chart repository\n'
                        "Update Complete. \u2388Happy Helming!\u2388\n")
    assert b"1.1.0" in (cache / "myrepo-index.yaml").read_bytes()
    r = repo.run("repo", "update", "nosuch", ok=False)
    assert r.stderr == "Error: no repositories found matching 'nosuch'.  Nothing will be updated\n"

    r = repo.run("repo", "remove", "myrepo")
    assert r.stdout == '"myrepo" has been removed from your repositories\n'
    assert not (cache / "myrepo-index.yaml").exists()
    r = repo.run("repo", "list", ok=False)
    assert r.stderr == "Error: no repositories to show\n"
    r = repo.run("repo", "remove", "myrepo", ok=False)
    assert r.stderr == 'Error: no repo named "myrepo" found\n'
    r = repo.run("repo", "update", ok=False)
    assert r.stderr == "Error: no repositories found. You must add one before updating\n"


def test_repo_config_env_overrides(repo):
    cfg = repo.tmp / "elsewhere" / "repos.yaml"
    cache = repo.tmp / "elsewhere-cache"
    repo.env["HELM_REPOSITORY_CONFIG"] = str(cfg)
    repo.env["HELM_REPOSITORY_CACHE"] = str(cache)
    repo.run("repo", "add", "r1", repo.url)
    assert "r1" in cfg.read_text()
    assert (cache / "r1-index.yaml").exists()
    assert not (repo.tmp / "config" / "repositories.yaml").exists()


def test_search_repo(repo):
    r = repo.run("search", "repo", "alpha", ok=False)
    assert r.stderr == "Error: no repositories configured\n"
    repo.run("repo", "add", "myrepo", repo.url)
    r = repo.run("search", "repo")
    # the newest stable version of each chart (0.3.0-rc.1 is newer, but a pre-release)
    assert r.stdout == (
        "NAME        \tCHART VERSION\tAPP VERSION\tDESCRIPTION                                       \n"
        "myrepo/alpha\t0.2.0        \t1.16.0     \tSecond alpha, with a description longer than fi...\n"
        "myrepo/beta \t1.0.0        \t1.16.0     \tBeta chart                                        \n")

    r = repo.run("search", "repo", "alpha", "--versions")
    rows = [[c.strip() for c in l.split("\t")] for l in r.stdout.strip("\n").split("\n")[1:]]
    assert [(x[0], x[1]) for x in rows] == [("myrepo/alpha", "0.2.0"), ("myrepo/alpha", "0.1.0")]
    # descriptions are cut at 50 columns with "..."
    assert rows[0][3] == "Second alpha, with a description longer than fi..."
    assert len(rows[0][3]) == 50

    r = repo.run("search", "repo", "alpha", "--devel")
    rows = [[c.strip() for c in l.split("\t")] for l in r.stdout.strip("\n").split("\n")[1:]]
    assert [(x[0], x[1]) for x in rows] == [("myrepo/alpha", "0.3.0-rc.1")]

    r = repo.run("search", "repo", "DATABASE")       # keywords, case-insensitive
    assert [l.split("\t")[0].strip() for l in r.stdout.strip("\n").split("\n")[1:]] == ["myrepo/beta"]
    r = repo.run("search", "repo", "alpha", "--version", "<0.2.0")
    rows = [[c.strip() for c in l.split("\t")] for l in r.stdout.strip("\n").split("\n")[1:]]
    assert [(x[0], x[1]) for x in rows] == [("myrepo/alpha", "0.1.0")]
    r = repo.run("search", "repo", "nothing-like-this")
    assert r.stdout == "No results found\n"
    r = repo.run("search", "repo", "beta", "-o", "json")
    assert r.stdout.startswith('[{"') and '"name":"myrepo/beta"' in r.stdout


def test_pull(repo):
    repo.run("repo", "add", "myrepo", repo.url)
    out = repo.tmp / "out"
    repo.run("pull", "myrepo/alpha", "-d", out)
    assert sorted(os.listdir(out)) == ["alpha-0.2.0.tgz"]
    assert (out / "alpha-0.2.0.tgz").read_bytes() == (repo.served / "alpha-0.2.0.tgz").read_bytes()
    repo.run("pull", "myrepo/alpha", "--version", "0.1.0", "--untar", "-d", out)
    assert (out / "alpha" / "Chart.yaml").exists()
    assert yaml.safe_load((out / "alpha" / "Chart.yaml").read_text())["version"] == "0.1.0"
    assert "alpha-0.1.0.tgz" not in os.listdir(out)
    r = repo.run("pull", "myrepo/alpha", "--untar", "-d", out, ok=False)
    assert r.stderr == f"Error: failed to untar: a file or directory with the name {out}/alpha already exists\n"
    r = repo.run("pull", "myrepo/alpha", "--version", "9.9.9", ok=False)
    assert r.stderr == f'Error: chart "alpha" version "9.9.9" not found in {repo.url} repository\n'
    r = repo.run("pull", "nosuch/alpha", ok=False)
    assert r.stderr == "Error: repo nosuch not found\n"
    # a URL directly
    d2 = repo.tmp / "out2"
    repo.run("pull", f"{repo.url}/beta-1.0.0.tgz", "-d", d2)
    assert (d2 / "beta-1.0.0.tgz").read_bytes() == (repo.served / "beta-1.0.0.tgz").read_bytes()


def test_pull_digest_mismatch(repo):
    repo.run("repo", "add", "myrepo", repo.url)
    # the served archive changes after indexing: the digest check refuses it
    repo.run("package", make_chart(repo, "beta", "1.0.0", description="tampered"), "-d", repo.served)
    r = repo.run("pull", "myrepo/beta", "-d", repo.tmp / "o", ok=False)
    assert "digest mismatch" in r.stderr
    assert not (repo.tmp / "o" / "beta-1.0.0.tgz").exists()


def write_parent(e, repo_field, version="^0.1.0"):
    p = make_chart(e, "parent", "1.0.0")
    meta = yaml.safe_load((p / "Chart.yaml").read_text())
    meta["dependencies"] = [{"name": "alpha", "version": version, "repository": repo_field}]
    (p / "Chart.yaml").write_text(yaml.safe_dump(meta))
    return p


def test_dependency_update_http(repo):
    repo.run("repo", "add", "myrepo", repo.url)
    p = write_parent(repo, repo.url)
    r = repo.run("dependency", "update", p)
    assert r.stdout == ("Hang tight while we grab the latest from your chart repositories...\n"
                        '...Successfully got an update from the "myrepo" chart repository\n'
                        "Update Complete. \u2388Happy Helming!\u2388\n"
                        "Saving 1 charts\n"
                        f"Downloading alpha from repo {repo.url}\n"
                        "Deleting outdated charts\n")
    assert os.listdir(p / "charts") == ["alpha-0.1.0.tgz"]
    assert (p / "charts" / "alpha-0.1.0.tgz").read_bytes() == (repo.served / "alpha-0.1.0.tgz").read_bytes()
    lock = yaml.safe_load((p / "Chart.lock").read_text())
    assert lock["dependencies"] == [{"name": "alpha", "repository": repo.url, "version": "0.1.0"}]
    # the chart renders with the downloaded subchart
    r = repo.run("template", "rel", p)
    assert "# Source: parent/charts/alpha/templates/service.yaml" in r.stdout
    # build from the lock re-downloads a removed archive
    os.unlink(p / "charts" / "alpha-0.1.0.tgz")
    repo.run("dependency", "build", p)
    assert os.listdir(p / "charts") == ["alpha-0.1.0.tgz"]
    # "@name" names a configured repository; a wider constraint picks the newest stable
    p2 = write_parent(repo, "@myrepo", version=">=0.1.0")
    repo.run("dependency", "update", p2)
    assert os.listdir(p2 / "charts") == ["alpha-0.2.0.tgz"]


def test_dependency_update_unmanaged_and_errors(repo):
    # a URL no repository is configured for: Helm's "unmanaged" repository
    p = write_parent(repo, repo.url + "/")
    r = repo.run("dependency", "update", p)
    assert r.stdout.startswith("Getting updates for unmanaged Helm repositories...\n"
                               f'...Successfully got an update from the "{repo.url}/" chart repository\n')
    assert os.listdir(p / "charts") == ["alpha-0.1.0.tgz"]
    h = hashlib.sha256((repo.url + "/").encode()).hexdigest()
    assert (repo.tmp / "cache" / "repository" / f"helm-manager-{h}-index.yaml").exists()
    p2 = write_parent(repo, "@nosuch")
    r = repo.run("dependency", "update", p2, ok=False)
    assert r.stderr == ("Error: no repository definition for @nosuch. Please add the missing repos via "
                        "'helm repo add'\n")
    p3 = write_parent(repo, repo.url, version="^5.0.0")
    r = repo.run("dependency", "update", p3, ok=False)
    assert "can't get a valid version for repositories alpha" in r.stderr
    with tarfile.open(repo.served / "alpha-0.1.0.tgz") as t:
        assert "alpha/Chart.yaml" in t.getnames()
