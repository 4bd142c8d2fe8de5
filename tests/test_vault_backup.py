"""Backup → restore → verify, a damaged archive, and what shredding means for backups."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE, seal_clip, vault_files
from workstation.domain.testimony import TestimonyMeta
from workstation.vault import backup
from workstation.vault import session as vs


def _fill(s: Any, vault_clip: Path) -> bytes:
    data = vault_clip.read_bytes()
    s.create_testimony(TestimonyMeta(case_code="BK-1", notes="kept"))
    seal_clip(s, "BK-1", data, vault_clip.name)
    s.save_extra("BK-1", "pseudonyms", {"x": "y"})
    return data


@pytest.mark.slow
def test_backup_restore_verify(vault_editor: Any, tmp_path: Path, vault_clip: Path) -> None:
    data = _fill(vault_editor, vault_clip)
    archive = vault_editor.backup(tmp_path / "backup.twbackup")
    assert archive.is_file()
    with pytest.raises(vs.VaultError, match="already exists; choose a new file name"):
        vault_editor.backup(archive)  # never overwrites
    with pytest.raises(vs.VaultError, match="outside the vault"):
        vault_editor.backup(vault_editor.path / "inside.twbackup")
    report = vs.restore(archive, tmp_path / "restored", user="edna", passphrase=PASSPHRASE)
    assert report.problems == [] and report.checked["recordings"] == 1
    s = vs.unlock(tmp_path / "restored", "edna", PASSPHRASE)
    assert s.read_recording("BK-1") == data
    assert s.load("BK-1").meta.notes == "kept"
    assert "backup" in [e.action for e in s.audit_entries()]
    with pytest.raises(vs.VaultExistsError):
        vs.restore(archive, tmp_path / "restored")


@pytest.mark.slow
def test_damaged_archive_is_refused_and_leaves_nothing(vault_editor: Any, tmp_path: Path, vault_clip: Path) -> None:
    _fill(vault_editor, vault_clip)
    archive = vault_editor.backup(tmp_path / "b.twbackup")
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside some file's content
    bad = tmp_path / "bad.twbackup"
    bad.write_bytes(bytes(raw))
    with pytest.raises(vs.BackupError):
        vs.restore(bad, tmp_path / "r1")
    assert not (tmp_path / "r1").exists()
    assert not any(p.name.startswith(".restore-") for p in tmp_path.iterdir())
    (tmp_path / "junk").write_bytes(b"not a tar")
    with pytest.raises(vs.BackupError):
        vs.restore(tmp_path / "junk", tmp_path / "r2")


@pytest.mark.slow
def test_altered_manifest_is_detected(vault_editor: Any, tmp_path: Path, vault_clip: Path) -> None:
    """Someone rebuilds the archive with a consistent but forged manifest: its MAC gives it away."""
    _fill(vault_editor, vault_clip)
    archive = vault_editor.backup(tmp_path / "b.twbackup")
    forged = tmp_path / "forged.twbackup"
    with tarfile.open(archive) as src, tarfile.open(forged, "w") as dst:
        for m in src.getmembers():
            content = src.extractfile(m).read()
            if m.name == backup.BACKUP_MANIFEST:
                content = content.replace(b'"by": "edna"', b'"by": "mallory"')
                m.size = len(content)
            import io

            dst.addfile(m, io.BytesIO(content))
    report = vs.restore(forged, tmp_path / "r", user="edna", passphrase=PASSPHRASE)
    assert any("manifest" in p.lower() for p in report.problems)


@pytest.mark.slow
def test_shred_and_backups(vault_editor: Any, vault_path: Path, tmp_path: Path, vault_clip: Path) -> None:
    """What holds after a shred.

    1. The live vault: the testimony's key is gone from the catalog and its files are deleted.
    2. The ciphertext of that testimony taken from a backup made *before* the shred cannot be read with the
       live vault: the only copy of the key in the live vault was destroyed, so the old blobs are just noise.
    3. A backup made *after* the shred contains nothing of it.
    4. A backup made *before* the shred is a full copy of the vault of that day, key included: restored on
       its own, it still opens the testimony. That is why `workstation shred` tells the editor to destroy or
       re-make earlier backups. (This test pins that down so nobody believes otherwise.)
    """
    _fill(vault_editor, vault_clip)
    before = vault_editor.backup(tmp_path / "before.twbackup")
    old_files = vault_files(vault_path)
    vault_editor.shred("BK-1")
    # 1 + 2: put every old file back into the live vault except the catalog: still unreadable
    live_catalog = {k for k in vault_files(vault_path)}
    for rel, content in old_files.items():
        target = vault_path / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    assert live_catalog <= set(vault_files(vault_path))
    with pytest.raises(vs.NotFoundError):
        vault_editor.load("BK-1")
    with pytest.raises(vs.NotFoundError):
        vault_editor.read_recording("BK-1")
    # 3
    after = vault_editor.backup(tmp_path / "after.twbackup")
    vs.restore(after, tmp_path / "after-restored")
    with pytest.raises(vs.NotFoundError):
        vs.unlock(tmp_path / "after-restored", "edna", PASSPHRASE).load("BK-1")
    # 4
    vs.restore(before, tmp_path / "before-restored")
    assert vs.unlock(tmp_path / "before-restored", "edna", PASSPHRASE).load("BK-1").meta.notes == "kept"
    shutil.rmtree(tmp_path / "before-restored")
