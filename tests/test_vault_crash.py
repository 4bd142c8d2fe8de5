"""Crash safety: a writer process is SIGKILLed at many random points while it writes records, blobs, deletes
and audit entries; after every kill the store and the log open, verify, and hold every acknowledged write."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workstation.vault.audit import AuditLog
from workstation.vault.store import Store

KEY = bytes(range(32))
AUDIT_KEY = bytes(range(32, 64))
RECORDS = [f"rec-{i}" for i in range(4)]

WRITER = textwrap.dedent(
    """
    import hashlib, io, sys
    from workstation.vault.store import Store
    from workstation.vault.audit import AuditLog

    root, run = sys.argv[1], int(sys.argv[2])
    KEY, AUDIT_KEY = bytes(range(32)), bytes(range(32, 64))
    store, log = Store(root), AuditLog(root, AUDIT_KEY)

    def content(record_id, version):
        seed = hashlib.sha256(f"{record_id}:{version}".encode()).digest()
        return seed * (50 + version % 7 * 400)  # 1.6 KB to 90 KB

    def blob(blob_id):
        return hashlib.sha256(blob_id.encode()).digest() * 40000  # 1.25 MB: two chunks

    def ack(*parts):
        print(*parts, flush=True)

    records = [f"rec-{i}" for i in range(4)]
    k = 0
    while True:
        k += 1
        rid = records[k % len(records)]
        try:
            _data, version = store.read_record(KEY, rid)
        except FileNotFoundError:
            version = 0
        new = store.write_record(KEY, rid, content(rid, version + 1), expected_version=version)
        ack("R", rid, new)
        if k % 3 == 0:
            bid = f"blob-{run}-{k}"
            store.write_blob_from(KEY, bid, io.BytesIO(blob(bid)))
            ack("B", bid)
        if k % 5 == 0 and k > 5:
            bid = f"blob-{run}-{k - 3}"
            ack("d", bid)  # about to delete: after a kill it may be gone or not, but never damaged
            store.delete(bid)
            ack("D", bid)
        entry = log.append("writer", "edit", f"CASE-{k % 3}", version=new)
        ack("A", entry.seq)
    """
)


def content(record_id: str, version: int) -> bytes:
    seed = hashlib.sha256(f"{record_id}:{version}".encode()).digest()
    return seed * (50 + version % 7 * 400)


def blob(blob_id: str) -> bytes:
    return hashlib.sha256(blob_id.encode()).digest() * 40000


def check(root: Path, acked_records: dict[str, int], blobs: set[str], deleted: set[str], deleting: set[str],
          audit_seq: int) -> None:
    store, log = Store(root), AuditLog(root, AUDIT_KEY)
    assert store.verify() == []
    for rid in RECORDS:
        try:
            data, version = store.read_record(KEY, rid)
        except FileNotFoundError:
            assert rid not in acked_records
            continue
        assert version >= acked_records.get(rid, 0), f"{rid}: acknowledged version {acked_records[rid]} lost"
        assert data == content(rid, version)  # never a torn or mixed record
    for bid in blobs - deleted:
        try:
            assert b"".join(store.open_blob(KEY, bid)) == blob(bid), bid
        except FileNotFoundError:
            assert bid in deleting, f"acknowledged blob {bid} lost"
    for bid in deleted:
        with pytest.raises(FileNotFoundError):
            store.open_blob(KEY, bid)
    assert log.verify() == []
    seqs = [e.seq for e in log.entries()]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= audit_seq


@pytest.mark.slow
def test_sigkill_at_many_points_loses_no_acknowledged_write(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    rng = random.Random(20261124)
    acked: dict[str, int] = {}
    blobs: set[str] = set()
    deleted: set[str] = set()
    deleting: set[str] = set()  # deletes started, maybe not acknowledged
    audit_seq = 0
    kills = 0
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for run in range(30):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(run)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        # wait until it is writing, then kill it at a random moment
        first = proc.stdout.readline()
        assert first, proc.stderr.read().decode()
        time.sleep(rng.uniform(0.0, 0.35))
        proc.send_signal(signal.SIGKILL)
        rest, _err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        for line in (first + rest).decode().split("\n")[:-1]:  # a line cut by the kill is no acknowledgement
            kind, value, *more = line.split()
            if kind == "R":
                acked[value] = max(acked.get(value, 0), int(more[0]))
            elif kind == "B":
                blobs.add(value)
            elif kind == "d":
                deleting.add(value)
            elif kind == "D":
                deleted.add(value)
            elif kind == "A":
                audit_seq = max(audit_seq, int(value))
        check(root, acked, blobs, deleted, deleting, audit_seq)
        if time.monotonic() - started > 50:
            break
    assert kills >= 20, f"only {kills} kills in the time budget"
    assert sum(acked.values()) > kills and audit_seq > kills  # the writer really got work done between kills
