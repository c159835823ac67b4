"""SQL literals for HiveQL and Spark SQL text (the one quoting rule every query builder uses)."""

from __future__ import annotations


def string_literal(value: object) -> str:
    """Return a value as a SQL string literal: in quotes, its backslashes and quotes escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
