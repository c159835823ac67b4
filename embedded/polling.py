"""Polling for a condition (the stack's commands, the benchmarks and the tests): never a sleep that hopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, every: float = 2.0, what: str = "condition") -> T:
    """Poll until condition() is truthy and return its value; raise TimeoutError naming what. An exception
    of condition() is raised at once (it is not a "not yet")."""
    poll = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(every),
                    retry=retry_if_result(lambda value: not value))
    try:
        return poll(condition)
    except RetryError:
        raise TimeoutError(f"{what} not reached within {timeout:.0f} s") from None


def until(condition: Callable[[], object], timeout: float, every: float = 1.0) -> bool:
    """Poll until condition() is truthy; return whether it was within timeout (False: it was not)."""
    try:
        wait_for(condition, timeout, every)
    except TimeoutError:
        return False
    return True
