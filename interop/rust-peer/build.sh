#!/usr/bin/env bash
# rust-libp2p 0.53.2 + libp2p-perf 0.3.0 over TCP + Noise + yamux; called by interop/build.sh.
set -euo pipefail
CARGO_TARGET_DIR="$OUT" cargo build --release --locked \
    --manifest-path "$ROOT/interop/rust-peer/Cargo.toml" >&2
echo "$OUT/release/rust-libp2p-perf"
