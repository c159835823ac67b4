"""Upgrade in place: a data directory written by the application of four queries keeps working, even
when the new application's first batch fails between its writes.

The release before the one-read application (``RELEASE``, taken from the repository's history) archives
the first part of a day's events; the current application then starts on the same checkpoints,
warehouse and Hive database, and reads the rest — with events of the first part produced again, as a
producer's retry would. Its first batch writes raw_events, the live partials and the paths' triples,
then fails writing the sessions' open pages (a file stands where their directory goes); the next run
replays the batch. raw_events then holds every event exactly once (the ingest checkpoint's offsets and
de-duplication state carried over, the replayed batch's archive replaced, not added to), the former
queries' checkpoints and feed are retired, and the Live page's views and the paths read the new
outputs: every window after the upgrade equals raw_events, counts exactly, and every session that
began after it has its triples once.
"""

from __future__ import annotations

import subprocess
import tarfile
from datetime import datetime
from io import BytesIO

import pytest

from bench.load import settled_day, site_events
from clickstream.hive import execute
from clickstream.settings import REPO_ROOT
from clickstream.topics import ensure_topics
from tests.support.kafka import produce_events
from tests.support.stack import archived_ids
from tests.support.streaming_checks import live_metrics_equal_a_recomputation, paths_follow_the_sessions
from tests.support.streaming_job import failure, run_job

RELEASE = "3b3fd5d"  # the last commit of the application of four queries (2026-12-06)


def release_tree(tmp_path):
    """Extract the release's library and job files; skip when the clone holds no history (shallow)."""
    found = subprocess.run(["git", "cat-file", "-e", f"{RELEASE}^{{commit}}"], cwd=REPO_ROOT)
    if found.returncode != 0:
        pytest.skip(f"the repository's history does not hold {RELEASE} (a shallow clone)")
    archive = subprocess.run(["git", "archive", RELEASE, "clickstream", "include"], cwd=REPO_ROOT,
                             capture_output=True, check=True).stdout
    root = tmp_path / "release"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root


def test_four_queries_upgrade_in_place_through_a_failed_first_batch(broker, hiveserver2, settings, tmp_path):
    release = release_tree(tmp_path)
    s = settings.replace(topic_events="upgrade.events", hive_database="upgrade",
                            warehouse_uri=(tmp_path / "warehouse").as_uri())
    ensure_topics(s)
    execute(s, "CREATE DATABASE IF NOT EXISTS upgrade", database=None)
    events = list(site_events(settled_day(), 3000, "upgrade"))
    # The upgrade falls between two minutes of event time: the windows after it are all new.
    cut = events[len(events) * 2 // 3]["event_time"][:16]
    before = [e for e in events if e["event_time"][:16] < cut]
    after = [e for e in events if e["event_time"][:16] >= cut]

    produce_events(s, before)
    old = run_job(s.replace(repo_root=release), "--mode", "available-now",
                  application=release / "include" / "spark_jobs" / "clickstream_streaming.py")
    assert old.returncode == 0, failure(old)
    assert sorted(archived_ids(s)) == sorted(e["event_id"] for e in before)
    checkpoints = tmp_path / "warehouse" / "_checkpoints"
    assert (checkpoints / "live_metrics_from_topic").exists() and (tmp_path / "warehouse" / "_feed").exists()

    produce_events(s, [*after, *before[-50:]])   # the last 50 again: the ingest state drops them
    # The open pages cannot be written: a file stands where their directory goes (root ignores
    # permissions). The batch's archive, partials and triples are written before them.
    blocked = tmp_path / "warehouse" / "_state" / "live_paths_open"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("in the way")
    failed = run_job(s, "--mode", "available-now")
    assert failed.returncode != 0 and "live_paths_open" in failure(failed)
    assert len(archived_ids(s)) > len(before)   # the batch's archive write went through
    blocked.unlink()
    new = run_job(s, "--mode", "available-now")
    assert new.returncode == 0, failure(new)

    archived = archived_ids(s)
    assert len(archived) == len(set(archived)) and set(archived) == {e["event_id"] for e in events}
    assert not (checkpoints / "live_metrics_from_topic").exists()
    assert (checkpoints / "live_metrics_from_topic.retired").exists()
    assert not (tmp_path / "warehouse" / "_feed").exists()
    (first,), = execute(s, "SELECT cast(min(window_start) AS STRING) FROM live_metrics_latest")
    assert datetime.fromisoformat(first).strftime("%Y-%m-%dT%H:%M") == cut
    # Counts exact: the replayed batch's partials replaced its first run's, not added to them.
    live_metrics_equal_a_recomputation(s, since=cut.replace("T", " "), min_windows=20)
    paths_follow_the_sessions(s, since=datetime.fromisoformat(cut), min_triples=50)
