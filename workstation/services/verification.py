"""Verification: the vault (chain, records, blobs, originals' sha256), an export against its manifest, and
decrypting an encrypted export package into a folder (verified as it is written)."""

from __future__ import annotations

from pathlib import Path

from workstation.evidence.manifest import export_manifest, signer_line
from workstation.evidence.manifest import verify_export as _verify_export
from workstation.evidence.package import decrypt_export as _decrypt_export
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession, VerifyReport, upgrade_vault


def upgrade(path: Path | str, user: str, passphrase: str, backup_to: Path | str) -> tuple[Path, VerifyReport]:
    """Convert a format-1 vault to format 2 (an editor; a backup archive is written first): see
    ``docs/VAULT-FORMAT.md`` "Upgrade". Returns the backup's path and the full verify made afterwards."""
    return upgrade_vault(path, user, passphrase, backup_to)


def verify_vault(session: VaultSession) -> VerifyReport:
    session.require(Action.VERIFY)
    return session.verify()


def verify_export(path: Path | str) -> list[str]:
    """Every problem of an export folder or zip against its manifest (empty: intact). Needs no vault."""
    return _verify_export(path)


def export_signer(path: Path | str) -> str:
    """Who signed an export's manifest (with the fingerprint to compare in person), or that nobody did."""
    manifest = export_manifest(path)
    return signer_line(manifest) if manifest is not None else "The manifest cannot be read."


def decrypt_export(package: Path | str, passphrase: str, out_dir: Path | str) -> list[str]:
    """Decrypt a `.twx` package into a new or empty folder; the problems found checking it (empty: intact)."""
    return _decrypt_export(package, passphrase, out_dir)
