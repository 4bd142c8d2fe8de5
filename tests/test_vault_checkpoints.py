"""Editors' signed checkpoints of the audit log, and removals that hold (issue 10: signed history, signed account
changes). Each attack is done with what an insider really holds: their own unlocked session's keys (the master
key, the audit key) and the vault files, never an editor's passphrase."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE
from tests.test_vault_attacks import _case
from workstation.domain.testimony import TestimonyMeta
from workstation.platform.fileio import file_lock
from workstation.vault import accounts, checkpoint
from workstation.vault import session as vs
from workstation.vault.audit import AuditLog
from workstation.vault.backup import BACKUP_MANIFEST
from workstation.vault.layout import slot_files, unb64
from workstation.vault.permissions import PermissionDeniedError
from workstation.vault.store import LOCK_FILE


def _cp(vault: Path) -> checkpoint.Checkpoint:
    cp = checkpoint.read(vault)
    assert cp is not None
    return cp


def _cut_log(insider: Any, vault: Path, keep: int) -> None:
    """The insider keeps the first ``keep`` lines, and writes a matching head and store anchor (both are
    authenticated under the audit key, which every account holds)."""
    log = AuditLog(vault, insider._catalog.audit_key())
    lines = log.log_path.read_bytes().split(b"\n")[:keep]
    log.log_path.write_bytes(b"\n".join(lines) + b"\n")
    last = list(log.entries(strict=False))[-1]
    log._write_head(last.seq, last.hash)
    with file_lock(vault / LOCK_FILE):
        index = insider._store._begin_write()
        index.anchors["audit"] = {"seq": last.seq, "hash": last.hash}
        insider._store._save_index(index)


def test_every_editor_append_moves_the_signed_checkpoint_and_others_do_not(vault_sessions: dict[str, Any],
                                                                           vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    edna.create_testimony(TestimonyMeta(case_code="C-1"))
    last = edna.audit_entries()[-1]
    cp = _cp(vault_path)
    assert (cp.seq, cp.hash, cp.by) == (last.seq, last.hash, "edna")
    assert checkpoint.signature_problem(cp, edna._editor_keys()) is None
    tanya.record_audit("opened", "C-1")
    assert _cp(vault_path) == cp  # a translator's entry leaves the editors' checkpoint where it was
    assert edna.verify().ok


def test_a_translator_cutting_the_tail_with_a_valid_head_and_anchor_is_reported(vault_sessions: dict[str, Any],
                                                                               vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    n_before = len(edna.audit_entries())
    edna.create_testimony(TestimonyMeta(case_code="C-2"))
    edna.update_meta("C-2", notes="second interview")
    _cut_log(tanya, vault_path, n_before)  # the editor's two entries are gone, head and anchor agree
    problems = edna.verify().problems
    assert any("cut off: editor edna's signed checkpoint" in p for p in problems), problems


def test_a_checkpoint_put_back_from_an_older_copy_or_deleted_or_forged_is_reported(vault_sessions: dict[str, Any],
                                                                                   vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    path = checkpoint.path_in(vault_path)
    old = path.read_bytes()
    edna.create_testimony(TestimonyMeta(case_code="C-3"))
    edna.update_meta("C-3", notes="second interview")
    current = path.read_bytes()
    path.write_bytes(old)
    assert any("older than the editors' entries" in p for p in _problems(edna, path, current))
    path.unlink()
    assert any("checkpoint signed by editors is missing" in p for p in _problems(edna, path, current))
    forged = json.loads(current)
    forged["seq"] -= 1  # an edit keeps edna's name but not her signature
    path.write_text(json.dumps(forged))
    assert any("signature by 'edna' does not verify" in p for p in _problems(edna, path, current))
    signer = tanya._catalog.signer()  # signed with the translator's own key, in the editor's name
    fake = checkpoint.Checkpoint(forged["seq"], forged["hash"], forged["at"], "edna", ())
    fake = checkpoint.dataclasses.replace(fake, sig=checkpoint.signing.sign(signer, fake.payload()))
    data = {**json.loads(fake.payload().split(b"|", 1)[1]), "sig": fake.sig}
    path.write_text(json.dumps(data))
    assert any("does not verify" in p for p in _problems(edna, path, current))
    path.write_bytes(b"{not json")
    assert any("checkpoint file is damaged" in p for p in _problems(edna, path, current))


def _problems(editor: Any, path: Path, restore: bytes) -> list[str]:
    """verify()'s problems, then the good checkpoint put back (verify's own entry must not repair anything)."""
    problems = editor.verify().problems
    path.write_bytes(restore)
    return problems


def _put_back(insider: Any, vault: Path, name: str, kept_slot: bytes) -> None:
    """What an insider with the master key does to reinstate a removed account: its old slot file back, a wrap of
    the current master key added to it, its (still validly signed) certificate moved back into the list."""
    slot = accounts.KeySlot.from_bytes(kept_slot)
    accounts.add_master(slot, insider._catalog.epoch, insider._catalog.master())
    slot_files(vault).save(slot)
    with insider._catalog.change() as catalog:
        catalog["accounts"][name] = catalog["former"].pop(name)


@pytest.mark.parametrize("also", ["nothing", "delete checkpoint", "older checkpoint"])
def test_a_removed_account_put_back_by_an_insider_cannot_unlock(vault_sessions: dict[str, Any], vault_path: Path,
                                                                 also: str) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    path, kept = slot_files(vault_path).find("tanya")
    kept_slot, before = path.read_bytes(), checkpoint.path_in(vault_path).read_bytes()
    tanya.lock()
    edna.remove_user("tanya")
    assert "tanya" in _cp(vault_path).removed
    ivan = vs.unlock(vault_path, "ivan", PASSPHRASE)  # the interviewer's session after the rotation
    _put_back(ivan, vault_path, "tanya", kept_slot)
    if also == "delete checkpoint":
        checkpoint.path_in(vault_path).unlink()
    elif also == "older checkpoint":  # one from before the removal (a copy he kept): the log still says it
        checkpoint.path_in(vault_path).write_bytes(before)
    with pytest.raises(PermissionDeniedError, match="was removed from this vault by an editor"):
        vs.unlock(vault_path, "tanya", PASSPHRASE)
    problems = edna.verify().problems
    assert any("'tanya' was removed by an editor and has been put back" in p for p in problems), problems
    edna.remove_user("ivan")  # the next rotation gives the put-back account no key
    assert vs.unlock(vault_path, "edna", PASSPHRASE).user == "edna"
    path, slot = slot_files(vault_path).find("tanya")
    assert edna._catalog.epoch not in slot.masters


def test_removals_survive_an_editors_later_checkpoints_and_the_revoked_list_is_signed(vault_sessions: dict[str, Any],
                                                                                      vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    vault_sessions["inna"].lock()
    edna.remove_user("inna")
    for n in range(3):
        edna.create_testimony(TestimonyMeta(case_code=f"R-{n}"))
    cp = _cp(vault_path)
    assert cp.removed == ("inna",)
    data = json.loads(checkpoint.path_in(vault_path).read_bytes())
    data["removed"] = []  # an insider drops the revocation: the signature no longer holds
    checkpoint.path_in(vault_path).write_text(json.dumps(data))
    assert "inna" in edna._removed()  # unlock falls back to the editors' signed removals in the log
    assert any("does not verify" in p for p in edna.verify().problems)


def test_backup_and_export_manifests_record_the_checkpoint(vault_editor: Any, vault_path: Path, tmp_path: Path) -> None:
    from workstation.services.exports import build_export

    _case(vault_editor, "M-1", approve=True)
    archive = vault_editor.backup(tmp_path / "b.twbackup")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        member = tar.extractfile(BACKUP_MANIFEST)
        assert member is not None
        manifest = json.loads(member.read())
    assert "audit/checkpoint" in names
    cp = manifest["audit_checkpoint"]
    assert cp["by"] == "edna" and cp["seq"] >= 3 and len(cp["hash"]) == 64
    export = build_export(vault_editor, "M-1", "txt")
    assert export.manifest["audit_checkpoint"]["by"] == "edna"
    restored = vs.restore(archive, tmp_path / "restored", user="edna", passphrase=PASSPHRASE)
    assert restored.ok, restored.problems


def test_a_vault_without_a_checkpoint_gets_one_at_an_editors_unlock(vault_sessions: dict[str, Any],
                                                                    vault_path: Path) -> None:
    """A format-2 vault made before checkpoints: nothing is reported once an editor has unlocked it."""
    edna = vault_sessions["edna"]
    edna.lock()
    checkpoint.path_in(vault_path).unlink()
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert _cp(vault_path).by == "edna"
    assert edna.verify().ok, edna.verify().problems
    assert unb64(edna._catalog.current()["root"]["ed25519"]) == edna._editor_keys()["edna"]


def test_an_older_key_slot_put_back_does_not_bring_back_the_old_passphrase(vault_sessions: dict[str, Any],
                                                                         vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    path, _slot = slot_files(vault_path).find("tanya")
    old_slot = path.read_bytes()  # a copy (a sync folder, a snapshot) from before she changed her passphrase
    new_passphrase = "wet granite lantern orbit " + "quietly"
    tanya.change_passphrase(PASSPHRASE, new_passphrase)
    tanya.lock()
    path.write_bytes(old_slot)  # put back by whoever learnt the old passphrase
    with pytest.raises(vs.SlotDamagedError, match="older than the account's last passphrase change"):
        vs.unlock(vault_path, "tanya", PASSPHRASE)
    edna.record_audit("opened")  # an editor's entry: the checkpoint now carries the current slot too
    assert _cp(vault_path).slots["tanya"] != checkpoint.salt_digest(accounts.KeySlot.from_bytes(old_slot).salt)
    with pytest.raises(vs.SlotDamagedError, match="older than the account's last passphrase change"):
        vs.unlock(vault_path, "tanya", PASSPHRASE)
    assert any("older than that account's last passphrase change" in p for p in edna.verify().problems)
