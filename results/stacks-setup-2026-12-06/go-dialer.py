import subprocess, sys, json, statistics, time
Y, G = sys.argv[1], sys.argv[2]
res = {}
for rep in range(7):
    for sec in ("noise", "tls"):
        for early in (True, False):
            srv = subprocess.Popen([Y, "server", "--listen", "/ip4/127.0.0.1/tcp/0", "--security", sec] + ([] if early else ["--no-early-muxer"]), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            addr = srv.stdout.readline().strip()
            rel = subprocess.Popen([Y, "relay", "--to", addr, "--rtt", "20ms"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            raddr = rel.stdout.readline().strip()
            t0 = time.monotonic()
            out = subprocess.run([G, "--server-address", raddr, "--upload-bytes", "1", "--download-bytes", "1", "--security", sec], capture_output=True, text=True)
            wall = time.monotonic() - t0
            final = [json.loads(l) for l in out.stdout.splitlines() if '"final"' in l]
            rel.kill(); srv.kill(); rel.wait(); srv.wait()
            if out.returncode != 0 or not final:
                print("FAIL", sec, early, out.stderr[-300:]); continue
            ms = final[0]["timeSeconds"] * 1e3
            res.setdefault(f"{sec} early_muxer={'on' if early else 'off'}", []).append(ms)
            print(sec, early, round(ms, 2), flush=True)
for k, v in res.items():
    print(f"| {k} | {statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f}), {len(v)} |")
