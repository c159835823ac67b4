"""`make bench`'s report: the records benchmarks write become docs/benchmarks.md and its plots."""

from __future__ import annotations

import json

from bench import report
from bench.report import Figure, Plot, record, write_markdown


def test_records_become_a_table_with_baselines_targets_seed_figures_and_a_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path / "records")
    record("daily_job", "Daily batch job", "python -m bench.daily_job", [
        Figure("daily job, 10,000,000 events", 154.2, "s", 21.46, "scan of the day", "≤ 90 s", False,
               "10M events in ~17 min (streaming)"),
        Figure("time ratio for the 10x larger day", 6.5, "x"),
        Figure("live page, cold cache", 2.55, "s", 0.00253, "a page with no query"),
    ], Plot("Daily job", "seconds", ["1M", "10M"], {"daily job": [23.7, 154.2]}))  # fmt: skip
    saved = json.loads((tmp_path / "records" / "daily_job.json").read_text())
    assert saved["figures"][0]["measured"] == 154.2 and saved["plot"]["x"] == ["1M", "10M"]

    doc = write_markdown(tmp_path / "records", tmp_path / "benchmarks.md")
    text = doc.read_text()
    assert ("| Daily batch job | daily job, 10,000,000 events | 154 s | 21.46 s (scan of the day) | ≤ 90 s "
            "| **no** | 10M events in ~17 min (streaming) |") in text
    assert "| Daily batch job | time ratio for the 10x larger day | 6.5 x | – | – | – | – |" in text
    assert "| live page, cold cache | 2.55 s | 0.0025 s (a page with no query) |" in text  # small, not 0
    assert "![Daily job](benchmarks/daily_job.png)" in text
    assert (tmp_path / "benchmarks" / "daily_job.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
