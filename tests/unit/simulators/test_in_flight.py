"""Each batch posted by the simulated users is accounted once at a stop: taken by the collector, or unsent."""

from __future__ import annotations

from collections import Counter

from simulators.in_flight import InFlight

H9, H10 = ("2026-12-06", 9), ("2026-12-06", 10)


def test_at_a_stop_unanswered_batches_the_collector_never_took_are_unsent():
    flights = InFlight()
    flights.post("answered", [H9, H9])
    flights.post("taken-answer-lost", [H9, H10])  # the collector counted these as sent
    flights.post("never-taken", [H9, H10, H10])
    flights.taken("answered")
    flights.done("answered")
    flights.taken("taken-answer-lost")
    assert flights.settle() == Counter({H10: 2, H9: 1})
    assert flights.closed.is_set()
    # A user whose post returns after the stop finds its batch settled: counted once, not twice.
    assert flights.give_up("never-taken") == Counter()
    assert flights.settle() == Counter()


def test_a_batch_given_up_before_the_stop_is_not_counted_again_at_the_stop():
    flights = InFlight()
    flights.post("b", [H9])
    assert flights.give_up("b") == Counter({H9: 1})
    assert flights.settle() == Counter()


def test_a_taken_batch_given_up_on_is_sent_not_unsent():
    flights = InFlight()
    flights.post("b", [H9])
    flights.taken("b")
    assert flights.give_up("b") == Counter()


def test_the_collector_marks_only_batches_of_this_process():
    flights = InFlight()
    flights.taken("from-elsewhere")
    flights.post("b", [H9])
    assert flights.settle() == Counter({H9: 1})
