#!/usr/bin/env python3
"""Ours beside go-libp2p per stack, from measure.py's JSON: a Markdown table on stdout and a
grouped bar chart (SVG) of the medians, with iperf3 and our bare-TCP loop as reference lines.

usage: table.py RESULTS.json OUT.svg

Implementations are named `<impl>-<transport>-<security>` (`ours-tcp-tls`, `go-ws-noise`);
`iperf3` and `ours-bare-tcp` are the references.
"""
import json, statistics, sys

GIB = 1 << 30
STACKS = [(t, s) for t in ("tcp", "ws") for s in ("noise", "tls", "plaintext")]
IMPLS = ("ours", "go")
WAYS = ("upload", "download")
REFS = ("iperf3", "ours-bare-tcp")


def medians(data):
    out = {}
    for run in data["runs"]:
        out.setdefault((run["impl"], run["direction"]), []).append(run)
    stats = {}
    for key, runs in out.items():
        ok = [r for r in runs if r["ok"]]
        med = lambda f: statistics.median([f(r) for r in ok]) if ok else float("nan")
        stats[key] = {
            "gbit_s": med(lambda r: r["gbit_s"]),
            "min": min((r["gbit_s"] for r in ok), default=float("nan")),
            "max": max((r["gbit_s"] for r in ok), default=float("nan")),
            "cpu": med(lambda r: (r["client_cpu_s"] + r["server_cpu_s"]) / (data["size"] / GIB)),
            "rss": med(lambda r: max(r["client_peak_rss"], r["server_peak_rss"] or 0) / 2**20),
            "n": f"{len(ok)}/{len(runs)}",
        }
    return stats


def table(stats):
    rows = ["| transport | security | direction | ours Gbit/s | go↔go Gbit/s | ours ÷ go "
            "| ours ÷ iperf3 | ours ÷ ours tcp | CPU-s/GiB ours / go | peak RSS MiB ours / go "
            "| runs ok ours / go |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t, s in STACKS:
        for way in WAYS:
            o, g = stats.get((f"ours-{t}-{s}", way)), stats.get((f"go-{t}-{s}", way))
            ip = stats.get(("iperf3", way))
            tcp = stats.get((f"ours-tcp-{s}", way))
            if not o or not g:
                continue
            ratio = lambda a, b: f"{a['gbit_s'] / b['gbit_s']:.2f}" if b else "-"
            rows.append(
                f"| {t} | {s} | {way} | {o['gbit_s']:.2f} ({o['min']:.2f}–{o['max']:.2f}) "
                f"| {g['gbit_s']:.2f} ({g['min']:.2f}–{g['max']:.2f}) | {ratio(o, g)} "
                f"| {ratio(o, ip)} | {ratio(o, tcp) if t != 'tcp' else '-'} "
                f"| {o['cpu']:.2f} / {g['cpu']:.2f} | {o['rss']:.0f} / {g['rss']:.0f} "
                f"| {o['n']} / {g['n']} |")
    rows.append("")
    for ref in REFS:
        for way in WAYS:
            r = stats.get((ref, way))
            if r:
                rows.append(f"- {ref} {way}: {r['gbit_s']:.2f} Gbit/s ({r['min']:.2f}–"
                            f"{r['max']:.2f}), {r['cpu']:.2f} CPU-s/GiB, runs ok {r['n']}")
    return "\n".join(rows)


def svg(stats):
    """Grouped bars: one group per stack, ours/go × upload/download, min–max whiskers."""
    bars = [(i, w) for i in IMPLS for w in WAYS]
    colors = {("ours", "upload"): "#1f77b4", ("ours", "download"): "#6baed6",
              ("go", "upload"): "#d62728", ("go", "download"): "#fc9272"}
    shown = [v["max"] for (impl, _), v in stats.items() if impl.split("-")[0] in IMPLS
             and impl not in REFS] + [stats[r, w]["gbit_s"] for r in REFS for w in WAYS
                                      if (r, w) in stats]
    top = max(x for x in shown if x == x) * 1.15
    W, H, left, bottom, topm = 900, 420, 60, 60, 40
    plot_h = H - bottom - topm
    group_w = (W - left - 20) / len(STACKS)
    bar_w = group_w * 0.8 / len(bars)
    y = lambda v: topm + plot_h * (1 - v / top)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">yamux over each '
           f'stack, 1 GiB loopback, median of 5 (min–max): ours↔ours vs go↔go</text>']
    for tick in range(0, int(top) + 1, 5):
        out.append(f'<line x1="{left}" x2="{W - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                   f'stroke="#ddd"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
                   f'text-anchor="end">{tick}</text>')
    out.append(f'<text x="15" y="{topm + plot_h / 2}" transform="rotate(-90 15 '
               f'{topm + plot_h / 2})" text-anchor="middle">Gbit/s</text>')
    for gi, (t, s) in enumerate(STACKS):
        gx = left + gi * group_w + group_w * 0.1
        for bi, (impl, way) in enumerate(bars):
            v = stats.get((f"{impl}-{t}-{s}", way))
            if not v:
                continue
            x = gx + bi * bar_w
            out.append(f'<rect x="{x:.1f}" y="{y(v["gbit_s"]):.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{y(0) - y(v["gbit_s"]):.1f}" fill="{colors[impl, way]}"/>')
            cx = x + (bar_w - 2) / 2
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(v["min"]):.1f}" '
                       f'y2="{y(v["max"]):.1f}" stroke="black"/>')
        out.append(f'<text x="{gx + group_w * 0.4:.1f}" y="{H - bottom + 18}" '
                   f'text-anchor="middle">{t} + {s}</text>')
    for ri, (ref, dash) in enumerate(zip(REFS, ("6,3", "2,3"))):
        v = stats.get((ref, "upload"))
        if v:
            out.append(f'<line x1="{left}" x2="{W - 20}" y1="{y(v["gbit_s"]):.1f}" '
                       f'y2="{y(v["gbit_s"]):.1f}" stroke="#333" stroke-dasharray="{dash}"/>'
                       f'<text x="{left + 4 + ri * 220}" y="{topm - 4}" font-size="11">'
                       f'{"dashed" if ri == 0 else "dotted"}: {ref} upload {v["gbit_s"]:.1f} Gbit/s</text>')
    for li, (impl, way) in enumerate(bars):
        lx = left + 10 + li * 150
        out.append(f'<rect x="{lx}" y="{H - 25}" width="12" height="12" '
                   f'fill="{colors[impl, way]}"/><text x="{lx + 16}" y="{H - 15}">'
                   f'{impl}↔{impl} {way}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    data = json.load(open(sys.argv[1]))
    stats = medians(data)
    print(table(stats))
    loads = [r["load"] for r in data["runs"]]
    print(f"\n1-minute load average during the runs: min {min(loads):.1f}, median "
          f"{statistics.median(loads):.1f}, max {max(loads):.1f} (2 cores)")
    open(sys.argv[2], "w").write(svg(stats))


if __name__ == "__main__":
    main()
