#!/usr/bin/env bash
# py-libp2p 0.8.1 against yamux-perf on loopback: 1 GiB up and 1 GiB down per run, client and
# server as separate processes (a fresh server per run), the four pairs interleaved, REPS times.
# Prints one JSON object per run:
#   {"pair", "rep", "upload_mib_s", "download_mib_s", "final_s", "client_cpu_s", "server_cpu_s",
#    "load1"}
# Per-direction goodput uses yamux-perf's definitions for both clients: upload = stream open to
# the first download byte, download = first to last download byte (our client's summary; the py
# peer's `phases:` line). CPU = user+sys: the client's from /usr/bin/time, the server's from the
# /proc/PID/stat delta over the run (start-up excluded). load1 = 1-minute load average before the
# run (2 cores; other work on the machine shows up here).
# Usage: results/py-2026-11-25/run.sh [REPS] > runs.jsonl
#        (after cargo build --release and interop/build.sh py; YAMUX_PERF overrides our binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${1:-3}
SIZE=${SIZE:-$((1 << 30))}
OURS=${YAMUX_PERF:-${CARGO_TARGET_DIR:-target}/release/yamux-perf}
PY=target/interop/py/py-libp2p-perf
TMP=$(mktemp -d)
SERVER_PID=
trap 'if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; rm -rf "$TMP"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() { # $@ = server command; sets ADDR (its first stdout line) and SERVER_PID
  : >"$TMP/server.out"
  "$@" >"$TMP/server.out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 600); do [ -s "$TMP/server.out" ] && break; sleep 0.1; done
  ADDR=$(head -1 "$TMP/server.out")
}

run_pair() { # $1 = name, $2 = server kind, $3 = client kind, $4 = rep
  local addr load before after up down final ccpu scpu
  case $2 in
    ours) start_server "$OURS" server --listen /ip4/127.0.0.1/tcp/0 ;;
    py) start_server "$PY" --run-server --server-address 127.0.0.1:0 ;;
  esac
  addr=$ADDR
  load=$(cut -d' ' -f1 /proc/loadavg)
  before=$(cpu_ticks "$SERVER_PID")
  case $3 in
    ours) /usr/bin/time -f '%U %S' -o "$TMP/time" timeout 600 "$OURS" client --server "$addr" \
            --upload "$SIZE" --download "$SIZE" --no-progress >"$TMP/client.out" 2>"$TMP/client.err" || true
          up=$(sed -n 's/^upload .*(\([0-9.]*\) MiB\/s)$/\1/p' "$TMP/client.err")
          down=$(sed -n 's/^download .*(\([0-9.]*\) MiB\/s)$/\1/p' "$TMP/client.err") ;;
    py) /usr/bin/time -f '%U %S' -o "$TMP/time" timeout 600 "$PY" --server-address "$addr" \
            --upload-bytes "$SIZE" --download-bytes "$SIZE" --timeout 550 >"$TMP/client.out" 2>"$TMP/client.err" || true
        up=$(sed -n 's/^phases: upload .* (\([0-9.]*\) MiB\/s), download.*/\1/p' "$TMP/client.err")
        down=$(sed -n 's/^phases: .*download .* (\([0-9.]*\) MiB\/s)$/\1/p' "$TMP/client.err") ;;
  esac
  sleep 1 # let the server finish its side of the connection
  after=$(cpu_ticks "$SERVER_PID")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
  final=$(sed -n 's/.*"type":"final","timeSeconds":\([0-9.e-]*\).*/\1/p' "$TMP/client.out")
  ccpu=$(awk '{printf "%.2f", $1 + $2}' "$TMP/time" 2>/dev/null || echo null)
  scpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t / hz}')
  echo "{\"pair\":\"$1\",\"rep\":$4,\"upload_mib_s\":${up:-null},\"download_mib_s\":${down:-null},\"final_s\":${final:-null},\"client_cpu_s\":${ccpu:-null},\"server_cpu_s\":$scpu,\"load1\":$load}"
}

for rep in $(seq "$REPS"); do
  run_pair "py->py" py py "$rep"
  run_pair "ours->py" py ours "$rep"
  run_pair "py->ours" ours py "$rep"
  run_pair "ours->ours" ours ours "$rep"
done
