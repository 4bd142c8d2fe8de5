"""`workstation doctor`: what this computer actually enforces of the offline and no-plaintext promises.

Each line is a check made now, on this system, not a claim: the sealed worker is started and asked how it sealed
itself, the process flags are read back from the kernel. Exit status 1 when the processing worker cannot be cut
off from the network here (the app then shows the same warning on every page).
"""

from __future__ import annotations

import os
import resource

import typer

from workstation.platform import hardening, offline
from workstation.speech import sealed


def _line(ok: bool, text: str) -> None:
    typer.secho(f"{'ok  ' if ok else 'WARN'}  {text}", fg=None if ok else typer.colors.YELLOW)


def register(app: typer.Typer) -> None:
    """Add `workstation doctor`."""
    @app.command("doctor")
    def doctor() -> None:
        """Check what this computer enforces: sealed worker, network guard, telemetry, core dumps, memory."""
        report = sealed.check()
        _line(report.sealed, f"processing worker: {report.describe()} [{report.detail}]")
        _line(offline.is_active(), "network guard (Python level) active in this process and the app server")
        _line(os.environ.get("ORT_DISABLE_TELEMETRY") == "1", "ONNX Runtime telemetry off (ORT_DISABLE_TELEMETRY=1)")
        _line(resource.getrlimit(resource.RLIMIT_CORE) == (0, 0), "no core dumps (RLIMIT_CORE 0)")
        dumpable = hardening.is_dumpable()
        _line(dumpable is False, "process not dumpable (no ptrace or /proc/PID/mem by other processes of this user)"
              if dumpable is False else "process is dumpable: this platform has no PR_SET_DUMPABLE")
        locked = hardening.lock_in_memory(os.urandom(32))
        _line(locked, "key buffers can be locked in memory (mlock)" if locked
              else "mlock refused (RLIMIT_MEMLOCK): key buffers may reach swap; use encrypted swap")
        if not report.sealed:
            raise typer.Exit(1)
