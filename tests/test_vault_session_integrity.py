"""Tampering seen through the session: reading code raises a clear IntegrityError naming the testimony, verify()
names each problem, and the rest of the vault stays readable."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import seal_clip
from workstation.domain import testimony as tm
from workstation.domain.testimony import Segment, TestimonyMeta
from workstation.speech.pipeline import PipelineResult
from workstation.vault import session as vs
from workstation.vault.records import rid
from workstation.vault.store import OBJECTS_DIR


def _object(vault: Path, s: Any, case: str, kind: str, blob: bool = False) -> Path:
    tid, _entry = s._entry(case)
    name = hashlib.sha256(f"tw-store|{'b' if blob else 'r'}|{rid(tid, kind)}".encode()).hexdigest()[:40]
    path = vault / OBJECTS_DIR / name
    assert path.is_file()
    return path


@pytest.fixture()
def two_cases(vault_editor: Any, vault_clip: Path, eval_asr_dir: Path) -> Any:
    other = sorted((eval_asr_dir / "wav").glob("golos_*.wav"))[1]
    for case, clip in (("A-1", vault_clip), ("B-2", other)):
        vault_editor.create_testimony(TestimonyMeta(case_code=case))
        seal_clip(vault_editor, case, clip.read_bytes(), clip.name)
    return vault_editor


@pytest.mark.slow
def test_flipped_byte_in_a_recording(two_cases: Any, vault_path: Path) -> None:
    s = two_cases
    path = _object(vault_path, s, "A-1", "original", blob=True)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(vs.IntegrityError, match="A-1"):
        s.read_recording("A-1")
    assert s.read_recording("B-2")  # the rest stays readable
    problems = s.verify().problems
    assert len(problems) == 1 and "A-1" in problems[0] and "recording" in problems[0]


def test_swapped_recordings_between_testimonies(two_cases: Any, vault_path: Path) -> None:
    s = two_cases
    a = _object(vault_path, s, "A-1", "original", blob=True)
    b = _object(vault_path, s, "B-2", "original", blob=True)
    tmp = a.with_name("swap")
    shutil.move(a, tmp)
    shutil.move(b, a)
    shutil.move(tmp, b)
    for case in ("A-1", "B-2"):
        with pytest.raises(vs.IntegrityError, match=case):
            s.read_recording(case)
    problems = " ".join(s.verify().problems)
    assert "A-1" in problems and "B-2" in problems


def test_replayed_old_testimony_record(two_cases: Any, vault_path: Path) -> None:
    s = two_cases
    s.store_processing_result("A-1", PipelineResult([Segment(0.0, 1.0, "раз"), Segment(1.0, 2.0, "два")], "ru", 1.0,
                                                    2.0, models={"asr": "test"}))
    path = _object(vault_path, s, "A-1", "testimony")
    old = path.read_bytes()
    seg = s.load("A-1").segments[0]
    s.update("A-1", lambda t: tm.edit_segment(t, seg.id, "en", "corrected", base_revision=0, user="edna"), action="edit")
    path.write_bytes(old)  # the edit is "undone" by putting back the older file
    with pytest.raises(vs.IntegrityError, match="A-1"):
        s.load("A-1")
    assert any("A-1" in p for p in s.verify().problems)
    assert s.load("B-2").case_code == "B-2"


def test_deleted_audit_entry_is_reported(two_cases: Any, vault_path: Path) -> None:
    s = two_cases
    log = vault_path / "audit" / "log"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:2] + lines[3:]))
    problems = s.verify().problems
    assert any(p.startswith("Audit log:") for p in problems)

