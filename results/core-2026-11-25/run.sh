#!/usr/bin/env bash
# Reference run for issue 2: 1 GiB up and 1 GiB down, client and server as separate processes on
# loopback, every pair in one run, interleaved, REPS times. Prints one JSON object per run:
# {"pair", "rep", "upload_mib_s", "download_mib_s", "final"}.
# Usage: results/core-2026-11-25/run.sh [REPS]   (after cargo build --release and interop/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${1:-5}
SIZE=$((1 << 30))
OURS=target/release/yamux-perf
RUST=target/interop/rust/release/rust-libp2p-perf

start_server() { # $@ = server command; sets ADDR (its first stdout line) and SERVER_PID
  # Not called in $(...): the PID must be set in this shell, not in a sub-shell.
  local out; out=$(mktemp)
  "$@" >"$out" 2>/dev/null &
  SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  ADDR=$(head -1 "$out")
}

run_pair() { # $1 = name, $2 = server kind, $3 = client kind, $4 = rep
  local addr line
  case $2 in
    ours) start_server $OURS server --listen /ip4/127.0.0.1/tcp/0 ;;
    rust) start_server $RUST --run-server --server-address 127.0.0.1:0 ;;
  esac
  addr=$ADDR
  case $3 in
    ours) line=$(timeout 300 $OURS client --server "$addr" --upload $SIZE --download $SIZE 2>/tmp/core-client.err | tail -1) ;;
    rust) line=$(timeout 300 $RUST --server-address "$addr" --upload-bytes $SIZE --download-bytes $SIZE 2>/tmp/core-client.err | tail -1) ;;
  esac
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  # Per-direction goodput from our client's summary (stderr); rust's client only reports the total.
  local up down
  up=$(grep -o 'upload .*(\([0-9]*\) MiB/s)' /tmp/core-client.err | grep -o '[0-9]* MiB/s' | grep -o '[0-9]*' || echo null)
  down=$(grep -o 'download .*(\([0-9]*\) MiB/s)' /tmp/core-client.err | grep -o '[0-9]* MiB/s' | grep -o '[0-9]*' || echo null)
  echo "{\"pair\":\"$1\",\"rep\":$4,\"upload_mib_s\":${up:-null},\"download_mib_s\":${down:-null},\"final\":$line}"
}

for rep in $(seq "$REPS"); do
  run_pair "ours->ours" ours ours "$rep"
  run_pair "ours->rust" rust ours "$rep"
  run_pair "rust->ours" ours rust "$rep"
  run_pair "rust->rust" rust rust "$rep"
done
