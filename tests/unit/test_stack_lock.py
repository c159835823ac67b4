"""`make run`, `make stop` and `make status` serialize on the stack's lock (embedded/lock.py)."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from embedded.lock import StackBusy, StackLock


def _hold(run_dir, command, seconds, ready):
    with StackLock(run_dir).hold(command, wait_s=0):
        ready.set()
        time.sleep(seconds)


def start_holder(run_dir, command: str, seconds: float):
    """Another process holding the stack for `seconds`, as `make <command>` would; started and holding."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold, args=(run_dir, command, seconds, ready))
    proc.start()
    assert ready.wait(30)
    return proc


def test_a_second_command_waits_for_the_first_and_says_what_it_waits_for(tmp_path):
    first = start_holder(tmp_path, "stop", 2.0)
    lock = StackLock(tmp_path)
    holder = lock.holder()
    assert holder["command"] == "stop" and holder["pid"] == first.pid

    said = []
    t0 = time.monotonic()
    with lock.hold("run", wait_s=60, say=said.append):
        waited = time.monotonic() - t0
        assert lock.holder() is None or lock.holder()["command"] == "run"
    first.join(10)
    assert 0.5 < waited < 30, waited  # it waited for the stop to end, not for its own timeout
    assert len(said) == 1 and said[0].startswith(f"Waiting for `make stop` (pid {first.pid}, since ")
    assert lock.holder() is None  # released


def test_a_holder_that_dies_releases_the_lock(tmp_path):
    first = start_holder(tmp_path, "run", 600)
    first.kill()
    first.join(10)
    with StackLock(tmp_path).hold("run", wait_s=5, say=lambda _: None):
        pass


def test_waiting_gives_up_with_a_clear_error(tmp_path):
    first = start_holder(tmp_path, "run", 30)
    try:
        with pytest.raises(StackBusy, match=r"`make run` \(pid \d+, since .*\) is still running after 1 s"):
            with StackLock(tmp_path).hold("stop", wait_s=1, say=lambda _: None):
                pass
    finally:
        first.kill()
        first.join(10)
