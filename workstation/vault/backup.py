"""Backup archives of a whole vault and bringing one back.

An archive is a plain tar of the vault's files (already ciphertext) with ``MANIFEST.json`` (format, creator,
epoch, audit head, and each file's path, size and sha256) and ``MANIFEST.mac``, an HMAC of the manifest under a
key derived from the catalog's audit key: only someone who can unlock the vault can check (or forge) it.
Restoring checks every file against the manifest while extracting into a temporary sibling folder, renamed
into place only when complete; ``session.restore`` then checks the MAC and verifies the restored vault.

Locks, temporary files and the unlock-throttle counters are not part of a backup.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

from workstation.domain.testimony import now_iso
from workstation.vault import crypto
from workstation.vault.errors import BackupError, VaultError, VaultExistsError
from workstation.vault.layout import fsync_folder, vault_exists

BACKUP_FORMAT = "tw-backup-1"
BACKUP_MANIFEST = "MANIFEST.json"
BACKUP_MAC = "MANIFEST.mac"

VaultFile = tuple[str, int, str]  # relative path, size, sha256


# --- writing -----------------------------------------------------------------------------------------


def target_path(out: Path | str, root: Path) -> Path:
    """Where the archive goes: a new file outside the vault (a folder gets a dated file name)."""
    target = Path(out).expanduser()
    if target.is_dir():
        target = target / f"vault-backup-{time.strftime('%Y%m%d-%H%M%S')}.twbackup"
    if target.exists():
        raise VaultError(f"{target} already exists; choose a new file name for the backup.")
    if _inside(target, root):
        raise VaultError("Write the backup outside the vault folder (ideally to another disk).")
    return target


_KNOWN = re.compile(r"vault\.json|store-index\.json|audit/log|audit/head|audit/checkpoint|slots/[0-9a-f]{24}\.slot|objects/[0-9a-f]{40}")


def vault_files(root: Path) -> list[VaultFile]:
    """(relative path, size, sha256) of every file that belongs in a backup: only the files the vault knows
    (vault.json, slots, the index, objects, the audit log and head) — never locks, temporary files, counters,
    or anything else someone put into the folder (an export saved there would otherwise travel with backups)."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.is_symlink() or not _KNOWN.fullmatch(rel):
            continue
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        out.append((rel, size, digest.hexdigest()))
    return out


def manifest(files: list[VaultFile], *, by: str, epoch: str, audit_head: str,
             audit_checkpoint: dict[str, Any] | None = None) -> bytes:
    data = {
        "format": BACKUP_FORMAT, "created": now_iso(), "by": by, "epoch": epoch, "audit_head": audit_head,
        "audit_checkpoint": audit_checkpoint,
        "files": [{"path": rel, "size": size, "sha256": digest} for rel, size, digest in files],
    }
    return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")


def write_archive(root: Path, target: Path, files: list[VaultFile], manifest_raw: bytes, audit_key: bytes) -> None:
    """The tar, written to a temporary sibling, fsynced, then renamed into place (never a half archive)."""
    mac = crypto.mac(_manifest_key(audit_key), manifest_raw).hex().encode()
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        with open(tmp, "xb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            _add_bytes(tar, BACKUP_MANIFEST, manifest_raw)
            _add_bytes(tar, BACKUP_MAC, mac)
            for rel, size, _digest in files:
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = size, 0o600, int(time.time())
                with open(root / rel, "rb") as src:
                    tar.addfile(info, src)
            tar.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_folder(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


# --- the manifest's authentication -------------------------------------------------------------------


def _manifest_key(audit_key: bytes) -> bytes:
    return crypto.derive_subkey(audit_key, "backup-manifest")


def mac_ok(audit_key: bytes, manifest_raw: bytes, mac_hex: bytes) -> bool:
    try:
        return crypto.verify_mac(_manifest_key(audit_key), manifest_raw, bytes.fromhex(mac_hex.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return False


def listed_files(manifest_raw: bytes) -> int:
    return len(json.loads(manifest_raw)["files"])


# --- restoring -----------------------------------------------------------------------------------------


def restore_files(archive: Path, root: Path) -> tuple[bytes, bytes]:
    """Extract a backup into ``root`` (missing or empty), every file checked; returns (manifest, mac) to check."""
    if vault_exists(root) or (root.exists() and (not root.is_dir() or any(root.iterdir()))):
        raise VaultExistsError(f"{root} already exists and is not empty; restore into a new folder.")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".restore-{os.urandom(6).hex()}"
    try:
        manifest_raw, mac = _extract(archive, staging)
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
        fsync_folder(root.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest_raw, mac


MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # the manifest and its MAC are read into memory: bounded


def _extract(archive: Path, staging: Path) -> tuple[bytes, bytes]:
    damaged = BackupError(f"{archive} is not a complete Testimony Workstation backup (damaged, altered or another file).")
    try:
        tar = tarfile.open(archive, mode="r:")
    except (OSError, tarfile.TarError, EOFError, UnicodeError, ValueError) as exc:
        raise damaged from exc
    with tar:
        try:
            members = tar.getmembers()
            by_name = {m.name: m for m in members}
            if len(by_name) != len(members):
                raise BackupError(f"{archive}: a file appears twice in the archive (altered archive).")
            for name in (BACKUP_MANIFEST, BACKUP_MAC):
                if not by_name[name].isfile() or by_name[name].size > MAX_MANIFEST_BYTES:
                    raise damaged
            manifest_raw = _member_bytes(tar, by_name[BACKUP_MANIFEST])
            mac = _member_bytes(tar, by_name[BACKUP_MAC])
            listed = _listed(json.loads(manifest_raw), damaged)
        except BackupError:
            raise
        except (KeyError, ValueError, TypeError, AttributeError, RecursionError, EOFError, tarfile.TarError,
                OSError) as exc:
            raise damaged from exc
        if set(by_name) - {BACKUP_MANIFEST, BACKUP_MAC} != set(listed):
            raise BackupError(f"{archive}: the files in the archive differ from its manifest (altered archive).")
        _check_sizes(archive, by_name, listed)
        staging.mkdir(mode=0o700)
        for rel, item in listed.items():
            try:
                _extract_one(tar, by_name[rel], rel, item["sha256"], staging, archive, damaged)
            except (tarfile.TarError, EOFError) as exc:
                raise damaged from exc
    return manifest_raw, mac


def _listed(data: Any, damaged: BackupError) -> dict[str, dict[str, Any]]:
    """The manifest's files by path, each with a str path, an int size and a 64-hex sha256 (else ``damaged``)."""
    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT or not isinstance(data.get("files"), list):
        raise damaged
    listed: dict[str, dict[str, Any]] = {}
    for item in data["files"]:
        if not (isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("sha256"), str)
                and len(item["sha256"]) == 64 and isinstance(item.get("size"), int) and item["size"] >= 0):
            raise damaged
        listed[item["path"]] = item
    return listed


def _check_sizes(archive: Path, by_name: dict[str, tarfile.TarInfo], listed: dict[str, dict[str, Any]]) -> None:
    """Before writing anything: no sparse members (a small archive that expands to gigabytes), every member
    exactly the size its manifest says, and all of them together no larger than the archive itself."""
    total = 0
    for rel, item in listed.items():
        member = by_name[rel]
        if member.issparse() or member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
            raise BackupError(f"{archive}: the entry {rel!r} is not a plain file (sparse or special): refused.")
        if member.size != item["size"]:
            raise BackupError(f"{archive}: the file {rel} has a different size from the one its manifest records "
                              "(altered archive); nothing was restored.")
        total += member.size
    if total > archive.stat().st_size:
        raise BackupError(f"{archive}: its files add up to more than the archive holds (altered archive).")


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, rel: str, sha256: str, staging: Path,
                 archive: Path, damaged: BackupError) -> None:
    target = (staging / rel).resolve()
    if not member.isfile() or not _inside(target, staging) or rel.startswith("/"):
        raise BackupError(f"{archive}: unexpected entry {rel!r} (not a vault file).")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    src = tar.extractfile(member)
    if src is None:
        raise damaged
    with open(target, "xb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if digest.hexdigest() != sha256:
        raise BackupError(f"{archive}: the file {rel} does not match the manifest (damaged or altered).")


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        raise KeyError(member.name)
    return fh.read()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
