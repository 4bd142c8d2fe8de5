"""The Streamlit server, run inside the `workstation app` process itself: no exec, so no moment without the guard.

`workstation.cli.main` hardens the process and turns the network guard on before any command runs; `serve()` then
starts Streamlit in that same interpreter (what `python -m streamlit run` would do), after three changes to how
Streamlit 1.67 (Starlette + uvicorn) serves:

- **No IP look-ups.** Streamlit finds "its" addresses for the start-up banner and to judge a WebSocket's Origin:
  the external one over HTTP from checkip.amazonaws.com, the internal one by connecting a UDP socket to 8.8.8.8.
  A WebSocket with a foreign Origin triggered both before the first page load. Both answers are fixed to
  loopback here, so nothing is asked.
- **Uploads stay in memory.** Starlette's multipart parser spools each file part into a SpooledTemporaryFile
  that rolls over to a real file in $TMPDIR above 1 MB: a recording in plaintext on disk. The spool limit is
  raised above the upload limit (Streamlit itself cuts the body off at that limit), so it never rolls over.
- **Nothing cacheable.** Every response but the bundled frontend assets (`/static/`, no content in them) gets
  `Cache-Control: no-store, private`: exports and audio served from `/media/` never land in the browser's disk
  cache, where they would outlive "Lock now" and the app.
- **The recording for the review workspace's player** is served from the tab's memory by
  `workstation.ui.audio_route` (seekable, one random token per tab, withdrawn on lock), inside the no-store layer.

Each change checks that the Streamlit internals it relies on are there and refuses to start otherwise
(`ServerSetupError`): a Streamlit upgrade must not silently undo them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from workstation.platform import offline
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.ui.audio_route import AudioRouteMiddleware

UPLOAD_SPOOL_MARGIN = 16 * 1024 * 1024  # multipart framing and headers on top of the file itself
NO_STORE = b"no-store, private"
_UNCACHED_HEADERS = (b"cache-control", b"pragma", b"expires", b"etag", b"last-modified")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerSetupError(WorkstationError):
    """Streamlit changed in a way that would undo one of the app's protections: the app does not start."""


class NoStoreMiddleware:
    """ASGI middleware: `Cache-Control: no-store, private` on every HTTP response outside /static/."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or str(scope.get("path", "")).startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message.get("type") == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _UNCACHED_HEADERS]
                headers += [(b"cache-control", NO_STORE), (b"pragma", b"no-cache")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)


APP_SCRIPT = Path(__file__).resolve().parent / "app.py"
HOST = "127.0.0.1"


def streamlit_flags(port: int, max_upload_mb: int) -> list[str]:
    """The Streamlit configuration, as command-line flags (they override any config.toml)."""
    origin = f"http://{HOST}:{port}"
    options: list[tuple[str, str]] = [
        ("server.address", HOST),
        ("server.port", str(port)),
        ("server.headless", "true"),
        ("server.enableXsrfProtection", "true"),
        ("server.enableCORS", "true"),
        ("server.corsAllowedOrigins", origin),
        ("server.corsAllowedOrigins", f"http://localhost:{port}"),
        ("server.allowedHosts", HOST),
        ("server.allowedHosts", "localhost"),
        ("server.maxUploadSize", str(max_upload_mb)),
        ("server.fileWatcherType", "none"),
        ("server.runOnSave", "false"),
        ("server.enableStaticServing", "false"),
        ("server.enableAgentApi", "false"),
        ("server.showEmailPrompt", "false"),
        # a closed tab's state (and its unlocked session) is dropped after 10 s instead of 2 minutes
        ("server.disconnectedSessionTTL", "10"),
        ("browser.gatherUsageStats", "false"),
        ("browser.serverAddress", HOST),
        ("browser.serverPort", str(port)),
        ("client.showErrorDetails", "none"),
        ("client.toolbarMode", "minimal"),
        ("global.developmentMode", "false"),
        ("logger.level", "warning"),
    ]
    return [f"--{key}={value}" for key, value in options]


def close_ip_lookups() -> None:
    from streamlit import net_util

    if not all(hasattr(net_util, n) for n in ("get_external_ip", "get_internal_ip", "_external_ip", "_internal_ip")):
        raise ServerSetupError("This Streamlit version looks up IP addresses differently; the app will not start.")
    net_util._external_ip = net_util._internal_ip = "127.0.0.1"
    net_util.get_external_ip = lambda: None
    net_util.get_internal_ip = lambda: "127.0.0.1"


def keep_uploads_in_memory(max_upload_bytes: int) -> None:
    from starlette.formparsers import MultiPartParser

    if not isinstance(getattr(MultiPartParser, "spool_max_size", None), int):
        raise ServerSetupError("This Starlette version spools uploads differently; the app will not start.")
    MultiPartParser.spool_max_size = max_upload_bytes + UPLOAD_SPOOL_MARGIN


def add_no_store_headers() -> None:
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app

    original = getattr(starlette_app, "create_streamlit_middleware", None)
    if original is None:
        raise ServerSetupError("This Streamlit version builds its server differently; the app will not start.")
    if getattr(original, "_workstation_no_store", False):
        return

    def with_no_store() -> list[Middleware]:
        # outermost first: the recording's route (review workspace player) answers inside the no-store layer
        return [*original(), Middleware(NoStoreMiddleware), Middleware(AudioRouteMiddleware)]

    with_no_store._workstation_no_store = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = with_no_store


def prepare(max_upload_bytes: int) -> None:
    """Everything `serve` changes, without starting a server (tests use it too)."""
    offline.activate()
    close_ip_lookups()
    keep_uploads_in_memory(max_upload_bytes)
    add_no_store_headers()


def serve(port: int, env: dict[str, str]) -> None:
    """Run the Streamlit server in this process until it stops (Ctrl+C, SIGTERM). Does not return normally."""
    os.environ.update(env)
    settings = load_settings()
    prepare(settings.max_upload_bytes)
    from streamlit.web import cli as streamlit_cli

    max_upload_mb = max(1, settings.max_upload_bytes // (1024 * 1024))
    args = ["run", str(APP_SCRIPT), *streamlit_flags(port, max_upload_mb)]
    sys.argv = ["streamlit", *args]
    streamlit_cli.main(args=args, prog_name="streamlit")
