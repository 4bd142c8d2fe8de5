"""The tests' own waiting helper: returns as soon as the condition holds, fails clearly when it never does."""

from __future__ import annotations

import threading
import time

import pytest

from tests.waiting import WaitTimeout, wait_until


def test_returns_the_first_truthy_value_without_waiting_longer() -> None:
    calls: list[int] = []

    def third_time() -> str:
        calls.append(1)
        return "ready" if len(calls) >= 3 else ""

    started = time.monotonic()
    assert wait_until(third_time, 5, interval=0.01) == "ready"
    assert len(calls) == 3 and time.monotonic() - started < 1


def test_sees_a_change_made_by_another_thread() -> None:
    flag = threading.Event()
    threading.Timer(0.05, flag.set).start()
    assert wait_until(flag.is_set, 5, interval=0.01) is True


def test_times_out_with_the_message_after_one_last_try() -> None:
    calls: list[float] = []
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="the job never started"):
        wait_until(lambda: calls.append(time.monotonic()), 0.2, interval=0.05, message="the job never started")
    assert 0.2 <= calls[-1] - started < 1.0  # the last try is at the deadline, not before it
    assert issubclass(WaitTimeout, AssertionError)
