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

``parse(df, value_col)`` stages the work so that each expression is computed once per record: the
Variant, then each field's value and JSON type, then the checks and typed values.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from clickstream.contracts import MAX_CLOCK_SKEW, event_schema

VARIANT, TEXT = "__v", "__text"
# The collector writes its clock as ISO 8601 with an offset (Z); anything else is not its clock.
RECEIVED_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})\z"


def java_pattern(pattern: str) -> str:
    """Return a JSON Schema (ECMA-262) pattern as a Java regex: ``$`` ends the text, not a line."""
    return pattern[:-1] + r"\z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern


def _value(name: str) -> str:
    return f"__f_{name}"


def _kind(name: str) -> str:
    return f"__k_{name}"


def _is_number(kind: Column) -> Column:
    return kind.isin("BIGINT", "DOUBLE") | kind.startswith("DECIMAL(")


def value_valid(name: str, spec: dict) -> Column:
    """Whether a present field's value satisfies its schema (type, const, enum, pattern, length, range)."""
    sub, kind = F.col(_value(name)), F.col(_kind(name))
    text = F.try_variant_get(sub, "$", "string")
    number = F.try_variant_get(sub, "$", "double")
    if "const" in spec:
        const = spec["const"]
        if isinstance(const, str):
            return F.coalesce((kind == "STRING") & (text == const), F.lit(False))
        return F.coalesce(_is_number(kind) & (number == float(const)), F.lit(False))
    types = spec.get("type", "string")
    checks = []
    for json_type in types if isinstance(types, list) else [types]:
        if json_type == "null":
            checks.append(kind == "VOID")
        elif json_type == "boolean":
            checks.append(kind == "BOOLEAN")
        elif json_type == "string":
            ok = kind == "STRING"
            if "enum" in spec:
                ok = ok & text.isin(*spec["enum"])
            if "pattern" in spec:
                ok = ok & text.rlike(java_pattern(spec["pattern"]))
            if "maxLength" in spec:
                ok = ok & (F.char_length(text) <= spec["maxLength"])
            checks.append(ok)
        elif json_type in ("integer", "number"):
            ok = _is_number(kind) & number.isNotNull()
            if json_type == "integer":  # JSON Schema: a number without a fraction (2.0 is an integer)
                ok = ok & (number == F.floor(number))
            if "minimum" in spec:
                ok = ok & (number >= spec["minimum"])
            if "maximum" in spec:
                ok = ok & (number <= spec["maximum"])
            checks.append(ok)
        else:
            raise ValueError(f"the contract's type {json_type!r} of {name} has no Spark check")
    return F.coalesce(reduce(lambda a, b: a | b, checks), F.lit(False))


def _first(cases: list[tuple[Column, str]]) -> Column:
    """The label of the first true condition, else null."""
    expr = F.when(cases[0][0], F.lit(cases[0][1]))
    for condition, label in cases[1:]:
        expr = expr.when(condition, F.lit(label))
    return expr


def _present(name: str) -> Column:
    return F.col(_value(name)).isNotNull()


def reason() -> Column:
    """The collector's reason code for a staged record (see ``parse``), null when it is a valid event."""
    schema = event_schema()
    client, extra = schema["properties"], schema["x-enrichment"]
    keys = F.json_object_keys(F.col(TEXT))  # the record's own key order; computed only for a rejection
    missing = _first([(~_present(n), f"missing:{n}") for n in schema["required"]])
    invalid = {n: _present(n) & ~value_valid(n, spec) for n, spec in client.items()}
    flags = F.create_map(*[x for n, c in invalid.items() for x in (F.lit(n), c)])
    first_invalid = F.element_at(F.filter(keys, lambda k: F.coalesce(flags[k], F.lit(False))), 1)
    unknown = F.array_sort(F.array_except(keys, F.array(*[F.lit(n) for n in [*client, *extra]])))
    event_ts, sent_ts, received_ts = F.col("event_ts"), F.col("__sent_ts"), F.col("received_ts")
    skew = F.expr(f"INTERVAL {int(MAX_CLOCK_SKEW.total_seconds())} SECONDS")
    enrichment = _first(
        [(~_present(n), f"missing:{n}") for n in extra]
        + [(received_ts.isNull(), "invalid:received_time")]
        + [(~value_valid(n, spec), f"invalid:{n}") for n, spec in extra.items() if n != "received_time"])
    # An object followed by more than whitespace is not JSON (the Variant parser stops after the object).
    is_object = (F.col(VARIANT).isNotNull() & F.schema_of_variant(F.col(VARIANT)).startswith("OBJECT<")
                 & F.rtrim(F.col(TEXT), F.lit(" \t\n\r")).endswith("}"))
    return (
        F.when(~is_object, F.lit("not_an_object"))
        .when(missing.isNotNull(), missing)
        .when(reduce(lambda a, b: a | b, invalid.values()), F.concat(F.lit("invalid:"), first_invalid))
        .when(F.size(unknown) > 0, F.concat(F.lit("unknown_field:"), F.substring(unknown[0], 1, 40)))
        .when(event_ts.isNull() | sent_ts.isNull(), F.lit("invalid:event_time"))
        .when(received_ts.isNotNull() & (event_ts > received_ts + skew), F.lit("event_time_in_future"))
        .otherwise(enrichment)
    )


def parse(df: DataFrame, value_col: str, fields: StructType) -> DataFrame:
    """Add ``_reason`` (null when valid), ``_raw`` (text of rejected records), typed fields and timestamps.

    ``fields`` is the typed schema of an enriched event (``events.event_struct()``); the input's other
    columns are kept, its ``value_col`` gives way to the event's fields.
    """
    schema = event_schema()
    specs = {**schema["properties"], **schema["x-enrichment"]}
    # A key given twice keeps its last value, as the collector's parser does (Spark's default refuses it).
    df.sparkSession.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
    kept = [c for c in df.columns if c != value_col]
    raw = F.col(value_col).cast("string")
    staged = (
        df.withColumn(TEXT, F.when(F.is_valid_utf8(raw), raw))
        .withColumn(VARIANT, F.try_parse_json(F.col(TEXT)))
        .withColumns({_value(n): F.try_variant_get(F.col(VARIANT), f"$.{n}", "variant") for n in specs})
        .withColumns({_kind(n): F.schema_of_variant(F.col(_value(n))) for n in specs})
    )
    received = F.try_variant_get(F.col(_value("received_time")), "$", "string")
    staged = staged.withColumns({
        "event_ts": F.try_to_timestamp(F.try_variant_get(F.col(_value("event_time")), "$", "string")),
        "__sent_ts": F.try_to_timestamp(F.try_variant_get(F.col(_value("sent_time")), "$", "string")),
        "received_ts": F.when(received.rlike(RECEIVED_PATTERN), F.try_to_timestamp(received)),
    }).withColumn("_reason", reason())
    ok = F.col("_reason").isNull()
    typed = [F.when(ok, F.try_variant_get(F.col(_value(f.name)), "$", f.dataType.simpleString()))
             .alias(f.name) for f in fields]
    return staged.select(
        *kept,
        F.when(~ok, F.make_valid_utf8(raw)).alias("_raw"),
        "_reason", *typed,
        F.when(ok, F.col("event_ts")).alias("event_ts"),
        F.when(ok, F.col("received_ts")).alias("received_ts"),
    )
