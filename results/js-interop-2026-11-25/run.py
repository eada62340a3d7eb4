#!/usr/bin/env python3
"""js-libp2p interop reference run: 1 GiB up and 1 GiB down, client and server as separate
processes on loopback, every pair interleaved, REPS times. Prints one JSON object per run:

  {"pair", "rep", "upload_mib_s", "download_mib_s", "client_cpu_s", "server_cpu_s",
   "loadavg", "final"}

- MiB/s per direction from the client's stderr summary. Both clients time the same phases:
  upload = stream open to the first byte back (the server sends only after draining the upload),
  download = first byte back to the last.
- client CPU = user + sys from /usr/bin/time; server CPU = utime + stime delta of the server
  process (/proc/PID/stat) across the client's run.
- loadavg = the 1-minute load average before the run (other work on the machine skews results).

Usage (after `cargo build --release` and `interop/build.sh js`):
  results/js-interop-2026-11-25/run.py [REPS]    (OURS=/path/to/yamux-perf to pick a binary)
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = os.environ.get("OURS") or str(
    Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/yamux-perf"
)
JS = str(ROOT / "target/interop/js/js-libp2p-perf")
SIZE = 1 << 30
TICK = os.sysconf("SC_CLK_TCK")
NODE20 = {"JS_PERF_NODE": "node"}  # the system Node 20 (+ polyfill.mjs) instead of npm's 22


def server_cmd(kind):
    if kind == "ours":
        return [OURS, "server", "--listen", "/ip4/127.0.0.1/tcp/0"]
    return [JS, "--run-server", "--server-address", "127.0.0.1:0"]


def client_cmd(kind, addr):
    if kind == "ours":
        return [OURS, "client", "--server", addr, "--upload", str(SIZE), "--download",
                str(SIZE), "--no-progress", "--timeout", "280"]
    return [JS, "--server-address", addr, "--upload-bytes", str(SIZE), "--download-bytes",
            str(SIZE), "--timeout", "280"]


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rates(stderr):
    """(upload, download) MiB/s from either client's summary."""
    up = re.search(r"^upload .*?\((\d+(?:\.\d+)?) MiB/s\)", stderr, re.M)
    down = re.search(r"download .*\((\d+(?:\.\d+)?) MiB/s\)", stderr, re.M)
    return (float(up.group(1)) if up else None, float(down.group(1)) if down else None)


def run(pair, server_kind, client_kind, rep, env_extra=None):
    env = dict(os.environ, NO_COLOR="1", **(env_extra or {}))
    load = float(Path("/proc/loadavg").read_text().split()[0])
    server = subprocess.Popen(server_cmd(server_kind), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        addr = server.stdout.readline().strip()
        before = cpu_seconds(server.pid)
        with tempfile.NamedTemporaryFile("r") as timing:
            client = subprocess.run(
                ["/usr/bin/time", "-f", "%U %S", "-o", timing.name, *client_cmd(client_kind, addr)],
                capture_output=True, text=True, env=env, timeout=300)
            user, sys_ = map(float, timing.read().split()[-2:])
        time.sleep(0.3)
        server_cpu = cpu_seconds(server.pid) - before
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    lines = [l for l in client.stdout.splitlines() if l.strip()]
    final = json.loads(lines[-1]) if lines else None
    up, down = rates(client.stderr)
    record = {"pair": pair, "rep": rep, "upload_mib_s": up, "download_mib_s": down,
              "client_cpu_s": round(user + sys_, 2), "server_cpu_s": round(server_cpu, 2),
              "loadavg": load, "final": final}
    if client.returncode != 0:
        record["error"] = client.stderr.strip().splitlines()[-1:]
    print(json.dumps(record), flush=True)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for rep in range(1, reps + 1):
        run("js->js", "js", "js", rep)
        run("ours->js", "js", "ours", rep)
        run("js->ours", "ours", "js", rep)
        run("ours->ours", "ours", "ours", rep)
        run("js->js node20", "js", "js", rep, NODE20)


if __name__ == "__main__":
    main()
