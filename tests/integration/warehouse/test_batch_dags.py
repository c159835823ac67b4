"""End to end: a generated past day → broker → streaming job → clickstream_daily with dag.test()
(real spark-submit, real beeline HiveOperator, real HiveServer2). clickstream_hourly runs the same
way in test_reconciliation.py, on a day the simulators backfilled.

Each table is then read through HiveServer2 and compared with a recomputation from raw_events;
a second run must leave every partition's sorted content unchanged.

The day lives in its own topic, warehouse and Hive database (tests/warehouse/batch_day.py), which
the dashboard's tests read afterwards.
The collector → broker leg of backfills is tested in test_streaming_job and test_simulation_dag.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from clickstream import catalog
from clickstream.hive import execute, hql_macros
from clickstream.retention import replace_parquet
from clickstream.settings import REPO_ROOT
from tests.support.batch_day import DAY, MIDNIGHT, content_hash, run_dag, states

DAILY = catalog.names(catalog.DAILY)
REPORTS = catalog.names(catalog.REPORT)


def test_daily_dag_produces_every_table_and_reruns_identically(archived_day, daily_run):
    settings, midnight = archived_day, MIDNIGHT
    assert set(daily_run.values()) == {"success"}, daily_run
    where = f"dt = '{DAY}'"
    counts = {t: execute(settings, f"SELECT count(*) FROM {t} WHERE {where}")[0][0] for t in DAILY + REPORTS}
    assert all(n > 0 for n in counts.values()), counts

    # Per-page views and users, recomputed from raw_events by Hive itself.
    expected = {(a, p): (v, u) for a, p, v, u in execute(settings, (
        "SELECT app_id, page, sum(if(event_type = 'page_view', 1, 0)), count(DISTINCT user_id) "
        f"FROM raw_events WHERE {where} GROUP BY app_id, page"))}  # fmt: skip
    got = {(a, p): (v, u) for a, p, v, u in execute(settings, (
        f"SELECT app_id, page, page_views, unique_users FROM daily_pages WHERE {where}"))}  # fmt: skip
    assert got == expected
    # Funnels only lose users from step to step; every site's funnel is there.
    funnels: dict[str, list[int]] = {}
    for app, _step, users in execute(settings, f"SELECT app_id, step, users FROM daily_funnels WHERE {where} "
                                              "ORDER BY app_id, step"):
        funnels.setdefault(app, []).append(users)
    assert set(funnels) == {"shop", "news", "saas"}
    assert all(a >= b for steps in funnels.values() for a, b in zip(steps, steps[1:], strict=False))
    assert funnels["shop"][0] > 0
    # The reports say what the tables hold.
    share = execute(settings, f"SELECT traffic_pct, headline, page FROM report_page_traffic WHERE {where} "
                              "AND app_id = 'shop' ORDER BY page_views DESC LIMIT 1")[0]
    assert share[1] == f"{share[2]} accounts for {share[0]}% of shop traffic"
    carts = execute(settings, f"SELECT add_to_cart FROM daily_summary WHERE {where} "
                              "AND app_id = 'shop'")[0][0]
    raw_carts = execute(settings, f"SELECT count(*) FROM raw_events WHERE {where} AND app_id = 'shop' "
                                  "AND event_type = 'add_to_cart'")[0][0]
    assert carts == raw_carts > 0
    headline = execute(settings, f"SELECT headline FROM report_headlines WHERE {where} AND app_id = 'shop' "
                                 "AND metric = 'add_to_cart'")[0][0]
    assert headline == f"Add-to-cart button clicked {raw_carts:,} times"

    before = {t: content_hash(settings, t, where) for t in DAILY + REPORTS}
    # The rerun recomputes (the job and every report); waiting, DDL, registration and checks passed above.
    again = run_dag("clickstream_daily", midnight + timedelta(days=1),
                    mark_success_pattern=("wait_for_hours|create_tables|add_missing_columns|"
                                          "register_partitions|check_daily"))
    assert set(states(again).values()) == {"success"}
    assert {t: content_hash(settings, t, where) for t in before} == before


def test_a_failed_check_fails_the_run_and_names_the_check(archived_day):
    """Break one breakdown of the daily tables; only the checks run (the job would repair it)."""
    settings = archived_day
    fs, path = pafs.FileSystem.from_uri(f"{settings.table_path('daily_channels')}/dt={DAY}")
    (part,) = [f.path for f in fs.get_file_info(pafs.FileSelector(path)) if f.path.endswith(".parquet")]
    channels = pq.read_table(part, filesystem=fs)
    rows = channels.num_rows

    def rewrite(table: pa.Table) -> None:
        replace_parquet(fs, part, table)

    rewrite(pa.concat_tables([channels, channels]))  # every session twice
    try:
        _check_fails_and_says_which(settings, rows)
    finally:
        rewrite(channels)  # the dashboard's tests read the day afterwards


def _check_fails_and_says_which(settings, rows: int) -> None:
    where = f"dt = '{DAY}'"
    midnight = MIDNIGHT
    run = run_dag("clickstream_daily", midnight + timedelta(days=1),
                  mark_success_pattern=("wait_for_hours|create_tables|add_missing_columns|daily_job|"
                                        "register_partitions"),
                  retries=0)
    task_states = states(run)
    assert task_states["check_daily"] == "failed"
    assert all(task_states[r] == "upstream_failed" for r in REPORTS)
    # The message the failed run logged and mailed: the check task itself, rendered as Airflow renders it.
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "clickstream_daily.py")).dags["clickstream_daily"]
    check = dag.get_task("check_daily")
    context = {"data_interval_start": midnight, **hql_macros(settings)}
    for field in ("table", "partition_clause", "sql"):
        setattr(check, field, dag.get_template_env().from_string(getattr(check, field)).render(**context))
    with pytest.raises(Exception, match="The following tests have failed") as failure:
        check.execute({})
    failed = str(failure.value).split("The following tests have failed")[1]
    assert "Check: channels_sum_to_sessions" in failed and "sessions_sum," not in failed
    assert execute(settings, f"SELECT count(*) FROM daily_channels WHERE {where}")[0][0] == 2 * rows
