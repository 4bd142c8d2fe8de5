"""Fixtures for the vault tests: cheaper (still memory-hard) Argon2id for speed, vaults with users per role,
a real recording from the evaluation set, and ``seal_clip`` (a sealed recording without re-running the intake
check in a sealed worker for every test).

``_fast_kdf`` is autouse for the whole suite (every area creates vaults): new key slots use the minimum
memory the crypto module allows with one pass. Tests that need the production parameters use the
``real_kdf`` fixture (tests/test_vault_session.py does, once).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from workstation.services import intake
from workstation.speech.media import MediaInfo
from workstation.vault import crypto, session, signing
from workstation.vault.records import GLOSSARY_REF, record_kinds, record_ref
from workstation.vault.session import RecordingInfo, VaultSession

PASSPHRASE = "lamp orbit cedar violin"
OTHER_PASSPHRASE = "quiet harbour 7 tulips"


def cheap_kdf_params() -> crypto.KdfParams:
    """The production KdfParams with one pass, one lane and the smallest memory the crypto module accepts."""
    return dataclasses.replace(crypto.KdfParams(), memory_kib=crypto.MIN_MEMORY_KIB, iterations=1, lanes=1)


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "real_kdf" in request.fixturenames:
        return
    monkeypatch.setattr(session, "KDF_PARAMS", cheap_kdf_params())


@pytest.fixture()
def real_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "KDF_PARAMS", None)


@pytest.fixture()
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture()
def vault_editor(vault_path: Path) -> Iterator[VaultSession]:
    """A fresh vault with one editor ("edna"); the unlocked session."""
    s = session.create_vault(vault_path, "edna", PASSPHRASE)
    yield s
    s.lock()


@pytest.fixture()
def vault_sessions(vault_editor: VaultSession, vault_path: Path) -> dict[str, VaultSession]:
    """Unlocked sessions for edna (editor), ivan and inna (interviewers), tanya (translator)."""
    for name, role in (("ivan", "interviewer"), ("inna", "interviewer"), ("tanya", "translator")):
        vault_editor.add_user(name, role, PASSPHRASE)
    out = {"edna": vault_editor}
    for name in ("ivan", "inna", "tanya"):
        out[name] = session.unlock(vault_path, name, PASSPHRASE)
    return out


def clip_path(shared_asr: Path, *, shortest: bool = True) -> Path:
    with open(shared_asr / "manifest.csv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["duration_s"]))
    return shared_asr / rows[0 if shortest else -1]["file"]


@pytest.fixture(scope="session")
def vault_clip(eval_asr_dir: Path) -> Path:
    """The shortest real Russian clip of the evaluation set."""
    return clip_path(eval_asr_dir)


def vault_files(root: Path) -> dict[str, bytes]:
    """Every file of a vault folder (relative path -> bytes), to prove "nothing changed"."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


_CHECKED: dict[str, MediaInfo] = {}  # sha256 of an upload -> what the intake check found


def seal_clip(s: VaultSession, case: str, data: bytes, filename: str) -> RecordingInfo:
    """Seal ``data`` as the recording of ``case``, as intake does, running the intake check once per distinct bytes.

    The check starts a sealed worker (about a second); tests that only need a sealed recording share its answer
    for the same clip. Tests of the intake itself call `intake.seal_recording` / `intake.new_testimony`.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _CHECKED:
        _CHECKED[digest] = intake.check_upload(data)
    info = _CHECKED[digest]
    return s.ingest_recording(case, data, filename, container=info.container, duration_s=info.duration_s)


def write_records_unsigned(s: VaultSession) -> int:
    """Make a format-2 vault look as the version before signed records left it: every record plain JSON (its
    envelope taken off) and no ``signed_records`` switch in the catalog. Returns how many records it rewrote."""
    with s._catalog.change() as catalog:
        catalog.pop("signed_records", None)
        targets = [(s._records.key_of(tid, e), record_ref(tid, e, kind))
                   for tid, e in catalog["testimonies"].items() for kind in record_kinds(e)]
    targets.append((s._catalog.data_key(), GLOSSARY_REF))
    count = 0
    for key, ref in targets:
        try:
            data, version = s._store.read_record(key, ref.record_id)
        except FileNotFoundError:
            continue
        s._store.write_record(key, ref.record_id, signing.open_record(data).body, expected_version=version)
        count += 1
    s._signed_records = False  # this session saw the switch on; the vault is now as the old version left it
    return count
