#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian/Ubuntu machine:
# the npm dependencies (npm ci), and Debian's prometheus (with promtool),
# prometheus-pushgateway, openssl and systemd (for systemd-analyze, which
# checks the unit file) when they are missing; and for the deploy tests that
# run the real thing: systemd-container (systemd-nspawn), debootstrap, podman
# and runc, dpkg-dev (dpkg-shlibdeps, for the .deb's Depends), binutils
# (strip) and lintian. The rootfs and base image those tests boot are built
# once and cached by test/deploy/images.sh (/var/cache/jvb-prometheus-adapter-tests).
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# podman as verified here: with its helpers (recommends, which --no-install-recommends below would skip).
command -v podman >/dev/null 2>&1 || missing+=(podman uidmap slirp4netns fuse-overlayfs)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v strip >/dev/null 2>&1 || missing+=(binutils)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update
  # The packages' own services are not needed: the tests start their own
  # instances on loopback ports. In containers policy-rc.d already stops them.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
