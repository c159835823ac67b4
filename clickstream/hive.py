"""Run HiveQL on HiveServer2 (PyHive): the one client the platform's code uses."""

from __future__ import annotations

from clickstream.settings import Settings


def execute(settings: Settings, *statements: str, database: str | None = "") -> list[tuple]:
    """Run statements in one session; return the rows of the last (empty if it returns none).

    ``database`` defaults to the platform's database; pass None for Hive's default.
    """
    from pyhive import hive

    db = settings.hive_database if database == "" else database
    conn = hive.connect(host=settings.hive_host, port=settings.hive_port, auth="NONE",
                        **({"database": db} if db else {}))
    try:
        cur = conn.cursor()
        rows: list[tuple] = []
        for sql in statements:
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
        return rows
    finally:
        conn.close()
