"""The Live page's store in the stack's PostgreSQL: a batch's windows upserted in one transaction, a replay
writes the same rows, windows past their horizon go (clickstream/streaming/live_store.py)."""

from __future__ import annotations

from datetime import timedelta

import psycopg2
import pytest

from clickstream.streaming.live_store import LiveStore, table
from clickstream.streaming.recent import RecentWindows
from embedded import bootstrap
from embedded.environment import load_secrets
from tests.support.streaming_frames import ev, parts

HORIZONS = {"app": timedelta(minutes=30), "page": timedelta(minutes=5)}


@pytest.fixture()
def store(stack, settings):
    stack.up(["postgres"])
    bootstrap.create_live_database(settings)
    store = LiveStore(settings.live_store_url, "live_store_test", load_secrets(settings)["live_password"])
    store.ensure()
    with store._connection() as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {table(store.schema)}")
    yield store
    store.close()


def rows_of(store: LiveStore) -> dict[tuple, tuple]:
    with psycopg2.connect(store.url, password=store.password) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT to_char(window_start, 'HH24:MI'), dim, key, events, users, page_views, "
                    f"interactions, batch_id FROM {table(store.schema)}")
        return {row[:3]: row[3:] for row in cur.fetchall()}


def views(hms: str, n: int, page: str = "/home") -> list[dict]:
    return [ev(hms, f"u_{hms}_{i}", page) for i in range(n)]


def test_a_batch_s_windows_are_upserted_and_a_replay_changes_nothing(spark, store):
    recent = RecentWindows(HORIZONS)
    first = recent.update(parts(spark, views("12:00:10", 4)))
    store.publish(first, 0, recent.horizon_starts())
    assert rows_of(store) == {("12:00", "app", "*"): (4, 4, 4, 0, 0),
                              ("12:00", "page", "/home"): (4, 4, 4, 0, 0)}

    batch = views("12:00:40", 2) + views("12:01:05", 3, "/docs") + [
        ev("12:01:06", "u_x", "/docs", "section_click", section="reviews")]
    second = recent.update(parts(spark, batch))
    store.publish(second, 1, recent.horizon_starts())
    after = rows_of(store)
    assert after[("12:00", "app", "*")] == (6, 6, 6, 0, 1)  # merged with batch 0's, written by batch 1
    assert after[("12:01", "page", "/docs")] == (4, 4, 3, 1, 1)
    # Batch 1 replayed after a failure: the same windows, the same values.
    store.publish(second, 1, recent.horizon_starts())
    assert rows_of(store) == after


def test_windows_past_their_breakdown_s_horizon_leave_the_store(spark, store):
    recent = RecentWindows(HORIZONS)
    store.publish(recent.update(parts(spark, views("12:00:10", 2))), 0, recent.horizon_starts())
    store.publish(recent.update(parts(spark, views("12:10:00", 1))), 1, recent.horizon_starts())
    # The page's 12:00 window is older than its 5 minutes; the site's is within its 30.
    assert set(rows_of(store)) == {("12:00", "app", "*"), ("12:10", "app", "*"), ("12:10", "page", "/home")}


def test_a_store_that_does_not_answer_never_stops_the_batch_and_is_caught_up(spark, store, settings):
    from clickstream.streaming.batch import EventsBatch
    from clickstream.streaming.warehouse import Warehouse

    refused = LiveStore(store.url, store.schema, password="wrong")
    batch = EventsBatch(Warehouse(settings), producer=None, store=refused)
    batch.recent = RecentWindows(HORIZONS)
    first = batch.recent.update(parts(spark, views("12:00:10", 3)))
    batch._publish(first, 0)  # refused: logged, not raised
    assert batch.store_behind and rows_of(store) == {}
    second = batch.recent.update(parts(spark, views("12:01:10", 2, "/docs")))
    batch.store = store  # it answers again: every window kept, not only the batch's
    batch._publish(second, 1)
    assert not batch.store_behind
    assert set(rows_of(store)) == {("12:00", "app", "*"), ("12:00", "page", "/home"),
                                   ("12:01", "app", "*"), ("12:01", "page", "/docs")}
