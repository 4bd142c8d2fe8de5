"""The vault session: the one API the UI, the CLI, the job queue and the exporters use.

``create_vault`` / ``unlock`` return a :class:`VaultSession` holding the user's name, role and (in memory
only) the vault master key. Every method checks the role (``users.require``) and writes an audit entry
(who, what, case code, segment ids, revisions — never content).

Layout of a vault folder (nothing in a name reveals content)
------------------------------------------------------------
* ``vault.json`` — plaintext: format version and the current master-key *epoch* (a random id).
* ``slots/<random>.slot`` — one key slot per user (``users.py``: the master key sealed to the user's X25519
  key, the private key sealed under the Argon2id key of the passphrase; name and role authenticated).
* ``unlock-throttle.json`` — failure counters for throttling (no content).
* everything else is written by ``store.Store`` (records and chunked blobs under random names) and
  ``audit.AuditLog``.

Keys
----
* master key ``M`` (random 256 bits, one per epoch) encrypts only the **catalog** record ``catalog-<epoch>``;
* the catalog holds the vault data key (glossary), the audit key, and for each testimony a random id, its
  case code, owner, creation time, the names of its extra records and its **own random data key**;
* each testimony's records (the ``Testimony`` JSON, recording info, extras) and its sealed original
  recording (a chunked blob) are encrypted under that testimony key, under random ids derived from the
  testimony id, so the case code appears nowhere outside encrypted records.

Shredding removes the testimony's entry (its key) from the catalog in one atomic write, then deletes its
records and blob; the audit log keeps a content-free ``shred`` entry. Once the catalog no longer holds the
key, the ciphertext that remains anywhere — a disk block, a copied file, the data files of an older backup
combined with the current vault — cannot be decrypted. A backup archive made *before* the shred is a full copy
of the vault of that day, key included: the shred message and ``docs/VAULT-FORMAT.md`` tell editors to destroy
(or re-make) earlier backups; ``tests/test_vault_backup.py`` spells out what holds.

Removing a user rotates the master key: a new epoch and key, the catalog re-encrypted under it, the new key
sealed to every remaining user's public key (no passphrase needed), then ``vault.json`` switches epoch in one
atomic rename; the old catalog and the old wraps are deleted afterwards. A crash before the switch leaves the
old epoch working; after it, the new one. The removed user's slot is deleted first, and even a saved copy of it
only yields the old master key, which opens nothing any more. Other open sessions notice the new epoch and
unwrap the new key with the private key they hold in memory, so nobody has to unlock again.

Concurrency: testimony records are saved with compare-and-swap on the store version, so two processes editing
the same testimony never lose an update (the loser gets ``ConflictError``); catalog changes (create, shred,
new extra names, rotation) are additionally serialised by a lock file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from workstation.domain import testimony as tm
from workstation.platform.digest import sha256_hex
from workstation.platform.errors import WorkstationError
from workstation.domain.glossary import Glossary
from workstation.platform.hardening import lock_in_memory
from workstation.domain.testimony import ConflictError, Status, Testimony, TestimonyMeta
from workstation.vault import crypto, users
from workstation.vault.audit import AuditLog
from workstation.platform.fileio import file_lock, fsync_dir, write_file_atomic
from workstation.vault.store import Store
from workstation.vault.users import (
    Action,
    PermissionDeniedError,
    Role,
    SlotDamagedError,
    ThrottledError,
    UnknownUserError,
    WrongPassphraseError,
)

__all__ = [
    "VAULT_FORMAT", "VaultSession", "VaultError", "VaultNotFoundError", "VaultExistsError", "VaultLockedError",
    "IntegrityError", "NotFoundError", "RecordingInfo", "TestimonySummary", "UserInfo", "VerifyReport",
    "create_vault", "vault_exists", "unlock", "restore", "PermissionDeniedError", "WrongPassphraseError",
    "UnknownUserError", "ThrottledError", "SlotDamagedError", "ConflictError",
]

T = TypeVar("T")

VAULT_FORMAT = "tw-vault-1"
VAULT_FILE = "vault.json"
LOCK_FILE = "vault.lock"
BACKUP_FORMAT = "tw-backup-1"
BACKUP_MANIFEST = "MANIFEST.json"
BACKUP_MAC = "MANIFEST.mac"
_SAFE_DETAIL = re.compile(r"^[A-Za-z0-9_.:|+\-]{0,80}$")
_CASE_RE = re.compile(r"^[\w][\w\-./]{0,63}$")

# KDF parameters for new slots. None means crypto.KdfParams() (the production defaults); tests may
# point this at cheaper (still memory-hard) parameters through a fixture.
KDF_PARAMS: crypto.KdfParams | None = None


def _kdf() -> crypto.KdfParams:
    return KDF_PARAMS if KDF_PARAMS is not None else crypto.KdfParams()


# --- errors and results -----------------------------------------------------------------------------


class VaultError(WorkstationError):
    """Something about the vault as a whole (missing, already there, unreadable)."""


class VaultNotFoundError(VaultError):
    pass


class VaultExistsError(VaultError):
    pass


class VaultLockedError(VaultError):
    """The session was locked; unlock again."""


class NotFoundError(VaultError):
    """No such testimony (or recording) in this vault."""


class IntegrityError(VaultError):
    """Stored data failed authentication or its recorded hash: altered or damaged."""


@dataclass(frozen=True)
class RecordingInfo:
    sha256: str
    size: int
    duration_s: float
    container: str
    filename: str = ""
    ingested_at: str = ""
    ingested_by: str = ""


@dataclass(frozen=True)
class TestimonySummary:
    __test__ = False
    case_code: str
    status: Status
    owner: str
    created: str
    duration_s: float | None
    n_segments: int
    n_reviewed: int


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: Role
    created: str = ""


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was checked: testimonies, recordings, ...

    @property
    def ok(self) -> bool:
        return not self.problems


# --- small file helpers -----------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """tmp file in the same folder, fsync, rename, fsync the folder: a crash leaves old or new, never half."""
    write_file_atomic(Path(path), [data])


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems refuse fsync on folders; the rename still happened
        fsync_dir(folder)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _now() -> str:
    return tm.now_iso()


def _rid(tid: str, kind: str) -> str:
    """A random-looking record id for one kind of record of one testimony (reveals neither)."""
    return hashlib.sha256(f"tw-rid|{tid}|{kind}".encode()).hexdigest()[:32]


def vault_exists(path: Path | str) -> bool:
    return (Path(path) / VAULT_FILE).is_file()


def _read_vault_file(root: Path) -> dict[str, Any]:
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


def _vault_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """Serialise catalog changes and key rotation between processes (advisory lock file)."""
    return file_lock(root / LOCK_FILE)


def _slots(root: Path) -> users.SlotFiles:
    return users.SlotFiles(root, _write_atomic)


def _throttle(root: Path) -> users.Throttle:
    return users.Throttle(root, _write_atomic)


# --- creating and unlocking -------------------------------------------------------------------------


def create_vault(path: Path | str, editor: str, passphrase: str) -> VaultSession:
    """Create a new vault at ``path`` (missing or empty folder) with its first editor account."""
    root = Path(path).expanduser()
    if vault_exists(root):
        raise VaultExistsError(f"There is already a vault at {root}. Unlock it instead, or choose another folder.")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise VaultExistsError(
            f"{root} already exists and is not empty. Choose a new (or empty) folder for the vault."
        )
    editor = users.check_user_name(editor)
    users.check_passphrase(passphrase, user=editor)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    master, epoch = os.urandom(32), os.urandom(8).hex()
    slot, private = users.new_slot(editor, Role.EDITOR, passphrase, _kdf(), epoch, master)
    catalog = {"data_key": _b64(os.urandom(32)), "audit_key": _b64(os.urandom(32)), "testimonies": {}}
    store = Store(root)
    store.write_record(master, f"catalog-{epoch}", _json(catalog), expected_version=0)
    _slots(root).save(slot)
    # vault.json last: until it exists the folder is not a vault, so a crash here leaves nothing half-made.
    _write_atomic(root / VAULT_FILE, _json({"format": VAULT_FORMAT, "epoch": epoch, "created": _now()}))
    session = VaultSession(root, slot, master, epoch, _private=private)
    session._audit("vault_created")
    session._audit("user_added", subject=editor, role=str(Role.EDITOR))
    return session


def unlock(path: Path | str, user: str, passphrase: str) -> VaultSession:
    """Open the vault as ``user``. Errors: WrongPassphraseError, UnknownUserError, ThrottledError, SlotDamagedError."""
    root = Path(path).expanduser()
    meta = _read_vault_file(root)
    throttle = _throttle(root)
    user = user.strip()
    throttle.check(user)
    try:
        _path, slot = _slots(root).find(user)
    except UnknownUserError:
        throttle.failure(user, known=False)
        raise
    try:
        private = users.open_private(slot, passphrase)
    except (WrongPassphraseError, SlotDamagedError):
        throttle.failure(user, known=True)
        raise
    epoch = meta["epoch"]
    try:
        master = users.unwrap_master(slot, epoch, private)
    except crypto.CryptoError as exc:
        throttle.failure(user, known=True)
        raise users.damaged_error(slot) from exc
    session = VaultSession(root, slot, master, epoch, _private=private)
    for failed in throttle.success(user):
        session._audit("unlock_failed", as_user=failed.get("user") or "(unknown user name)", failed_at=failed.get("at", ""))
    session._audit("unlock")
    return session


# --- the session ------------------------------------------------------------------------------------


class VaultSession:
    """An unlocked vault for one user. Not thread-safe for writes from several threads at once."""

    def __init__(self, root: Path, slot: users.KeySlot, master: bytes, epoch: str, *, _private: Any) -> None:
        self.path = Path(root)
        self.user = slot.user
        self.role = Role(slot.role)
        self._slot = slot
        self._private = _private  # X25519 private key: follows master-key rotations without the passphrase
        self._master: bytes | None = master
        lock_in_memory(master)  # best effort: keep the master key's page out of swap (hardening.py says the limits)
        self._epoch = epoch
        self._store = Store(self.path)
        self._catalog_cache: dict[str, Any] | None = None
        self._audit_log: AuditLog | None = None

    # ---- basics

    def __repr__(self) -> str:  # never show keys
        return f"VaultSession(user={self.user!r}, role={self.role.value!r}, locked={self._master is None})"

    def lock(self) -> None:
        """Forget every key held by this session; further calls raise VaultLockedError."""
        self._master = None
        self._private = None
        self._catalog_cache = None
        self._audit_log = None

    @property
    def locked(self) -> bool:
        return self._master is None

    def require(self, action: Action) -> None:
        self._open()
        users.require(self.role, action)

    def _open(self) -> bytes:
        if self._master is None:
            raise VaultLockedError("This session is locked. Unlock the vault again to continue.")
        return self._master

    # ---- keys and the catalog

    def _follow_epoch(self) -> None:
        """Pick up a master-key rotation made by another session (see module docstring)."""
        self._open()
        epoch = _read_vault_file(self.path)["epoch"]
        if epoch == self._epoch:
            return
        path_slot = [s for s in _slots(self.path).users() if s.user == self.user]
        if not path_slot or self._private is None:
            self.lock()
            raise VaultLockedError(
                "Your account was removed from this vault or its keys were changed. The session is now locked."
            )
        try:
            self._master = users.unwrap_master(path_slot[0], epoch, self._private)
            lock_in_memory(self._master)
        except (crypto.CryptoError, SlotDamagedError) as exc:
            self.lock()
            raise VaultLockedError("The vault's keys were changed; unlock again to continue.") from exc
        self._epoch, self._slot, self._catalog_cache, self._audit_log = epoch, path_slot[0], None, None

    def _read_catalog(self) -> tuple[dict[str, Any], int]:
        for _attempt in range(3):  # a rotation may switch epochs between reading vault.json and the catalog
            self._follow_epoch()
            try:
                data, version = self._store.read_record(self._master, f"catalog-{self._epoch}")
                break
            except FileNotFoundError:
                time.sleep(0.05)
            except crypto.CryptoError as exc:
                raise IntegrityError(
                    "The vault's catalog (the list of testimonies and their keys) fails authentication: it was "
                    "altered or damaged. Restore it from a backup; run 'workstation verify' for details."
                ) from exc
        else:
            raise IntegrityError("The vault's catalog is missing from the vault folder. Restore it from a backup.")
        catalog = json.loads(data.decode("utf-8"))
        self._catalog_cache = catalog
        return catalog, version

    def _catalog(self) -> dict[str, Any]:
        return self._read_catalog()[0]

    @contextlib.contextmanager
    def _catalog_change(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write of the catalog under the vault lock (and compare-and-swap)."""
        with _vault_lock(self.path):
            catalog, version = self._read_catalog()
            yield catalog
            self._store.write_record(self._master, f"catalog-{self._epoch}", _json(catalog), expected_version=version)
            self._catalog_cache = catalog

    def _entry(self, case_code: str, catalog: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        catalog = catalog if catalog is not None else self._catalog()
        for tid, entry in catalog["testimonies"].items():
            if entry["case"] == case_code:
                return tid, entry
        raise NotFoundError(f"There is no testimony {case_code!r} in this vault. 'workstation list' shows them.")

    def _key(self, entry: dict[str, Any]) -> bytes:
        return _unb64(entry["key"])

    # ---- audit

    def _log(self) -> AuditLog:
        if self._audit_log is None:
            self._audit_log = AuditLog(self.path, _unb64(self._catalog()["audit_key"]))
        return self._audit_log

    def _audit(self, action: str, case_code: str | None = None, *, as_user: str | None = None, **details: Any) -> None:
        clean = {k: v for k, v in details.items() if _safe_detail(v)}
        self._log().append(as_user or self.user, action, case_code, **clean)

    def record_audit(self, action: str, case_code: str | None = None, **details: Any) -> None:
        """Let other modules (exports) add a content-free entry; unsafe detail values are dropped."""
        self._open()
        if case_code is not None:
            self._access(case_code, Action.VIEW)
        self._audit(action, case_code, **details)

    def audit_entries(self) -> list[Any]:
        self.require(Action.AUDIT)
        return list(self._log().entries())

    def audit_head(self) -> str:
        self._open()
        return self._log().head()

    # ---- users

    def list_users(self) -> list[UserInfo]:
        self.require(Action.MANAGE_USERS)
        return sorted((UserInfo(s.user, s.role, s.created) for s in _slots(self.path).users()), key=lambda u: u.name)

    def add_user(self, name: str, role: Role | str, passphrase: str) -> UserInfo:
        self.require(Action.MANAGE_USERS)
        name, role = users.check_user_name(name), users.parse_role(role)
        users.check_passphrase(passphrase, user=name)
        with _vault_lock(self.path):
            self._follow_epoch()
            if any(s.user == name for s in _slots(self.path).users()):
                raise users.UserNameError(f"There is already an account named {name!r}. Choose another name.")
            slot, _private = users.new_slot(name, role, passphrase, _kdf(), self._epoch, self._open())
            _slots(self.path).save(slot)
        self._audit("user_added", subject=name, role=str(role))
        return UserInfo(name, role, slot.created)

    def change_passphrase(self, old: str, new: str) -> None:
        """Change this user's own passphrase (the old one is needed: it re-opens the slot)."""
        self._open()
        users.check_passphrase(new, user=self.user)
        with _vault_lock(self.path):
            path, slot = _slots(self.path).find(self.user)
            fresh = users.rekey_slot(slot, old, new, _kdf())
            _slots(self.path).save(fresh, path)
            self._slot = fresh
        self._audit("passphrase_changed")

    def remove_user(self, name: str) -> None:
        """Remove an account and rotate the master key (see module docstring for the order of writes)."""
        self.require(Action.MANAGE_USERS)
        if name == self.user:
            raise WorkstationError("You cannot remove your own account. Ask another editor to do it.")
        with _vault_lock(self.path):
            self._follow_epoch()
            slot_files = _slots(self.path)
            path, slot = slot_files.find(name)
            remaining = [(p, s) for p, s in slot_files.load_all() if p != path]
            if not any(s is not None and s.role is Role.EDITOR for _p, s in remaining):
                raise WorkstationError("That is the last editor account; add another editor before removing it.")
            catalog, _version = self._read_catalog()
            old_epoch, new_epoch, new_master = self._epoch, os.urandom(8).hex(), os.urandom(32)
            path.unlink()
            _fsync_dir(path.parent)
            self._store.write_record(new_master, f"catalog-{new_epoch}", _json(catalog), expected_version=0)
            for p, s in remaining:
                if s is not None:
                    users.add_master(s, new_epoch, new_master)
                    slot_files.save(s, p)
            meta = _read_vault_file(self.path)
            meta["epoch"] = new_epoch
            _write_atomic(self.path / VAULT_FILE, _json(meta))  # the commit point of the rotation
            self._master, self._epoch, self._catalog_cache = new_master, new_epoch, None
            lock_in_memory(new_master)
            for p, s in remaining:  # clean-up: old wraps and the old catalog
                if s is not None and old_epoch in s.masters:
                    del s.masters[old_epoch]
                    slot_files.save(s, p)
                    if s.user == self.user:
                        self._slot = s
            self._store.delete(f"catalog-{old_epoch}")
        self._audit("user_removed", subject=name)
        self._audit("key_rotation", reason="user_removed")

    # ---- testimonies

    def _access(self, case_code: str, action: Action, catalog: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        self.require(action)
        tid, entry = self._entry(case_code, catalog)
        users.require_access(self.role, self.user, entry["owner"], action, case_code)
        return tid, entry

    def _read(self, key: bytes, record_id: str, what: str) -> tuple[Any, int] | None:
        try:
            data, version = self._store.read_record(key, record_id)
        except FileNotFoundError:
            return None
        except crypto.CryptoError as exc:
            raise IntegrityError(
                f"The {what} fails authentication: it was altered, damaged or replaced by another file ({exc}). "
                "Nothing was changed; restore it from a backup ('workstation verify' lists every problem)."
            ) from exc
        return json.loads(data.decode("utf-8")), version

    def _load_testimony(self, tid: str, entry: dict[str, Any]) -> tuple[Testimony, int]:
        found = self._read(self._key(entry), _rid(tid, "testimony"), f"testimony {entry['case']}")
        if found is None:
            raise IntegrityError(f"The record of testimony {entry['case']} is missing from the vault folder.")
        return Testimony.from_dict(found[0]), found[1]

    def _save_testimony(self, tid: str, entry: dict[str, Any], t: Testimony, expected_version: int) -> int:
        return self._store.write_record(self._key(entry), _rid(tid, "testimony"), _json(t.to_dict()),
                                        expected_version=expected_version)

    def list_testimonies(self) -> list[TestimonySummary]:
        self.require(Action.VIEW)
        out = []
        for tid, entry in self._catalog()["testimonies"].items():
            if not users.can_read(self.role, self.user, entry["owner"]):
                continue
            t, _v = self._load_testimony(tid, entry)
            info = self._recording_info(tid, entry)
            out.append(TestimonySummary(
                case_code=entry["case"], status=t.status, owner=entry["owner"], created=entry["created"],
                duration_s=info.duration_s if info else None, n_segments=len(t.segments),
                n_reviewed=sum(1 for s in t.segments if s.reviewed),
            ))
        return sorted(out, key=lambda s: (s.created, s.case_code))

    def create_testimony(self, meta: TestimonyMeta) -> Testimony:
        self.require(Action.CREATE)
        code = meta.case_code.strip()
        if not _CASE_RE.match(code):
            raise tm.EditError(
                "A case code is 1 to 64 letters, digits, dashes, dots or slashes (e.g. CH-2019-014). Use a "
                "pseudonym, never the witness's real name."
            )
        meta.case_code = code
        t = Testimony(meta=meta, owner=self.user)
        tid, key = os.urandom(16).hex(), os.urandom(32)
        with self._catalog_change() as catalog:
            if any(e["case"] == code for e in catalog["testimonies"].values()):
                raise tm.EditError(f"There is already a testimony with case code {code}. Choose another code.")
            entry = {"key": _b64(key), "case": code, "owner": self.user, "created": _now(), "extras": []}
            self._save_testimony(tid, entry, t, expected_version=0)
            catalog["testimonies"][tid] = entry
        self._audit("testimony_created", code)
        return t

    def load(self, case_code: str) -> Testimony:
        """The latest saved testimony; every call is a 'view' in the audit log."""
        tid, entry = self._access(case_code, Action.VIEW)
        t, version = self._load_testimony(tid, entry)
        self._audit("view", case_code, what="testimony", version=version)
        return t

    def update(self, case_code: str, fn: Callable[[Testimony], T], *, action: str, details: dict | None = None) -> T:
        """Load the latest version, apply ``fn`` (a ``testimony.py`` operation), save with compare-and-swap.

        A concurrent save in between raises ``ConflictError`` (nothing is overwritten). The role is checked
        against what ``fn`` actually changed: segments → edit, metadata → edit_metadata, approval → approve.
        """
        tid, entry = self._access(case_code, Action.VIEW)
        t, version = self._load_testimony(tid, entry)
        before = t.to_dict()
        n_revisions = len(t.revisions)
        result = fn(t)
        after = t.to_dict()
        if after == before:
            return result
        for needed in _actions_for_change(before, after):
            users.require_access(self.role, self.user, entry["owner"], needed, case_code)
        try:
            new_version = self._save_testimony(tid, entry, t, expected_version=version)
        except ConflictError:
            raise ConflictError(
                f"Someone else saved testimony {case_code} while you were working on it; your change was not "
                "saved over theirs. Reload, check their change, and apply yours again."
            ) from None
        changed = [(r.segment_id, r.revision, r.field) for r in t.revisions[n_revisions:]]
        info: dict[str, Any] = dict(details or {})
        info.update({k: v for k, v in {  # computed from the change itself: these win over the caller's words
            "version": new_version,
            "segment_ids": "|".join(s for s, _r, _f in changed if s)[:80] or None,
            "revisions": "|".join(str(r) for _s, r, _f in changed)[:80] or None,
            "fields": "|".join(sorted({f for _s, _r, f in changed}))[:80] or None,
        }.items() if v is not None})
        self._audit(action, case_code, **info)
        return result

    def update_meta(self, case_code: str, /, **changes: str) -> Testimony:
        """Change case metadata (interview date, consent scope, notes, …); the case code itself is fixed."""
        allowed = set(TestimonyMeta.__dataclass_fields__) - {"case_code"}
        unknown = set(changes) - allowed
        if unknown:
            raise tm.EditError(f"Unknown metadata field(s): {', '.join(sorted(unknown))}.")

        def apply(t: Testimony) -> Testimony:
            tm._require_editable(t)
            for k, v in changes.items():
                setattr(t.meta, k, v)
            return t

        return self.update(case_code, apply, action="metadata_edited", details={"fields": "|".join(sorted(changes))})

    # ---- the recording

    def _recording_info(self, tid: str, entry: dict[str, Any]) -> RecordingInfo | None:
        found = self._read(self._key(entry), _rid(tid, "recording-info"), f"recording information of {entry['case']}")
        return RecordingInfo(**found[0]) if found else None

    def recording_info(self, case_code: str) -> RecordingInfo | None:
        tid, entry = self._access(case_code, Action.VIEW)
        return self._recording_info(tid, entry)

    def ingest_recording(self, case_code: str, data: bytes, filename: str, *, container: str,
                         duration_s: float) -> RecordingInfo:
        """Seal the original bytes (chunked, encrypted) as the evidence copy; record its sha256.

        The vault does not parse media: `container` and `duration_s` come from the intake check of the upload
        (`services.intake`, which runs it in the sealed worker before anything is created).
        """
        tid, entry = self._access(case_code, Action.INGEST)
        key = self._key(entry)
        sha, duration = sha256_hex(data), float(duration_s)
        with _vault_lock(self.path):  # two uploads for one case at once: the second is refused, never mixed
            if self._recording_info(tid, entry) is not None:
                raise tm.EditError(
                    f"Testimony {case_code} already has its sealed original recording; the evidence copy never "
                    "changes. Create a new testimony for another recording."
                )
            self._store.write_blob_from(key, _rid(tid, "original"), io.BytesIO(data))
            info = RecordingInfo(sha256=sha, size=len(data), duration_s=duration, container=container,
                                 filename=Path(filename).name, ingested_at=_now(), ingested_by=self.user)
            self._store.write_record(key, _rid(tid, "recording-info"), _json(info.__dict__), expected_version=0)

        def mark(t: Testimony) -> None:
            if t.status is Status.CREATED:
                t.status = Status.INGESTED

        self._update_internal(tid, entry, mark)
        self._audit("recording_ingested", case_code, sha256=sha, size=len(data), duration_s=round(duration, 2))
        return info

    def read_recording(self, case_code: str) -> bytes:
        """The original bytes, checked against the sha256 recorded at intake; a 'view' in the audit log."""
        tid, entry = self._access(case_code, Action.VIEW)
        info = self._recording_info(tid, entry)
        if info is None:
            raise NotFoundError(f"Testimony {case_code} has no recording yet.")
        data = b"".join(self._iter_blob(tid, entry))
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise IntegrityError(f"The recording of {case_code} does not match the hash recorded at intake.")
        self._audit("view", case_code, what="recording")
        return data

    def _iter_blob(self, tid: str, entry: dict[str, Any]) -> Iterator[bytes]:
        try:
            yield from self._store.open_blob(self._key(entry), _rid(tid, "original"))
        except FileNotFoundError:
            raise IntegrityError(f"The sealed recording of {entry['case']} is missing from the vault folder.") from None
        except crypto.CryptoError as exc:
            raise IntegrityError(
                f"The sealed recording of {entry['case']} fails authentication (altered, truncated or swapped). "
                "Restore it from a backup."
            ) from exc

    def _update_internal(self, tid: str, entry: dict[str, Any], fn: Callable[[Testimony], Any]) -> None:
        t, version = self._load_testimony(tid, entry)
        fn(t)
        self._save_testimony(tid, entry, t, expected_version=version)

    # ---- processing, approval

    def store_processing_result(self, case_code: str, result: Any) -> Testimony:
        """Save a ``pipeline.PipelineResult`` as the draft (refused once anyone has edited the transcript)."""
        tid, entry = self._access(case_code, Action.PROCESS)

        def apply(t: Testimony) -> Testimony:
            tm._require_editable(t)
            if t.revisions:
                raise tm.EditError(
                    f"Testimony {case_code} already has {len(t.revisions)} human edit(s); a new processing result "
                    "would replace them, so it was not stored. Nothing was lost."
                )
            t.segments = list(result.segments)
            t.models = {str(k): str(v) for k, v in dict(result.models).items()}
            t.models["language"] = str(getattr(result, "language", "") or "")
            t.status = Status.DRAFT
            return t

        t, version = self._load_testimony(tid, entry)
        apply(t)
        try:
            new_version = self._save_testimony(tid, entry, t, expected_version=version)
        except ConflictError:
            raise ConflictError(f"Testimony {case_code} changed while processing finished; run processing again.") from None
        self.save_extra(case_code, "processing", {
            "language": getattr(result, "language", ""), "language_probability": getattr(result, "language_probability", 0.0),
            "duration_s": getattr(result, "duration_s", 0.0), "warnings": list(getattr(result, "warnings", [])),
            "models": dict(result.models), "at": _now(), "by": self.user,
        })
        self._audit("processed", case_code, version=new_version, segments=len(t.segments))
        return t

    def approve(self, case_code: str) -> tm.Approval:
        self.require(Action.APPROVE)
        approval = self.update(case_code, lambda t: tm.approve(t, user=self.user), action="approved")
        self._audit("approval_hash", case_code, content_hash=approval.content_hash)
        return approval

    def unapprove(self, case_code: str, reason: str) -> None:
        self.require(Action.APPROVE)
        self.update(case_code, lambda t: tm.unapprove(t, user=self.user, reason=reason), action="unapproved")
        # The reason is free text: kept encrypted with the testimony, not in the (content-free) audit log.
        history = self.load_extra(case_code, "approval-history") or {"unapprovals": []}
        history["unapprovals"].append({"user": self.user, "at": _now(), "reason": reason.strip()})
        self.save_extra(case_code, "approval-history", history)

    # ---- extras and glossary

    def load_extra(self, case_code: str, name: str) -> dict | None:
        tid, entry = self._access(case_code, Action.VIEW)
        found = self._read(self._key(entry), _rid(tid, "extra:" + name), f"{name!r} record of {case_code}")
        return found[0] if found else None

    def save_extra(self, case_code: str, name: str, data: dict) -> None:
        tid, entry = self._access(case_code, Action.VIEW)
        rid = _rid(tid, "extra:" + name)
        if name not in entry.get("extras", []):
            with self._catalog_change() as catalog:
                current = catalog["testimonies"].get(tid)
                if current is None:
                    raise NotFoundError(f"Testimony {case_code} was shredded meanwhile.")
                current.setdefault("extras", []).append(name)
        for _attempt in range(5):  # last writer wins for extras (job state, pseudonym table), never a torn write
            found = self._read(self._key(entry), rid, f"{name!r} record of {case_code}")
            try:
                self._store.write_record(self._key(entry), rid, _json(data), expected_version=found[1] if found else 0)
                return
            except ConflictError:
                continue
        raise ConflictError(f"The {name!r} record of {case_code} keeps changing; try again.")

    def load_glossary(self) -> Glossary:
        self._open()
        found = self._read(_unb64(self._catalog()["data_key"]), "glossary", "glossary")
        return Glossary.from_dict(found[0]) if found else Glossary()

    def save_glossary(self, g: Glossary) -> None:
        self.require(Action.GLOSSARY)
        key = _unb64(self._catalog()["data_key"])
        found = self._read(key, "glossary", "glossary")
        self._store.write_record(key, "glossary", _json(g.to_dict()), expected_version=found[1] if found else 0)
        self._audit("glossary_saved", terms=len(g.terms), keep=len(g.keep), sensitive=len(g.sensitive))

    # ---- shred

    def shred(self, case_code: str) -> None:
        """Consent withdrawn: destroy the testimony's key, then its data. Irreversible."""
        tid, entry = self._access(case_code, Action.SHRED)
        with self._catalog_change() as catalog:
            catalog["testimonies"].pop(tid, None)  # the key is gone once this write lands
        for kind in ("testimony", "recording-info", *("extra:" + n for n in entry.get("extras", []))):
            self._store.delete(_rid(tid, kind))
        self._store.delete(_rid(tid, "original"))
        self._audit("shred", case_code)

    # ---- verification and backup

    def verify(self) -> VerifyReport:
        """Walk the audit chain, every record and blob's authentication and every original's sha256."""
        self.require(Action.VERIFY)
        report = VerifyReport()
        report.problems.extend(f"Audit log: {p}" for p in self._log().verify())
        for path, slot in _slots(self.path).load_all():
            if slot is None:
                report.problems.append(f"Key slot {path.name}: damaged, cannot be read.")
            elif self._epoch not in slot.masters:
                report.problems.append(f"Key slot of {slot.user}: does not hold the vault's current key.")
        try:
            catalog = self._catalog()
        except WorkstationError as exc:
            report.problems.append(f"Catalog: {exc}")
            return report
        for problem in _store_problems(self._store):
            report.problems.append(problem)
        try:
            self.load_glossary()
        except WorkstationError as exc:
            report.problems.append(f"Glossary: {exc}")
        counts = {"testimonies": 0, "recordings": 0, "records": 0}
        for tid, entry in catalog["testimonies"].items():
            counts["testimonies"] += 1
            report.problems.extend(self._verify_testimony(tid, entry, counts))
        report.checked = counts
        self._audit("verified", problems=len(report.problems))
        return report

    def _verify_testimony(self, tid: str, entry: dict[str, Any], counts: dict[str, int]) -> list[str]:
        case, key, problems = entry["case"], self._key(entry), []
        for kind in ("testimony", "recording-info", *("extra:" + n for n in entry.get("extras", []))):
            counts["records"] += 1
            try:
                found = self._read(key, _rid(tid, kind), f"{kind} record of {case}")
                if found is None and kind == "testimony":
                    problems.append(f"Testimony {case}: its record is missing.")
            except WorkstationError as exc:
                problems.append(f"Testimony {case}: {exc}")
        try:
            info = self._recording_info(tid, entry)
        except WorkstationError:
            info = None
        if info is None:
            return problems
        counts["recordings"] += 1
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in self._iter_blob(tid, entry):
                digest.update(chunk)
                size += len(chunk)
        except WorkstationError as exc:
            problems.append(f"Testimony {case}: {exc}")
            return problems
        if digest.hexdigest() != info.sha256 or size != info.size:
            problems.append(
                f"Testimony {case}: the sealed recording does not match the sha256 recorded at intake "
                f"({info.sha256[:16]}…)."
            )
        return problems

    def backup(self, out: Path | str) -> Path:
        """Write one archive of the whole vault (already ciphertext) with an authenticated manifest."""
        self.require(Action.BACKUP)
        out = Path(out).expanduser()
        if out.is_dir():
            out = out / f"vault-backup-{time.strftime('%Y%m%d-%H%M%S')}.twbackup"
        if out.exists():
            raise VaultError(f"{out} already exists; choose a new file name for the backup.")
        if _inside(out, self.path):
            raise VaultError("Write the backup outside the vault folder (ideally to another disk).")
        self._audit("backup", archive=out.name if _SAFE_DETAIL.match(out.name) else None)
        with _vault_lock(self.path):
            files = _vault_files(self.path)
            manifest = {
                "format": BACKUP_FORMAT, "created": _now(), "by": self.user, "epoch": self._epoch,
                "audit_head": self._log().head(),
                "files": [{"path": rel, "size": size, "sha256": digest} for rel, size, digest in files],
            }
            raw = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
            mac = crypto.mac(_manifest_key(self._catalog()), raw).hex().encode()
            tmp = out.with_name(f".{out.name}.{os.urandom(6).hex()}.tmp")
            try:
                with open(tmp, "xb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
                    _add_bytes(tar, BACKUP_MANIFEST, raw)
                    _add_bytes(tar, BACKUP_MAC, mac)
                    for rel, size, _digest in files:
                        info = tarfile.TarInfo(rel)
                        info.size, info.mode, info.mtime = size, 0o600, int(time.time())
                        with open(self.path / rel, "rb") as src:
                            tar.addfile(info, src)
                    tar.close()
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, out)
                _fsync_dir(out.parent)
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
        return out


# --- helpers for update, verify, backup ----------------------------------------------------------


def _safe_detail(value: Any) -> bool:
    """Audit details must be content-free: numbers, booleans, or short id-like ASCII strings."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and bool(_SAFE_DETAIL.match(value))


def _actions_for_change(before: dict[str, Any], after: dict[str, Any]) -> list[Action]:
    """Which permissions a change needs, judged by what it changed (not by what the caller says it is)."""
    needed: list[Action] = []
    if before["owner"] != after["owner"]:
        needed.append(Action.MANAGE_USERS)
    if before["meta"] != after["meta"]:
        needed.append(Action.EDIT_METADATA)
    if before["approval"] != after["approval"] or Status.APPROVED in (before["status"], after["status"]) and before["status"] != after["status"]:
        needed.append(Action.APPROVE)
    if any(before[k] != after[k] for k in ("segments", "revisions", "speaker_names", "models")):
        needed.append(Action.EDIT)
    elif before["status"] != after["status"] and Action.APPROVE not in needed:
        needed.append(Action.PROCESS)
    return needed


def _store_problems(store: Store) -> list[str]:
    check = getattr(store, "verify", None)
    if check is None:
        return []
    try:
        return [f"Store: {p}" for p in check()]
    except TypeError:
        return []


def _manifest_key(catalog: dict[str, Any]) -> bytes:
    return crypto.derive_subkey(_unb64(catalog["audit_key"]), "backup-manifest")


def _mac_ok(catalog: dict[str, Any], manifest_raw: bytes, mac_hex: bytes) -> bool:
    try:
        return crypto.verify_mac(_manifest_key(catalog), manifest_raw, bytes.fromhex(mac_hex.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _vault_files(root: Path) -> list[tuple[str, int, str]]:
    """(relative path, size, sha256) of every file that belongs in a backup (no locks, temp files, counters)."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or path.name.startswith(".") or path.name in (LOCK_FILE, users.THROTTLE_FILE):
            continue
        if path.name.endswith((".tmp", ".lock")):
            continue
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        out.append((rel, size, digest.hexdigest()))
    return out


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


class BackupError(VaultError):
    """The backup archive is damaged, altered or not a backup."""


def restore(archive: Path | str, path: Path | str, *, user: str | None = None, passphrase: str | None = None) -> VerifyReport:
    """Bring a backup archive back into a new (missing or empty) folder, then verify it.

    Every file is checked against the manifest's sha256 while extracting (into a temporary sibling folder,
    renamed into place only when complete). With ``user`` and ``passphrase`` the manifest's authentication
    is checked too and the restored vault is fully verified (``VaultSession.verify``).
    """
    archive, root = Path(archive).expanduser(), Path(path).expanduser()
    if vault_exists(root) or (root.exists() and (not root.is_dir() or any(root.iterdir()))):
        raise VaultExistsError(f"{root} already exists and is not empty; restore into a new folder.")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".restore-{os.urandom(6).hex()}"
    try:
        manifest_raw, mac = _extract(archive, staging)
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
        _fsync_dir(root.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    report = VerifyReport(checked={"files": len(json.loads(manifest_raw)["files"])})
    if user is None or passphrase is None:
        return report
    session = unlock(root, user, passphrase)
    try:
        if not _mac_ok(session._catalog(), manifest_raw, mac):
            report.problems.append("Backup manifest: its authentication does not match (altered archive).")
        if session.role is Role.EDITOR:
            full = session.verify()
            report.problems.extend(full.problems)
            report.checked.update(full.checked)
    finally:
        session.lock()
    return report


def _extract(archive: Path, staging: Path) -> tuple[bytes, bytes]:
    damaged = BackupError(f"{archive} is not a complete Testimony Workstation backup (damaged, altered or another file).")
    try:
        tar = tarfile.open(archive, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise damaged from exc
    with tar:
        try:
            members = tar.getmembers()
            by_name = {m.name: m for m in members}
            manifest_raw = _member_bytes(tar, by_name[BACKUP_MANIFEST])
            mac = _member_bytes(tar, by_name[BACKUP_MAC])
            manifest = json.loads(manifest_raw)
            if manifest.get("format") != BACKUP_FORMAT:
                raise damaged
            listed = {f["path"]: f for f in manifest["files"]}
        except (KeyError, ValueError, TypeError, tarfile.TarError, OSError) as exc:
            raise damaged from exc
        if set(by_name) - {BACKUP_MANIFEST, BACKUP_MAC} != set(listed):
            raise BackupError(f"{archive}: the files in the archive differ from its manifest (altered archive).")
        staging.mkdir(mode=0o700)
        for rel, item in listed.items():
            member = by_name[rel]
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
            if digest.hexdigest() != item["sha256"]:
                raise BackupError(f"{archive}: the file {rel} does not match the manifest (damaged or altered).")
    return manifest_raw, mac


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        raise KeyError(member.name)
    return fh.read()
