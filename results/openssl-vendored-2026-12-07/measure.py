#!/usr/bin/env python3
"""System libcrypto vs the vendored OpenSSL (openssl-src) side by side, interleaved.

Usage: measure.py AEAD_SYSTEM AEAD_VENDORED YP_SYSTEM YP_VENDORED [--reps N]

AEAD_*: the `aead` criterion bench binary of each build (cargo bench --bench aead --no-run);
YP_*: the release yamux-perf of each build. Each repetition runs, in turn for each build,
the ChaCha20-Poly1305 seal/open benches at 16 KiB and at the Noise message size (plus ring and
aws-lc-rs from the same binary, for reference), then `client --upload 1GiB --download 1GiB`
(embedded server, tcp+noise+yamux). Prints medians and the vendored/system ratio and writes
measurements.json next to this script.
"""
import json, os, re, statistics, subprocess, sys, tempfile

args = [a for a in sys.argv[1:] if not a.startswith("--")]
reps = 5
if "--reps" in sys.argv:
    reps = int(sys.argv[sys.argv.index("--reps") + 1])
    args = [a for a in args if a != str(reps)]
aead = {"system": args[0], "vendored": args[1]}
yp = {"system": args[2], "vendored": args[3]}
FILTER = r"^aead/(openssl|ring|aws-lc-rs)/(seal|open)/(16384|65519)$"
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
    total = json.load(open(report))["total"]
    return {f"{d}_gbit_s": total[d]["bits_per_second"] / 1e9 for d in ("upload", "download")}

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
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "measurements.json"), "w") as f:
    json.dump({"reps": reps, "samples": samples, "medians": med}, f, indent=1)
