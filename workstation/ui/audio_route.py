"""The recording, served from memory to the review workspace's player: `/_workstation/audio/<token>`.

The workspace plays the whole recording continuously, so the browser needs it as a seekable HTTP resource
(Range requests). Streamlit's own media store would hash the whole recording again on every full script run;
this route serves the bytes already decrypted in the tab's memory instead:

- **Nothing on disk.** The bytes are the ones `state.recording()` holds; nothing is copied or written. Every
  response is `Cache-Control: no-store, private` (the server's NoStoreMiddleware runs around this one too), so
  the browser keeps it in memory only.
- **A capability per tab.** A token is 32 random bytes, published for one Streamlit session (one tab) and
  withdrawn when that tab locks (`state.lock`), disconnects (the sweeper), or moves to another testimony.
- **Seekable.** `Range: bytes=a-b` answers 206 with that slice; the body goes out in 256 KiB pieces.

Only GET and HEAD; any other path passes through to Streamlit untouched.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

PREFIX = "/_workstation/audio/"
CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Published:
    owner: str  # the Streamlit session (tab) it was published for
    data: bytes
    mime: str


_lock = threading.Lock()
_published: dict[str, Published] = {}


def publish(owner: str, data: bytes, mime: str) -> str:
    """Make `data` playable by this tab; the URL path to give the player."""
    token = secrets.token_urlsafe(32)
    with _lock:
        _published[token] = Published(owner, data, mime)
    return PREFIX + token


def withdraw(url: str) -> None:
    with _lock:
        _published.pop(url.removeprefix(PREFIX), None)


def withdraw_owner(owner: str) -> int:
    """Forget everything published for one tab (lock, disconnect); how many were withdrawn."""
    with _lock:
        gone = [t for t, p in _published.items() if p.owner == owner]
        for token in gone:
            del _published[token]
    return len(gone)


def published_count() -> int:
    with _lock:
        return len(_published)


def _lookup(path: str) -> Published | None:
    with _lock:
        return _published.get(path.removeprefix(PREFIX))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte a Range header asks for; None for the whole file; ValueError if unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # several ranges or another unit: answer with the whole file (allowed by RFC 9110)
    if not m.group(1):  # "bytes=-500": the last 500 bytes
        first, last = max(0, size - int(m.group(2))), size - 1
    else:
        first = int(m.group(1))
        last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if first >= size or first > last:
        raise ValueError("unsatisfiable range")
    return first, last


class AudioRouteMiddleware:
    """ASGI: answers `PREFIX<token>` from the in-memory table; everything else goes to Streamlit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope.get("type") != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        item = _lookup(path)
        if method not in ("GET", "HEAD") or item is None:
            await _plain(send, 405 if item is not None else 404)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        size = len(item.data)
        try:
            wanted = byte_range(headers.get("range"), size)
        except ValueError:
            await _plain(send, 416, [(b"content-range", f"bytes */{size}".encode())])
            return
        first, last = wanted if wanted else (0, size - 1)
        out = [(b"content-type", item.mime.encode()), (b"accept-ranges", b"bytes"),
               (b"content-length", str(last - first + 1 if size else 0).encode())]
        if wanted:
            out.append((b"content-range", f"bytes {first}-{last}/{size}".encode()))
        await send({"type": "http.response.start", "status": 206 if wanted else 200, "headers": out})
        if method == "HEAD" or not size:
            await send({"type": "http.response.body", "body": b""})
            return
        view = memoryview(item.data)
        pos = first
        while pos <= last:
            end = min(pos + CHUNK, last + 1)
            await send({"type": "http.response.body", "body": bytes(view[pos:end]), "more_body": end <= last})
            pos = end


async def _plain(send: Send, status: int, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"0"), *(extra or [])]})
    await send({"type": "http.response.body", "body": b""})
