#!/usr/bin/env python3
"""Medians per implementation and direction from measure.py's JSON, as a Markdown table.

usage: summarize.py RESULTS.json [BASE=go] [OTHER=js]
"""
import json, statistics, sys

GIB = 1 << 30


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main():
    data = json.load(open(sys.argv[1]))
    base = sys.argv[2] if len(sys.argv) > 2 else "go"
    other = sys.argv[3] if len(sys.argv) > 3 else "js"
    rows = {}
    for run in data["runs"]:
        key = (run["impl"], run["direction"])
        rows.setdefault(key, []).append(run)
    stats = {}
    for (impl, direction), runs in rows.items():
        ok = [r for r in runs if r["ok"]]
        gib = data["size"] / GIB
        stats[impl, direction] = {
            "n": len(ok), "failed": len(runs) - len(ok),
            "gbit_s": med([r["gbit_s"] for r in ok]),
            "client_cpu": med([r["client_cpu_s"] / gib for r in ok]),
            "server_cpu": med([r["server_cpu_s"] / gib for r in ok]),
            "client_rss": med([r["client_peak_rss"] / 2**20 for r in ok]),
            "server_rss": med([r["server_peak_rss"] / 2**20 for r in ok]),
            "load": med([r["load"] for r in runs]),
        }
    print(f"size {data['size'] / GIB:g} GiB per run, {data['reps']} repetitions, medians\n")
    print("| pair | direction | Gbit/s | × go | × js | client CPU-s/GiB | server CPU-s/GiB "
          "| bytes/CPU-s × go | client peak RSS MiB | server peak RSS MiB | runs ok |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (impl, direction), s in sorted(stats.items()):
        b = stats.get((base, direction))
        o = stats.get((other, direction))
        cpu = s["client_cpu"] + s["server_cpu"]
        ratio = lambda x: f"{x:.2f}" if x == x else "-"
        vs_base = ratio(s["gbit_s"] / b["gbit_s"]) if b else "-"
        vs_other = ratio(s["gbit_s"] / o["gbit_s"]) if o else "-"
        cpu_ratio = ratio((b["client_cpu"] + b["server_cpu"]) / cpu) if b else "-"
        print(f"| {impl}↔{impl} | {direction} | {s['gbit_s']:.2f} | {vs_base} | {vs_other} "
              f"| {s['client_cpu']:.2f} | {s['server_cpu']:.2f} | {cpu_ratio} "
              f"| {s['client_rss']:.0f} | {s['server_rss']:.0f} | {s['n']}/{s['n'] + s['failed']} |")
    loads = [r["load"] for r in data["runs"]]
    print(f"\n1-minute load average during the runs: min {min(loads):.1f}, "
          f"median {statistics.median(loads):.1f}, max {max(loads):.1f} (2 cores)")


if __name__ == "__main__":
    main()
