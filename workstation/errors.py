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
