#!/usr/bin/env bash
# Instruction counts (valgrind callgrind, whole process) of the SENDING side: the client of each
# binary uploads SIZE to a normal (not instrumented) server of the same binary.
# Usage: callgrind.sh SECURITY SIZE OUTDIR BIN...
set -u
SEC=$1; SIZE=$2; OUT=$3; shift 3
mkdir -p "$OUT"; port=5601
for bin in "$@"; do
  name=$(basename "$bin")
  $bin server --listen /ip4/127.0.0.1/tcp/$port --security "$SEC" >/tmp/zc-cg-$port 2>/dev/null &
  pid=$!; sleep 0.5; addr=$(head -1 /tmp/zc-cg-$port)
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$name.$SEC" \
    $bin client --security "$SEC" --server "$addr" --upload "$SIZE" --no-progress 2>&1 \
    | grep -E '^upload |Collected' | sed "s/^/$name $SEC /"
  kill $pid; port=$((port + 1))
done
