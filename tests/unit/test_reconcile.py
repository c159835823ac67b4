"""Reconciliation's comparisons and its reading of dead-letter records (the DAG: tests/warehouse)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson

from clickstream.reconcile import AppHour, dead_letter_key, insert_sql, result_rows

CHECKED = datetime(2026, 11, 23, 12, 5, 7, tzinfo=UTC)


def test_an_hour_where_every_count_agrees_is_ok():
    hour = AppHour("shop", generated=10, sent=10, accepted=8, rejected=2, dead_lettered=2, archived=8,
                   aggregated=8, rejected_by_reason=Counter({"missing:page": 2}),
                   dead_lettered_by_reason=Counter({"missing:page": 2}))
    assert hour.problems() == []
    (row,) = result_rows([hour], CHECKED)
    assert (row["status"], row["message"], row["archived"]) == ("ok", "", 8)


def test_each_disagreement_is_named_with_both_numbers():
    hour = AppHour("news", generated=12, sent=10, accepted=7, rejected=2, dead_lettered=1, archived=6,
                   aggregated=5, rejected_by_reason=Counter({"missing:page": 1, "invalid:page": 1}),
                   dead_lettered_by_reason=Counter({"missing:page": 1}))
    assert hour.problems() == [
        "news: the simulators generated 12 events but sent 10 (+2 never reached the collector)",
        "news: the collector took 10 events (10 from the simulators, 0 from other clients) but its "
        "producer had 9 acknowledged (7 accepted + 2 rejected)",
        "news: the ledger rejected 2 events (invalid:page 1, missing:page 1) but the dead-letter topic "
        "holds 1 (missing:page 1)",
        "news: the collector accepted 7 events but raw_events holds 6 (-1)",
        "news: raw_events holds 6 events but hourly_pages counts 5 (-1)",
    ]
    (row,) = result_rows([hour], CHECKED)
    assert row["status"] == "mismatch" and row["message"] == "; ".join(hour.problems())


def test_events_left_unsent_at_a_stop_and_events_of_other_clients_are_accounted_not_mismatches():
    """A stop mid-hour: 3 generated events never posted; 2 came from a client outside the simulators."""
    hour = AppHour("news", generated=978, sent=975, unsent=3, external=2, accepted=977, rejected=0,
                   archived=977, aggregated=977)
    assert hour.problems() == []
    # The hour that alerted on 2026-12-06 (two stop/run cycles), as the ledger counts it now: the three
    # events the collector took while its answer was lost are sent, not a mismatch.
    assert AppHour("news", generated=978, sent=978, accepted=978, archived=978,
                   aggregated=978).problems() == []
    # Unsent at a stop is no excuse for a loss beyond it.
    assert AppHour("news", generated=978, sent=970, unsent=3, accepted=970, archived=970,
                   aggregated=970).problems() == [
        "news: the simulators generated 978 events but sent 970 and left 3 unsent at a stop "
        "(+5 never reached the collector)"]


def test_same_count_for_different_reasons_is_a_mismatch():
    hour = AppHour("saas", rejected=1, dead_lettered=1, rejected_by_reason=Counter({"invalid:page": 1}),
                   dead_lettered_by_reason=Counter({"missing:page": 1}), generated=1, sent=1)
    assert hour.problems() == ["saas: the ledger rejected 1 events (invalid:page 1) but the dead-letter "
                               "topic holds 1 (missing:page 1)"]


def test_dead_letter_records_are_counted_under_the_ledgers_hour():
    def record(event):
        return orjson.dumps({"reason": "r", "app_id": "shop", "received_time": "2026-11-23T10:59:58.120Z",
                             "event": event})

    assert dead_letter_key(record({"event_time": "2026-11-22T23:30:00Z"})) == (
        "shop", "r", ("2026-11-22", 23))
    # No usable event time: the receive time's hour, as the collector counted it.
    assert dead_letter_key(record({"event_time": "yesterday"})) == ("shop", "r", ("2026-11-23", 10))
    assert dead_letter_key(record(["not", "an", "object"])) == ("shop", "r", ("2026-11-23", 10))


def test_an_empty_hour_still_writes_a_row_and_quotes_are_escaped():
    assert result_rows([], CHECKED)[0] | {"checked_at": None} == {
        "app_id": "*", "generated": 0, "sent": 0, "accepted": 0, "rejected": 0, "dead_lettered": 0,
        "archived": 0, "aggregated": 0, "status": "ok", "message": "no events in this hour",
        "checked_at": None}
    hour = AppHour("o'brien", generated=1)
    sql = insert_sql("db", datetime(2026, 11, 23, 9, tzinfo=UTC), result_rows([hour], CHECKED))
    assert sql.startswith("INSERT OVERWRITE TABLE db.reconciliation PARTITION (dt = '2026-11-23', hr = 9)")
    assert "('o\\'brien', 1, 0, 0, 0, 0, 0, 0, 'mismatch', 'o\\'brien: the simulators generated 1 events " \
           "but sent 0 (+1 never reached the collector)', TIMESTAMP '2026-11-23 12:05:07')" in sql


def test_a_refused_request_is_compared_by_reason_but_counted_as_no_event():
    """The collector's record of a refused request: in both reason maps, not in the event counts."""
    from clickstream.reconcile import hour_counts

    def query(sql: str) -> list[tuple]:
        if "explode(rejected_by_reason)" in sql:
            return [("shop", "missing:page", 2), ("shop", "request:malformed_json", 1)]
        if "sim_ledger" in sql:
            return [("shop", 10, 10, 8, 2, None, None)]  # a ledger file from before unsent/external
        return [("shop", 8)]  # raw_events and hourly_pages

    dlq = Counter({("shop", "missing:page"): 2, ("shop", "request:malformed_json"): 1})
    (hour,) = hour_counts(query, "db", datetime(2026, 11, 23, 12, tzinfo=UTC), dlq)
    assert (hour.rejected, hour.dead_lettered) == (2, 2)
    assert hour.dead_lettered_by_reason == Counter({"missing:page": 2, "request:malformed_json": 1})
    assert hour.problems() == []
    # A refused request the dead-letter topic lost is a mismatch, named.
    (lost,) = hour_counts(query, "db", datetime(2026, 11, 23, 12, tzinfo=UTC),
                          Counter({("shop", "missing:page"): 2}))
    assert lost.problems() == ["shop: the ledger rejected 2 events (missing:page 2, "
                               "request:malformed_json 1) but the dead-letter topic holds 2 (missing:page 2)"]
