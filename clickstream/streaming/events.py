"""Parse and validate Event v1 records in Spark with the collector's own rules, in the JVM.

``transform_parse`` reads each record with Spark's JSON reader and checks it with Spark SQL expressions
built from the contract's JSON Schema (``contract_sql``; a record that check does not pass is parsed
again as a Variant for the exact verdict): the streaming job and the collector give
the same verdict and the same reason code (``clickstream.contracts.topic_rejection_reason`` is the
Python statement of it, and the differential test holds them together). Rows that fail keep their
raw text and reason for the bad-events table; they never fail the query.
"""

from __future__ import annotations

from functools import cache

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from clickstream.contracts import event_schema
from clickstream.streaming import contract_sql

_SPARK_TYPES: dict[str, DataType] = {
    "string": StringType(), "integer": LongType(), "number": DoubleType(), "boolean": BooleanType(),
}  # fmt: skip


def _spark_type(spec: dict) -> DataType:
    if "const" in spec:
        return LongType() if isinstance(spec["const"], int) else StringType()
    kind = spec.get("type", "string")
    kinds = kind if isinstance(kind, list) else [kind]
    return _SPARK_TYPES[next(k for k in kinds if k != "null")]


@cache
def event_struct() -> StructType:
    """Return the typed Spark schema of an enriched event (client fields, then enrichment)."""
    schema = event_schema()
    specs = {**schema["properties"], **schema["x-enrichment"]}
    return StructType([StructField(name, _spark_type(spec)) for name, spec in specs.items()])


@cache
def archived_struct() -> StructType:
    """Return the schema of an archived event: what ``valid_events`` returns and raw_events holds."""
    return StructType([
        *event_struct().fields,
        StructField("event_ts", TimestampType()), StructField("received_ts", TimestampType()),
        StructField("dt", StringType()), StructField("hr", IntegerType()),
    ])  # fmt: skip


# What the live queries read of each archived event (the internal feed's columns).
FEED_COLUMNS = ("app_id", "event_type", "event_ts", "user_id", "session_id", "page", "prev_page", "section",
                "element", "device_type", "country", "is_bot", "time_on_page_ms", "response_time_ms",
                "http_status")


@cache
def feed_struct() -> StructType:
    """Return the schema of the internal feed of archived events."""
    return StructType([archived_struct()[name] for name in FEED_COLUMNS])


def transform_parse(df: DataFrame, value_col: str = "value") -> DataFrame:
    """Add `_reason` (null when valid), `_raw` (text of rejected records), typed fields and timestamps."""
    return contract_sql.parse(df, value_col, event_struct())


def valid_events(parsed: DataFrame) -> DataFrame:
    """Keep valid events with their typed fields and dt/hr of event time."""
    return (
        parsed.filter(F.col("_reason").isNull())
        .select(*[f.name for f in event_struct().fields], "event_ts", "received_ts")
        .withColumn("dt", F.date_format("event_ts", "yyyy-MM-dd"))
        .withColumn("hr", F.hour("event_ts"))
    )


def bad_events(parsed: DataFrame, *kafka_cols: str) -> DataFrame:
    """Keep rejected records: the raw text, the reason, and where they came from."""
    return parsed.filter(F.col("_reason").isNotNull()).select(
        F.col("_raw").alias("raw"), F.col("_reason").alias("reason"), *kafka_cols)
