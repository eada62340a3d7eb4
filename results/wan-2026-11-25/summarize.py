#!/usr/bin/env python3
"""Medians and ratios from raw.txt (written by run.sh)."""
import re, statistics, sys, pathlib
raw = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("raw.txt")).read_text()
vals = {}
for line in raw.splitlines():
    m = re.match(r"(up|down) Mbit/s: (.*)", line)
    if not m:
        continue
    for key, value in re.findall(r"(\w+)=([\d.]*)", m.group(2)):
        if value:
            vals.setdefault((m.group(1), key), []).append(float(value))
cols = ["tcp_rtt0", "tcp", "ours_ours", "go_go", "ours_to_go", "go_to_ours"]
print("| direction | " + " | ".join(cols) + " | ours_ours / link | ours_ours / go_go |")
print("|---|" + "---|" * (len(cols) + 2))
for d in ["up", "down"]:
    med = {c: statistics.median(vals[(d, c)]) for c in cols if (d, c) in vals}
    runs = min(len(vals[(d, c)]) for c in cols if (d, c) in vals)
    cells = " | ".join(f"{med[c]:.0f}" if c in med else "–" for c in cols)
    print(f"| {d} ({runs} runs) | {cells} | {med['ours_ours'] / 1000:.2f} | {med['ours_ours'] / med['go_go']:.2f} |")
