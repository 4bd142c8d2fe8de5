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
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from workstation.domain.testimony import Testimony
from workstation.vault import crypto
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
# each key with the last store generation it may have written (None: the current key, no limit)
KeyEpochs = tuple[tuple[bytes, int | None], ...]
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


class Records:
    """Typed reads and writes of a testimony's records and blob in one store."""

    def __init__(self, store: Store, key_of: KeyOf | None = None, keys_of: KeysOf | None = None) -> None:
        self.store = store
        self.key_of: KeyOf = key_of or (lambda _tid, entry: entry_key(entry))
        self.keys_of: KeysOf = keys_of or (lambda tid, entry: ((self.key_of(tid, entry), None),))

    def read(self, key: bytes | KeyEpochs, record_id: str, what: str) -> tuple[Any, int] | None:
        """The decoded JSON and its version, None when absent; IntegrityError when it fails authentication.
        ``key`` may be a testimony's keys, current first (:data:`KeysOf`)."""
        try:
            data, version = _first_key(key, lambda k: _split_gen(self.store.read_record_at(k, record_id)))
        except FileNotFoundError:
            return None
        except StoreRootError as exc:
            raise IntegrityError(str(exc)) from exc
        except crypto.CryptoError as exc:
            raise IntegrityError(
                f"The {what} fails authentication: it was altered, damaged or replaced by another file ({exc}). "
                "Nothing was changed; restore it from a backup ('workstation verify' lists every problem)."
            ) from exc
        return json.loads(data.decode("utf-8")), version

    def write(self, key: bytes, record_id: str, data: Any, *, expected_version: int) -> int:
        return self.store.write_record(key, record_id, to_json(data), expected_version=expected_version)

    def load_testimony(self, tid: str, entry: Entry) -> tuple[Testimony, int]:
        found = self.read(self.keys_of(tid, entry), rid(tid, "testimony"), f"testimony {entry['case']}")
        if found is None:
            raise IntegrityError(f"The record of testimony {entry['case']} is missing from the vault folder.")
        return Testimony.from_dict(found[0]), found[1]

    def save_testimony(self, tid: str, entry: Entry, t: Testimony, expected_version: int) -> int:
        return self.write(self.key_of(tid, entry), rid(tid, "testimony"), t.to_dict(), expected_version=expected_version)

    def recording_info(self, tid: str, entry: Entry, part: int = 1) -> RecordingInfo | None:
        name = part_label(entry["case"], part)
        found = self.read(self.keys_of(tid, entry), rid(tid, "recording-info" + part_suffix(part)),
                          f"recording information of {name}")
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
        self.write(key, rid(tid, "recording-info" + part_suffix(part)), asdict(info), expected_version=0)

    def iter_original(self, tid: str, entry: Entry, part: int = 1) -> Iterator[bytes]:
        name = part_label(entry["case"], part)
        try:
            blob = rid(tid, "original" + part_suffix(part))
            yield from _first_key(self.keys_of(tid, entry), lambda k: self.store.open_blob_at(k, blob))
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


def _split_gen(read: tuple[bytes, int, int]) -> tuple[tuple[bytes, int], int]:
    data, version, gen = read
    return (data, version), gen


def _first_key(keys: bytes | KeyEpochs, attempt: Callable[[bytes], tuple[R, int]]) -> R:
    """``attempt`` (returning its result and the object's store generation) with the first key that
    authenticates the object: a testimony's current key, then its earlier ones — an earlier key only for objects
    written while it was current, so a removed reader who kept it cannot add anything current readers accept. A
    replayed, missing or out-of-index object fails with every key alike: that error is raised at once."""
    candidates: KeyEpochs = ((keys, None),) if isinstance(keys, bytes) else keys
    first: crypto.AuthenticationError | None = None
    for key, until in candidates:
        try:
            result, gen = attempt(key)
        except (ReplayError, StoreRootError):
            raise
        except crypto.AuthenticationError as exc:
            first = first or exc
            continue
        if until is None or gen <= until:
            return result
        first = RetiredKeyError("it is sealed under a key retired when an account was removed, but was written after "
                                "that removal: by someone who kept the old key (tampering)")
    raise first or crypto.AuthenticationError("no key")
