#!/usr/bin/env python3
"""go-libp2p interop reference run: 1 GiB up + 1 GiB down, client and server as separate
processes on loopback, the four pairs interleaved in one session, REPS times.

Prints one JSON object per run (pair, rep, per-direction MiB/s from the client's stderr summary,
total MiB/s from the final line, client and server CPU seconds) and then a table of medians.
Client CPU = user+sys from /usr/bin/time; server CPU = utime+stime delta from /proc/PID/stat
between its address line and the end of the run (a fresh server per run).

With --latency N it instead runs 1 byte up and 1 byte down N times per pair against one
long-lived server per pair and prints the median final.timeSeconds (connection setup, identify
and one perf round trip).

Usage: results/go-interop-2026-11-25/run.py [REPS] > runs.jsonl
       results/go-interop-2026-11-25/run.py --latency 15
  OURS=path/to/yamux-perf (default $CARGO_TARGET_DIR/release/yamux-perf or target/release/...)
  GO=path/to/go-libp2p-perf (default target/interop/go/go-libp2p-perf)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OURS = os.environ.get("OURS") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "yamux-perf")
GO = os.environ.get("GO") or os.path.join(ROOT, "target", "interop", "go", "go-libp2p-perf")
SIZE = 1 << 30
TICK = os.sysconf("SC_CLK_TCK")
PAIRS = [  # name, client, server
    ("go->go", "go", "go"),
    ("ours->go", "ours", "go"),
    ("go->ours", "go", "ours"),
    ("ours->ours", "ours", "ours"),
]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def start_server(kind, log):
    if kind == "go":
        cmd = [GO, "--run-server", "--server-address", "127.0.0.1:0"]
    else:
        cmd = [OURS, "server", "--listen", "/ip4/127.0.0.1/tcp/0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    addr = proc.stdout.readline().strip()
    return proc, addr


def client_cmd(kind, addr):
    if kind == "go":
        return [GO, "--server-address", addr, "--upload-bytes", str(SIZE),
                "--download-bytes", str(SIZE), "--timeout", "280"]
    return [OURS, "client", "--server", addr, "--upload", str(SIZE), "--download", str(SIZE),
            "--no-progress", "--timeout", "280"]


def wait_for(path, needle, limit=10.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        if needle in open(path, errors="replace").read():
            return True
        time.sleep(0.02)
    return False


def rate(stderr, direction):
    # ours: "upload    1GiB in 1.750 s: 4.91 Gbit/s (585 MiB/s)"; go: "upload    N B in X s: Y MiB/s"
    m = re.search(rf"^{direction}\s.*?([0-9.]+) MiB/s\)?$", stderr, re.M)
    return float(m.group(1)) if m else None


def run(name, client, server, rep):
    log_path = f"/tmp/go-interop-server-{os.getpid()}.log"
    with open(log_path, "w") as log:
        proc, addr = start_server(server, log)
        try:
            cpu0 = cpu_seconds(proc.pid)
            timing = f"/tmp/go-interop-time-{os.getpid()}"
            out = subprocess.run(["/usr/bin/time", "-f", "%U %S", "-o", timing]
                                 + client_cmd(client, addr),
                                 capture_output=True, text=True, timeout=300)
            done = "perf stream done" if server == "go" else "connection closed"
            served = wait_for(log_path, done)
            server_cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            proc.kill()
            proc.wait()
    user, system = map(float, open(timing).read().split()[-2:])
    final = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
    return {
        "pair": name, "rep": rep, "exit": out.returncode, "server_done": served,
        "loadavg_1m": float(open("/proc/loadavg").read().split()[0]),
        "upload_mib_s": rate(out.stderr, "upload"),
        "download_mib_s": rate(out.stderr, "download"),
        "total_mib_s": round(2 * SIZE / (1 << 20) / final["timeSeconds"], 1) if final else None,
        "client_cpu_s": round(user + system, 2), "server_cpu_s": round(server_cpu, 2),
        "final": final,
    }


def latency(n):
    print("| client → server | median ms | min ms | max ms |  (connect + 1 B each way, "
          f"{n} runs, load {open('/proc/loadavg').read().split()[0]})")
    print("|---|---|---|---|")
    for name, client, server in PAIRS:
        with open(os.devnull, "w") as log:
            proc, addr = start_server(server, log)
            try:
                times = []
                for _ in range(n):
                    cmd = client_cmd(client, addr)
                    cmd = [a if a != str(SIZE) else "1" for a in cmd]
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                         check=True)
                    times.append(json.loads(out.stdout.strip().splitlines()[-1])["timeSeconds"])
            finally:
                proc.kill()
                proc.wait()
        ms = sorted(t * 1e3 for t in times)
        print(f"| {name} | {statistics.median(ms):.2f} | {ms[0]:.2f} | {ms[-1]:.2f} |")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--latency":
        latency(int(sys.argv[2]))
        return
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = []
    for rep in range(1, reps + 1):
        for name, client, server in PAIRS:
            r = run(name, client, server, rep)
            results.append(r)
            print(json.dumps(r), flush=True)
    print(f"\n| client → server | up MiB/s | down MiB/s | total MiB/s (2 GiB / final time) | "
          f"client CPU s | server CPU s |  (median of {reps})", file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    for name, _, _ in PAIRS:
        rows = [r for r in results if r["pair"] == name and r["exit"] == 0]
        med = lambda k: statistics.median(r[k] for r in rows) if rows else None
        print(f"| {name} | {med('upload_mib_s')} | {med('download_mib_s')} | {med('total_mib_s')} | "
              f"{med('client_cpu_s')} | {med('server_cpu_s')} |", file=sys.stderr)


if __name__ == "__main__":
    main()
