"""Event v1's rules as Spark SQL expressions, derived from the contract's JSON Schema: validation in the JVM.

Each record is parsed once into a Variant (``try_parse_json``), which keeps every value's JSON type, so
the checks are the schema's own: a value's type (``schema_of_variant``), ``const``, ``enum``,
``pattern`` (ECMA-262's ``$`` translated to Java's ``\\z``), ``maxLength`` (code points), ``minimum`` /
``maximum``, required fields and unknown fields, then the collector's time rules and its enrichment
fields. Nothing is restated by hand: the expressions are built from ``event_v1.schema.json``.

The reason code is the collector's (``clickstream.contracts.rejection_reason``), in its order:
``not_an_object``; the first ``missing:<field>`` in the schema's ``required`` order; the first
``invalid:<field>`` in the record's own key order (as the JSON Schema validator reports it);
``unknown_field:<first unknown field, sorted>``; ``invalid:event_time``; ``event_time_in_future``;
then the collector's fields: ``missing:<field>``, ``invalid:received_time``, ``invalid:<field>``.

``parse`` reads each record once with Spark's JSON reader and passes it on its typed values (the fast
check); only the records that check does not pass are parsed as a Variant for the exact verdict and
reason (``exact_reason``). The differential test holds both to the collector.
"""

from __future__ import annotations

import re
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from clickstream.contracts import MAX_CLOCK_SKEW, event_schema

TEXT, CORRUPT = "__text", "__corrupt"
# The collector writes its clock as ISO 8601 with an offset (Z); anything else is not its clock.
RECEIVED_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})\z"
# What a JSON value other than a string reads as when Spark's JSON reader gives it to a string field.
NOT_A_STRING = r"(?s)^(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|[\[{].*)\z"


def java_pattern(pattern: str) -> str:
    """Return a JSON Schema (ECMA-262) pattern as a Java regex: ``$`` ends the text, not a line."""
    return pattern[:-1] + r"\z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern


def _types(spec: dict) -> list[str]:
    if "const" in spec:
        return ["string" if isinstance(spec["const"], str) else "number"]
    types = spec.get("type", "string")
    return types if isinstance(types, list) else [types]


def _rules(text: Column, number: Column, spec: dict, json_type: str) -> Column:
    """The checks of a value already known to be of ``json_type``."""
    ok = F.lit(True)
    if json_type == "string":
        if "const" in spec:
            ok = ok & (text == spec["const"])
        if "enum" in spec:
            ok = ok & text.isin(*spec["enum"])
        if "pattern" in spec:
            ok = ok & text.rlike(java_pattern(spec["pattern"]))
        if "maxLength" in spec:
            ok = ok & (F.char_length(text) <= spec["maxLength"])
    elif json_type in ("integer", "number"):
        if "const" in spec:
            ok = ok & (number == float(spec["const"]))
        if json_type == "integer":  # JSON Schema: a number without a fraction (2.0 is an integer)
            ok = ok & (number == F.floor(number))
        if "minimum" in spec:
            ok = ok & (number >= spec["minimum"])
        if "maximum" in spec:
            ok = ok & (number <= spec["maximum"])
    return ok


# -- the exact check: a Variant keeps each value's JSON type -------------------------------------


def _is_number(kind: Column) -> Column:
    return kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL(")


def exact_valid(sub: Column, spec: dict) -> Column:
    """Whether a present field's value (a Variant) satisfies its schema: JSON type, then its rules."""
    kind = F.schema_of_variant(sub)
    text, number = F.try_variant_get(sub, "$", "string"), F.try_variant_get(sub, "$", "double")
    checks = []
    for json_type in _types(spec):
        if json_type == "null":
            checks.append(kind == "VOID")
        elif json_type == "boolean":
            checks.append(kind == "BOOLEAN")
        elif json_type == "string":
            checks.append((kind == "STRING") & _rules(text, number, spec, json_type))
        elif json_type in ("integer", "number"):
            checks.append(_is_number(kind) & number.isNotNull() & _rules(text, number, spec, json_type))
        else:
            raise ValueError(f"the contract's type {json_type!r} has no Spark check")
    return F.coalesce(reduce(lambda a, b: a | b, checks), F.lit(False))


def _first(cases: list[tuple[Column, str]]) -> Column:
    """The label of the first true condition, else null."""
    expr = F.when(cases[0][0], F.lit(cases[0][1]))
    for condition, label in cases[1:]:
        expr = expr.when(condition, F.lit(label))
    return expr


def _skew() -> Column:
    return F.expr(f"INTERVAL {int(MAX_CLOCK_SKEW.total_seconds())} SECONDS")


def _time(text: Column) -> Column:
    # The schema's pattern has fixed the shape; the cast refuses impossible dates and times (Feb 30, 24:00).
    return F.try_to_timestamp(text)


def _received(text: Column) -> Column:
    return F.when(text.rlike(RECEIVED_PATTERN), F.try_to_timestamp(text))


def exact_reason(text: Column, value: Column) -> Column:
    """The collector's reason code for a record (its text and its Variant), null when it is valid."""
    schema = event_schema()
    client, extra = schema["properties"], schema["x-enrichment"]

    def sub(name: str) -> Column:
        return F.try_variant_get(value, f"$.{name}", "variant")

    def string(name: str) -> Column:
        return F.try_variant_get(value, f"$.{name}", "string")

    keys = F.json_object_keys(text)  # the record's own key order
    missing = _first([(sub(n).isNull(), f"missing:{n}") for n in schema["required"]])
    invalid = {n: sub(n).isNotNull() & ~exact_valid(sub(n), spec) for n, spec in client.items()}
    flags = F.create_map(*[x for n, c in invalid.items() for x in (F.lit(n), c)])
    first_invalid = F.element_at(F.filter(keys, lambda k: F.coalesce(flags[k], F.lit(False))), 1)
    unknown = F.array_sort(F.array_except(keys, F.array(*[F.lit(n) for n in [*client, *extra]])))
    event_ts, received_ts = _time(string("event_time")), _received(string("received_time"))
    enrichment = _first(
        [(sub(n).isNull(), f"missing:{n}") for n in extra]
        + [(received_ts.isNull(), "invalid:received_time")]
        + [(~exact_valid(sub(n), spec), f"invalid:{n}") for n, spec in extra.items() if n != "received_time"])
    return (
        F.when(~_is_object(text, value.isNotNull() & F.schema_of_variant(value).startswith("OBJECT<")),
               F.lit("not_an_object"))
        .when(missing.isNotNull(), missing)
        .when(reduce(lambda a, b: a | b, invalid.values()), F.concat(F.lit("invalid:"), first_invalid))
        .when(F.size(unknown) > 0, F.concat(F.lit("unknown_field:"), F.substring(unknown[0], 1, 40)))
        .when(event_ts.isNull() | _time(string("sent_time")).isNull(), F.lit("invalid:event_time"))
        .when(received_ts.isNotNull() & (event_ts > received_ts + _skew()), F.lit("event_time_in_future"))
        .otherwise(enrichment)
    )


def _is_object(text: Column, parsed_object: Column) -> Column:
    # An object followed by more than whitespace is not JSON (Spark's parsers stop after the object).
    return parsed_object & F.rtrim(text, F.lit(" \t\n\r")).endswith("}")


# -- the fast check: Spark's JSON reader, typed -----------------------------------------------------


def reader_schema(fields: StructType) -> StructType:
    """The event's fields as Spark's JSON reader reads them: integers as doubles (2.0 is an integer)."""
    return StructType([
        *[StructField(f.name, DoubleType() if isinstance(f.dataType, LongType) else f.dataType)
          for f in fields],
        StructField(CORRUPT, StringType()),
    ])  # fmt: skip


# JSON values other than strings, as the reader gives them to a string field.
_OTHER_TYPES_AS_TEXT = ("true", "false", "0", "-1", "12", "1.5", "1e5", "-2E-3", "{}", "[]", '{"a":1}', "[1]")


def _may_read_as_another_type(spec: dict) -> bool:
    """Whether a string field's rules would pass a non-string JSON value read as text."""
    if "enum" in spec or "const" in spec:
        return any(v in _OTHER_TYPES_AS_TEXT for v in spec.get("enum", [spec.get("const")]))
    if "pattern" in spec:
        return any(re.search(spec["pattern"], v) for v in _OTHER_TYPES_AS_TEXT)
    return True


def fast_valid(event: Column) -> Column:
    """True only for a valid event, from the reader's typed values; false also when it cannot tell.

    The reader gives a string field any JSON value as text, so a free-text field whose text reads as a
    number, a boolean, an object or an array is left to the exact check; a value of the wrong type in
    any other field makes the reader fail it (the corrupt-record column).
    """
    schema = event_schema()
    specs = {**schema["properties"], **schema["x-enrichment"]}
    required = set(schema["required"]) | set(schema["x-enrichment"])
    ok = event[CORRUPT].isNull()
    for name, spec in specs.items():
        value = event[name]
        kinds = [t for t in _types(spec) if t != "null"]
        rules = _rules(value, value, spec, kinds[0])
        if kinds[0] == "string" and _may_read_as_another_type(spec):
            rules = rules & ~value.rlike(NOT_A_STRING)
        ok = ok & (value.isNotNull() & rules if name in required else value.isNull() | rules)
    return ok


def parse(df: DataFrame, value_col: str, fields: StructType) -> DataFrame:
    """Add ``_reason`` (null when valid), ``_raw`` (text of rejected records), typed fields and timestamps.

    ``fields`` is the typed schema of an enriched event (``events.event_struct()``); the input's other
    columns are kept, its ``value_col`` gives way to the event's fields. Every record is read once by
    Spark's JSON reader and checked from its typed values; only a record that check does not pass (a
    rejected one, or a rare free-text value that reads as another JSON type) is parsed again as a
    Variant, for the exact verdict and the collector's reason code.
    """
    schema = event_schema()
    # A key given twice keeps its last value, as the collector's parser does (Spark's default refuses it).
    df.sparkSession.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
    kept = [c for c in df.columns if c != value_col]
    raw = F.col(value_col).cast("string")
    event = F.col("__event")
    keys = F.json_object_keys(F.col(TEXT))
    known = [*schema["properties"], *schema["x-enrichment"]]
    staged = df.withColumn(TEXT, F.when(F.is_valid_utf8(raw), raw)).withColumn(
        "__event", F.from_json(F.col(TEXT), reader_schema(fields),
                               {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}))
    event_ts, sent_ts = _time(event["event_time"]), _time(event["sent_time"])
    received_ts = _received(event["received_time"])
    # (A record ending in whitespace, as no collector writes one, is left to the exact check.)
    fast = (keys.isNotNull() & F.col(TEXT).endswith("}") & F.forall(keys, lambda k: k.isin(*known))
            & fast_valid(event) & event_ts.isNotNull() & sent_ts.isNotNull() & received_ts.isNotNull()
            & (event_ts <= received_ts + _skew()))
    # The exact check runs only where the fast one did not pass; the lambda parses the Variant once.
    exact = F.element_at(F.transform(F.array(F.try_parse_json(F.col(TEXT))),
                                     lambda value: exact_reason(F.col(TEXT), value)), 1)
    reason = F.when(F.coalesce(fast, F.lit(False)), F.lit(None).cast("string")).otherwise(exact)
    staged = staged.withColumns({"event_ts": event_ts, "received_ts": received_ts, "_reason": reason})
    ok = F.col("_reason").isNull()
    return staged.select(
        *kept,
        F.when(~ok, F.make_valid_utf8(raw)).alias("_raw"),
        "_reason",
        *[F.when(ok, event[f.name].cast(f.dataType)).alias(f.name) for f in fields],
        F.when(ok, F.col("event_ts")).alias("event_ts"),
        F.when(ok, F.col("received_ts")).alias("received_ts"),
    )
