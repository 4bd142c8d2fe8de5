"""No plaintext on disk: after ingest → process (the real pipeline, through the CLI) → edit, nothing under the
vault folder or the temporary directory contains the transcript's words, the case metadata or the audio bytes."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import PASSPHRASE
from workstation.cli.main import app
from workstation.domain import testimony as tm
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import TestimonyMeta
from workstation.services import intake
from workstation.vault import session as vs

CASE = "ZX-CASE-4471"
NOTES = "Встреча в Тбилиси, свидетель Коваленко"
INTERVIEWER = "Marguerite Oyelaran"
EDIT_RU = "Меня задержали возле дома в Грозном утром"
EDIT_EN = "They detained me near my house in Grozny"


def _needles(texts: list[str]) -> set[str]:
    """Words long enough to be meaningful (short ones like 'в' occur in random bytes by chance)."""
    words = set()
    for text in texts:
        words.update(w for w in re.findall(r"\w+", text.lower()) if len(w) >= 5)
    return words


def _scan(roots: list[Path], needles: dict[str, bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            name = path.name.lower().encode()
            for label, needle in needles.items():
                if needle.lower() in name:
                    found.append(f"{label} in the file name {path}")
            if path.is_file():
                content = path.read_bytes()
                lowered = content.lower()
                for label, needle in needles.items():
                    if needle in content or needle.lower() in lowered:
                        found.append(f"{label} in {path}")
    return found


@pytest.mark.slow
def test_nothing_plaintext_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vault_clip: Path) -> None:
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_dir))
    vault = tmp_path / "vault"
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault))
    monkeypatch.setenv("WORKSTATION_USER", "edna")
    monkeypatch.setenv("WORKSTATION_PASSPHRASE", PASSPHRASE)

    s = vs.create_vault(vault, "edna", PASSPHRASE)
    s.create_testimony(TestimonyMeta(case_code=CASE, interviewer=INTERVIEWER, notes=NOTES,
                                     consent_scope="court proceedings only"))
    audio = vault_clip.read_bytes()
    intake.seal_recording(s, CASE, audio, vault_clip.name)
    s.save_glossary(Glossary(terms={"задержали": "detained"}, sensitive=["Коваленко"]))

    r = CliRunner().invoke(app, ["process", CASE, "--device", "cpu"], catch_exceptions=True)
    assert r.exit_code == 0, (r.output, r.exception)
    t = s.load(CASE)
    assert t.segments and t.status is tm.Status.DRAFT
    machine_text = [seg.ru for seg in t.segments] + [seg.en for seg in t.segments]
    seg = t.segments[0]
    s.update(CASE, lambda x: tm.edit_segment(x, seg.id, "ru", EDIT_RU, base_revision=0, user="edna"), action="edit")
    s.update(CASE, lambda x: tm.edit_segment(x, seg.id, "en", EDIT_EN, base_revision=1, user="edna"), action="edit")
    assert s.load(CASE).segments[0].ru == EDIT_RU
    s.lock()

    words = _needles(machine_text + [EDIT_RU, EDIT_EN, NOTES, INTERVIEWER, "court proceedings only"])
    assert len(words) >= 8, words  # the scan looks for something real
    needles: dict[str, bytes] = {f"word {w!r}": w.encode("utf-8") for w in words}
    needles.update({f"word {w!r} (utf-16)": w.encode("utf-16-le") for w in words})
    needles["case code"] = CASE.encode()
    needles["case code (lower)"] = CASE.lower().encode()
    mid = len(audio) // 2
    needles["original audio bytes"] = audio[mid : mid + 48]
    needles["original audio bytes (3/4)"] = audio[3 * len(audio) // 4 :][:48]
    needles["upload file name"] = vault_clip.stem.encode()
    assert list(vault.rglob("*")), "the vault is empty?"
    canary = tmp_path / "canary"  # the scanner itself finds plaintext when there is some
    canary.mkdir()
    (canary / "leak.json").write_bytes(("{\"ru\": \"" + EDIT_RU + "\"}").encode())
    (canary / "leak.raw").write_bytes(b"xx" + audio[mid : mid + 100])
    assert len(_scan([canary], needles)) >= 3
    assert _scan([vault, tmp_dir], needles) == []
