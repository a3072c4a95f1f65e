"""The global CLI: help for every command, errors and exit codes."""
import subprocess

from conftest import BERTH


def commands():
    out = subprocess.run([BERTH, "--help"], capture_output=True, text=True).stdout
    names = []
    started = False
    for line in out.splitlines():
        if line.startswith("Commands:"):
            started = True
            continue
        if started and line.startswith("  "):
            names.append(line.split()[0])
        elif started and not line.strip():
            break
    return names


def test_help_lists_commands():
    names = commands()
    for want in ("run", "ps", "images", "import", "version", "exec", "logs"):
        assert want in names


def test_every_command_has_help():
    for name in commands():
        p = subprocess.run([BERTH, name, "--help"], capture_output=True, text=True)
        assert p.returncode == 0, name
        assert p.stdout.startswith("Usage: berth " + name), (name, p.stdout)


def test_unknown_command_is_one_clear_error():
    p = subprocess.run([BERTH, "frobnicate"], capture_output=True, text=True)
    assert p.returncode == 125
    assert p.stderr.strip() == "berth: error: unknown command 'frobnicate' (see 'berth --help')"


def test_version_reports_cgroup_mode_and_features():
    p = subprocess.run([BERTH, "version"], capture_output=True, text=True, check=True)
    assert "berth version" in p.stdout
    assert "cgroups:" in p.stdout and "unknown" not in p.stdout.split("cgroups:")[1].splitlines()[0]
    assert "overlay" in p.stdout


def test_bad_log_level():
    p = subprocess.run([BERTH, "--log-level", "loud", "version"], capture_output=True, text=True)
    assert p.returncode == 125
    assert "unknown log level 'loud'" in p.stderr
