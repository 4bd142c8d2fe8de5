"""Accounts, roles and key slots: who may open the vault, and what each role may do.

Roles and the permission matrix (DESIGN.md, enforced here in the library, not only in the UI)
------------------------------------------------------------------------------------------------
* interviewer — creates testimonies, uploads recordings, records consent and metadata, starts processing.
  **An interviewer reads only the testimonies they created** (``Testimony.owner``): every read of someone
  else's testimony is refused with :class:`PermissionDeniedError` (see :func:`can_read`).
* translator — reads every testimony, corrects transcript and translation, marks segments reviewed, keeps
  the glossary.
* editor — everything above, plus approve / un-approve, export, manage users, read the audit log, verify,
  back up, shred.

``require(role, action)`` is called by :mod:`workstation.vault.session` before every operation; the shells
hide what a role cannot do, but hiding is a convenience and this check is the protection.

Key slots (one file per user under ``slots/``)
---------------------------------------------
Removing a user must rotate the vault master key *without* knowing the remaining users' passphrases, and
whatever the removed user learnt before (the old master key, every file of the old vault) must not yield the
new one. A purely symmetric design cannot do both: anything the rotating editor can use to wrap the new key
for a colleague, a removed editor could have used too. So each slot holds an X25519 key pair:

* ``kek = Argon2id(passphrase, salt, params)`` (``crypto.derive_key``; memory ≥ 64 MiB);
* the slot's X25519 **private key** is sealed (AES-256-GCM, ``crypto.seal``) under ``kek``;
* the **master key** (random 256 bits) is sealed *to the slot's public key*: an ephemeral X25519 exchange,
  HKDF-SHA256, then ``crypto.seal``. Anyone holding the master key can wrap a new one for every remaining
  user from their public keys alone; only the passphrase opens the private key that unwraps it;
* the associated data of both seals is the slot's identity — format, user name, role, public key, salt and
  KDF parameters — so editing the role (or the name) in the file breaks the slot: it no longer opens;
* a key check value ``HMAC-SHA256(kek, "tw-slot-check")`` tells a wrong passphrase (the usual case, a calm
  message) apart from a slot that was altered or damaged (a different, alarming message). It adds nothing
  to an offline guesser: each guess costs one Argon2id either way.

Master keys carry an *epoch* id; a slot keeps the master key wrapped per epoch, which lets a rotation add
the new wrap to every slot before the single atomic switch of ``vault.json`` (see ``session.py``).

What this does not protect against: a user holds the master key while unlocked, so a technically skilled
insider could bypass the library with their own code and passphrase (or re-seal their own slot with another
role). Role checks defend against curious users of the software and against anyone without a passphrase;
rotation defends against a removed user.

Unlock throttling
-----------------
Failures are counted per user name in ``unlock-throttle.json`` at the vault root (plaintext, so it works
before any key is known; it holds only SHA-256 tags of the typed names, counters and times — no content, no
typed name). After :data:`FREE_ATTEMPTS` failures each further attempt must wait a delay that doubles (5 s,
10 s, 20 s … up to 15 minutes), also across restarts; during the wait even the right passphrase is refused
without being tried, so the delay cannot be used as an oracle. Failures are written to the audit log as
``unlock_failed`` entries at the next successful unlock (the log is authenticated with a key only an unlocked
vault has); a failure is recorded under the user's name only if that user exists, so a passphrase typed
into the name field never reaches any file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workstation.platform.errors import WorkstationError
from workstation.vault import crypto

SLOT_FORMAT = "tw-slot-1"
KEY_SIZE = 32


# --- errors ----------------------------------------------------------------------------------------


class PermissionDeniedError(WorkstationError):
    """The user's role does not allow this action."""


class WeakPassphraseError(WorkstationError):
    """The passphrase is too easy to guess."""


class UserNameError(WorkstationError):
    """A user name that cannot be used (empty, too long, odd characters, already taken)."""


class WrongPassphraseError(WorkstationError):
    """The passphrase does not open this user's key slot."""


class UnknownUserError(WorkstationError):
    """There is no account with this name in the vault."""


class SlotDamagedError(WorkstationError):
    """A key slot was altered (for example its role edited) or damaged."""


class ThrottledError(WorkstationError):
    """Too many failed unlocks: wait ``seconds`` before the next attempt."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


# --- roles and permissions -------------------------------------------------------------------------


class Role(StrEnum):
    INTERVIEWER = "interviewer"
    TRANSLATOR = "translator"
    EDITOR = "editor"


class Action(StrEnum):
    CREATE = "create_testimony"  # create a testimony, record consent and metadata
    INGEST = "ingest_recording"  # upload the original recording
    PROCESS = "process"  # start processing, store its result
    VIEW = "view"  # read a testimony (interviewers: only their own)
    EDIT_METADATA = "edit_metadata"  # change case metadata after creation (interviewers: only their own)
    EDIT = "edit_transcript"  # correct transcript / translation, re-translate, mark reviewed, split, merge
    GLOSSARY = "edit_glossary"
    APPROVE = "approve"  # approve and un-approve
    EXPORT = "export"
    MANAGE_USERS = "manage_users"
    AUDIT = "read_audit"
    VERIFY = "verify"
    BACKUP = "backup"
    SHRED = "shred"


_ALL = frozenset(Role)
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.CREATE: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.INGEST: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.PROCESS: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.VIEW: _ALL,
    Action.EDIT_METADATA: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.EDIT: frozenset({Role.TRANSLATOR, Role.EDITOR}),
    Action.GLOSSARY: frozenset({Role.TRANSLATOR, Role.EDITOR}),
    Action.APPROVE: frozenset({Role.EDITOR}),
    Action.EXPORT: frozenset({Role.EDITOR}),
    Action.MANAGE_USERS: frozenset({Role.EDITOR}),
    Action.AUDIT: frozenset({Role.EDITOR}),
    Action.VERIFY: frozenset({Role.EDITOR}),
    Action.BACKUP: frozenset({Role.EDITOR}),
    Action.SHRED: frozenset({Role.EDITOR}),
}

_WHAT = {
    Action.CREATE: "create testimonies",
    Action.INGEST: "upload recordings",
    Action.PROCESS: "start processing",
    Action.VIEW: "read testimonies",
    Action.EDIT_METADATA: "change case metadata",
    Action.EDIT: "edit transcripts or translations",
    Action.GLOSSARY: "change the glossary",
    Action.APPROVE: "approve or un-approve testimonies",
    Action.EXPORT: "export testimonies",
    Action.MANAGE_USERS: "manage user accounts",
    Action.AUDIT: "read the audit log",
    Action.VERIFY: "verify the vault",
    Action.BACKUP: "back up the vault",
    Action.SHRED: "shred testimonies",
}

# Actions an interviewer may take only on testimonies they created.
OWNER_ONLY_FOR_INTERVIEWER = frozenset({Action.VIEW, Action.EDIT_METADATA, Action.INGEST, Action.PROCESS})


def parse_role(value: str | Role) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise WorkstationError(
            f"Unknown role {value!r}: choose interviewer, translator or editor."
        ) from None


def can(role: str | Role, action: Action) -> bool:
    return parse_role(role) in PERMISSIONS[Action(action)]


def require(role: str | Role, action: Action) -> None:
    """Raise :class:`PermissionDeniedError` unless ``role`` may take ``action``."""
    if not can(role, action):
        allowed = " or ".join(sorted(r.value for r in PERMISSIONS[Action(action)]))
        raise PermissionDeniedError(
            f"Your role ({parse_role(role).value}) may not {_WHAT[Action(action)]}; "
            f"only an {allowed} can. Ask an editor if you need this done."
        )


def can_access(role: str | Role, user: str, owner: str, action: Action = Action.VIEW) -> bool:
    """May ``user`` with ``role`` take ``action`` on a testimony created by ``owner``?"""
    if not can(role, action):
        return False
    if parse_role(role) is Role.INTERVIEWER and Action(action) in OWNER_ONLY_FOR_INTERVIEWER:
        return user == owner
    return True


def can_read(role: str | Role, user: str, owner: str) -> bool:
    return can_access(role, user, owner, Action.VIEW)


def require_access(role: str | Role, user: str, owner: str, action: Action, case_code: str) -> None:
    require(role, action)
    if not can_access(role, user, owner, action):
        raise PermissionDeniedError(
            f"Testimony {case_code} was created by another interviewer; interviewers can only open "
            "the testimonies they created. Ask an editor if you need access."
        )


# --- names and passphrases -------------------------------------------------------------------------

MIN_PASSPHRASE = 12
_NAME_RE = re.compile(r"^[\w][\w.\- ]{0,62}$")
_COMMON = {
    "password", "passphrase", "qwerty", "letmein", "welcome", "iloveyou", "admin", "administrator",
    "monkey", "dragon", "football", "baseball", "sunshine", "princess", "trustno1", "testimony",
    "workstation", "secret", "changeme", "parol", "пароль", "qwertyuiop", "asdfghjkl", "abcdef",
    "123456", "12345678", "1234567890", "111111", "000000",
}
_ADVICE = "Use 4 or more random words, e.g. 'lamp orbit cedar violin' (written down somewhere safe at first)."


def check_user_name(name: str) -> str:
    """Return the cleaned user name or raise :class:`UserNameError`."""
    clean = unicodedata.normalize("NFC", name.strip())
    if not _NAME_RE.match(clean):
        raise UserNameError(
            "A user name is 1 to 63 letters, digits, spaces, dots, dashes or underscores, starting with a "
            "letter or digit. A pseudonym or initials are best: user names are visible in the vault folder."
        )
    return clean


def check_passphrase(passphrase: str, *, user: str = "") -> None:
    """Refuse passphrases that are short, one-class, repetitive or common; the message says what to do."""
    p = unicodedata.normalize("NFC", passphrase)
    if len(p) < MIN_PASSPHRASE:
        raise WeakPassphraseError(
            f"That passphrase is too short ({len(p)} characters; at least {MIN_PASSPHRASE} are needed). {_ADVICE}"
        )
    squashed = re.sub(r"[\s\W_]+", "", p.lower())
    if len(set(p)) < 5 or len(set(squashed)) < 4:
        raise WeakPassphraseError(f"That passphrase repeats the same few characters. {_ADVICE}")
    if squashed.isdigit():
        raise WeakPassphraseError(f"A passphrase made only of digits is easy to guess. {_ADVICE}")
    words = [w for w in re.split(r"[\s\W_\d]+", p.lower()) if w]
    common = squashed in _COMMON or bool(words) and all(w in _COMMON for w in words)
    if common or (user and squashed.startswith(re.sub(r"\W+", "", user.lower())) and len(words) < 3):
        raise WeakPassphraseError(f"That passphrase is a common word or based on the user name. {_ADVICE}")
    classes = sum(
        bool(re.search(rx, p)) for rx in (r"[a-zа-яё]", r"[A-ZА-ЯЁ]", r"\d", r"[^\w]|_")
    )
    if classes < 2 and len(words) < 3 and len(p) < 20:
        raise WeakPassphraseError(
            f"That passphrase is a single run of one kind of character. {_ADVICE} "
            "Mixing words with spaces or digits also works."
        )


# --- key slots --------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class KeySlot:
    """One user's key slot, stored as JSON. Name and role are plaintext but authenticated (see module doc)."""

    user: str
    role: Role
    salt: bytes
    kdf: dict[str, Any]  # KdfParams as a dict
    public_key: bytes  # X25519, raw 32 bytes
    private_key: bytes  # sealed under the passphrase key
    check: bytes  # HMAC(kek, "tw-slot-check")
    masters: dict[str, bytes] = field(default_factory=dict)  # epoch -> master key sealed to public_key
    created: str = ""

    def aad(self) -> bytes:
        identity = {
            "format": SLOT_FORMAT, "user": self.user, "role": str(self.role), "public_key": _b64(self.public_key),
            "salt": _b64(self.salt), "kdf": self.kdf,
        }
        return json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_bytes(self) -> bytes:
        data = {
            "format": SLOT_FORMAT, "user": self.user, "role": str(self.role), "salt": _b64(self.salt),
            "kdf": self.kdf, "public_key": _b64(self.public_key), "private_key": _b64(self.private_key),
            "check": _b64(self.check), "masters": {e: _b64(w) for e, w in self.masters.items()},
            "created": self.created,
        }
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes, *, where: str = "a key slot") -> KeySlot:
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") != SLOT_FORMAT:
                raise ValueError("format")
            return cls(
                user=str(data["user"]), role=Role(data["role"]), salt=_unb64(data["salt"]), kdf=dict(data["kdf"]),
                public_key=_unb64(data["public_key"]), private_key=_unb64(data["private_key"]),
                check=_unb64(data["check"]), masters={str(e): _unb64(w) for e, w in data["masters"].items()},
                created=str(data.get("created", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            raise SlotDamagedError(
                f"{where} is damaged and cannot be read. That account cannot unlock until an editor removes "
                "and re-creates it; the rest of the vault is unaffected."
            ) from exc


def kdf_to_dict(params: crypto.KdfParams) -> dict[str, Any]:
    return asdict(params)


def kdf_from_dict(data: dict[str, Any]) -> crypto.KdfParams:
    return crypto.KdfParams(**data)


def _check_value(kek: bytes) -> bytes:
    return crypto.mac(kek, b"tw-slot-check")


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _kem_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=b"tw-slot-master" + ephemeral + recipient).derive(shared)


def _wrap_master(slot: KeySlot, epoch: str, master_key: bytes) -> bytes:
    """Seal the master key to the slot's public key (ephemeral-static X25519 + HKDF + AES-256-GCM)."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = _raw_public(ephemeral.public_key())
    key = _kem_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(slot.public_key)), eph_pub, slot.public_key)
    return eph_pub + crypto.seal(key, master_key, aad=slot.aad() + b"|epoch:" + epoch.encode())


def unwrap_master(slot: KeySlot, epoch: str, private: X25519PrivateKey) -> bytes:
    wrapped = slot.masters.get(epoch)
    if wrapped is None or len(wrapped) <= 32:
        raise SlotDamagedError(
            f"The key slot of {slot.user} does not hold the vault's current key (it may be left over from an "
            "interrupted change or restored from an old copy). An editor can remove and re-add this account."
        )
    eph_pub, sealed = wrapped[:32], wrapped[32:]
    key = _kem_key(private.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, slot.public_key)
    return crypto.unseal(key, sealed, aad=slot.aad() + b"|epoch:" + epoch.encode())


def damaged_error(slot: KeySlot) -> SlotDamagedError:
    return SlotDamagedError(
        f"The key slot of {slot.user} has been altered (for example its role was edited) or damaged, so it "
        "no longer opens. Nothing was changed. An editor can remove and re-add this account; report the "
        "alteration, it may mean someone tampered with the vault."
    )


def new_slot(
    user: str, role: Role, passphrase: str, params: crypto.KdfParams, epoch: str, master_key: bytes
) -> tuple[KeySlot, X25519PrivateKey]:
    """A new slot for ``user`` holding ``master_key`` for ``epoch``, and its private key (kept by the session)."""
    private = X25519PrivateKey.generate()
    salt = os.urandom(16)
    kek = crypto.derive_key(passphrase, salt, params)
    slot = KeySlot(user=user, role=parse_role(role), salt=salt, kdf=kdf_to_dict(params),
                   public_key=_raw_public(private.public_key()), private_key=b"", check=_check_value(kek),
                   created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    slot.private_key = crypto.seal(kek, _raw_private(private), aad=slot.aad())
    slot.masters[epoch] = _wrap_master(slot, epoch, master_key)
    return slot, private


def open_private(slot: KeySlot, passphrase: str) -> X25519PrivateKey:
    """Derive the passphrase key and open the slot's private key; wrong passphrase vs altered slot told apart."""
    try:
        kek = crypto.derive_key(passphrase, slot.salt, kdf_from_dict(slot.kdf))
    except (TypeError, ValueError, crypto.CryptoError) as exc:
        raise damaged_error(slot) from exc
    if not crypto.verify_mac(kek, b"tw-slot-check", slot.check):
        raise WrongPassphraseError(
            f"That passphrase does not open the account {slot.user}. Check the keyboard layout and Caps Lock "
            "and try again; repeated failures make you wait longer."
        )
    try:
        return X25519PrivateKey.from_private_bytes(crypto.unseal(kek, slot.private_key, aad=slot.aad()))
    except (crypto.CryptoError, ValueError) as exc:
        raise damaged_error(slot) from exc


def open_slot(slot: KeySlot, passphrase: str, epoch: str) -> bytes:
    """The master key of ``epoch`` from ``slot``; raises WrongPassphraseError or SlotDamagedError."""
    private = open_private(slot, passphrase)
    try:
        return unwrap_master(slot, epoch, private)
    except (crypto.CryptoError, ValueError) as exc:
        raise damaged_error(slot) from exc


def add_master(slot: KeySlot, epoch: str, master_key: bytes) -> None:
    """Give the slot a new master key (rotation): needs only the slot's public key, no passphrase."""
    slot.masters[epoch] = _wrap_master(slot, epoch, master_key)


def rekey_slot(slot: KeySlot, old_passphrase: str, new_passphrase: str, params: crypto.KdfParams) -> KeySlot:
    """The same account and key pair under a new passphrase (a fresh salt; every master wrap re-sealed)."""
    private = open_private(slot, old_passphrase)
    masters = {e: unwrap_master(slot, e, private) for e in slot.masters}
    salt = os.urandom(16)
    kek = crypto.derive_key(new_passphrase, salt, params)
    fresh = KeySlot(user=slot.user, role=slot.role, salt=salt, kdf=kdf_to_dict(params), public_key=slot.public_key,
                    private_key=b"", check=_check_value(kek), created=slot.created)
    fresh.private_key = crypto.seal(kek, _raw_private(private), aad=fresh.aad())
    for epoch, key in masters.items():
        add_master(fresh, epoch, key)
    return fresh


# --- the slot files ---------------------------------------------------------------------------------


class SlotFiles:
    """``slots/<random id>.slot``: one JSON file per user, written atomically."""

    def __init__(self, root: Path, write_atomic: Any) -> None:
        self.dir = Path(root) / "slots"
        self._write = write_atomic  # callable(path, data) that writes atomically (tmp, fsync, rename, fsync dir)

    def _paths(self) -> list[Path]:
        return sorted(self.dir.glob("*.slot")) if self.dir.is_dir() else []

    def load_all(self) -> list[tuple[Path, KeySlot | None]]:
        """Every slot file; a damaged one is returned as ``None`` so the others still work."""
        out: list[tuple[Path, KeySlot | None]] = []
        for path in self._paths():
            try:
                out.append((path, KeySlot.from_bytes(path.read_bytes(), where=f"Key slot {path.name}")))
            except (SlotDamagedError, OSError):
                out.append((path, None))
        return out

    def find(self, user: str) -> tuple[Path, KeySlot]:
        slots = self.load_all()
        for path, slot in slots:
            if slot is not None and slot.user == user:
                return path, slot
        damaged = sum(1 for _p, s in slots if s is None)
        raise UnknownUserError(
            f"There is no account named {user!r} in this vault. User names are case-sensitive; an editor can "
            "list the accounts with 'workstation users list'."
            + (f" Note: {damaged} key slot file(s) in the vault are damaged; if this is your account, an editor "
               "must re-create it ('workstation verify' names the file)." if damaged else "")
        )

    def users(self) -> list[KeySlot]:
        return [s for _p, s in self.load_all() if s is not None]

    def save(self, slot: KeySlot, path: Path | None = None) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = path or self.dir / f"{os.urandom(12).hex()}.slot"
        self._write(path, slot.to_bytes())
        return path


# --- throttling -------------------------------------------------------------------------------------

FREE_ATTEMPTS = 3
BASE_DELAY_S = 5.0
MAX_DELAY_S = 15 * 60.0
THROTTLE_FILE = "unlock-throttle.json"


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failures (0 for the first few)."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (failures - FREE_ATTEMPTS))


def _tag(user: str) -> str:
    return hashlib.sha256(("tw-user:" + user).encode("utf-8")).hexdigest()[:24]


class Throttle:
    """Failure counters persisted in a plaintext file that holds no content (see module docstring)."""

    def __init__(self, root: Path, write_atomic: Any) -> None:
        self.path = Path(root) / THROTTLE_FILE
        self._write = write_atomic

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if isinstance(data, dict) and isinstance(data.get("users"), dict) and isinstance(data.get("pending"), list):
                return data
        except (OSError, ValueError):
            pass
        return {"users": {}, "pending": []}

    def _save(self, data: dict[str, Any]) -> None:
        self._write(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def check(self, user: str, now: float | None = None) -> None:
        """Raise :class:`ThrottledError` while ``user`` must still wait."""
        entry = self._load()["users"].get(_tag(user))
        if not entry:
            return
        now = time.time() if now is None else now
        wait = float(entry.get("last", 0)) + delay_after(int(entry.get("failures", 0))) - now
        if wait > 0:
            raise ThrottledError(
                f"Too many wrong passphrases for this account. Wait {int(wait) + 1} seconds before trying "
                "again (the wait grows with each failure; it is not reset by restarting).",
                seconds=wait,
            )

    def failure(self, user: str, known: bool) -> None:
        data = self._load()
        entry = data["users"].setdefault(_tag(user), {"failures": 0, "last": 0})
        entry["failures"] = int(entry.get("failures", 0)) + 1
        entry["last"] = time.time()
        data["pending"].append({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user": user if known else ""})
        data["pending"] = data["pending"][-1000:]  # bounded: a scripted attack cannot fill the disk
        self._save(data)

    def success(self, user: str) -> list[dict[str, str]]:
        """Reset the user's counter; return (and forget) the failures waiting to be written to the audit log."""
        data = self._load()
        pending = list(data["pending"])
        if not pending and _tag(user) not in data["users"]:
            return []
        data["users"].pop(_tag(user), None)
        data["pending"] = []
        self._save(data)
        return pending

    def pending(self) -> Iterable[dict[str, str]]:
        return list(self._load()["pending"])
