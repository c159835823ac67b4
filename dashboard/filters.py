"""What the sidebar selected, as the SQL predicates of the History and Pipeline pages' queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clickstream.sql import string_literal


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected: one app or all, a date range, one page or all."""

    apps: tuple[str, ...]
    start: date
    end: date
    page: str | None = None

    @property
    def days(self) -> tuple[str, str]:
        """The date range as the ``dt`` partition values it spans."""
        return self.start.isoformat(), self.end.isoformat()

    def where(self, *, page_column: str | None = None, alias: str = "") -> str:
        """Return the SQL predicate of these filters (dt range, apps, and page if the table has one)."""
        p = f"{alias}." if alias else ""
        first, last = self.days
        terms = [f"{p}dt BETWEEN '{first}' AND '{last}'", f"{p}app_id IN ({quoted(self.apps)})"]
        if page_column and self.page:
            terms.append(f"{p}{page_column} = {quoted([self.page])}")
        return " AND ".join(terms)


def quoted(values) -> str:
    """Return SQL string literals for values (quotes escaped), comma-separated."""
    return ", ".join(string_literal(v) for v in values)
