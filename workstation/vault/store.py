"""The on-disk store: encrypted records and blobs under random names, atomic and crash-safe writes,
compare-and-swap versions, and detection of files put back from an older copy (replay).

Layout (under the vault root; ``docs/VAULT-FORMAT.md`` has the byte formats)
---------------------------------------------------------------------------
* ``objects/<40 hex>`` — one file per record or blob. The name is ``sha256("tw-store|" kind "|" id)``: it
  reveals neither the id nor anything of the content (ids chosen by the session are random anyway).
* ``store-index.json`` — the *version index*: for every object its version ``v``, the store generation ``g``
  of its last write and a tag ``HMAC(subkey(object key), name|kind|v|g)``; a global generation counter;
  tombstones of deleted objects; and at most one ``pending`` intent (the write or delete in progress).
* ``store.lock`` — ``fcntl.flock`` lock file: every write takes it exclusively, so compare-and-swap holds
  between processes.

An object file is ``b"TWO\\x01" | kind (1: r/b) | version (u64) | generation (u64) | container`` where the
container (``crypto``) binds ``"tw-store|" kind "|" id "|" + those 21 header bytes`` as associated data:
moving a file to another id, editing its version or swapping two files fails authentication.

Writes (under the lock): (1) finish a pending intent left by a crashed writer (roll it forward if its file
landed, drop it otherwise), (2) compare the current version with ``expected_version`` (``ConflictError``
if it differs), (3) write the intent into the index, (4) write the object to a temporary file in
``objects/`` (``.<name>.<random>.tmp``; ciphertext only), flush, fsync, ``os.replace``, fsync the folder,
(5) commit the entry into the index the same way. A crash at any point leaves the old version or the new
one; a write is acknowledged (the call returns) only after step 5.

Replay detection. Reading checks the object against its index entry: an *older* version than the index
names (or a deleted object put back) raises :class:`ReplayError`; a forged index entry fails its tag (it needs
the object's key). Putting back an older copy of the index *and* of the object is noticed as soon as any
other object was written since: that object's generation is newer than the index's (reading it raises
``ReplayError``; ``verify()`` lists every such file). What stays undetectable here is rolling back the
whole store to an earlier copy — that is what restoring a backup does; the audit log's head, recorded in
backups and export manifests, is the reference against which a whole-vault rollback shows.

Deletion removes the object file and leaves a tombstone (versions keep rising, so an older copy of a
deleted object cannot come back). Overwriting before unlinking is pointless on SSDs and journaling file
systems; what makes data unrecoverable is destroying its key (the session deletes a testimony's key from
the catalog first). Temporary files only ever hold ciphertext.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from workstation.domain.testimony import ConflictError
from workstation.platform.fileio import file_lock, fsync_dir, write_file_atomic
from workstation.vault import crypto

__all__ = ["Store", "write_file_atomic", "fsync_dir", "file_lock", "ReplayError", "MissingObjectError", "StoreFormatError", "StoreRootError", "INDEX_FILE", "OBJECTS_DIR", "LOCK_FILE"]

OBJECTS_DIR = "objects"
INDEX_FILE = "store-index.json"
LOCK_FILE = "store.lock"
INDEX_FORMAT = "tw-store-index-1"
OBJ_MAGIC = b"TWO\x01"
_OBJ_HEADER = struct.Struct(">4scQQ")
OBJ_HEADER_SIZE = _OBJ_HEADER.size  # 21
RECORD, BLOB = "r", "b"
_KINDS = {RECORD: "record", BLOB: "blob"}


class ReplayError(crypto.AuthenticationError):
    """An older copy of a file was put back (or the version index was rolled back)."""


class MissingObjectError(crypto.CryptoError):
    """The index says the object exists but its file is gone."""


class StoreFormatError(crypto.FormatError):
    """The version index or an object header cannot be read."""


class StoreRootError(crypto.AuthenticationError):
    """The version index as a whole fails its authentication (the store root): entries were edited, put back
    from an older copy or removed. Every read and write is refused until the vault is restored."""


@dataclass(frozen=True)
class _Header:
    kind: str
    version: int
    gen: int
    raw: bytes


def _name(kind: str, object_id: str) -> str:
    if not isinstance(object_id, str) or not object_id:
        raise ValueError("an object id is a non-empty string")
    return hashlib.sha256(f"tw-store|{kind}|{object_id}".encode()).hexdigest()[:40]


def _aad(kind: str, object_id: str, header: bytes) -> bytes:
    return f"tw-store|{kind}|{object_id}|".encode() + header


def _tag_key(key: bytes) -> bytes:
    return crypto.derive_subkey(key, "store-index")


def _tag(key: bytes, name: str, kind: str, version: int, gen: int) -> str:
    return crypto.mac(_tag_key(key), f"{name}|{kind}|{version}|{gen}".encode()).hex()


def _parse_header(raw: bytes, where: str) -> _Header:
    if len(raw) < OBJ_HEADER_SIZE or raw[:4] != OBJ_MAGIC:
        raise StoreFormatError(f"The vault file {where} is not a vault object (damaged or foreign).")
    _magic, kind, version, gen = _OBJ_HEADER.unpack(raw[:OBJ_HEADER_SIZE])
    if kind.decode("latin-1") not in _KINDS or version < 1:
        raise StoreFormatError(f"The vault file {where} has a damaged header.")
    return _Header(kind.decode("latin-1"), version, gen, bytes(raw[:OBJ_HEADER_SIZE]))


class _Index:
    """The parsed version index (see module docstring)."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {"format": INDEX_FORMAT, "gen": 0, "objects": {}, "pending": None}
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            raise StoreFormatError("The vault's version index has an unknown format.")
        self.gen: int = data["gen"]
        self.objects: dict[str, dict[str, Any]] = data["objects"]
        self.pending: dict[str, Any] | None = data.get("pending")
        self.anchors: dict[str, dict[str, Any]] = data.get("anchors") or {}
        self.mac: str | None = data.get("mac")
        if not _is_count(self.gen) or not isinstance(self.objects, dict) \
                or not all(_valid_entry(e) for e in self.objects.values()) or not _valid_pending(self.pending) \
                or not _valid_anchors(self.anchors) or not (self.mac is None or _is_tag(self.mac)):
            raise StoreFormatError("The vault's version index (store-index.json) is damaged.")

    def canonical(self) -> bytes:
        """What the store root authenticates: everything in the index but the root tag itself."""
        data = {"format": INDEX_FORMAT, "gen": self.gen, "objects": self.objects, "pending": self.pending,
                "anchors": self.anchors}
        return b"tw-store-root|" + json.dumps(data, sort_keys=True, separators=(",", ":")).encode("ascii")

    def to_bytes(self) -> bytes:
        data = {"format": INDEX_FORMAT, "gen": self.gen, "objects": self.objects, "pending": self.pending,
                "anchors": self.anchors, "mac": self.mac}
        return json.dumps(data, separators=(",", ":")).encode("ascii")

    def copy(self) -> _Index:
        """A private copy to modify (the cached index is shared between calls)."""
        twin = _Index.__new__(_Index)
        twin.gen, twin.pending = self.gen, (json.loads(json.dumps(self.pending)) if self.pending else None)
        twin.objects = {name: dict(entry) for name, entry in self.objects.items()}
        twin.anchors = {name: dict(a) for name, a in self.anchors.items()}
        twin.mac = self.mac
        return twin

    def live(self, name: str) -> dict[str, Any] | None:
        entry = self.objects.get(name)
        return entry if entry and not entry.get("deleted") else None

    def pending_for(self, name: str, header: _Header) -> bool:
        p = self.pending
        return bool(p and p.get("name") == name and p.get("op") == "write"
                    and p.get("v") == header.version and p.get("g") == header.gen)


class Store:
    """Encrypted records and blobs in one vault folder. Safe between processes and threads: every write
    opens the lock file anew and takes ``flock`` on it (flock locks conflict between open files, even
    within one process)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.objects = self.root / OBJECTS_DIR
        self.index_path = self.root / INDEX_FILE
        self._cache: tuple[tuple[int, int, int], _Index] | None = None
        self._root_key: bytes | None = None
        self._root_required = False

    # ---- the store root (the authentication of the whole index)

    def set_root_key(self, key: bytes, *, required: bool) -> None:
        """Authenticate the whole index from now on: checked on every load, written on every save.

        ``required`` (the vault says its index carries a root): an index without one is refused; otherwise
        (a vault from before the store root) it is accepted until the first write adds it."""
        self._root_key, self._root_required = crypto.derive_subkey(key, "store-root"), required
        self._cache = None

    def _check_root(self, index: _Index) -> None:
        if self._root_key is None:
            return
        if index.mac is None:
            if self._root_required:
                raise StoreRootError(
                    "The vault's version index (store-index.json) lost its authentication: it was replaced or "
                    "edited. Records may have been rolled back or deleted. Restore the vault from a backup."
                )
            return
        if not crypto.verify_mac(self._root_key, index.canonical(), bytes.fromhex(index.mac)):
            raise StoreRootError(
                "The vault's version index (store-index.json) was altered (its authentication does not match): "
                "a record may have been put back from an older copy, or deleted together with its entry. "
                "Restore the vault from a backup."
            )

    # ---- locking and the index

    def _lock(self, mode: int = fcntl.LOCK_EX) -> contextlib.AbstractContextManager[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return file_lock(self.root / LOCK_FILE, mode)

    def _load_index(self) -> _Index:
        try:
            st = os.stat(self.index_path)
        except FileNotFoundError:
            # The index is written before the first object, so objects without one mean it was removed.
            if self.objects.is_dir() and any(not n.startswith(".") for n in os.listdir(self.objects)):
                raise StoreFormatError(
                    "The vault's version index (store-index.json) is missing, so old copies of files could "
                    "not be told from current ones. Restore the vault from a backup."
                ) from None
            return _Index()
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._cache and self._cache[0] == stamp:
            return self._cache[1]
        try:
            raw = self.index_path.read_bytes()
            index = _Index(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise StoreFormatError(
                "The vault's version index (store-index.json) is damaged. Restore it from a backup."
            ) from exc
        self._check_root(index)
        self._cache = (stamp, index)
        return index

    def _save_index(self, index: _Index) -> None:
        if self._root_key is not None:
            index.mac = crypto.mac(self._root_key, index.canonical()).hex()
        elif index.mac is not None:
            raise StoreRootError("This vault's index is authenticated; write it through an unlocked session.")
        write_file_atomic(self.index_path, [index.to_bytes()])
        self._cache = None

    # ---- anchors: small authenticated values another part of the vault keeps here (the audit head)

    def anchor(self, name: str) -> tuple[int, str] | None:
        """(seq, hash) anchored under ``name``, from the authenticated index; None if none."""
        found = self._load_index().anchors.get(name)
        return (int(found["seq"]), str(found["hash"])) if found else None

    def set_anchor(self, name: str, seq: int, digest: str, *, max_step: int | None = None) -> None:
        """Anchor ``(seq, digest)`` under ``name`` unless a higher seq is anchored already (monotonic), or —
        with ``max_step`` — the anchored seq is more than ``max_step`` behind (then it stays as evidence: the
        index was put back from an older copy, and moving the anchor on would hide that)."""
        with self._lock():
            index = self._begin_write()
            current = index.anchors.get(name)
            if current is not None and int(current["seq"]) >= seq:
                return
            if current is not None and max_step is not None and seq - int(current["seq"]) > max_step:
                return
            index.anchors[name] = {"seq": int(seq), "hash": str(digest)}
            self._save_index(index)

    def ever_written(self, object_id: str) -> bool:
        """Whether the index knows ``object_id`` at all: live, or deleted (a tombstone)."""
        index = self._load_index()
        return any(_name(kind, object_id) in index.objects for kind in _KINDS)

    def _path(self, name: str) -> Path:
        return self.objects / name

    def _read_header(self, path: Path) -> _Header | None:
        try:
            with open(path, "rb") as fh:
                return _parse_header(fh.read(OBJ_HEADER_SIZE), path.name)
        except FileNotFoundError:
            return None

    def _begin_write(self) -> _Index:
        """Under the exclusive lock: finish what a crashed writer left, remove its temporary files."""
        index = self._load_index()
        if self.objects.is_dir():
            for tmp in self.objects.glob(".*.tmp"):  # every writer holds the lock: these are from dead ones
                with contextlib.suppress(OSError):
                    tmp.unlink()
        pending = index.pending
        if pending:
            index = index.copy()
            name = pending["name"]
            path = self._path(name)
            if pending["op"] == "delete":
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                index.objects[name] = pending["entry"]
            else:
                try:
                    header = self._read_header(path)
                except StoreFormatError:
                    header = None
                if header and header.version == pending["v"] and header.gen == pending["g"]:
                    index.objects[name] = pending["entry"]
            index.pending = None
            self._save_index(index)
        else:
            index = index.copy()
        return index

    # ---- objects

    def _current_version(self, index: _Index, name: str) -> tuple[int, int]:
        """(the live version the index records, or 0; the highest version ever used for this name).

        The index is authoritative (``_begin_write`` has finished any pending write); a file on disk only
        raises the floor, so a new version never reuses the number of any file that exists or existed."""
        entry = index.objects.get(name)
        live = int(entry["v"]) if entry and not entry.get("deleted") else 0
        try:
            header = self._read_header(self._path(name))
        except StoreFormatError:
            header = None
        return live, max(int(entry["v"]) if entry else 0, header.version if header else 0)

    def _write(self, key: bytes, kind: str, object_id: str, source: Callable[[int], crypto.Readable],
               expected_version: int | None) -> int:
        """``source(version)`` gives the plaintext once the new version is known (under the lock): a signed
        record's signature covers its version number."""
        name = _name(kind, object_id)
        self.objects.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock():
            index = self._begin_write()
            live, floor = self._current_version(index, name)
            if expected_version is not None and live != expected_version:
                raise ConflictError(
                    "This was changed by someone else in the meantime (stored version "
                    f"{live}, expected {expected_version}); nothing was overwritten. Reload and try again."
                )
            version, gen = floor + 1, index.gen + 1
            src = source(version)
            header = _OBJ_HEADER.pack(OBJ_MAGIC, kind.encode(), version, gen)
            entry = {"k": kind, "v": version, "g": gen, "t": _tag(key, name, kind, version, gen)}
            index.gen = gen
            index.pending = {"op": "write", "name": name, "v": version, "g": gen, "entry": entry}
            self._save_index(index)  # the intent: a crash from here on is finished by the next writer
            parts = crypto.iter_encrypt(key, src, aad=_aad(kind, object_id, header))
            write_file_atomic(self._path(name), _prepend(header, parts))
            index.objects[name] = entry
            index.pending = None
            self._save_index(index)  # the commit
        return version

    def _snapshot(self, key: bytes, kind: str, object_id: str) -> tuple[BinaryIO, _Header]:
        """Open the object and check its header against the index (see module docstring)."""
        name = _name(kind, object_id)
        try:
            return self._check(key, kind, object_id, name)
        except (ReplayError, MissingObjectError):
            pass  # maybe a writer ran between reading the index and opening the file: look again, locked
        with self._lock(fcntl.LOCK_SH):
            self._cache = None
            return self._check(key, kind, object_id, name)

    def _check(self, key: bytes, kind: str, object_id: str, name: str) -> tuple[BinaryIO, _Header]:
        index = self._load_index()
        entry = index.objects.get(name)
        what = f"{_KINDS[kind]} {name[:12]}"
        try:
            fh: BinaryIO = open(self._path(name), "rb")
        except FileNotFoundError:
            if entry and not entry.get("deleted") and not (index.pending and index.pending.get("name") == name):
                raise MissingObjectError(
                    f"The {what} is missing from the vault folder (deleted or lost). Restore it from a backup."
                ) from None
            raise
        try:
            header = _parse_header(fh.read(OBJ_HEADER_SIZE), name)
            if header.kind != kind:
                raise crypto.AuthenticationError()
            if entry and not index.pending_for(name, header):
                if entry.get("deleted") and header.version <= int(entry["v"]):
                    raise ReplayError(f"The {what} was deleted, but an older copy of its file was put back.")
                if header.version < int(entry["v"]) or (header.version == int(entry["v"]) and header.gen != int(entry["g"])):
                    raise ReplayError(
                        f"The {what} is an older copy (version {header.version}; the vault recorded version "
                        f"{entry['v']}): a file was put back from an older copy of the vault. Restore it from a backup."
                    )
            if header.gen > index.gen and not index.pending_for(name, header):
                raise ReplayError(
                    f"The vault's version index is older than the {what}: files were put back from an older "
                    "copy of the vault (rollback). Restore the vault from a backup."
                )
            if entry and not entry.get("deleted") and header.version == int(entry["v"]):
                if not crypto.verify_mac(_tag_key(key), f"{name}|{kind}|{entry['v']}|{entry['g']}".encode(),
                                         bytes.fromhex(entry["t"])):
                    # also what a wrong key gives: decrypting first tells the two apart
                    _authenticate_first_chunk(key, fh, kind, object_id, header)
                    raise crypto.AuthenticationError(
                        f"The vault's version index entry of the {what} was altered. Restore it from a backup."
                    )
            return fh, header
        except BaseException:
            fh.close()
            raise

    def write_record(self, key: bytes, record_id: str, data: bytes | Callable[[int], bytes], *,
                     expected_version: int) -> int:
        """Compare-and-swap write of a small record; returns its new version.

        ``expected_version`` is the version the caller read (0: the record must not exist yet). If the stored
        version differs, :class:`~workstation.domain.testimony.ConflictError` is raised and nothing is written.
        ``data`` may be a function of the new version (called once, under the lock): what a signed record needs.
        """
        if not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError("expected_version is the version read (0 for a new record)")
        if not callable(data):
            reader = _Reader(data)  # checked before anything is written
            return self._write(key, RECORD, record_id, lambda _version: reader, expected_version)
        return self._write(key, RECORD, record_id, lambda version: _Reader(data(version)), expected_version)

    def read_record(self, key: bytes, record_id: str) -> tuple[bytes, int]:
        """(plaintext, version). ``FileNotFoundError`` if there is no such record; CryptoError subclasses
        (``AuthenticationError``, ``ReplayError``, ``MissingObjectError``, ``FormatError``) if it was tampered."""
        data, version, _gen, _digest = self.read_record_at(key, record_id)
        return data, version

    def read_record_at(self, key: bytes, record_id: str) -> tuple[bytes, int, int, str]:
        """(plaintext, version, the store generation of its write, SHA-256 of the object file as read)."""
        fh, header = self._snapshot(key, RECORD, record_id)
        with fh:
            sealed = fh.read()  # a record is small: read once, so the digest is of exactly what is decrypted
        data = b"".join(crypto.iter_decrypt(key, io.BytesIO(sealed), aad=_aad(RECORD, record_id, header.raw)))
        return data, header.version, header.gen, hashlib.sha256(header.raw + sealed).hexdigest()

    def record_file_digest(self, record_id: str) -> str | None:
        """SHA-256 of a record's object file as it is now (None if there is none): what a re-key lists as written
        under the retiring key."""
        try:
            return hashlib.sha256(self._path(_name(RECORD, record_id)).read_bytes()).hexdigest()
        except FileNotFoundError:
            return None

    def generation(self) -> int:
        """The store's generation counter: every object written from now on has a higher one."""
        return int(self._load_index().gen)

    def record_version(self, record_id: str) -> int:
        """The stored version of a record without decrypting it (0: none). Not authenticated."""
        index = self._load_index()
        entry = index.live(_name(RECORD, record_id))
        return int(entry["v"]) if entry else 0

    def write_blob_from(self, key: bytes, blob_id: str, src: BinaryIO) -> int:
        """Encrypt ``src`` (read to its end, in chunks; memory bounded) as blob ``blob_id``; returns its version.

        Holds the store lock while streaming (other writers wait; readers do not)."""
        return self._write(key, BLOB, blob_id, lambda _version: src, None)

    def open_blob(self, key: bytes, blob_id: str) -> Iterator[bytes]:
        """The blob's plaintext chunks, each authenticated before it is yielded (truncation shows at the end).

        Raises ``FileNotFoundError`` (no such blob) or a CryptoError subclass at once when the file is not the
        one the index names; damage inside raises while iterating."""
        return self.open_blob_at(key, blob_id)[0]

    def open_blob_at(self, key: bytes, blob_id: str) -> tuple[Iterator[bytes], int]:
        """:meth:`open_blob` and the store generation of the blob's write."""
        fh, header = self._snapshot(key, BLOB, blob_id)
        return _iter_and_close(fh, crypto.iter_decrypt(key, fh, aad=_aad(BLOB, blob_id, header.raw))), header.gen

    def exists(self, object_id: str) -> bool:
        index = self._load_index()
        return any(index.live(_name(kind, object_id)) for kind in _KINDS)

    def delete(self, object_id: str) -> bool:
        """Delete the record and/or blob named ``object_id``; True if something was deleted."""
        deleted = False
        with self._lock():
            index = self._begin_write()
            for kind in _KINDS:
                name = _name(kind, object_id)
                path = self._path(name)
                entry = index.objects.get(name)
                if not path.exists() and not (entry and not entry.get("deleted")):
                    continue
                tomb = {"k": kind, "v": int(entry["v"]) if entry else 0, "g": index.gen + 1, "deleted": True}
                index.gen += 1
                index.pending = {"op": "delete", "name": name, "entry": tomb}
                self._save_index(index)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    fsync_dir(self.objects)
                index.objects[name] = tomb
                index.pending = None
                self._save_index(index)
                deleted = True
        return deleted

    # ---- verification (no keys needed)

    def verify(self) -> list[str]:
        """Structural check of every object against the version index (no keys: authentication of contents
        is checked when each object is read). Names each missing file, older copy, rolled-back index and
        foreign file."""
        problems: list[str] = []
        with self._lock(fcntl.LOCK_SH):
            self._cache = None
            try:
                index = self._load_index()
            except (StoreFormatError, StoreRootError) as exc:
                return [str(exc)]
            if self._root_key is None and index.mac is not None:
                problems.append("The version index's authentication was not checked (no key given).")
            pending = index.pending.get("name") if index.pending else None
            files = {p.name for p in self.objects.iterdir() if not p.name.startswith(".")} if self.objects.is_dir() else set()
            for name, entry in sorted(index.objects.items()):
                what = f"{_KINDS.get(str(entry.get('k')), 'object')} file {name[:12]}"
                if name == pending:
                    continue
                if name not in files:
                    if not entry.get("deleted"):
                        problems.append(f"The {what} is missing (deleted or lost).")
                    continue
                try:
                    header = self._read_header(self._path(name))
                except StoreFormatError:
                    problems.append(f"The {what} has a damaged header.")
                    continue
                if header is None:
                    continue
                if entry.get("deleted") and header.version <= int(entry["v"]):
                    problems.append(f"The {what} was deleted, but an older copy was put back.")
                elif header.version < int(entry["v"]) or (header.version == int(entry["v"]) and header.gen != int(entry["g"])):
                    problems.append(
                        f"The {what} is an older copy (version {header.version}, the vault recorded {entry['v']})."
                    )
                elif header.gen > index.gen:
                    problems.append(f"The {what} is newer than the version index: the index was rolled back.")
            for name in sorted(files - set(index.objects)):
                if name == pending:
                    continue
                problems.append(f"The file objects/{name[:12]}… does not belong to this vault's index (foreign or left over).")
        return problems


# --- small helpers ---------------------------------------------------------------------------------


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


def _valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict) or entry.get("k") not in _KINDS:
        return False
    if not (_is_count(entry.get("v")) and _is_count(entry.get("g"))):
        return False
    if entry.get("deleted"):
        return entry.get("deleted") is True
    tag = entry.get("t")
    return isinstance(tag, str) and _HEX64.fullmatch(tag) is not None


def _is_tag(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _valid_anchors(anchors: Any) -> bool:
    return isinstance(anchors, dict) and all(
        isinstance(k, str) and isinstance(a, dict) and _is_count(a.get("seq")) and _is_tag(a.get("hash"))
        for k, a in anchors.items())


def _valid_pending(pending: Any) -> bool:
    if pending is None:
        return True
    if not isinstance(pending, dict) or not isinstance(pending.get("name"), str) or not _valid_entry(pending.get("entry")):
        return False
    if pending.get("op") == "delete":
        return True
    return pending.get("op") == "write" and _is_count(pending.get("v")) and _is_count(pending.get("g"))


class _Reader:
    def __init__(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("record data are bytes")
        self._view, self._pos = memoryview(data), 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._pos + n)
        out = bytes(self._view[self._pos:end])
        self._pos = end
        return out


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _iter_and_close(fh: BinaryIO, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        fh.close()


def _authenticate_first_chunk(key: bytes, fh: BinaryIO, kind: str, object_id: str, header: _Header) -> None:
    """Decrypt the start of the object: with the wrong key this raises the usual AuthenticationError."""
    pos = fh.tell()
    try:
        it = crypto.iter_decrypt(key, fh, aad=_aad(kind, object_id, header.raw))
        next(it, None)
    finally:
        fh.seek(pos)
