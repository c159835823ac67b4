"""Benchmark results: each benchmark records its figures; `make bench` writes docs/benchmarks.md from them.

A benchmark calls ``record()`` once at its end. The record (JSON in artifacts/bench/) holds
every figure with the baseline measured in the same run, the issue's target and what the
seed documents report, plus the series to plot. ``write_markdown()`` turns the records into
docs/benchmarks.md and one PNG per benchmark in docs/benchmarks/.
``make bench`` runs every benchmark and then this; ``python -m bench.report`` rewrites the page
from the records already there.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from clickstream.settings import REPO_ROOT

RESULTS = REPO_ROOT / "artifacts" / "bench"
DOC = REPO_ROOT / "docs" / "benchmarks.md"
# The order of the sections in docs/benchmarks.md.
ORDER = ("stack_startup", "collector_throughput", "streaming_throughput", "freshness", "simulated_users",
         "daily_job", "dashboard_pages", "airflow_metadb", "soak", "at_rest")


@dataclass
class Figure:
    """One measured figure, next to what it is compared with."""

    name: str
    measured: float
    unit: str
    baseline: float | None = None  # measured in the same run
    baseline_what: str = ""
    target: str = ""  # the target, e.g. "≥ 50,000"
    met: bool | None = None
    seed: str = ""  # what the seed documents report for the same thing


@dataclass
class Plot:
    """A bar chart: one group of bars per x label, one bar per series."""

    title: str
    ylabel: str
    x: list[str]
    series: dict[str, list[float]] = field(default_factory=dict)
    log: bool = False


def record(bench: str, title: str, command: str, figures: list[Figure], plot: Plot | None = None,
           notes: str = "") -> Path:
    """Write one benchmark's record to artifacts/bench/<bench>.json and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}.json"
    path.write_text(json.dumps({
        "bench": bench, "title": title, "command": command, "notes": notes,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": [asdict(f) for f in figures], "plot": asdict(plot) if plot else None,
    }, indent=2))  # fmt: skip
    return path


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif 0 < abs(value) < 0.1:
        text = f"{value:.2g}"  # two significant digits, not 0
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def _plot(bench: str, plot: dict, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    n = max(len(plot["series"]), 1)
    width = 0.8 / n
    for i, (label, values) in enumerate(plot["series"].items()):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(plot["x"]))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, labels=[_number(v) for v in values], fontsize=7, padding=2)
    ax.set_xticks(range(len(plot["x"])), plot["x"], fontsize=8)
    ax.set_ylabel(plot["ylabel"])
    ax.set_title(plot["title"], fontsize=10)
    if plot.get("log"):
        ax.set_yscale("log")
    if n > 1:
        ax.legend(fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bench}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def _machine() -> str:
    import os

    import psutil

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                            text=True).stdout.strip()
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
            f"commit {commit or 'unknown'}")


def write_markdown(results: Path = RESULTS, doc: Path = DOC) -> Path:
    """Write docs/benchmarks.md, and its PNGs into docs/benchmarks/, from every record in results."""
    records = {r["bench"]: r for r in (json.loads(p.read_text()) for p in sorted(results.glob("*.json")))}
    if not records:
        raise SystemExit(f"no benchmark records in {results}: run `make bench` first")
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run_all.py) from the figures each benchmark recorded; do not",
        "edit by hand. Every figure sits next to a baseline measured in the same run, the target of",
        "the issue that set it, and what the seed documents (../shared/seeds, seed 003) report.",
        "",
        f"Machine: {_machine()}.",
        "",
        "| benchmark | figure | measured | baseline (same run) | target | met | seed documents |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = [b for b in ORDER if b in records] + sorted(set(records) - set(ORDER))
    for bench in ordered:
        for f in records[bench]["figures"]:
            met = {True: "yes", False: "**no**", None: "–"}[f["met"]]
            base = (f"{_number(f['baseline'], f['unit'])} ({f['baseline_what']})"
                    if f["baseline"] is not None else "–")
            lines.append(f"| {records[bench]['title']} | {f['name']} | {_number(f['measured'], f['unit'])} "
                         f"| {base} | {f['target'] or '–'} | {met} | {f['seed'] or '–'} |")
    for bench in ordered:
        rec = records[bench]
        lines += ["", f"## {rec['title']}", "", f"`{rec['command']}`, measured {rec['measured_at']}."]
        if rec["notes"]:
            lines += ["", rec["notes"]]
        if rec["plot"]:
            png = _plot(bench, rec["plot"], doc.parent / doc.stem)
            lines += ["", f"![{rec['plot']['title']}]({png.relative_to(doc.parent).as_posix()})"]
    doc.write_text("\n".join(lines) + "\n")
    return doc


if __name__ == "__main__":
    print(write_markdown())
