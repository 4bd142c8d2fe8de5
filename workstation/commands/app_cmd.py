"""`workstation app`: start the Streamlit workstation on this computer only.

The command replaces itself (exec) with `python -m streamlit run workstation/ui/app.py` and flags that keep
it local and quiet: bound to 127.0.0.1, usage statistics off, XSRF protection on, cross-origin requests
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

APP_SCRIPT = Path(__file__).resolve().parent.parent / "ui" / "app.py"
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


def app_command(port: int) -> list[str]:
    from workstation.config import load_settings

    settings = load_settings()
    max_upload_mb = max(1, settings.max_upload_bytes // (1024 * 1024))
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), *streamlit_flags(port, max_upload_mb)]


def app_env(vault: Path | None, idle_lock_min: int | None) -> dict[str, str]:
    from workstation.offline import OFFLINE_ENV

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
        cmd = app_command(port)
        env = app_env(vault, idle_lock_min)
        typer.echo(f"Testimony Workstation: open http://{HOST}:{port} in your browser (Ctrl+C stops it).")
        sys.stdout.flush()
        # Become the Streamlit server (exec, not a child): Ctrl+C, SIGTERM from a service manager or a test all
        # reach the server itself, and no server can be left running without its parent.
        os.execve(sys.executable, cmd, env)
