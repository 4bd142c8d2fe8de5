"""The records a catalog entry points at: one testimony's JSON, its recording information, its extras, its
sealed original recording, and the vault-wide glossary.

A testimony may be several files (parts of one interview, in order). Part 1 is stored exactly as a one-file
testimony always was ("recording-info", blob "original"); part n > 1 adds "recording-info:n" and blob
"original:n", and the catalog entry lists their sha256 and size under "parts" (a vault of one-file testimonies
has no "parts" and reads the same as before).

Each testimony's records are encrypted under that testimony's own key (held in its catalog entry), under
random-looking ids derived from the testimony id (:func:`rid`), so the case code appears nowhere outside
encrypted records. Reading turns the store's authentication failures into :class:`IntegrityError` with a
message that names what failed.

Signed records (vault format 2): every record's plaintext is an envelope (``signing.seal_record``) naming the
writing account and carrying its Ed25519 signature over the record id, its kind label, its version and the
SHA-256 of its body. :class:`RecordRef` names a record (id, kind label, the testimony's interviewer, how messages
call it); :class:`SignedEnvelopes` signs on write and, on read, refuses a record whose signature fails or whose
signer's role may not write that kind (``permissions.may_write_record``).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workstation.domain.testimony import Testimony
from workstation.platform.errors import WorkstationError
from workstation.vault import crypto, permissions, signing
from workstation.vault.errors import IntegrityError
from workstation.vault.layout import to_json, unb64
from workstation.vault.store import ReplayError, Store, StoreRootError

# One testimony's catalog entry: {"wraps": {user: b64 key wrapped to that user}, "case": str, "owner": str,
# "created": str, "extras": [names], "original": {sha256, size} once part 1 is sealed, "parts": [{sha256, size},
# ...] for parts 2, 3, ... if any} (vault format 2; a format-1 entry holds "key": b64 instead of "wraps").
Entry = dict[str, Any]
KeyOf = Callable[[str, Entry], bytes]  # (testimony id, entry) -> that testimony's key, for the session's account
# (testimony id, entry) -> its current key, then its earlier ones (a testimony re-keyed when a reader was removed:
# what was written before stays under an earlier key; every write uses the current one)
@dataclass(frozen=True)
class Retired:
    """What an earlier key of a testimony may still open: the records whose object files (SHA-256) existed under
    it when it was retired, and blobs written up to store generation ``until`` (a blob's content is checked
    against its signed recording information on every read)."""
    until: int
    records: frozenset[str]


# each key with what it may still open (None: the current key, no limit)
KeyEpochs = tuple[tuple[bytes, Retired | None], ...]
KeysOf = Callable[[str, Entry], KeyEpochs]

GLOSSARY_RECORD = "glossary"


def rid(tid: str, kind: str) -> str:
    """A random-looking record id for one kind of record of one testimony (reveals neither)."""
    return hashlib.sha256(f"tw-rid|{tid}|{kind}".encode()).hexdigest()[:32]


def entry_key(entry: Entry) -> bytes:
    """The key of a format-1 entry (held in the clear inside the catalog); format-2 entries need
    :meth:`Catalog.testimony_key`."""
    return unb64(entry["key"])


def part_suffix(part: int) -> str:
    """The record-kind suffix of a part: "" for part 1 (the layout of a one-file testimony), ":n" after it."""
    return "" if part == 1 else f":{part}"


def part_count(entry: Entry) -> int:
    """How many parts (sealed recordings) the catalog records for this testimony (0: none yet)."""
    return (1 + len(entry.get("parts", []))) if entry.get("original") else 0


def record_kinds(entry: Entry) -> tuple[str, ...]:
    """The kinds of record a testimony has (the sealed originals are blobs, not listed here)."""
    parts = tuple("recording-info" + part_suffix(n) for n in range(2, part_count(entry) + 1))
    return ("testimony", "recording-info", *parts, *("extra:" + n for n in entry.get("extras", [])))


def part_label(case: str, part: int) -> str:
    """How messages name a recording: "of X" for part 1 (as always), "of X, part n" after it."""
    return case if part == 1 else f"{case}, part {part}"


@dataclass(frozen=True)
class RecordingInfo:
    sha256: str
    size: int
    duration_s: float
    container: str
    filename: str = ""
    ingested_at: str = ""
    ingested_by: str = ""


# --- which record, and who may have written it ------------------------------------------------------------

# How messages name a record of each kind ("The redaction table of testimony X was written by ...").
_TITLES = {"testimony": "record", "extra:redactions": "redaction table", "extra:pseudonyms": "pseudonym table",
           "extra:approval-history": "approval history", "extra:job": "processing job record",
           "extra:processing": "processing record", "extra:speakers": "speaker turns"}


@dataclass(frozen=True)
class RecordRef:
    """One record: its store id, the kind label its signature binds, the testimony's interviewer (who may write
    some kinds) and how messages call it."""

    record_id: str
    kind: str  # "testimony", "recording-info", "recording-info:n", "extra:<name>", "glossary"
    what: str  # "redaction table of testimony X"
    owner: str = ""  # the testimony's interviewer ("" for the glossary)


GLOSSARY_REF = RecordRef(GLOSSARY_RECORD, "glossary", "glossary")


def record_ref(tid: str, entry: Entry, kind: str) -> RecordRef:
    """The record of ``kind`` of the testimony ``tid`` (its catalog ``entry`` gives the case code and owner)."""
    case = str(entry.get("case"))
    if kind.startswith("recording-info"):
        part = int(kind.partition(":")[2] or 1)
        what = f"recording information of testimony {part_label(case, part)}"
    else:
        title = _TITLES.get(kind) or f"{kind.removeprefix('extra:')!r} record"
        what = f"{title} of testimony {case}"
    return RecordRef(rid(tid, kind), kind, what, str(entry.get("owner", "")))


Signers = dict[str, dict[str, Any]]  # account name -> its account-list entry (role, ed25519): whose signatures count
_ADVICE = (" It was not used. An editor checks it and writes it again, or restores it from a backup; 'workstation "
           "verify' lists every such record.")


def record_problem(ref: RecordRef, version: int, record: signing.SignedRecord, signers: Signers) -> str | None:
    """Why a signed record cannot be trusted, or None: its signer must be an account of the vault, the signature
    must cover this record id, kind and version, and the signer's role must be allowed to write this kind."""
    account = signers.get(record.by)
    if account is None:
        return f"The {ref.what} is signed by {record.by!r}, who is not an account of this vault."
    if not signing.record_signature_ok(record, unb64(str(account.get("ed25519", ""))), ref.record_id, ref.kind,
                                       version):
        return (f"The signature by {record.by!r} on the {ref.what} does not verify: it was altered, or copied here "
                "from another record, testimony or version.")
    role = str(account.get("role"))
    try:
        allowed = permissions.may_write_record(role, record.by, ref.owner, ref.kind)
    except WorkstationError:  # not a role at all
        allowed = False
    if not allowed:
        return (f"The {ref.what} was written by {role} {record.by}, who may not write it: "
                f"{permissions.record_writers_text(ref.kind)} may.")
    return None


class Envelopes:
    """Unsigned records (vault format 1, and code that holds no signing key): written as plain JSON, read as
    found (an envelope is taken apart without being checked)."""

    def seal(self, ref: RecordRef, version: int, body: bytes) -> bytes:
        return body

    def check(self, ref: RecordRef, version: int, record: signing.SignedRecord) -> None:
        """Raise IntegrityError when ``record`` may not be used."""


class SignedEnvelopes(Envelopes):
    """Vault format 2: sign every write as this account; on read, check the signature against ``signers()``
    (None: nothing to check, format 1) and refuse an unsigned record once ``required()``."""

    def __init__(self, signer: Callable[[], tuple[str, Ed25519PrivateKey] | None],
                 signers: Callable[[], Signers | None], required: Callable[[], bool]) -> None:
        self._signer, self._signers, self._required = signer, signers, required

    def seal(self, ref: RecordRef, version: int, body: bytes) -> bytes:
        me = self._signer()
        return body if me is None else signing.seal_record(body, ref.record_id, ref.kind, version, *me)

    def check(self, ref: RecordRef, version: int, record: signing.SignedRecord) -> None:
        if not record.by:
            if self._required():
                raise IntegrityError(f"The {ref.what} is not signed by the account that wrote it (it was written "
                                     "outside the program, or by its version before signed records)." + _ADVICE)
            return
        signers = self._signers()
        problem = None if signers is None else record_problem(ref, version, record, signers)
        if problem:
            raise IntegrityError(problem + _ADVICE)


class Records:
    """Typed reads and writes of a testimony's records and blob in one store."""

    def __init__(self, store: Store, key_of: KeyOf | None = None, envelopes: Envelopes | None = None,
                 keys_of: KeysOf | None = None) -> None:
        self.store = store
        self.key_of: KeyOf = key_of or (lambda _tid, entry: entry_key(entry))
        self.keys_of: KeysOf = keys_of or (lambda tid, entry: ((self.key_of(tid, entry), None),))
        self.envelopes = envelopes or Envelopes()

    def _open(self, key: bytes | KeyEpochs, ref: RecordRef) -> tuple[signing.SignedRecord, int] | None:
        """The checked envelope and its version, None when absent; IntegrityError when it fails. ``key`` may be a
        testimony's keys, current first (:data:`KeysOf`)."""
        try:
            data, version = _first_key(key, lambda k: _split_record(self.store.read_record_at(k, ref.record_id)))
        except FileNotFoundError:
            return None
        except StoreRootError as exc:
            raise IntegrityError(str(exc)) from exc
        except crypto.CryptoError as exc:
            raise IntegrityError(
                f"The {ref.what} fails authentication: it was altered, damaged or replaced by another file ({exc}). "
                "Nothing was changed; restore it from a backup ('workstation verify' lists every problem)."
            ) from exc
        try:
            record = signing.open_record(data)
        except ValueError as exc:
            raise IntegrityError(f"The {ref.what} has a malformed signature envelope.{_ADVICE}") from exc
        self.envelopes.check(ref, version, record)
        return record, version

    def read(self, key: bytes | KeyEpochs, ref: RecordRef) -> tuple[Any, int] | None:
        """The decoded JSON and its version, None when absent; IntegrityError when it fails authentication or
        its signature check."""
        found = self._open(key, ref)
        if found is None:
            return None
        try:
            return json.loads(found[0].body.decode("utf-8")), found[1]
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise IntegrityError(f"The {ref.what} is not a readable record (signed by {found[0].by or 'nobody'}, but "
                                 f"its content is not what the program writes).{_ADVICE}") from exc

    def write(self, key: bytes, ref: RecordRef, data: Any, *, expected_version: int) -> int:
        return self._write_body(key, ref, to_json(data), expected_version)

    def _write_body(self, key: bytes, ref: RecordRef, body: bytes, expected_version: int) -> int:
        return self.store.write_record(key, ref.record_id, lambda version: self.envelopes.seal(ref, version, body),
                                       expected_version=expected_version)

    def sign_again(self, keys: KeyEpochs, ref: RecordRef) -> bool:
        """Write an unsigned record again, signed, its body unchanged (the migration to signed records); False
        when it is absent or signed already. IntegrityError when it fails its checks, ConflictError when it
        changed meanwhile."""
        found = self._open(keys, ref)
        if found is None or found[0].by:
            return False
        self._write_body(keys[0][0], ref, found[0].body, found[1])
        return True

    def load_testimony(self, tid: str, entry: Entry) -> tuple[Testimony, int]:
        found = self.read(self.keys_of(tid, entry), record_ref(tid, entry, "testimony"))
        if found is None:
            raise IntegrityError(f"The record of testimony {entry['case']} is missing from the vault folder.")
        try:
            return Testimony.from_dict(found[0]), found[1]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(f"The record of testimony {entry['case']} is not a testimony the program wrote (its "
                                 f"fields are damaged or were written outside the program).{_ADVICE}") from exc

    def save_testimony(self, tid: str, entry: Entry, t: Testimony, expected_version: int) -> int:
        return self.write(self.key_of(tid, entry), record_ref(tid, entry, "testimony"), t.to_dict(),
                          expected_version=expected_version)

    def recording_info(self, tid: str, entry: Entry, part: int = 1) -> RecordingInfo | None:
        name = part_label(entry["case"], part)
        found = self.read(self.keys_of(tid, entry), record_ref(tid, entry, "recording-info" + part_suffix(part)))
        if found is None and part <= part_count(entry):
            raise IntegrityError(
                f"The recording information of {name} is missing from the vault folder, but the catalog "
                "records that its sealed original was ingested: it was deleted. Restore it from a backup."
            )
        return RecordingInfo(**found[0]) if found else None

    def seal_original(self, tid: str, entry: Entry, data: bytes, info: RecordingInfo, part: int = 1) -> None:
        """The evidence copy (a chunked blob) and its recording information, which must not exist yet."""
        key = self.key_of(tid, entry)
        self.store.write_blob_from(key, rid(tid, "original" + part_suffix(part)), io.BytesIO(data))
        self.write(key, record_ref(tid, entry, "recording-info" + part_suffix(part)), asdict(info), expected_version=0)
    def iter_original(self, tid: str, entry: Entry, part: int = 1) -> Iterator[bytes]:
        name = part_label(entry["case"], part)
        try:
            blob = rid(tid, "original" + part_suffix(part))
            yield from _first_key(self.keys_of(tid, entry), lambda k: (*self.store.open_blob_at(k, blob), None))
        except FileNotFoundError:
            raise IntegrityError(f"The sealed recording of {name} is missing from the vault folder.") from None
        except crypto.CryptoError as exc:
            raise IntegrityError(
                f"The sealed recording of {name} fails authentication (altered, truncated or swapped). "
                "Restore it from a backup."
            ) from exc

    def delete_all(self, tid: str, entry: Entry) -> None:
        """Every record and the blobs of a testimony (after its key left the catalog: shredding)."""
        for kind in record_kinds(entry):
            self.store.delete(rid(tid, kind))
        for part in range(1, max(1, part_count(entry)) + 1):
            self.store.delete(rid(tid, "original" + part_suffix(part)))


R = TypeVar("R")


class RetiredKeyError(crypto.AuthenticationError):
    """An object opens only with an earlier key of its testimony but was written after that key was retired."""


def _split_record(read: tuple[bytes, int, int, str]) -> tuple[tuple[bytes, int], int, str | None]:
    data, version, gen, digest = read
    return (data, version), gen, digest


def _first_key(keys: bytes | KeyEpochs, attempt: Callable[[bytes], tuple[R, int, str | None]]) -> R:
    """``attempt`` (returning its result, the object's store generation and, for a record, the SHA-256 of its
    file) with the first key that authenticates the object: a testimony's current key, then its earlier ones —
    an earlier key only for what existed under it when it was retired (``Retired``), so a removed reader who kept
    it cannot add anything current readers accept, whatever header she forges. A replayed, missing or
    out-of-index object fails with every key alike: that error is raised at once."""
    candidates: KeyEpochs = ((keys, None),) if isinstance(keys, bytes) else keys
    first: crypto.AuthenticationError | None = None
    for key, retired in candidates:
        try:
            result, gen, digest = attempt(key)
        except (ReplayError, StoreRootError):
            raise
        except crypto.AuthenticationError as exc:
            first = first or exc
            continue
        if retired is None or (digest in retired.records if digest is not None else gen <= retired.until):
            return result
        first = RetiredKeyError("it is sealed under a key retired when an account was removed, but was written after "
                                "that removal: by someone who kept the old key (tampering)")
    raise first or crypto.AuthenticationError("no key")
