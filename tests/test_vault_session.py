"""The vault session: round trips of every record kind, unlock errors, key rotation, shredding, audit."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures_vault import OTHER_PASSPHRASE, PASSPHRASE, seal_clip, vault_files
from workstation.domain import testimony as tm
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import ConflictError, Segment, Status, TestimonyMeta, Word
from workstation.platform.errors import WorkstationError
from workstation.services import intake
from workstation.vault import accounts, permissions, throttle
from workstation.vault import session as vs
from workstation.vault.audit import AuditEntry


def _result(segments: list[Segment]) -> Any:
    from workstation.speech.pipeline import PipelineResult

    return PipelineResult(segments=segments, language="ru", language_probability=0.98, duration_s=4.0,
                          warnings=["a warning"], models={"asr": "whisper-base", "mt": "none"})


def _segments() -> list[Segment]:
    words = [Word(0.0, 0.5, " шестьдесят", 0.9), Word(0.5, 1.0, " тысяч", 0.4)]
    return [Segment(0.0, 1.0, "шестьдесят тысяч", "sixty thousand", words=words, confidence=0.65),
            Segment(1.0, 4.0, "тенге сколько будет стоить", "")]


@pytest.mark.slow
def test_round_trip_of_every_record_kind(vault_editor: Any, vault_path: Path, vault_clip: Path) -> None:
    meta = TestimonyMeta(case_code="CH-2019-014", interview_date="2019-05-02", interviewer="edna",
                         consent_scope="documentation, court", sensitivity="high", notes="met in Tbilisi")
    created = vault_editor.create_testimony(meta)
    assert created.owner == "edna" and created.status is Status.CREATED
    data = vault_clip.read_bytes()
    info = intake.seal_recording(vault_editor, "CH-2019-014", data, vault_clip.name)
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.size == len(data) and info.duration_s > 1
    assert vault_editor.read_recording("CH-2019-014") == data
    assert vault_editor.recording_info("CH-2019-014") == info
    assert vault_editor.load("CH-2019-014").status is Status.INGESTED

    vault_editor.store_processing_result("CH-2019-014", _result(_segments()))
    vault_editor.update("CH-2019-014", lambda t: tm.edit_segment(t, t.segments[1].id, "en", "how much will it cost",
                                                             base_revision=0, user="edna"), action="edit")
    vault_editor.save_extra("CH-2019-014", "pseudonyms", {"Ахмед": "Witness A"})
    vault_editor.save_glossary(Glossary(terms={"тенге": "tenge"}, keep=["Грозный"], sensitive=["Ахмед"]))

    again = vs.unlock(vault_path, "edna", PASSPHRASE)  # everything comes back from disk, through a new session
    t = again.load("CH-2019-014")
    assert t.meta == meta and t.status is Status.DRAFT and t.owner == "edna"
    assert [s.ru for s in t.segments] == ["шестьдесят тысяч", "тенге сколько будет стоить"]
    assert t.segments[0].words == _segments()[0].words
    assert t.segments[1].en == "how much will it cost" and t.segments[1].revision == 1
    assert t.revisions[0].old == "" and t.revisions[0].new == "how much will it cost" and t.revisions[0].user == "edna"
    assert t.models["asr"] == "whisper-base"
    assert again.load_extra("CH-2019-014", "pseudonyms") == {"Ахмед": "Witness A"}
    assert again.load_extra("CH-2019-014", "processing")["warnings"] == ["a warning"]
    assert again.load_extra("CH-2019-014", "nothing") is None
    assert again.load_glossary() == Glossary(terms={"тенге": "tenge"}, keep=["Грозный"], sensitive=["Ахмед"])
    assert again.read_recording("CH-2019-014") == data
    [summary] = again.list_testimonies()
    assert (summary.case_code, summary.status, summary.n_segments, summary.n_reviewed) == ("CH-2019-014", Status.DRAFT, 2, 0)
    assert summary.duration_s == pytest.approx(info.duration_s)
    assert again.verify().problems == []


def test_views_and_edits_are_audited_without_content(vault_editor: Any, vault_clip: Path) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="A-1", notes="secret note"))
    seal_clip(vault_editor, "A-1", vault_clip.read_bytes(), "witness-real-name.wav")
    vault_editor.store_processing_result("A-1", _result(_segments()))
    seg = vault_editor.load("A-1").segments[0]
    vault_editor.update("A-1", lambda t: tm.edit_segment(t, seg.id, "ru", "совсем другой текст", base_revision=0,
                                                   user="edna"), action="edit_segment",
                  details={"note": "совсем другой текст", "segments": 1})
    vault_editor.read_recording("A-1")
    entries = vault_editor.audit_entries()
    actions = [e.action for e in entries]
    for expected in ("vault_created", "user_added", "testimony_created", "recording_ingested", "processed", "view",
                     "edit_segment"):
        assert expected in actions
    assert actions.count("view") == 2  # load + read_recording
    edit = [e for e in entries if e.action == "edit_segment"][0]
    dump = json.dumps([_as_dict(e) for e in entries], ensure_ascii=False, default=str)
    assert seg.id in dump and "revision" in dump
    for secret in ("совсем другой текст", "шестьдесят", "secret note", "witness-real-name"):
        assert secret not in dump
    assert edit.user == "edna" and edit.case_code == "A-1"
    assert vault_editor.audit_head()


def _as_dict(entry: AuditEntry) -> dict[str, Any]:
    return dataclasses.asdict(entry)


@pytest.mark.slow
def test_stale_revision_is_a_conflict_and_nothing_is_lost(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    edna.create_testimony(TestimonyMeta(case_code="C-1"))
    edna.store_processing_result("C-1", _result(_segments()))
    seg = tanya.load("C-1").segments[0]
    edna.update("C-1", lambda t: tm.edit_segment(t, seg.id, "en", "editor's text", base_revision=0, user="edna"),
                action="edit")
    with pytest.raises(ConflictError, match="revision 0"):
        tanya.update("C-1", lambda t: tm.edit_segment(t, seg.id, "en", "translator's text", base_revision=0,
                                                      user="tanya"), action="edit")
    assert tanya.load("C-1").segments[0].en == "editor's text"


def test_reprocessing_never_replaces_human_edits(vault_editor: Any) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="R-1"))
    vault_editor.store_processing_result("R-1", _result(_segments()))
    vault_editor.update("R-1", lambda t: tm.set_reviewed(t, t.segments[0].id, True, base_revision=0, user="edna"), action="r")
    with pytest.raises(tm.EditError, match="human edit"):
        vault_editor.store_processing_result("R-1", _result([Segment(0, 1, "другое")]))
    assert vault_editor.load("R-1").segments[0].reviewed


def test_unlock_errors_are_clear_and_change_nothing(vault_editor: Any, vault_path: Path) -> None:
    vault_editor.add_user("tanya", "translator", OTHER_PASSPHRASE)
    before = vault_files(vault_path)
    with pytest.raises(accounts.WrongPassphraseError, match="does not open the account tanya"):
        vs.unlock(vault_path, "tanya", PASSPHRASE)
    with pytest.raises(accounts.UnknownUserError, match="no account named 'nobody'"):
        vs.unlock(vault_path, "nobody", PASSPHRASE)
    with pytest.raises(vs.VaultNotFoundError, match="no vault"):
        vs.unlock(vault_path.parent / "elsewhere", "edna", PASSPHRASE)
    after = vault_files(vault_path)
    after.pop(throttle.THROTTLE_FILE)  # the only change: the failure counters
    assert after == {k: v for k, v in before.items() if k != throttle.THROTTLE_FILE}
    assert vs.unlock(vault_path, "tanya", OTHER_PASSPHRASE).role is permissions.Role.TRANSLATOR


def _slot_file(vault_path: Path, user: str) -> Path:
    for p in (vault_path / "slots").glob("*.slot"):
        if json.loads(p.read_text())["user"] == user:
            return p
    raise AssertionError(user)


def test_role_edited_in_a_slot_breaks_it(vault_editor: Any, vault_path: Path) -> None:
    vault_editor.add_user("ivan", "interviewer", OTHER_PASSPHRASE)
    path = _slot_file(vault_path, "ivan")
    data = json.loads(path.read_text())
    data["role"] = "editor"  # an interviewer promotes himself by editing the file
    path.write_text(json.dumps(data))
    before = vault_files(vault_path)
    with pytest.raises(accounts.SlotDamagedError, match="altered"):
        vs.unlock(vault_path, "ivan", OTHER_PASSPHRASE)
    assert {k: v for k, v in vault_files(vault_path).items() if k != throttle.THROTTLE_FILE} == \
        {k: v for k, v in before.items() if k != throttle.THROTTLE_FILE}
    assert vs.unlock(vault_path, "edna", PASSPHRASE).role is permissions.Role.EDITOR  # the others still open
    # the account list in the catalog records ivan as an interviewer: verify names the edited slot
    assert any("not in the vault's account list" in p and "ivan" in p for p in vault_editor.verify().problems)


def test_corrupted_slot_is_a_clear_error(vault_editor: Any, vault_path: Path) -> None:
    vault_editor.add_user("ivan", "interviewer", OTHER_PASSPHRASE)
    path = _slot_file(vault_path, "ivan")
    raw = bytearray(path.read_bytes())
    data = json.loads(raw)
    sealed = bytearray(__import__("base64").b64decode(data["private_key"]))
    sealed[-5] ^= 0x01
    data["private_key"] = __import__("base64").b64encode(bytes(sealed)).decode()
    path.write_text(json.dumps(data))
    with pytest.raises(accounts.SlotDamagedError):
        vs.unlock(vault_path, "ivan", OTHER_PASSPHRASE)
    path.write_bytes(b"\x00garbage")  # unreadable: that user is unknown, others unaffected
    with pytest.raises(accounts.UnknownUserError):
        vs.unlock(vault_path, "ivan", OTHER_PASSPHRASE)
    assert any("damaged" in p for p in vault_editor.verify().problems)
    vs.unlock(vault_path, "edna", PASSPHRASE)


@pytest.mark.slow
def test_removed_user_opens_nothing_after_rotation(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    edna.create_testimony(TestimonyMeta(case_code="K-1"))
    edna.store_processing_result("K-1", _result(_segments()))
    saved_slot = _slot_file(vault_path, "ivan")
    copy = saved_slot.read_bytes()
    old_epoch = json.loads((vault_path / "vault.json").read_text())["epoch"]
    edna.remove_user("ivan")
    new_epoch = json.loads((vault_path / "vault.json").read_text())["epoch"]
    assert new_epoch != old_epoch
    with pytest.raises(accounts.UnknownUserError):
        vs.unlock(vault_path, "ivan", PASSPHRASE)
    # ivan kept a copy of his old slot file and puts it back: it only holds the old master key
    saved_slot.write_bytes(copy)
    with pytest.raises(accounts.SlotDamagedError, match="current key"):
        vs.unlock(vault_path, "ivan", PASSPHRASE)
    slot = accounts.KeySlot.from_bytes(copy)
    old_master = accounts.open_slot(slot, PASSPHRASE, old_epoch)
    from workstation.vault import crypto
    from workstation.vault.store import Store

    with pytest.raises(FileNotFoundError):
        Store(vault_path).read_record(old_master, f"catalog-{old_epoch}")  # deleted with the old epoch
    with pytest.raises(crypto.CryptoError):
        Store(vault_path).read_record(old_master, f"catalog-{new_epoch}")  # new key: the old one fails
    saved_slot.unlink()
    # sessions that were open follow the rotation without a passphrase; new unlocks work
    assert tanya.load("K-1").segments[0].ru == "шестьдесят тысяч"
    assert vs.unlock(vault_path, "inna", PASSPHRASE).list_testimonies() == []
    assert [u.name for u in edna.list_users()] == ["edna", "inna", "tanya"]
    actions = [e.action for e in edna.audit_entries()]
    assert "user_removed" in actions and "key_rotation" in actions
    assert edna.verify().problems == []


def test_last_editor_and_self_removal_refused(vault_editor: Any) -> None:
    with pytest.raises(WorkstationError, match="You cannot remove your own account"):
        vault_editor.remove_user("edna")


@pytest.mark.slow
def test_change_passphrase(vault_editor: Any, vault_path: Path) -> None:
    with pytest.raises(accounts.WrongPassphraseError):
        vault_editor.change_passphrase("not the passphrase at all", OTHER_PASSPHRASE)
    vault_editor.change_passphrase(PASSPHRASE, OTHER_PASSPHRASE)
    with pytest.raises(accounts.WrongPassphraseError):
        vs.unlock(vault_path, "edna", PASSPHRASE)
    vs.unlock(vault_path, "edna", OTHER_PASSPHRASE)


def test_lock_forgets_keys(vault_editor: Any) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="L-1"))
    vault_editor.lock()
    with pytest.raises(vs.VaultLockedError):
        vault_editor.load("L-1")
    assert "locked=True" in repr(vault_editor) and vault_editor.locked


def test_shred_destroys_key_and_data(vault_editor: Any, vault_path: Path, vault_clip: Path) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="S-1"))
    seal_clip(vault_editor, "S-1", vault_clip.read_bytes(), vault_clip.name)
    vault_editor.save_extra("S-1", "pseudonyms", {"a": "b"})
    vault_editor.create_testimony(TestimonyMeta(case_code="S-2"))
    files_before = set(vault_files(vault_path))
    vault_editor.shred("S-1")
    with pytest.raises(vs.NotFoundError):
        vault_editor.load("S-1")
    with pytest.raises(vs.NotFoundError):
        vault_editor.read_recording("S-1")
    assert [t.case_code for t in vault_editor.list_testimonies()] == ["S-2"]
    gone = files_before - set(vault_files(vault_path))
    assert len(gone) >= 3  # testimony record, recording info, extra, blob (the store may split blobs further)
    assert [e.action for e in vault_editor.audit_entries()].count("shred") == 1
    assert vault_editor.verify().problems == []
    vault_editor.create_testimony(TestimonyMeta(case_code="S-1"))  # the code can be used again, for a new testimony
    assert vault_editor.load("S-1").segments == []


@pytest.mark.slow
def test_throttling_grows_and_persists_across_processes(vault_editor: Any, vault_path: Path) -> None:
    for _ in range(throttle.FREE_ATTEMPTS):
        with pytest.raises(accounts.WrongPassphraseError):
            vs.unlock(vault_path, "edna", "wrong passphrase words here")
    with pytest.raises(throttle.ThrottledError) as caught:  # even the right passphrase must wait now
        vs.unlock(vault_path, "edna", PASSPHRASE)
    assert 0 < caught.value.seconds <= throttle.BASE_DELAY_S
    # more recorded failures (as if the attacker had waited out the first delays), so the wait cannot run
    # out while the child interpreter starts on a loaded machine
    data = json.loads((vault_path / throttle.THROTTLE_FILE).read_text())
    for entry in data["users"].values():
        entry["failures"] += 4
    (vault_path / throttle.THROTTLE_FILE).write_text(json.dumps(data))
    script = (
        "import sys\nfrom workstation.vault import session as vs, throttle\n"
        "try:\n    vs.unlock(sys.argv[1], 'edna', sys.argv[2])\nexcept throttle.ThrottledError as e:\n"
        "    print('THROTTLED', round(e.seconds)); sys.exit(0)\nsys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(vault_path), PASSPHRASE], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "THROTTLED" in done.stdout, done.stderr
    assert throttle.delay_after(throttle.FREE_ATTEMPTS + 1) == 2 * throttle.delay_after(throttle.FREE_ATTEMPTS)
    assert throttle.delay_after(100) == throttle.MAX_DELAY_S
    raw = (vault_path / throttle.THROTTLE_FILE).read_text()
    assert "edna" in raw and "wrong passphrase" not in raw
    # the wait passes (we move the recorded time back instead of sleeping)
    data = json.loads(raw)
    for entry in data["users"].values():
        entry["last"] -= throttle.MAX_DELAY_S
    (vault_path / throttle.THROTTLE_FILE).write_text(json.dumps(data))
    again = vs.unlock(vault_path, "edna", PASSPHRASE)
    failed = [e for e in again.audit_entries() if e.action == "unlock_failed"]
    assert len(failed) == throttle.FREE_ATTEMPTS and all(e.user == "edna" for e in failed)
    assert json.loads((vault_path / throttle.THROTTLE_FILE).read_text())["pending"] == []


def test_unknown_names_never_written_in_clear(vault_editor: Any, vault_path: Path) -> None:
    with pytest.raises(accounts.UnknownUserError):
        vs.unlock(vault_path, "my real passphrase typed here", PASSPHRASE)
    assert "typed here" not in (vault_path / throttle.THROTTLE_FILE).read_text()


def test_create_vault_refuses_existing_or_weak(tmp_path: Path, vault_editor: Any, vault_path: Path) -> None:
    with pytest.raises(vs.VaultExistsError):
        vs.create_vault(vault_path, "x", PASSPHRASE)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.txt").write_text("x")
    with pytest.raises(vs.VaultExistsError):
        vs.create_vault(tmp_path / "full", "x", PASSPHRASE)
    with pytest.raises(accounts.WeakPassphraseError):
        vs.create_vault(tmp_path / "new", "x", "password")
    assert not vs.vault_exists(tmp_path / "new")


def test_bad_audio_is_refused_with_a_media_error(vault_editor: Any) -> None:
    from workstation.speech.media import MediaError

    vault_editor.create_testimony(TestimonyMeta(case_code="B-1"))
    with pytest.raises(MediaError):
        intake.seal_recording(vault_editor, "B-1", b"this is not audio at all" * 100, "notes.txt")
    assert vault_editor.recording_info("B-1") is None
    assert vault_editor.load("B-1").status is Status.CREATED


@pytest.mark.slow
def test_real_kdf_parameters_once(real_kdf: None, tmp_path: Path) -> None:
    from workstation.vault import crypto

    started = time.perf_counter()
    s = vs.create_vault(tmp_path / "v", "edna", PASSPHRASE)
    slot = json.loads(next((tmp_path / "v" / "slots").glob("*.slot")).read_text())
    assert slot["kdf"] == accounts.kdf_to_dict(crypto.KdfParams())
    s.lock()
    assert vs.unlock(tmp_path / "v", "edna", PASSPHRASE).user == "edna"
    assert time.perf_counter() - started < 60


def test_copying_the_vault_keeps_it_usable(vault_editor: Any, vault_path: Path, tmp_path: Path) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="M-1"))
    shutil.copytree(vault_path, tmp_path / "copy")
    assert vs.unlock(tmp_path / "copy", "edna", PASSPHRASE).load("M-1").case_code == "M-1"


def test_record_audit_keeps_only_content_free_details(vault_editor: Any) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="X-1"))
    vault_editor.record_audit("export", "X-1", formats="docx|pdf", files=2, text="Меня задержали", path="/home/a b/c")
    [entry] = [e for e in vault_editor.audit_entries() if e.action == "export"]
    dump = json.dumps(_as_dict(entry), ensure_ascii=False, default=str)
    assert "docx|pdf" in dump and "задержали" not in dump and "/home" not in dump


def test_update_meta_and_approved_lock(vault_editor: Any) -> None:
    vault_editor.create_testimony(TestimonyMeta(case_code="U-1"))
    vault_editor.update_meta("U-1", consent_scope="documentation only", notes="n")
    assert vault_editor.load("U-1").meta.consent_scope == "documentation only"
    with pytest.raises(tm.EditError, match="Unknown metadata"):
        vault_editor.update_meta("U-1", case_code="OTHER")
    vault_editor.store_processing_result("U-1", _result(_segments()))
    for seg in vault_editor.load("U-1").segments:
        vault_editor.update("U-1", lambda t, i=seg.id: tm.set_reviewed(t, i, True, base_revision=0, user="edna"), action="r")
    approval = vault_editor.approve("U-1")
    assert approval.content_hash == tm.content_hash(vault_editor.load("U-1"))
    with pytest.raises(tm.LockedError):
        vault_editor.update_meta("U-1", notes="changed after approval")
    vault_editor.unapprove("U-1", "consent scope changed")
    assert vault_editor.load_extra("U-1", "approval-history")["unapprovals"][0]["reason"] == "consent scope changed"


@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
@settings(max_examples=150, deadline=None)
def test_slot_parser_only_raises_its_own_error(raw: bytes) -> None:
    try:
        accounts.KeySlot.from_bytes(raw)
    except accounts.SlotDamagedError:
        pass


@given(st.dictionaries(st.sampled_from(["format", "user", "role", "salt", "kdf", "public_key", "private_key", "check",
                                        "masters"]), st.none() | st.integers() | st.text(max_size=8) | st.lists(st.integers())))
@settings(max_examples=150, deadline=None)
def test_slot_parser_on_odd_json(data: dict) -> None:
    data.setdefault("format", accounts.SLOT_FORMAT)
    try:
        accounts.KeySlot.from_bytes(json.dumps(data).encode())
    except accounts.SlotDamagedError:
        pass
