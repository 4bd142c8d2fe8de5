"""`workstation app`: start the Streamlit workstation on this computer only.

The command runs the Streamlit server inside its own process (`workstation/ui/server.py`; no exec, so the network
guard and the hardening that `cli.main` applied first are active from the first instruction, with Streamlit's IP
look-ups closed, uploads kept in memory and `no-store` on every response), with flags that keep it local and quiet: bound to 127.0.0.1, usage statistics off, XSRF protection on, cross-origin requests
limited to the app's own address (`server.enableCORS` stays *on*: in current Streamlit turning it off
sends `Access-Control-Allow-Origin: *` and accepts WebSockets from any web page the user has open),
host names limited to loopback (DNS rebinding), no file watcher, no static-file serving, no agent API,
error details hidden from the page (the pages show their own human messages), an upload limit that
fits a 3-hour recording. The page's own fonts and scripts are bundled with Streamlit; nothing is fetched
from elsewhere (the browser end-to-end test records every request the page makes to prove it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from workstation.platform import sandbox
from workstation.platform.offline import OFFLINE_ENV
from workstation.speech import sealed
from workstation.ui.server import HOST

SEALING_ENV = "WORKSTATION_SEALING_WARNING"  # set for the pages when the worker cannot be sealed on this system


def app_env(vault: Path | None, idle_lock_min: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    if vault is not None:
        env["WORKSTATION_VAULT"] = str(vault.expanduser().resolve())
    if idle_lock_min is not None:
        env["WORKSTATION_IDLE_LOCK_MIN"] = str(idle_lock_min)
    return env


def register(app: typer.Typer) -> None:
    """Add `workstation app`."""
    @app.command("app")
    def run_app(
        port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
        vault: Path | None = typer.Option(None, "--vault", help="Vault folder (default: WORKSTATION_VAULT or ~/TestimonyVault)."),
        idle_lock_min: int | None = typer.Option(
            None, "--idle-lock-min", min=1, help="Lock a window after this many minutes without activity (default 15)."
        ),
    ) -> None:
        """Start the workstation in your browser at http://127.0.0.1:PORT (this computer only)."""
        from workstation.ui import server  # lazy: Streamlit loads only for `workstation app` (CLI start-up time)

        env = app_env(vault, idle_lock_min)
        report = sealed.check()
        env[SEALING_ENV] = report.describe() if not report.sealed else ""
        # Below the Python guard, for the server itself: no UDP socket (no DNS query, no RTP), before any thread starts
        restricted = sandbox.restrict_server()
        typer.echo(f"Testimony Workstation: open http://{HOST}:{port} in your browser (Ctrl+C stops it).")
        typer.echo(report.describe(), err=not report.sealed)
        typer.echo(f"App server: {restricted.detail}." if restricted.seccomp else
                   f"App server: no seccomp filter here ({restricted.detail}); the Python guard applies.")
        sys.stdout.flush()
        # The server runs in this process (not a child, not an exec): Ctrl+C or SIGTERM from a service manager or a
        # test reach the server itself, no server can outlive its command, and the guard is never off.
        server.serve(port, env)
