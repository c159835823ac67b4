"""Navigation paths from each batch and the open pages the batch before left: next page, timeout, late."""

from __future__ import annotations

from pyspark.sql import functions as F

from clickstream.streaming.paths import ENTRANCE, EXIT, OPEN, OPEN_COLUMNS, OPEN_SCHEMA, advance, written
from tests.support.streaming_frames import at, ev, frame


def naive(hms: str):
    return at(hms).replace(tzinfo=None)


class Sessions:
    """Runs batches through ``advance`` and ``written`` as the application does: the triples out, the open
    pages (``dt = OPEN``) carried batch to batch."""

    def __init__(self, spark):
        self.spark, self.out = spark, []
        self.open = spark.createDataFrame([], OPEN_SCHEMA)

    def send(self, rows: list[dict]) -> None:
        events = frame(self.spark, rows)
        newest = events.agg(F.max("event_ts")).first()[0]
        rows = [r.asDict() for r in written(advance(self.open, events, newest)).collect()]
        self.out += [r for r in rows if r["dt"] != OPEN]
        self.open = self.spark.createDataFrame([tuple(r[c] for c in OPEN_COLUMNS) for r in rows
                                                if r["dt"] == OPEN], OPEN_SCHEMA)

    def triples(self) -> list[tuple]:
        return sorted((r["session_id"], r["prev_page"], r["page"], r["next_page"], r["dwell_ms"],
                       r["ended_by"], r["page_ts"], r["dt"]) for r in self.out)


def test_triples_on_next_page_and_on_timeout(spark):
    sessions = Sessions(spark)
    sessions.send([
        ev("12:00:00", "u_a", "/home", session_id="s_a"),
        ev("12:00:05", "u_a", "/home", "section_view", session_id="s_a", section="hero"),  # not a view
        ev("12:00:20", "u_a", "/products", session_id="s_a"),
        ev("12:01:00", "u_b", "/home", session_id="s_b"),
    ])
    assert sessions.triples() == [("s_a", ENTRANCE, "/home", "/products", 20_000, "next",
                                   naive("12:00:00"), "2026-11-20")]
    # The open page carries over batches; views within a batch are taken in time order.
    sessions.send([ev("12:01:40", "u_a", "/home", session_id="s_a"),
                   ev("12:00:50", "u_a", "/cart", session_id="s_a")])
    assert sessions.triples()[1:] == [
        ("s_a", "/home", "/products", "/cart", 30_000, "next", naive("12:00:20"), "2026-11-20"),
        ("s_a", "/products", "/cart", "/home", 50_000, "next", naive("12:00:50"), "2026-11-20"),
    ]
    # 12:40 is past both sessions' open pages by the watermark and the 30-minute timeout: they end.
    sessions.send([ev("12:40:00", "u_c", "/home", session_id="s_c")])
    sessions.send([ev("12:01:30", "u_b", "/pricing", session_id="s_b"),   # its session ended: a new one
                   ev("12:40:30", "u_c", "/docs", session_id="s_c")])
    got = sessions.triples()
    assert [t for t in got if t[5] == "timeout"] == [
        ("s_a", "/cart", "/home", EXIT, None, "timeout", naive("12:01:40"), "2026-11-20"),
        ("s_b", ENTRANCE, "/home", EXIT, None, "timeout", naive("12:01:00"), "2026-11-20"),
        ("s_b", ENTRANCE, "/pricing", EXIT, None, "timeout", naive("12:01:30"), "2026-11-20"),
    ]
    assert [t for t in got if t[0] == "s_c"] == [
        ("s_c", ENTRANCE, "/home", "/docs", 30_000, "next", naive("12:40:00"), "2026-11-20")]
    assert len(got) == 7
    assert [r.session_id for r in sessions.open.collect()] == ["s_c"]


def test_a_pause_longer_than_the_timeout_starts_the_session_over(spark):
    sessions = Sessions(spark)
    sessions.send([ev("12:00:00", "u_a", "/home", session_id="s_a"),
                   ev("12:45:00", "u_a", "/docs", session_id="s_a"),
                   ev("12:45:10", "u_a", "/home", session_id="s_a")])
    assert sessions.triples() == [
        ("s_a", ENTRANCE, "/docs", "/home", 10_000, "next", naive("12:45:00"), "2026-11-20"),
        ("s_a", ENTRANCE, "/home", EXIT, None, "timeout", naive("12:00:00"), "2026-11-20"),
    ]


def test_a_view_older_than_the_open_page_is_late_and_left_out(spark):
    sessions = Sessions(spark)
    sessions.send([ev("12:00:00", "u_a", "/home", session_id="s_a"),
                   ev("12:00:30", "u_a", "/products", session_id="s_a")])
    sessions.send([ev("12:00:10", "u_a", "/cart", session_id="s_a"),    # before the open /products
                   ev("12:01:00", "u_a", "/home", session_id="s_a")])
    assert [t[1:4] for t in sessions.triples()] == [(ENTRANCE, "/home", "/products"),
                                                    ("/home", "/products", "/home")]
