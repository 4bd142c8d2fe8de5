"""Unlock throttling: failed unlocks make the next attempt wait, also across restarts.

Failures are counted per user name in ``unlock-throttle.json`` at the vault root (plaintext, so it works
before any key is known; it holds only SHA-256 tags of the typed names, counters and times — no content, no
typed name). After :data:`FREE_ATTEMPTS` failures each further attempt must wait a delay that doubles (5 s,
10 s, 20 s … up to 15 minutes), also across restarts; during the wait even the right passphrase is refused
without being tried, so the delay cannot be used as an oracle. Failures are written to the audit log as
``unlock_failed`` entries at the next successful unlock (the log is authenticated with a key only an unlocked
vault has); a failure is recorded under the user's name only if that user exists, so a passphrase typed
into the name field never reaches any file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workstation.platform.errors import WorkstationError


class ThrottledError(WorkstationError):
    """Too many failed unlocks: wait ``seconds`` before the next attempt."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


FREE_ATTEMPTS = 3
BASE_DELAY_S = 5.0
MAX_DELAY_S = 15 * 60.0
THROTTLE_FILE = "unlock-throttle.json"


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failures (0 for the first few)."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY_S, BASE_DELAY_S * 2 ** min(failures - FREE_ATTEMPTS, 32))  # a planted huge count: no bignum


def _tag(user: str) -> str:
    return hashlib.sha256(("tw-user:" + user).encode("utf-8")).hexdigest()[:24]


class Throttle:
    """Failure counters persisted in a plaintext file that holds no content (see module docstring)."""

    def __init__(self, root: Path, write_atomic: Callable[[Path, bytes], None]) -> None:
        self.path = Path(root) / THROTTLE_FILE
        self._write = write_atomic

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if isinstance(data, dict) and isinstance(data.get("users"), dict) and isinstance(data.get("pending"), list):
                return data
        except (OSError, ValueError):
            pass
        return {"users": {}, "pending": []}

    def _save(self, data: dict[str, Any]) -> None:
        self._write(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def check(self, user: str, now: float | None = None) -> None:
        """Raise :class:`ThrottledError` while ``user`` must still wait."""
        entry = self._load()["users"].get(_tag(user))
        if not entry:
            return
        now = time.time() if now is None else now
        try:
            # A "last failure" in the future (a planted or garbled file; a clock set back) counts as now, so
            # no file can make anyone wait longer than MAX_DELAY_S from the moment it is seen.
            last, failures = min(float(entry.get("last", 0)), now), int(entry.get("failures", 0))
        except (TypeError, ValueError, OverflowError, AttributeError):
            return  # an unreadable entry: no delay (the file holds no secret; failure() rewrites it)
        wait = last + delay_after(failures) - now
        if wait > 0:
            raise ThrottledError(
                f"Too many wrong passphrases for this account. Wait {int(wait) + 1} seconds before trying "
                "again (the wait grows with each failure; it is not reset by restarting).",
                seconds=wait,
            )

    def failure(self, user: str, known: bool) -> None:
        data = self._load()
        entry = data["users"].setdefault(_tag(user), {"failures": 0, "last": 0})
        entry["failures"] = int(entry.get("failures", 0)) + 1
        entry["last"] = time.time()
        data["pending"].append({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": user if known else ""})
        data["pending"] = data["pending"][-1000:]  # bounded: a scripted attack cannot fill the disk
        self._save(data)

    def success(self, user: str) -> list[dict[str, str]]:
        """Reset the user's counter; return (and forget) the failures waiting to be written to the audit log."""
        data = self._load()
        pending = list(data["pending"])
        if not pending and _tag(user) not in data["users"]:
            return []
        data["users"].pop(_tag(user), None)
        data["pending"] = []
        self._save(data)
        return pending

    def pending(self) -> Iterable[dict[str, str]]:
        return list(self._load()["pending"])
