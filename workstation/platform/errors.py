"""The project's error hierarchy.

Every error a person can trigger (bad audio, wrong passphrase, a conflicting edit, a missing model)
is a `WorkstationError` whose `str()` is a sentence a non-technical user understands and that says
what to do next. The CLI and the UI show that message and never a traceback.
"""

from __future__ import annotations


class WorkstationError(Exception):
    """Base class: the message is meant for people."""


class ConfigError(WorkstationError):
    """A setting (environment variable, path) is invalid."""


def failure_site(exc: BaseException) -> str:
    """file:line where an exception was raised. Logged instead of a traceback, whose message could quote data."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
