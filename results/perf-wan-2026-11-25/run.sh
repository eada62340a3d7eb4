#!/usr/bin/env bash
# Side-by-side loopback run: iperf3 single stream vs yamux-perf over bare TCP, plaintext and
# Noise (1 GiB up, 1 GiB down), and 1-byte round trips (bare TCP ping-pong vs yamux). Every
# system is measured in each repetition, interleaved; raw output in raw.txt.
# Usage: run.sh BIN REPS
set -u
BIN=${1:?yamux-perf binary}; REPS=${2:-5}
out=$(dirname "$0")/raw.txt; : >"$out"
log() { echo "$*" | tee -a "$out"; }
iperf3 -s -p 5299 -D --logfile /tmp/pw-iperf3.log --pidfile /tmp/pw-iperf3.pid
$BIN server --listen /ip4/127.0.0.1/tcp/5301 --stack tcp >/dev/null 2>&1 & P1=$!
$BIN server --listen /ip4/127.0.0.1/tcp/5302 --security plaintext >/tmp/pw-s2 2>/dev/null & P2=$!
$BIN server --listen /ip4/127.0.0.1/tcp/5303 >/tmp/pw-s3 2>/dev/null & P3=$!
sleep 1
A2=$(head -1 /tmp/pw-s2); A3=$(head -1 /tmp/pw-s3)
log "machine: $(nproc) cores, $(uname -r); start load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$REPS"); do
  log "rep $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  up=$(iperf3 -c 127.0.0.1 -p 5299 -n 1G -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
  down=$(iperf3 -c 127.0.0.1 -p 5299 -n 1G -R -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
  log "iperf3 up_bps=$up down_bps=$down"
  for sys in "tcp --stack tcp --server /ip4/127.0.0.1/tcp/5301" "plaintext --security plaintext --server $A2" "noise --server $A3"; do
    name=${sys%% *}; args=${sys#* }
    line=$($BIN client $args --upload 1GiB --download 1GiB --no-progress 2>&1 | grep -E '^(upload|download) ' | tr '\n' ' ')
    log "$name $line"
  done
  for sys in "tcp --stack tcp --server /ip4/127.0.0.1/tcp/5301" "plaintext --security plaintext --server $A2" "noise --server $A3"; do
    name=${sys%% *}; args=${sys#* }
    line=$($BIN client $args --latency 2000 --early-fin --no-progress 2>&1 | grep latency)
    log "latency-$name $line"
  done
done
kill $P1 $P2 $P3
kill "$(cat /tmp/pw-iperf3.pid)"
log "end load: $(cut -d' ' -f1-3 /proc/loadavg)"
