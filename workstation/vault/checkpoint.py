"""Editors' signed checkpoints of the audit log (vault format 2): a head an insider cannot lower, and the list of
removed accounts, which nobody but an editor can shorten.

Why: the log's ``head`` and the store index's anchor are authenticated under the audit key, which every
account holds, so a translator with her own code could cut off the log's tail and write a matching head and
anchor. She cannot sign as an editor. ``audit/checkpoint`` is written by every editor session after each of
its own appends (under the log's lock, so checkpoints never go backwards between processes)::

    {"seq": N, "hash": "<sha256 of line N>", "at": "<time>", "by": "<editor>", "removed": [names],
     "slots": {name: "<sha256 of the salt of that account's current key slot>"}, "signed_records": bool,
     "sig": b64}

``sig`` is the editor's Ed25519 signature of ``"tw-audit-checkpoint|" + canonical JSON of the other fields``.
``removed`` carries every account removed so far (signed revocations): the previous checkpoint's list, or,
when that one does not verify, the ``user_removed`` entries editors signed in the log, plus the removal being
recorded. What it gives (``problems`` checks each):

* the log cannot end before the checkpoint's entry, nor hold another entry there;
* the checkpoint cannot be put back from an older copy while the log keeps the editor entries made after it
  (every editor entry moves it on; one editor entry of slack for a crash between the line and the checkpoint);
* a removed account cannot be put back into the account list: it is in ``removed`` (and in the log), and its
  unlock is refused;
* an account's older key slot (an old passphrase) cannot be put back: ``slots`` records, from the
  ``passphrase_changed`` entries each account signed, which slot is current, and unlock refuses another.

What it does not give: someone who kept older copies of both the log and the checkpoint can put both back
together (losing every entry made since, editors' included): that is a rollback, which the audit head
recorded in backup and export manifests shows. Entries of non-editors after the last editor entry can be cut.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workstation.platform.fileio import write_file_atomic
from workstation.vault import signing
from workstation.vault.audit import AUDIT_DIR, AuditEntry

__all__ = ["Checkpoint", "AccountState", "CHECKPOINT_FILE", "read", "write", "signature_problem", "removed_in",
           "salt_digest", "problems"]

CHECKPOINT_FILE = "checkpoint"
MAX_REMOVED = 10_000  # a planted file cannot make every unlock parse an unbounded list
MAX_BYTES = 1 << 20
MAX_NAME = 64  # account names are short (accounts.check_user_name)
Editors = dict[str, bytes]  # editor name -> raw Ed25519 public key (from the trusted account list)


class CheckpointError(ValueError):
    """The checkpoint file exists but cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    by: str
    removed: tuple[str, ...]
    slots: dict[str, str] = field(default_factory=dict)
    sig: str = ""
    signed_records: bool = False  # the vault requires signed records (a switch no catalog edit can turn off)

    def payload(self) -> bytes:
        fields = {"seq": self.seq, "hash": self.hash, "at": self.at, "by": self.by, "removed": list(self.removed),
                  "slots": dict(sorted(self.slots.items())), "signed_records": self.signed_records}
        return b"tw-audit-checkpoint|" + json.dumps(fields, ensure_ascii=False, separators=(",", ":"),
                                                    sort_keys=True).encode("utf-8")

    def summary(self) -> dict[str, Any]:
        """What backup and export manifests record of it."""
        return {"seq": self.seq, "hash": self.hash, "by": self.by, "at": self.at}


def path_in(root: Path) -> Path:
    return Path(root) / AUDIT_DIR / CHECKPOINT_FILE


def _read_small(path: Path) -> bytes:
    """A regular file of at most MAX_BYTES, opened without following links or blocking on a pipe."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise OSError("not a small regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def read(root: Path) -> Checkpoint | None:
    """The checkpoint as stored (None when there is none); CheckpointError when it is not a checkpoint."""
    try:
        raw = _read_small(path_in(root))
    except FileNotFoundError:
        return None
    except OSError as exc:  # a folder, a pipe or a device planted there: damaged, never a hang
        raise CheckpointError("The audit checkpoint is not a regular file (replaced by something else).") from exc
    try:
        data = json.loads(raw)
        removed, slots = data["removed"], data["slots"]
        if not isinstance(removed, list) or len(removed) > MAX_REMOVED or not all(
                isinstance(n, str) and len(n) <= MAX_NAME for n in removed):
            raise TypeError("removed")
        if not isinstance(slots, dict) or len(slots) > MAX_REMOVED or not all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= MAX_NAME and len(v) <= 64
                for k, v in slots.items()):
            raise TypeError("slots")
        if not isinstance(data["signed_records"], bool):
            raise TypeError("signed_records")
        return Checkpoint(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["by"]),
                          tuple(removed), dict(slots), str(data["sig"]), data["signed_records"])
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise CheckpointError("The audit checkpoint file is damaged or was edited.") from exc


def write(root: Path, entry: AuditEntry, signer: tuple[str, Ed25519PrivateKey], state: AccountState,
          signed_records: bool = False) -> Checkpoint:
    """Sign and store the checkpoint of ``entry`` (just appended by ``signer``, an editor)."""
    cp = Checkpoint(entry.seq, entry.hash, entry.at, signer[0], tuple(sorted(state.removed)), dict(state.slots),
                    signed_records=signed_records)
    cp = dataclasses.replace(cp, sig=signing.sign(signer[1], cp.payload()))
    data = {**json.loads(cp.payload().split(b"|", 1)[1]), "sig": cp.sig}
    write_file_atomic(path_in(root), [json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")])
    return cp


def signature_problem(cp: Checkpoint, editors: Editors) -> str | None:
    """Why ``cp`` is not a checkpoint signed by an editor of the (trusted) account list, or None."""
    key = editors.get(cp.by)
    if key is None:
        return f"The audit checkpoint names {cp.by!r}, who is not a current editor in the vault's account list (forged)."
    if not signing.signature_ok(key, cp.payload(), cp.sig):
        return f"The audit checkpoint's signature by {cp.by!r} does not verify: it was forged or edited."
    if cp.by in cp.removed:
        return f"The audit checkpoint is signed by {cp.by!r}, whose account it lists as removed (forged)."
    return None


def salt_digest(salt: bytes) -> str:
    """How checkpoints and ``passphrase_changed`` entries name an account's key slot (not the salt itself)."""
    return hashlib.sha256(b"tw-slot-salt|" + salt).hexdigest()[:32]


@dataclass
class AccountState:
    """What the signed history says of the accounts: who was removed, which key slot of each is current."""
    removed: set[str] = field(default_factory=set)
    slots: dict[str, str] = field(default_factory=dict)
    since: int = 0  # the checkpoint's entry: what it carries is the state up to there
    slot_seq: dict[str, int] = field(default_factory=dict)  # the entry each account's current slot comes from

    @classmethod
    def of(cls, cp: Checkpoint | None) -> AccountState:
        return cls(set(cp.removed), dict(cp.slots), cp.seq) if cp is not None else cls()

    def follow(self, entries: Iterable[AuditEntry], editors: Editors) -> AccountState:
        """Apply entries with checked signatures, in any order and with copies among them (after tampering the
        whole log is read): removals signed by an editor not removed before, and each account's passphrase
        change with the highest (signed, so authentic) number wins — a copied-in older change does not."""
        for e in entries:
            subject, salt = str(e.details.get("subject") or ""), str(e.details.get("slot") or "")
            if e.action == "user_removed" and e.signer in editors and e.signer not in self.removed and subject \
                    and subject != e.signer:
                self.removed.add(subject)
            elif e.action == "passphrase_changed" and e.signer == e.user and salt \
                    and e.seq > max(self.since, self.slot_seq.get(e.user, 0)):
                self.slots[e.user], self.slot_seq[e.user] = salt, e.seq
        return self


def removed_in(entries: Iterable[AuditEntry], editors: Editors) -> list[tuple[int, str]]:
    """(seq, name) of every ``user_removed`` entry signed by an editor (``entries`` with checked signatures)."""
    return [(e.seq, str(e.details.get("subject"))) for e in entries
            if e.action == "user_removed" and e.signer in editors and e.details.get("subject")]


def problems(cp: Checkpoint | None, signed: list[AuditEntry], hashes: dict[int, str], last: int,
             editors: Editors, current: Editors) -> list[str]:
    """The log (``signed``: its entries whose signatures verify; ``hashes``: seq -> hash of every readable
    entry; ``last``: its highest seq) against the editors' checkpoint (signed by one of the ``current`` editors)."""
    editor_entries = [e for e in signed if e.signer in editors]
    if cp is None:
        return ["The audit checkpoint signed by editors is missing (deleted?): the log's end cannot be checked "
                "against it."] if editor_entries else []
    problem = signature_problem(cp, current)
    if problem:
        return [problem]
    out = []
    if cp.seq > last:
        out.append(f"The end of the audit log was cut off: editor {cp.by}'s signed checkpoint ({cp.at}) records "
                   f"entry {cp.seq}, the log ends at entry {last}.")
    elif hashes.get(cp.seq, cp.hash) != cp.hash:
        out.append(f"Audit entry {cp.seq} is not the one editor {cp.by}'s signed checkpoint records: the log "
                   "was replaced.")
    later = [e for e in editor_entries if e.seq > cp.seq]
    if len(later) > 1:
        out.append(f"The audit checkpoint (entry {cp.seq}) is older than the editors' entries in the log (up to "
                   f"entry {later[-1].seq}): it was put back from an older copy.")
    missing = sorted({name for seq, name in removed_in(signed, editors) if seq <= cp.seq} - set(cp.removed))
    if missing:
        out.append(f"The audit checkpoint leaves out the removal of {', '.join(missing)} recorded before it: it was "
                   "signed by an account that should not sign any more (a removed editor's key?).")
    return out
