#!/usr/bin/env python3
"""Round-trip latency side by side: bare TCP ping-pong vs yamux-perf's stack, interleaved.

Modes (all from one yamux-perf binary, servers started once, clients run in turn):
- tcp-1B:      `client --stack tcp --latency N`: 1-byte ping-pong on one TCP connection
- tcp-32B:     `client --stack tcp --ping N`: 32-byte ping-pong on one TCP connection
- noise-ping:  `client --ping N`: /ipfs/ping/1.0.0 (32 bytes) on one yamux stream, Noise
- plain-ping:  the same with `--security plaintext`
- noise-perf:  `client --latency N/2 --early-fin`: a fresh stream per round (SYN, multistream,
               1 byte each way, both FINs), as test-plans measures latency
Each client prints p50 over its N rounds; the table shows the median (and all values) of those
p50s over the repetitions. With PIN="taskset -c 0" every process runs on CPU 0, so a round trip
is two context switches on one core and no cross-core wake-up: the stack's CPU cost per round
trip, steady under load. Unpinned, the idle-state wake-up latency of this VM's cores dominates.

usage: [PIN="taskset -c 0"] latency.py BINARY REPS ROUNDS OUT.json
"""
import json, os, random, re, statistics, subprocess, sys, time

binary, reps, rounds, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pin = os.environ.get("PIN", "").split()
servers, addrs = [], {}
for key, flags in (("tcp", ["--stack", "tcp"]), ("noise", []), ("plain", ["--security", "plaintext"])):
    p = subprocess.Popen(pin + [binary, "server", "--listen", "/ip4/127.0.0.1/tcp/0"] + flags,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    servers.append(p)
    addrs[key] = p.stdout.readline().strip()
modes = [("tcp-1B", "tcp", ["--stack", "tcp", "--latency", str(rounds)]),
         ("tcp-32B", "tcp", ["--stack", "tcp", "--ping", str(rounds)]),
         ("noise-ping", "noise", ["--ping", str(rounds)]),
         ("plain-ping", "plain", ["--security", "plaintext", "--ping", str(rounds)]),
         ("noise-perf", "noise", ["--latency", str(rounds // 2), "--early-fin"])]
p50 = {name: [] for name, _, _ in modes}
loads = []
try:
    for rep in range(reps):
        order = list(modes)
        random.shuffle(order)
        for name, server, flags in order:
            run = subprocess.run(pin + [binary, "client", "--no-progress", "--server", addrs[server]] + flags,
                                 capture_output=True, text=True, timeout=300)
            m = re.search(r"p50 ([0-9.]+) ms", run.stderr)
            if run.returncode != 0 or not m:
                sys.exit(f"{name}: {run.stderr[-400:]}")
            p50[name].append(float(m.group(1)) * 1000)
        loads.append(os.getloadavg()[0])
finally:
    for p in servers:
        p.kill()
json.dump({"binary": binary, "pin": " ".join(pin), "reps": reps, "rounds": rounds,
           "uname": os.uname().release, "load": loads, "p50_us": p50}, open(out_path, "w"), indent=1)
print(f"{'mode':12} {'p50 µs (median)':>16}  {'× tcp-32B':>9}  all p50s (µs)")
base = statistics.median(p50["tcp-32B"])
for name, _, _ in modes:
    med = statistics.median(p50[name])
    print(f"{name:12} {med:16.1f}  {med / base:9.2f}  {sorted(round(x) for x in p50[name])}")
print(f"1-minute load: min {min(loads):.1f}, max {max(loads):.1f}; pin: {' '.join(pin) or 'none'}")
