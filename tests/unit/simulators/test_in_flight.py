"""Each simulated event is accounted once across a stop: generated, then sent or unsent, never both."""

from __future__ import annotations

import threading
from collections import Counter

from simulators.in_flight import Claim, InFlight

H9, H10 = ("2026-12-06", 9), ("2026-12-06", 10)


class Book:
    """The counts InFlight reports, per (hour, metric): what the ledger would hold."""

    def __init__(self):
        self.counts: Counter = Counter()

    def __call__(self, hour, metric, n):
        self.counts[hour, metric] += n

    def of(self, metric: str) -> Counter:
        return Counter({hour: n for (hour, m), n in self.counts.items() if m == metric})


def flights_with(book: Book, *batches: tuple[str, list]) -> InFlight:
    flights = InFlight(book)
    for batch_id, hours in batches:
        assert flights.generate(hours)
        assert flights.post(batch_id, hours)
    return flights


def test_at_a_stop_unanswered_batches_the_collector_never_took_are_unsent():
    book = Book()
    flights = flights_with(book, ("answered", [H9, H9]), ("taken-answer-lost", [H9, H10]),
                           ("never-taken", [H9, H10, H10]))
    assert flights.claim("answered") is flights.claim("taken-answer-lost") is Claim.NEW
    flights.take("answered", Counter([H9, H9]))
    flights.done("answered")
    flights.take("taken-answer-lost", Counter([H9, H10]))
    assert flights.settle() == 3
    assert book.of("unsent") == Counter({H10: 2, H9: 1})
    assert book.of("sent") == Counter({H9: 3, H10: 1})
    assert flights.closed.is_set()
    # A user whose post returns after the stop finds its batch settled: counted once, not twice.
    assert flights.give_up("never-taken") == 0
    assert flights.settle() == 0
    assert book.of("generated") == book.of("sent") + book.of("unsent")


def test_events_held_in_a_buffer_at_the_stop_are_unsent_and_nothing_is_generated_after_it():
    book = Book()
    flights = InFlight(book)
    assert flights.generate([H9, H10])  # in a user's buffer, not posted yet
    assert flights.settle() == 2
    assert book.of("unsent") == Counter({H9: 1, H10: 1})
    # The user thread carries on after the stop: its post and its next event change nothing.
    assert not flights.post("late", [H9, H10])
    assert not flights.generate([H10])
    assert book.of("generated") == Counter({H9: 1, H10: 1})


def test_a_batch_being_produced_at_the_stop_is_counted_by_what_becomes_of_it():
    book = Book()
    flights = flights_with(book, ("produced", [H9]), ("failed", [H10, H10]))
    assert flights.claim("produced") is flights.claim("failed") is Claim.NEW
    assert flights.settle() == 0  # neither is counted yet: the collector is producing them
    assert flights.claim("another") is Claim.CLOSED  # a stopped site takes nothing more
    flights.take("produced", Counter([H9]))
    flights.release("failed")
    assert book.of("sent") == Counter({H9: 1})
    assert book.of("unsent") == Counter({H10: 2})


def test_a_batch_given_up_before_the_stop_is_not_counted_again_at_the_stop():
    book = Book()
    flights = flights_with(book, ("b", [H9]))
    assert flights.give_up("b") == 1
    assert flights.settle() == 0
    assert book.of("unsent") == Counter({H9: 1})


def test_a_taken_batch_given_up_on_is_sent_not_unsent():
    book = Book()
    flights = flights_with(book, ("b", [H9]))
    assert flights.claim("b") is Claim.NEW
    flights.take("b", Counter([H9]))
    assert flights.give_up("b") == 0
    assert book.of("unsent") == Counter()
    assert book.of("sent") == Counter({H9: 1})


def test_a_batch_posted_again_after_its_answer_was_lost_is_counted_once():
    # The collector took the batch, then the connection closed before the answer reached the user,
    # who posts it again: answered again, neither produced nor counted twice.
    book = Book()
    flights = flights_with(book, ("b", [H9, H10]))
    assert flights.claim("b") is Claim.NEW
    assert flights.claim("b") is Claim.BUSY  # a second request while the first is producing it
    flights.take("b", Counter([H9, H10]))
    assert flights.claim("b") is Claim.TAKEN
    flights.done("b")  # the user saw the repeat's answer
    assert flights.settle() == 0
    assert book.of("sent") == Counter({H9: 1, H10: 1})
    assert book.of("generated") == book.of("sent")


def test_the_collector_marks_only_batches_of_this_process():
    book = Book()
    flights = flights_with(book, ("b", [H9]))
    assert flights.claim("from-elsewhere") is Claim.NEW
    flights.take("from-elsewhere", Counter([H10]))
    assert flights.settle() == 1
    assert book.of("unsent") == Counter({H9: 1})


def test_users_racing_a_stop_leave_every_hour_balanced():
    book = Book()
    flights = InFlight(book)
    busy = threading.Event()

    def user(n: int) -> None:
        for i in range(20_000):
            if i == 100:
                busy.set()
            hours = [H9 if (n + i) % 3 else H10] * (1 + i % 4)
            if not flights.generate(hours):
                return
            batch = f"{n}-{i}"
            if i % 2 and flights.post(batch, hours):
                if i % 3 and flights.claim(batch) is Claim.NEW:  # the collector produces it, or fails to
                    if i % 5:
                        flights.take(batch, Counter(hours))
                        flights.done(batch)
                    else:
                        flights.release(batch)
                        flights.give_up(batch)
                else:
                    flights.give_up(batch)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    assert busy.wait(10)
    flights.settle()  # while the users are still generating and posting
    for t in threads:
        t.join()
    assert book.of("generated") == book.of("sent") + book.of("unsent")
    assert sum(book.of("generated").values()) > 100
