#!/usr/bin/env python3
"""Sim vs relay: the cases of results/window-autotune-sim/ beside their twins (same case id) in
results/window-autotune/, as a Markdown table. Run from the repository root."""
import json

MIB = 1 << 20
sim = {r["id"]: r for r in json.load(open("results/window-autotune-sim/summary.json"))["cases"]}
relay = {r["id"]: r for r in json.load(open("results/window-autotune/summary.json"))["cases"]}


def med(row, key):
    s = row.get(key)
    return s["median"] if s else None


def cell(a, b, digits):
    if a is None or b is None:
        return "–"
    ratio = f" ({a / b:.2f}×)" if b else ""
    return f"{a:.{digits}f} / {b:.{digits}f}{ratio}"


print("| RTT | max window | accounting | download Gbit/s sim / relay | upload Gbit/s sim / relay "
      "| RTTs to cap sim / relay |")
print("|---|---|---|---|---|---|")
for rtt in (10, 50, 100):
    for window in (1, 16):
        for acct in ("full", "go"):
            matches = [
                i for i, r in sim.items()
                if r["config"]["rtt_ms"] == rtt
                and r["config"]["max_window_bytes"] == window * MIB
                and r["config"]["autotune"]
                and r["config"]["window_accounting"] == acct
            ]
            (case,) = matches
            s, r = sim[case], relay[case]
            print(f"| {rtt} ms | {window} MiB | {acct} "
                  f"| {cell(med(s, 'download_gbit_s'), med(r, 'download_gbit_s'), 3)} "
                  f"| {cell(med(s, 'upload_gbit_s'), med(r, 'upload_gbit_s'), 3)} "
                  f"| {cell(med(s, 'rtts_to_cap'), med(r, 'rtts_to_cap'), 1)} |")
