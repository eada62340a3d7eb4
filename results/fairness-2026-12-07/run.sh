#!/usr/bin/env bash
# Fairness between 16 equal streams and short-flow completion times during a bulk download:
# our client against our server and against go-libp2p's (interop/go-peer), loopback,
# tcp/noise; REPS interleaved repetitions (every cell once per round). Writes runs/*.json (the
# client's --report) and prints the medians (summarize.py).
#
#   results/fairness-2026-12-07/run.sh        # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/yamux-perf}
GO=${GO:-target/interop/go/go-libp2p-perf}
REPS=${REPS:-5}
OUT=results/fairness-2026-12-07
mkdir -p "$OUT/runs"
. results/lib/peers.sh

declare -A addr
addr[ours]=$(start ours "$BIN" server --listen /ip4/127.0.0.1/tcp/0)
addr[go]=$(start go "$GO" --run-server --server-address 127.0.0.1:0)

# Workloads (per stream --download; --streams 16):
#   equal1g:  16 x 64 MiB = 1 GiB in total, 1-s intervals (the task's shape; short on loopback)
#   equal16g: 16 x 1 GiB = 16 GiB in total, 1-s intervals (long enough for many intervals)
#   short:    one 4 GiB bulk download and --short-flows 20:64KiB (one every 100 ms)
declare -A args
args[equal1g]="--streams 16 --download 64MiB"
args[equal16g]="--streams 16 --download 1GiB"
args[short]="--download 4GiB --short-flows 20:64KiB"

for rep in $(seq "$REPS"); do
  for work in equal1g equal16g short; do
    for peer in ours go; do
      echo "rep $rep $work $peer" >&2
      # shellcheck disable=SC2086
      "$BIN" client --server "${addr[$peer]}" ${args[$work]} --interval 1 \
        --no-progress --timeout 300 --report "$OUT/runs/$work-$peer-rep$rep.json" >/dev/null \
        2> >(grep -E '^(download|fairness|short flows)' >&2)
    done
  done
done
python3 "$OUT/summarize.py" "$OUT/runs"
