"""Accounts: user names, passphrase rules and key slots (one file per user under ``slots/``).

Key slots
---------
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

Format 2 (``tw-slot-2``) adds an Ed25519 signing key pair, sealed under the same ``kek`` (so unlock still costs one
Argon2id), and pins the account list's root editor in the slot's associated data (``signing.py``). Testimony keys
are then wrapped to readers' X25519 keys (:func:`wrap_to`), not held in the catalog. What still holds only by the
library is listed in docs/VAULT-FORMAT.md, "What format 2 as built still does not give"; a format-1 slot gives
every unlocked user the master key and hence every key (role checks by the library only).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from workstation.platform.errors import WorkstationError
from workstation.vault import crypto, signing
from workstation.vault.permissions import Role, parse_role

SLOT_FORMAT = "tw-slot-2"  # format 2: adds the Ed25519 signing key pair and the pinned account-list root
SLOT_FORMAT_1 = "tw-slot-1"  # still read: no signing key, no root (signatures are not checked for it)
KEY_SIZE = 32
SLOTS_DIR = "slots"

# callable(path, data) that writes atomically (tmp, fsync, rename, fsync dir)
WriteAtomic = Callable[[Path, bytes], None]


# --- errors ----------------------------------------------------------------------------------------


class WeakPassphraseError(WorkstationError):
    """The passphrase is too easy to guess; ``suggestion`` is a generated passphrase the message offers."""

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.suggestion = suggestion


class UserNameError(WorkstationError):
    """A user name that cannot be used (empty, too long, odd characters, already taken)."""


class WrongPassphraseError(WorkstationError):
    """The passphrase does not open this user's key slot."""


class UnknownUserError(WorkstationError):
    """There is no account with this name in the vault."""


class SlotDamagedError(WorkstationError):
    """A key slot was altered (for example its role edited) or damaged."""


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


# Look-alike letters folded onto the Latin letter they imitate (a TR39-style skeleton, for the scripts a
# Russian-language team types: Cyrillic and Greek). NFKC first folds full-width and compatibility forms.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ɡ": "g", "ı": "i", "ℓ": "l",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ς": "c", "σ": "o", "γ": "y", "μ": "u", "ϲ": "c", "ϳ": "j",
    "0": "o", "1": "l", "|": "l", "_": "-", ".": "-", " ": "-",
})


def skeleton(name: str) -> str:
    """The shape of a name as a reader sees it: NFKC, case-folded, look-alikes mapped to Latin (TR39-style).

    Two names with the same skeleton can be told apart by a program but not by a person reading a list, so
    :func:`check_user_name` refuses a new name whose skeleton equals an existing account's."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    mapped = unicodedata.normalize("NFKC", folded).translate(_CONFUSABLES)
    return "".join(ch for ch in mapped if not unicodedata.combining(ch)).replace("rn", "m").replace("vv", "w")


def _script(ch: str) -> str | None:
    """LATIN, CYRILLIC, GREEK, … for a letter (its Unicode name's first word); None for digits and marks."""
    if not ch.isalpha():
        return None
    try:
        return unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return "UNKNOWN"


def _mixed_script_token(name: str) -> str | None:
    for token in re.split(r"[\s.\-_\d]+", name):
        scripts = {sc for sc in map(_script, token) if sc}
        if len(scripts) > 1:
            return token
    return None


def check_user_name(name: str, existing: Iterable[str] = ()) -> str:
    """Return the cleaned user name or raise :class:`UserNameError`.

    Refused besides odd characters: a word mixing scripts (Latin ``p`` + Cyrillic ``а`` …), and a name a
    reader cannot tell apart from one in ``existing`` (same :func:`skeleton`: ``еdna`` with a Cyrillic е,
    ``EDNA``, full-width ``ｅｄｎａ`` next to ``edna``)."""
    clean = unicodedata.normalize("NFC", name.strip())
    if not _NAME_RE.match(clean):
        raise UserNameError(
            "A user name is 1 to 63 letters, digits, spaces, dots, dashes or underscores, starting with a "
            "letter or digit. A pseudonym or initials are best: user names are visible in the vault folder."
        )
    mixed = _mixed_script_token(unicodedata.normalize("NFKC", clean))
    if mixed is not None:
        raise UserNameError(
            f"The user name {clean!r} mixes alphabets within one word ({mixed!r}: e.g. Latin and Cyrillic "
            "letters), so it can look like another name. Type it in one alphabet."
        )
    shape = skeleton(clean)
    for other in existing:
        if skeleton(other) == shape:
            raise UserNameError(
                f"The user name {clean!r} looks the same as the existing account {other!r} (letters from another "
                "alphabet, case or width differ). Choose a clearly different name."
            )
    return clean


MIN_GUESSES_LOG10 = 10.0  # zxcvbn's estimate: ≥ 10^10 guesses (an offline guesser at Argon2id speed: centuries)
GENERATED_WORDS = 5


def generate_passphrase(words: int = GENERATED_WORDS) -> str:
    """``words`` random words (CSPRNG) from zxcvbn's bundled English word-frequency list (common, typeable).

    With ~20 000 candidate words, 5 words give about 71 bits."""
    pool = [w for w in FREQUENCY_LISTS["english_wikipedia"] if 4 <= len(w) <= 8 and w.isascii() and w.isalpha()]
    return " ".join(secrets.choice(pool) for _ in range(words))


def offered_passphrase(message: str) -> str | None:
    """The generated passphrase a :class:`WeakPassphraseError` message offers (between the quotes)."""
    match = re.search(r"for example: '([^']+)'", message)
    return match.group(1) if match else None


def _weak(reason: str) -> WeakPassphraseError:
    offer = generate_passphrase()
    return WeakPassphraseError(f"{reason} {_ADVICE} Or use this generated one, for example: '{offer}'.", offer)


def check_passphrase(passphrase: str, *, user: str = "") -> None:
    """Refuse passphrases that are short, repetitive, common or guessable; the message says what to do and
    offers a generated passphrase (:func:`generate_passphrase`).

    The strength estimate is zxcvbn's (dictionaries, names, dates, keyboard patterns, l33t): fewer than
    10^:data:`MIN_GUESSES_LOG10` estimated guesses is refused (``Summer2024!!`` ≈ 10^8.4, ``Chechnya2019``
    ≈ 10^6.4; four random words ≈ 10^16 or more)."""
    p = unicodedata.normalize("NFC", passphrase)
    if len(p) < MIN_PASSPHRASE:
        raise _weak(f"That passphrase is too short ({len(p)} characters; at least {MIN_PASSPHRASE} are needed).")
    squashed = re.sub(r"[\s\W_]+", "", p.lower())
    if len(set(p)) < 5 or len(set(squashed)) < 4:
        raise _weak("That passphrase repeats the same few characters.")
    if squashed.isdigit():
        raise _weak("A passphrase made only of digits is easy to guess.")
    words = [w for w in re.split(r"[\s\W_\d]+", p.lower()) if w]
    common = squashed in _COMMON or bool(words) and all(w in _COMMON for w in words)
    if common or (user and squashed.startswith(re.sub(r"\W+", "", user.lower())) and len(words) < 3):
        raise _weak("That passphrase is a common word or based on the user name.")
    estimate = zxcvbn(p[:100], user_inputs=[user] if user else [])
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        raise _weak("That passphrase follows a pattern that guessing programs try early (a word with a year, "
                    "digits or symbols, a name, a keyboard run).")


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
    sign_public: bytes = b""  # Ed25519, raw 32 bytes (format 2; empty in a format-1 slot)
    sign_private: bytes = b""  # sealed under the passphrase key (aad: aad() + "|ed25519")
    root_user: str = ""  # the account list's root editor and their Ed25519 key, pinned here (format 2)
    root_key: bytes = b""

    @property
    def format(self) -> str:
        return SLOT_FORMAT if self.sign_public else SLOT_FORMAT_1

    @property
    def root(self) -> tuple[str, bytes] | None:
        """(name, Ed25519 key) of the editor the account list is rooted in; None for a format-1 slot."""
        return (self.root_user, self.root_key) if self.sign_public and self.root_key else None

    def aad(self) -> bytes:
        identity: dict[str, Any] = {
            "format": self.format, "user": self.user, "role": str(self.role), "public_key": _b64(self.public_key),
            "salt": _b64(self.salt), "kdf": self.kdf,
        }
        if self.sign_public:  # format 2: the signing key and the pinned root are authenticated too
            identity.update(ed25519=_b64(self.sign_public), root_user=self.root_user, root_key=_b64(self.root_key))
        return json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "format": self.format, "user": self.user, "role": str(self.role), "salt": _b64(self.salt),
            "kdf": self.kdf, "public_key": _b64(self.public_key), "private_key": _b64(self.private_key),
            "check": _b64(self.check), "masters": {e: _b64(w) for e, w in self.masters.items()},
            "created": self.created,
        }
        if self.sign_public:
            data.update(ed25519=_b64(self.sign_public), sign_private=_b64(self.sign_private),
                        root_user=self.root_user, root_key=_b64(self.root_key))
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes, *, where: str = "a key slot") -> KeySlot:
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") not in (SLOT_FORMAT, SLOT_FORMAT_1):
                raise ValueError("format")
            two = data["format"] == SLOT_FORMAT
            slot = cls(
                user=str(data["user"]), role=Role(data["role"]), salt=_unb64(data["salt"]), kdf=dict(data["kdf"]),
                public_key=_unb64(data["public_key"]), private_key=_unb64(data["private_key"]),
                check=_unb64(data["check"]), masters={str(e): _unb64(w) for e, w in data["masters"].items()},
                created=str(data.get("created", "")),
                sign_public=_unb64(data["ed25519"]) if two else b"",
                sign_private=_unb64(data["sign_private"]) if two else b"",
                root_user=str(data["root_user"]) if two else "", root_key=_unb64(data["root_key"]) if two else b"",
            )
            if two and (len(slot.sign_public) != 32 or len(slot.root_key) not in (0, 32)):
                raise ValueError("signing key")
            return slot
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


def raw_x25519_public(private: X25519PrivateKey) -> bytes:
    return _raw_public(private.public_key())


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


def wrap_to(public: bytes, key: bytes, aad: bytes) -> bytes:
    """Seal ``key`` to an X25519 public key (ephemeral-static X25519 + HKDF + AES-256-GCM, as the master wrap;
    a distinct HKDF label): how a testimony key is given to each of its readers (vault format 2)."""
    ephemeral = X25519PrivateKey.generate()
    eph_pub = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    return eph_pub + crypto.seal(_recipient_key(shared, eph_pub, public), key, aad=b"tw-recipient|" + aad)


def unwrap_from(private: X25519PrivateKey, wrapped: bytes, aad: bytes) -> bytes:
    """The key :func:`wrap_to` sealed to ``private``'s public key (``crypto.CryptoError`` if it was not)."""
    if len(wrapped) <= 32:
        raise crypto.AuthenticationError("a wrapped key is too short")
    eph_pub, sealed = wrapped[:32], wrapped[32:]
    public = _raw_public(private.public_key())
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    return crypto.unseal(_recipient_key(shared, eph_pub, public), sealed, aad=b"tw-recipient|" + aad)


def _recipient_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None,
                info=b"tw-recipient-key" + ephemeral + recipient).derive(shared)


def damaged_error(slot: KeySlot) -> SlotDamagedError:
    return SlotDamagedError(
        f"The key slot of {slot.user} has been altered (for example its role was edited) or damaged, so it "
        "no longer opens. Nothing was changed. An editor can remove and re-add this account; report the "
        "alteration, it may mean someone tampered with the vault."
    )


@dataclass
class SlotKeys:
    """The private halves a passphrase opens: X25519 (decryption) and, in a format-2 slot, Ed25519 (signing)."""

    x25519: X25519PrivateKey
    ed25519: Ed25519PrivateKey | None
    kek: bytes = b""  # the passphrase key, kept only during unlock (it converts a format-1 slot without re-deriving)


_SIGN_AAD = b"|ed25519"
NO_ROOT = ("", b"")  # a format-2 slot added to a format-1 vault: no account-list root to pin (yet)


def _seal_keys(slot: KeySlot, kek: bytes, keys: SlotKeys) -> None:
    slot.private_key = crypto.seal(kek, _raw_private(keys.x25519), aad=slot.aad())
    if keys.ed25519 is not None:
        slot.sign_private = crypto.seal(kek, signing.raw_private(keys.ed25519), aad=slot.aad() + _SIGN_AAD)


def new_slot(
    user: str, role: Role, passphrase: str, params: crypto.KdfParams, epoch: str, master_key: bytes,
    root: tuple[str, bytes] | None = None,
) -> tuple[KeySlot, SlotKeys]:
    """A new (format-2) slot for ``user`` holding ``master_key`` for ``epoch``, and its private keys (kept by the
    session). ``root``: the account list's root editor (name, Ed25519 key); None makes this account the root
    (the first editor of a new vault). One Argon2id derivation, as before."""
    keys = SlotKeys(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())
    assert keys.ed25519 is not None
    sign_public = signing.raw_public(keys.ed25519)
    root_user, root_key = root if root is not None else (user, sign_public)
    salt = os.urandom(16)
    kek = crypto.derive_key(passphrase, salt, params)
    slot = KeySlot(user=user, role=parse_role(role), salt=salt, kdf=kdf_to_dict(params),
                   public_key=_raw_public(keys.x25519.public_key()), private_key=b"", check=_check_value(kek),
                   created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   sign_public=sign_public, root_user=root_user, root_key=root_key)
    _seal_keys(slot, kek, keys)
    slot.masters[epoch] = _wrap_master(slot, epoch, master_key)
    return slot, keys


def upgrade_slot(slot: KeySlot, keys: SlotKeys, epoch: str, master_key: bytes,
                 root: tuple[str, bytes] | None) -> tuple[KeySlot, Ed25519PrivateKey]:
    """A format-1 slot as a format-2 one: the same X25519 key pair, passphrase key and salt, a new Ed25519 key
    pair, the account list's root pinned (None: this account is the root), the current master key re-wrapped
    (the slot's authenticated data changed). Needs ``keys.kek`` (from :func:`open_keys`): no extra Argon2id."""
    if not keys.kek:
        raise ValueError("upgrade_slot needs the passphrase key of an opened slot")
    ed25519 = Ed25519PrivateKey.generate()
    sign_public = signing.raw_public(ed25519)
    root_user, root_key = root if root is not None else (slot.user, sign_public)
    fresh = KeySlot(user=slot.user, role=slot.role, salt=slot.salt, kdf=slot.kdf, public_key=slot.public_key,
                    private_key=b"", check=slot.check, created=slot.created, sign_public=sign_public,
                    root_user=root_user, root_key=root_key)
    _seal_keys(fresh, keys.kek, SlotKeys(keys.x25519, ed25519))
    add_master(fresh, epoch, master_key)
    return fresh, ed25519


def open_private(slot: KeySlot, passphrase: str) -> X25519PrivateKey:
    """The slot's X25519 private key (see :func:`open_keys`)."""
    return open_keys(slot, passphrase).x25519


def open_keys(slot: KeySlot, passphrase: str) -> SlotKeys:
    """Derive the passphrase key (once) and open the slot's private keys; wrong passphrase vs altered slot told
    apart."""
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
        x25519 = X25519PrivateKey.from_private_bytes(crypto.unseal(kek, slot.private_key, aad=slot.aad()))
        ed25519 = None
        if slot.sign_public:
            raw = crypto.unseal(kek, slot.sign_private, aad=slot.aad() + _SIGN_AAD)
            ed25519 = Ed25519PrivateKey.from_private_bytes(raw)
            if signing.raw_public(ed25519) != slot.sign_public:
                raise ValueError("the signing key does not match its public half")
        return SlotKeys(x25519, ed25519, kek)
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
    keys = open_keys(slot, old_passphrase)
    masters = {e: unwrap_master(slot, e, keys.x25519) for e in slot.masters}
    salt = os.urandom(16)
    kek = crypto.derive_key(new_passphrase, salt, params)
    fresh = KeySlot(user=slot.user, role=slot.role, salt=salt, kdf=kdf_to_dict(params), public_key=slot.public_key,
                    private_key=b"", check=_check_value(kek), created=slot.created, sign_public=slot.sign_public,
                    root_user=slot.root_user, root_key=slot.root_key)
    _seal_keys(fresh, kek, keys)
    for epoch, key in masters.items():
        add_master(fresh, epoch, key)
    return fresh


# --- the slot files ---------------------------------------------------------------------------------


class SlotFiles:
    """``slots/<random id>.slot``: one JSON file per user, written atomically."""

    def __init__(self, root: Path, write_atomic: WriteAtomic) -> None:
        self.dir = Path(root) / SLOTS_DIR
        self._write = write_atomic

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
        raise self._unknown(user, slots)

    def find_all(self, user: str) -> list[KeySlot]:
        """Every readable slot of that name (normally one; more only if a file was planted or left over)."""
        slots = self.load_all()
        found = [slot for _path, slot in slots if slot is not None and slot.user == user]
        if not found:
            raise self._unknown(user, slots)
        return found

    @staticmethod
    def _unknown(user: str, slots: list[tuple[Path, KeySlot | None]]) -> UnknownUserError:
        damaged = sum(1 for _p, s in slots if s is None)
        return UnknownUserError(
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

