"""The catalog and the master-key epochs.

Keys
----
* master key ``M`` (random 256 bits, one per epoch) encrypts only the **catalog** record ``catalog-<epoch>``;
* the catalog holds the vault data key (glossary), the audit key, and for each testimony a random id, its
  case code, owner, creation time, the names of its extra records and its **own random data key**
  (``records.py`` reads what that key opens).

Removing a user rotates the master key (:meth:`Catalog.rotate`): a new epoch and key, the catalog re-encrypted
under it, the new key sealed to every remaining user's public key (no passphrase needed), then ``vault.json``
switches epoch in one atomic rename; the old catalog and the old wraps are deleted afterwards. A crash before
the switch leaves the old epoch working; after it, the new one. The removed user's slot is deleted first, and
even a saved copy of it only yields the old master key, which opens nothing any more. Other open sessions
notice the new epoch (:meth:`Catalog.follow_epoch`) and unwrap the new key with the private key they hold in
memory, so nobody has to unlock again.

Catalog changes (create, shred, new extra names, rotation) are serialised by the vault lock file and written
with compare-and-swap on the store version.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from workstation.platform.hardening import lock_in_memory
from workstation.vault import accounts, crypto, signing
from workstation.vault.accounts import KeySlot, SlotDamagedError
from workstation.vault.audit import AuditEntry, AuditLog
from workstation.vault.errors import IntegrityError, NotFoundError, VaultLockedError
from workstation.vault.layout import (
    b64,
    fsync_folder,
    read_vault_file,
    slot_files,
    to_json,
    unb64,
    vault_lock,
    write_vault_file,
)
from workstation.vault.permissions import PermissionDeniedError
from workstation.vault.records import Entry, Retired, entry_key
from workstation.vault.store import Store, StoreRootError

CatalogData = dict[str, Any]  # {"data_key": b64, "audit_key": b64, "testimonies": {tid: Entry}}


def _record_id(epoch: str) -> str:
    return f"catalog-{epoch}"


def create_catalog(store: Store, master: bytes, epoch: str, first: KeySlot, signer: Ed25519PrivateKey) -> None:
    """The first catalog of a new vault: fresh data and audit keys, no testimonies, one account (its
    certificate self-signed: the root of the account list), and the store root switched on (the index is
    authenticated from its first write)."""
    audit_key = os.urandom(32)
    catalog = {"data_key": b64(os.urandom(32)), "audit_key": b64(audit_key), "testimonies": {},
               "store_root": True, "accounts": {first.user: certified_entry(first, first.user, signer)},
               "root": {"user": first.user, "ed25519": b64(first.sign_public)},  # format 2 (slots pin it too)
               "signed_records": True}  # every record signed by its writer (VaultSession._records_signed)
    store.set_root_key(audit_key, required=True)
    store.write_record(master, _record_id(epoch), to_json(catalog), expected_version=0)


_IDENTITY = ("role", "public_key", "ed25519")


def account_entry(slot: KeySlot) -> dict[str, str]:
    """What the account list (inside the catalog, under the master key) records of one account; a format-2
    slot's entry adds its Ed25519 key (and, via :func:`certified_entry`, the signer and signature)."""
    entry = {"role": str(slot.role), "public_key": b64(slot.public_key)}
    if slot.sign_public:
        entry["ed25519"] = b64(slot.sign_public)
    return entry


def certified_entry(slot: KeySlot, signer: str, key: Ed25519PrivateKey) -> dict[str, str]:
    """The account-list entry of a format-2 slot, signed by the editor ``signer`` (signing.py)."""
    return signing.certify(slot.user, account_entry(slot), signer, key)


def listed(catalog: CatalogData, slot: KeySlot) -> bool:
    """Whether ``slot`` is the account the catalog's account list names (same user, role and keys).

    Only listed slots receive master keys: a slot file planted by someone with the disk (no passphrase) is
    not in the list, because writing the list needs the master key. Whether the entry's certificate chains to
    the root editor is :func:`signing.trusted_keys`' question (verify reports it)."""
    entry = catalog.get("accounts", {}).get(slot.user)
    if not isinstance(entry, dict):
        return False
    mine = account_entry(slot)
    theirs = {k: v for k, v in entry.items() if k in _IDENTITY}
    if "ed25519" not in entry or "ed25519" not in mine:  # a conversion to format 2 in progress (crash-safe), or
        mine.pop("ed25519", None)  # a signing key someone else wrote for an account that has none yet: the
        theirs.pop("ed25519", None)  # account still opens, converts and overwrites it (it is not certified)
    return theirs == mine


READERS_BY_DEFAULT = ("editor", "translator")  # besides the interviewer who owns it: every editor and translator


def recipients(catalog: CatalogData, owner: str, root: tuple[str, bytes] | None) -> dict[str, bytes]:
    """Who receives a wrap of a testimony's key: its owner, every editor and (the vault default) every
    translator, with their X25519 public keys. In a format-2 vault only accounts whose certificates chain
    to the root count (a planted or forged account-list entry receives no key)."""
    listed_accounts: dict[str, Any] = catalog.get("accounts", {})
    usable = listed_accounts
    if root is not None:
        trusted = signing.trusted_keys(listed_accounts, root)
        usable = {u: e for u, e in listed_accounts.items() if u in trusted or signing.pending_ok(u, e, trusted)}
    return {user: unb64(e["public_key"]) for user, e in usable.items()
            if e.get("role") in READERS_BY_DEFAULT or user == owner}


def _wrap_aad(tid: str, user: str) -> bytes:
    return f"tkey|{tid}|{user}".encode()


def wrap_testimony_key(tid: str, key: bytes, readers: dict[str, bytes]) -> dict[str, str]:
    """The testimony key wrapped to each reader's X25519 key (``accounts.wrap_to``): ``{user: b64}``."""
    return {user: b64(accounts.wrap_to(public, key, _wrap_aad(tid, user))) for user, public in readers.items()}


def _prior_aad(tid: str) -> bytes:
    return f"tw-prior-keys|{tid}".encode()


PRIOR = struct.Struct(">32sQI")  # an earlier key, the last store generation written under it, how many records


def seal_prior_keys(tid: str, key: bytes, prior: Sequence[tuple[bytes, Retired]]) -> str:
    """A testimony's earlier keys (newest first), each with what it may still open (``records.Retired``), sealed
    under its current key: what was written before a re-key stays readable by the current readers, and by nobody
    holding only an earlier key; anything written under an earlier key after its retirement is refused."""
    parts = [PRIOR.pack(k, r.until, len(r.records)) + b"".join(bytes.fromhex(d) for d in sorted(r.records))
             for k, r in prior]
    return b64(crypto.seal(key, b"".join(parts), aad=_prior_aad(tid)))


def prior_keys(tid: str, key: bytes, entry: Entry) -> tuple[tuple[bytes, Retired], ...]:
    """The earlier keys of a re-keyed testimony with what each may still open (newest first; none for one never
    re-keyed)."""
    sealed = entry.get("prior")
    if not sealed:
        return ()
    try:
        raw = crypto.unseal(key, unb64(str(sealed)), aad=_prior_aad(tid))
    except (crypto.CryptoError, ValueError) as exc:
        raise IntegrityError(f"The earlier keys of testimony {entry.get('case')} fail authentication: its catalog "
                             "entry was altered. Run 'workstation verify'.") from exc
    out, at = [], 0
    try:
        while at < len(raw):
            old, until, count = PRIOR.unpack_from(raw, at)
            at += PRIOR.size
            digests = raw[at:at + 32 * count]
            if len(digests) != 32 * count:
                raise struct.error("short")
            out.append((old, Retired(until, frozenset(digests[i:i + 32].hex() for i in range(0, len(digests), 32)))))
            at += 32 * count
    except struct.error as exc:
        raise IntegrityError(f"The earlier keys of testimony {entry.get('case')} are damaged.") from exc
    return tuple(out)


def _checked_shape(catalog: Any) -> CatalogData:
    """The catalog as the program writes it: its testimonies, accounts and former accounts are objects of objects.
    A value planted there by someone holding the master key is a clear error, not a crash in every reader."""
    ok = isinstance(catalog, dict) and all(
        isinstance(catalog.get(part, {}), dict) and all(isinstance(v, dict) for v in catalog.get(part, {}).values())
        for part in ("testimonies", "accounts", "former"))
    if not ok:
        raise IntegrityError("The vault's catalog is damaged: its list of testimonies or accounts holds something "
                             "the program never writes (tampering?). Run 'workstation verify' and restore it from a "
                             "backup.")
    return catalog


class Catalog:
    """One user's hold on the catalog: the current master key and epoch, the X25519 private key that follows
    rotations without the passphrase, and the audit log opened with the catalog's audit key."""

    def __init__(self, root: Path, store: Store, user: str, master: bytes, epoch: str,
                 private: X25519PrivateKey, signer: Ed25519PrivateKey | None = None) -> None:
        self.root, self.user, self.epoch = Path(root), user, epoch
        self._signer = signer  # signs this account's audit entries (format 2)
        self._store = store
        self._private: X25519PrivateKey | None = private
        self._master: bytes | None = master
        lock_in_memory(master)  # best effort: keep the master key's page out of swap (hardening.py says the limits)
        self._audit_log: AuditLog | None = None
        self.on_append: Callable[[AuditEntry], None] | None = None  # the session's editor checkpoints
        self._rooted = False

    # ---- the keys held in memory

    @property
    def locked(self) -> bool:
        return self._master is None

    def forget(self) -> None:
        """Drop every key; further use raises VaultLockedError."""
        self._master = None
        self._private = None
        self._signer = None
        self._audit_log = None

    def public_key(self) -> bytes:
        """This account's X25519 public key."""
        self.master()
        assert self._private is not None
        return accounts.raw_x25519_public(self._private)

    def exchange(self, public: bytes) -> bytes | None:
        """X25519 shared secret of this account's private key with ``public`` (None if it is not a key)."""
        self.master()
        assert self._private is not None
        try:
            return self._private.exchange(X25519PublicKey.from_public_bytes(public))
        except ValueError:
            return None

    def signer(self) -> Ed25519PrivateKey | None:
        """This account's Ed25519 signing key (None for a format-1 slot)."""
        self.master()
        return self._signer

    def master(self) -> bytes:
        if self._master is None:
            raise VaultLockedError("This session is locked. Unlock the vault again to continue.")
        return self._master

    def follow_epoch(self) -> None:
        """Pick up a master-key rotation made by another session (see module docstring)."""
        self.master()
        epoch = read_vault_file(self.root)["epoch"]
        if epoch == self.epoch:
            return
        mine = [s for s in slot_files(self.root).users() if s.user == self.user]
        if not mine or self._private is None:
            self.forget()
            raise VaultLockedError(
                "Your account was removed from this vault or its keys were changed. The session is now locked."
            )
        try:
            self._master = accounts.unwrap_master(mine[0], epoch, self._private)
            lock_in_memory(self._master)
        except (crypto.CryptoError, SlotDamagedError) as exc:
            self.forget()
            raise VaultLockedError("The vault's keys were changed; unlock again to continue.") from exc
        self.epoch, self._audit_log = epoch, None

    # ---- the catalog record

    def read(self) -> tuple[CatalogData, int]:
        for _attempt in range(3):  # a rotation may switch epochs between reading vault.json and the catalog
            self.follow_epoch()
            try:
                data, version = self._store.read_record(self.master(), _record_id(self.epoch))
                break
            except FileNotFoundError:
                time.sleep(0.05)
            except StoreRootError as exc:
                raise IntegrityError(str(exc)) from exc
            except crypto.CryptoError as exc:
                raise IntegrityError(
                    "The vault's catalog (the list of testimonies and their keys) fails authentication: it was "
                    "altered or damaged. Restore it from a backup; run 'workstation verify' for details."
                ) from exc
        else:
            raise IntegrityError("The vault's catalog is missing from the vault folder. Restore it from a backup.")
        catalog = _checked_shape(json.loads(data.decode("utf-8")))
        if not self._rooted:
            # The store root's key comes from the catalog (its audit key never changes), so the first read
            # cannot be checked against it; every read after this one is, the first one's data included
            # (a rolled-back catalog entry fails the root at the next read: Session.unlock makes one).
            self._store.set_root_key(unb64(catalog["audit_key"]), required=bool(catalog.get("store_root")))
            self._rooted = True
        return catalog, version

    def current(self) -> CatalogData:
        return self.read()[0]

    def stamp(self) -> tuple[str, int] | None:
        """(epoch, version) of the catalog record as the store index records it, without decrypting it: what
        tells a cache of something derived from the catalog that the catalog was written since (None: the index
        cannot be read; read the catalog itself for the error)."""
        self.master()
        try:
            return self.epoch, self._store.record_version(_record_id(self.epoch))
        except crypto.CryptoError:
            return None

    @contextlib.contextmanager
    def change(self) -> Iterator[CatalogData]:
        """Read-modify-write of the catalog under the vault lock (and compare-and-swap)."""
        with vault_lock(self.root):
            catalog, version = self.read()
            yield catalog
            self._store.write_record(self.master(), _record_id(self.epoch), to_json(catalog), expected_version=version)

    def entry(self, case_code: str, catalog: CatalogData | None = None) -> tuple[str, Entry]:
        """(testimony id, catalog entry) of a case code."""
        catalog = catalog if catalog is not None else self.current()
        for tid, entry in catalog["testimonies"].items():
            if entry["case"] == case_code:
                return tid, entry
        raise NotFoundError(f"There is no testimony {case_code!r} in this vault. 'workstation list' shows them.")

    def data_key(self) -> bytes:
        """The vault-wide data key (the glossary)."""
        return unb64(self.current()["data_key"])

    def audit_key(self) -> bytes:
        """Survives rotations: the catalog is copied, not re-keyed."""
        return unb64(self.current()["audit_key"])

    def audit_log(self) -> AuditLog:
        if self._audit_log is None:
            signer = (self.user, self._signer) if self._signer is not None else None
            self._audit_log = AuditLog(self.root, self.audit_key(), signer=signer, on_append=self.on_append)
        return self._audit_log

    def testimony_key(self, tid: str, entry: Entry) -> bytes:
        """This account's copy of a testimony's key: unwrapped from the entry's wrap for this user (format 2),
        or the key a format-1 entry holds. An account with no wrap holds no key to that testimony."""
        if "key" in entry:
            return entry_key(entry)
        wrapped = entry.get("wraps", {}).get(self.user)
        if wrapped is None or self._private is None:
            self.master()
            raise PermissionDeniedError(
                f"Your account holds no key to testimony {entry.get('case')}: it is encrypted only to its "
                "interviewer, the editors and the translators. Ask an editor if you need access."
            )
        try:
            return accounts.unwrap_from(self._private, unb64(wrapped), _wrap_aad(tid, self.user))
        except (crypto.CryptoError, ValueError) as exc:
            raise IntegrityError(
                f"Your key to testimony {entry.get('case')} fails authentication: the catalog entry was altered "
                "or damaged. Run 'workstation verify'."
            ) from exc

    # ---- rotation

    def rotate(self, removed: Path | None, remaining: Sequence[tuple[Path, KeySlot | None]],
               catalog: CatalogData | None = None) -> None:
        """Delete the ``removed`` slot file (if any) and move the remaining slots to a new master key and epoch,
        writing ``catalog`` (default: the current one) under it.

        Only slots in the catalog's account list receive the new key (:func:`listed`). The caller holds the
        vault lock and has followed the current epoch. The order of writes is the module docstring's: after
        the ``vault.json`` switch the new epoch is the vault's.
        """
        files = slot_files(self.root)
        if catalog is None:
            catalog, _version = self.read()
        remaining = [(p, s) for p, s in remaining if s is not None and listed(catalog, s)]
        old_epoch, new_epoch, new_master = self.epoch, os.urandom(8).hex(), os.urandom(32)
        if removed is not None:
            removed.unlink()
            fsync_folder(removed.parent)
        self._store.write_record(new_master, _record_id(new_epoch), to_json(catalog), expected_version=0)
        for path, slot in remaining:
            if slot is not None:
                accounts.add_master(slot, new_epoch, new_master)
                files.save(slot, path)
        meta = read_vault_file(self.root)
        meta["epoch"] = new_epoch
        write_vault_file(self.root, meta)  # the commit point of the rotation
        self._master, self.epoch = new_master, new_epoch
        lock_in_memory(new_master)
        for path, slot in remaining:  # clean-up: old wraps and the old catalog
            if slot is not None and old_epoch in slot.masters:
                del slot.masters[old_epoch]
                files.save(slot, path)
        self._store.delete(_record_id(old_epoch))
