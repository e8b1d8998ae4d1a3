#!/usr/bin/env bash
# Builds release/jvb-prometheus-adapter_<version>_amd64.deb around the single
# executable, with dpkg-deb (run by scripts/release.sh):
#   scripts/build-deb.sh <single executable> <out dir>
# DEB_VERSION overrides the package version (the tests build a newer one to
# upgrade to). NODE_LICENSE names Node.js' LICENSE (release.sh passes it).
# The unit is systemd/jvb-prometheus-adapter.service with ExecStart= made the
# absolute /usr/bin path and the npm install notes taken out; everything else
# (sandbox, reload, stop timeout) is the same file.
set -euo pipefail
cd "$(dirname "$0")/.."

exe="${1:?single executable}"
out="${2:?out dir}"
PKG=jvb-prometheus-adapter
VERSION="${DEB_VERSION:-$(node -p 'require("./package.json").version')}"
MAINTAINER="${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || echo 'jvb-prometheus-adapter maintainers <root@localhost>')}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
date_r="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
doc="$root/usr/share/doc/$PKG"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/default" "$doc" "$root/usr/share/man/man8"
install -m 0755 "$exe" "$root/usr/bin/$PKG"

# The unit: the shared file, its header (npm install steps) dropped, ExecStart= absolute.
awk 'started || /^\[Unit\]/ { started = 1; print }' systemd/$PKG.service \
  | sed -e "s|^ExecStart=jvb-prometheus-adapter\$|ExecStart=/usr/bin/$PKG|" \
        -e "s|^Documentation=.*\$|Documentation=man:$PKG(8) file:///usr/share/doc/$PKG/README.md|" \
  >"$root/lib/systemd/system/$PKG.service"
grep -q "^ExecStart=/usr/bin/$PKG\$" "$root/lib/systemd/system/$PKG.service" || { echo "build-deb: ExecStart= not rewritten" >&2; exit 1; }
chmod 0644 "$root/lib/systemd/system/$PKG.service"
install -m 0644 systemd/$PKG.env "$root/etc/default/$PKG"

# Documentation as Debian wants it: README, copyright, changelog (native: changelog.gz), a man page.
install -m 0644 docs/deploy/debian.md "$doc/README.md"
if [ -n "${NODE_LICENSE:-}" ]; then install -m 0644 "$NODE_LICENSE" "$doc/LICENSE.node"; gzip -9n "$doc/LICENSE.node"; fi
# The npm packages bundled into the executable, from the lock file, one per line of the Comment.
node -e '
  const fs = require("fs");
  const lock = require("./package-lock.json");
  const lines = [];
  for (const [p, e] of Object.entries(lock.packages)) if (p.startsWith("node_modules/") && !e.dev && !e.optional) lines.push(` ${p.slice(13)} ${e.version}: ${e.license}`);
  fs.writeFileSync(process.argv[1], fs.readFileSync("packaging/deb/copyright.in", "utf8").replace("@BUNDLED@\n", lines.join("\n") + "\n"));
' "$doc/copyright"
chmod 0644 "$doc/copyright"
printf '%s (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' "$PKG" "$VERSION" "$VERSION" "$MAINTAINER" "$date_r" | gzip -9n >"$doc/changelog.gz"
sed -e "s|@DATE@|$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)|" -e "s|@VERSION@|$VERSION|" packaging/deb/$PKG.8 | gzip -9n >"$root/usr/share/man/man8/$PKG.8.gz"
chmod 0644 "$doc"/* "$root/usr/share/man/man8/$PKG.8.gz"

# Library dependencies of the Node binary, as dpkg-shlibdeps finds them (dpkg-dev), else the known set.
depends="libatomic1 (>= 4.8), libc6 (>= 2.34), libgcc-s1 (>= 4.2), libstdc++6 (>= 10.2)"
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
  shl="$(mktemp -d)"; mkdir -p "$shl/debian"; printf 'Source: x\n\nPackage: x\nArchitecture: any\n' >"$shl/debian/control"
  found="$(cd "$shl" && dpkg-shlibdeps -O "$root/usr/bin/$PKG" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')" || true
  rm -rf "$shl"
  [ -n "$found" ] && depends="$found"
fi

install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
echo "/etc/default/$PKG" >"$root/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat >"$root/DEBIAN/control" <<CONTROL
Package: $PKG
Version: $VERSION
Architecture: amd64
Maintainer: $MAINTAINER
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: Jitsi Videobridge statistics as Prometheus metrics, served and pushed
 Polls Jitsi Videobridges, serves their statistics as Prometheus metrics on
 :9001/metrics and pushes them to Prometheus remote_write receivers and
 Pushgateways through a durable queue on disk.
 .
 One self-contained executable (the Node.js runtime is built in: no Node.js
 package is needed) and a sandboxed systemd service, configured in
 /etc/default/jvb-prometheus-adapter.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/${PKG}_${VERSION}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
