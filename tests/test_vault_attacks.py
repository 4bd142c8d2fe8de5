"""Issue 10's findings as attacks on a scratch vault: one test (or a few) per numbered finding.

Each test does what the adversarial review did — with a passphrase of the wrong role, or with the disk alone
— and asserts the attack fails. The ``test_1_*`` tests need vault format 2 (per-recipient keys, signatures; see
docs/VAULT-FORMAT.md, "Format 2 — as built"); tests/test_vault_signatures.py has the rest of format 2's tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.fixtures_vault import PASSPHRASE
from workstation.domain import testimony as tm
from workstation.domain.testimony import Segment, TestimonyMeta, Word
from workstation.speech.pipeline import PipelineResult
from workstation.vault import accounts, crypto
from workstation.vault import session as vs
from workstation.vault.errors import BackupError, IntegrityError
from workstation.vault.layout import unb64
from workstation.vault.permissions import PermissionDeniedError
from workstation.vault.records import rid
from workstation.vault.store import INDEX_FILE, OBJECTS_DIR

FAKE_AUDIO = b"RIFF" + os.urandom(4000)


def _object_path(vault: Path, tid: str, kind: str, blob: bool = False) -> Path:
    name = hashlib.sha256(f"tw-store|{'b' if blob else 'r'}|{rid(tid, kind)}".encode()).hexdigest()[:40]
    return vault / OBJECTS_DIR / name


def _case(s: Any, code: str, *, approve: bool = False) -> str:
    """A testimony with a (fake) sealed original and two reviewed segments; approved on request."""
    s.create_testimony(TestimonyMeta(case_code=code))
    s.ingest_recording(code, FAKE_AUDIO, "clip.wav", container="wav", duration_s=10.0)
    words = [Word(0.0, 0.5, "Меня", 0.9), Word(0.5, 1.0, "зовут", 0.9)]
    segs = [Segment(0.0, 4.0, "Меня зовут Аслан.", "My name is Aslan.", words=list(words), reviewed=True,
                    speaker="SPEAKER_1"),
            Segment(4.0, 8.0, "Это было в мае.", "It was in May.", reviewed=True, speaker="SPEAKER_1")]
    s.store_processing_result(code, PipelineResult(segs, "ru", 0.99, 10.0, models={"asr": "base"}))
    if approve:
        s.approve(code)
    return code


def _raw_write_testimony(s: Any, code: str, t: tm.Testimony) -> None:
    """An insider's own code: write the testimony record with the key their session holds, no checks."""
    tid, entry = s._entry(code)
    version = s._store.record_version(rid(tid, "testimony"))
    s._records.save_testimony(tid, entry, t, expected_version=version)


def _editor_export(s: Any, code: str) -> Any:
    from workstation.services.exports import build_export

    return build_export(s, code, "txt,json")


# --- 1. any account opens everything --------------------------------------------------------------------


def _every_key_of(s: Any) -> list[bytes]:
    """Every key an unlocked session holds or can unwrap from what it can decrypt: the master key, the catalog's
    keys, every key a catalog entry holds (format 1) and every testimony key wrapped to this account (format 2)."""
    keys = [s._catalog.master()]
    catalog = s._catalog.current()
    keys += [unb64(catalog["data_key"]), unb64(catalog["audit_key"])]
    keys += [unb64(e["key"]) for e in catalog["testimonies"].values() if "key" in e]
    for tid, entry in catalog["testimonies"].items():
        try:
            keys.append(s._catalog.testimony_key(tid, entry))
        except PermissionDeniedError:
            pass  # not wrapped to this account
    return keys


def test_1_an_interviewer_holds_no_key_to_another_interviewers_testimony(vault_sessions: dict[str, Any],
                                                                         vault_path: Path) -> None:
    _case(vault_sessions["inna"], "INNA-1")
    ivan = vault_sessions["ivan"]
    tid, _entry = vault_sessions["edna"]._entry("INNA-1")
    opened = []
    for key in _every_key_of(ivan):
        for kind in ("testimony", "recording-info"):
            try:
                ivan._store.read_record(key, rid(tid, kind))
                opened.append(kind)
            except (crypto.CryptoError, FileNotFoundError):
                pass
    assert opened == []


def test_1_a_translator_written_approval_fails_verify_and_export(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "T-1")
    t = tanya.load("T-1")
    t.segments[0].ru, t.segments[0].en = "Подмена.", "Forged."
    t.approval, t.status = tm.Approval("edna", tm.now_iso(), tm.content_hash(t)), tm.Status.APPROVED
    _raw_write_testimony(tanya, "T-1", t)
    assert not edna.verify().ok
    from workstation.evidence.render import ExportError

    with pytest.raises(ExportError):
        _editor_export(edna, "T-1")


def test_1_a_non_editor_rewrite_of_the_audit_log_with_a_valid_chain_is_reported(vault_sessions: dict[str, Any],
                                                                               vault_path: Path) -> None:
    from workstation.vault.audit import AuditLog

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "T-2")
    key = unb64(tanya._catalog.current()["audit_key"])
    rewrite_log_unsigned(tanya, vault_path, list(AuditLog(vault_path, key).entries())[:5])
    assert not edna.verify().ok


def rewrite_log_unsigned(insider: Any, vault: Path, entries: list[Any]) -> None:
    """An insider's own code: the audit log written anew from ``entries`` with a valid MAC chain but no signatures,
    the head and the store index's anchor re-made to match (she holds the audit key, which authenticates both)."""
    from workstation.platform.fileio import file_lock
    from workstation.vault.audit import AuditLog
    from workstation.vault.store import LOCK_FILE

    key = insider._catalog.audit_key()
    shutil.rmtree(vault / "audit")
    fresh = AuditLog(vault, key)
    for e in entries:
        last = fresh.append(e.user, e.action, e.case_code, **e.details)
    with file_lock(vault / LOCK_FILE):
        index = insider._store._begin_write()
        index.anchors["audit"] = {"seq": last.seq, "hash": last.hash}
        insider._store._save_index(index)


# --- 2. redactions, approval history and job records written by a reader --------------------------------


def test_2_a_translator_cannot_write_redactions_history_or_job_records(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "R-1")
    edna.save_extra("R-1", "redactions", {"entries": [{"id": "a", "text": "Аслан", "accepted": True}]})
    for name in ("redactions", "approval-history", "job"):
        with pytest.raises(PermissionDeniedError):
            tanya.save_extra("R-1", name, {"entries": []})
    assert edna.load_extra("R-1", "redactions")["entries"][0]["text"] == "Аслан"


def test_2_every_extra_write_is_audited_and_job_records_need_process(vault_sessions: dict[str, Any]) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    _case(ivan, "J-1")
    ivan.save_extra("J-1", "job", {"state": "queued"})  # the interviewer's own processing job
    with pytest.raises(PermissionDeniedError):
        tanya.save_extra("J-1", "processing", {"x": 1})
    with pytest.raises(PermissionDeniedError):
        tanya.save_extra("J-1", "made-up-kind", {"x": 1})  # unknown kinds: editors only
    actions = [(e.user, e.action, e.details.get("record")) for e in edna.audit_entries()]
    assert ("ivan", "record_saved", "job") in actions


# --- 3. single-record rollback, deletion with the index entry, a replaced sealed original ---------------


def test_3_single_record_rollback_with_its_index_entry_is_detected(vault_editor: Any, vault_path: Path) -> None:
    s = vault_editor
    _case(s, "B-1")
    tid, _entry = s._entry("B-1")
    path = _object_path(vault_path, tid, "testimony")
    old_file, old_index = path.read_bytes(), json.loads((vault_path / INDEX_FILE).read_text())
    s.update_meta("B-1", notes="corrected")
    s.approve("B-1")
    # put back the old object and its old index entry (v, g, tag), keep the rest of the index
    index = json.loads((vault_path / INDEX_FILE).read_text())
    index["objects"][path.name] = old_index["objects"][path.name]
    (vault_path / INDEX_FILE).write_text(json.dumps(index))
    path.write_bytes(old_file)
    with pytest.raises(IntegrityError):
        s.load("B-1")
    with pytest.raises(IntegrityError):
        s.update_meta("B-1", notes="a write must not re-seal the tampered index")
    assert not vs.unlock(vault_path, "edna", PASSPHRASE).verify().ok


def test_3_lowering_v_in_the_index_and_putting_back_the_old_file_is_detected(vault_editor: Any, vault_path: Path) -> None:
    """Lowering ``v`` and ``g`` by hand (keeping the newer tag): the per-entry tag already caught this in
    format 1; kept as a guard next to the real finding-3 attack above (the old entry's tag put back too)."""
    s = vault_editor
    _case(s, "V-1")
    tid, _entry = s._entry("V-1")
    path = _object_path(vault_path, tid, "testimony")
    old_file = path.read_bytes()
    s.approve("V-1")
    index = json.loads((vault_path / INDEX_FILE).read_text())
    version, gen = int.from_bytes(old_file[5:13], "big"), int.from_bytes(old_file[13:21], "big")
    index["objects"][path.name].update(v=version, g=gen)
    (vault_path / INDEX_FILE).write_text(json.dumps(index))
    path.write_bytes(old_file)
    with pytest.raises(IntegrityError):
        s.load("V-1")
    assert not vs.unlock(vault_path, "edna", PASSPHRASE).verify().ok


def test_3_deleting_the_recording_info_with_its_index_entry_is_reported(vault_editor: Any, vault_path: Path) -> None:
    s = vault_editor
    _case(s, "D-1")
    tid, _entry = s._entry("D-1")
    path = _object_path(vault_path, tid, "recording-info")
    index = json.loads((vault_path / INDEX_FILE).read_text())
    del index["objects"][path.name]
    (vault_path / INDEX_FILE).write_text(json.dumps(index))
    path.unlink()
    with pytest.raises(IntegrityError):
        s.recording_info("D-1")


def test_3_a_sealed_original_can_never_be_replaced(vault_editor: Any, vault_path: Path) -> None:
    """Even an insider's own code that deletes the recording info (key in hand) cannot ingest another one."""
    s = vault_editor
    _case(s, "O-1")
    tid, _entry = s._entry("O-1")
    s._store.delete(rid(tid, "recording-info"))
    with pytest.raises((tm.EditError, IntegrityError)):
        s.ingest_recording("O-1", b"RIFF other recording", "other.wav", container="wav", duration_s=3.0)
    report = s.verify()
    assert any("O-1" in p and "recording" in p for p in report.problems)


# --- 4. a look-alike account ------------------------------------------------------------------------------


def test_4_a_planted_look_alike_slot_never_receives_a_key(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    # the disk-only attacker makes a slot of their own for "еdna" (Cyrillic е) with role editor
    slot, private = accounts.new_slot("\u0435dna", accounts.Role.EDITOR, "attacker chosen words 9", vs._kdf(),
                                      edna._catalog.epoch, os.urandom(32))
    vs.slot_files(vault_path).save(slot)
    edna.remove_user("inna")  # rotation: a new master key wrapped to the accounts
    planted = [s for s in vs.slot_files(vault_path).users() if s.user == "\u0435dna"]
    new_epoch = edna._catalog.epoch
    for s in planted:
        assert new_epoch not in s.masters or not _unwraps(s, new_epoch, private)
    assert any("\u0435dna" in p or "not in the account list" in p for p in edna.verify().problems)


def _unwraps(slot: Any, epoch: str, private: Any) -> bool:
    try:
        accounts.unwrap_master(slot, epoch, private)
        return True
    except (crypto.CryptoError, accounts.SlotDamagedError):
        return False


def test_4_names_confusable_with_an_account_are_refused(vault_editor: Any) -> None:
    for name in ("\u0435dna", "EDNA", "ｅｄｎａ", "edn\u0430"):
        with pytest.raises(accounts.UserNameError):
            vault_editor.add_user(name, "translator", PASSPHRASE)
    with pytest.raises(accounts.UserNameError):
        accounts.check_user_name("p\u0430ul")  # mixed Latin and Cyrillic in one token


# --- 5. the audit log's tail and head ----------------------------------------------------------------------


def _cut_tail(vault_path: Path, keep: int) -> None:
    log = vault_path / "audit" / "log"
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(lines[:keep]) + b"\n")


@pytest.mark.parametrize("head", ["deleted", "garbled"])
def test_5_a_cut_tail_with_a_missing_or_garbled_head_is_reported(vault_editor: Any, vault_path: Path, head: str) -> None:
    s = vault_editor
    _case(s, "A-1")
    _cut_tail(vault_path, 3)
    head_path = vault_path / "audit" / "head"
    if head == "deleted":
        head_path.unlink()
    else:
        head_path.write_bytes(b"{garbage")
    report = vs.unlock(vault_path, "edna", PASSPHRASE).verify()  # unlock appends: it must not paper over it
    assert any("head" in p.lower() or "cut off" in p for p in report.problems), report.problems


def test_5_a_cut_tail_with_an_older_head_is_reported(vault_editor: Any, vault_path: Path) -> None:
    s = vault_editor
    s.create_testimony(TestimonyMeta(case_code="H-1"))
    lines = (vault_path / "audit" / "log").read_bytes().count(b"\n")
    old_head = (vault_path / "audit" / "head").read_bytes()
    _case(s, "H-2")
    _cut_tail(vault_path, lines)
    (vault_path / "audit" / "head").write_bytes(old_head)  # log and head agree: a consistent older pair
    report = vs.unlock(vault_path, "edna", PASSPHRASE).verify()
    assert any("cut off" in p or "older" in p for p in report.problems), report.problems


# --- 6. shredding rotates the keys -------------------------------------------------------------------


def test_6_an_old_catalog_copy_does_not_bring_back_a_shredded_testimony(vault_editor: Any, vault_path: Path) -> None:
    s = vault_editor
    _case(s, "S-1")
    tid, entry = s._entry("S-1")
    epoch = s._catalog.epoch
    old_catalog = (vault_path / OBJECTS_DIR / _name("r", f"catalog-{epoch}")).read_bytes()
    s.shred("S-1")
    fresh = vs.unlock(vault_path, "edna", PASSPHRASE)  # any current account, its current passphrase
    recovered = []
    for key in _every_key_of(fresh):
        try:
            if tid.encode() in _open_object(key, f"catalog-{epoch}", old_catalog):
                recovered.append(key)
        except crypto.CryptoError:
            pass
    assert recovered == []
    assert tid not in json.dumps(fresh._catalog.current()) and "S-1" not in json.dumps(fresh._catalog.current())


def _name(kind: str, object_id: str) -> str:
    return hashlib.sha256(f"tw-store|{kind}|{object_id}".encode()).hexdigest()[:40]


def _open_object(key: bytes, object_id: str, data: bytes) -> bytes:
    import io

    header, rest = data[:21], io.BytesIO(data[21:])
    return b"".join(crypto.iter_decrypt(key, rest, aad=f"tw-store|r|{object_id}|".encode() + header))


def test_6_shredding_changes_the_epoch(vault_editor: Any, vault_path: Path) -> None:
    s = vault_editor
    _case(s, "S-2")
    before = json.loads((vault_path / "vault.json").read_text())["epoch"]
    s.shred("S-2")
    after = json.loads((vault_path / "vault.json").read_text())["epoch"]
    assert after != before
    assert all(before not in slot.masters for slot in vs.slot_files(vault_path).users())


# --- 7. approval covers everything an export contains ---------------------------------------------------


@pytest.mark.parametrize("change", ["speaker_name", "word_timing", "english_route", "metadata"])
def test_7_changes_after_approval_void_it(vault_editor: Any, change: str) -> None:
    s = vault_editor
    _case(s, "P-1", approve=True)
    t = s.load("P-1")
    if change == "speaker_name":
        t.speaker_names["SPEAKER_1"] = "Aslan Realname"
    elif change == "word_timing":
        t.segments[0].words[0] = Word(0.2, 0.6, "Меня", 0.9)
    elif change == "english_route":
        t.segments[0].en_route = tm.EnglishRoute("human")
    else:
        t.meta.consent_scope = "public"
    _raw_write_testimony(s, "P-1", t)
    from workstation.evidence.render import ExportError

    with pytest.raises(ExportError):
        _editor_export(s, "P-1")
    assert any("P-1" in p and "approv" in p for p in s.verify().problems)


# --- 8. smaller ones -------------------------------------------------------------------------------------


def test_8_exports_inside_the_vault_folder_are_refused(vault_editor: Any, vault_path: Path) -> None:
    from workstation.evidence.render import ExportError
    from workstation.services.exports import export_testimony

    _case(vault_editor, "E-1", approve=True)
    for out in (vault_path / "exports", vault_path / "objects" / "x"):
        with pytest.raises(ExportError):
            export_testimony(vault_editor, "E-1", out, "txt")
    assert not (vault_path / "exports").exists()


@pytest.mark.parametrize("weak", ["Summer2024!!", "Chechnya2019", "Password123!", "qwerty123456"])
def test_8_weak_passphrases_are_refused_with_a_generated_one_offered(weak: str) -> None:
    with pytest.raises(accounts.WeakPassphraseError) as info:
        accounts.check_passphrase(weak, user="edna")
    offered = accounts.offered_passphrase(str(info.value))
    assert offered is not None and len(offered.split()) == 5
    accounts.check_passphrase(offered, user="edna")


def test_8_strong_passphrases_pass() -> None:
    for good in (PASSPHRASE, "quiet harbour 7 tulips", accounts.generate_passphrase()):
        accounts.check_passphrase(good, user="edna")


def test_8_planted_kdf_parameters_are_refused_quickly(vault_editor: Any, vault_path: Path) -> None:
    path, slot = vs.slot_files(vault_path).find("edna")
    data = json.loads(path.read_text())
    data["kdf"].update(memory_kib=4 * 1024 * 1024, iterations=64)
    path.write_text(json.dumps(data))
    started = time.monotonic()
    with pytest.raises(accounts.SlotDamagedError):
        vs.unlock(vault_path, "edna", PASSPHRASE)
    assert time.monotonic() - started < 3.0


def test_8_a_planted_duplicate_slot_does_not_lock_the_user_out(vault_editor: Any, vault_path: Path) -> None:
    slot, _private = accounts.new_slot("edna", accounts.Role.EDITOR, "attacker chosen words 9", vs._kdf(),
                                       vault_editor._catalog.epoch, os.urandom(32))
    slots = vs.slot_files(vault_path)
    slots.save(slot, slots.dir / ("0" * 24 + ".slot"))  # sorts first
    vs.unlock(vault_path, "edna", PASSPHRASE).lock()
    assert any("edna" in p for p in vault_editor.verify().problems)


def test_8_a_planted_throttle_file_delays_at_most_the_longest_wait(vault_editor: Any, vault_path: Path) -> None:
    from workstation.vault.throttle import MAX_DELAY_S as MAX_DELAY
    from workstation.vault.throttle import ThrottledError, _tag

    far = time.time() + 10 * 365 * 86400
    (vault_path / "unlock-throttle.json").write_text(json.dumps(
        {"users": {_tag("edna"): {"failures": 60, "last": far}}, "pending": []}))
    with pytest.raises(ThrottledError) as info:
        vs.unlock(vault_path, "edna", PASSPHRASE)
    assert info.value.seconds <= MAX_DELAY + 1


def test_8_ingest_checks_the_size_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from workstation.cli.main import app

    vault = tmp_path / "vault"
    vs.create_vault(vault, "edna", PASSPHRASE).lock()
    big = tmp_path / "big.wav"
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024 * 1024)  # sparse: 3 MiB of nothing, cheap
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(AssertionError("read before the check")))
    env = {"WORKSTATION_VAULT": str(vault), "WORKSTATION_USER": "edna", "WORKSTATION_PASSPHRASE": PASSPHRASE,
           "WORKSTATION_MAX_UPLOAD_MB": "1"}
    r = CliRunner().invoke(app, ["ingest", str(big), "--case", "BIG-1"], env=env)
    assert r.exit_code != 0 and "too large" in (r.output + str(r.exception)).lower(), r.output
    assert not isinstance(r.exception, AssertionError)
    monkeypatch.undo()
    assert not vs.unlock(vault, "edna", PASSPHRASE).list_testimonies()


def _backup(vault_editor: Any, tmp_path: Path) -> Path:
    _case(vault_editor, "K-1")
    return vault_editor.backup(tmp_path / "b.twbackup")


def _rewrite_archive(src: Path, dst: Path, edit: Any) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()  # type: ignore[union-attr]
            edit(tout, m, data)


def test_8_crafted_restore_archives_give_a_clear_error(vault_editor: Any, tmp_path: Path) -> None:
    import io

    archive = _backup(vault_editor, tmp_path)
    for i, manifest in enumerate([b'{"format":"tw-backup-1","files":[1,2]}', b'{"format":"tw-backup-1","files":{"a":1}}',
                                  b'{"format":"tw-backup-1","files":[{"path":"x"}]}', b"[]", b"\xff\xfe"]):
        bad = tmp_path / f"bad{i}.twbackup"

        def edit(tout: Any, m: Any, data: bytes, manifest: bytes = manifest) -> None:
            if m.name == "MANIFEST.json":
                data = manifest
                m.size = len(data)
            tout.addfile(m, io.BytesIO(data))

        _rewrite_archive(archive, bad, edit)
        with pytest.raises(BackupError):
            vs.restore(bad, tmp_path / f"r{i}")


def test_8_sparse_and_oversize_archive_members_are_refused(vault_editor: Any, tmp_path: Path) -> None:
    import io

    archive = _backup(vault_editor, tmp_path)
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("objects/"))
    victim = member.name
    # a real old-GNU sparse member: the stored bytes are one region, the file it describes is 64 MiB (holes)
    raw, hdr = bytearray(archive.read_bytes()), member.offset
    raw[hdr + 156:hdr + 157] = b"S"
    raw[hdr + 345:hdr + 500] = bytes(155)
    raw[hdr + 386:hdr + 398] = b"%011o\0" % 0
    raw[hdr + 398:hdr + 410] = b"%011o\0" % member.size
    raw[hdr + 483:hdr + 495] = b"%011o\0" % (64 * 1024 * 1024)
    raw[hdr + 148:hdr + 156] = b" " * 8
    raw[hdr + 148:hdr + 156] = b"%06o\0 " % sum(raw[hdr:hdr + 512])
    sparse = tmp_path / "sparse.twbackup"
    sparse.write_bytes(bytes(raw))
    with tarfile.open(sparse) as tar:
        assert tar.getmember(victim).issparse() and tar.getmember(victim).size == 64 * 1024 * 1024
    with pytest.raises(BackupError, match="not a plain file"):
        vs.restore(sparse, tmp_path / "r-sparse")
    assert not (tmp_path / "r-sparse").exists()

    oversize = tmp_path / "oversize.twbackup"

    def edit(tout: Any, m: Any, data: bytes) -> None:
        if m.name == victim:
            data = data + b"\0" * 4096
            m.size = len(data)
        tout.addfile(m, io.BytesIO(data))

    _rewrite_archive(archive, oversize, edit)
    with pytest.raises(BackupError) as info:
        vs.restore(oversize, tmp_path / "r-over")
    assert "different size" in str(info.value)
    assert not (tmp_path / "r-over").exists()


def test_8_backups_hold_only_the_files_the_vault_knows(vault_editor: Any, vault_path: Path, tmp_path: Path) -> None:
    (vault_path / "export-copy.txt").write_text("Меня зовут Аслан.")  # someone saved a plaintext file there
    (vault_path / "objects" / "notes.txt").write_text("plaintext")
    archive = _backup(vault_editor, tmp_path)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "export-copy.txt" not in names and "objects/notes.txt" not in names
    assert "store-index.json" in names and any(n.startswith("slots/") for n in names)


# --- the in-place conversion of a vault from before the store root and the account list ------------------


def _write_atomic(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _as_format_1_slot(slot: accounts.KeySlot, master: bytes, epoch: str) -> accounts.KeySlot:
    """The same account as a format-1 slot (X25519 only, no signing key, no pinned root), as the previous version
    wrote it."""
    keys = accounts.open_keys(slot, PASSPHRASE)
    old = accounts.KeySlot(user=slot.user, role=slot.role, salt=slot.salt, kdf=slot.kdf, public_key=slot.public_key,
                           private_key=b"", check=slot.check, created=slot.created)
    kek = crypto.derive_key(PASSPHRASE, slot.salt, accounts.kdf_from_dict(slot.kdf))
    raw = keys.x25519.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    old.private_key = crypto.seal(kek, raw, aad=old.aad())
    accounts.add_master(old, epoch, master)
    assert old.format == accounts.SLOT_FORMAT_1
    return old


def test_a_vault_from_before_the_hardening_is_converted_at_first_unlock(vault_sessions: dict[str, Any],
                                                                        vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    _case(edna, "L-1")
    with edna._catalog.change() as catalog:  # make it look like a vault written by the previous version
        del catalog["accounts"], catalog["store_root"], catalog["root"]
    index = json.loads((vault_path / INDEX_FILE).read_text())
    index.pop("mac"), index.pop("anchors")
    (vault_path / INDEX_FILE).write_text(json.dumps(index))
    master, epoch = edna._catalog.master(), edna._catalog.epoch
    for path, slot in accounts.SlotFiles(vault_path, _write_atomic).load_all():  # and format-1 slots (no signing key)
        assert slot is not None
        _write_atomic(path, _as_format_1_slot(slot, master, epoch).to_bytes())
    for s in vault_sessions.values():
        s.lock()
    ivan = vs.unlock(vault_path, "ivan", PASSPHRASE)  # any account's unlock converts it
    catalog = ivan._catalog.current()
    assert catalog["store_root"] is True and set(catalog["accounts"]) == {"edna", "ivan", "inna", "tanya"}
    assert json.loads((vault_path / INDEX_FILE).read_text())["mac"]
    report = vs.unlock(vault_path, "edna", PASSPHRASE).verify()
    assert report.ok, report.problems


def test_5_a_store_put_back_from_an_older_copy_shows_against_the_audit_log(vault_editor: Any, vault_path: Path,
                                                                           tmp_path: Path) -> None:
    """Everything but the audit log rolled back (index and objects together): the anchor trails the log."""
    s = vault_editor
    _case(s, "W-1")
    old = tmp_path / "old"
    shutil.copytree(vault_path, old)
    s.update_meta("W-1", notes="later")
    for _ in range(4):
        s.load("W-1")
    shutil.rmtree(vault_path / OBJECTS_DIR)
    shutil.copytree(old / OBJECTS_DIR, vault_path / OBJECTS_DIR)
    shutil.copy2(old / INDEX_FILE, vault_path / INDEX_FILE)
    report = vs.unlock(vault_path, "edna", PASSPHRASE).verify()
    assert any("older than its audit log" in p for p in report.problems), report.problems
