"""`workstation ...`: the command line. Thin: every command calls the library and prints the result.

Each group of commands lives in `workstation/cli/<group>.py` and adds itself with `register(app)`.
Errors meant for people (`WorkstationError`) are printed as one clear message with exit status 1,
never as a traceback.
"""

from __future__ import annotations

import sys

import typer

from workstation.cli import app_cmd, cluster, doctor, exports, pipeline, review, vault
from workstation.platform import offline
from workstation.platform.errors import WorkstationError
from workstation.platform.hardening import harden_process

app = typer.Typer(
    name="workstation",
    help="Testimony Workstation: offline, encrypted transcription and translation of recorded testimonies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Testimony Workstation: offline, encrypted transcription and translation of recorded testimonies."""


@app.command()
def version() -> None:
    """Print the version."""
    from workstation import __version__

    typer.echo(__version__)


for group in (pipeline, vault, review, exports, app_cmd, doctor, cluster):
    group.register(app)


def main() -> None:
    harden_process()
    offline.activate()
    try:
        app(standalone_mode=True)
    except WorkstationError as exc:
        typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
