#!/usr/bin/env bash
# Many streams: 1,000 concurrent perf streams of 1 MiB each way on one connection, our client
# against our server and go-libp2p's (interop/go-peer), loopback, tcp/noise/yamux; a fresh
# server per run, whose peak resident memory (VmHWM) is read from /proc when the run ends.
# REPS interleaved repetitions. Writes runs/*.json (the client's --report) and
# runs/*.server-peak-kib, and prints the medians (summarize.py).
#
#   results/many-streams-2026-12-07/run.sh        # from the repository root
#   STREAMS=10000 SIZE=64KiB OUT_PREFIX=s10k- results/many-streams-2026-12-07/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/yamux-perf}
GO=${GO:-target/interop/go/go-libp2p-perf}
REPS=${REPS:-5}
STREAMS=${STREAMS:-1000}
SIZE=${SIZE:-1MiB}
OUT_PREFIX=${OUT_PREFIX:-}
OUT=results/many-streams-2026-12-07
mkdir -p "$OUT/runs"
. results/lib/peers.sh

for rep in $(seq "$REPS"); do
  for peer in ours go; do
    name=$OUT_PREFIX$peer-rep$rep
    case $peer in
      ours) addr=$(start "$name" "$BIN" server --listen /ip4/127.0.0.1/tcp/0 --max-streams "$STREAMS") ;;
      go) addr=$(start "$name" "$GO" --run-server --server-address 127.0.0.1:0) ;;
    esac
    echo "rep $rep $peer" >&2
    "$BIN" client --server "$addr" --streams "$STREAMS" --upload "$SIZE" --download "$SIZE" \
      --no-progress --timeout 300 --report "$OUT/runs/$name.json" >/dev/null \
      2> >(grep -E '^(upload|download|total|error)' >&2)
    pid=$(cat "$peers_tmp/$name.pid")
    awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" >"$OUT/runs/$name.server-peak-kib"
    kill "$pid"
  done
done
python3 "$OUT/summarize.py" "$OUT/runs" "$STREAMS" "$OUT_PREFIX"
