"""crypto.py: the container (seal / streams), tampering of every kind, key derivation and wrapping, and a
1 GB stream with bounded memory."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from workstation.platform.errors import WorkstationError
from workstation.vault import crypto
from workstation.vault.crypto import AuthenticationError, FormatError

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
CS = 1024  # small chunks so "many chunks" stays cheap


def enc(data: bytes, *, key: bytes = KEY, aad: bytes = b"blob-1", chunk_size: int = CS) -> bytes:
    out = io.BytesIO()
    crypto.encrypt_stream(key, io.BytesIO(data), out, aad=aad, chunk_size=chunk_size)
    return out.getvalue()


def dec(blob: bytes, *, key: bytes = KEY, aad: bytes = b"blob-1") -> bytes:
    out = io.BytesIO()
    crypto.decrypt_stream(key, io.BytesIO(blob), out, aad=aad)
    return out.getvalue()


def chunks_of(blob: bytes) -> list[bytes]:
    body = blob[crypto.HEADER_SIZE:]
    size = CS + 16
    return [body[i:i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 2 * CS, 7 * CS + 5])
def test_stream_round_trip(size: int) -> None:
    data = os.urandom(size)
    blob = enc(data)
    assert dec(blob) == data
    assert b"".join(crypto.iter_decrypt(KEY, io.BytesIO(blob), aad=b"blob-1")) == data
    assert len(chunks_of(blob)) == max(1, -(-size // CS))
    assert len(blob) == crypto.HEADER_SIZE + size + 16 * len(chunks_of(blob))


def test_exact_multiple_has_no_empty_trailing_chunk() -> None:
    blob = enc(b"x" * (3 * CS))
    assert len(chunks_of(blob)) == 3  # the last full chunk carries the flag


def test_seal_round_trip_and_fresh_randomness() -> None:
    for data in (b"", b"a", "Меня задержали".encode(), os.urandom(3 * crypto.DEFAULT_CHUNK_SIZE // 2)):
        sealed = crypto.seal(KEY, data, aad=b"rec")
        assert crypto.unseal(KEY, sealed, aad=b"rec") == data
        assert sealed[:4] == crypto.MAGIC and crypto.is_container(sealed)
    assert crypto.seal(KEY, b"same", aad=b"r") != crypto.seal(KEY, b"same", aad=b"r")


def test_plaintext_not_visible() -> None:
    secret = "свидетель Коваленко".encode() * 10
    assert secret[:20] not in crypto.seal(KEY, secret, aad=b"r")


@pytest.mark.parametrize(
    "where", ["magic", "version", "reserved", "chunk_size", "salt", "prefix", "first chunk", "middle chunk", "tag"]
)
def test_flipping_any_byte_is_detected(where: str) -> None:
    blob = bytearray(enc(os.urandom(5 * CS)))
    offset = {"magic": 1, "version": 4, "reserved": 5, "chunk_size": 8, "salt": 15, "prefix": 28,
              "first chunk": 40, "middle chunk": 32 + 2 * (CS + 16) + 100, "tag": len(blob) - 3}[where]
    blob[offset] ^= 0x01
    expected = FormatError if where in ("magic", "version") else AuthenticationError
    with pytest.raises(expected):
        dec(bytes(blob))


def test_truncation_at_a_chunk_boundary_and_inside() -> None:
    blob = enc(os.urandom(4 * CS + 10))
    boundary = crypto.HEADER_SIZE + 3 * (CS + 16)
    for cut in (boundary, boundary + 7, len(blob) - 1, crypto.HEADER_SIZE, crypto.HEADER_SIZE + 5):
        with pytest.raises(AuthenticationError):
            dec(blob[:cut])
    with pytest.raises(FormatError):
        dec(blob[:10])


def test_extension_after_last_chunk() -> None:
    blob = enc(os.urandom(2 * CS))
    for extra in (b"\x00", os.urandom(CS + 16), chunks_of(blob)[0]):
        with pytest.raises(AuthenticationError):
            dec(blob + extra)


def test_reordered_and_swapped_chunks() -> None:
    a, b = enc(os.urandom(3 * CS)), enc(os.urandom(3 * CS))
    ca, cb = chunks_of(a), chunks_of(b)
    with pytest.raises(AuthenticationError):
        dec(a[:crypto.HEADER_SIZE] + ca[1] + ca[0] + ca[2])
    with pytest.raises(AuthenticationError):  # a chunk of another blob under the same key
        dec(a[:crypto.HEADER_SIZE] + ca[0] + cb[1] + ca[2])
    with pytest.raises(AuthenticationError):  # dropping a middle chunk
        dec(a[:crypto.HEADER_SIZE] + ca[0] + ca[2])


def test_wrong_key_or_aad_swapping_blobs_between_testimonies() -> None:
    blob = enc(b"evidence", aad=b"testimony-A|original")
    with pytest.raises(AuthenticationError):
        dec(blob, aad=b"testimony-B|original")
    with pytest.raises(AuthenticationError):
        dec(blob, key=OTHER, aad=b"testimony-A|original")
    assert dec(blob, aad=b"testimony-A|original") == b"evidence"


def test_errors_are_the_projects_and_human() -> None:
    with pytest.raises(WorkstationError) as info:
        crypto.unseal(KEY, crypto.seal(OTHER, b"x", aad=b""), aad=b"")
    assert "altered or damaged, or the key is wrong" in str(info.value)
    with pytest.raises(FormatError, match="not a Testimony Workstation vault file"):
        crypto.unseal(KEY, b"PK\x03\x04 a zip file" + bytes(40), aad=b"")
    future = bytearray(crypto.seal(KEY, b"x", aad=b""))
    future[4] = 9
    with pytest.raises(FormatError, match="version 9"):
        crypto.unseal(KEY, bytes(future), aad=b"")
    with pytest.raises(TypeError):
        crypto.seal(b"short", b"x", aad=b"")


def test_forged_huge_chunk_size_is_refused_without_allocating() -> None:
    blob = bytearray(crypto.seal(KEY, b"x", aad=b""))
    blob[6:10] = (2**31).to_bytes(4, "big")
    with pytest.raises(AuthenticationError):
        crypto.unseal(KEY, bytes(blob), aad=b"")


def test_wrap_unwrap_binds_aad() -> None:
    kek, key = crypto.random_key(), crypto.random_key()
    wrapped = crypto.wrap_key(kek, key, aad=b"user=edna|role=editor")
    assert crypto.unwrap_key(kek, wrapped, aad=b"user=edna|role=editor") == key
    with pytest.raises(AuthenticationError):
        crypto.unwrap_key(kek, wrapped, aad=b"user=edna|role=translator")
    with pytest.raises(AuthenticationError):  # a plain seal is not a wrapped key (domain separation)
        crypto.unwrap_key(kek, crypto.seal(kek, key, aad=b"x"), aad=b"x")


@pytest.mark.slow
def test_derive_key_and_params() -> None:
    params = crypto.KdfParams(memory_kib=crypto.MIN_MEMORY_KIB, iterations=1, lanes=1)
    salt = os.urandom(16)
    k1 = crypto.derive_key("lamp orbit cedar violin", salt, params)
    assert len(k1) == 32 and k1 == crypto.derive_key("lamp orbit cedar violin", salt, params)
    assert k1 != crypto.derive_key("lamp orbit cedar violin", os.urandom(16), params)
    assert k1 != crypto.derive_key("lamp orbit cedar violim", salt, params)
    # NFC normalisation: a passphrase typed with a combining accent opens the same slot
    assert crypto.derive_key("caf\u00e9 orbit", salt, params) == crypto.derive_key("cafe\u0301 orbit", salt, params)
    assert crypto.KdfParams().memory_kib >= 64 * 1024
    with pytest.raises(FormatError):
        crypto.derive_key("x", salt, crypto.KdfParams(memory_kib=1024))
    with pytest.raises(FormatError):
        crypto.derive_key("x", b"short", params)


def test_subkeys_are_independent() -> None:
    a, b = crypto.derive_subkey(KEY, "audit-mac"), crypto.derive_subkey(KEY, "audit-enc")
    assert len(a) == 32 and a != b and a != KEY and a == crypto.derive_subkey(KEY, b"audit-mac")
    tag = crypto.mac(a, b"entry")
    assert crypto.verify_mac(a, b"entry", tag) and not crypto.verify_mac(b, b"entry", tag)


_BIG = textwrap.dedent(
    """
    import hashlib, os, sys
    from workstation.vault import crypto

    def peak_rss():  # VmHWM belongs to this address space; ru_maxrss would carry the parent's peak over exec
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    total = int(sys.argv[1])
    block = os.urandom(1 << 20)

    class Source:  # a 'generator' of plaintext: never more than one block in memory
        def __init__(self): self.left = total
        def read(self, n):
            n = min(n, self.left); self.left -= n
            return (block * (n // len(block) + 1))[:n] if n > len(block) else block[:n]

    class Pipe:  # the ciphertext flows from the encryptor straight into the decryptor
        def __init__(self, it): self.it, self.buf = it, b""
        def read(self, n):
            while len(self.buf) < n:
                part = next(self.it, None)
                if part is None: break
                self.buf += part
            out, self.buf = self.buf[:n], self.buf[n:]
            return out

    key = crypto.random_key()
    before = peak_rss()
    got, digest = 0, hashlib.sha256()
    for chunk in crypto.iter_decrypt(key, Pipe(crypto.iter_encrypt(key, Source(), aad=b"big")), aad=b"big"):
        got += len(chunk)
        digest.update(chunk[:64])
    after = peak_rss()
    print(got, before * 1024, after * 1024)
    """
)


@pytest.mark.slow
def test_one_gigabyte_stream_with_bounded_memory() -> None:
    total = 1 << 30
    out = subprocess.run([sys.executable, "-c", _BIG, str(total)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got, before, peak = map(int, out.stdout.split())
    assert got == total
    # VmHWM is the process's peak: imports alone reach ~40 MiB; the stream adds at most a few chunks
    assert peak - before < 64 * 2**20 and peak < 200 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB for a 1 GiB stream"
