#!/usr/bin/env bash
# Stream churn: our client's --churn against our server and go-libp2p's (interop/go-peer),
# loopback, tcp/noise/yamux, one stream at a time and 16 at a time; REPS interleaved
# repetitions (every cell once per round). Writes runs/*.json (the client's --report) and prints
# the medians (summarize.py). The servers' own resident memory is read from /proc after each
# round (VmRSS) and printed beside the cells.
#
#   results/churn-2026-12-07/run.sh        # from the repository root
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/yamux-perf}
GO=${GO:-target/interop/go/go-libp2p-perf}
REPS=${REPS:-5}
COUNT=${COUNT:-100000}
OUT=results/churn-2026-12-07
mkdir -p "$OUT/runs"
. results/lib/peers.sh

declare -A addr
addr[ours]=$(start ours "$BIN" server --listen /ip4/127.0.0.1/tcp/0)
addr[go]=$(start go "$GO" --run-server --server-address 127.0.0.1:0)
rss() { awk '/^VmRSS:/ {print $2 " KiB"}' "/proc/$(cat "$peers_tmp/$1.pid")/status"; }
for peer in ours go; do echo "server $peer at start: $(rss $peer)" >&2; done

for rep in $(seq "$REPS"); do
  for concurrency in 1 16; do
    for peer in ours go; do
      echo "rep $rep $peer $COUNT:$concurrency" >&2
      "$BIN" client --server "${addr[$peer]}" --churn "$COUNT:$concurrency" --no-progress \
        --timeout 600 --report "$OUT/runs/c$concurrency-$peer-rep$rep.json" 2> >(grep -E '^churn' >&2)
    done
  done
  for peer in ours go; do echo "server $peer after round $rep: $(rss $peer)" >&2; done
done
python3 "$OUT/summarize.py" "$OUT/runs"
