"""The vault commands end to end: init, users, ingest a real clip, list, show, verify, shred, backup, restore."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import OTHER_PASSPHRASE, PASSPHRASE
from workstation.cli.main import app
from workstation.vault import session as vs


@pytest.fixture()
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    vault = tmp_path / "vault"
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault))
    for name in ("WORKSTATION_PASSPHRASE", "WORKSTATION_USER", "WORKSTATION_NEW_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), input=input, env=env, catch_exceptions=True)

    run.vault = vault  # type: ignore[attr-defined]
    return run


@pytest.mark.slow
def test_full_flow(cli: Any, tmp_path: Path, vault_clip: Path) -> None:
    vault = cli.vault
    # init: the passphrase is asked twice; a weak one is refused with advice, then a good one accepted
    r = cli("init", "--user", "edna", input=f"password\npassword\n{PASSPHRASE}\n{PASSPHRASE}\n")
    assert r.exit_code == 0, r.output
    assert "4 or more random words" in r.output and "Created the vault" in r.output
    assert vs.vault_exists(vault)
    editor_env = {"WORKSTATION_USER": "edna", "WORKSTATION_PASSPHRASE": PASSPHRASE}

    pw = tmp_path / "tanya.pass"
    pw.write_text(OTHER_PASSPHRASE + "\n")
    r = cli("users", "add", "tanya", "--role", "translator", "--new-passphrase-file", str(pw), env=editor_env)
    assert r.exit_code == 0, r.output
    r = cli("users", "add", "ivan", "--role", "interviewer", env=editor_env, input=f"{OTHER_PASSPHRASE}\n{OTHER_PASSPHRASE}\n")
    assert r.exit_code == 0, r.output
    r = cli("users", "list", env=editor_env)
    assert r.exit_code == 0 and "tanya\ttranslator\tkey fingerprint " in r.output and "ivan\tinterviewer\t" in r.output
    tanya_fp = next(line for line in r.output.splitlines() if line.startswith("tanya\t")).split("key fingerprint ")[1]
    assert len(tanya_fp.split()) == 8 and all(len(group) == 4 for group in tanya_fp.split())

    # ingest a real clip with metadata, as the interviewer (passphrase from a file)
    r = cli("ingest", str(vault_clip), "--case", "CH-7", "--date", "2019-05-02", "--notes", "first meeting",
            "--user", "ivan", "--passphrase-file", str(pw))
    assert r.exit_code == 0, r.output
    assert "sha256" in r.output
    r = cli("list", "--user", "ivan", "--passphrase-file", str(pw))
    assert r.exit_code == 0 and "CH-7\tingested" in r.output
    r = cli("show", "CH-7", env=editor_env)
    assert r.exit_code == 0 and "CH-7 · ingested · 0 segment(s)" in r.output

    # role enforcement through the CLI
    r = cli("shred", "CH-7", "--yes", "--user", "tanya", "--passphrase-file", str(pw))
    assert r.exit_code != 0 and "may not shred" in str(r.exception)

    r = cli("verify", env=editor_env)
    assert r.exit_code == 0 and "no problems" in r.output
    r = cli("audit", env=editor_env)
    assert r.exit_code == 0 and "recording_ingested" in r.output and "first meeting" not in r.output

    archive = tmp_path / "b.twbackup"
    r = cli("backup", str(archive), env=editor_env)
    assert r.exit_code == 0 and archive.is_file(), r.output

    # removing the translator re-keys the testimony she could read
    r = cli("users", "remove", "tanya", "--yes", env=editor_env)
    assert r.exit_code == 0 and r.output == ("Removed tanya; the vault key was rotated and 1 testimony tanya could "
                                             "read has a new key.\n"), r.output

    # damage a stored file: verify names the problem and exits non-zero
    biggest = max((p for p in vault.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    biggest.write_bytes(bytes(raw))
    r = cli("verify", env=editor_env)
    assert r.exit_code == 2 and "CH-7" in r.output and "problem" in r.output, r.output

    # shred: a wrong confirmation changes nothing, the right one destroys it
    r = cli("shred", "CH-7", env=editor_env, input="CH-8\n")
    assert r.exit_code == 1 and "nothing was changed" in r.output
    r = cli("shred", "CH-7", env=editor_env, input="CH-7\n")
    assert r.exit_code == 0 and "Shredded CH-7" in r.output
    r = cli("list", env=editor_env)
    assert "CH-7" not in r.output

    # restore the backup taken before the damage into a new folder: verified, clean
    r = cli("restore", str(archive), "--vault", str(tmp_path / "restored"), env=editor_env)
    assert r.exit_code == 0 and "no problems" in r.output, r.output


@pytest.mark.slow
def test_errors_are_human_without_traceback(tmp_path: Path) -> None:
    """A real process (real Argon2id parameters): wrong passphrase and missing vault give one clear line."""
    vault = tmp_path / "v"
    env = {**os.environ, "WORKSTATION_VAULT": str(vault), "WORKSTATION_USER": "edna"}
    run = lambda *a, **kw: subprocess.run([sys.executable, "-m", "workstation.cli.main", *a], capture_output=True,  # noqa: E731
                                          text=True, timeout=120, **kw)
    r = run("list", env={**env, "WORKSTATION_PASSPHRASE": PASSPHRASE})
    assert r.returncode == 1 and "no vault" in r.stderr and "Traceback" not in r.stderr
    r = run("init", env={**env, "WORKSTATION_PASSPHRASE": PASSPHRASE})
    assert r.returncode == 0, r.stderr
    r = run("list", env={**env, "WORKSTATION_PASSPHRASE": "not my passphrase, sorry"})
    assert r.returncode == 1 and "does not open the account edna" in r.stderr and "Traceback" not in r.stderr
    r = run("show", "NOPE", env={**env, "WORKSTATION_PASSPHRASE": PASSPHRASE})
    assert r.returncode == 1 and "no testimony 'NOPE'" in r.stderr and "Traceback" not in r.stderr


def test_vault_upgrade_command(cli: Any, tmp_path: Path) -> None:
    """`workstation vault upgrade --backup OUT`: refuses a format-2 vault, and needs --backup."""
    vs.create_vault(cli.vault, "edna", PASSPHRASE).lock()
    env = {"WORKSTATION_USER": "edna", "WORKSTATION_PASSPHRASE": PASSPHRASE}
    r = cli("vault", "upgrade", env=env)
    assert r.exit_code != 0 and "--backup" in r.output
    r = cli("vault", "upgrade", "--backup", str(tmp_path / "b.twbackup"), env=env)
    assert r.exit_code != 0 and "already in format 2" in str(r.exception), r.output  # main() prints it
    assert not (tmp_path / "b.twbackup").exists()  # refused before the backup: nothing written
