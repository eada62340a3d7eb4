#!/usr/bin/env python3
"""System libcrypto vs the vendored OpenSSL (openssl-src) side by side, interleaved.

Usage: measure.py AEAD_SYSTEM AEAD_VENDORED YP_SYSTEM YP_VENDORED [--reps N] [--openssl-only]
                  [--out NAME]

AEAD_*: the `aead` criterion bench binary of each build (cargo bench --bench aead --no-run);
YP_*: the release yamux-perf of each build. Each repetition runs, in turn for each build,
the ChaCha20-Poly1305 seal/open benches at 16 KiB and at the Noise message size (plus ring and
aws-lc-rs from the same binary, for reference), then `client --upload 1GiB --download 1GiB`
(embedded server, tcp+noise+yamux), whose throughput and process CPU per byte (user + system,
both directions) it records. `--openssl-only` leaves ring and aws-lc-rs out. Prints medians and
the vendored/system ratio and writes NAME (default measurements.json) next to this script.
"""
import json, os, re, statistics, subprocess, sys, tempfile

def option(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default

reps = int(option("--reps", 5))
out_name = option("--out", "measurements.json")
values = {str(reps), out_name}
args = [a for a in sys.argv[1:] if not a.startswith("--") and a not in values]
aead = {"system": args[0], "vendored": args[1]}
yp = {"system": args[2], "vendored": args[3]}
FILTER = (r"^aead/openssl/(seal|open)/(16384|65519)$" if "--openssl-only" in sys.argv
          else r"^aead/(openssl|ring|aws-lc-rs)/(seal|open)/(16384|65519)$")
UNIT = {"GiB/s": 1.0, "MiB/s": 1 / 1024, "KiB/s": 1 / 1024 / 1024}

def run_aead(binary):
    home = tempfile.mkdtemp()
    out = subprocess.run([binary, "--bench", FILTER, "--measurement-time", "2",
                          "--warm-up-time", "1", "--noplot"], capture_output=True, text=True,
                         env={**os.environ, "CRITERION_HOME": home}, check=True).stdout
    found = {}
    name = None
    for line in out.splitlines():
        m = re.match(r"^(aead/\S+)", line)
        if m:
            name = m.group(1)
        t = re.search(r"thrpt:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            found[name] = float(t.group(1)) * UNIT[t.group(2)]
            name = None
    return found

def run_noise(binary):
    report = os.path.join(tempfile.mkdtemp(), "report.json")
    subprocess.run([binary, "client", "--upload", "1GiB", "--download", "1GiB",
                    "--report", report], capture_output=True, check=True)
    doc = json.load(open(report))
    total, process = doc["total"], doc["process"]
    found = {f"{d}_gbit_s": total[d]["bits_per_second"] / 1e9 for d in ("upload", "download")}
    moved = total["upload"]["bytes"] + total["download"]["bytes"]
    found["cpu_ns_per_byte"] = (process["cpu_user_s"] + process["cpu_sys_s"]) * 1e9 / moved
    return found

samples = {}
for rep in range(reps):
    for build in ("system", "vendored"):
        for k, v in run_aead(aead[build]).items():
            samples.setdefault(f"{build} {k} GiB/s", []).append(v)
        r = run_noise(yp[build])
        for key, value in r.items():
            samples.setdefault(f"{build} noise {key}", []).append(value)
        print(f"rep {rep + 1}/{reps} {build} done", file=sys.stderr, flush=True)

med = {k: statistics.median(v) for k, v in samples.items()}
for k in sorted(med):
    print(f"{k:55s} {med[k]:8.3f}  {samples[k]}")
print()
for k in sorted(med):
    if k.startswith("system "):
        other = "vendored " + k[len("system "):]
        if other in med:
            print(f"vendored/system {k[len('system '):]:45s} {med[other] / med[k]:.3f}")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), out_name), "w") as f:
    json.dump({"reps": reps, "samples": samples, "medians": med}, f, indent=1)
