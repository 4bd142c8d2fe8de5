"""Property tests: arbitrary bytes (and mutations of valid files) fed to every parser of the vault only ever
raise the project's own error types (or the documented FileNotFoundError for an absent object)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.platform.errors import WorkstationError
from workstation.vault import crypto
from workstation.vault.audit import AuditLog
from workstation.vault.store import Store

KEY = bytes(range(32))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID = crypto.seal(KEY, b"a small record " * 20, aad=b"r")
STREAM = io.BytesIO()
crypto.encrypt_stream(KEY, io.BytesIO(bytes(3000)), STREAM, aad=b"s", chunk_size=1024)
VALID_STREAM = STREAM.getvalue()


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None, extra: bytes) -> bytes:
    raw = bytearray(data)
    for pos, value in edits:
        raw[pos % len(raw)] = value
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    return bytes(raw) + extra


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4)


@SETTINGS
@given(st.binary(max_size=4096))
def test_unseal_arbitrary_bytes(data: bytes) -> None:
    try:
        crypto.unseal(KEY, data, aad=b"r")
    except crypto.CryptoError:
        pass


@SETTINGS
@given(edits, st.none() | st.integers(0, 10**6), st.binary(max_size=64))
def test_unseal_mutated_container(e: list[tuple[int, int]], cut: int | None, extra: bytes) -> None:
    data = mutate(VALID, e, cut, extra)
    try:
        assert crypto.unseal(KEY, data, aad=b"r") == b"a small record " * 20
        assert data == VALID  # only the untouched container opens
    except crypto.CryptoError:
        pass


@SETTINGS
@given(edits, st.none() | st.integers(0, 10**6), st.binary(max_size=2048))
def test_decrypt_stream_mutated(e: list[tuple[int, int]], cut: int | None, extra: bytes) -> None:
    data = mutate(VALID_STREAM, e, cut, extra)
    try:
        out = io.BytesIO()
        crypto.decrypt_stream(KEY, io.BytesIO(data), out, aad=b"s")
        assert data == VALID_STREAM and out.getvalue() == bytes(3000)
    except crypto.CryptoError:
        pass


@SETTINGS
@given(st.binary(max_size=2048))
def test_iter_decrypt_and_unwrap_arbitrary_bytes(data: bytes) -> None:
    for call in (lambda: list(crypto.iter_decrypt(KEY, io.BytesIO(data), aad=b"s")),
                 lambda: crypto.unwrap_key(KEY, data, aad=b"slot")):
        try:
            call()
        except crypto.CryptoError:
            pass


@SETTINGS
@given(object_bytes=st.binary(max_size=512), index_bytes=st.none() | st.binary(max_size=512))
@pytest.mark.slow
def test_store_reading_arbitrary_files(object_bytes: bytes, index_bytes: bytes | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store(root)
        store.write_record(KEY, "r", b"x", expected_version=0)
        store.write_blob_from(KEY, "b", io.BytesIO(b"y" * 10))
        for path in (root / "objects").iterdir():
            path.write_bytes(object_bytes)
        if index_bytes is not None:
            (root / "store-index.json").write_bytes(index_bytes)
        for call in (lambda: Store(root).read_record(KEY, "r"), lambda: list(Store(root).open_blob(KEY, "b")),
                     lambda: Store(root).verify(), lambda: Store(root).write_record(KEY, "r", b"z", expected_version=1)):
            try:
                call()
            except (WorkstationError, FileNotFoundError):
                pass


@SETTINGS
@given(st.lists(st.binary(max_size=300), max_size=6), st.none() | st.binary(max_size=200))
@pytest.mark.slow
def test_audit_parsers_arbitrary_lines(raw_lines: list[bytes], head: bytes | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(tmp, KEY)
        log.append("edna", "unlock")
        log_file, head_file = Path(tmp) / "audit" / "log", Path(tmp) / "audit" / "head"
        log_file.write_bytes(log_file.read_bytes() + b"\n".join(raw_lines))
        if head is not None:
            head_file.write_bytes(head)
        problems = log.verify()
        assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
        try:
            list(log.entries())
        except WorkstationError:
            pass
        log.head()
        log.append("edna", "verify")  # the log keeps working


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**65) | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["k", "v", "g", "t", "deleted", "op", "name", "entry"]), inner, max_size=5),
    max_leaves=12,
)


@SETTINGS
@given(json_values, json_values, json_values)
@pytest.mark.slow
def test_store_index_with_arbitrary_structure(entry: object, gen: object, pending: object) -> None:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store(root)
        store.write_record(KEY, "r", b"x", expected_version=0)
        index = json.loads((root / "store-index.json").read_text())
        name = next(iter(index["objects"]))
        index["objects"][name] = entry
        index["gen"], index["pending"] = gen, pending
        (root / "store-index.json").write_text(json.dumps(index))
        for call in (lambda: Store(root).read_record(KEY, "r"), lambda: Store(root).verify(),
                     lambda: Store(root).write_record(KEY, "r", b"z", expected_version=1), lambda: Store(root).delete("r")):
            try:
                call()
            except (WorkstationError, FileNotFoundError):
                pass


@SETTINGS
@given(st.lists(st.dictionaries(st.sampled_from(["seq", "prev", "body", "mac"]), json_values, max_size=4), max_size=4),
       st.dictionaries(st.sampled_from(["seq", "hash", "mac"]), json_values, max_size=3))
@pytest.mark.slow
def test_audit_lines_with_arbitrary_structure(objs: list[dict], head: dict) -> None:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(tmp, KEY)
        log.append("edna", "unlock")
        log_file = Path(tmp) / "audit" / "log"
        log_file.write_bytes(log_file.read_bytes() + b"".join(json.dumps(o).encode() + b"\n" for o in objs))
        (Path(tmp) / "audit" / "head").write_text(json.dumps(head))
        assert all(isinstance(p, str) for p in log.verify())
        try:
            list(log.entries())
        except WorkstationError:
            pass
        log.append("edna", "verify")
