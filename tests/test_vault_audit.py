"""audit.py: appends and reading, nothing in plaintext, and verify() naming exactly what was done to the log."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from workstation.vault.audit import GENESIS, AuditError, AuditLog

KEY = bytes(range(32))


def make_log(root: Path, n: int = 6) -> AuditLog:
    log = AuditLog(root, KEY)
    for i in range(1, n + 1):
        log.append("edna", "view" if i % 2 else "edit", f"CASE-{i}", version=i, segment_ids="s1|s2")
    return log


def lines(root: Path) -> list[bytes]:
    return (root / "audit" / "log").read_bytes().splitlines()


def write_lines(root: Path, items: list[bytes]) -> None:
    (root / "audit" / "log").write_bytes(b"".join(line + b"\n" for line in items))


def test_append_and_read_back(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KEY)
    assert log.head() == GENESIS and list(log.entries()) == [] and log.verify() == []
    first = log.append("edna", "unlock")
    second = log.append("tanya", "edit_segment", "CH-7", version=3, segment_ids="a1|b2", fields="ru", ok=True)
    entries = list(AuditLog(tmp_path, KEY).entries())
    assert [e.seq for e in entries] == [1, 2]
    assert entries[1].user == "tanya" and entries[1].action == "edit_segment" and entries[1].case_code == "CH-7"
    assert entries[1].details == {"version": 3, "segment_ids": "a1|b2", "fields": "ru", "ok": True}
    assert entries[0].prev_hash == GENESIS and entries[1].prev_hash == first.hash
    assert log.head() == second.hash == entries[1].hash
    assert log.verify() == []


def test_nothing_readable_on_disk_and_content_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, KEY)
    log.append("edna", "testimony_created", "ZX-CASE-4471", sha256="ab" * 32)
    raw = b"".join(p.read_bytes() for p in (tmp_path / "audit").iterdir() if p.is_file())
    assert b"ZX-CASE" not in raw and b"testimony_created" not in raw and b"edna" not in raw
    with pytest.raises(TypeError, match="only numbers, booleans and short strings"):
        log.append("edna", "edit", "X", text=["a", "list"])
    with pytest.raises(ValueError, match="too long to be an id or a hash"):
        log.append("edna", "edit", "X", note="Меня задержали возле дома " * 20)


def test_wrong_key_cannot_read_or_forge(tmp_path: Path) -> None:
    make_log(tmp_path, 3)
    other = AuditLog(tmp_path, bytes(32))
    with pytest.raises(AuditError):
        list(other.entries())
    assert other.verify()  # every entry fails


def test_edited_entry(tmp_path: Path) -> None:
    make_log(tmp_path)
    items = lines(tmp_path)
    obj = json.loads(items[2])
    obj["body"] = obj["body"][:-8] + ("A" * 8 if not obj["body"].endswith("A" * 8) else "B" * 8)
    items[2] = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    write_lines(tmp_path, items)
    log = AuditLog(tmp_path, KEY)
    assert log.verify() == ["Entry 3 (line 3) is edited (its authentication code does not match)."]
    with pytest.raises(AuditError, match="line 3"):
        list(log.entries())
    assert [e.seq for e in log.entries(strict=False)] == [1, 2, 4, 5, 6]


def test_deleted_entry(tmp_path: Path) -> None:
    make_log(tmp_path)
    items = lines(tmp_path)
    write_lines(tmp_path, items[:3] + items[4:])
    assert AuditLog(tmp_path, KEY).verify() == ["Entry 4 was deleted."]
    with pytest.raises(AuditError, match="line 4 is out of place"):  # reading notices it too
        list(AuditLog(tmp_path, KEY).entries())
    write_lines(tmp_path, items[:1] + items[4:])
    assert AuditLog(tmp_path, KEY).verify() == ["Entries 2–4 were deleted."]


def test_reordered_entries(tmp_path: Path) -> None:
    make_log(tmp_path)
    items = lines(tmp_path)
    items[2], items[3] = items[3], items[2]
    write_lines(tmp_path, items)
    problems = AuditLog(tmp_path, KEY).verify()
    assert problems == ["Entry 3 is out of order (line 4, after entry 4): entries were reordered."]
    with pytest.raises(AuditError, match="out of place"):
        list(AuditLog(tmp_path, KEY).entries())


def test_duplicated_entry(tmp_path: Path) -> None:
    make_log(tmp_path)
    items = lines(tmp_path)
    write_lines(tmp_path, items[:5] + [items[1]] + items[5:])
    assert any("appears twice" in p for p in AuditLog(tmp_path, KEY).verify())


def test_truncated_tail_against_the_head(tmp_path: Path) -> None:
    make_log(tmp_path)
    items = lines(tmp_path)
    write_lines(tmp_path, items[:4])
    assert AuditLog(tmp_path, KEY).verify() == [
        "The end of the audit log was cut off: entries 5–6 (recorded in its head) are missing."
    ]
    with pytest.raises(AuditError, match="cut off"):
        list(AuditLog(tmp_path, KEY).entries())
    assert len(list(AuditLog(tmp_path, KEY).entries(strict=False))) == 4
    (tmp_path / "audit" / "log").write_bytes(b"\n".join(items[:5]) + b"\n" + items[5][:40])  # last line cut in half
    assert AuditLog(tmp_path, KEY).verify() == [
        "The end of the audit log was cut off: entry 6 (recorded in its head) is missing."
    ]
    AuditLog(tmp_path, KEY).append("edna", "unlock")  # logging goes on, but never papers over the gap
    assert AuditLog(tmp_path, KEY).verify() == ["Entry 6 was deleted."]


def test_head_edited_or_deleted(tmp_path: Path) -> None:
    make_log(tmp_path)
    head = tmp_path / "audit" / "head"
    data = json.loads(head.read_text())
    data["seq"] = 2
    head.write_text(json.dumps(data))
    assert any("head record was altered" in p for p in AuditLog(tmp_path, KEY).verify())
    data["mac"] = "é" * 64  # not even hex
    head.write_text(json.dumps(data))
    assert any("head record was altered" in p for p in AuditLog(tmp_path, KEY).verify())
    head.unlink()
    assert any("head record is missing" in p for p in AuditLog(tmp_path, KEY).verify())


def test_torn_last_line_from_a_crash_is_cut_and_chain_continues(tmp_path: Path) -> None:
    log = make_log(tmp_path, 3)
    with open(tmp_path / "audit" / "log", "ab") as fh:
        fh.write(b'{"body":"half a li')  # the writer died mid-append: never acknowledged
    assert log.verify() == []
    log.append("edna", "unlock")
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4] and log.verify() == []


def _append_many(root: str, who: str, n: int) -> None:
    log = AuditLog(root, KEY)
    for i in range(n):
        log.append(who, "view", version=i)


@pytest.mark.slow
def test_two_processes_append_without_interleaving(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), who, 30)) for who in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(tmp_path, KEY)
    assert [e.seq for e in log.entries()] == list(range(1, 61)) and log.verify() == []


def test_session_detects_deleted_audit_entry(vault_editor, vault_path: Path) -> None:
    from workstation.domain.testimony import TestimonyMeta

    vault_editor.create_testimony(TestimonyMeta(case_code="AU-1"))
    vault_editor.load("AU-1")
    items = lines(vault_path)
    write_lines(vault_path, items[:2] + items[3:])  # someone removes the 'testimony_created' entry
    problems = vault_editor.verify().problems
    assert "Audit log: Entry 3 was deleted." in problems
    with pytest.raises(AuditError, match="out of place"):
        vault_editor.audit_entries()
    assert vault_editor.load("AU-1").meta.case_code == "AU-1"  # the vault itself stays usable
