"""What `workstation/ui/server.py` changes in Streamlit's server: no IP look-ups, uploads in memory, no-store."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from workstation.platform import offline
from workstation.ui import server


@pytest.fixture()
def spool_size() -> Iterator[None]:
    from starlette.formparsers import MultiPartParser

    before = MultiPartParser.spool_max_size
    yield
    MultiPartParser.spool_max_size = before


def test_a_foreign_origin_triggers_no_ip_lookup() -> None:
    """Judging a WebSocket's Origin used to connect UDP to 8.8.8.8 and fetch checkip.amazonaws.com."""
    from streamlit.web.server import server_util

    server.close_ip_lookups()
    offline.clear_attempts()
    assert server_util.is_url_from_allowed_origins("http://evil.example/") is False
    assert server_util.is_url_from_allowed_origins("http://127.0.0.1:8501/") is True
    assert offline.blocked_attempts() == []  # the guard saw no attempt: nothing was even tried


def _multipart(payload: bytes) -> tuple[bytes, bytes]:
    boundary = b"workstationboundary"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="r.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n" + payload + b"\r\n--" + boundary + b"--\r\n")
    return body, b"multipart/form-data; boundary=" + boundary


def _parse(body: bytes, content_type: bytes) -> bool:
    """Parse an upload the way Streamlit's route does; True when the file part rolled over to a disk file."""
    from starlette.requests import Request

    async def run() -> bool:
        sent = False

        async def receive() -> dict[str, object]:
            nonlocal sent
            chunk, sent = (b"", True) if sent else (body, True)
            return {"type": "http.request", "body": chunk, "more_body": False}

        scope = {"type": "http", "method": "PUT", "headers": [(b"content-type", content_type)], "path": "/"}
        form = await Request(scope, receive).form()
        upload = form["file"]
        rolled = bool(upload.file._rolled)  # type: ignore[union-attr]
        await form.close()
        return rolled

    return asyncio.run(run())


def test_uploads_over_a_megabyte_stay_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spool_size: None) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    body, content_type = _multipart(b"RIFF" + bytes(4_400_000))
    from starlette.formparsers import MultiPartParser

    MultiPartParser.spool_max_size = 1024 * 1024  # Starlette's default: the control case spills to $TMPDIR
    assert _parse(body, content_type) is True
    server.keep_uploads_in_memory(4096 * 1024 * 1024)
    assert _parse(body, content_type) is False


def test_no_store_middleware_replaces_cache_headers() -> None:
    seen: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: Callable[[dict[str, object]], Awaitable[None]]) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"cache-control", b"max-age=3600"), (b"etag", b"x"), (b"content-type", b"a/b")]})
        await send({"type": "http.response.body", "body": b"x"})

    async def send(message: dict[str, object]) -> None:
        seen.append(message)

    async def run(path: str) -> list[tuple[bytes, bytes]]:
        seen.clear()
        await server.NoStoreMiddleware(app)({"type": "http", "path": path}, None, send)  # type: ignore[arg-type]
        return list(seen[0]["headers"])  # type: ignore[arg-type]

    media = asyncio.run(run("/media/abc.zip"))
    assert (b"cache-control", b"no-store, private") in media and (b"etag", b"x") not in media
    assert (b"cache-control", b"max-age=3600") not in media and (b"content-type", b"a/b") in media
    assert (b"cache-control", b"max-age=3600") in asyncio.run(run("/static/js/main.js"))  # bundled code only


@pytest.mark.slow
def test_pages_warn_plainly_when_the_worker_cannot_be_sealed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures_ui import open_app
    from workstation.cli.app_cmd import SEALING_ENV
    from workstation.speech import sealed

    report = sealed.SealingReport("none", "no network sealing on darwin: only the Python guard applies", True)
    monkeypatch.setenv(SEALING_ENV, report.describe())
    at = open_app()
    assert any("cannot take the network away" in str(w.value) for w in at.warning), [w.value for w in at.warning]
    monkeypatch.setenv(SEALING_ENV, "")
    assert not any("cannot take the network away" in str(w.value) for w in open_app().warning)
