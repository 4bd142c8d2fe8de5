"""Fixtures for the vault tests: cheaper (still memory-hard) Argon2id for speed, vaults with users per role,
a real recording from the evaluation set.

``_fast_kdf`` is autouse for the whole suite (every area creates vaults): new key slots use the minimum
memory the crypto module allows with one pass. Tests that need the production parameters use the
``real_kdf`` fixture (tests/test_vault_session.py does, once).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PASSPHRASE = "lamp orbit cedar violin"
OTHER_PASSPHRASE = "quiet harbour 7 tulips"


def cheap_kdf_params() -> Any:
    """The production KdfParams with one pass and the smallest memory the crypto module accepts."""
    from workstation.vault import crypto

    params = crypto.KdfParams()
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(params):
        if f.name in ("iterations", "time_cost", "passes", "t_cost"):
            changes[f.name] = 1
        elif f.name in ("lanes", "parallelism", "threads"):
            changes[f.name] = 1
        elif f.name in ("memory_kib", "memory_cost", "m_cost", "memory_kb"):
            changes[f.name] = getattr(crypto, "MIN_MEMORY_KIB", 64 * 1024)
    return dataclasses.replace(params, **changes)


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "real_kdf" in request.fixturenames:
        return
    try:
        from workstation.vault import session
    except ImportError:  # the vault is not importable (another area's test runs without it)
        return
    monkeypatch.setattr(session, "KDF_PARAMS", cheap_kdf_params())


@pytest.fixture()
def real_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.vault import session

    monkeypatch.setattr(session, "KDF_PARAMS", None)


@pytest.fixture()
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture()
def vault_editor(vault_path: Path) -> Iterator[Any]:
    """A fresh vault with one editor ("edna"); the unlocked session."""
    from workstation.vault import session

    s = session.create_vault(vault_path, "edna", PASSPHRASE)
    yield s
    s.lock()


@pytest.fixture()
def vault_sessions(vault_editor: Any, vault_path: Path) -> dict[str, Any]:
    """Unlocked sessions for edna (editor), ivan and inna (interviewers), tanya (translator)."""
    from workstation.vault import session

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
