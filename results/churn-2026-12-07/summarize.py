#!/usr/bin/env python3
"""Medians over the repetitions of run.sh's reports, one Markdown row per cell."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from cells import load_cells, median  # noqa: E402

cells = load_cells(sys.argv[1])
print("| cell (concurrency-server) | n | streams/s (median) | open to close p50 ms | p99 ms "
      "| client RSS after 1000 / at end, MiB |")
print("|---|---|---|---|---|---|")
for cell, reports in sorted(cells.items()):
    c = [r["churn"] for r in reports]
    mib = lambda key: median(x[key] for x in c) / 1048576  # noqa: E731
    print(f"| {cell} | {len(reports)} | {median(x['streams_per_second'] for x in c):.0f} "
          f"| {median(x['open_to_close_ms']['p50'] for x in c):.3f} "
          f"| {median(x['open_to_close_ms']['p99'] for x in c):.3f} "
          f"| {mib('rss_after_checkpoint_bytes'):.1f} / {mib('rss_at_end_bytes'):.1f} |")
