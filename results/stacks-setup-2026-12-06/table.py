"""Connection setup medians (the client's connect_ms) from this sweep's case files."""
import glob, json, pathlib, statistics

here = pathlib.Path(__file__).parent
rows = []
for f in glob.glob(str(here / "cases" / "*.json")):
    c = json.load(open(f))
    cfg = c["config"]
    ms = [r["client"]["connect_ms"] for r in c["runs"] if r["ok"] and r["kind"] == "measured"]
    rows.append((cfg["peer"], cfg.get("rtt_ms", 0), cfg.get("security", "noise"),
                 cfg.get("early_muxer", True), statistics.median(ms), min(ms), max(ms), len(ms)))
rows.sort(key=lambda r: (r[0] != "ours", r[1], r[2], not r[3]))
print("| server | rtt | security | early muxer | connect ms: median (min–max), n |")
print("|---|---|---|---|---|")
for p, r, s, e, m, lo, hi, n in rows:
    print(f"| {p} | {r:g} ms | {s} | {'on' if e else 'off'} | {m:.2f} ({lo:.2f}–{hi:.2f}), {n} |")
