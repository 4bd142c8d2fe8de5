"""The only module of the project that touches ciphers: Argon2id, AES-256-GCM, HKDF, HMAC.

The surface is small on purpose (like Fernet / age): a key is 32 random bytes, everything encrypted is a
*container* in one versioned format, and every call binds caller *associated data* (``aad``: a record id,
a blob id, a testimony id...) so a ciphertext moved to another place no longer opens.

Container format (``docs/VAULT-FORMAT.md`` has the byte layout)
-----------------------------------------------------------------
``header (32 bytes) || chunk_0 || chunk_1 || ... || chunk_n``

* header = ``b"TWVC" | version (1) | 0 (reserved) | chunk size (u32 BE) | key salt (16) | nonce prefix (6)``
  — 4 + 1 + 1 + 4 + 16 + 6 = 32 bytes;
* every blob gets a fresh random key salt: the chunk key is ``HKDF-SHA256(key, salt, "tw-container-v1")``, so
  no two containers ever share an AES-GCM key and nonce, however many are written with one key;
* chunk ``i`` = AES-256-GCM over at most ``chunk size`` plaintext bytes with
  nonce = ``nonce prefix (6) | i (u40 BE, 5 bytes) | last flag (1)`` and
  associated data = ``header || caller aad``. Every chunk but the last holds exactly ``chunk size`` bytes;
  the last one (possibly empty) has the flag set (the STREAM construction of Hoang et al., as in age/Tink).

So: edited header → every chunk fails; chunks reordered or swapped between blobs → wrong nonce/key; truncated
at a chunk boundary → the new last chunk lacks the flag; anything appended after the last chunk → the real
last chunk is no longer read as the last; another blob id / testimony → wrong aad. All of these raise
:class:`AuthenticationError`. Memory is bounded by one chunk whatever the size of the stream.

Streaming decryption yields each chunk only after it authenticated, but a truncation is only noticed at the
end: whoever consumes :func:`iter_decrypt` must treat the data as unverified until the iterator finished
without error (``decrypt_stream`` writes to ``dst`` as it goes, same caveat).

Keys in memory: Python cannot reliably wipe memory (bytes are immutable, copies are made by the interpreter
and by OpenSSL bindings). Where it is cheap we hand out ``bytes`` and keep nothing ourselves; the caller's
only real defence is to drop references (the session's ``lock()`` does) and to keep swap encrypted. This is
best effort, said honestly.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workstation.platform.errors import WorkstationError

__all__ = [
    "KEY_SIZE", "MIN_MEMORY_KIB", "DEFAULT_CHUNK_SIZE", "MAX_CHUNK_SIZE", "MAGIC", "FORMAT_VERSION", "HEADER_SIZE",
    "KdfParams", "derive_key", "random_key", "derive_subkey", "mac", "verify_mac",
    "seal", "unseal", "encrypt_stream", "decrypt_stream", "iter_decrypt", "iter_encrypt", "wrap_key", "unwrap_key",
    "is_container", "CryptoError", "AuthenticationError", "FormatError",
]

KEY_SIZE = 32
TAG_SIZE = 16
MAGIC = b"TWVC"
FORMAT_VERSION = 1
HEADER_SIZE = 32
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1 << 10  # tiny chunks only make files bigger; the lower bound keeps odd headers out
MAX_CHUNK_SIZE = 1 << 24  # bounds the memory a (forged) header can make a reader allocate
MIN_MEMORY_KIB = 64 * 1024  # Argon2id memory floor (DESIGN.md: ≥ 64 MiB)
MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB: read caps on planted slot parameters (KdfParams.check)
MAX_ITERATIONS = 16
MAX_LANES = 16
MAX_COST_KIB_PASSES = 8 * 128 * 1024 * 3  # 8x the default memory x passes
_HEADER = struct.Struct(">4sBBI16s6s")
_MAX_CHUNKS = 1 << 40  # 5-byte counter
_CONTAINER_INFO = b"tw-container-v1"

_DAMAGED = (
    "this file was altered or damaged, or the key is wrong. Nothing was changed; restore it from a backup "
    "('workstation verify' lists every problem)."
)


# --- errors -------------------------------------------------------------------------------------------


class CryptoError(WorkstationError):
    """Something encrypted could not be opened."""


class AuthenticationError(CryptoError):
    """Authentication failed: tampered, truncated, extended, swapped, or the wrong key / associated data."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or f"Authentication failed: {_DAMAGED}")


class FormatError(CryptoError):
    """Not a vault container, or a version this program does not understand."""


# --- keys ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost; stored with every key slot so it can be raised later without breaking old slots.

    Defaults: 128 MiB, 3 passes, 4 lanes — about 0.4 s on a 2-core laptop (``scripts/bench_vault.py``),
    above RFC 9106's second recommended setting (64 MiB, t=3, p=4).
    """

    memory_kib: int = 128 * 1024
    iterations: int = 3
    lanes: int = 4
    algorithm: str = "argon2id"

    def check(self) -> None:
        if self.algorithm != "argon2id":
            raise FormatError(f"Unsupported key derivation {self.algorithm!r}; only argon2id is known.")
        # Caps, checked when a slot is read: the parameters sit in a plaintext file, and planted ones
        # (4 GiB x 64 passes) would otherwise hang unlock for minutes or exhaust memory.
        if not _count(self.memory_kib) or not MIN_MEMORY_KIB <= self.memory_kib <= MAX_MEMORY_KIB:
            raise FormatError(f"Argon2id memory must be between {MIN_MEMORY_KIB} KiB and {MAX_MEMORY_KIB // 1024} MiB.")
        if not _count(self.iterations) or not 1 <= self.iterations <= MAX_ITERATIONS:
            raise FormatError(f"Argon2id passes must be between 1 and {MAX_ITERATIONS}.")
        if not _count(self.lanes) or not 1 <= self.lanes <= MAX_LANES:
            raise FormatError(f"Argon2id lanes must be between 1 and {MAX_LANES}.")
        if self.memory_kib * self.iterations > MAX_COST_KIB_PASSES:
            raise FormatError("Argon2id memory x passes is above what this program accepts (a planted key slot?).")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """A 32-byte key from a passphrase (NFC-normalised UTF-8) with Argon2id; ``salt`` ≥ 16 random bytes."""
    params.check()
    if len(salt) < 16:
        raise FormatError("The key derivation salt is too short (damaged key slot?).")
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Argon2id(salt=bytes(salt), length=KEY_SIZE, iterations=params.iterations, lanes=params.lanes,
                   memory_cost=params.memory_kib)
    return kdf.derive(secret)


def random_key() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return os.urandom(KEY_SIZE)


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray, memoryview)) or len(key) != KEY_SIZE:
        raise TypeError("a vault key is exactly 32 bytes")


def derive_subkey(key: bytes, purpose: str | bytes, *, salt: bytes | None = None) -> bytes:
    """An independent 32-byte key for one purpose (HKDF-SHA256), e.g. the audit log's MAC key."""
    _check_key(key)
    info = purpose.encode("utf-8") if isinstance(purpose, str) else bytes(purpose)
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=b"tw-subkey|" + info).derive(bytes(key))


def mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256."""
    _check_key(key)
    return hmac.new(bytes(key), data, hashlib.sha256).digest()


def verify_mac(key: bytes, data: bytes, tag: bytes) -> bool:
    """Constant-time comparison of :func:`mac`."""
    return hmac.compare_digest(mac(key, data), bytes(tag))


# --- the container -------------------------------------------------------------------------------------


class _Sealer:
    """Per-container state: header, chunk key, nonce prefix; encrypts or decrypts chunk ``i``."""

    def __init__(self, key: bytes, header: bytes, aad: bytes) -> None:
        _magic, _version, _reserved, self.chunk_size, salt, self.prefix = _HEADER.unpack(header)
        self.header = header
        self.aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt,
                                info=_CONTAINER_INFO).derive(bytes(key)))
        self.aad = header + bytes(aad)

    def _nonce(self, index: int, last: bool) -> bytes:
        if index >= _MAX_CHUNKS:
            raise CryptoError("This stream is too long for one container.")
        return self.prefix + index.to_bytes(5, "big") + (b"\x01" if last else b"\x00")

    def encrypt(self, index: int, chunk: bytes, last: bool) -> bytes:
        return self.aead.encrypt(self._nonce(index, last), chunk, self.aad)

    def decrypt(self, index: int, chunk: bytes, last: bool) -> bytes:
        try:
            return self.aead.decrypt(self._nonce(index, last), chunk, self.aad)
        except InvalidTag:
            where = "its last part" if last else f"part {index + 1}"
            raise AuthenticationError(
                f"Authentication failed at {where}: {_DAMAGED}"
            ) from None


def _new_header(chunk_size: int) -> bytes:
    if not isinstance(chunk_size, int) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes")
    return _HEADER.pack(MAGIC, FORMAT_VERSION, 0, chunk_size, os.urandom(16), os.urandom(6))


def _parse_header(header: bytes) -> None:
    if len(header) < HEADER_SIZE or header[:4] != MAGIC:
        raise FormatError("This is not a Testimony Workstation vault file (or it is cut short).")
    magic, version, reserved, chunk_size, _salt, _prefix = _HEADER.unpack(header[:HEADER_SIZE])
    if version != FORMAT_VERSION:
        raise FormatError(
            f"This vault file uses format version {version}, which this program does not understand. "
            "Update Testimony Workstation."
        )
    if reserved != 0 or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        # the header is authenticated, so an edited field would fail anyway; refusing early bounds memory
        raise AuthenticationError(f"The file header is invalid: {_DAMAGED}")


def _read_full(src: Readable, n: int) -> bytes:
    """Read exactly ``n`` bytes unless the stream ends first (raw streams may return short reads)."""
    parts, got = [], 0
    while got < n:
        part = src.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def _chunks(src: Readable, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(index, chunk, is_last) for reads of ``size`` bytes; one chunk read ahead tells which one is last."""
    index, current = 0, _read_full(src, size)
    while True:
        following = _read_full(src, size) if len(current) == size else b""
        yield index, current, not following
        if not following:
            return
        current, index = following, index + 1


class Readable(Protocol):
    """What encryption reads from: a file, or the store's view of a record's bytes (no copy)."""

    def read(self, n: int = -1, /) -> bytes: ...


def iter_encrypt(key: bytes, src: Readable, *, aad: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """The container as a sequence of byte strings (header, then one per chunk); memory: two chunks."""
    _check_key(key)
    header = _new_header(chunk_size)
    sealer = _Sealer(key, header, aad)
    yield header
    for index, chunk, last in _chunks(src, chunk_size):
        yield sealer.encrypt(index, chunk, last)


def encrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *, aad: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Encrypt ``src`` (read to its end) into ``dst``; returns the number of ciphertext bytes written."""
    written = 0
    for part in iter_encrypt(key, src, aad=aad, chunk_size=chunk_size):
        dst.write(part)
        written += len(part)
    return written


def iter_decrypt(key: bytes, src: BinaryIO, *, aad: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a container read from ``src``, each authenticated before it is yielded.

    Raises :class:`FormatError` (not a container / unknown version) or :class:`AuthenticationError`
    (anything altered, truncated, extended, swapped; wrong key or aad). Data already yielded must be
    treated as unverified until the iterator ends without an error.
    """
    _check_key(key)
    header = _read_full(src, HEADER_SIZE)
    _parse_header(header)
    sealer = _Sealer(key, header, aad)
    for index, chunk, last in _chunks(src, sealer.chunk_size + TAG_SIZE):
        if len(chunk) < TAG_SIZE:
            raise AuthenticationError(f"The file is cut short (truncated): {_DAMAGED}")
        yield sealer.decrypt(index, chunk, last)


def decrypt_stream(key: bytes, src: BinaryIO, dst: BinaryIO, *, aad: bytes) -> int:
    """Decrypt a container from ``src`` into ``dst``; returns the plaintext size (see iter_decrypt's caveat)."""
    total = 0
    for chunk in iter_decrypt(key, src, aad=aad):
        dst.write(chunk)
        total += len(chunk)
    return total


class _BytesReader:
    """A minimal read-only stream over a bytes-like object without copying it first."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._pos + n)
        out = bytes(self._view[self._pos:end])
        self._pos = end
        return out


def seal(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt a small record into one container (same format as streams)."""
    if not isinstance(plaintext, (bytes, bytearray, memoryview)):
        raise TypeError("seal() takes bytes")
    return b"".join(iter_encrypt(key, _BytesReader(plaintext), aad=aad))


def unseal(key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Open a container made by :func:`seal` (or :func:`encrypt_stream`); raises CryptoError subclasses."""
    if not isinstance(sealed, (bytes, bytearray, memoryview)):
        raise FormatError("This is not a Testimony Workstation vault file.")
    return b"".join(iter_decrypt(key, _BytesReader(sealed), aad=aad))  # type: ignore[arg-type]


def is_container(data: bytes) -> bool:
    """Does ``data`` start like a container (magic only; says nothing about authenticity)?"""
    return bytes(data[:4]) == MAGIC


# --- key wrapping ------------------------------------------------------------------------------------


def wrap_key(kek: bytes, key: bytes, *, aad: bytes) -> bytes:
    """Encrypt a 32-byte key under a key-encryption key, bound to ``aad`` (e.g. user name + role)."""
    _check_key(key)
    return seal(kek, bytes(key), aad=b"tw-wrap|" + bytes(aad))


def unwrap_key(kek: bytes, wrapped: bytes, *, aad: bytes) -> bytes:
    """The key sealed by :func:`wrap_key`; AuthenticationError if altered, wrong kek or other aad."""
    key = unseal(kek, wrapped, aad=b"tw-wrap|" + bytes(aad))
    if len(key) != KEY_SIZE:
        raise AuthenticationError(f"The wrapped key has the wrong size: {_DAMAGED}")
    return key
