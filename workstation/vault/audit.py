"""The audit log: append-only, hash-chained, authenticated, encrypted; verification names what is wrong.

Files (under ``<vault>/audit/``; ``docs/VAULT-FORMAT.md`` has the exact formats)
-------------------------------------------------------------------------------
* ``log`` — one JSON line per entry: ``{"seq", "prev", "body", "mac"}``.
  ``body`` is the sealed entry (``crypto.seal`` under ``enc = subkey(audit key, "audit-enc")``, associated
  data ``"tw-audit|<seq>|<prev>"``): time, user, action, case code and details. Case codes are pseudonyms,
  but they still never appear in plaintext on disk.
  ``mac = HMAC-SHA256(subkey(audit key, "audit-mac"), "<seq>|<prev>|<body>")``;
  ``prev`` is the SHA-256 of the previous line (64 zeros for the first), so every entry commits to the
  whole history before it.
* ``head`` — ``{"seq", "hash", "mac"}``: the last entry's number and hash, authenticated; rewritten
  atomically after every append. It is what shows a cut-off tail (the log ends before ``seq``).
* ``audit.lock`` — ``flock``: appends from several processes never interleave.

An append writes the line with ``O_APPEND`` and fsyncs it, then replaces ``head``; it returns (is
acknowledged) only after both. A crash mid-line leaves an incomplete last line that no head refers to: the
next append cuts it off, ``verify`` ignores it. A crash between line and head leaves the log one entry ahead
of the head, which is fine (only the key holder can write a valid entry); the next append first rolls the
head forward, so the head is never more than one entry behind.

The audit key is a random key kept in the vault's catalog, *not* derived from the master key: rotating the
master key (user removal) re-encrypts the catalog, and the audit key with it, so old entries keep verifying
without re-MACing anything.

What the log can hold: the session passes only content-free details (numbers, ids, hashes). This module
accepts JSON scalars only (no nested structures) and refuses long strings, as a second line of defence.

Signed entries (vault format 2): an AuditLog opened with ``signer`` (the acting account's name and Ed25519
key) adds ``"by"`` (the signer) to the body and ``"sig"`` to the line: the Ed25519 signature of
``"tw-audit-sig|<seq>|<prev>|<body>"``. Everyone holding the audit key can write a valid MAC chain, but only
the account itself can sign as it: ``verify(signers=…)`` checks every entry's signature against the account
list's keys and reports unsigned entries, unknown signers and bad signatures.

Limits: an attacker with the disk can remove the whole tail together with an older copy of ``head`` (a
rollback); the head is also recorded in backup and export manifests, against which that shows.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workstation.platform.fileio import file_lock, write_file_atomic
from workstation.vault import crypto, signing

__all__ = ["AuditLog", "AuditEntry", "AuditError", "GENESIS", "AUDIT_DIR"]

AUDIT_DIR = "audit"
LOG_FILE = "log"
HEAD_FILE = "head"
LOCK_FILE = "audit.lock"
GENESIS = "0" * 64
MAX_DETAIL_CHARS = 200
ANCHOR_SLACK = 2  # entries the store's anchor may trail the log by (a crash, appends in flight)


class AuditError(crypto.AuthenticationError):
    """An audit entry (or the head record) fails authentication or is out of place."""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    user: str
    action: str
    case_code: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS
    mac: str = ""
    hash: str = ""  # SHA-256 of this entry's line: the next entry's prev_hash
    signer: str = ""  # the account that signed it ("" when unsigned)
    signature: str = ""  # base64 Ed25519 signature (see module docstring)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _check_details(details: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for k, v in details.items():
        if v is None:
            continue
        if not isinstance(v, (str, int, float, bool)):
            raise TypeError(f"audit detail {k!r}: only numbers, booleans and short strings (never content)")
        if isinstance(v, str) and len(v) > MAX_DETAIL_CHARS:
            raise ValueError(f"audit detail {k!r} is too long to be an id or a hash (never content)")
        clean[str(k)] = v
    return clean


class AuditLog:
    """The vault's audit log; ``key`` is the 32-byte audit key (see module docstring)."""

    def __init__(self, root: Path | str, key: bytes, *, signer: tuple[str, Ed25519PrivateKey] | None = None,
                 on_append: Callable[[AuditEntry], None] | None = None) -> None:
        self.dir = Path(root) / AUDIT_DIR
        self._signer = signer
        self._on_append = on_append  # run under the log's lock after each append (editors' checkpoints)
        self.log_path = self.dir / LOG_FILE
        self.head_path = self.dir / HEAD_FILE
        self._mac_key = crypto.derive_subkey(key, "audit-mac")
        self._enc_key = crypto.derive_subkey(key, "audit-enc")

    # ---- writing

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return file_lock(self.dir / LOCK_FILE)

    def append(self, user: str, action: str, case_code: str | None = None, **details: Any) -> AuditEntry:
        """Add one entry (durable when this returns). ``details``: content-free scalars only."""
        if not isinstance(action, str) or not action or len(action) > 64:
            raise ValueError("an audit action is a short name")
        clean = _check_details(details)
        at = _now()
        fields: dict[str, Any] = {"at": at, "user": str(user), "action": action, "case": case_code, "details": clean}
        if self._signer is not None:
            fields["by"] = self._signer[0]
        body_plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        with self._lock():
            last_seq, prev, head_sound = self._repair_tail()
            seq = last_seq + 1
            body = base64.b64encode(crypto.seal(self._enc_key, body_plain, aad=self._body_aad(seq, prev))).decode()
            mac = crypto.mac(self._mac_key, f"{seq}|{prev}|{body}".encode()).hex()
            record: dict[str, Any] = {"seq": seq, "prev": prev, "body": body, "mac": mac}
            sig = ""
            if self._signer is not None:
                sig = record["sig"] = signing.sign(self._signer[1], _sig_payload(seq, prev, body))
            line = json.dumps(record, separators=(",", ":"), sort_keys=True).encode("ascii")
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                data = memoryview(line + b"\n")
                while data:  # a regular file takes it in one write; loop for the rare short write
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            finally:
                os.close(fd)
            digest = _line_hash(line)
            if head_sound:
                self._write_head(seq, digest)
            signer = self._signer[0] if self._signer is not None else ""
            entry = AuditEntry(seq, at, str(user), action, case_code, clean, prev, mac, digest, signer, sig)
            if self._on_append is not None:
                self._on_append(entry)
        return entry

    @staticmethod
    def _body_aad(seq: int, prev: str) -> bytes:
        return f"tw-audit|{seq}|{prev}".encode()

    def _head_mac(self, seq: int, digest: str) -> str:
        return crypto.mac(self._mac_key, f"head|{seq}|{digest}".encode()).hex()

    def _write_head(self, seq: int, digest: str) -> None:
        data = json.dumps({"seq": seq, "hash": digest, "mac": self._head_mac(seq, digest)}).encode("ascii")
        write_file_atomic(self.head_path, [data])

    def _read_head(self) -> tuple[int, str] | None:
        """(seq, hash) of the head record if present and authentic; raises AuditError if altered."""
        try:
            data = json.loads(self.head_path.read_bytes())
            seq, digest, tag = int(data["seq"]), str(data["hash"]), str(data["mac"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise AuditError("The audit log's head record is damaged.") from exc
        if not hmac.compare_digest(self._head_mac(seq, digest).encode(), tag.encode("utf-8", "replace")):
            raise AuditError("The audit log's head record was altered (its authentication code does not match).")
        return seq, digest

    def _tail(self) -> tuple[bytes, int, bool]:
        """(last complete line, file offset just after it, whether an incomplete fragment follows it)."""
        try:
            size = os.path.getsize(self.log_path)
        except FileNotFoundError:
            return b"", 0, False
        with open(self.log_path, "rb") as fh:
            block = 4096
            while True:
                start = max(0, size - block)
                fh.seek(start)
                data = fh.read(size - start)
                end = data.rfind(b"\n")
                if end < 0 and start > 0:
                    block *= 2
                    continue
                if end < 0:  # no complete line at all
                    return b"", 0, size > 0
                begin = data.rfind(b"\n", 0, end)
                if begin < 0 and start > 0:
                    block *= 2
                    continue
                return data[begin + 1:end], start + end + 1, start + end + 1 < size

    def _repair_tail(self) -> tuple[int, str, bool]:
        """Under the lock: cut off an unacknowledged torn line; (last seq, last hash to chain onto, whether the
        head may be written after this append).

        The head is written only when it is sound: absent with at most one line in the log (a new log, or a
        crash between the first line and its head), exactly the last entry, or one entry behind it with the
        matching hash (a crash between line and head: rolled forward). A head that is missing, damaged or
        older than that is left as it is, so ``verify()`` keeps reporting it: appending never re-creates a
        head over a cut-off tail (issue 10, finding 5)."""
        line, offset, torn = self._tail()
        if torn:
            with open(self.log_path, "r+b") as fh:
                fh.truncate(offset)
                fh.flush()
                os.fsync(fh.fileno())
        try:
            head, head_ok = self._read_head(), True
        except AuditError:
            head, head_ok = None, False
        if not line and head is None:
            return 0, GENESIS, head_ok and not self._has_lines()
        try:
            obj = json.loads(line) if line else {}
            seq, line_prev = int(obj["seq"]) if line else 0, str(obj.get("prev", "")) if line else ""
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError, AttributeError):
            seq, line_prev = 0, ""  # a damaged last line: keep logging; verify() reports it
        prev = _line_hash(line) if line else GENESIS
        if head is None:
            sound = head_ok and seq <= 1 and self._line_count() <= 1
        elif head[0] == seq:
            sound = head[1] == prev
        elif head[0] == seq - 1 and head[1] == line_prev:  # a crash between line and head: roll it forward
            self._write_head(seq, prev)
            sound = True
        else:
            sound = head[0] > seq  # ahead: the tail was cut off; numbering goes on after the head (below)
        # A head ahead of the log means its tail was cut off: number on after the head, so the gap stays
        # visible to verify() instead of being papered over by new entries.
        return max(seq, head[0] if head else 0), prev, sound

    def _has_lines(self) -> bool:
        try:
            return os.path.getsize(self.log_path) > 0
        except FileNotFoundError:
            return False

    def _line_count(self) -> int:
        try:
            with open(self.log_path, "rb") as fh:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        except FileNotFoundError:
            return 0

    # ---- reading

    def head(self) -> str:
        """SHA-256 of the last entry (64 zeros for an empty log): record it elsewhere to detect rollback."""
        line, _offset, _torn = self._tail()
        return _line_hash(line) if line else GENESIS

    def _lines(self) -> list[bytes]:
        try:
            raw = self.log_path.read_bytes()
        except FileNotFoundError:
            return []
        lines = raw.split(b"\n")
        return lines[:-1]  # the part after the last newline is empty, or a torn (unacknowledged) fragment

    def _open_line(self, line: bytes) -> tuple[AuditEntry | None, str | None]:
        """(entry, None) or (None, what is wrong). Checks the MAC and decrypts the body."""
        try:
            obj = json.loads(line)
            seq, prev, body, tag = int(obj["seq"]), str(obj["prev"]), str(obj["body"]), str(obj["mac"])
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            return None, "unreadable (damaged or edited)"
        if not _is_hex(tag) or not crypto.verify_mac(self._mac_key, f"{seq}|{prev}|{body}".encode(), bytes.fromhex(tag)):
            return None, "edited (its authentication code does not match)"
        try:
            plain = crypto.unseal(self._enc_key, base64.b64decode(body, validate=True), aad=self._body_aad(seq, prev))
            data = json.loads(plain)
            entry = AuditEntry(seq, str(data["at"]), str(data["user"]), str(data["action"]), data.get("case"),
                               dict(data.get("details") or {}), prev, tag, _line_hash(line),
                               str(data.get("by") or ""), str(obj.get("sig") or ""))
        except (crypto.CryptoError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
            return None, "damaged (its content fails authentication)"
        return entry, None

    def entries(self, *, strict: bool = True) -> Iterator[AuditEntry]:
        """Every entry in order, each authenticated. ``strict`` (the default): also check the chain and the
        head, raising :class:`AuditError` at the first entry that is altered, missing or out of place (run
        ``verify()`` for the full list of problems); otherwise skip entries that fail authentication."""
        expected, prev = 1, GENESIS
        for number, line in enumerate(self._lines(), 1):
            entry, problem = self._open_line(line)
            if entry is not None and strict and (entry.seq != expected or entry.prev_hash != prev):
                problem = f"out of place (entry {entry.seq} where entry {expected} belongs: entries were " \
                          "deleted, reordered or replaced)"
                entry = None
            if entry is None:
                if strict:
                    raise AuditError(
                        f"Audit log line {number} is {problem}. The log was tampered with or damaged; "
                        "'workstation verify' lists every problem."
                    )
                continue
            expected, prev = entry.seq + 1, entry.hash
            yield entry
        if strict:
            head = self._read_head()
            if head is not None and head[0] >= expected:
                raise AuditError(
                    f"The end of the audit log was cut off: it ends at entry {expected - 1}, its head records "
                    f"entry {head[0]}. 'workstation verify' lists every problem."
                )

    def signed_entries(self, signers: dict[str, bytes], *, after: str = "") -> list[AuditEntry]:
        """The entries whose signature verifies under ``signers``' keys, in log order; with ``after`` (an entry's
        hash), only those after that entry (the whole log when no line has that hash or the tail does not chain
        on from it). A verbatim copy of a line counts once."""
        lines = (self._lines_after(after) if after else None)
        lines = self._lines() if lines is None else lines
        out, seen = [], set()
        for line in lines:
            digest = _line_hash(line)
            if digest in seen:
                continue  # a verbatim copy (verify reports it): never opened twice, never counted twice
            seen.add(digest)
            entry, _problem = self._open_line(line)
            if entry is not None and entry.signer in signers and not _signature_problems(line, entry, signers):
                out.append(entry)
        return out

    def _lines_after(self, digest: str) -> list[bytes] | None:
        """The complete lines after the one whose hash is ``digest``, read backwards from the end in growing
        blocks (an editor's checkpoint after every append must not read a long log from its start); None when no
        line has that hash or the lines after it do not chain on from it (one copied in, one cut out): the caller
        then reads the whole log. A hash, not a number, marks where to stop (a line claiming any number can be
        written by anyone holding the audit key; the line a signed checkpoint names cannot)."""
        try:
            size = os.path.getsize(self.log_path)
        except FileNotFoundError:
            return None
        block = 1 << 16
        with open(self.log_path, "rb") as fh:
            while True:
                start = max(0, size - block)
                fh.seek(start)
                lines = fh.read(size - start).split(b"\n")[:-1]  # the last part: empty or a torn fragment
                if start > 0:
                    lines = lines[1:]  # the first part may begin mid-line
                found = next((i for i in range(len(lines) - 1, -1, -1) if _line_hash(lines[i]) == digest), None)
                if found is not None and (found > 0 or start == 0):
                    # the line must stand where it was written (chained onto the one before it, or first), and
                    # the lines after it chain on: a copy of it appended at the end does not
                    before = lines[found - 1:] if found > 0 else [b""] + lines
                    return lines[found + 1:] if _chains_on(before) else None
                if start == 0:
                    return None
                block *= 4

    def verify(self, anchor: tuple[int, str] | None = None, signers: dict[str, bytes] | None = None,
               root: str = "") -> list[str]:
        """Walk the chain; one sentence per problem: edited, deleted, reordered or duplicated entries, a
        broken chain, a cut-off tail (against the head record, and against ``anchor``, the (seq, hash) the
        store index recorded), an altered, missing or older head. With ``signers`` (account name → Ed25519
        key, from the trusted account list), every entry must carry a valid signature of one of them — except
        the format-1 history before the ``root`` editor's signed ``vault_upgraded`` entry (whose signature covers
        ``prev``, hence the whole chain before it)."""
        opened = [(n, line, *self._open_line(line)) for n, line in enumerate(self._lines(), 1)]
        problems: list[str] = []
        if signers is not None:
            signed = [(line, e) for _n, line, e, _p in opened if e is not None]
            start = _signed_from(signed, signers, root)
            problems.extend(p for line, e in signed[start:] for p in _signature_problems(line, e, signers))
            problems.extend(f"Entry {e.seq} is signed by {e.signer!r} after that account was removed: a removed "
                            "person's key was used (tampering)." for e, late in with_removals(e for _l, e in signed)
                            if late)
        present = {e.seq for _n, _l, e, _p in opened if e is not None}
        seen: set[int] = set()
        last, prev_hash, prev_ok = 0, GENESIS, True
        for number, line, entry, problem in opened:
            if entry is None:  # it stands where the next entry should be
                last += 1
                problems.append(f"Entry {last} (line {number}) is {problem}.")
                prev_hash, prev_ok = _line_hash(line), False
                seen.add(last)
                continue
            anomaly = True
            if entry.seq in seen:
                problems.append(f"Entry {entry.seq} appears twice (line {number}): an entry was copied in.")
            elif entry.seq < last:
                problems.append(f"Entry {entry.seq} is out of order (line {number}, after entry {last}): "
                                "entries were reordered.")
            elif entry.seq > last + 1:
                gone = [s for s in range(last + 1, entry.seq) if s not in present]
                problems.extend(f"Entry {a} was deleted." if a == b else f"Entries {a}–{b} were deleted."
                                for a, b in _ranges(gone))
            elif prev_ok and entry.prev_hash != prev_hash:
                problems.append(f"The chain is broken before entry {entry.seq}: the entry before it was replaced.")
            else:
                anomaly = False
            seen.add(entry.seq)
            last = max(last, entry.seq)
            prev_hash, prev_ok = entry.hash, not anomaly
        problems.extend(self._verify_head(last, prev_hash, bool(opened)))
        if anchor is not None:
            problems.extend(_verify_anchor(anchor, {e.seq: e.hash for _n, _l, e, _p in opened if e is not None}, last))
        return _dedupe(problems)

    def _verify_head(self, last_seq: int, last_hash: str, any_entries: bool) -> list[str]:
        try:
            head = self._read_head()
        except AuditError as exc:
            return [str(exc)]
        if head is None:
            return ["The audit log's head record is missing (deleted)."] if any_entries else []
        seq, digest = head
        if seq > last_seq:
            gap = f"entry {seq} (recorded in its head) is" if seq == last_seq + 1 else \
                f"entries {last_seq + 1}–{seq} (recorded in its head) are"
            return [f"The end of the audit log was cut off: {gap} missing."]
        if seq == last_seq and digest != last_hash:
            return [f"The last audit entry ({seq}) is not the one its head recorded: it was replaced."]
        if last_seq - seq > 1:
            return [f"The audit log's head (entry {seq}) is older than the log (entry {last_seq}): the head "
                    "record was put back from an older copy."]
        return []


def with_removals(entries: Iterable[AuditEntry]) -> Iterator[tuple[AuditEntry, bool]]:
    """Each entry with whether its signer's account had been removed before it (a ``user_removed`` entry naming
    them, not followed by a ``user_added``): a removed account keeps its signing key, so what it signs after
    its removal must not count, however valid the signature."""
    gone: set[str] = set()
    for entry in entries:
        yield entry, bool(entry.signer) and entry.signer in gone
        subject = str(entry.details.get("subject") or "")
        if entry.action == "user_removed" and subject:
            gone.add(subject)
        elif entry.action == "user_added" and subject:
            gone.discard(subject)


def _chains_on(lines: list[bytes]) -> bool:
    """Whether each line after the first claims the next number and the previous line's hash (a first line b""
    stands for the start of the log: number 0, hash GENESIS)."""
    try:
        seqs = [int(json.loads(line)["seq"]) if line else 0 for line in lines]
        prevs = [str(json.loads(line)["prev"]) for line in lines[1:]]
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        return False
    hashes = [_line_hash(line) if line else GENESIS for line in lines]
    return all(seqs[i + 1] == seqs[i] + 1 and prevs[i] == hashes[i] for i in range(len(lines) - 1))


def _sig_payload(seq: int, prev: str, body: str) -> bytes:
    return f"tw-audit-sig|{seq}|{prev}|{body}".encode()


def _signed_from(entries: list[tuple[bytes, AuditEntry]], signers: dict[str, bytes], root: str) -> int:
    """Index of the first entry that must be signed: 0, or the root editor's valid ``vault_upgraded`` entry of
    a vault converted from format 1 (the unsigned history before it is chained into its signature)."""
    for i, (line, entry) in enumerate(entries):
        if entry.action == "vault_upgraded" and entry.signer == root and not _signature_problems(line, entry, signers):
            return i
    return 0


def _signature_problems(line: bytes, entry: AuditEntry, signers: dict[str, bytes]) -> list[str]:
    """An entry of a format-2 vault must be signed by an account of the (trusted) account list."""
    if not entry.signature:
        return [f"Entry {entry.seq} is not signed by any account: it was written outside the program "
                "(someone holding the audit key rewrote the log?)."]
    key = signers.get(entry.signer)
    if key is None:
        return [f"Entry {entry.seq} is signed by {entry.signer!r}, who is not in the vault's account list."]
    body = str(json.loads(line)["body"])
    if not signing.signature_ok(key, _sig_payload(entry.seq, entry.prev_hash, body), entry.signature):
        return [f"Entry {entry.seq}'s signature by {entry.signer!r} does not verify: the entry was forged or altered."]
    # The signer is who acted: an entry naming someone else (under the signer's own valid signature) is a false
    # attribution. Only a failed unlock is recorded in the name that was typed, by whoever then unlocked.
    if entry.user != entry.signer and entry.action != "unlock_failed":
        return [f"Entry {entry.seq} says {entry.user!r} did {entry.action!r}, but it was signed by {entry.signer!r}: "
                "an entry written in another person's name (tampering?)."]
    return []


def _verify_anchor(anchor: tuple[int, str], hashes: dict[int, str], last: int) -> list[str]:
    """The log against the head recorded in the authenticated store index (written after every append)."""
    seq, digest = anchor
    if seq > last:
        return [f"The end of the audit log was cut off: the vault's index recorded entry {seq}, the log ends at "
                f"entry {last} (its head was put back from an older copy or re-made)."]
    if seq in hashes and hashes[seq] != digest:
        return [f"Audit entry {seq} is not the one the vault's index recorded: the log was replaced."]
    if last - seq > ANCHOR_SLACK:
        # every append anchors right after it (monotonic): a lag beyond a crash or two in-flight appends means
        # the index (and the records with it) went back to an older copy while the log did not
        return [f"The vault's version index is older than its audit log (it recorded entry {seq}, the log has "
                f"{last}): the store was put back from an older copy of the vault."]
    return []


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
        return len(text) == 64
    except ValueError:
        return False


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
