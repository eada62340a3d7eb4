"""Medians (and ranges) per pair from a runs.jsonl written by run.sh, as a Markdown table."""

import json
import statistics as st
import sys

runs = [json.loads(line) for line in open(sys.argv[1] if len(sys.argv) > 1 else "runs.jsonl")]
print("| client → server | upload MiB/s | download MiB/s | final s | client CPU s | server CPU s | load1 |")
print("|---|---|---|---|---|---|---|")
for pair in dict.fromkeys(r["pair"] for r in runs):
    rs = [r for r in runs if r["pair"] == pair]

    def med(key: str, fmt: str = "g") -> str:
        values = [r[key] for r in rs]
        return f"{st.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"

    loads = [r["load1"] for r in rs]
    print(
        f"| {pair} | {med('upload_mib_s', '.0f')} | {med('download_mib_s', '.0f')} "
        f"| {st.median(r['final_s'] for r in rs):.1f} | {med('client_cpu_s', '.1f')} "
        f"| {med('server_cpu_s', '.1f')} | {min(loads):g}–{max(loads):g} |"
    )
