#!/bin/sh
# deps.sh - install, from Debian's packages, what building, testing and
# demonstrating berth needs.  Idempotent: apt-get runs only when a package is
# missing.  Called by `make deps` (and so by `make test` / `make demo`).
set -eu

BUILD="meson ninja-build pkg-config gcc clang libc6-dev
  libjansson-dev libyaml-dev libcurl4-openssl-dev libssl-dev libarchive-dev
  libseccomp-dev libcap-dev libsqlite3-dev libmicrohttpd-dev libssh-dev libzstd-dev zlib1g-dev
  libpcre2-dev libcrypt-dev"
TEST="python3-pytest busybox-static jq iproute2 iptables containernetworking-plugins
  util-linux procps curl tar
  podman crun runc skopeo buildah uidmap fuse-overlayfs slirp4netns
  docker-registry etcd-server etcd-client"
# benchmarks only (make bench)
PEERS="hyperfine netavark aardvark-dns"

want="$BUILD $TEST"
case "${1:-}" in
  --peers|--all) want="$want $PEERS" ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
