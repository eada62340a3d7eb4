#!/usr/bin/env bash
# Issue 7, final measurements on this machine, side by side in one run (see README.md here).
# usage: results/perf-2026-11-26/run.sh BINARY [REPS]   (from the repository root, peers built)
set -eu
BIN=${1:?yamux-perf binary}; REPS=${2:-5}; DIR=$(dirname "$0")
echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$DIR/machine.txt"
# 1. Throughput, CPU and peak RSS per side, 1 GiB one way per run, interleaved.
python3 results/perf-2026-11-25/measure.py "$DIR/loopback-1GiB.json" 1073741824 "$REPS" \
  ours="$BIN" ours-plaintext="$BIN,--security,plaintext" ours-tcp="$BIN,--stack,tcp" \
  go=target/interop/go/peer js=target/interop/js/peer > "$DIR/loopback-1GiB.log"
python3 results/perf-2026-11-25/summarize.py "$DIR/loopback-1GiB.json" | tee "$DIR/loopback-1GiB.md"
# 2. iperf3, one stream, 1 GiB each way, the same repetitions.
iperf3 -s -p 5299 -D --pidfile /tmp/perf26-iperf3.pid; sleep 0.5
: > "$DIR/iperf3.txt"
for r in $(seq "$REPS"); do
  for dir in up down; do
    flag=$([ $dir = down ] && echo -R || true)
    bps=$(iperf3 -c 127.0.0.1 -p 5299 -n 1G $flag -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
    echo "rep $r $dir bits_per_second=$bps load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$DIR/iperf3.txt"
  done
done
kill "$(cat /tmp/perf26-iperf3.pid)"
# 3. Round-trip latency, pinned to one core and not pinned.
PIN="taskset -c 0" python3 "$DIR/latency.py" "$BIN" "$REPS" 5000 "$DIR/latency-pinned.json" | tee "$DIR/latency-pinned.txt"
python3 "$DIR/latency.py" "$BIN" "$REPS" 5000 "$DIR/latency-unpinned.json" | tee "$DIR/latency-unpinned.txt"
