"""`berth chart eval` against the conformance vectors in ../shared/conformance.

tests/unit/test-template.c runs the same vectors through the engine's C API;
this runs them through the command line (data decoding, --option, --delims,
--name, --parse-only, exit codes), the way outside conformance suites drive
berth.  Vectors that cannot pass are listed in
tests/cases/template-expected-failures.txt (suites eval-exec, eval-parse,
eval-sprig, eval-helm here); an unlisted failure fails the test, and so does a
listed vector that passes.
"""
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BERTH, TOP

CONF = os.environ.get("BERTH_CONFORMANCE", os.path.join(os.path.dirname(TOP), "shared", "conformance"))
EXPECTED = os.path.join(TOP, "tests", "cases", "template-expected-failures.txt")


def expected_failures(suite):
    out = set()
    with open(EXPECTED) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] == suite:
                out.add(parts[1])
    return out


def load(rel):
    with open(os.path.join(CONF, rel)) as f:
        cases = json.load(f)
    seen = {}
    for c in cases:  # duplicate names get "#2", "#3" as in the unit test
        n = seen.get(c["name"], 0) + 1
        seen[c["name"]] = n
        c["id"] = c["name"] if n == 1 else f'{c["name"]} #{n}'
    return cases


def run_exec_case(tmp, i, c):
    tpl = os.path.join(tmp, f"t{i}")
    data = os.path.join(tmp, f"d{i}.json")
    with open(tpl, "w") as f:
        f.write(c["template"])
    with open(data, "w") as f:
        json.dump(c.get("data"), f)
    args = [BERTH, "chart", "eval", "--name", c["name"], "--data", data]
    for o in c.get("options", []):
        args += ["--option", o]
    if c.get("delims"):
        args += ["--delims", c["delims"][0], c["delims"][1]]
    p = subprocess.run(args + [tpl], capture_output=True, timeout=60)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if c.get("ok", True):
        if p.returncode != 0:
            return f"exit {p.returncode}: {err.strip()}"
        if out != c["expected"]:
            return f"got {out!r}, want {c['expected']!r}"
        return None
    if p.returncode != 1:
        return f"exit {p.returncode}, want 1 (output {out!r})"
    want = c.get("error_contains")
    if want and want not in err:
        return f"error {err.strip()!r} does not contain {want!r}"
    return None


def run_parse_case(tmp, i, c):
    tpl = os.path.join(tmp, f"p{i}")
    with open(tpl, "w") as f:
        f.write(c["template"])
    name = c.get("template_name", c["name"])
    p = subprocess.run([BERTH, "chart", "eval", "--parse-only", "--name", name, tpl], capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    if not c["parse_error"]:
        return None if p.returncode == 0 else f"exit {p.returncode}: {err.strip()}"
    if p.returncode != 1:
        return f"exit {p.returncode}, want 1"
    want = c.get("error_contains")
    if want and want not in err:
        return f"error {err.strip()!r} does not contain {want!r}"
    return None


SUITES = [
    ("eval-exec", "gotemplate/exec_cases.json", run_exec_case),
    ("eval-parse", "gotemplate/parse_cases.json", run_parse_case),
    ("eval-sprig", "gotemplate/sprig_cases.json", run_exec_case),
    ("eval-helm", "helm/funcs_cases.json", run_exec_case),
]


@pytest.mark.parametrize("suite,rel,runner", SUITES, ids=[s[0] for s in SUITES])
def test_conformance_via_eval(suite, rel, runner):
    cases = load(rel)
    listed = expected_failures(suite)
    with tempfile.TemporaryDirectory(prefix="berth-tmpl-") as tmp:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda ic: runner(tmp, ic[0], ic[1]), enumerate(cases)))
    problems = []
    passed = 0
    for c, why in zip(cases, results):
        if why is None and c["id"] in listed:
            problems.append(f'{c["id"]}: passes but is listed in template-expected-failures.txt')
        elif why is not None and c["id"] not in listed:
            problems.append(f'{c["id"]}: {why}')
        elif why is None:
            passed += 1
    ids = {c["id"] for c in cases}
    problems += [f"{n}: listed in template-expected-failures.txt but names no vector" for n in sorted(listed - ids)]
    print(f"{suite}: {passed} of {len(cases)} passed, {len(listed)} expected failures")
    assert not problems, "\n".join(problems[:50])


def test_eval_cli_basics(tmp_path):
    tpl = tmp_path / "t.tmpl"
    data = tmp_path / "d.json"
    tpl.write_text('{{ .i }} {{ typeOf .i }} {{ .f }} {{ typeOf .f }} {{ .y | toYaml }}')
    data.write_text('{"i": 3, "f": 3.0, "y": {"b": [1, "two"], "a": "x: y"}}')
    p = subprocess.run([BERTH, "chart", "eval", "--data", str(data), str(tpl)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "3 int64 3 float64 a: 'x: y'\nb:\n- 1\n- two"
    # YAML data, stdin template, custom delimiters
    ydata = tmp_path / "d.yaml"
    ydata.write_text("a: [1, 2]\n")
    p = subprocess.run([BERTH, "chart", "eval", "--data", str(ydata), "--delims", "<<", ">>", "-"],
                       input="<< .a >>", capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "[1 2]")
    # errors: Go's text, exit 1; required's message without Helm's markers
    p = subprocess.run([BERTH, "chart", "eval", "-"], input='{{ required "need x" .x }}',
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert 'executing "stdin" at <required "need x" .x>: error calling required: need x' in p.stderr
    p = subprocess.run([BERTH, "chart", "eval", "--parse-only", "--name", "n", "-"], input="{{ if }}",
                       capture_output=True, text=True)
    assert (p.returncode, p.stderr.strip()) == (1, "berth: error: template: n:1: missing value for if")
    p = subprocess.run([BERTH, "chart", "frob"], capture_output=True, text=True)
    assert p.returncode != 0 and "unknown subcommand 'frob'" in p.stderr
