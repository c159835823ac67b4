"""The dashboard's errors: what a page shows its user instead of a figure."""

from __future__ import annotations

import re

from clickstream import catalog


class DataError(RuntimeError):
    """A query the dashboard needs failed; the message is fit to show to the user."""


class MissingTable(DataError):
    """A table the query reads has not been created yet (a fresh stack)."""


# Tables the streaming application creates when it starts; the batch DAGs create the others.
STREAMING_TABLES = catalog.streaming_names()


def missing_table_message(error: str) -> str:
    """Say which table does not exist yet and what creates it, from Spark's TABLE_OR_VIEW_NOT_FOUND."""
    named = re.search(r"`?([A-Za-z0-9_]+)`?\s+cannot be found", error)
    table = named.group(1) if named else None
    what = f"Table `{table}` does not exist yet" if table else "A table this page reads does not exist yet"
    if table in STREAMING_TABLES:
        return (f"{what}: the streaming application creates it when it first starts (the "
                "`clickstream_streaming` DAG; `make status` shows whether it runs).")
    return (f"{what}: the batch DAGs create it in their first run, a few minutes after the first full "
            "hour since the platform started (`clickstream_hourly`).")
