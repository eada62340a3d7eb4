#!/usr/bin/env bash
# A/B of the receive-window growth rule at 50 ms RTT / 1 Gbit/s (relay queue 8 MiB): ours↔ours,
# both sides with --autotune-rule go, then both with ramp, interleaved; goodput of 256 MiB up
# and of 256 MiB down from the client's summary (stream timing: ramp included, setup not).
# Usage: rule-ab.sh BIN REPS
set -u
BIN=${1:?yamux-perf}; REPS=${2:-5}
out=$(dirname "$0")/rule-ab.txt; : >"$out"
log() { echo "$*" | tee -a "$out"; }
pids=()
for rule in go ramp; do
  $BIN server --listen /ip4/127.0.0.1/tcp/0 --autotune-rule $rule >/tmp/pw-ab-s-$rule 2>/dev/null & pids+=($!)
done
sleep 1
for rule in go ramp; do
  $BIN relay --to "$(head -1 /tmp/pw-ab-s-$rule)" --rtt 50ms --rate 1Gbit --queue 8MiB >/tmp/pw-ab-r-$rule 2>/dev/null & pids+=($!)
done
sleep 1
log "start load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$REPS"); do
  for rule in go ramp; do
    A=$(head -1 /tmp/pw-ab-r-$rule)
    up=$($BIN client --server "$A" --autotune-rule $rule --upload 256MiB --no-progress 2>&1 | grep -o '^upload .*Gbit/s' | grep -o '[0-9.]* Gbit/s')
    down=$($BIN client --server "$A" --autotune-rule $rule --download 256MiB --no-progress 2>&1 | grep -o '^download .*Gbit/s' | grep -o '[0-9.]* Gbit/s')
    log "rep $r rule=$rule up=$up down=$down load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
kill "${pids[@]}"
