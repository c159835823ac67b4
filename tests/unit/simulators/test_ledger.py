"""The ground-truth ledger: hourly counters persisted as Parquet, summed over runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.dataset as ds

from clickstream.contracts import hour_key
from simulators.ledger import Ledger


def test_hour_key_uses_event_time_or_fallback():
    fallback = datetime(2026, 11, 1, 7, 59, tzinfo=UTC)
    assert hour_key("2026-11-01T23:59:59.999Z", fallback) == ("2026-11-01", 23)
    assert hour_key("garbage", fallback) == ("2026-11-01", 7)
    assert hour_key("2026-13-01T10:00:00Z", fallback) == ("2026-11-01", 7)
    assert hour_key(None, fallback) == ("2026-11-01", 7)


def test_flush_writes_one_file_per_run_and_day_and_readers_sum_runs(tmp_path):
    uri = (tmp_path / "sim_ledger").as_uri()
    first = Ledger("shop", uri, run_id="run1")
    first.add(("2026-11-01", 10), "generated", 5)
    first.add(("2026-11-01", 10), "accepted", 4)
    first.add(("2026-11-01", 10), "rejected", 1, reason="invalid:page")
    first.add(("2026-11-02", 0), "generated", 2)
    assert first.flush() == 2
    assert first.flush() == 0  # nothing changed
    first.add(("2026-11-01", 10), "generated", 1)
    assert first.flush() == 1  # only the changed day is rewritten
    second = Ledger("shop", uri, run_id="run2")  # a restarted process
    second.add(("2026-11-01", 10), "generated", 3)
    second.flush()

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == [
        "sim_ledger/dt=2026-11-01/app=shop/run-run1.parquet",
        "sim_ledger/dt=2026-11-01/app=shop/run-run2.parquet",
        "sim_ledger/dt=2026-11-02/app=shop/run-run1.parquet",
    ]
    table = ds.dataset(tmp_path / "sim_ledger", format="parquet", partitioning="hive").to_table()
    rows = sorted(table.to_pylist(), key=lambda r: (r["dt"], r["run_id"]))
    assert [(r["dt"], r["app"], r["run_id"], r["hr"], r["generated"], r["accepted"], r["rejected"],
             dict(r["rejected_by_reason"])) for r in rows] == [
        ("2026-11-01", "shop", "run1", 10, 6, 4, 1, {"invalid:page": 1}),
        ("2026-11-01", "shop", "run2", 10, 3, 0, 0, {}),
        ("2026-11-02", "shop", "run1", 0, 2, 0, 0, {}),
    ]


def test_totals():
    ledger = Ledger("news", None)
    ledger.add(("2026-11-01", 1), "sent", 3)
    ledger.add(("2026-11-01", 2), "rejected", 2, reason="missing:page")
    ledger.add(("2026-11-01", 2), "rejected_requests", 1, reason="request:malformed_json")
    assert ledger.totals() == {"generated": 0, "sent": 3, "accepted": 0, "rejected": 2,
                               "rejected_requests": 1, "unsent": 0, "external": 0, "reason:missing:page": 2,
                               "reason:request:malformed_json": 1}
