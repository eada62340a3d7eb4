#!/usr/bin/env bash
# --autotune-rule go against shared: 16 equal streams downloading, our client (the receiver,
# whose rule decides the windows) against our server and go-libp2p's (interop/go-peer),
# loopback, tcp/noise; REPS interleaved repetitions (every cell once per round). Writes
# runs/*.json (the client's --report) and prints the medians (summarize.py).
#
#   results/fairness-shared-2026-12-07/run.sh        # from the repository root
#   LOAD=3 results/fairness-shared-2026-12-07/run.sh # with 3 busy loops competing for the CPU
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/yamux-perf}
GO=${GO:-target/interop/go/go-libp2p-perf}
REPS=${REPS:-5}
LOAD=${LOAD:-0}
OUT=results/fairness-shared-2026-12-07
mkdir -p "$OUT/runs"
. results/lib/peers.sh

declare -A addr
addr[ours]=$(start ours "$BIN" server --listen /ip4/127.0.0.1/tcp/0)
addr[go]=$(start go "$GO" --run-server --server-address 127.0.0.1:0)
for i in $(seq "$LOAD"); do
  start "busy$i" sh -c 'echo busy; while :; do :; done' >/dev/null
done

# Workloads (per stream --download; --streams 16):
#   equal32m:  16 x 32 MiB = 512 MiB, 0.1-s intervals (the shape of tests/fairness.rs)
#   equal16g:  16 x 1 GiB = 16 GiB, 1-s intervals
declare -A args
args[equal32m]="--download 32MiB --interval 0.1"
args[equal16g]="--download 1GiB --interval 1"
prefix=load$LOAD
for rep in $(seq "$REPS"); do
  for work in equal32m equal16g; do
    for peer in ours go; do
      for rule in go shared; do
        echo "rep $rep $prefix $work $peer $rule" >&2
        # shellcheck disable=SC2086
        "$BIN" client --server "${addr[$peer]}" --streams 16 ${args[$work]} --autotune-rule "$rule" \
          --no-progress --timeout 300 \
          --report "$OUT/runs/$prefix-$work-$peer-$rule-rep$rep.json" >/dev/null \
          2> >(grep -E '^(download|fairness)' >&2)
      done
    done
  done
done
python3 "$OUT/summarize.py" "$OUT/runs"
