"""Fixtures of the warehouse tests (see batch_day.py)."""

from tests.support.batch_day import archived_day, built_day, daily_run  # noqa: F401 - fixtures
from tests.support.batch_week import built_week  # noqa: F401 - fixture
