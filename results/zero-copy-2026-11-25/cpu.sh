#!/usr/bin/env bash
# CPU seconds per transfer direction, side by side: each BIN runs its own server; per repetition
# (order rotated) every binary's client does --upload SIZE then --download SIZE separately.
# Prints client user+sys (/usr/bin/time) and the server's utime+stime delta (/proc/PID/stat).
# Usage: [DIRS="upload download"] cpu.sh SECURITY SIZE REPS BIN...
set -u
SEC=$1; SIZE=$2; REPS=$3; shift 3
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
pids=(); addrs=(); port=5501
for bin in "$@"; do
  $bin server --listen /ip4/127.0.0.1/tcp/$port --security "$SEC" >/tmp/zc-cpu-$port 2>/dev/null &
  pids+=($!); sleep 0.5; addrs+=("$(head -1 /tmp/zc-cpu-$port)"); port=$((port + 1))
done
n=$#
for r in $(seq 1 "$REPS"); do
  echo "rep $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  for j in $(seq 0 $((n - 1))); do
    i=$(( (j + r) % n )); bin=$(eval echo \${$((i + 1))})
    for dir in ${DIRS:-upload download}; do
      s0=$(cpu ${pids[$i]})
      line=$( { /usr/bin/time -f "client_cpu=%U+%S" $bin client --security "$SEC" --server "${addrs[$i]}" \
        --$dir "$SIZE" --no-progress 2>&1; } | grep -E "^$dir |client_cpu" | tr '\n' ' ')
      s1=$(cpu ${pids[$i]})
      echo "$(basename $bin) $SEC $dir $line server_cpu=$(echo "$s1 - $s0" | bc)"
    done
  done
done
kill "${pids[@]}"
