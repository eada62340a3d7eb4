#!/usr/bin/env python3
"""Medians over the repetitions of run.sh's runs: throughput, streams per second and both
sides' peak memory, in all and per stream."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from cells import load_cells, median  # noqa: E402

runs, streams = Path(sys.argv[1]), int(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else ""
cells = {c: r for c, r in load_cells(runs).items()
         if c.startswith(prefix) and (prefix or "-" not in c)}
print("| server | n | total s | streams/s | up+down Gbit/s | server peak RSS MiB | per stream KiB "
      "| client peak RSS MiB | per stream KiB |")
print("|---|---|---|---|---|---|---|---|---|")
for cell, reports in sorted(cells.items()):
    peaks = [int(p.read_text()) for p in sorted(runs.glob(f"{cell}-rep*.server-peak-kib"))]
    secs = median(r["total_seconds"] for r in reports)
    gbit = median((r["total"]["upload"]["bytes"] + r["total"]["download"]["bytes"]) * 8
                  / r["total_seconds"] / 1e9 for r in reports)
    server = median(peaks)
    client = median(r["process"]["peak_rss_bytes"] / 1024 for r in reports)
    print(f"| {cell} | {len(reports)} | {secs:.2f} | {streams / secs:.0f} | {gbit:.2f} "
          f"| {server / 1024:.1f} | {server / streams:.1f} | {client / 1024:.1f} "
          f"| {client / streams:.1f} |")
