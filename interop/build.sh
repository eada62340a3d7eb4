#!/usr/bin/env bash
# Build every interop peer and print "<name> <path>" for each built executable.
#
# Usage: interop/build.sh [peer...]     (from any directory; default: every peer)
#
# Each peer lives in interop/<name>-peer/ with its own build.sh, which is called with the repo
# root as the working directory and ROOT and OUT (target/interop/<name>, gitignored) set. It must
# build into OUT, print the path of the runnable peer as its last stdout line, send tool chatter
# to stderr, and be a no-op when nothing changed. A peer that fails to build fails this script.
# The runnable peer is then also linked as target/interop/<name>/peer, the one path the tool and
# the tests look for.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

known=()
for dir in interop/*-peer; do
    [[ -x "$dir/build.sh" ]] && known+=("$(basename "$dir" -peer)")
done

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=("${known[@]}")
for peer in "${wanted[@]}"; do
    script="interop/$peer-peer/build.sh"
    if [[ ! -x "$script" ]]; then
        echo "build.sh: unknown peer '$peer' (known: ${known[*]})" >&2
        exit 2
    fi
    out="$ROOT/target/interop/$peer"
    mkdir -p "$out"
    path=$(ROOT="$ROOT" OUT="$out" "$script" | tail -n 1)
    [[ -x "$path" ]] || { echo "build.sh: $peer: '$path' is not executable" >&2; exit 1; }
    ln -sfn "$path" "$out/peer"
    echo "$peer $path"
done
