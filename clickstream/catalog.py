"""The warehouse's tables: names, partitions, sort keys and columns, and the DDL derived from them.

One place says what each table is. The Hive DDL the batch DAGs run (include/hql/create_tables.hql
renders ``batch_tables_ddl``), the DAGs' lists of what a job writes (and their Airflow assets), the
partitions the daily DAG registers, the sort key of each file the batch jobs write, and the tests
all read it. Pure Python: the DAG processor imports it without Spark.

The streaming application's tables (``STREAMING``: the archive, the live tables, the progress)
take their columns from the queries' own schemas when the application creates them
(clickstream/streaming/hive.py); they are named here with their partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clickstream.settings import Settings

# What writes a table.
ARCHIVE = "archive"              # the streaming application's ingest
LIVE = "live"                    # the streaming application's live queries and progress
LEDGER = "ledger"                # the simulators (ground truth)
RECONCILIATION = "reconciliation"  # the hourly reconciliation
HOURLY = "hourly"                # the hourly Spark job
DAILY = "daily"                  # the daily Spark job
REPORT = "report"                # the daily DAG's HiveQL reports


def _columns(spec: str) -> tuple[tuple[str, str], ...]:
    """Parse "name TYPE, name TYPE" (commas inside <…> belong to the type)."""
    items, depth, current = [], 0, ""
    for char in spec:
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    out = []
    for item in (" ".join(i.split()) for i in items):
        if item:
            name, kind = item.split(" ", 1)
            out.append((name, kind.replace(", ", ",").replace(",", ", ")))
    return tuple(out)


@dataclass(frozen=True)
class Table:
    """One table of the platform's Hive database."""

    name: str
    group: str
    partition_spec: str  # "dt STRING, hr INT"
    sort_key_spec: str = ""  # the batch jobs sort each partition's one file by it
    columns_spec: str = field(default="", repr=False)  # empty: from the writer's schema (streaming)
    # A live table partitioned by the day and hour of this column, its partitions compacted
    # (clickstream/streaming/compaction.py).
    hour_of: str = ""

    @property
    def partitions(self) -> tuple[tuple[str, str], ...]:
        return _columns(self.partition_spec)

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.partitions)

    @property
    def sort_key(self) -> list[str]:
        return [c.strip() for c in self.sort_key_spec.split(",") if c.strip()]

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        return _columns(self.columns_spec)


def _table(name: str, group: str, partitions: str, *, sort_key: str = "", columns: str = "",
           hour_of: str = "") -> Table:
    return Table(name, group, partitions, sort_key, columns, hour_of)


# The daily tables are in the order the daily job starts them (sessions first: it takes longest; the five
# that read what it caches last). Several are written at once: the single-task stages of one (the sort
# into one file, an aggregation skewed to one key) leave a core idle that the others' tasks take.
TABLES: tuple[Table, ...] = (
    _table("raw_events", ARCHIVE, "dt STRING, hr INT"),
    _table("bad_events", ARCHIVE, "dt STRING"),
    _table("live_metrics_parts", LIVE, "dt STRING, hr INT", hour_of="window_start"),
    _table("live_active_users_parts", LIVE, "dt STRING, hr INT", hour_of="window_start"),
    _table("live_paths", LIVE, "dt STRING, hr INT", hour_of="page_ts"),
    _table("live_alerts", LIVE, "dt STRING, hr INT", hour_of="window_start"),
    _table("stream_progress", LIVE, "dt STRING"),
    _table("sim_ledger", LEDGER, "dt STRING, app STRING", columns="""
        hr INT, run_id STRING, generated BIGINT, sent BIGINT, accepted BIGINT, rejected BIGINT,
        rejected_requests BIGINT, rejected_by_reason MAP<STRING, BIGINT>, unsent BIGINT, external BIGINT"""),
    _table("reconciliation", RECONCILIATION, "dt STRING, hr INT", columns="""
        app_id STRING, generated BIGINT, sent BIGINT, accepted BIGINT, rejected BIGINT, dead_lettered
        BIGINT, archived BIGINT, aggregated BIGINT, status STRING, message STRING, checked_at TIMESTAMP"""),
    _table("hourly_pages", HOURLY, "dt STRING, hr INT", sort_key="app_id, page", columns="""
        app_id STRING, page STRING, events BIGINT, page_views BIGINT, unique_users BIGINT,
        section_interactions BIGINT, add_to_cart BIGINT, time_on_page_avg_ms DOUBLE, response_p50_ms
        DOUBLE, response_p95_ms DOUBLE, errors BIGINT, error_rate DOUBLE"""),
    _table("hourly_sections", HOURLY, "dt STRING, hr INT", sort_key="app_id, page, section", columns="""
        app_id STRING, page STRING, section STRING, interactions BIGINT, section_views BIGINT,
        section_clicks BIGINT, section_scrolls BIGINT, section_hovers BIGINT, button_clicks BIGINT,
        unique_users BIGINT, section_leaves BIGINT, time_in_view_avg_ms DOUBLE"""),
    _table("sessions", DAILY, "dt STRING", sort_key="app_id, start_ts, session_id", columns="""
        app_id STRING, session_id STRING, user_id STRING, start_ts TIMESTAMP, end_ts TIMESTAMP,
        duration_s DOUBLE, events BIGINT, page_views BIGINT, bounce BOOLEAN, entry_page STRING,
        exit_page STRING, channel STRING, device_type STRING, browser STRING, os STRING, country STRING,
        city STRING, is_bot BOOLEAN, is_new_user BOOLEAN, converted BOOLEAN, revenue DOUBLE,
        crosses_midnight BOOLEAN"""),
    _table("daily_sections", DAILY, "dt STRING", sort_key="app_id, page, section", columns="""
        app_id STRING, page STRING, section STRING, interactions BIGINT, section_views BIGINT,
        section_clicks BIGINT, section_scrolls BIGINT, section_hovers BIGINT, button_clicks BIGINT,
        unique_users BIGINT, section_leaves BIGINT, time_in_view_avg_ms DOUBLE, rank_in_app INT"""),
    _table("daily_funnels", DAILY, "dt STRING", sort_key="app_id, funnel, step", columns="""
        app_id STRING, funnel STRING, step INT, step_name STRING, users BIGINT, drop_off BIGINT,
        conversion_from_start DOUBLE, conversion_from_previous DOUBLE"""),
    _table("daily_geo", DAILY, "dt STRING", sort_key="app_id, country, city", columns="""
        app_id STRING, country STRING, city STRING, events BIGINT, page_views BIGINT, unique_users
        BIGINT, sessions BIGINT, latitude DOUBLE, longitude DOUBLE"""),
    _table("daily_hours", DAILY, "dt STRING", sort_key="app_id, hr", columns="""
        app_id STRING, hr INT, events BIGINT, page_views BIGINT, unique_users BIGINT, response_p50_ms
        DOUBLE, response_p95_ms DOUBLE, errors BIGINT, error_rate DOUBLE, traffic_rank INT, is_peak
        BOOLEAN"""),
    _table("daily_pages", DAILY, "dt STRING", sort_key="app_id, page", columns="""
        app_id STRING, page STRING, page_views BIGINT, unique_users BIGINT, traffic_share DOUBLE,
        section_interactions BIGINT, page_leaves BIGINT, time_on_page_avg_ms DOUBLE, entrances BIGINT,
        exits BIGINT, rank_in_app INT"""),
    _table("daily_paths", DAILY, "dt STRING", sort_key="app_id, rank_in_app, step1, step2, step3", columns="""
        app_id STRING, step1 STRING, step2 STRING, step3 STRING, occurrences BIGINT, sessions BIGINT,
        rank_in_app INT"""),
    _table("daily_channels", DAILY, "dt STRING", sort_key="app_id, channel", columns="""
        app_id STRING, channel STRING, sessions BIGINT, unique_users BIGINT, bounce_rate DOUBLE,
        conversions BIGINT, conversion_rate DOUBLE, revenue DOUBLE"""),
    _table("daily_devices", DAILY, "dt STRING", sort_key="app_id, device_type, browser", columns="""
        app_id STRING, device_type STRING, browser STRING, sessions BIGINT, unique_users BIGINT,
        avg_duration_s DOUBLE"""),
    _table("daily_summary", DAILY, "dt STRING", sort_key="app_id", columns="""
        app_id STRING, events BIGINT, page_views BIGINT, unique_users BIGINT, new_users BIGINT,
        returning_users BIGINT, sessions BIGINT, avg_session_s DOUBLE, pages_per_session DOUBLE,
        bounce_rate DOUBLE, bot_events BIGINT, bot_share DOUBLE, add_to_cart BIGINT, purchases BIGINT,
        revenue DOUBLE, errors BIGINT, error_rate DOUBLE, peak_response_p95_ms DOUBLE,
        offpeak_response_p95_ms DOUBLE, peak_slowdown DOUBLE"""),
    _table("report_page_traffic", REPORT, "dt STRING", columns="""
        app_id STRING, page STRING, unique_users BIGINT, page_views BIGINT, traffic_pct DOUBLE, headline
        STRING"""),
    _table("report_section_engagement", REPORT, "dt STRING", columns="""
        app_id STRING, page STRING, section STRING, interactions BIGINT, clicks BIGINT, unique_users
        BIGINT, rank_in_app INT, headline STRING"""),
    _table("report_sessions", REPORT, "dt STRING", columns="""
        app_id STRING, sessions BIGINT, avg_session_min DOUBLE, pages_per_session DOUBLE, bounce_pct
        DOUBLE, new_users BIGINT, returning_users BIGINT, top_flow STRING, headline STRING"""),
    _table("report_errors", REPORT, "dt STRING", columns="""
        app_id STRING, hr INT, page_views BIGINT, errors BIGINT, error_pct DOUBLE, response_p95_ms
        DOUBLE, is_peak BOOLEAN, headline STRING"""),
    _table("report_headlines", REPORT, "dt STRING", columns="""
        app_id STRING, metric STRING, metric_value DOUBLE, headline STRING"""),
)  # fmt: skip

# Views over the live tables: each window's partials, merged (clickstream/streaming/metrics.py).
LATEST_VIEWS = ("live_metrics_latest", "live_active_users_latest")

BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """Return one table by name."""
    return BY_NAME[name]


def names(*groups: str) -> tuple[str, ...]:
    """Return the names of the tables these groups write, in catalog order."""
    return tuple(t.name for t in TABLES if t.group in groups)


def hourly_live_names() -> tuple[str, ...]:
    """The live tables partitioned by hour, whose partitions the application compacts."""
    return tuple(t.name for t in TABLES if t.hour_of)


def streaming_names() -> tuple[str, ...]:
    """Every table and view the streaming application creates."""
    return (*names(ARCHIVE, LIVE), *LATEST_VIEWS)


def create_table_sql(settings: Settings, t: Table, columns: tuple[tuple[str, str], ...] | None = None) -> str:
    """Return the idempotent DDL of an external Parquet table under the warehouse."""
    cols = ",\n  ".join(f"`{name}` {kind}" for name, kind in (columns or t.columns))
    parts = ", ".join(f"`{name}` {kind}" for name, kind in t.partitions)
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS {settings.hive_database}.{t.name} (\n  {cols}\n)\n"
            f"PARTITIONED BY ({parts})\nSTORED AS PARQUET\nLOCATION '{settings.table_path(t.name)}'")


def show_columns_sql(database: str, t: Table) -> str:
    """Return the statement listing a table's columns, one name per row (Hive's and Spark's syntax)."""
    return f"SHOW COLUMNS IN {t.name} IN {database}"


def add_columns_sql(database: str, t: Table, existing: list[str],
                    columns: tuple[tuple[str, str], ...] | None = None) -> str | None:
    """Return the ALTER TABLE that adds the catalog's columns a table created by an older release lacks.

    ``CREATE … IF NOT EXISTS`` leaves an existing table as it is; this brings its columns up to the
    catalog's. The added columns come last (every reader and writer names its columns, and Parquet is
    read by name), and read as NULL in the partitions written before.
    """
    have = {name.strip().lower() for name in existing}
    missing = [(name, kind) for name, kind in t.columns if name.lower() not in have]
    if not missing:
        return None
    return (f"ALTER TABLE {database}.{t.name} ADD COLUMNS ("
            + ", ".join(f"`{name}` {kind}" for name, kind in missing) + ")")


def batch_tables_ddl(settings: Settings) -> str:
    """Return the DDL of every table the batch side writes (all but the streaming application's)."""
    ddl = [create_table_sql(settings, t) for t in TABLES if t.columns_spec]
    return ";\n\n".join(ddl) + ";\n"
