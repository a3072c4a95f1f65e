#!/bin/bash
# build.sh - `berth build` beside `buildah bud --layers` on the Dockerfile of
# ../shared/peers/20-build.sh (FROM the busybox image, RUN, COPY of a 20 MB
# random file, ENV, WORKDIR, ENTRYPOINT), hyperfine, same machine, same run:
#   cold   = --no-cache (every step executed, layers committed)
#   cached = rebuild with every step a cache hit
# Both use --network none.  buildah runs with a private storage root and
# configuration under the scratch dir; nothing of the system's setup is used.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
B=$TOP/build/berth
W=${BENCH_DIR:-/tmp/berth-bench}/build
RUNS=${BUILD_RUNS:-10}
OUT=$TOP/bench/results
mkdir -p "$W" "$OUT"
BR="$B --root $W/berth-root --runroot $W/berth-run"
cat > "$W/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$W/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$W/buildah-root"
runroot = "$W/buildah-run"
CONF
export CONTAINERS_CONF=$W/containers.conf CONTAINERS_STORAGE_CONF=$W/storage.conf
cleanup() {
	set +e
	buildah rm --all >/dev/null 2>&1
	buildah rmi -af >/dev/null 2>&1
	grep " $W/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

CTX=$W/ctx
mkdir -p "$CTX"
head -c $((20*1024*1024)) /dev/urandom > "$CTX/rand20m"
cat > "$CTX/Dockerfile" <<'DF'
FROM localhost/bb
RUN echo hi > /x
COPY rand20m /data/rand20m
ENV GREETING=hello BENCH=1
WORKDIR /data
ENTRYPOINT ["/bin/sh", "-c", "cat /x"]
DF
tests/fixtures/busybox-image.sh "$W/bb.tar"
$BR import --change 'CMD ["/bin/sh"]' "$W/bb.tar" localhost/bb >/dev/null
buildah import "$W/bb.tar" localhost/bb >/dev/null 2>&1 || {
	ctr=$(buildah from scratch); mnt=$(buildah mount "$ctr")
	tar -C "$mnt" -xf "$W/bb.tar"; buildah umount "$ctr" >/dev/null
	buildah commit -q "$ctr" localhost/bb >/dev/null; buildah rm "$ctr" >/dev/null
}
# sanity: the image works and the cache is warm
$BR build -q --network none -t localhost/bench-build "$CTX" >/dev/null
[ "$($BR run --rm --network none localhost/bench-build)" = hi ]
buildah bud -q --layers --network none -t localhost/bench-build-buildah "$CTX" >/dev/null

hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$OUT/build-cold.json" \
	"$BR build -q --no-cache --network none -t localhost/bench-build $CTX" \
	"buildah bud -q --layers --no-cache --network none -t localhost/bench-build-buildah $CTX" >&2
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/build-cached.json" \
	"$BR build -q --network none -t localhost/bench-build $CTX" \
	"buildah bud -q --layers --network none -t localhost/bench-build-buildah $CTX" >&2

python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
def med(name):
    return [x["median"] * 1000 for x in json.load(open(os.path.join(out, name + ".json")))["results"]]
(bc, hc), (bk, hk) = med("build-cold"), med("build-cached")
lines = [
    "| measurement | berth | buildah | ratio | target |",
    "|---|---|---|---|---|",
    f"| build --no-cache (cold), 6 steps, 20 MB COPY | {bc:.0f} ms | {hc:.0f} ms | {bc/hc:.2f}x | <= 0.5x |",
    f"| build, every step cached | {bk:.1f} ms | {hk:.0f} ms | {bk/hk:.3f}x | <= 0.1x, < 40 ms |",
]
text = "\n".join(lines)
print(text)
open(os.path.join(out, "build-summary.md"), "w").write(text + "\n")
PY
