"""store.py: round trips, compare-and-swap between processes, names that reveal nothing, tampering (flip,
truncate, swap, replay, rolled-back index, deleted files) detected with the right error while the other
objects stay readable."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures_vault import seal_clip
from workstation.domain.testimony import ConflictError
from workstation.vault import crypto
from workstation.vault.crypto import AuthenticationError, CryptoError
from workstation.vault.store import INDEX_FILE, MissingObjectError, ReplayError, Store, StoreFormatError

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def objects(root: Path) -> list[Path]:
    folder = root / "objects"
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def only_new(root: Path, before: list[Path]) -> Path:
    [path] = [p for p in objects(root) if p not in before]
    return path


def test_record_round_trip_and_versions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.write_record(KEY, "rec-1", b'{"a": 1}', expected_version=0) == 1
    assert store.read_record(KEY, "rec-1") == (b'{"a": 1}', 1)
    assert store.write_record(KEY, "rec-1", b"", expected_version=1) == 2
    assert store.read_record(KEY, "rec-1") == (b"", 2)
    assert store.record_version("rec-1") == 2 and store.record_version("nope") == 0
    big = os.urandom(3 * crypto.DEFAULT_CHUNK_SIZE + 7)
    store.write_record(KEY, "big", big, expected_version=0)
    assert store.read_record(KEY, "big")[0] == big
    with pytest.raises(FileNotFoundError):
        store.read_record(KEY, "never-written")
    assert store.verify() == []


@pytest.mark.parametrize("size", [0, 1, crypto.DEFAULT_CHUNK_SIZE, 3 * crypto.DEFAULT_CHUNK_SIZE + 1])
def test_blob_round_trip(tmp_path: Path, size: int) -> None:
    store = Store(tmp_path)
    data = os.urandom(size)
    store.write_blob_from(KEY, "blob", io.BytesIO(data))
    chunks = list(store.open_blob(KEY, "blob"))
    assert b"".join(chunks) == data
    assert all(len(c) <= crypto.DEFAULT_CHUNK_SIZE for c in chunks)
    with pytest.raises(FileNotFoundError):
        store.open_blob(KEY, "other")


def test_names_reveal_nothing_and_no_plaintext(tmp_path: Path) -> None:
    store = Store(tmp_path)
    secret = "Коваленко задержан в Грозном".encode()
    store.write_record(KEY, "testimony:CH-2019-014", secret * 5, expected_version=0)
    store.write_blob_from(KEY, "CH-2019-014/original.wav", io.BytesIO(secret * 1000))
    for path in tmp_path.rglob("*"):
        assert "CH" not in path.name and "original" not in path.name and "testimony" not in path.name
        if path.is_file():
            content = path.read_bytes()
            assert secret[:16] not in content and b"CH-2019" not in content
    assert all(len(p.name) == 40 for p in objects(tmp_path))


def test_compare_and_swap_conflict(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "r", b"v1", expected_version=0)
    with pytest.raises(ConflictError):
        store.write_record(KEY, "r", b"stale", expected_version=0)
    store.write_record(KEY, "r", b"v2", expected_version=1)
    with pytest.raises(ConflictError):  # a writer that read version 1 loses against the one that saved 2
        store.write_record(KEY, "r", b"lost update", expected_version=1)
    assert store.read_record(KEY, "r") == (b"v2", 2)


def _increment(root: str, n: int, queue: mp.Queue) -> None:
    """Read-modify-write a counter n times, retrying on conflict: no update may be lost."""
    store, conflicts = Store(root), 0
    for _ in range(n):
        while True:
            data, version = store.read_record(KEY, "counter")
            try:
                store.write_record(KEY, "counter", str(int(data) + 1).encode(), expected_version=version)
                break
            except ConflictError:
                conflicts += 1
    queue.put(conflicts)


@pytest.mark.slow
def test_two_processes_no_lost_update(tmp_path: Path) -> None:
    Store(tmp_path).write_record(KEY, "counter", b"0", expected_version=0)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_increment, args=(str(tmp_path), 40, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    data, version = Store(tmp_path).read_record(KEY, "counter")
    assert int(data) == 80 and version == 81
    assert Store(tmp_path).verify() == []


def test_flip_truncate_extend_each_detected_others_readable(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "keep", b"still fine", expected_version=0)
    before = objects(tmp_path)
    store.write_blob_from(KEY, "victim", io.BytesIO(os.urandom(2 * crypto.DEFAULT_CHUNK_SIZE + 5)))
    path = only_new(tmp_path, before)
    pristine = path.read_bytes()
    size = len(pristine)
    variants = {
        "header byte": _flip(pristine, 30),
        "object header version": _flip(pristine, 12),
        "middle chunk": _flip(pristine, size // 2),
        "tag": _flip(pristine, size - 1),
        "truncated at a chunk boundary": pristine[: 21 + 32 + crypto.DEFAULT_CHUNK_SIZE + 16],
        "truncated inside": pristine[:-100],
        "extended": pristine + b"\x00" * 17,
    }
    for label, content in variants.items():
        path.write_bytes(content)
        with pytest.raises(CryptoError):
            b"".join(Store(tmp_path).open_blob(KEY, "victim"))
        assert Store(tmp_path).read_record(KEY, "keep")[0] == b"still fine", label
    path.write_bytes(pristine)
    assert len(b"".join(store.open_blob(KEY, "victim"))) == 2 * crypto.DEFAULT_CHUNK_SIZE + 5


def _flip(data: bytes, at: int) -> bytes:
    raw = bytearray(data)
    raw[at] ^= 0x01
    return bytes(raw)


def test_swapping_two_blobs_or_records_is_detected(tmp_path: Path) -> None:
    store = Store(tmp_path)
    before = objects(tmp_path)
    store.write_blob_from(KEY, "testimony-A/original", io.BytesIO(b"A" * 5000))
    a = only_new(tmp_path, before)
    before = objects(tmp_path)
    store.write_blob_from(KEY, "testimony-B/original", io.BytesIO(b"B" * 5000))
    b = only_new(tmp_path, before)
    raw_a, raw_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(raw_b)
    b.write_bytes(raw_a)
    for blob_id in ("testimony-A/original", "testimony-B/original"):
        with pytest.raises(CryptoError):
            b"".join(store.open_blob(KEY, blob_id))


def test_wrong_key(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "r", b"x", expected_version=0)
    with pytest.raises(AuthenticationError) as info:
        store.read_record(OTHER, "r")
    assert not isinstance(info.value, ReplayError)


def test_replaying_an_old_version_of_a_record(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "keep", b"other record", expected_version=0)
    path, old = first_write(store, "approval", b"approved: no")
    store.write_record(KEY, "approval", b"approved: yes", expected_version=1)
    path.write_bytes(old)  # the file alone put back from an older copy
    with pytest.raises(ReplayError, match="older copy"):
        store.read_record(KEY, "approval")
    assert any("older copy" in p for p in store.verify())
    assert store.read_record(KEY, "keep")[0] == b"other record"


def first_write(store: Store, record_id: str, data: bytes) -> tuple[Path, bytes]:
    """Write a new record; its file and that file's bytes (to put back later)."""
    before = objects(store.root)
    store.write_record(KEY, record_id, data, expected_version=0)
    path = only_new(store.root, before)
    return path, path.read_bytes()


def test_editing_the_index_entry_down_is_detected(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path, old = first_write(store, "r", b"v1")
    store.write_record(KEY, "r", b"v2", expected_version=1)
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    entry = index["objects"][path.name]
    entry["v"], entry["g"] = 1, 1  # claim version 1 is current, without the key for its tag
    (tmp_path / INDEX_FILE).write_text(json.dumps(index))
    path.write_bytes(old)
    with pytest.raises(AuthenticationError, match="index entry"):
        Store(tmp_path).read_record(KEY, "r")


def test_rolled_back_index_and_record_detected_by_newer_objects(tmp_path: Path) -> None:
    root, snapshot = tmp_path / "vault", tmp_path / "snapshot"
    store = Store(root)
    store.write_record(KEY, "approval", b"no", expected_version=0)
    store.write_record(KEY, "other", b"o1", expected_version=0)
    shutil.copytree(root, snapshot)
    store.write_record(KEY, "approval", b"yes", expected_version=1)
    store.write_record(KEY, "other", b"o2", expected_version=1)  # written after the approval
    # put back the old index and the old approval record, keep everything else
    shutil.copy(snapshot / INDEX_FILE, root / INDEX_FILE)
    shutil.copy(snapshot / "objects" / _name_of("approval"), root / "objects" / _name_of("approval"))
    fresh = Store(root)
    assert fresh.read_record(KEY, "approval") == (b"no", 1)  # consistent with the old index on its own...
    with pytest.raises(ReplayError, match="rollback"):  # ...but every object written since betrays it
        fresh.read_record(KEY, "other")
    assert any("rolled back" in p for p in fresh.verify())


def _name_of(record_id: str) -> str:
    import hashlib

    return hashlib.sha256(f"tw-store|r|{record_id}".encode()).hexdigest()[:40]


def test_deleted_index_is_detected(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "r", b"x", expected_version=0)
    (tmp_path / INDEX_FILE).unlink()
    with pytest.raises(StoreFormatError, match="missing"):
        Store(tmp_path).read_record(KEY, "r")
    with pytest.raises(StoreFormatError):  # and no write papers over it with a fresh index
        Store(tmp_path).write_record(KEY, "other", b"y", expected_version=0)
    assert any("missing" in p for p in Store(tmp_path).verify())


def test_delete_and_missing_files(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path, old = first_write(store, "gone", b"secret")
    store.write_blob_from(KEY, "gone", io.BytesIO(b"blob"))
    store.write_record(KEY, "lost", b"x", expected_version=0)
    assert store.delete("gone") and not store.delete("gone")
    with pytest.raises(FileNotFoundError):
        store.read_record(KEY, "gone")
    with pytest.raises(FileNotFoundError):
        store.open_blob(KEY, "gone")
    assert store.verify() == []
    path.write_bytes(old)  # a deleted record's file put back
    with pytest.raises(ReplayError, match="deleted"):
        store.read_record(KEY, "gone")
    path.unlink()
    # a file that the index knows about disappears: not "no such record" but an alarm
    (tmp_path / "objects" / _name_of("lost")).unlink()
    with pytest.raises(MissingObjectError):
        store.read_record(KEY, "lost")
    assert any("missing" in p for p in store.verify())
    # a re-created record continues the version sequence (an old copy can never pass for the new one)
    assert store.write_record(KEY, "gone", b"new", expected_version=0) == 2


def test_foreign_file_reported(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "r", b"x", expected_version=0)
    (tmp_path / "objects" / ("ab" * 20)).write_bytes(b"planted")
    assert any("does not belong" in p for p in store.verify())


def test_temporary_files_of_a_dead_writer_are_removed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "r", b"x", expected_version=0)
    leftover = tmp_path / "objects" / ".deadbeef.123.tmp"
    leftover.write_bytes(b"ciphertext of an interrupted write")
    assert store.verify() == []  # a crash leftover is not a problem...
    store.write_record(KEY, "r", b"y", expected_version=1)
    assert not leftover.exists()  # ...and the next writer (holding the lock) removes it


@pytest.mark.slow
def test_bench_script_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    from workstation.platform.config import REPO_ROOT

    out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "bench_vault.py"), "--size-mb", "8", "--unlocks", "1",
                          "--dir", str(tmp_path), "--json", str(tmp_path / "f.json")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode in (0, 1), out.stderr  # 1: a target missed on a loaded machine; figures still printed
    figures = json.loads((tmp_path / "f.json").read_text())
    assert figures["unlock_s_median"] > 0 and figures["blob_large"]["size_mb"] == 8
    assert figures["blob_small"]["size_mb"] == 2 and "peak RSS" in out.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # the temporary vault is gone


# --- the same attacks through the vault session: read errors and `verify` name the testimony ---------------


def _objects_snapshot(vault: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in objects(vault)}


def test_session_replayed_testimony_record(vault_editor, vault_path: Path) -> None:
    from workstation.domain.testimony import TestimonyMeta
    from workstation.vault import session as vs

    vault_editor.create_testimony(TestimonyMeta(case_code="RP-1", consent_scope="research"))
    vault_editor.create_testimony(TestimonyMeta(case_code="RP-2"))
    before = _objects_snapshot(vault_path)
    vault_editor.update_meta("RP-1", consent_scope="withdrawn for publication")
    [changed] = [p for p, raw in before.items() if p.read_bytes() != raw]  # only the testimony record
    changed.write_bytes(before[changed])  # put back the version from before the consent change
    with pytest.raises(vs.IntegrityError, match="altered, damaged or replaced"):
        vault_editor.load("RP-1")
    problems = vault_editor.verify().problems
    assert any("RP-1" in p for p in problems), problems  # the session names the testimony...
    assert any("older copy" in p for p in problems if p.startswith("Store:"))  # ...the store says what happened
    assert vault_editor.load("RP-2").meta.case_code == "RP-2"  # the rest stays readable


def test_session_swapped_recordings(vault_editor, vault_path: Path, vault_clip: Path) -> None:
    from workstation.domain.testimony import TestimonyMeta
    from workstation.vault import session as vs

    data = vault_clip.read_bytes()
    paths = []
    for code in ("SW-1", "SW-2"):
        vault_editor.create_testimony(TestimonyMeta(case_code=code))
        before = set(objects(vault_path))
        seal_clip(vault_editor, code, data, vault_clip.name)
        paths.append(max((p for p in objects(vault_path) if p not in before), key=lambda p: p.stat().st_size))
    a, b = (p.read_bytes() for p in paths)
    paths[0].write_bytes(b)
    paths[1].write_bytes(a)
    for code in ("SW-1", "SW-2"):
        with pytest.raises(vs.IntegrityError, match="fails authentication"):
            vault_editor.read_recording(code)
        assert vault_editor.load(code).meta.case_code == code
    problems = vault_editor.verify().problems
    assert any("SW-1" in p for p in problems) and any("SW-2" in p for p in problems)


def test_a_planted_file_cannot_block_or_pass_for_a_new_record(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_record(KEY, "x", b"x", expected_version=0)
    (tmp_path / "objects" / _name_of("new")).write_bytes(b"TWO\x01r" + (9).to_bytes(8, "big") * 2 + b"junk")
    with pytest.raises(CryptoError):
        store.read_record(KEY, "new")
    assert store.write_record(KEY, "new", b"real", expected_version=0) == 10  # above any number on disk
    assert store.read_record(KEY, "new") == (b"real", 10)


@pytest.mark.slow
def test_large_blob_through_the_store_with_bounded_memory(tmp_path: Path) -> None:
    """256 MB written to and read back from disk: the peak RSS equals that of an 8 MB blob (fresh processes)."""
    import subprocess
    import sys

    from workstation.platform.config import REPO_ROOT

    def peak(size_mb: int) -> float:
        out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "bench_vault.py"), "--_blob", str(size_mb),
                              "--dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        assert figures["size_mb"] == size_mb
        return figures["peak_rss_mib"]

    small, large = peak(8), peak(256)
    assert large - small < 16, f"peak RSS {large:.0f} MiB for 256 MB vs {small:.0f} MiB for 8 MB"
