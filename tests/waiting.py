"""Waiting in tests without guessing a duration: poll a condition until it holds or a deadline passes.

A fixed ``time.sleep(n)`` is either too short on a loaded machine (a flaky test) or too long everywhere else
(a slow one). ``wait_until`` returns as soon as the condition holds and fails with a message when it never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline (an AssertionError, so pytest reports it as a failure)."""


def wait_until(predicate: Callable[[], T], timeout: float, *, interval: float = 0.05, message: str = "") -> T:
    """Call ``predicate`` until it returns something truthy (returned), or raise WaitTimeout after ``timeout`` s.

    The predicate is always tried once more at the deadline, so a slow poll interval never loses the last chance.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(message or f"condition not met within {timeout:g} s: {predicate!r}")
        time.sleep(min(interval, left))
