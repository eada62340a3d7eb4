"""Shared by results/*/summarize.py: the client reports of a run.sh grouped by cell, and the
formatting of their medians."""
import json
import statistics
from pathlib import Path


def load_cells(runs):
    """{cell: [report, ...]} for runs/<cell>-rep<N>.json."""
    cells = {}
    for path in sorted(Path(runs).glob("*.json")):
        cell = path.stem.rsplit("-rep", 1)[0]
        cells.setdefault(cell, []).append(json.loads(path.read_text()))
    return cells


def fmt(v):
    return "n/a" if v is None else f"{v:.4f}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
