#!/usr/bin/env python3
"""Medians over the repetitions of run.sh's reports, one Markdown row per cell."""
import json
import statistics
import sys
from pathlib import Path

runs = Path(sys.argv[1])
cells = {}
for path in sorted(runs.glob("*.json")):
    cell = path.stem.rsplit("-rep", 1)[0]
    cells.setdefault(cell, []).append(json.loads(path.read_text()))

print("| cell | n | download Gbit/s | same idle p50 | same loaded p50 | same loaded p99 "
      "| separate loaded p50 | separate loaded p99 | muxer-added p50 | muxer-added p99 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for cell in ["ours-0ms", "go-0ms", "ours-20ms", "go-20ms"]:
    reports = cells.get(cell, [])
    if not reports:
        continue
    med = lambda f: statistics.median(f(r) for r in reports)
    l = lambda r: r["latency_under_load"]
    s, c = "same_connection", "separate_connection"
    row = [
        med(lambda r: r["total"]["download"]["bits_per_second"] / 1e9),
        med(lambda r: l(r)[s]["idle_ms"]["p50"]),
        med(lambda r: l(r)[s]["loaded_ms"]["p50"]),
        med(lambda r: l(r)[s]["loaded_ms"]["p99"]),
        med(lambda r: l(r)[c]["loaded_ms"]["p50"]),
        med(lambda r: l(r)[c]["loaded_ms"]["p99"]),
        med(lambda r: l(r)[s]["loaded_ms"]["p50"] - l(r)[c]["loaded_ms"]["p50"]),
        med(lambda r: l(r)[s]["loaded_ms"]["p99"] - l(r)[c]["loaded_ms"]["p99"]),
    ]
    print(f"| {cell} | {len(reports)} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
