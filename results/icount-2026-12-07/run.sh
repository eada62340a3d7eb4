#!/bin/bash
# Instruction counts of benches/icount.rs, REPS repetitions (default 3), into OUT (default
# results/icount-2026-12-07/icount.json). Needs valgrind and gungraun-runner 0.20.0.
set -euo pipefail
REPS=${REPS:-3}
OUT=${OUT:-results/icount-2026-12-07/icount.json}
TMP=$(mktemp -d)
cargo build --release --bin yamux-perf
from=()
for i in $(seq 1 "$REPS"); do
  rm -rf target/gungraun
  cargo bench --bench icount -- --save-summary=json
  cp -a target/gungraun "$TMP/run-$i"
  from+=(--from "$TMP/run-$i")
done
target/release/yamux-perf icount "${from[@]}" --out "$OUT"
rm -rf "$TMP"
