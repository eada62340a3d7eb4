#!/usr/bin/env bash
# A/B of the zero-copy send path: OLD and NEW yamux-perf binaries, ours<->ours over loopback,
# plaintext and Noise, 1 GiB up + 1 GiB down, interleaved per repetition, plus iperf3 (single
# stream, 1 GiB each way) in every repetition for the ratio. Per client run: the client's rates,
# the client's CPU seconds (user+sys, /usr/bin/time) and the server's CPU seconds over the run
# (/proc/PID/stat utime+stime delta). Raw lines go to raw.txt.
# Usage: run.sh OLD_BIN NEW_BIN REPS
set -u
OLD=${1:?old binary}; NEW=${2:?new binary}; REPS=${3:-5}
out=$(dirname "$0")/raw.txt; : >"$out"
log() { echo "$*" | tee -a "$out"; }
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
iperf3 -s -p 5399 -D --pidfile /tmp/zc-iperf3.pid
declare -A PID ADDR
port=5401
for ver in old new; do
  for sec in plaintext noise; do
    bin=$OLD; [ $ver = new ] && bin=$NEW
    $bin server --listen /ip4/127.0.0.1/tcp/$port --security $sec >/tmp/zc-$ver-$sec 2>/dev/null &
    PID[$ver-$sec]=$!; port=$((port + 1))
  done
done
sleep 1
for k in "${!PID[@]}"; do ADDR[$k]=$(head -1 /tmp/zc-$k); done
log "machine: $(nproc) cores, $(uname -r); start load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$REPS"); do
  log "rep $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  up=$(iperf3 -c 127.0.0.1 -p 5399 -n 1G -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
  down=$(iperf3 -c 127.0.0.1 -p 5399 -n 1G -R -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
  log "iperf3 up_bps=$up down_bps=$down"
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for sec in plaintext noise; do
    for ver in $order; do
      bin=$OLD; [ $ver = new ] && bin=$NEW
      k=$ver-$sec
      s0=$(cpu ${PID[$k]})
      line=$( { /usr/bin/time -f "client_cpu=%U+%S" $bin client --security $sec --server ${ADDR[$k]} \
        --upload 1GiB --download 1GiB --no-progress 2>&1; } | grep -E '^(upload|download) |client_cpu' | tr '\n' ' ')
      s1=$(cpu ${PID[$k]})
      log "$ver $sec $line server_cpu=$(echo "$s1 - $s0" | bc)"
    done
  done
done
kill "${PID[@]}"
kill "$(cat /tmp/zc-iperf3.pid)"
log "end load: $(cut -d' ' -f1-3 /proc/loadavg)"
