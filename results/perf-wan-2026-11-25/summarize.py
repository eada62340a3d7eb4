#!/usr/bin/env python3
"""Medians and ratios from raw.txt (written by run.sh)."""
import re, statistics, sys, pathlib
raw = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("raw.txt")).read_text()
rates = {}
lat = {}
for line in raw.splitlines():
    if line.startswith("iperf3 "):
        up, down = re.findall(r"=([\d.]+)", line)
        rates.setdefault(("iperf3", "up"), []).append(float(up) / 1e9)
        rates.setdefault(("iperf3", "down"), []).append(float(down) / 1e9)
    elif line.startswith(("tcp ", "plaintext ", "noise ")):
        name = line.split()[0]
        up, down = re.findall(r"([\d.]+) Gbit/s", line)
        rates.setdefault((name, "up"), []).append(float(up))
        rates.setdefault((name, "down"), []).append(float(down))
    elif line.startswith("latency-"):
        name = line.split()[0][len("latency-"):]
        lat.setdefault(name, []).append(float(re.search(r"p50 ([\d.]+) ms", line).group(1)) * 1e3)
med = {k: statistics.median(v) for k, v in rates.items()}
print("| system | up Gbit/s (median) | down Gbit/s (median) | up / iperf3 | down / iperf3 | runs |")
print("|---|---|---|---|---|---|")
for name in ["iperf3", "tcp", "plaintext", "noise"]:
    u, d = med[(name, "up")], med[(name, "down")]
    print(f"| {name} | {u:.2f} | {d:.2f} | {u / med[('iperf3', 'up')]:.2f} | {d / med[('iperf3', 'down')]:.2f} | {len(rates[(name, 'up')])} |")
print()
print("| 1-byte round trip | p50 µs (median of runs) | / bare TCP ping-pong | runs |")
print("|---|---|---|---|")
base = statistics.median(lat["tcp"])
for name in ["tcp", "plaintext", "noise"]:
    m = statistics.median(lat[name])
    print(f"| {name} | {m:.0f} | {m / base:.2f} | {len(lat[name])} |")
