#!/usr/bin/env bash
# Builds each given revision of this repository in a detached git worktree and runs two cheap
# workloads with that revision's own binary and configs, writing one result set per commit:
#
#   results/history/<commit date, UTC>-<short rev>/
#     commit.json   the revision, its commit time (Unix seconds) and subject, from git
#     sim/          sweep bench-configs/window-autotune-sim.toml (engine = "sim": exact)
#     smoke/        sweep bench-configs/smoke.toml --repetitions 3 (the relay: wall clock)
#     uptime.txt    `uptime` before and after the two sweeps (the machine's load)
#     sweep.log     what the two sweeps printed
#
# Usage (from the repository root): results/history/run.sh REV...
# Then: target/release/yamux-perf dashboard results/history --out plots/dashboard
#
# WORK (default /tmp/yamux-perf-history) holds the worktree and the target dir; copy a built
# target dir to WORK/target first to make the builds incremental.
set -euo pipefail

repo=$(git rev-parse --show-toplevel)
out=$repo/results/history
work=${WORK:-/tmp/yamux-perf-history}
target=$work/target
src=$work/src
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

mkdir -p "$work"
for rev in "$@"; do
    full=$(git -C "$repo" rev-parse --verify "$rev^{commit}")
    if [ -d "$src" ]; then
        git -C "$src" checkout --quiet --detach "$full"
    else
        git -C "$repo" worktree add --quiet --detach "$src" "$full"
    fi
    short=$(git -C "$src" rev-parse --short HEAD)
    date=$(TZ=UTC git -C "$src" show -s --format=%cd --date=format-local:%Y-%m-%dT%H%M%SZ HEAD)
    dir=$out/$date-$short
    if [ -e "$dir" ]; then
        echo "$dir exists; remove it to run $short again" >&2
        exit 1
    fi
    echo "== $short ($date): building" >&2
    cargo build --release --locked --bin yamux-perf --manifest-path "$src/Cargo.toml" \
        --target-dir "$target"
    bin=$target/release/yamux-perf
    "$bin" --version >&2
    mkdir -p "$dir"
    git -C "$src" show -s --format='%ct%n%s' HEAD | jq -R -s --arg rev "$short" \
        'split("\n") | {revision: $rev, committed_unix_s: (.[0] | tonumber), subject: .[1]}' \
        > "$dir/commit.json"
    echo "before: $(uptime)" > "$dir/uptime.txt"
    (
        cd "$src"
        "$bin" sweep bench-configs/window-autotune-sim.toml --out "$dir/sim" --no-progress
        "$bin" sweep bench-configs/smoke.toml --repetitions 3 --out "$dir/smoke" --no-progress
    ) > "$dir/sweep.log" 2>&1
    echo "after: $(uptime)" >> "$dir/uptime.txt"
done
