"""The vault folder outside the store: ``vault.json``, the lock file, the slot and throttle files; small helpers.

* ``vault.json`` — plaintext: format version and the current master-key *epoch* (a random id).
* ``vault.lock`` — the advisory lock that serialises catalog changes and key rotation between processes.
* ``slots/<random>.slot`` — one key slot per user (``accounts.py``).
* ``unlock-throttle.json`` — failure counters for throttling (``throttle.py``; no content).
"""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

from workstation.platform.fileio import file_lock, fsync_dir, write_file_atomic
from workstation.vault.accounts import SlotFiles
from workstation.vault.errors import VaultError, VaultNotFoundError
from workstation.vault.throttle import Throttle

VAULT_FORMAT = "tw-vault-1"
VAULT_FILE = "vault.json"
LOCK_FILE = "vault.lock"


def write_atomic(path: Path, data: bytes) -> None:
    """tmp file in the same folder, fsync, rename, fsync the folder: a crash leaves old or new, never half."""
    write_file_atomic(Path(path), [data])


def fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems refuse fsync on folders; the rename still happened
        fsync_dir(folder)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def vault_exists(path: Path | str) -> bool:
    return (Path(path) / VAULT_FILE).is_file()


def read_vault_file(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / VAULT_FILE).read_text("utf-8"))
    except FileNotFoundError:
        raise VaultNotFoundError(
            f"There is no vault at {root}. Create one with 'workstation init --vault {root}', or point "
            "--vault / WORKSTATION_VAULT at the right folder."
        ) from None
    except (OSError, ValueError) as exc:
        raise VaultError(f"The vault description file {root / VAULT_FILE} is damaged or unreadable.") from exc
    if not isinstance(data, dict) or data.get("format") != VAULT_FORMAT or not isinstance(data.get("epoch"), str):
        raise VaultError(
            f"{root} is not a vault this version understands (format {data.get('format') if isinstance(data, dict) else '?'})."
        )
    return data


def write_vault_file(root: Path, meta: dict[str, Any]) -> None:
    write_atomic(root / VAULT_FILE, to_json(meta))


def vault_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """Serialise catalog changes and key rotation between processes (advisory lock file)."""
    return file_lock(root / LOCK_FILE)


def slot_files(root: Path) -> SlotFiles:
    return SlotFiles(root, write_atomic)


def throttle(root: Path) -> Throttle:
    return Throttle(root, write_atomic)
