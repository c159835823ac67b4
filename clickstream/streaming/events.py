"""Parse and validate Event v1 records in Spark with the collector's own rules.

One Python pass (``mapInArrow``) parses each record once with orjson, checks
the whole enriched event against the Event v1 schema plus the collector's
fields in one jsonschema-rs call, and hands the JVM typed Arrow columns; the
detailed reason code (the collector's ``rejection_reason``) is worked out
only for the rare record that fails, and the timestamp checks use the same
order and codes, so the streaming job and the collector cannot disagree on
what is valid. Rows that fail keep their raw text and reason for the bad-events
table; they never fail the query.
"""

from __future__ import annotations

from datetime import UTC, datetime
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

from clickstream.contracts import event_schema, parse_time, time_rejection

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


_NO_CLOCK = datetime(9000, 1, 1, tzinfo=UTC)  # no collector clock: skip the future check


def enriched_reason(text: str | None) -> str | None:
    """Return why a record on the events topic is not a valid enriched Event v1, or None."""
    import orjson

    from clickstream.contracts import rejection_reason

    try:
        event = orjson.loads(text) if text is not None else None
    except orjson.JSONDecodeError:
        return "not_an_object"
    if not isinstance(event, dict):
        return "not_an_object"
    extra = event_schema()["x-enrichment"]
    try:
        received = parse_time(event.get("received_time"))
    except (TypeError, ValueError, AttributeError):
        received = None
    # Client fields first, judged at the collector's clock, as the collector judged them.
    client = {k: v for k, v in event.items() if k not in extra}
    reason = rejection_reason(client, now=received or _NO_CLOCK)
    if reason is not None:
        return reason
    for name in extra:
        if name not in event:
            return f"missing:{name}"
    if received is None:
        return "invalid:received_time"
    if not isinstance(event["is_bot"], bool):
        return "invalid:is_bot"
    if event["device_type"] not in extra["device_type"]["enum"]:
        return "invalid:device_type"
    for name in ("ip", "browser", "os"):
        if not isinstance(event[name], str):
            return f"invalid:{name}"
    return None


@cache
def _enriched_validator():
    """Return one validator for a whole enriched event: Event v1 plus the collector's fields."""
    import jsonschema_rs

    schema = {k: v for k, v in event_schema().items() if k != "x-enrichment"}
    extra = event_schema()["x-enrichment"]
    schema["properties"] = {**schema["properties"], **extra}
    schema["required"] = [*schema["required"], *extra]
    return jsonschema_rs.Draft202012Validator(schema)


def _reason_of_invalid(text: str | None) -> str:
    """Return the detailed reason of a record that failed the schema check."""
    try:
        return enriched_reason(text) or "invalid"
    except Exception as exc:  # noqa: BLE001 - a record must never fail the query
        return f"unparseable:{type(exc).__name__}"


def _times(event: dict) -> tuple[datetime | None, datetime | None, str | None]:
    """Return event and receive time of a schema-valid event, and why its times are invalid if they are.

    The collector's own time rules (``time_rejection``), judged at the
    collector's clock (``received_time``).
    """
    try:
        received_ts = parse_time(event["received_time"])
        if received_ts.tzinfo is None:
            raise ValueError("no time zone")
    except ValueError:
        received_ts = None
    reason = time_rejection(event, received_ts or _NO_CLOCK)
    if reason is None and received_ts is None:
        reason = "invalid:received_time"
    return (parse_time(event["event_time"]) if reason is None else None), received_ts, reason


def _parse_batches(batches, value_col: str, kept: list[str], out_schema):
    """Parse and validate Arrow batches of raw records: `_reason`, typed event columns, timestamps.

    Each record is parsed once (orjson) and checked against the schema of the
    whole enriched event in one jsonschema-rs call (about 5 µs); the detailed
    reason is worked out only for the rare record that fails. Valid records'
    fields become typed Arrow columns, so the JVM never parses the JSON.
    """
    import orjson
    import pyarrow as pa

    validator = _enriched_validator()
    names = [f.name for f in event_struct().fields]
    event_type = pa.struct([out_schema.field(n) for n in names])
    ts_type = out_schema.field("event_ts").type
    for batch in batches:
        events: list[dict | None] = []
        reasons: list[str | None] = []
        raws: list[str | None] = []  # kept for rejected records only (bad_events needs them)
        event_times: list[datetime | None] = []
        received_times: list[datetime | None] = []
        for value in batch.column(value_col).to_pylist():
            try:
                event = orjson.loads(value) if value is not None else None
            except orjson.JSONDecodeError:
                event = None
            if isinstance(event, dict) and validator.is_valid(event):
                event_ts, received_ts, reason = _times(event)
            else:
                event_ts, received_ts, reason = None, None, ""
            ok = reason is None
            text = None if ok else value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            events.append(event if ok else None)
            reasons.append(None if ok else reason or _reason_of_invalid(text))
            raws.append(text)
            event_times.append(event_ts if ok else None)
            received_times.append(received_ts if ok else None)
        yield pa.RecordBatch.from_arrays(
            [*[batch.column(c) for c in kept], pa.array(raws, pa.string()), pa.array(reasons, pa.string()),
             *pa.array(events, type=event_type).flatten(),
             pa.array(event_times, ts_type), pa.array(received_times, ts_type)],
            schema=out_schema,
        )


def transform_parse(df: DataFrame, value_col: str = "value") -> DataFrame:
    """Add `_reason` (null when valid), `_raw` (text of rejected records), typed fields and timestamps."""
    from pyspark.sql.pandas.types import to_arrow_schema

    # The input's `value` column gives way to the event's fields (which include a `value`).
    kept = [c for c in df.columns if c != value_col]
    schema = StructType([
        *[df.schema[c] for c in kept], StructField("_raw", StringType()),
        StructField("_reason", StringType()), *event_struct().fields,
        StructField("event_ts", TimestampType()), StructField("received_ts", TimestampType()),
    ])  # fmt: skip
    arrow_schema = to_arrow_schema(schema, timezone="UTC")
    return df.mapInArrow(lambda batches: _parse_batches(batches, value_col, kept, arrow_schema), schema)


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
