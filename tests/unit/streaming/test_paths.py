"""Navigation paths from the stateful processor, in a real stream: next page, timeout, late views."""

from __future__ import annotations

from clickstream.streaming.paths import ENTRANCE, EXIT, transform_paths
from tests.support.streaming_frames import FeedHarness, at, ev


def naive(hms: str):
    return at(hms).replace(tzinfo=None)


def triples(harness) -> list[tuple]:
    return sorted((r["session_id"], r["prev_page"], r["page"], r["next_page"], r["dwell_ms"], r["ended_by"],
                   r["page_ts"], r["dt"]) for r in harness.out)


def test_triples_on_next_page_and_on_timeout(spark, tmp_path):
    harness = FeedHarness(spark, tmp_path, transform_paths, output_mode="append")
    try:
        harness.send([
            ev("12:00:00", "u_a", "/home", session_id="s_a"),
            ev("12:00:05", "u_a", "/home", "section_view", session_id="s_a", section="hero"),  # not a view
            ev("12:00:20", "u_a", "/products", session_id="s_a"),
            ev("12:01:00", "u_b", "/home", session_id="s_b"),
        ])
        assert triples(harness) == [("s_a", ENTRANCE, "/home", "/products", 20_000, "next",
                                     naive("12:00:00"), "2026-11-20")]
        # The session's state carries over batches; views within a batch are taken in time order.
        harness.send([ev("12:01:40", "u_a", "/home", session_id="s_a"),
                      ev("12:00:50", "u_a", "/cart", session_id="s_a")])
        assert triples(harness)[1:] == [
            ("s_a", "/home", "/products", "/cart", 30_000, "next", naive("12:00:20"), "2026-11-20"),
            ("s_a", "/products", "/cart", "/home", 50_000, "next", naive("12:00:50"), "2026-11-20"),
        ]
        # 12:40 moves the watermark to 12:38, past both sessions' 30-minute timeouts.
        harness.send([ev("12:40:00", "u_c", "/home", session_id="s_c")])
        harness.send([ev("12:01:30", "u_b", "/pricing", session_id="s_b"),   # late: dropped
                      ev("12:40:30", "u_c", "/docs", session_id="s_c")])
        got = triples(harness)
        assert [t for t in got if t[5] == "timeout"] == [
            ("s_a", "/cart", "/home", EXIT, None, "timeout", naive("12:01:40"), "2026-11-20"),
            ("s_b", ENTRANCE, "/home", EXIT, None, "timeout", naive("12:01:00"), "2026-11-20"),
        ]
        assert [t for t in got if t[0] == "s_c"] == [
            ("s_c", ENTRANCE, "/home", "/docs", 30_000, "next", naive("12:40:00"), "2026-11-20")]
        assert len(got) == 6
    finally:
        harness.stop()
