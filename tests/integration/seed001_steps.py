"""Seed 001 ("Controller"): every kubectl step of the walkthrough as functions
run against a cluster handle, so the same replay runs on one node (`berth up`,
test_seed001.py) and on four (test_multinode.py).

A handle is a `Kube` (the kubeconfig, kubectl and table parsing) that also
says which nodes there are and how to reach an address from one of them:

  handle.nodes          every node's name
  handle.workers        the nodes ordinary pods may land on (untainted)
  handle.tainted        {node: taint key} of the tainted ones
  handle.curl(node, url)   the body at url fetched from that node, "" when
                           nothing answers after a few tries (pod IPs,
                           ClusterIPs and NodePorts: every node runs the
                           service proxy)
  handle.diag()         log tails to add to a failure message
  handle.cron_jobs      (optional, default 2) how many of cronjob1's
                        minutely jobs to wait for

The images are busybox-based stand-ins for Docker Hub's, built by
`berth build` (build_images):

  nginx:1.15-alpine / 1.16-alpine / 1.17-alpine   busybox httpd serving a
        version page on :80, and an `nginx -v` that prints the version;
        like nginx it stops on SIGTERM (httpd as pid 1 would ignore it and
        every replaced pod would take its 30 s grace period)
  busybox:latest                                  the busybox image
  pi:latest                                       prints pi to 2,000 digits
                                                  with busybox bc

What each step checks is what kubectl prints: the columns of every `get`,
READY/UP-TO-DATE/AVAILABLE, revisions with their change causes, the image
after an undo, COMPLETIONS, cron jobs named after their minute, a daemon pod
on every node.  Where the seed says a Service is the fixed address in front
of the changing pod IPs, the deployment step exposes it as a NodePort
Service and fetches the page through its ClusterIP and through every
node's address from every node.  The CronJob is created first (cronjob_create) and checked
last (cronjob_runs), so its jobs appear each minute while the other steps
run instead of costing minutes of waiting.
"""
import os
import re
import subprocess
import time

KUBECTL = "/usr/bin/kubectl"
VERSIONS = (("1.15", "1.15.12"), ("1.16", "1.16.1"), ("1.17", "1.17.10"))
PAGE = {tag: f"nginx version: nginx/{full}" for tag, full in VERSIONS}

NGINX_DOCKERFILE = """FROM bb:latest
ARG VERSION
RUN mkdir -p /usr/share/nginx/html /usr/sbin && \\
    echo "nginx version: nginx/${VERSION}" > /usr/share/nginx/html/index.html && \\
    printf '#!/bin/sh\\necho "nginx version: nginx/%s" >&2\\n' "${VERSION}" > /usr/sbin/nginx && \\
    chmod 755 /usr/sbin/nginx
EXPOSE 80
CMD ["/bin/sh", "-c", "trap 'kill $pid; exit 0' TERM; httpd -f -p 80 -h /usr/share/nginx/html & pid=$!; wait $pid"]
"""

PI_DOCKERFILE = """FROM bb:latest
COPY pi.sh /usr/bin/pi
CMD ["/usr/bin/pi"]
"""

# pi to 2,000 digits ("3." and 1,999 decimals) with busybox bc (Machin's formula)
PI_SCRIPT = """#!/bin/sh
echo 'scale=2005; 16*a(1/5)-4*a(1/239)' | bc -l | tr -d '\\\\\\n' | cut -c1-2001
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy-nginx
spec:
  replicas: 1
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 80
"""

REPLICASET = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs-nginx
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.15-alpine
        ports:
        - name: http
          containerPort: 80
"""

DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: daemonset-nginx
spec:
  selector:
    matchLabels:
      name: nginx-ds
  template:
    metadata:
      labels:
        name: nginx-ds
    spec:
      tolerations:
      - key: node-role.kubernetes.io/master
        effect: NoSchedule
      containers:
      - name: c1
        image: nginx:1.15-alpine
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 100Mi
          requests:
            memory: 100Mi
"""

JOB_PI = """apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata:
      name: pi
    spec:
      containers:
      - name: pi
        image: pi:latest
        imagePullPolicy: IfNotPresent
      restartPolicy: Never
"""

JOB_BUSYBOX = """apiVersion: batch/v1
kind: Job
metadata:
  name: busybox-job
spec:
  completions: 10
  parallelism: 1
  template:
    metadata:
      name: busybox-job-pod
    spec:
      containers:
      - name: busybox
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["echo", "hello"]
      restartPolicy: Never
"""

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: cronjob1
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox
            args:
            - /bin/sh
            - -c
            - date; echo hello kubernetes
            imagePullPolicy: IfNotPresent
          restartPolicy: OnFailure
"""

WIDE_COLUMNS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
RECORD = "kubectl set image deployment deploy-nginx nginx=nginx:{}-alpine --record=true"


def until(fn, what, timeout=120, every=0.3):
    """fn() until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"never happened within {timeout}s: {what} (last: {last!r})")


def build_images(berth, base, busybox_tar):
    """The seed's images in one root; berth(*args) runs berth on it."""
    berth("import", "--change", 'CMD ["/bin/sh"]', busybox_tar, "bb:latest")
    berth("tag", "bb:latest", "busybox:latest")
    ctx = os.path.join(base, "ctx")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(NGINX_DOCKERFILE)
    for tag, full in VERSIONS:
        berth("build", "--build-arg", f"VERSION={full}", "-t", f"nginx:{tag}-alpine", ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(PI_DOCKERFILE)
    with open(os.path.join(ctx, "pi.sh"), "w") as f:
        f.write(PI_SCRIPT)
    os.chmod(os.path.join(ctx, "pi.sh"), 0o755)
    berth("build", "-t", "pi:latest", ctx)
    return ["busybox:latest", "pi:latest"] + [f"nginx:{tag}-alpine" for tag, _ in VERSIONS]


def pi_2000():
    """Pi as "3." and 1,999 decimals, truncated (Machin's formula, integers)."""
    guard = 12
    unity = 10 ** (1999 + guard)

    def arccot(x):
        total = power = unity // x
        n, sign = 3, -1
        while power:
            power //= x * x
            total += sign * (power // n)
            n, sign = n + 2, -sign
        return total
    digits = str((4 * (4 * arccot(5) - arccot(239))) // 10 ** guard)
    return "3." + digits[1:]


def parse_table(text):
    """kubectl's aligned table as (header, rows): each cell is cut at its
    header's column, so cells holding single spaces stay whole."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return [], []
    starts = [m.start() for m in re.finditer(r"(?:(?<=\s{2})|^)\S+(?: \S+)*", lines[0])]
    header = [lines[0][s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
    rows = []
    for line in lines[1:]:
        rows.append(dict(zip(header, (line[s:e].strip() for s, e in zip(starts, starts[1:] + [None])))))
    return header, rows


class Kube:
    """kubectl against one kubeconfig, with `get` output as rows."""

    def __init__(self, kubeconfig):
        self.kubeconfig = kubeconfig

    def kubectl(self, *args, check=True, input=None, timeout=120):
        # KUBECONFIG, not --kubeconfig: --record writes kubectl's command line
        # into the change cause, and the seed's has no extra flags
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        p = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}): {p.stderr}\n{self.diag()}")
        return p

    def diag(self):
        return ""

    def apply(self, text):
        return self.kubectl("apply", "-f", "-", input=text).stdout

    def table(self, *args):
        """`kubectl get ARGS` as (header, rows)."""
        return parse_table(self.kubectl("get", *args).stdout)

    def rows(self, *args):
        return self.table(*args)[1]

    def pods(self, prefix):
        return [r for r in self.rows("pods", "-o", "wide") if r["NAME"].startswith(prefix)]

    def node(self, name):
        import json
        return json.loads(self.kubectl("get", "node", name, "-o", "json").stdout)


# ---- helpers over a handle ----

def running(c, prefix, n):
    """Exactly n pods named prefix*, every one Running and 1/1 (no
    Terminating ones left): the list, else None."""
    pods = c.pods(prefix)
    ok = len(pods) == n and all(p["STATUS"] == "Running" and p["READY"] == "1/1" for p in pods)
    return pods if ok else None


def exec_version(c, pod):
    p = c.kubectl("exec", pod, "--", "nginx", "-v")
    return p.stderr.strip() + p.stdout.strip()


def described_image(c, pod):
    """`kubectl describe pod X | grep Image:` as the seed runs it."""
    lines = [l for l in c.kubectl("describe", "pod", pod).stdout.splitlines() if "Image:" in l]
    assert len(lines) == 1, lines
    m = re.fullmatch(r"    Image:\s+(\S+)", lines[0])
    assert m, lines[0]
    return m.group(1)


def pod_cidr(c, node):
    cache = c.__dict__.setdefault("_pod_cidrs", {})
    if node not in cache:
        cache[node] = c.node(node)["spec"]["podCIDR"]
    return cache[node]


def in_cidr(ip, cidr):
    import socket
    net, prefix = cidr.split("/")
    to_int = lambda a: int.from_bytes(socket.inet_aton(a), "big")
    mask = (0xffffffff << (32 - int(prefix))) & 0xffffffff
    return to_int(ip) & mask == to_int(net) & mask


def check_wide(c, pods):
    """-o wide rows: on a worker, an IP of that node's pod subnet, nothing
    nominated, no readiness gates."""
    header, _ = c.table("pods", "-o", "wide")
    assert header == WIDE_COLUMNS, header
    for p in pods:
        assert p["NODE"] in c.workers, (p, c.workers)
        assert in_cidr(p["IP"], pod_cidr(c, p["NODE"])), p
        assert (p["NOMINATED NODE"], p["READINESS GATES"]) == ("<none>", "<none>"), p


def answers_everywhere(c, ip, page):
    """The pod at ip serves page to a curl from every node."""
    for n in c.nodes:
        got = c.curl(n, f"http://{ip}/")
        assert got == page, f"curl http://{ip}/ from {n}: {got!r}\n{c.diag()}"


def spread(c, pods):
    """Pods per worker: with several workers, no worker has two more than another."""
    counts = {w: sum(1 for p in pods if p["NODE"] == w) for w in c.workers}
    assert sum(counts.values()) == len(pods), counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    return counts


def rollout_status(c, kind, name, timeout=240):
    """`kubectl rollout status` to the end; every line one kubectl prints."""
    p = c.kubectl("rollout", "status", kind, name, f"--timeout={timeout}s", timeout=timeout + 60, check=False)
    if p.returncode != 0:
        state = c.kubectl("get", f"{kind},rs,pods", "-o", "wide", check=False).stdout
        raise AssertionError(f"kubectl rollout status {kind} {name}: {p.stdout}{p.stderr}\n{state}\n{c.diag()}")
    out = p.stdout
    lines = out.strip().splitlines()
    noun = "deployment" if kind == "deployment" else "daemon set"
    assert lines[-1] == f'{noun} "{name}" successfully rolled out', out
    waiting = re.compile(rf'Waiting for (deployment|daemon set) ("{name}" rollout to finish: .*|spec update to be observed\.\.\.)')
    assert all(waiting.fullmatch(l) for l in lines[:-1]), out
    return lines


def history(c):
    """`kubectl rollout history deployment deploy-nginx` as [(rev, cause)]."""
    out = c.kubectl("rollout", "history", "deployment", "deploy-nginx").stdout.rstrip("\n").splitlines()
    assert out[0].rstrip() == "deployment.apps/deploy-nginx", out  # kubectl ends it with a space
    assert re.fullmatch(r"REVISION\s+CHANGE-CAUSE", out[1]), out
    res = []
    for line in out[2:]:
        if line.strip():
            m = re.fullmatch(r"(\d+)\s+(\S.*?)\s*", line)
            assert m, line
            res.append((int(m.group(1)), m.group(2)))
    return res


def template_hash(pod_name):
    return pod_name[len("deploy-nginx-"):].rsplit("-", 1)[0]


def only_pod(c, what, old=()):
    """The one deploy-nginx pod, Running, named none of old."""
    return until(lambda: [p for p in (running(c, "deploy-nginx-", 1) or []) if p["NAME"] not in old],
                 what, timeout=180)[0]


def node_ip(c, node):
    return [a["address"] for a in c.node(node)["status"]["addresses"] if a["type"] == "InternalIP"][0]


def service(c, page):
    """`kubectl expose` the deployment as a NodePort Service: its ClusterIP
    and the NodePort on every node's address answer from every node."""
    out = c.kubectl("expose", "deployment", "deploy-nginx", "--port=80", "--type=NodePort").stdout
    assert out.strip() == "service/deploy-nginx exposed", out
    header, rows = c.table("svc", "deploy-nginx")
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], header
    svc = rows[0]
    assert (svc["NAME"], svc["TYPE"], svc["EXTERNAL-IP"]) == ("deploy-nginx", "NodePort", "<none>"), svc
    m = re.fullmatch(r"80:(\d+)/TCP", svc["PORT(S)"])
    assert m and 30000 <= int(m.group(1)) <= 32767, svc
    urls = [f"http://{svc['CLUSTER-IP']}/"] + [f"http://{node_ip(c, n)}:{m.group(1)}/" for n in c.nodes]
    for n in c.nodes:
        for url in urls:
            try:
                until(lambda: c.curl(n, url) == page, f"{page!r} from curl {url} on {n}", timeout=90)
            except AssertionError as e:
                raise AssertionError(f"{e}\n{c.diag()}") from None
    out = c.kubectl("delete", "service", "deploy-nginx").stdout.strip()
    assert re.fullmatch(r'service "deploy-nginx" deleted( from default namespace)?', out), out


# ---- the steps ----

def cronjob_create(c):
    """Create cronjob1 (every minute); its jobs are checked by cronjob_runs."""
    assert c.apply(CRONJOB).strip() == "cronjob.batch/cronjob1 created"
    header, rows = c.table("cronjob")
    # kube-apiserver >= 1.27 prints TIMEZONE too
    assert header == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"], header
    cj = rows[0]
    assert (cj["NAME"], cj["SCHEDULE"], cj["TIMEZONE"], cj["SUSPEND"]) == ("cronjob1", "* * * * *", "<none>", "False")
    # right after creation nothing ran yet, unless a minute turned meanwhile
    assert cj["LAST SCHEDULE"] == "<none>" and cj["ACTIVE"] == "0" or re.fullmatch(r"\d+s", cj["LAST SCHEDULE"]), cj


def deployment(c):
    assert c.apply(DEPLOYMENT).strip() == "deployment.apps/deploy-nginx created"
    first = only_pod(c, "one deploy-nginx pod Running")
    header, rows = c.table("deployment")
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], header
    d = until(lambda: [r for r in c.rows("deployment") if r["AVAILABLE"] == "1"], "AVAILABLE 1")[0]
    assert (d["NAME"], d["READY"], d["UP-TO-DATE"], d["AVAILABLE"]) == ("deploy-nginx", "1/1", "1", "1")
    header, rows = c.table("pods")
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], header
    p = [r for r in rows if r["NAME"] == first["NAME"]][0]
    assert (p["READY"], p["STATUS"], p["RESTARTS"]) == ("1/1", "Running", "0")
    header, rows = c.table("replicasets")
    assert header == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"], header
    rs = [r for r in rows if r["NAME"].startswith("deploy-nginx-")]
    assert len(rs) == 1 and re.fullmatch(r"deploy-nginx-[a-z0-9]{8,10}", rs[0]["NAME"]), rs
    assert (rs[0]["DESIRED"], rs[0]["CURRENT"], rs[0]["READY"]) == ("1", "1", "1")
    assert re.fullmatch(re.escape(rs[0]["NAME"]) + r"-[a-z0-9]{5}", first["NAME"]), first
    hash1 = template_hash(first["NAME"])

    # the pod's IP answers on every node
    check_wide(c, [first])
    answers_everywhere(c, first["IP"], PAGE["1.15"])

    # a deleted pod is replaced by a new one with a new IP
    assert c.kubectl("delete", "pod", first["NAME"]).stdout.strip() == f'pod "{first["NAME"]}" deleted'
    pod = only_pod(c, "a replacement pod", old={first["NAME"]})
    assert pod["IP"] != first["IP"] and template_hash(pod["NAME"]) == hash1, (first, pod)
    check_wide(c, [pod])
    assert described_image(c, pod["NAME"]) == "nginx:1.15-alpine"
    got = exec_version(c, pod["NAME"])
    assert got == PAGE["1.15"], (pod["NAME"], got)

    # upgrade to 1.16, then 1.17, recorded
    seen = {pod["NAME"]}
    for tag in ("1.16", "1.17"):
        out = c.kubectl("set", "image", "deployment", "deploy-nginx", f"nginx=nginx:{tag}-alpine", "--record").stdout
        assert out.strip() == "deployment.apps/deploy-nginx image updated", out
        rollout_status(c, "deployment", "deploy-nginx")
        pod = only_pod(c, f"the {tag} pod alone", old=seen)
        seen.add(pod["NAME"])
        assert template_hash(pod["NAME"]) != hash1
        assert described_image(c, pod["NAME"]) == f"nginx:{tag}-alpine"
        got = exec_version(c, pod["NAME"])
        assert got == PAGE[tag], (pod["NAME"], tag, got)
        answers_everywhere(c, pod["IP"], PAGE[tag])
    assert history(c) == [(1, "<none>"), (2, RECORD.format("1.16")), (3, RECORD.format("1.17"))]
    rev1 = c.kubectl("rollout", "history", "deployment", "deploy-nginx", "--revision=1").stdout
    want = [r"deployment.apps/deploy-nginx with revision #1", r"Pod Template:",
            r"  Labels:\s+app=nginx", rf"\s+pod-template-hash={hash1}", r"  Containers:", r"   nginx:",
            r"    Image:\s+nginx:1.15-alpine", r"    Port:\s+80/TCP", r"    Host Port:\s+0/TCP",
            r"    Environment:\s+<none>", r"    Mounts:\s+<none>", r"  Volumes:\s+<none>"]
    lines = [l for l in rev1.splitlines() if l.strip()]
    for pat in want:
        assert any(re.fullmatch(pat, l) for l in lines), (pat, rev1)

    # undo to revision 1: the 1.15 template comes back as revision 4
    out = c.kubectl("rollout", "undo", "deployment", "deploy-nginx", "--to-revision=1").stdout
    assert out.strip() == "deployment.apps/deploy-nginx rolled back", out
    rollout_status(c, "deployment", "deploy-nginx")
    assert history(c) == [(2, RECORD.format("1.16")), (3, RECORD.format("1.17")), (4, "<none>")]
    undone = only_pod(c, "the undone pod alone", old=seen)
    assert template_hash(undone["NAME"]) == hash1  # the first ReplicaSet again
    assert described_image(c, undone["NAME"]) == "nginx:1.15-alpine"
    assert exec_version(c, undone["NAME"]) == PAGE["1.15"]

    # scaling: 2 (one pod on each of two workers), 4, back to 1, 16
    before = []
    for n in (2, 4, 1, 16):
        out = c.kubectl("scale", "deployment", "deploy-nginx", f"--replicas={n}").stdout
        assert out.strip() == "deployment.apps/deploy-nginx scaled", out
        pods = until(lambda: running(c, "deploy-nginx-", n), f"{n} pods Running", timeout=240)
        assert all(template_hash(p["NAME"]) == hash1 for p in pods)
        assert len({p["IP"] for p in pods}) == n
        check_wide(c, pods)
        spread(c, pods)
        if n == 1:
            # scaling down only deletes (which one stays is the controller's
            # pick: the seed's oldest, unless several became Ready together)
            assert pods[0]["NAME"] in {p["NAME"] for p in before}, (pods, before)
        if n == 4:
            service(c, PAGE["1.15"])
        if n == 2:
            # pod to pod (across nodes when there are several)
            a, b = pods
            out = c.kubectl("exec", a["NAME"], "--", "wget", "-qO-", f"http://{b['IP']}/").stdout
            assert out.strip() == PAGE["1.15"]
        d = until(lambda: [r for r in c.rows("deployment") if r["AVAILABLE"] == str(n)], f"AVAILABLE {n}")[0]
        assert (d["READY"], d["UP-TO-DATE"]) == (f"{n}/{n}", str(n)), d
        before = pods

    # a rolling update of all 16
    out = c.kubectl("set", "image", "deployment", "deploy-nginx", "nginx=nginx:1.17-alpine", "--record").stdout
    assert out.strip() == "deployment.apps/deploy-nginx image updated", out
    rollout_status(c, "deployment", "deploy-nginx", timeout=400)
    pods = until(lambda: running(c, "deploy-nginx-", 16), "16 updated pods Running", timeout=240)
    assert all(template_hash(p["NAME"]) != hash1 for p in pods)
    assert len({template_hash(p["NAME"]) for p in pods}) == 1
    d = c.rows("deployment")[0]
    assert (d["READY"], d["UP-TO-DATE"], d["AVAILABLE"]) == ("16/16", "16", "16"), d
    rs = {r["NAME"]: (r["DESIRED"], r["CURRENT"], r["READY"]) for r in c.rows("rs") if r["NAME"].startswith("deploy-")}
    assert sorted(rs.values()) == [("0", "0", "0"), ("0", "0", "0"), ("16", "16", "16")], rs
    # 1.17's ReplicaSet is revision 3 no more but 5
    assert history(c) == [(2, RECORD.format("1.16")), (4, "<none>"), (5, RECORD.format("1.17"))]
    check_wide(c, pods)
    answers_everywhere(c, pods[-1]["IP"], PAGE["1.17"])

    # deleting the deployment deletes its pods and ReplicaSets
    out = c.kubectl("delete", "deployment", "deploy-nginx").stdout.strip()
    assert re.fullmatch(r'deployment.apps "deploy-nginx" deleted( from default namespace)?', out), out
    until(lambda: not c.pods("deploy-nginx-"), "the deployment's pods gone", timeout=240)
    assert not [r for r in c.rows("rs") if r["NAME"].startswith("deploy-nginx-")]


def replicaset(c):
    assert c.apply(REPLICASET).strip() == "replicaset.apps/rs-nginx created"
    pods = until(lambda: running(c, "rs-nginx-", 2), "two rs-nginx pods Running", timeout=180)
    rs = until(lambda: [r for r in c.rows("rs") if r["NAME"] == "rs-nginx" and r["READY"] == "2"], "READY 2")[0]
    assert (rs["DESIRED"], rs["CURRENT"], rs["READY"]) == ("2", "2", "2")
    assert all(re.fullmatch(r"rs-nginx-[a-z0-9]{5}", p["NAME"]) for p in pods), pods
    check_wide(c, pods)
    spread(c, pods)
    for p in pods:
        answers_everywhere(c, p["IP"], PAGE["1.15"])
    p = c.kubectl("get", "deployment")
    assert p.stdout == "" and p.stderr.strip() == "No resources found in default namespace.", p
    out = c.kubectl("delete", "rs", "rs-nginx").stdout.strip()
    assert re.fullmatch(r'replicaset.apps "rs-nginx" deleted( from default namespace)?', out), out
    until(lambda: not c.pods("rs-nginx-"), "rs pods gone", timeout=180)


def daemonset(c):
    n = len(c.nodes)
    assert c.apply(DAEMONSET).strip() == "daemonset.apps/daemonset-nginx created"
    pods = until(lambda: running(c, "daemonset-nginx-", n), f"{n} daemon pods Running", timeout=240)
    # one on every node, the tainted ones too (the pods tolerate the master taint)
    assert sorted(p["NODE"] for p in pods) == sorted(c.nodes), pods
    assert all(k == "node-role.kubernetes.io/master" for k in c.tainted.values()), c.tainted
    header, _ = c.table("ds")
    assert header == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
    want = (str(n),) * 5 + ("<none>",)
    ds = until(lambda: [r for r in c.rows("ds") if r["AVAILABLE"] == str(n)], f"AVAILABLE {n}")[0]
    assert (ds["DESIRED"], ds["CURRENT"], ds["READY"], ds["UP-TO-DATE"], ds["AVAILABLE"], ds["NODE SELECTOR"]) \
        == want, ds
    for p in pods:
        assert in_cidr(p["IP"], pod_cidr(c, p["NODE"])), p
        answers_everywhere(c, p["IP"], PAGE["1.15"])

    # an update replaces them one by one
    out = c.kubectl("set", "image", "daemonset", "daemonset-nginx", "c1=nginx:1.17-alpine", "--record").stdout
    assert out.strip() == "daemonset.apps/daemonset-nginx image updated", out
    rollout_status(c, "daemonset", "daemonset-nginx", timeout=300)
    new = until(lambda: [p for p in (running(c, "daemonset-nginx-", n) or [])
                         if p["NAME"] not in {q["NAME"] for q in pods}], f"{n} updated daemon pods", timeout=180)
    assert len(new) == n and sorted(p["NODE"] for p in new) == sorted(c.nodes), new
    for p in new:
        assert described_image(c, p["NAME"]) == "nginx:1.17-alpine"
    ds = until(lambda: [r for r in c.rows("ds") if r["AVAILABLE"] == str(n) and r["UP-TO-DATE"] == str(n)],
               f"UP-TO-DATE {n}")[0]
    assert (ds["DESIRED"], ds["CURRENT"], ds["READY"]) == (str(n),) * 3, ds
    out = c.kubectl("delete", "ds", "daemonset-nginx").stdout.strip()
    assert re.fullmatch(r'daemonset.apps "daemonset-nginx" deleted( from default namespace)?', out), out
    until(lambda: not c.pods("daemonset-nginx-"), "daemon pods gone", timeout=180)


def jobs(c):
    assert c.apply(JOB_PI).strip() == "job.batch/pi created"
    header, _ = c.table("jobs")
    # kube-apiserver >= 1.31 prints STATUS too
    assert header == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], header
    j = until(lambda: [j for j in c.rows("jobs") if j["NAME"] == "pi" and j["COMPLETIONS"] == "1/1"], "pi completes",
              timeout=240)[0]
    assert j["STATUS"] == "Complete" and re.fullmatch(r"\d+s", j["DURATION"]), j
    pods = c.pods("pi-")
    assert len(pods) == 1 and re.fullmatch(r"pi-[a-z0-9]{5}", pods[0]["NAME"]), pods
    assert (pods[0]["READY"], pods[0]["STATUS"], pods[0]["RESTARTS"]) == ("0/1", "Completed", "0"), pods
    assert pods[0]["NODE"] in c.workers
    assert c.kubectl("logs", pods[0]["NAME"]).stdout.strip() == pi_2000()

    # ten completions, one at a time: COMPLETIONS counts up to 10/10
    assert c.apply(JOB_BUSYBOX).strip() == "job.batch/busybox-job created"
    seen = []

    def done():
        j = [j for j in c.rows("job") if j["NAME"] == "busybox-job"][0]
        m = re.fullmatch(r"(\d+)/10", j["COMPLETIONS"])
        assert m, j
        seen.append(int(m.group(1)))
        return seen[-1] == 10 and j
    job = until(done, "10/10 completions", timeout=300)
    assert job["STATUS"] == "Complete", job
    assert seen == sorted(seen), seen  # never goes back
    assert re.fullmatch(r"\d+s", job["DURATION"]), job
    pods = c.pods("busybox-job-")
    assert len(pods) == 10 and all((p["READY"], p["STATUS"]) == ("0/1", "Completed") for p in pods), pods
    assert all(re.fullmatch(r"busybox-job-[a-z0-9]{5}", p["NAME"]) for p in pods), pods
    assert {p["NODE"] for p in pods} <= set(c.workers)
    for p in pods[:3]:
        assert c.kubectl("logs", p["NAME"]).stdout == "hello\n"
    for name in ("pi", "busybox-job"):
        c.kubectl("delete", "job", name)
    until(lambda: not c.pods("pi-") and not c.pods("busybox-job-"), "the jobs' pods gone", timeout=180)


def cronjob_runs(c):
    """cronjob1's jobs: one each minute, named after it, pods Completed with
    the greeting; at least handle.cron_jobs of them (default 2: wait if the
    steps before were quicker than that many minutes)."""
    want = getattr(c, "cron_jobs", 2)

    def jobs():
        js = [j for j in c.rows("jobs") if j["NAME"].startswith("cronjob1-")]
        return len([j for j in js if j["COMPLETIONS"] == "1/1"]) >= want and js
    js = until(jobs, f"{want} cron jobs complete", timeout=100 + 60 * want)
    # every minute, none skipped (the newest may still run; the oldest go
    # when more than 3 succeeded, the history limit)
    minutes = sorted(int(re.fullmatch(r"cronjob1-(\d+)", j["NAME"]).group(1)) for j in js)
    assert all(b - a == 1 for a, b in zip(minutes, minutes[1:])), minutes
    assert abs(minutes[-1] * 60 - time.time()) < 300, minutes  # named after the scheduled minute
    done = sorted((j for j in js if j["COMPLETIONS"] == "1/1"), key=lambda j: j["NAME"])
    assert all(j["STATUS"] == "Complete" for j in done), done
    newest = done[-1]["NAME"]
    pods = [p for p in c.pods(newest + "-")]
    assert len(pods) == 1 and re.fullmatch(re.escape(newest) + r"-[a-z0-9]{5}", pods[0]["NAME"]), pods
    assert (pods[0]["READY"], pods[0]["STATUS"]) == ("0/1", "Completed") and pods[0]["NODE"] in c.workers, pods
    assert c.kubectl("logs", pods[0]["NAME"]).stdout.splitlines()[-1] == "hello kubernetes"
    cj = c.rows("cronjob")[0]
    assert re.fullmatch(r"\d+s|\d+m(\d+s)?", cj["LAST SCHEDULE"]), cj
    assert c.kubectl("delete", "cronjob", "cronjob1").stdout.startswith('cronjob.batch "cronjob1" deleted')
    until(lambda: not c.pods("cronjob1-"), "the cron jobs' pods gone", timeout=180)


STEPS = [cronjob_create, deployment, replicaset, daemonset, jobs, cronjob_runs]
# what each step leaves behind when it fails half-way
LEFTOVERS = {deployment: ["deployment/deploy-nginx", "service/deploy-nginx"], replicaset: ["rs/rs-nginx"],
             daemonset: ["ds/daemonset-nginx"], jobs: ["job/pi", "job/busybox-job"], cronjob_runs: ["cronjob/cronjob1"]}


def run_step(c, step):
    """step(c); when it fails, what it made is deleted before the failure
    goes on, so the next step does not fail for it."""
    try:
        step(c)
    except BaseException:
        objs = LEFTOVERS.get(step, [])
        for obj in objs:
            c.kubectl("delete", obj, "--ignore-not-found", "--wait=false", check=False, timeout=60)
        prefixes = tuple(o.split("/")[1] + "-" for o in objs)
        try:
            until(lambda: not [p for p in c.pods("") if p["NAME"].startswith(prefixes)], "the failed step's pods gone",
                  timeout=120)
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        raise


def run(c):
    """Every step of the seed, in order."""
    for step in STEPS:
        run_step(c, step)
