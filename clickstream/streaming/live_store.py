"""The Live page's store: the finished values of the recent 1-minute windows, in PostgreSQL.

The application merges each batch's partials into the recent windows (``RecentWindows``) and upserts the
windows the batch touched, in one transaction, into ``live_windows`` in the schema named as the Hive
database of the live tables (``clickstream``: one store serves several namespaces, as HiveServer2 does).
The Live page reads them back with an indexed query instead of merging every partial file of the day
through HiveServer2 (docs/decisions/live-read-path.md).

Exactly once without a log: a row holds a window's value after a batch, a function of the partials of the
batches up to it. A replayed batch (the recent windows read back from ``live_metrics_parts`` for the
batches before it) writes the same values. Windows the application no longer keeps (each breakdown's
horizon) are deleted in the same transaction; the Hive view ``live_metrics_latest`` keeps every window.
"""

from __future__ import annotations

from datetime import datetime

from clickstream.secrets import read_secret

TABLE = "live_windows"
PASSWORD_VAR = "CLICKSTREAM_LIVE_DB_PASSWORD"  # a secret (clickstream.secrets), never in settings

# The columns the Live page reads: (name, PostgreSQL type); a finished row's value, or how it is made.
COLUMNS = [
    ("window_start", "timestamp"), ("window_end", "timestamp"), ("app_id", "text"), ("dim", "text"),
    ("key", "text"), ("events", "bigint"), ("users", "bigint"), ("page_views", "bigint"),
    ("errors", "bigint"), ("error_rate", "double precision"), ("response_p95_ms", "double precision"),
    ("button_clicks", "bigint"), ("page_leaves", "bigint"), ("time_on_page_avg_ms", "double precision"),
    ("interactions", "bigint"), ("batch_id", "bigint"),
]  # fmt: skip
PRIMARY_KEY = ("app_id", "dim", "key", "window_start")
INTERACTIONS = ("section_views", "section_clicks", "section_scrolls", "section_hovers")


def table(schema: str) -> str:
    """Return the store's table of a Hive database's live tables: a schema of the same name."""
    return f'"{schema}".{TABLE}'


def create_sql(schema: str) -> str:
    """Return the schema's and table's DDL (idempotent) and the index of the page's range reads."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    return (f'CREATE SCHEMA IF NOT EXISTS "{schema}"; '
            f"CREATE TABLE IF NOT EXISTS {table(schema)} "
            f"({columns}, PRIMARY KEY ({', '.join(PRIMARY_KEY)})); "
            f"CREATE INDEX IF NOT EXISTS {TABLE}_by_time ON {table(schema)} (window_start, dim)")


def upsert_sql(schema: str) -> str:
    """Return the INSERT … ON CONFLICT of a batch's rows (psycopg2's execute_values fills VALUES %s)."""
    names = [name for name, _ in COLUMNS]
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in PRIMARY_KEY)
    return (f"INSERT INTO {table(schema)} ({', '.join(names)}) VALUES %s "
            f"ON CONFLICT ({', '.join(PRIMARY_KEY)}) DO UPDATE SET {updates}")


def values(row: dict, batch_id: int) -> tuple:
    """Return a finished window's values in COLUMNS' order."""
    made = {"interactions": sum(row[c] or 0 for c in INTERACTIONS), "batch_id": batch_id}
    return tuple(made[name] if name in made else row[name] for name, _ in COLUMNS)


class LiveStore:
    """Upserts the recent windows a batch touched; one connection, opened again after a failure."""

    def __init__(self, url: str, schema: str, password: str | None = None):
        self.url, self.schema = url, schema
        self.password = password if password is not None else read_secret(PASSWORD_VAR)
        self._conn = None
        self._ensured = False

    def _connection(self):
        import psycopg2

        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.url, password=self.password, connect_timeout=10)
        return self._conn

    def ensure(self) -> None:
        """Create the table if it does not exist."""
        conn = self._connection()
        with conn, conn.cursor() as cur:
            cur.execute(create_sql(self.schema))

    def publish(self, rows: list[dict], batch_id: int, kept: dict[datetime, tuple[str, ...]]) -> None:
        """Upsert a batch's finished windows and, in the same transaction, drop the windows no longer kept
        (``kept``: {first window kept: its breakdowns}, ``RecentWindows.horizon_starts``)."""
        from psycopg2.extras import execute_values

        if not self._ensured:
            self.ensure()
            self._ensured = True
        conn = self._connection()
        try:
            with conn, conn.cursor() as cur:
                if rows:
                    execute_values(cur, upsert_sql(self.schema), [values(r, batch_id) for r in rows],
                                   page_size=1000)
                for since, dims in kept.items():
                    cur.execute(f"DELETE FROM {table(self.schema)} WHERE dim = ANY(%s) AND window_start < %s",
                                (list(dims), since))
        except Exception:
            conn.close()  # the batch fails and is replayed; the next attempt connects again
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
