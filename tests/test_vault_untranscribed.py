"""Untranscribed speech through the vault and the command line: stored, shown, filled in, and approval waits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import PASSPHRASE, seal_clip
from workstation.cli.main import app
from workstation.domain import testimony as tm
from workstation.domain.testimony import Segment, TestimonyMeta
from workstation.speech.asr import untranscribed_segment
from workstation.speech.pipeline import PipelineResult


def _processed(session: Any, vault_clip: Path) -> None:
    session.create_testimony(TestimonyMeta("UT-1"))
    seal_clip(session, "UT-1", vault_clip.read_bytes(), "clip.wav")
    result = PipelineResult(
        segments=[Segment(0.0, 1.0, "сначала", id="s1"), untranscribed_segment(1.2, 2.4), Segment(2.5, 3.0, "потом", id="s3")],
        language="ru", language_probability=1.0, duration_s=3.0, models={"asr": "base"},
    )
    session.store_processing_result("UT-1", result)


def test_untranscribed_speech_is_stored_listed_and_blocks_approval(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    t = vault_editor.load("UT-1")
    gap = t.segments[1]
    assert gap.untranscribed and gap.ru == "" and (gap.start, gap.end) == (1.2, 2.4)
    for seg in t.segments:
        if seg.untranscribed:
            continue
        vault_editor.update("UT-1", lambda t, s=seg: tm.set_reviewed(t, s.id, True, base_revision=s.revision,
                                                                       user="edna"), action="set_reviewed")
    with pytest.raises(tm.LockedError, match="not transcribed"):
        vault_editor.approve("UT-1")
    base = vault_editor.load("UT-1").segment(gap.id).revision
    vault_editor.update("UT-1", lambda t: tm.edit_segment(t, gap.id, "ru", "меня задержали", base_revision=base,
                                                          user="edna"), action="edit_segment")
    saved = vault_editor.load("UT-1").segment(gap.id)
    assert not saved.untranscribed and saved.ru == "меня задержали"
    vault_editor.update("UT-1", lambda t: tm.set_reviewed(t, gap.id, True, base_revision=saved.revision, user="edna"),
                        action="set_reviewed")
    vault_editor.approve("UT-1")
    assert vault_editor.load("UT-1").status is tm.Status.APPROVED


@pytest.mark.slow
def test_cli_shows_adds_retimes_and_removes_segments(vault_editor: Any, vault_path: Path, vault_clip: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _processed(vault_editor, vault_clip)
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault_path))
    env = {"WORKSTATION_USER": "edna", "WORKSTATION_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env, catch_exceptions=True)

    r = cli("show", "UT-1")
    assert r.exit_code == 0, r.output
    assert r.output.count("UNTRANSCRIBED SPEECH") == 1
    r = cli("segment", "add", "UT-1", "--start", "3.1", "--end", "3.9")
    assert r.exit_code == 0 and "untranscribed speech" in r.output, r.output
    r = cli("segment", "add", "UT-1", "--start", "0.5", "--end", "1.1")
    assert r.exit_code != 0 and "overlaps" in str(r.exception)
    t = vault_editor.load("UT-1")
    added = t.segments[-1]
    assert (added.start, added.end, added.untranscribed) == (3.1, 3.9, True)
    r = cli("segment", "times", "UT-1", "s1", "--start", "0.1", "--end", "1.1", "--revision", "0")
    assert r.exit_code == 0, r.output
    assert (vault_editor.load("UT-1").segment("s1").start) == 0.1
    r = cli("segment", "remove", "UT-1", "s3", "--revision", "0")
    assert r.exit_code != 0 and "has text" in str(r.exception)
    r = cli("segment", "remove", "UT-1", added.id, "--revision", "0")
    assert r.exit_code == 0, r.output
    assert [s.id for s in vault_editor.load("UT-1").segments if s.id == added.id] == []
    r = cli("audit")
    assert "add_segment" in r.output and "set_times" in r.output and "remove_segment" in r.output
