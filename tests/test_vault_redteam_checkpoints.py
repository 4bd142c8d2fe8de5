"""The red-team review of checkpoints, removals, re-keying and the format-1 carry-over, as regression tests: each
attack (done with an insider's own keys, a removed account's kept keys, or the disk) must now fail."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE
from tests.test_vault_attacks import _case, _raw_write_testimony
from tests.test_vault_checkpoints import _cp, _put_back
from tests.test_vault_rekey import removed_with_kept_key
from workstation.domain.testimony import TestimonyMeta
from workstation.vault import checkpoint
from workstation.vault import session as vs
from workstation.vault.audit import AuditLog
from workstation.vault.errors import IntegrityError
from workstation.vault.layout import slot_files
from workstation.vault.permissions import PermissionDeniedError

NEW_PASSPHRASE = "wet granite lantern orbit quietly"


def _log_lines(vault: Path) -> list[bytes]:
    return (vault / "audit" / "log").read_bytes().split(b"\n")[:-1]


def _append_raw(vault: Path, line: bytes) -> None:
    with open(vault / "audit" / "log", "ab") as fh:
        fh.write(line + b"\n")


def test_a_copied_checkpoint_line_does_not_hide_a_removal(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    path, _slot = slot_files(vault_path).find("tanya")
    kept_slot, old_cp = path.read_bytes(), checkpoint.path_in(vault_path).read_bytes()
    tanya.lock()
    edna.remove_user("tanya")
    _put_back(vs.unlock(vault_path, "ivan", PASSPHRASE), vault_path, "tanya", kept_slot)
    checkpoint.path_in(vault_path).write_bytes(old_cp)  # from before the removal, and its line copied to the end
    digest = json.loads(old_cp)["hash"]
    _append_raw(vault_path, next(x for x in _log_lines(vault_path) if hashlib.sha256(x).hexdigest() == digest))
    with pytest.raises(PermissionDeniedError, match="was removed from this vault"):
        vs.unlock(vault_path, "tanya", PASSPHRASE)
    edna.record_audit("opened")
    assert "tanya" in _cp(vault_path).removed  # the editor's next checkpoint keeps the revocation


def test_a_removed_account_put_back_in_the_list_gets_no_wrap_of_a_new_testimony(vault_sessions: dict[str, Any],
                                                                               vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    vault_sessions["tanya"].lock()
    edna.remove_user("tanya")
    ivan = vs.unlock(vault_path, "ivan", PASSPHRASE)
    with ivan._catalog.change() as catalog:
        catalog["accounts"]["tanya"] = catalog["former"].pop("tanya")
    inna = vs.unlock(vault_path, "inna", PASSPHRASE)
    inna.create_testimony(TestimonyMeta(case_code="NEW-1"))
    assert "tanya" not in ivan._entry("NEW-1")[1]["wraps"]


def test_a_removed_editors_checkpoint_or_removals_lock_nobody_out(vault_sessions: dict[str, Any],
                                                                  vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    edna.add_user("erin", "editor", PASSPHRASE)
    erin = vs.unlock(vault_path, "erin", PASSPHRASE)
    erin_key, audit_key = erin._catalog.signer(), erin._catalog.audit_key()
    assert erin_key is not None
    erin.lock()
    edna.remove_user("erin")
    last = edna.audit_entries()[-1]
    checkpoint.write(vault_path, last, ("erin", erin_key), checkpoint.AccountState(removed={"edna", "ivan", "tanya"}))
    AuditLog(vault_path, audit_key, signer=("erin", erin_key)).append("erin", "user_removed", subject="edna")
    for name in ("edna", "ivan", "tanya"):
        assert vs.unlock(vault_path, name, PASSPHRASE).user == name
    problems = vs.unlock(vault_path, "edna", PASSPHRASE).verify().problems
    assert any("signed by 'erin' after that account was removed" in p for p in problems), problems


def test_a_removal_rekeys_even_an_account_moved_out_of_the_list_and_refuses_without_a_wrap(
        vault_sessions: dict[str, Any]) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    _case(ivan, "R-1")
    _case(ivan, "R-2")
    with tanya._catalog.change() as catalog:  # she moves herself to "former" before her removal
        catalog.setdefault("former", {})["tanya"] = catalog["accounts"].pop("tanya")
        tid2 = next(t for t, e in catalog["testimonies"].items() if e["case"] == "R-2")
        stripped = catalog["testimonies"][tid2]["wraps"].pop("edna")  # and hides R-2 from the editor's re-key
    with pytest.raises(IntegrityError, match="Testimony R-2 holds no key for your account"):
        edna.remove_user("tanya")
    with tanya._catalog.change() as catalog:
        catalog["testimonies"][tid2]["wraps"]["edna"] = stripped
    tanya.lock()
    edna.remove_user("tanya")
    assert all("prior" in edna._entry(code)[1] for code in ("R-1", "R-2"))


def test_a_record_written_under_a_kept_key_after_the_removal_is_refused(vault_sessions: dict[str, Any],
                                                                         vault_path: Path) -> None:
    tid, kept_entry, records = removed_with_kept_key(vault_sessions, vault_path, "R-3")
    kept_key = records.key_of(tid, kept_entry)
    t, version = records.load_testimony(tid, kept_entry)
    t.segments[0].en = "My name is somebody else."
    records._write_body(kept_key, records_ref(tid, kept_entry), json.dumps(t.to_dict()).encode(), version)
    with pytest.raises(IntegrityError, match="retired when an account was removed"):
        vs.unlock(vault_path, "ivan", PASSPHRASE).load("R-3")


def records_ref(tid: str, entry: dict[str, Any]) -> Any:
    from workstation.vault.records import record_ref

    return record_ref(tid, entry, "testimony")


def test_an_approval_act_claiming_the_editor_under_another_key_does_not_count(vault_sessions: dict[str, Any],
                                                                              vault_path: Path) -> None:
    from workstation.evidence.render import ExportError
    from workstation.services.exports import build_export

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "F-2", approve=True)
    kept = tanya.load("F-2")
    edna.unapprove("F-2", "not yet")
    _raw_write_testimony(edna, "F-2", kept)  # the kept approved copy, back (written with a key that may)
    signer = tanya._catalog.signer()
    assert signer is not None and kept.approval is not None
    AuditLog(vault_path, tanya._catalog.audit_key(), signer=("edna", signer)).append(
        "edna", "approval_hash", "F-2", content_hash=kept.approval.content_hash)
    assert edna.approval_problem(edna.load("F-2"))
    with pytest.raises(ExportError):
        build_export(edna, "F-2", "txt")


def test_a_replayed_older_passphrase_change_neither_locks_out_nor_reopens_the_old_slot(
        vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    path, _slot = slot_files(vault_path).find("tanya")
    tanya.change_passphrase(PASSPHRASE, NEW_PASSPHRASE)
    first_change, slot_p1 = _log_lines(vault_path)[-1], path.read_bytes()
    tanya.change_passphrase(NEW_PASSPHRASE, PASSPHRASE + " again")
    tanya.lock()
    edna.record_audit("opened")
    _append_raw(vault_path, first_change)
    assert vs.unlock(vault_path, "tanya", PASSPHRASE + " again").user == "tanya"
    edna.record_audit("opened")
    path.write_bytes(slot_p1)
    with pytest.raises(vs.SlotDamagedError, match="older than the account's last passphrase change"):
        vs.unlock(vault_path, "tanya", NEW_PASSPHRASE)


@pytest.mark.parametrize("planted", ["folder", "pipe", "huge"])
def test_a_planted_checkpoint_file_is_a_clear_problem_not_a_crash_or_a_hang(vault_sessions: dict[str, Any],
                                                                            vault_path: Path, planted: str) -> None:
    cp = checkpoint.path_in(vault_path)
    cp.unlink()
    if planted == "folder":
        cp.mkdir()
    elif planted == "pipe":
        os.mkfifo(cp)
    else:
        cp.write_bytes(b" " * (2 << 20))
    assert vs.unlock(vault_path, "ivan", PASSPHRASE).user == "ivan"  # unlock reads the log instead
    vault_sessions["edna"].record_audit("opened")  # an editor's append neither crashes nor blocks
    if planted == "folder":  # still there: reported
        assert any("checkpoint" in p for p in vault_sessions["edna"].verify().problems)
    else:  # replaced by the editor's signed checkpoint
        assert _cp(vault_path).by == "edna" and vault_sessions["edna"].verify().ok
