"""Which offsets a streaming query planned are gone from the broker's log, and why."""

from __future__ import annotations

from clickstream.streaming.kafka_offsets import lost_offsets

BOUNDS = {"events": {0: (0, 500), 1: (120, 900), 2: (0, 0)}}


def test_offsets_within_the_log_are_not_lost():
    assert lost_offsets({"events": {"0": 500, "1": 120, "2": 0}}, BOUNDS) == []
    assert lost_offsets({}, BOUNDS) == []


def test_a_log_that_ends_before_the_offsets_was_reset():
    assert lost_offsets({"events": {"0": 501, "1": 300, "2": 42}}, BOUNDS) == [
        ("reset", "events partition 0: the application has read up to offset 501, but the broker's log "
                  "ends at 500"),
        ("reset", "events partition 2: the application has read up to offset 42, but the broker's log "
                  "ends at 0"),
    ]


def test_a_log_that_starts_after_the_offsets_lost_them_to_retention():
    assert lost_offsets({"events": {"1": 119, "0": 10}}, BOUNDS) == [
        ("retention", "events partition 1: the application has read up to offset 119, but the broker's log "
                      "now starts at 120")]


def test_a_partition_or_topic_the_broker_no_longer_has_counts_as_reset():
    lost = lost_offsets({"events": {"7": 3}, "gone": {"0": 1}}, BOUNDS)
    assert [kind for kind, _ in lost] == ["reset", "reset"]
