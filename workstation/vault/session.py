"""The vault session: the one API the UI, the CLI, the job queue and the exporters use.

``create_vault`` / ``unlock`` return a :class:`VaultSession` holding the user's name, role and (in memory
only) the vault master key. Every method checks the role (``permissions.require``) and writes an audit entry
(who, what, case code, segment ids, revisions — never content).

The session is a facade over the modules that do the work (docs/VAULT-FORMAT.md has the byte layouts):

* ``layout.py`` — ``vault.json`` (format and current epoch), the lock file, the slot and throttle files;
* ``accounts.py`` / ``permissions.py`` / ``throttle.py`` — key slots and passphrases, roles, unlock throttling;
* ``catalog.py`` — the master key of each epoch, the catalog it opens (each testimony's key wrapped to its readers
  in format 2; :meth:`Catalog.testimony_key` unwraps this account's copy), rotation;
* ``signing.py`` — Ed25519: account certificates rooted in the first editor, signed audit entries and approvals;
* ``records.py`` — one testimony's records and sealed original, encrypted under its own key;
* ``store.py`` / ``audit.py`` — the versioned, authenticated record store and the hash-chained audit log;
* ``verify.py`` — verification of everything; ``backup.py`` — backup archives and restoring one.

Shredding removes the testimony's entry (its key) from the catalog in one atomic write, then deletes its
records and blob; the audit log keeps a content-free ``shred`` entry. Once the catalog no longer holds the
key, the ciphertext that remains anywhere — a disk block, a copied file, the data files of an older backup
combined with the current vault — cannot be decrypted. A backup archive made *before* the shred is a full copy
of the vault of that day, key included: the shred message and ``docs/VAULT-FORMAT.md`` tell editors to destroy
(or re-make) earlier backups; ``tests/test_vault_backup.py`` spells out what holds.

Concurrency: testimony records are saved with compare-and-swap on the store version, so two processes editing
the same testimony never lose an update (the loser gets ``ConflictError``); catalog changes (create, shred,
new extra names, rotation) are additionally serialised by a lock file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from workstation.domain import testimony as tm
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import ConflictError, Status, Testimony, TestimonyMeta
from workstation.platform.digest import sha256_hex
from workstation.platform.errors import WorkstationError
from workstation.vault import accounts, backup, checkpoint, crypto, permissions, signing
from workstation.vault.accounts import SlotDamagedError, UnknownUserError, UserNameError, WrongPassphraseError
from workstation.vault.audit import ANCHOR_SLACK, AuditEntry, AuditLog
from workstation.vault.catalog import (
    READERS_BY_DEFAULT,
    Catalog,
    CatalogData,
    account_entry,
    certified_entry,
    create_catalog,
    listed,
    prior_keys,
    recipients,
    seal_prior_keys,
    wrap_testimony_key,
)
from workstation.vault.errors import (
    BackupError,
    IntegrityError,
    NotFoundError,
    VaultError,
    VaultExistsError,
    VaultLockedError,
    VaultNotFoundError,
)
from workstation.vault.layout import (
    VAULT_FORMAT,
    b64,
    read_vault_file,
    slot_files,
    throttle,
    to_json,
    unb64,
    vault_exists,
    vault_lock,
    write_vault_file,
)
from workstation.vault.permissions import Action, PermissionDeniedError, Role
from workstation.vault.records import (
    GLOSSARY_REF,
    Entry,
    KeyEpochs,
    RecordingInfo,
    RecordRef,
    Records,
    Retired,
    SignedEnvelopes,
    Signers,
    part_count,
    part_label,
    part_suffix,
    record_kinds,
    record_ref,
    rid,
)
from workstation.vault.store import Store
from workstation.vault.throttle import ThrottledError
from workstation.vault.verify import (
    AUDIT_ANCHOR,
    VerifyReport,
    approval_history,
    approval_signature_problem,
    check_vault,
    checkpoint_problems,
)

if TYPE_CHECKING:  # vault and speech are one rank: the type only, never a run-time import
    from workstation.speech.pipeline import PipelineResult

__all__ = [
    "VAULT_FORMAT", "VaultSession", "VaultError", "VaultNotFoundError", "VaultExistsError", "VaultLockedError",
    "IntegrityError", "NotFoundError", "BackupError", "RecordingInfo", "TestimonySummary", "UserInfo",
    "VerifyReport", "create_vault", "vault_exists", "unlock", "restore", "PermissionDeniedError",
    "WrongPassphraseError", "UnknownUserError", "ThrottledError", "SlotDamagedError", "ConflictError",
]

T = TypeVar("T")

_SAFE_DETAIL = re.compile(r"^[A-Za-z0-9_.:|+\-]{0,80}$")
_CASE_RE = re.compile(r"^[\w][\w\-./]{0,63}$")

# KDF parameters for new slots. None means crypto.KdfParams() (the production defaults); tests may
# point this at cheaper (still memory-hard) parameters through a fixture.
KDF_PARAMS: crypto.KdfParams | None = None


def _kdf() -> crypto.KdfParams:
    return KDF_PARAMS if KDF_PARAMS is not None else crypto.KdfParams()


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
    fingerprint: str = ""  # vault format 2, a certified account: compared in person with an export's signer


# --- creating, unlocking, restoring -------------------------------------------------------------------


def create_vault(path: Path | str, editor: str, passphrase: str) -> VaultSession:
    """Create a new vault at ``path`` (missing or empty folder) with its first editor account."""
    root = Path(path).expanduser()
    if vault_exists(root):
        raise VaultExistsError(f"There is already a vault at {root}. Unlock it instead, or choose another folder.")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise VaultExistsError(
            f"{root} already exists and is not empty. Choose a new (or empty) folder for the vault."
        )
    editor = accounts.check_user_name(editor)
    accounts.check_passphrase(passphrase, user=editor)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    master, epoch = os.urandom(32), os.urandom(8).hex()
    slot, keys = accounts.new_slot(editor, Role.EDITOR, passphrase, _kdf(), epoch, master)  # the list's root
    assert keys.ed25519 is not None
    store = Store(root)
    create_catalog(store, master, epoch, slot, keys.ed25519)
    slot_files(root).save(slot)
    # vault.json last: until it exists the folder is not a vault, so a crash here leaves nothing half-made.
    write_vault_file(root, {"format": VAULT_FORMAT, "epoch": epoch, "created": tm.now_iso()})
    session = VaultSession(root, store, slot, master, epoch, keys)
    session._audit("vault_created", records="signed")  # signed history: this vault requires signed records
    session._audit("user_added", subject=editor, role=str(Role.EDITOR))
    session._records_signed()  # on from the start, and for this session's lifetime
    return session


def unlock(path: Path | str, user: str, passphrase: str) -> VaultSession:
    """Open the vault as ``user``. Errors: WrongPassphraseError, UnknownUserError, ThrottledError, SlotDamagedError."""
    root = Path(path).expanduser()
    meta = read_vault_file(root)
    counters = throttle(root)
    user = user.strip()
    counters.check(user)
    try:
        candidates = slot_files(root).find_all(user)
    except UnknownUserError:
        counters.failure(user, known=False)
        raise
    try:
        slot, keys = _open_one(candidates, passphrase)
    except (WrongPassphraseError, SlotDamagedError):
        counters.failure(user, known=True)
        raise
    epoch = meta["epoch"]
    try:
        master = accounts.unwrap_master(slot, epoch, keys.x25519)
    except crypto.CryptoError as exc:
        counters.failure(user, known=True)
        raise accounts.damaged_error(slot) from exc
    session = VaultSession(root, Store(root), slot, master, epoch, keys)
    session._after_unlock(slot, keys)
    keys.kek = b""
    for failed in counters.success(user):
        session._audit("unlock_failed", as_user=failed.get("user") or "(unknown user name)", failed_at=failed.get("at", ""))
    session._audit("unlock")
    return session


MAX_SLOT_CANDIDATES = 3  # same-named slot files tried at unlock (a planted duplicate must not lock anyone out)


def _open_one(candidates: list[accounts.KeySlot], passphrase: str) -> tuple[accounts.KeySlot, accounts.SlotKeys]:
    """The first slot of the name that the passphrase opens (several only if one was planted or left over)."""
    error: WorkstationError | None = None
    for slot in candidates[:MAX_SLOT_CANDIDATES]:
        try:
            return slot, accounts.open_keys(slot, passphrase)
        except (WrongPassphraseError, SlotDamagedError) as exc:
            error = error if isinstance(error, WrongPassphraseError) else exc
    assert error is not None
    raise error


def upgrade_vault(path: Path | str, user: str, passphrase: str, backup_to: Path | str) -> tuple[Path, VerifyReport]:
    """Convert a format-1 vault to format 2 as an editor (``workstation vault upgrade``): a backup first, then
    this editor's slot gets a signing key and becomes the account list's root, every other account gets a
    pending certificate (name, role, X25519 key) and converts itself at its next unlock (an editor's next unlock
    certifies it), every testimony key leaves the catalog for per-reader wraps, and a signed ``vault_upgraded``
    entry seals the unsigned history before it; then the full verify. Returns (backup archive, report)."""
    root = Path(path).expanduser()
    session = unlock(root, user, passphrase)
    try:
        if "root" in session._catalog.current():
            return _finish_upgrade(session, backup_to)
        session.require(Action.MANAGE_USERS)
        archive = session.backup(backup_to)  # refused (nothing changed) if it cannot be written
        slot, keys = _open_one(slot_files(root).find_all(session.user), passphrase)
        master, epoch = session._catalog.master(), session._catalog.epoch
        if keys.ed25519 is not None and slot.root == (slot.user, slot.sign_public):
            fresh, signer = slot, keys.ed25519  # a crashed earlier run converted the slot already: go on
        else:
            fresh, signer = accounts.upgrade_slot(slot, keys, epoch, master, None)
            files = slot_files(root)
            path_of = next(p for p, s in files.load_all() if s is not None and s.to_bytes() == slot.to_bytes())
            files.save(fresh, path_of)  # first (listed() accepts it either way); the catalog write commits
        with session._catalog.change() as catalog:
            _upgrade_catalog(catalog, fresh, signer)
    finally:
        session.lock()
    upgraded = VaultSession(root, Store(root), fresh, master, epoch, accounts.SlotKeys(keys.x25519, signer))
    try:
        upgraded._audit("vault_upgraded", to="tw-vault-2")
        upgraded._require_signed_records()  # after the backup: this editor re-signs every record
        return archive, upgraded.verify()
    finally:
        upgraded.lock()


def _finish_upgrade(session: VaultSession, backup_to: Path | str) -> tuple[Path, VerifyReport]:
    """A vault already in format 2: done, unless an upgrade was killed after its catalog write (the commit) and
    before its signed ``vault_upgraded`` entry — then the root editor's rerun writes that entry and verifies."""
    catalog = session._catalog.current()
    root_user = catalog["root"].get("user")
    if not catalog.get("upgraded_from") or any(e.action == "vault_upgraded" for e in session._log().entries(strict=False)):
        raise VaultError("This vault is already in format 2; nothing to upgrade.")
    if session.user != root_user or session._catalog.signer() is None:
        raise VaultError(f"This vault's upgrade to format 2 was interrupted: {root_user} (who started it) runs "
                         "'workstation vault upgrade' again to finish it.")
    archive = session.backup(backup_to)
    session._audit("vault_upgraded", to="tw-vault-2", completed="after an interruption")
    return archive, session.verify()


def _upgrade_catalog(catalog: CatalogData, editor: accounts.KeySlot, signer: Ed25519PrivateKey) -> None:
    """The catalog part of :func:`upgrade_vault` (one write): root, certificates, per-reader wraps."""
    catalog["root"] = {"user": editor.user, "ed25519": b64(editor.sign_public)}
    catalog["upgraded_from"] = "tw-vault-1"  # with no signed vault_upgraded entry yet: an interrupted upgrade
    listed_accounts = catalog.setdefault("accounts", {})
    for name, entry in listed_accounts.items():
        if name != editor.user:
            payload = signing.pending_payload(name, str(entry["role"]), str(entry["public_key"]))
            entry.update(pending=signing.sign(signer, payload), pending_signer=editor.user)
    listed_accounts[editor.user] = certified_entry(editor, editor.user, signer)
    for tid, entry in catalog["testimonies"].items():
        if "key" in entry:
            key = unb64(entry.pop("key"))
            entry["wraps"] = wrap_testimony_key(tid, key, recipients(catalog, entry["owner"], None))
            entry["cert"] = signing.sign_entry(tid, entry, key, editor.user, signer)


def restore(archive: Path | str, path: Path | str, *, user: str | None = None, passphrase: str | None = None) -> VerifyReport:
    """Bring a backup archive back into a new (missing or empty) folder, then verify it.

    Every file is checked against the manifest's sha256 while extracting (into a temporary sibling folder,
    renamed into place only when complete). With ``user`` and ``passphrase`` the manifest's authentication
    is checked too and the restored vault is fully verified (``VaultSession.verify``).
    """
    root = Path(path).expanduser()
    manifest_raw, mac = backup.restore_files(Path(archive).expanduser(), root)
    report = VerifyReport(checked={"files": backup.listed_files(manifest_raw)})
    if user is None or passphrase is None:
        return report
    session = unlock(root, user, passphrase)
    try:
        if not backup.mac_ok(session._catalog.audit_key(), manifest_raw, mac):
            report.problems.append("Backup manifest: its authentication does not match (altered archive).")
        if session.role is Role.EDITOR:
            full = session.verify()
            report.problems.extend(full.problems)
            report.checked.update(full.checked)
    finally:
        session.lock()
    return report


# --- the session ------------------------------------------------------------------------------------


class VaultSession:
    """An unlocked vault for one user. Not thread-safe for writes from several threads at once."""

    def __init__(self, root: Path, store: Store, slot: accounts.KeySlot, master: bytes, epoch: str,
                 keys: accounts.SlotKeys) -> None:
        self.path = Path(root)
        self.user = slot.user
        self.role = Role(slot.role)
        self._store = store
        # the account list's root editor, pinned in this account's own (passphrase-authenticated) slot: what
        # signatures are checked against (None in a format-1 vault: nothing is signed there)
        self._root = slot.root
        # the X25519 private key follows master-key rotations without the passphrase; Ed25519 signs
        self._catalog = Catalog(self.path, store, slot.user, master, epoch, keys.x25519, keys.ed25519)
        # each testimony's key is this account's own wrap of it (format 2): no key, no read; every record is
        # signed by its writer and checked on every read (format 2)
        self._records = Records(store, self._testimony_key,
                                SignedEnvelopes(self._record_signer, self._record_signers, self._records_signed),
                                self._testimony_keys)
        self._trusted_cache: tuple[str, dict[str, dict[str, Any]]] | None = None
        self._catalog_memo: dict[str, tuple[tuple[str, int], Any]] = {}  # see _per_catalog
        self._signed_records = False  # once seen on, stays on for this session (see _records_signed)
        self._checkpoint_says_signed: bool | None = None
        self._catalog.on_append = self._checkpoint  # an editor's appends move the signed checkpoint on

    # ---- basics

    def __repr__(self) -> str:  # never show keys
        return f"VaultSession(user={self.user!r}, role={self.role.value!r}, locked={self.locked})"

    def lock(self) -> None:
        """Forget every key held by this session; further calls raise VaultLockedError."""
        self._catalog.forget()

    @property
    def locked(self) -> bool:
        return self._catalog.locked

    def contains(self, path: Path | str) -> bool:
        """Whether ``path`` (existing or not, symbolic links resolved) lies inside the vault folder: exports and
        backups are refused there (they would end up in the vault's own backups)."""
        try:
            Path(path).expanduser().resolve().relative_to(self.path.resolve())
            return True
        except ValueError:
            return False

    def require(self, action: Action) -> None:
        self._catalog.master()
        permissions.require(self.role, action)

    def _entry(self, case_code: str, catalog: CatalogData | None = None) -> tuple[str, Entry]:
        return self._catalog.entry(case_code, catalog)

    # ---- audit

    def _log(self) -> AuditLog:
        return self._catalog.audit_log()

    def _audit(self, action: str, case_code: str | None = None, *, as_user: str | None = None, **details: Any) -> None:
        clean = {k: v for k, v in details.items() if _safe_detail(v)}
        entry = self._log().append(as_user or self.user, action, case_code, **clean)
        # The head is anchored in the authenticated store index too: a cut-off tail with an older (or re-made)
        # head no longer agrees with it (issue 10, finding 5). A damaged index refuses; verify reports that.
        with contextlib.suppress(crypto.CryptoError):
            self._store.set_anchor(AUDIT_ANCHOR, entry.seq, entry.hash, max_step=ANCHOR_SLACK + 1)

    def _after_unlock(self, slot: accounts.KeySlot, keys: accounts.SlotKeys) -> None:
        """Read the catalog (which switches the store root on), upgrade a vault from before the account list
        and store root in place, and refuse a slot the account list does not name."""
        try:
            self._log()  # the first catalog read (it switches the store root on) also opens the audit log
            catalog = self._catalog.current()
            if "accounts" not in catalog or not catalog.get("store_root"):
                catalog = self._upgrade_in_place()
        except IntegrityError:
            return  # the vault is damaged: every read says so, and verify() lists it
        if not listed(catalog, slot):
            self.lock()
            raise SlotDamagedError(
                f"The key slot of {slot.user} is not the account the vault's signed-in account list names (its "
                "role or key differs, or it was planted). It was not used. Report this: it may mean someone "
                "tampered with the vault; 'workstation verify' (as an editor) names the file."
            )
        if slot.root is None and isinstance(catalog.get("root"), dict):
            self._join_format_2(slot, keys, catalog)
        if self._root is not None:
            self._refuse_revoked(slot)
        if self.role is Role.EDITOR and self._root is not None:
            self._certify_pending()
            with contextlib.suppress(IntegrityError):  # a damaged vault still unlocks, so that verify can run
                self._require_signed_records()
        with contextlib.suppress(IntegrityError):
            self._records_signed()  # read the switch now: once seen on, it stays on for this session

    def _join_format_2(self, slot: accounts.KeySlot, keys: accounts.SlotKeys, catalog: CatalogData) -> None:
        """A format-1 slot in a vault upgraded to format 2: give it a signing key and pin the root (taken from the
        catalog: trust on first use), using the passphrase key of this unlock (no extra derivation)."""
        root = (str(catalog["root"]["user"]), unb64(catalog["root"]["ed25519"]))
        with vault_lock(self.path):
            fresh, signer = accounts.upgrade_slot(slot, keys, self._catalog.epoch, self._catalog.master(), root)
            files = slot_files(self.path)
            path = next(p for p, s in files.load_all() if s is not None and s.to_bytes() == slot.to_bytes())
            files.save(fresh, path)  # first: listed() accepts either state, so a crash here locks nobody out
        with self._catalog.change() as current:
            entry = current["accounts"][self.user]
            entry["ed25519"] = b64(fresh.sign_public)
            upgrader = current["accounts"].get(str(entry.get("pending_signer")), {})
            if upgrader.get("public_key"):  # proof, for the upgrading editor, that this key is really ours
                secret = keys.x25519.exchange(X25519PublicKey.from_public_bytes(unb64(upgrader["public_key"])))
                entry["possession"] = signing.possession_proof(self.user, entry["ed25519"], secret)
        self._root, self._catalog._signer = root, signer
        self._catalog._audit_log = None  # re-opened with the signer

    def _certify_pending(self) -> None:
        """Certify (as this editor) every account that got its signing key since the upgrade and carries a valid
        pending certificate of its name, role and X25519 key."""
        catalog = self._catalog.current()
        trusted = self._trusted(catalog) or {}
        todo = [u for u, e in catalog.get("accounts", {}).items()
                if u not in trusted and "ed25519" in e and signing.pending_ok(u, e, trusted)
                and e.get("pending_signer") == self.user and self._possession_ok(u, e)]
        signer = self._catalog.signer()
        if not todo or signer is None:
            return
        with self._catalog.change() as current:
            for user in todo:
                entry = current["accounts"][user]
                current["accounts"][user] = signing.certify(user, entry, self.user, signer)
        for user in todo:
            self._audit("account_certified", subject=user)

    def _possession_ok(self, user: str, entry: dict[str, Any]) -> bool:
        """Whether the signing key in a pending account's entry was written by the holder of its X25519 key (and
        not by someone else holding the master key): only the upgrading editor can check it, so only they certify."""
        secret = self._catalog.exchange(unb64(str(entry.get("public_key", ""))))
        return secret is not None and signing.possession_ok(user, entry, secret)

    def _upgrade_in_place(self) -> CatalogData:
        """A vault made before the account list and the store root: record the accounts whose slots hold the
        current key (trust on first use) and switch the store root on, in one catalog write."""
        with self._catalog.change() as catalog:
            if "accounts" not in catalog:
                catalog["accounts"] = {s.user: account_entry(s) for s in slot_files(self.path).users()
                                       if self._catalog.epoch in s.masters}
            catalog["store_root"] = True
        self._store.set_root_key(self._catalog.audit_key(), required=True)
        return catalog

    def _refuse_revoked(self, slot: accounts.KeySlot) -> None:
        """A removed account, or an older key slot of this account (an old passphrase), put back into the folder."""
        state = self._account_state()
        if slot.user in state.removed:
            self.lock()
            raise PermissionDeniedError(
                f"The account {slot.user} was removed from this vault by an editor and cannot be used any more "
                "(it was put back into the vault folder afterwards: report this to an editor)."
            )
        current = state.slots.get(slot.user)
        if current is not None and current != checkpoint.salt_digest(slot.salt):
            self.lock()
            raise SlotDamagedError(
                f"This key slot of {slot.user} is older than the account's last passphrase change: it was put back "
                "from an older copy, so an old passphrase would open it. It was not used; use your current "
                "passphrase, and report this to an editor."
            )

    def _editor_keys(self, *, current: bool = False) -> checkpoint.Editors:
        """Name -> Ed25519 key of every editor whose certificate chains to the root: former editors too (their
        removals made while they were editors stay valid), or (``current``) only those in the account list now —
        who alone may sign a checkpoint: a removed editor who kept her key cannot sign one that removes the rest."""
        return self._signing_keys()[2 if current else 1]

    def _signing_keys(self) -> tuple[checkpoint.Editors, checkpoint.Editors, checkpoint.Editors]:
        """(every trusted account's, every trusted editor's, the current editors') Ed25519 keys, computed once per
        catalog version: every unlock and every editor append needs them."""
        return self._per_catalog("signing_keys", self._signing_keys_of)

    def _signing_keys_of(self, catalog: CatalogData) -> tuple[checkpoint.Editors, checkpoint.Editors, checkpoint.Editors]:
        trusted = self._trusted(catalog) or {}
        keys = {u: unb64(e["ed25519"]) for u, e in trusted.items() if e.get("ed25519")}
        editors = {u: k for u, k in keys.items() if trusted[u].get("role") == str(Role.EDITOR)}
        return keys, editors, {u: k for u, k in editors.items() if u in catalog.get("accounts", {})}

    def _account_state(self) -> checkpoint.AccountState:
        """What the signed history says of the accounts (removed ones, each one's current key slot): the editors'
        checkpoint, then the entries signed after it (the whole log when the checkpoint is missing or forged;
        verify reports that)."""
        editors = self._editor_keys()
        try:
            cp = checkpoint.read(self.path)
        except checkpoint.CheckpointError:
            cp = None
        if cp is None or checkpoint.signature_problem(cp, self._editor_keys(current=True)):
            cp = None
        later = self._log().signed_entries(self._signing_keys()[0], after=cp.hash if cp is not None else "")
        return checkpoint.AccountState.of(cp).follow(later, editors)

    def _removed(self) -> set[str]:
        return self._account_state().removed

    def _checkpoint(self, entry: AuditEntry) -> None:
        """After each of this editor's appends (under the log's lock): sign the new head and the removed accounts."""
        signer = self._catalog.signer()
        if self.role is not Role.EDITOR or self._root is None or signer is None:
            return
        try:
            if self.user not in self._editor_keys(current=True):
                return  # not certified yet (just after an upgrade): a checkpoint it signed would not verify
            state = self._account_state()
        except WorkstationError:
            return  # a damaged catalog or index: the entry stands, every read and verify report the damage
        with contextlib.suppress(OSError):  # something planted in its place: the entry stands, verify reports it
            checkpoint.write(self.path, entry, (self.user, signer), state, signed_records=self._records_signed())

    def record_audit(self, action: str, case_code: str | None = None, **details: Any) -> None:
        """Let other modules (exports) add a content-free entry; unsafe detail values are dropped."""
        self._catalog.master()
        if case_code is not None:
            self._access(case_code, Action.VIEW)
        self._audit(action, case_code, **details)

    def audit_entries(self) -> list[AuditEntry]:
        self.require(Action.AUDIT)
        return list(self._log().entries())

    def audit_head(self) -> str:
        self._catalog.master()
        return self._log().head()

    def audit_checkpoint(self) -> dict[str, Any] | None:
        """The editors' last signed checkpoint (seq, hash, editor, time) as manifests record it; None when there
        is none that verifies (a format-1 vault, or one verify reports)."""
        self._catalog.master()
        if self._root is None:
            return None
        try:
            cp = checkpoint.read(self.path)
        except checkpoint.CheckpointError:
            return None
        return None if cp is None or checkpoint.signature_problem(cp, self._editor_keys(current=True)) else cp.summary()

    # ---- users

    def list_users(self) -> list[UserInfo]:
        self.require(Action.MANAGE_USERS)
        cards = {s.user: self._account_card(s.user) for s in slot_files(self.path).users()}
        return sorted((UserInfo(s.user, s.role, s.created, (cards[s.user] or {}).get("fingerprint", ""))
                       for s in slot_files(self.path).users()), key=lambda u: u.name)

    def add_user(self, name: str, role: Role | str, passphrase: str) -> UserInfo:
        self.require(Action.MANAGE_USERS)
        name, role = accounts.check_user_name(name), permissions.parse_role(role)
        accounts.check_passphrase(passphrase, user=name)
        with self._catalog.change() as catalog:
            existing = {s.user for s in slot_files(self.path).users()} | set(catalog.get("accounts", {}))
            if name in existing:
                raise UserNameError(f"There is already an account named {name!r}. Choose another name.")
            former = set(catalog.get("former", {}))
            if name in former:  # its old entries and approvals are verified under that person's key
                raise UserNameError(f"{name!r} was the name of a removed account, whose history stays under that "
                                    "name. Choose another name.")
            name = accounts.check_user_name(name, existing | former)  # look-alikes of any account, past too
            signer = self._catalog.signer()
            slot, _keys = accounts.new_slot(name, role, passphrase, _kdf(), self._catalog.epoch, self._catalog.master(),
                                            root=self._root or accounts.NO_ROOT)
            slot_files(self.path).save(slot)
            catalog.setdefault("accounts", {})[name] = certified_entry(slot, self.user, signer) \
                if signer is not None and self._root is not None else account_entry(slot)
            if str(role) in READERS_BY_DEFAULT:
                self._give_keys(catalog, name, slot.public_key)
        self._audit("user_added", subject=name, role=str(role))
        return UserInfo(name, role, slot.created)

    def change_passphrase(self, old: str, new: str) -> None:
        """Change this user's own passphrase (the old one is needed: it re-opens the slot)."""
        self._catalog.master()
        accounts.check_passphrase(new, user=self.user)
        with vault_lock(self.path):
            path, slot = slot_files(self.path).find(self.user)
            fresh = accounts.rekey_slot(slot, old, new, _kdf())
            slot_files(self.path).save(fresh, path)
        # signed by this account: from now on an older copy of its slot (the old passphrase) is refused
        self._audit("passphrase_changed", slot=checkpoint.salt_digest(fresh.salt))

    def remove_user(self, name: str) -> int:
        """Remove an account and rotate the master key (catalog.py's docstring has the order of writes); in
        format 2 every testimony the account could read gets a new key. Returns how many did."""
        self.require(Action.MANAGE_USERS)
        if name == self.user:
            raise WorkstationError("You cannot remove your own account. Ask another editor to do it.")
        with vault_lock(self.path):
            self._catalog.follow_epoch()
            files = slot_files(self.path)
            catalog, _version = self._catalog.read()
            path, _slot = files.find(name)
            remaining = [(p, s) for p, s in self._keyholders(catalog) if p != path]
            if not any(s is not None and s.role is Role.EDITOR for _p, s in remaining):
                raise WorkstationError("That is the last editor account; add another editor before removing it.")
            rekeyed = self._retire_account(catalog, name)
            self._catalog.rotate(path, remaining, catalog)
        self._audit("user_removed", subject=name, rekeyed=rekeyed)
        self._audit("key_rotation", reason="user_removed")
        return rekeyed

    def _give_keys(self, catalog: CatalogData, name: str, public: bytes) -> None:
        """A new editor or translator receives a wrap of every testimony key (from this editor's own copies; one
        this editor holds no wrap of — the catalog was tampered with, verify reports it — is skipped)."""
        for tid, entry in catalog["testimonies"].items():
            if "wraps" in entry and self.user in entry["wraps"]:
                key = self._catalog.testimony_key(tid, entry)
                entry["wraps"].update(wrap_testimony_key(tid, key, {name: public}))

    def _retire_account(self, catalog: CatalogData, name: str) -> int:
        """Move a removed account to ``former`` (its certificate still verifies its old audit entries and
        approvals), re-key what it could read (format 2), and re-sign, as this editor, the entries it had signed
        (their chain would break). Returns how many testimonies were re-keyed."""
        gone = catalog.get("accounts", {}).pop(name, None)
        signer = self._catalog.signer()
        rekeyed = self._rekey_readable_by(catalog, name) if signer is not None and self._root is not None else 0
        for entry in catalog["testimonies"].values():  # their wraps leave the catalog (written under a new M)
            entry.get("wraps", {}).pop(name, None)
        if gone is None or signer is None or self._root is None:
            return rekeyed
        catalog.setdefault("former", {})[name] = gone
        for user, entry in catalog.get("accounts", {}).items():
            if entry.get("signer") == name and "ed25519" in entry:
                catalog["accounts"][user] = signing.certify(user, entry, self.user, signer)
        return rekeyed

    def _rekey_readable_by(self, catalog: CatalogData, name: str) -> int:
        """A new key for every testimony whose wraps name ``name``, whatever the account list says of it; refused,
        changing nothing, when this editor holds no wrap of one (a tampered entry it cannot re-key)."""
        removed = self._removed() | {name}
        todo = [(tid, entry) for tid, entry in catalog["testimonies"].items() if name in entry.get("wraps", {})]
        for _tid, entry in todo:
            if self.user not in entry["wraps"]:
                raise IntegrityError(
                    f"Testimony {entry.get('case')} holds no key for your account, so it cannot be given a new "
                    f"key that {name} never held. Nothing was changed. The vault was tampered with: run "
                    "'workstation verify' and restore that testimony's entry from a backup first.")
        for tid, entry in todo:
            self._rekey(catalog, tid, entry, removed)
        return len(todo)

    def _keyholders(self, catalog: CatalogData) -> list[tuple[Path, accounts.KeySlot | None]]:
        """The slots that receive the new master key at a rotation: listed in the account list and, in format 2,
        certified by an editor (or pending after the upgrade). An uncertified entry someone wrote into the list
        with the master key — an alias of a removed translator — is left out (and reported by verify)."""
        slots = [(p, s) for p, s in slot_files(self.path).load_all() if s is not None and listed(catalog, s)]
        trusted = self._trusted(catalog)
        if trusted is None:
            return list(slots)
        listed_accounts, removed = catalog.get("accounts", {}), self._removed()
        return [(p, s) for p, s in slots if s is not None and s.user in listed_accounts and s.user not in removed and (
            s.user in trusted or signing.pending_ok(s.user, listed_accounts[s.user], trusted))]

    def _per_catalog(self, name: str, compute: Callable[[CatalogData], T]) -> T:
        """``compute(the current catalog)``, computed again only once the catalog has been written since (its
        epoch and version in the store index): every record read needs the account list, and decrypting and
        parsing the whole catalog for each one adds up. Only what follows from signatures is cached this way."""
        stamp = self._catalog.stamp()
        cached = self._catalog_memo.get(name)
        if stamp is None or cached is None or cached[0] != stamp:
            cached = (stamp or ("", -1), compute(self._catalog.current()))
            self._catalog_memo[name] = cached
        return cast(T, cached[1])

    def _trusted(self, catalog: CatalogData | None = None) -> dict[str, dict[str, Any]] | None:
        """The accounts (current and former) whose certificates chain to the root; None in a format-1 vault.
        Cached per account list (checking every certificate again for every record read would add up)."""
        if self._root is None:
            return None
        if catalog is None:
            return self._per_catalog("trusted", self._trusted)
        listed_accounts = {**catalog.get("former", {}), **catalog.get("accounts", {})}
        marker = to_json(listed_accounts).decode("utf-8", "replace")
        if self._trusted_cache is None or self._trusted_cache[0] != marker:
            self._trusted_cache = (marker, signing.trusted_keys(listed_accounts, self._root))
        return self._trusted_cache[1]

    def _testimony_key(self, tid: str, entry: Entry) -> bytes:
        """This account's key to a testimony, refused unless the catalog entry is signed by its interviewer or
        an editor and the key is the one that signature commits to (format 2)."""
        key = self._catalog.testimony_key(tid, entry)
        if "wraps" in entry and self._root is not None:
            problem = signing.entry_problem(tid, entry, key, self._trusted() or {})
            if problem:
                raise IntegrityError(f"Testimony {entry.get('case')}: {problem}. Nothing was read; run "
                                     "'workstation verify' and tell an editor.")
        return key

    def _testimony_keys(self, tid: str, entry: Entry) -> KeyEpochs:
        """This account's key to a testimony and, after the testimony was re-keyed, its earlier keys with their
        retirement generations (sealed under the current one in the catalog entry): what reads try, current first."""
        key = self._testimony_key(tid, entry)
        return ((key, None), *prior_keys(tid, key, entry))

    def _after_rekey(self, case_code: str, entry: Entry, version: int,
                     write_again: Callable[[str, Entry, int], int], read_at: tuple[str, int] | None) -> int:
        """A removal elsewhere may have re-keyed the testimony between reading its entry (when the catalog was at
        ``read_at``) and the write, which is then under the retired key and refused on read: write it again under
        the new key (nothing is lost). The catalog is decrypted again only if it was written since."""
        if read_at is not None and self._catalog.stamp() == read_at:
            return version
        tid, now = self._entry(case_code)
        return version if now.get("cert") == entry.get("cert") else write_again(tid, now, version)

    def _readers(self, catalog: CatalogData, owner: str, removed: set[str] | None = None) -> dict[str, bytes]:
        """Who receives a wrap of a testimony key (``catalog.recipients``), never an account editors removed —
        even one whose still valid certificate someone holding the master key moved back into the list."""
        gone = removed if removed is not None else (self._removed() if self._root is not None else set())
        return {u: k for u, k in recipients(catalog, owner, self._root).items() if u not in gone}

    def _rekey(self, catalog: CatalogData, tid: str, entry: Entry, removed: set[str]) -> None:
        """A new key for a testimony a removed account could read, wrapped to its remaining readers and certified
        by this editor; the earlier keys sealed under it (everything written before stays readable, nothing is
        re-encrypted). What is written from now on is under a key the removed person never held."""
        signer = self._catalog.signer()
        assert signer is not None
        current, *earlier = self._testimony_keys(tid, entry)
        written = frozenset(d for kind in record_kinds(entry)
                            if (d := self._store.record_file_digest(rid(tid, kind))) is not None)
        keys = [(current[0], Retired(self._store.generation(), written)),
                *((k, r) for k, r in earlier if r is not None)]
        new = os.urandom(32)
        entry["wraps"] = wrap_testimony_key(tid, new, self._readers(catalog, entry["owner"], removed))
        entry["prior"] = seal_prior_keys(tid, new, keys)
        entry["cert"] = signing.sign_entry(tid, entry, new, self.user, signer)

    # ---- signed records (format 2; docs/VAULT-FORMAT.md "Signed records")

    def _records_signed(self) -> bool:
        """Whether every record must carry a valid signature: the catalog's ``signed_records`` switch (format 2:
        new and upgraded vaults, and older format-2 vaults once an editor has unlocked). The one place that
        decides it. Once this session has seen it on, it stays on: a switch turned off meanwhile is not followed."""
        if self._root is None:
            return False
        if not self._signed_records:
            self._signed_records = self._catalog.current().get("signed_records") is True or self._checkpoint_signed()
        return self._signed_records

    def _checkpoint_signed(self) -> bool:
        """Whether the editors' signed checkpoint says this vault requires signed records (read once per session:
        the catalog's switch can be turned off by anyone holding the master key, the checkpoint's cannot)."""
        if self._checkpoint_says_signed is None:
            try:
                cp = checkpoint.read(self.path)
                valid = cp is not None and not checkpoint.signature_problem(cp, self._editor_keys(current=True))
                self._checkpoint_says_signed = bool(valid and cp is not None and cp.signed_records)
            except (checkpoint.CheckpointError, WorkstationError):
                self._checkpoint_says_signed = False
        return self._checkpoint_says_signed

    def _record_signer(self) -> tuple[str, Ed25519PrivateKey] | None:
        """Who signs this session's record writes (None in format 1: records stay unsigned there)."""
        signer = self._catalog.signer()
        return None if signer is None or self._root is None else (self.user, signer)

    def _record_signers(self) -> Signers | None:
        """Whose signatures on records count (None in format 1): every trusted account, current or former (a
        removed account's records keep standing, as its audit entries and approvals do), and an account converted
        at the upgrade that no editor has certified yet (its pending certificate fixes its name, role and X25519
        key; its signing key is taken on trust until the certification)."""
        return self._per_catalog("signers", self._signers_of) if self._root is not None else None

    def _signers_of(self, catalog: CatalogData) -> Signers | None:
        trusted = self._trusted(catalog)
        if trusted is None:
            return None
        gone = self._removed() | set(catalog.get("former", {}))  # a removed account is never taken on trust again
        pending = {u: e for u, e in catalog.get("accounts", {}).items()
                   if u not in trusted and u not in gone and "ed25519" in e and signing.pending_ok(u, e, trusted)}
        return {**pending, **trusted}

    def _require_signed_records(self) -> None:
        """As a certified editor, switch signed records on where they are not yet required (a format-2 vault of the
        version before them, or one just upgraded from format 1): every unsigned record is read, checked as far as
        it can be, and written again signed by this editor; then the switch; then one signed ``records_signed``
        entry (counts only). If the signed history shows that this vault required signed records already, the
        switch was turned off by someone holding the master key: it goes back on and nothing is signed (that
        would put this editor's name on whatever was written unsigned meanwhile)."""
        if self._catalog.current().get("signed_records") is True or self._record_signer() is None \
                or self.user not in (self._trusted() or {}):
            return
        if self._checkpoint_signed() or self._signed_records_marked() or not self._history_intact():
            # on without signing anything: a switch turned off, or a history that cannot show it never was on
            self._switch_signed_records_on()
            self._audit("signed_records_restored")
            return
        counts = self._sign_every_record()
        self._switch_signed_records_on()
        self._audit("records_signed", signed=counts["signed"], unchanged=counts["unchanged"], failed=counts["failed"])

    def _history_intact(self) -> bool:
        """Whether the whole audit log verifies (every entry in place and signed, head and anchor agreeing) and no
        checkpoint is damaged: only then may an editor take a vault without signed records for one made before
        them and sign its records in their own name (a log cut or edited to hide the mark must not launder)."""
        signers = {u: unb64(e["ed25519"]) for u, e in (self._record_signers() or {}).items() if e.get("ed25519")}
        try:
            anchor = self._store.anchor(AUDIT_ANCHOR)
        except crypto.CryptoError:
            return False
        root = self._root[0] if self._root is not None else ""
        if self._log().verify(anchor, signers, root):
            return False
        try:
            if checkpoint.read(self.path) is None:
                return True  # the version before checkpoints (an intact, signed log without the mark says so)
        except checkpoint.CheckpointError:
            return False
        catalog = self._catalog.current()
        return not checkpoint_problems(self._catalog, catalog, self._trusted(catalog) or {}, slot_files(self.path))

    def _signed_records_marked(self) -> bool:
        """Whether an editor's signed audit entry says that this vault requires signed records."""
        editors = {u: unb64(e["ed25519"]) for u, e in (self._trusted() or {}).items() if e.get("role") == "editor"}
        return any(e.action == "records_signed" or (e.action == "vault_created" and e.details.get("records") == "signed")
                   for e in self._log().signed_entries(editors))

    def _switch_signed_records_on(self) -> None:
        with self._catalog.change() as catalog:
            catalog["signed_records"] = True
        self._signed_records = True

    def _sign_every_record(self) -> dict[str, int]:
        """Every unsigned record written again, signed by this editor: {"signed", "unchanged", "failed"} counts
        (failed: damaged, refused or changed meanwhile, each reported by verify if it stays wrong)."""
        counts = {"signed": 0, "unchanged": 0, "failed": 0}
        for tid, entry in self._catalog.current()["testimonies"].items():
            refs = [record_ref(tid, entry, kind) for kind in record_kinds(entry)]
            try:
                keys = self._records.keys_of(tid, entry)
            except WorkstationError:
                counts["failed"] += len(refs)
                continue
            for ref in refs:
                self._sign_again(counts, keys, ref)
        self._sign_again(counts, ((self._catalog.data_key(), None),), GLOSSARY_REF)
        return counts

    def _sign_again(self, counts: dict[str, int], keys: KeyEpochs, ref: RecordRef) -> None:
        try:
            outcome = "signed" if self._records.sign_again(keys, ref) else "unchanged"
        except WorkstationError:
            outcome = "failed"
        counts[outcome] += 1

    def _sign_approval(self, case_code: str, approval: tm.Approval | None) -> tm.Approval | None:
        """A new approval made by this editor, signed (vault format 2); a format-1 account leaves it unsigned."""
        signer = self._catalog.signer()
        if approval is None or signer is None or approval.user != self.user:
            return approval
        signature = signing.sign(signer, signing.approval_payload(case_code, approval.user, approval.at,
                                                                   approval.content_hash))
        return dataclasses.replace(approval, signature=signature, ed25519=b64(signing.raw_public(signer)))

    def approval_problem(self, t: Testimony) -> str | None:
        """Why an approved testimony's approval does not hold as signed, or None (also None in a format-1
        vault, where approvals are unsigned): the signer must be a trusted editor, the key theirs, the signature
        valid over the case code, user, time and content hash."""
        trusted = self._trusted()
        if trusted is None:
            return None
        assert self._root is not None
        return approval_signature_problem(t, trusted, approval_history(self._log(), trusted, self._root[0]))

    def approval_signer(self, t: Testimony) -> dict[str, str] | None:
        """What an export manifest records of the editor who signed ``t``'s approval: role, both public keys
        (base64) and the fingerprint people compare in person. None in a format-1 vault or when unsigned."""
        if t.approval is None or not t.approval.signature:
            return None
        card = self._account_card(t.approval.user)
        return None if card is None else {k: v for k, v in card.items() if k != "user"}

    def _account_card(self, user: str) -> dict[str, str] | None:
        """A trusted account as a manifest names it: user, role, both public keys (base64), fingerprint."""
        trusted = self._trusted()
        account = trusted.get(user) if trusted is not None else None
        if account is None:
            return None
        fp = signing.fingerprint(user, str(account["role"]), unb64(account["public_key"]), unb64(account["ed25519"]))
        return {"user": user, "role": str(account["role"]), "x25519": str(account["public_key"]),
                "ed25519": str(account["ed25519"]), "fingerprint": fp}

    def export_signer(self) -> dict[str, str] | None:
        """This account as an export manifest names its signer; None in a format-1 vault or before this account
        has a certified signing key."""
        return self._account_card(self.user) if self._catalog.signer() is not None else None

    def sign(self, payload: bytes) -> str:
        """This account's Ed25519 signature (base64) of ``payload``, prefixed by its caller with a purpose."""
        signer = self._catalog.signer()
        if signer is None:
            raise PermissionDeniedError("This account has no signing key yet: unlock once more after the upgrade.")
        return signing.sign(signer, payload)

    # ---- testimonies

    def _access(self, case_code: str, action: Action, catalog: CatalogData | None = None) -> tuple[str, Entry]:
        self.require(action)
        tid, entry = self._entry(case_code, catalog)
        permissions.require_access(self.role, self.user, entry["owner"], action, case_code)
        return tid, entry

    def list_testimonies(self) -> list[TestimonySummary]:
        self.require(Action.VIEW)
        out = []
        for tid, entry in self._catalog.current()["testimonies"].items():
            if not permissions.can_read(self.role, self.user, entry["owner"]):
                continue
            t, _v = self._records.load_testimony(tid, entry)
            infos = [self._records.recording_info(tid, entry, n) for n in range(1, part_count(entry) + 1)]
            out.append(TestimonySummary(
                case_code=entry["case"], status=t.status, owner=entry["owner"], created=entry["created"],
                duration_s=sum(i.duration_s for i in infos if i) if infos else None, n_segments=len(t.segments),
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
        with self._catalog.change() as catalog:
            if any(e["case"] == code for e in catalog["testimonies"].values()):
                raise tm.EditError(f"There is already a testimony with case code {code}. Choose another code.")
            readers = self._readers(catalog, self.user)
            readers.setdefault(self.user, self._catalog.public_key())  # the creator always reads their own
            entry = {"wraps": wrap_testimony_key(tid, key, readers), "case": code, "owner": self.user,
                     "created": tm.now_iso(), "extras": []}
            signer = self._catalog.signer()
            if signer is not None:  # format 2: the creator vouches for the case code, owner and key
                entry["cert"] = signing.sign_entry(tid, entry, key, self.user, signer)
            self._records.save_testimony(tid, entry, t, expected_version=0)
            catalog["testimonies"][tid] = entry
        self._audit("testimony_created", code)
        return t

    def load(self, case_code: str) -> Testimony:
        """The latest saved testimony; every call is a 'view' in the audit log."""
        tid, entry = self._access(case_code, Action.VIEW)
        t, version = self._records.load_testimony(tid, entry)
        self._audit("view", case_code, what="testimony", version=version)
        return t

    def update(self, case_code: str, fn: Callable[[Testimony], T], *, action: str, details: dict | None = None) -> T:
        """Load the latest version, apply ``fn`` (a ``testimony.py`` operation), save with compare-and-swap.

        A concurrent save in between raises ``ConflictError`` (nothing is overwritten). The role is checked
        against what ``fn`` actually changed: segments → edit, metadata → edit_metadata, approval → approve.
        """
        read_at = self._catalog.stamp()
        tid, entry = self._access(case_code, Action.VIEW)
        t, version = self._records.load_testimony(tid, entry)
        before = t.to_dict()
        n_revisions = len(t.revisions)
        result = fn(t)
        after = t.to_dict()
        if after == before:
            return result
        for needed in _actions_for_change(before, after):
            permissions.require_access(self.role, self.user, entry["owner"], needed, case_code)
        if before["approval"] != after["approval"]:
            unsigned, t.approval = t.approval, self._sign_approval(case_code, t.approval)
            if result is unsigned:  # approve() returns the approval: hand back the signed one
                result = cast(T, t.approval)
        try:
            new_version = self._records.save_testimony(tid, entry, t, expected_version=version)
            new_version = self._after_rekey(case_code, entry, new_version, lambda tid_, now, v:
                                            self._records.save_testimony(tid_, now, t, expected_version=v), read_at)
        except ConflictError:
            raise ConflictError(
                f"Someone else saved testimony {case_code} while you were working on it; your change was not "
                "saved over theirs. Reload, check their change, and apply yours again."
            ) from None
        self._audit(action, case_code, **_change_details(details, new_version, t.revisions[n_revisions:]))
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

    def recording_info(self, case_code: str) -> RecordingInfo | None:
        """Part 1 (the only one of a one-file testimony), or None before anything was sealed."""
        tid, entry = self._access(case_code, Action.VIEW)
        return self._records.recording_info(tid, entry)

    def recording_parts(self, case_code: str) -> list[RecordingInfo]:
        """Every sealed recording of the testimony, in order (parts of one interview); empty before intake."""
        tid, entry = self._access(case_code, Action.VIEW)
        found = [self._records.recording_info(tid, entry, part) for part in range(1, part_count(entry) + 1)]
        return [info for info in found if info is not None]

    def ingest_recording(self, case_code: str, data: bytes, filename: str, *, container: str,
                         duration_s: float) -> RecordingInfo:
        """Seal the original bytes (chunked, encrypted) as the evidence copy; record its sha256.

        The vault does not parse media: `container` and `duration_s` come from the intake check of the upload
        (`services.intake`, which runs it in the sealed worker before anything is created).
        """
        return self._seal_part(case_code, data, filename, container, duration_s, append=False)[1]

    def add_recording_part(self, case_code: str, data: bytes, filename: str, *, container: str,
                           duration_s: float) -> tuple[int, RecordingInfo]:
        """Seal one more part of the interview after the last one: (its part number, its information).

        Only before processing: a transcript made without this part would not match the recordings. The parts
        already sealed never change.
        """
        return self._seal_part(case_code, data, filename, container, duration_s, append=True)

    def _seal_part(self, case_code: str, data: bytes, filename: str, container: str, duration_s: float, *,
                   append: bool) -> tuple[int, RecordingInfo]:
        tid, entry = self._access(case_code, Action.INGEST)
        sha, duration = sha256_hex(data), float(duration_s)
        if append:
            t, _v = self._records.load_testimony(tid, entry)
            if t.status not in (Status.CREATED, Status.INGESTED):
                raise tm.EditError(
                    f"Testimony {case_code} was already processed ({t.status}); a part added now would be missing "
                    "from its transcript. Nothing was added. Create a new testimony with all the parts instead."
                )
        with self._catalog.change() as catalog:  # two uploads for one case at once: the second is refused
            current = catalog["testimonies"].get(tid)
            if current is None:
                raise NotFoundError(f"Testimony {case_code} was shredded meanwhile.")
            part = part_count(current) + 1 if append else 1
            if append and part == 1:
                raise tm.EditError(f"Testimony {case_code} has no recording yet: upload its first part first.")
            self._refuse_resealing(tid, current, case_code, part)
            info = RecordingInfo(sha256=sha, size=len(data), duration_s=duration, container=container,
                                 filename=Path(filename).name, ingested_at=tm.now_iso(), ingested_by=self.user)
            self._records.seal_original(tid, current, data, info, part)
            # recorded in the catalog too: its absence later is deletion, never "no recording yet"
            if part == 1:
                current["original"] = {"sha256": sha, "size": len(data)}
            else:
                current["parts"] = [*current.get("parts", []), {"sha256": sha, "size": len(data)}]

        t, version = self._records.load_testimony(tid, entry)
        if part == 1 or t.status is Status.CREATED:
            t.status = Status.INGESTED if t.status is Status.CREATED else t.status
            self._records.save_testimony(tid, entry, t, expected_version=version)
        action = "recording_ingested" if part == 1 else "recording_part_added"
        numbered: dict[str, Any] = {"part": part} if part > 1 else {}
        self._audit(action, case_code, **numbered, sha256=sha, size=len(data), duration_s=round(duration, 2))
        return part, info

    def _refuse_resealing(self, tid: str, current: Entry, case_code: str, part: int) -> None:
        suffix = part_suffix(part)
        if (part == 1 and current.get("original")) or self._records.recording_info(tid, current, part) is not None \
                or self._store.ever_written(rid(tid, "recording-info" + suffix)) \
                or self._store.ever_written(rid(tid, "original" + suffix)):
            if part == 1:
                raise tm.EditError(
                    f"Testimony {case_code} already has (or had) its sealed original recording; the evidence copy "
                    "never changes. Add another file as a further part of it, or create a new testimony."
                )
            raise tm.EditError(f"Testimony {case_code} already has (or had) a part {part}; nothing was added.")

    def read_recording(self, case_code: str, part: int = 1) -> bytes:
        """The original bytes of one part (the first by default), checked against the sha256 recorded at intake;
        a 'view' in the audit log."""
        tid, entry = self._access(case_code, Action.VIEW)
        info = self._records.recording_info(tid, entry, part) if part >= 1 else None
        if info is None:
            raise NotFoundError(f"Testimony {case_code} has no recording yet." if part == 1 else
                                f"Testimony {case_code} has no part {part}.")
        data = b"".join(self._records.iter_original(tid, entry, part))
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise IntegrityError(f"The recording of {part_label(case_code, part)} does not match the hash recorded "
                                 "at intake.")
        numbered: dict[str, Any] = {"part": part} if part > 1 else {}
        self._audit("view", case_code, what="recording", **numbered)
        return data

    # ---- processing, approval

    def store_processing_result(self, case_code: str, result: PipelineResult) -> Testimony:
        """Save a pipeline result as the draft (refused once anyone has edited the transcript)."""
        read_at = self._catalog.stamp()
        tid, entry = self._access(case_code, Action.PROCESS)
        t, version = self._records.load_testimony(tid, entry)
        _apply_processing(t, case_code, result)
        try:
            new_version = self._records.save_testimony(tid, entry, t, expected_version=version)
            new_version = self._after_rekey(case_code, entry, new_version, lambda tid_, now, v:
                                            self._records.save_testimony(tid_, now, t, expected_version=v), read_at)
        except ConflictError:
            raise ConflictError(f"Testimony {case_code} changed while processing finished; run processing again.") from None
        self.save_extra(case_code, "processing", {
            "language": result.language, "language_probability": result.language_probability,
            "duration_s": result.duration_s, "warnings": list(result.warnings),
            "models": dict(result.models), "at": tm.now_iso(), "by": self.user,
        })
        if result.turns:  # who spoke when, overlaps included: the review timeline shows them
            self.save_extra(case_code, "speakers", {"turns": [turn.to_dict() for turn in result.turns]})
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
        history["unapprovals"].append({"user": self.user, "at": tm.now_iso(), "reason": reason.strip()})
        self.save_extra(case_code, "approval-history", history)

    # ---- extras and glossary

    def load_extra(self, case_code: str, name: str) -> dict | None:
        tid, entry = self._access(case_code, Action.VIEW)
        found = self._records.read(self._records.keys_of(tid, entry), record_ref(tid, entry, "extra:" + name))
        return found[0] if found else None

    def save_extra(self, case_code: str, name: str, data: dict) -> None:
        """Write one per-testimony record; the permission depends on its kind (``permissions.RECORD_WRITERS``:
        redactions and approval history by editors, job records by who may process); every write is audited."""
        read_at = self._catalog.stamp()
        tid, entry = self._access(case_code, permissions.record_write_action(name))
        ref, key = record_ref(tid, entry, "extra:" + name), self._records.key_of(tid, entry)
        if name not in entry.get("extras", []):
            with self._catalog.change() as catalog:
                current = catalog["testimonies"].get(tid)
                if current is None:
                    raise NotFoundError(f"Testimony {case_code} was shredded meanwhile.")
                current.setdefault("extras", []).append(name)
        for _attempt in range(5):  # last writer wins for extras (job state, pseudonym table), never a torn write
            # the version from the index, not from reading the record: a record refused on read (signed by
            # someone who may not write it) can still be written again by someone who may
            try:
                version = self._records.write(key, ref, data, expected_version=self._store.record_version(ref.record_id))
                version = self._after_rekey(case_code, entry, version, lambda tid_, now, v: self._records.write(
                    self._records.key_of(tid_, now), ref, data, expected_version=v), read_at)
            except ConflictError:
                continue
            self._audit("record_saved", case_code, record=name, version=version)
            return
        raise ConflictError(f"The {name!r} record of {case_code} keeps changing; try again.")

    def load_glossary(self) -> Glossary:
        self._catalog.master()
        found = self._records.read(self._catalog.data_key(), GLOSSARY_REF)
        return Glossary.from_dict(found[0]) if found else Glossary()

    def save_glossary(self, g: Glossary) -> None:
        self.require(Action.GLOSSARY)
        version = self._store.record_version(GLOSSARY_REF.record_id)  # as save_extra: a refused one can be replaced
        self._records.write(self._catalog.data_key(), GLOSSARY_REF, g.to_dict(), expected_version=version)
        self._audit("glossary_saved", terms=len(g.terms), keep=len(g.keep), sensitive=len(g.sensitive))

    # ---- shred

    def shred(self, case_code: str) -> None:
        """Consent withdrawn: destroy the testimony's key, then its data. Irreversible."""
        tid, entry = self._access(case_code, Action.SHRED)
        # The testimony's own record (authenticated under its key) must carry this case code: a catalog whose
        # case codes were swapped must never make a shred destroy another witness's testimony.
        t, _version = self._records.load_testimony(tid, entry)
        if t.meta.case_code != case_code:
            raise IntegrityError(f"The catalog entry of {case_code} points to the testimony of {t.meta.case_code}: "
                                 "the catalog was altered. Nothing was shredded; run 'workstation verify'.")
        with vault_lock(self.path):
            self._catalog.follow_epoch()
            catalog, _version = self._catalog.read()
            catalog["testimonies"].pop(tid, None)
            # A new master key and epoch for the catalog without the entry: an older copy of the catalog (a
            # sync copy, a snapshot, freed blocks) is sealed under a key no slot holds any more (finding 6).
            self._catalog.rotate(None, self._keyholders(catalog), catalog)  # the key is gone here
        self._records.delete_all(tid, entry)
        self._audit("shred", case_code)
        self._audit("key_rotation", reason="shred")

    # ---- verification and backup

    def verify(self) -> VerifyReport:
        """Walk the audit chain, every record and blob's authentication and every original's sha256."""
        self.require(Action.VERIFY)
        report = VerifyReport()
        if check_vault(report, self._catalog, self._records, slot_files(self.path), self.load_glossary, self._root):
            self._audit("verified", problems=len(report.problems))
        return report

    def backup(self, out: Path | str) -> Path:
        """Write one archive of the whole vault (already ciphertext) with an authenticated manifest."""
        self.require(Action.BACKUP)
        target = backup.target_path(out, self.path)
        self._audit("backup", archive=target.name)  # dropped unless the name is id-like (_safe_detail)
        with vault_lock(self.path):
            files = backup.vault_files(self.path)
            manifest = backup.manifest(files, by=self.user, epoch=self._catalog.epoch, audit_head=self._log().head(),
                                       audit_checkpoint=self.audit_checkpoint())
            backup.write_archive(self.path, target, files, manifest, self._catalog.audit_key())
        return target


# --- helpers ------------------------------------------------------------------------------------------


def _safe_detail(value: Any) -> bool:
    """Audit details must be content-free: numbers, booleans, or short id-like ASCII strings."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return True
    return isinstance(value, str) and bool(_SAFE_DETAIL.match(value))


def _change_details(details: dict | None, version: int, revisions: list[tm.Revision]) -> dict[str, Any]:
    """The audit details of an update: the caller's, overridden by what the change itself shows."""
    changed = [(r.segment_id, r.revision, r.field) for r in revisions]
    info: dict[str, Any] = dict(details or {})
    info.update({k: v for k, v in {
        "version": version,
        "segment_ids": "|".join(s for s, _r, _f in changed if s)[:80] or None,
        "revisions": "|".join(str(r) for _s, r, _f in changed)[:80] or None,
        "fields": "|".join(sorted({f for _s, _r, f in changed}))[:80] or None,
    }.items() if v is not None})
    return info


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


def _apply_processing(t: Testimony, case_code: str, result: PipelineResult) -> None:
    """The result becomes the draft; refused once a person has edited (their work would be replaced)."""
    tm._require_editable(t)
    if t.revisions:
        raise tm.EditError(
            f"Testimony {case_code} already has {len(t.revisions)} human edit(s); a new processing result "
            "would replace them, so it was not stored. Nothing was lost."
        )
    t.segments = list(result.segments)
    t.part_starts = list(result.part_starts) if len(result.part_starts) > 1 else []
    t.models = {str(k): str(v) for k, v in dict(result.models).items()}
    t.models["language"] = str(result.language or "")
    t.status = Status.DRAFT
    for label in result.speakers:  # "SPEAKER_1" → "Speaker 1": a label people can rename once per testimony
        t.speaker_names.setdefault(label, label.replace("_", " ").capitalize())
