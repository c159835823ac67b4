"""Four generated days of the three sites (a week's first four), archived by the streaming job and built
by the hourly and daily jobs, in private names: the dashboard's browser test reads them.

Several days, not one, so that what a page does across days is tested too: sums and averages over
several daily partitions, the default range (the last seven days the tables hold: these four),
day-by-day charts. Four, not seven: each day costs the build about 25 s and the test a few queries,
and a fifth day would test nothing the fourth does not. The daily job computes the days in one
application and the DAGs' HiveQL registers them and fills the reports (embedded/build.py); the daily
DAG itself is tested on the built day (tests/support/batch_day.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clickstream.hive import execute
from clickstream.settings import get_settings
from tests.support.batch_day import archive_days

FIRST = date(2026, 11, 10)  # a fixed past week: the generated data, and so the tests, never change
DAYS = tuple(FIRST + timedelta(days=n) for n in range(4))
EVENTS_PER_DAY = 1500


def week_env(tmp_root) -> dict[str, str]:
    """The environment that points every component at the week's own topic, warehouse and database."""
    return {
        "CLICKSTREAM_HIVE_DATABASE": "browser_week",
        "CLICKSTREAM_WAREHOUSE_URI": (tmp_root / "warehouse").as_uri(),
        "CLICKSTREAM_TOPIC_EVENTS": "browser_week.events",
        "CLICKSTREAM_BATCH_START": f"{FIRST:%Y-%m-%d}T00:00:00+00:00",
        "CLICKSTREAM_AIRFLOW_API_URL": "http://127.0.0.1:9",  # none: the pages must say so
    }


@pytest.fixture(scope="module")
def built_week(broker, hiveserver2, tmp_path_factory):
    """The days with every hourly and daily table and report built; yields their settings.

    Module-scoped: its environment is undone when the module ends, so the modules after it read the
    built day's names again.
    """
    from embedded.build import build_days, build_hours

    with pytest.MonkeyPatch.context() as env:
        for name, value in week_env(tmp_path_factory.mktemp("week")).items():
            env.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
        archive_days(settings, {day: f"browser-week-{day}" for day in DAYS}, EVENTS_PER_DAY)
        start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
        build_hours(settings, start, start + timedelta(days=len(DAYS)), timeout=900)
        build_days(settings, FIRST, len(DAYS), timeout=900)
        built = {dt for (dt,) in execute(settings, "SELECT DISTINCT dt FROM daily_summary")}
        assert built == {f"{day}" for day in DAYS}, built
        yield settings
    get_settings.cache_clear()
