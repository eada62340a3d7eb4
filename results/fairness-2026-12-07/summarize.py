#!/usr/bin/env python3
"""Medians over the repetitions of run.sh's reports, one Markdown row per cell."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from cells import fmt, load_cells, median  # noqa: E402

cells = load_cells(sys.argv[1])


print("Fairness, 16 equal streams (Jain's index; per interval: 1-s intervals after the first)\n")
print("| cell | n | download Gbit/s | overall (median) | min after first (median) "
      "| min after first (worst rep) | intervals with an index (median) |")
print("|---|---|---|---|---|---|---|")
for work in ["equal1g", "equal16g"]:
    for peer in ["ours", "go"]:
        reports = cells.get(f"{work}-{peer}", [])
        if not reports:
            continue
        f = [r["fairness"] for r in reports]
        mins = [x["min_jain_after_first"] for x in f]
        worst = min((m for m in mins if m is not None), default=None)
        row = [
            f"{median(r['total']['download']['bits_per_second'] / 1e9 for r in reports):.2f}",
            fmt(median(x["jain_overall"] for x in f)),
            fmt(median(mins)),
            fmt(worst),
            f"{median(sum(j is not None for j in x['jain_per_interval'][1:]) for x in f)}",
        ]
        print(f"| {work}-{peer} | {len(reports)} | " + " | ".join(row) + " |")

print("\nShort flows (20 x 64 KiB, one per 100 ms) during one 4 GiB bulk download, ms\n")
print("| cell | n | bulk Gbit/s | FCT p50 | FCT p90 | FCT p99 | FCT max | flows during bulk |")
print("|---|---|---|---|---|---|---|---|")
for peer in ["ours", "go"]:
    reports = cells.get(f"short-{peer}", [])
    if not reports:
        continue
    s = [r["short_flows"] for r in reports]
    row = [
        f"{median(r['total']['download']['bits_per_second'] / 1e9 for r in reports):.2f}",
        *(f"{median(x['fct_ms'][k] for x in s):.3f}" for k in ["p50", "p90", "p99", "max"]),
        f"{median(x['completed_during_bulk'] for x in s)} of {s[0]['count']}",
    ]
    print(f"| short-{peer} | {len(reports)} | " + " | ".join(row) + " |")
