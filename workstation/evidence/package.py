"""Passphrase-encrypted export packages (`.twx`): one file a recipient can open with a passphrase only.

No second cipher format: the package is the vault's own container (workstation/vault/crypto.py: chunked
AES-256-GCM, STREAM construction) under a key derived from the passphrase with Argon2id, behind a small header
that says how to derive that key. Byte layout (docs/EXPORTS.md has it too)::

    "TWEXPORT" (8 bytes) | version (1 byte, = 1) | header length n (u32 BE) | header (n bytes, UTF-8 JSON)
    | vault container (crypto.encrypt_stream) holding the export zip

    header = {"kdf": {"algorithm": "argon2id", "memory_kib": ..., "iterations": ..., "lanes": ...},
              "salt": base64(16 random bytes), "content": "zip"}

The container's associated data is everything before it (magic, version, length, header), so editing the
KDF parameters or the salt makes decryption fail instead of silently deriving another key. A wrong passphrase
and a damaged file cannot be told apart (both fail authentication); the message says so.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import zipfile
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from workstation.evidence.manifest import PACKAGE_MAGIC, is_encrypted_export, verify_export
from workstation.platform.errors import WorkstationError
from workstation.vault import crypto
from workstation.vault.accounts import check_passphrase

__all__ = [
    "MAGIC", "SUFFIX", "VERSION", "ExportCryptoError", "check_export_passphrase", "decrypt_export", "decrypt_package",
    "encrypt_package", "extract_zip", "is_encrypted_export", "safe_member",
]

MAGIC = PACKAGE_MAGIC
VERSION = 1
SUFFIX = ".twx"
_PREFIX = struct.Struct(">8sBI")
_MAX_HEADER = 4096


class ExportCryptoError(WorkstationError):
    """An encrypted export cannot be opened: wrong passphrase, damaged file, or not an export package."""


def check_export_passphrase(passphrase: str) -> None:
    """The same strength rules as vault passphrases: the package may travel over untrusted channels."""
    check_passphrase(passphrase)


def encrypt_package(payload: bytes, passphrase: str, dst: BinaryIO, *, params: crypto.KdfParams | None = None) -> None:
    """Write `payload` (the export zip, in memory) encrypted under `passphrase` to `dst`."""
    params = params or crypto.KdfParams()
    salt = os.urandom(16)
    header = json.dumps(
        {"kdf": asdict(params), "salt": base64.b64encode(salt).decode("ascii"), "content": "zip"},
        sort_keys=True,
    ).encode("utf-8")
    prefix = _PREFIX.pack(MAGIC, VERSION, len(header)) + header
    key = crypto.derive_key(passphrase, salt, params)
    dst.write(prefix)
    crypto.encrypt_stream(key, io.BytesIO(payload), dst, aad=prefix)


def decrypt_package(src: BinaryIO, passphrase: str) -> bytes:
    """The export zip inside an encrypted package, in memory (raises ExportCryptoError)."""
    head = src.read(_PREFIX.size)
    if len(head) < _PREFIX.size or head[:8] != MAGIC:
        raise ExportCryptoError("This is not an encrypted Testimony Workstation export (.twx) file.")
    _magic, version, length = _PREFIX.unpack(head)
    if version != VERSION:
        raise ExportCryptoError(f"This export package has format version {version}; this program reads version {VERSION}.")
    if length > _MAX_HEADER:
        raise ExportCryptoError("The export package's header is damaged.")
    header_raw = src.read(length)
    try:
        header = json.loads(header_raw.decode("utf-8"))
        params = crypto.KdfParams(**header["kdf"])
        salt = base64.b64decode(header["salt"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise ExportCryptoError("The export package's header is damaged.") from None
    try:
        key = crypto.derive_key(passphrase, salt, params)
        out = io.BytesIO()
        crypto.decrypt_stream(key, src, out, aad=head + header_raw)
    except crypto.AuthenticationError:
        raise ExportCryptoError(
            "The export could not be decrypted: the passphrase is wrong, or the file was altered or damaged "
            "(these cannot be told apart). Check the passphrase with the sender."
        ) from None
    except crypto.CryptoError as exc:
        raise ExportCryptoError(f"The export package is damaged: {exc}") from None
    return out.getvalue()


def safe_member(name: str) -> str:
    """A zip member name safe to extract under a folder (no absolute paths, no '..')."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in name:
        raise ExportCryptoError(f"The export contains an unsafe file name {name!r}; it was not extracted.")
    return pure.as_posix()


def extract_zip(payload: bytes, out_dir: Path) -> list[str]:
    """Extract an export zip (in memory) into an empty or new folder; returns the file names written."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportCryptoError(f"{out_dir} is not an empty folder; choose a new or empty folder for the decrypted export.")
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        members = [(safe_member(i.filename), i) for i in zf.infolist() if not i.is_dir()]
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, info in members:
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            written.append(name)
    return written


def decrypt_export(path: str | Path, passphrase: str, out_dir: str | Path) -> list[str]:
    """Decrypt a `.twx` package into `out_dir` and verify it against its manifest: the problems, [] if intact."""
    path = Path(path)
    try:
        with open(path, "rb") as src:
            payload = decrypt_package(src, passphrase)
    except FileNotFoundError:
        raise ExportCryptoError(f"There is no file {path}.") from None
    try:
        extract_zip(payload, Path(out_dir))
    except zipfile.BadZipFile:
        raise ExportCryptoError("The decrypted export is not a valid zip; the package is damaged.") from None
    return verify_export(out_dir)
