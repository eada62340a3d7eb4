#!/usr/bin/env python3
"""Medians over the repetitions of run.sh's reports, one Markdown row per cell."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from cells import fmt, load_cells, median  # noqa: E402

cells = load_cells(sys.argv[1])


print("Fairness, 16 equal streams, our client's --autotune-rule go vs shared (Jain's index)\n")
print("| cell (load-workload-server-rule) | n | download Gbit/s | overall (median) "
      "| overall (worst) | min per interval after first (median) | (worst rep) |")
print("|---|---|---|---|---|---|---|")
for cell, reports in sorted(cells.items()):
    f = [r["fairness"] for r in reports]
    overall = [x["jain_overall"] for x in f]
    mins = [x["min_jain_after_first"] for x in f]
    row = [
        f"{median(r['total']['download']['bits_per_second'] / 1e9 for r in reports):.2f}",
        fmt(median(overall)),
        fmt(min((v for v in overall if v is not None), default=None)),
        fmt(median(mins)),
        fmt(min((m for m in mins if m is not None), default=None)),
    ]
    print(f"| {cell} | {len(reports)} | " + " | ".join(row) + " |")
