#!/usr/bin/env bash
# Latency under load: our client with --probe ping downloading from our server and from
# go-libp2p's (interop/go-peer), over tcp/noise, direct (0 ms) and through the relay at 20 ms
# RTT; REPS interleaved repetitions (every cell once per round). Writes runs/*.json (the
# client's --report) and prints the medians (summarize.py).
#
#   results/latency-under-load-2026-12-07/run.sh        # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/yamux-perf}
GO=${GO:-target/interop/go/go-libp2p-perf}
REPS=${REPS:-5}
SIZE=${SIZE:-1GiB}
OUT=results/latency-under-load-2026-12-07
mkdir -p "$OUT/runs"
. results/lib/peers.sh

declare -A addr
addr[ours-0ms]=$(start ours "$BIN" server --listen /ip4/127.0.0.1/tcp/0)
addr[go-0ms]=$(start go "$GO" --run-server --server-address 127.0.0.1:0)
addr[ours-20ms]=$(start ours-relay "$BIN" relay --to "${addr[ours-0ms]}" --rtt 20ms)
addr[go-20ms]=$(start go-relay "$BIN" relay --to "${addr[go-0ms]}" --rtt 20ms)

for rep in $(seq "$REPS"); do
  for cell in ours-0ms go-0ms ours-20ms go-20ms; do
    echo "rep $rep $cell" >&2
    "$BIN" client --server "${addr[$cell]}" --download "$SIZE" --probe ping \
      --no-progress --timeout 300 --report "$OUT/runs/$cell-rep$rep.json" >/dev/null \
      2> >(grep -E '^(download|muxer-added)' >&2)
  done
done
python3 "$OUT/summarize.py" "$OUT/runs"
