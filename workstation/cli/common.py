"""What every command shares: the vault/user/passphrase options, unlocking, messages, a progress bar.

Passphrases come from ``--passphrase-file FILE``, the ``WORKSTATION_PASSPHRASE`` environment variable, or a hidden
prompt (in that order); the user from ``--user``, ``WORKSTATION_USER`` or a prompt. The vault is ``--vault``, else
``WORKSTATION_VAULT``, else ``~/TestimonyVault``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import typer

from workstation.domain import timefmt
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.vault import session as vs
from workstation.vault.session import VaultSession


class CliError(WorkstationError):
    """A usage problem on the command line."""


VaultOpt = typer.Option(None, "--vault", help="Vault folder (default: WORKSTATION_VAULT or ~/TestimonyVault).")
UserOpt = typer.Option(None, "--user", "-u", help="Your user name (default: WORKSTATION_USER, else asked).")
PassFileOpt = typer.Option(
    None, "--passphrase-file", help="Read your passphrase from this file (first line) instead of asking; "
    "or set WORKSTATION_PASSPHRASE.",
)


def vault_path(vault: Path | None) -> Path:
    if vault is not None:
        return vault.expanduser()
    return load_settings().vault_path


def read_secret_file(path: Path) -> str:
    try:
        text = path.expanduser().read_text("utf-8")
    except OSError as exc:
        raise CliError(f"Cannot read the passphrase file {path}: {exc.strerror or exc}.") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise CliError(f"The passphrase file {path} is empty.")
    return secret


def ask_passphrase(passphrase_file: Path | None, *, env: str = "WORKSTATION_PASSPHRASE", prompt: str = "Passphrase",
                confirm: bool = False) -> str:
    if passphrase_file is not None:
        return read_secret_file(passphrase_file)
    if os.environ.get(env):
        return os.environ[env]
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)


def ask_user(user: str | None) -> str:
    name = user or os.environ.get("WORKSTATION_USER") or typer.prompt("User name", err=True)
    return name.strip()


def unlock_vault(vault: Path | None, user: str | None, passphrase_file: Path | None) -> VaultSession:
    path = vault_path(vault)
    if not vs.vault_exists(path):
        raise CliError(f"There is no vault at {path}. Create one with 'workstation init --vault {path}'.")
    return vs.unlock(path, ask_user(user), ask_passphrase(passphrase_file))


@contextmanager
def unlocked(vault: Path | None, user: str | None, passphrase_file: Path | None) -> Iterator[VaultSession]:
    """An unlocked session that is locked again (keys dropped) whatever happens."""
    session = unlock_vault(vault, user, passphrase_file)
    try:
        yield session
    finally:
        session.lock()


def err(text: str) -> None:
    typer.echo(text, err=True)


fmt_time = partial(timefmt.position, tenths=True)




class _ProgressBar:
    """A one-line progress bar on standard error (plain lines every 10% when it is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last_step = -1
        self.started = time.monotonic()

    def __call__(self, fraction: float, stage: str) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if self.tty:
            filled = int(fraction * 30)
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] {fraction:4.0%} {stage:<45} {elapsed:5.0f} s")
            sys.stderr.flush()
        else:
            step = int(fraction * 10)
            if step != self.last_step:
                self.last_step = step
                sys.stderr.write(f"{fraction:4.0%} {stage}\n")

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float, str], None]]:
    """A progress callback `(fraction, stage)` drawing on standard error, closed whatever happens."""
    bar = _ProgressBar(label)
    try:
        yield bar
    finally:
        bar.close()
