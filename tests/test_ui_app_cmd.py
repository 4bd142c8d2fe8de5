"""`workstation app`: the server listens on 127.0.0.1 only, with telemetry off and cross-origin access closed."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures_ui import free_port, start_app, stop_app
from workstation.ui.server import APP_SCRIPT, streamlit_flags


def test_flags_keep_the_server_local_and_quiet() -> None:
    flags = dict(f.removeprefix("--").split("=", 1) for f in streamlit_flags(8765, 4096))
    assert flags["server.address"] == "127.0.0.1"
    assert flags["browser.gatherUsageStats"] == "false"
    assert flags["server.enableXsrfProtection"] == "true"
    assert flags["server.enableCORS"] == "true"  # false would send Access-Control-Allow-Origin: *
    assert flags["server.headless"] == "true"
    assert flags["server.fileWatcherType"] == "none"
    assert int(flags["server.maxUploadSize"]) >= 4096  # a 3-hour recording
    assert flags["client.showErrorDetails"] == "none"
    all_flags = streamlit_flags(8765, 4096)
    assert "--server.corsAllowedOrigins=http://127.0.0.1:8765" in all_flags
    assert APP_SCRIPT.read_text().index("offline.activate()") < APP_SCRIPT.read_text().index("import streamlit")


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory):
    """One server for the tests that only look at it from outside (none changes its state): started once."""
    tmp_path = tmp_path_factory.mktemp("app")
    port = free_port()
    with open(tmp_path / "server.log", "wb") as log:
        proc = start_app(port, tmp_path / "vault", log=log, timeout=60)
        yield port, proc
        stop_app(proc)


@pytest.mark.slow
def test_server_listens_on_loopback_only_and_refuses_other_origins(running_app) -> None:
    import psutil

    port, proc = running_app
    assert proc.poll() is None, "workstation app did not start"
    # `workstation app` is the server itself (no exec, no child): the guard that cli.main turned on never went off,
    # and stopping the command can never leave a server behind
    assert "workstation.cli.main" in " ".join(psutil.Process(proc.pid).cmdline())
    # system-wide, not per process: the server is not dumpable, so only root may read its /proc/PID/fd
    listening = [
        c.laddr for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid in (proc.pid, None)
    ]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if ":\t" in line)
    assert (status.get("Seccomp"), status.get("NoNewPrivs")) == ("2", "1"), status  # the server's no-UDP filter
    req = urllib.request.Request(f"http://127.0.0.1:{port}/_stcore/health", headers={"Origin": "http://evil.example"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.headers.get("Access-Control-Allow-Origin") in (None, f"http://127.0.0.1:{port}")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        html = r.read().decode("utf-8", errors="replace")
    assert "googleapis" not in html and "https://" not in html.split("<body")[0]  # nothing fetched from elsewhere


def _upgrade_status(port: int, origin: str) -> int:
    """Status of a WebSocket upgrade request to the app's stream endpoint sent with this Origin."""
    import base64
    import os
    import socket

    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        status_line = s.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


@pytest.mark.slow
def test_websocket_from_another_origin_is_refused(running_app) -> None:
    """Another web page open in the same browser must not be able to drive the app (CORS stays on)."""
    port, _proc = running_app
    assert _upgrade_status(port, f"http://127.0.0.1:{port}") == 101
    assert _upgrade_status(port, "http://evil.example") in (403, 401, 400)


@pytest.mark.slow
def test_every_response_is_no_store(running_app) -> None:
    """Pages, health checks and /media/ (where exports and audio are served) must never enter the browser's cache."""
    import urllib.error

    port, _proc = running_app
    for path in ("/", "/_stcore/health", "/_stcore/host-config"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            assert r.headers.get("Cache-Control") == "no-store, private", (path, dict(r.headers))
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/media/0123456789abcdef.zip", timeout=5)
    except urllib.error.HTTPError as exc:  # no such file: still no-store
        assert exc.code == 404 and exc.headers.get("Cache-Control") == "no-store, private", dict(exc.headers)
    else:
        raise AssertionError("a made-up media id was served")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (scripts/test.sh installs it)")
@pytest.mark.slow
def test_a_foreign_origin_before_the_first_page_load_reaches_nothing(tmp_path: Path) -> None:
    """The issue's reproduction: one WebSocket with a foreign Origin, before any page was loaded, used to make the
    server resolve checkip.amazonaws.com and connect UDP to 8.8.8.8. Traced below Python: nothing now."""
    from tests.egress import STRACE_ARGS, parse_trace

    port, trace = free_port(), tmp_path / "strace.txt"
    with open(tmp_path / "server.log", "wb") as log:
        proc = start_app(port, tmp_path / "vault", log=log, timeout=60,
                         prefix=["strace", *STRACE_ARGS, "-o", str(trace)])
        try:
            assert _upgrade_status(port, "http://evil.example") in (403, 401, 400)
            assert _upgrade_status(port, "http://192.0.2.44:8501") in (403, 401, 400)
        finally:
            stop_app(proc)
    egress = parse_trace(trace.read_text(errors="replace"))
    assert egress.counts["bind AF_INET loopback"] >= 1, egress.summary()  # the trace saw the server
    assert egress.outside == [] and egress.dns == [], (egress.outside, egress.dns)
    log_text = (tmp_path / "server.log").read_text(errors="replace")
    assert "network guard blocked" not in log_text, log_text[-2000:]  # not even tried: the look-ups are closed
