#!/bin/bash
# RUNS back-to-back runs of .ci/gate (default 20) on a built tree; one log per run under OUT
# (default results/gate-2026-12-07/runs), and one line per run in OUT/runs.tsv:
# run, exit code, seconds, 1-minute load average before the run, the gate's verdict line.
set -uo pipefail
RUNS=${RUNS:-20}
OUT=${OUT:-results/gate-2026-12-07/runs}
mkdir -p "$OUT"
cargo build --release --quiet
printf 'run\trc\tseconds\tload_before\tverdict\n' >"$OUT/runs.tsv"
for i in $(seq 1 "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$SECONDS
  .ci/gate >"$OUT/run-$i.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$((SECONDS - start))" "$load" "$(tail -n 1 "$OUT/run-$i.log")" >>"$OUT/runs.tsv"
done
cat "$OUT/runs.tsv"
