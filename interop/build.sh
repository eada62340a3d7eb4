#!/usr/bin/env bash
# Build every interop peer under interop/ and print the path of each built binary.
#
# Usage: interop/build.sh            (from any directory)
#
# Build outputs live under target/interop/<peer>/ (gitignored); a second run is a no-op
# build. Each peer has one build_<peer> function that prints "<name> <path>" on stdout;
# cargo/npm/pip chatter goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# rust-libp2p 0.53.2 + libp2p-perf 0.3.0 over TCP + Noise + yamux (interop/rust-peer).
build_rust() {
    local target_dir="$ROOT/target/interop/rust"
    CARGO_TARGET_DIR="$target_dir" cargo build --release --locked \
        --manifest-path "$ROOT/interop/rust-peer/Cargo.toml" >&2
    local bin="$target_dir/release/rust-libp2p-perf"
    [[ -x "$bin" ]] || { echo "build.sh: $bin was not produced" >&2; return 1; }
    echo "rust $bin"
}

# Future peers: add build_go / build_js / build_py here and list them in PEERS.
PEERS=(rust)

main() {
    local wanted=("$@")
    [[ ${#wanted[@]} -gt 0 ]] || wanted=("${PEERS[@]}")
    local peer
    for peer in "${wanted[@]}"; do
        if ! declare -F "build_$peer" >/dev/null; then
            echo "build.sh: unknown peer '$peer' (known: ${PEERS[*]})" >&2
            return 2
        fi
        "build_$peer"
    done
}

main "$@"
