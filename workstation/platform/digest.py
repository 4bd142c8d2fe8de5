"""The one sha256 helper: hex digests of bytes, of a stream read in blocks, of a file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO, block: int = BLOCK) -> tuple[str, int]:
    """(hex digest, bytes read) of everything left in `stream`, in bounded memory."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(block):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)[0]
