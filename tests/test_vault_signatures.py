"""Vault format 2, the signature half (docs/VAULT-FORMAT.md "Format 2"): account certificates rooted in the
first editor, every audit entry signed by the acting account, approvals signed by the approving editor and
checked by export and verify-export. The per-recipient key half is not built yet (test_vault_attacks::test_1_*).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.fixtures_vault import PASSPHRASE
from tests.test_vault_attacks import _case, _raw_write_testimony
from workstation.domain import testimony as tm
from workstation.evidence.manifest import MANIFEST_NAME, verify_export
from workstation.vault import accounts, signing
from workstation.vault import session as vs
from workstation.vault.layout import b64


def test_new_slots_hold_a_signing_key_pinned_to_the_first_editor(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    files = accounts.SlotFiles(edna.path, lambda p, d: p.write_bytes(d))
    root = files.find("edna")[1].root
    assert root is not None and root[0] == "edna"
    for slot in files.users():
        assert slot.format == accounts.SLOT_FORMAT and len(slot.sign_public) == 32 and slot.root == root
    trusted = signing.trusted_keys(tanya._catalog.current()["accounts"], root)
    assert set(trusted) == {"edna", "ivan", "inna", "tanya"} and trusted["tanya"]["signer"] == "edna"
    assert edna.verify().ok


def test_a_translator_who_makes_herself_editor_in_the_account_list_is_reported(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    with tanya._catalog.change() as catalog:  # her own code, with the master key her session holds
        entry = dict(catalog["accounts"]["tanya"], role="editor")
        catalog["accounts"]["tanya"] = signing.certify("tanya", entry, "tanya", tanya._catalog.signer())
        fake = Ed25519PrivateKey.generate()  # and a made-up editor signed by her "editor" self
        catalog["accounts"]["ed"] = signing.certify("ed", {"role": "editor", "public_key": entry["public_key"],
                                                           "ed25519": b64(signing.raw_public(fake))}, "tanya", fake)
    problems = edna.verify().problems
    assert any("entry of 'tanya' is not signed by an editor" in p for p in problems), problems
    assert any("entry of 'ed' is not signed by an editor" in p for p in problems), problems


def test_an_entry_signed_with_another_accounts_name_is_reported(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    from workstation.vault.audit import AuditLog

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    key = tanya._catalog.audit_key()
    AuditLog(vault_path, key, signer=("edna", tanya._catalog.signer())).append("edna", "approved", "X-1")
    AuditLog(vault_path, key, signer=("mallory", tanya._catalog.signer())).append("mallory", "unlock")
    problems = edna.verify().problems
    assert any("signature by 'edna' does not verify" in p for p in problems), problems
    assert any("signed by 'mallory', who is not in the vault's account list" in p for p in problems), problems


def test_history_and_approvals_of_a_removed_account_still_verify(vault_sessions: dict[str, Any]) -> None:
    edna = vault_sessions["edna"]
    edna.add_user("erik", "editor", PASSPHRASE)
    erik = vs.unlock(edna.path, "erik", PASSPHRASE)
    erik.add_user("tom", "translator", PASSPHRASE)  # certified by erik
    _case(erik, "RM-1", approve=True)
    erik.lock()
    edna.remove_user("erik")
    report = edna.verify()
    assert report.ok, report.problems  # erik's entries and approval verify; tom re-certified by edna
    assert edna._catalog.current()["accounts"]["tom"]["signer"] == "edna"


def test_a_signed_approval_is_in_the_export_manifest_and_verify_export_checks_it(vault_editor: Any,
                                                                                tmp_path: Path) -> None:
    from workstation.services.exports import export_testimony

    s = vault_editor
    _case(s, "EX-1", approve=True)
    approval = s.load("EX-1").approval
    assert approval.signature and approval.ed25519
    out = tmp_path / "export"
    export_testimony(s, "EX-1", out, "txt,json")
    manifest_path = out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    signed = manifest["approval"]
    assert signed["signature"] == approval.signature and len(signed["fingerprint"].split()) == 8
    assert verify_export(out) == []
    signed["at"] = "2030-01-01T00:00:00Z"  # anyone re-dating (or re-attributing) the approval
    manifest_path.write_text(json.dumps(manifest))
    assert any("approval signature by 'edna' does not verify" in p for p in verify_export(out))


def test_an_unsigned_approval_in_an_editors_name_is_refused(vault_sessions: dict[str, Any]) -> None:
    from workstation.evidence.render import ExportError
    from workstation.services.exports import build_export

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "U-1")
    t = tanya.load("U-1")  # unchanged content: only the approval is forged
    t.approval, t.status = tm.Approval("edna", tm.now_iso(), tm.content_hash(t)), tm.Status.APPROVED
    _raw_write_testimony(tanya, "U-1", t)
    assert any("is not signed" in p for p in edna.verify().problems)
    with pytest.raises(ExportError, match="not signed"):
        build_export(edna, "U-1", "txt")


# --- testimony keys wrapped per reader --------------------------------------------------------------------


def test_testimony_keys_are_wrapped_only_to_their_readers(vault_sessions: dict[str, Any]) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    _case(ivan, "W-1")
    tid, entry = edna._entry("W-1")
    assert "key" not in entry and set(entry["wraps"]) == {"edna", "ivan", "tanya"}  # not inna
    edna.add_user("tara", "translator", PASSPHRASE)  # a later translator receives a wrap from the editor
    edna.add_user("ian", "interviewer", PASSPHRASE)  # a later interviewer does not
    tara = vs.unlock(edna.path, "tara", PASSPHRASE)
    assert tara.load("W-1").case_code == "W-1"
    assert set(edna._entry("W-1")[1]["wraps"]) == {"edna", "ivan", "tanya", "tara"}
    edna.remove_user("tanya")  # her wrap leaves the catalog (which moves to a new master key)
    assert "tanya" not in edna._entry("W-1")[1]["wraps"]
    assert edna.verify().ok


def test_the_creating_editor_and_other_editors_can_read(vault_sessions: dict[str, Any]) -> None:
    edna = vault_sessions["edna"]
    edna.add_user("erik", "editor", PASSPHRASE)
    _case(edna, "E-1", approve=True)
    erik = vs.unlock(edna.path, "erik", PASSPHRASE)
    assert erik.load("E-1").status is tm.Status.APPROVED and erik.verify().ok


# --- vault upgrade from format 1 ------------------------------------------------------------------------


def _make_format_1(sessions: dict[str, Any], vault_path: Path) -> None:
    """Turn a fresh vault into what format 1 wrote: format-1 slots, an unsigned account list, testimony keys in
    the catalog, no root."""
    from tests.fixtures_vault import write_records_unsigned
    from tests.test_vault_attacks import _as_format_1_slot, _write_atomic

    edna = sessions["edna"]
    master, epoch = edna._catalog.master(), edna._catalog.epoch
    write_records_unsigned(edna)  # format 1 never signed a record
    with edna._catalog.change() as catalog:
        for tid, entry in catalog["testimonies"].items():
            entry["key"] = b64(edna._catalog.testimony_key(tid, entry))
            del entry["wraps"]
        catalog["accounts"] = {u: {"role": e["role"], "public_key": e["public_key"]}
                               for u, e in catalog["accounts"].items()}
        del catalog["root"]
    for path, slot in accounts.SlotFiles(vault_path, _write_atomic).load_all():
        assert slot is not None
        _write_atomic(path, _as_format_1_slot(slot, master, epoch).to_bytes())
    for s in sessions.values():
        s.lock()


def upgraded_from_format_1(sessions: dict[str, Any], vault_path: Path, tmp_path: Path, owner: str, code: str) -> Any:
    """A testimony of ``owner``, the vault turned into format 1 and upgraded by edna: her unlocked session."""
    _case(sessions[owner], code)
    _make_format_1(sessions, vault_path)
    vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "before.twbackup")
    return vs.unlock(vault_path, "edna", PASSPHRASE)


def test_vault_upgrade_converts_a_format_1_vault(vault_sessions: dict[str, Any], vault_path: Path, tmp_path: Path) -> None:
    _case(vault_sessions["ivan"], "UP-1")
    _make_format_1(vault_sessions, vault_path)
    old = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert old._root is None and old.verify().ok  # format 1: nothing signed, nothing checked
    old.lock()
    archive, report = vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "before-upgrade.twbackup")
    assert archive.is_file()
    assert len(report.problems) == 3 and all("no certified signing key yet" in p for p in report.problems), report.problems
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    tid, entry = edna._entry("UP-1")
    assert "key" not in entry and set(entry["wraps"]) == {"edna", "ivan", "tanya"}
    for name in ("ivan", "inna", "tanya"):  # each converts itself at its next unlock
        s = vs.unlock(vault_path, name, PASSPHRASE)
        assert s._root is not None and s._root[0] == "edna"
        s.lock()
    edna.lock()
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)  # the editor's next unlock certifies them
    report = edna.verify()
    assert report.ok, report.problems
    assert vs.unlock(vault_path, "ivan", PASSPHRASE).load("UP-1").case_code == "UP-1"
    with pytest.raises(vs.VaultError, match="already in format 2"):
        vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "again.twbackup")


def test_a_key_written_into_a_pending_accounts_entry_by_someone_else_is_not_certified(
        vault_sessions: dict[str, Any], vault_path: Path, tmp_path: Path) -> None:
    _make_format_1(vault_sessions, vault_path)
    vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "b.twbackup")
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)  # she converts, as usual
    evil = Ed25519PrivateKey.generate()
    with tanya._catalog.change() as catalog:  # ivan has not unlocked since the upgrade: she writes HER key for him
        catalog["accounts"]["ivan"]["ed25519"] = b64(signing.raw_public(evil))
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)  # the editor's routine unlock certifies the converted ...
    accounts_now = edna._catalog.current()["accounts"]
    assert accounts_now["tanya"].get("signer") == "edna"
    assert "signer" not in accounts_now["ivan"]  # ... but not a key without its holder's proof
    edna.lock()
    vs.unlock(vault_path, "ivan", PASSPHRASE).lock()  # ivan converts himself: his own key, with the proof
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    ivan_entry = edna._catalog.current()["accounts"]["ivan"]
    assert ivan_entry.get("signer") == "edna" and ivan_entry["ed25519"] != b64(signing.raw_public(evil))


def test_a_pending_account_cannot_change_its_role_on_the_way(vault_sessions: dict[str, Any], vault_path: Path,
                                                             tmp_path: Path) -> None:
    _make_format_1(vault_sessions, vault_path)
    vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "b.twbackup")
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)
    with tanya._catalog.change() as catalog:  # she makes her pending entry an editor's before any editor unlocks
        catalog["accounts"]["tanya"]["role"] = "editor"
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert "signer" not in edna._catalog.current()["accounts"]["tanya"]  # not certified
    assert any("entry of 'tanya' is not signed by an editor" in p for p in edna.verify().problems)


def test_an_upgrade_interrupted_after_the_slot_write_completes_when_run_again(vault_sessions: dict[str, Any],
                                                                             vault_path: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _make_format_1(vault_sessions, vault_path)

    def crash(*_args: Any) -> None:
        raise KeyboardInterrupt("killed between the slot write and the catalog write")

    monkeypatch.setattr(vs, "_upgrade_catalog", crash)
    with pytest.raises(KeyboardInterrupt):
        vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "1.twbackup")
    monkeypatch.undo()
    assert vs.unlock(vault_path, "ivan", PASSPHRASE).load  # the others still unlock (format 1 catalog)
    _archive, report = vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "2.twbackup")
    assert all("no certified signing key yet" in p for p in report.problems), report.problems


def test_an_upgrade_killed_after_its_catalog_write_is_finished_by_running_it_again(vault_sessions: dict[str, Any],
                                                                                   vault_path: Path, tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _make_format_1(vault_sessions, vault_path)
    real_audit = vs.VaultSession._audit

    def killed(self: Any, action: str, *args: Any, **kwargs: Any) -> None:
        if action == "vault_upgraded":
            raise KeyboardInterrupt("killed between the catalog write and the vault_upgraded entry")
        real_audit(self, action, *args, **kwargs)

    monkeypatch.setattr(vs.VaultSession, "_audit", killed)
    with pytest.raises(KeyboardInterrupt):
        vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "1.twbackup")
    monkeypatch.undo()
    with pytest.raises(vs.VaultError, match="edna .who started it. runs 'workstation vault upgrade' again"):
        vs.upgrade_vault(vault_path, "ivan", PASSPHRASE, tmp_path / "x.twbackup")
    archive, report = vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "2.twbackup")
    assert archive.exists()
    assert all("no certified signing key yet" in p for p in report.problems), report.problems
    with pytest.raises(vs.VaultError, match="already in format 2"):
        vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "3.twbackup")


# --- catalog entries signed by their creator (red-team findings of the format-2 review) -----------------------


def test_an_interviewer_who_substitutes_a_key_of_his_own_reads_nothing_sealed_after(vault_sessions: dict[str, Any],
                                                                                    vault_path: Path) -> None:
    """Ivan, holding the master key, wraps a key he knows to every reader of inna's new, still empty testimony and
    re-seals its record under it; her ingest must then refuse instead of sealing her recording under his key."""
    import os

    from tests.test_vault_attacks import FAKE_AUDIO
    from workstation.vault.catalog import recipients, wrap_testimony_key
    from workstation.vault.records import record_ref, rid

    ivan, inna, edna = vault_sessions["ivan"], vault_sessions["inna"], vault_sessions["edna"]
    inna.create_testimony(tm.TestimonyMeta(case_code="IN-7"))
    mine = os.urandom(32)
    with ivan._catalog.change() as catalog:
        tid, entry = ivan._catalog.entry("IN-7", catalog)
        readers = recipients(catalog, "inna", ivan._root)
        readers["ivan"] = ivan._catalog.public_key()
        entry["wraps"] = wrap_testimony_key(tid, mine, readers)
        blank = tm.Testimony(meta=tm.TestimonyMeta(case_code="IN-7"), owner="inna")
        ivan._records.write(mine, record_ref(tid, entry, "testimony"), blank.to_dict(),
                            expected_version=ivan._store.record_version(rid(tid, "testimony")))
    inna.lock()
    inna = vs.unlock(vault_path, "inna", PASSPHRASE)
    with pytest.raises(vs.IntegrityError, match="a key was substituted"):
        inna.ingest_recording("IN-7", b"SECRET-AUDIO" + FAKE_AUDIO, "clip.wav", container="wav", duration_s=10.0)
    assert not any(b"SECRET-AUDIO" in p.read_bytes() for p in (vault_path / "objects").iterdir())
    assert any("IN-7" in p and "a key was substituted" in p for p in edna.verify().problems)


def test_swapped_case_codes_in_the_catalog_make_a_shred_refuse_not_destroy_another_testimony(
        vault_sessions: dict[str, Any]) -> None:
    edna, ivan, inna = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["inna"]
    _case(inna, "C-1")
    _case(inna, "C-2")
    with ivan._catalog.change() as catalog:  # no testimony key needed for this
        a, b = [t for t in catalog["testimonies"].values() if t["case"] in ("C-1", "C-2")]
        a["case"], b["case"] = b["case"], a["case"]
    problems = edna.verify().problems
    assert any("C-1" in p and "case code, owner or date was changed" in p for p in problems), problems
    with pytest.raises(vs.IntegrityError):
        edna.shred("C-1")
    with pytest.raises(vs.IntegrityError):
        edna.load("C-2")
    codes = {e["case"] for e in edna._catalog.current()["testimonies"].values()}
    assert {"C-1", "C-2"} <= codes  # nothing was destroyed


def test_an_audit_entry_in_another_persons_name_under_ones_own_signature_is_reported(
        vault_sessions: dict[str, Any], vault_path: Path) -> None:
    from workstation.vault.audit import AuditLog

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    log = AuditLog(vault_path, tanya._catalog.audit_key(), signer=("tanya", tanya._catalog.signer()))
    entry = log.append("edna", "approved", "X-9", version=3)
    tanya._store.set_anchor("audit", entry.seq, entry.hash, max_step=3)
    problems = edna.verify().problems
    assert any("says 'edna' did 'approved', but it was signed by 'tanya'" in p for p in problems), problems
    from workstation.services import audit_view

    shown = [r for r in audit_view.rows(edna) if r.case == "X-9"]
    assert [(r.user, r.action) for r in shown] == [("edna (but signed by tanya)", "approved")]


def test_the_whole_export_manifest_is_signed_so_a_changed_file_listed_again_is_reported(vault_editor: Any,
                                                                                        tmp_path: Path) -> None:
    """A recipient (or anyone on the way) changes a file and writes its new sha256 into the manifest: the file
    list alone cannot tell, the exporter's signature over the manifest does."""
    from workstation.platform.digest import sha256_hex
    from workstation.services import verification
    from workstation.services.exports import export_testimony

    _case(vault_editor, "EX-2", approve=True)
    out = tmp_path / "export"
    export_testimony(vault_editor, "EX-2", out, "txt,json")
    assert verify_export(out) == []
    line = verification.export_signer(out)
    assert line.startswith("Signed by edna (editor), key fingerprint ") and len(line.split("fingerprint ")[1].split()) >= 8
    manifest_path = out / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    txt = next(p for p in out.iterdir() if p.suffix == ".txt")
    txt.write_bytes(txt.read_bytes() + b"\nBoris")
    for entry in manifest["files"]:
        if entry["name"] == txt.name:
            entry["sha256"], entry["size"] = sha256_hex(txt.read_bytes()), txt.stat().st_size
    manifest_path.write_text(json.dumps(manifest))
    assert any("manifest's signature by 'edna' does not verify" in p for p in verify_export(out))
    del manifest["signature"]  # and with the signature simply removed
    manifest_path.write_text(json.dumps(manifest))
    assert any("not signed although its approval is" in p for p in verify_export(out))


def test_an_approved_copy_put_back_after_the_editor_withdrew_the_approval_is_reported_and_not_exported(
        vault_sessions: dict[str, Any]) -> None:
    from workstation.evidence.render import ExportError
    from workstation.services.exports import build_export

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(vault_sessions["ivan"], "R-1")
    edna.approve("R-1")
    assert build_export(edna, "R-1", "txt").manifest["approval"]["user"] == "edna"  # the real approval exports
    snapshot = tanya.load("R-1")  # she can read it, so she keeps the approved record, signature and all
    edna.unapprove("R-1", "segment 2 mistranslated, hold release")
    _raw_write_testimony(tanya, "R-1", snapshot)
    assert edna.load("R-1").status is tm.Status.APPROVED  # the replay itself cannot be prevented ...
    assert any("R-1" in p and "not the last approval act in the signed history" in p for p in edna.verify().problems)
    with pytest.raises(ExportError, match="not the last approval act"):  # ... but it is not believed
        build_export(edna, "R-1", "txt")
    edna.unapprove("R-1", "the replayed copy is withdrawn")
    edna.approve("R-1")  # an editor's new approval is current again
    assert not any("R-1" in p for p in edna.verify().problems)


def test_a_removed_editor_who_kept_his_keys_cannot_approve_afterwards(vault_sessions: dict[str, Any],
                                                                      vault_path: Path) -> None:
    import dataclasses

    from workstation.services.exports import build_export
    from workstation.vault.audit import AuditLog
    from workstation.vault.records import Records, SignedEnvelopes
    from workstation.vault.store import Store

    edna = vault_sessions["edna"]
    edna.add_user("erik", "editor", PASSPHRASE)
    erik = vs.unlock(vault_path, "erik", PASSPHRASE)
    _case(vault_sessions["ivan"], "F-1")
    tid, entry = erik._entry("F-1")
    kept = (erik._records.key_of(tid, entry), erik._catalog.audit_key(), erik._catalog.signer(), dict(entry))
    erik.lock()
    edna.remove_user("erik")
    # later, with what he kept and the vault files only (no passphrase of anyone's)
    store = Store(vault_path)
    store.set_root_key(kept[1], required=True)
    # his own code signs the record with the key he kept (a removed account's record signatures still verify)
    records = Records(store, lambda _tid, _entry: kept[0],
                      SignedEnvelopes(lambda: ("erik", kept[2]), lambda: None, lambda: False))
    t, version = records.load_testimony(tid, kept[3])
    approval = tm.approve(t, user="erik")
    payload = signing.approval_payload("F-1", "erik", approval.at, approval.content_hash)
    t.approval = dataclasses.replace(approval, signature=signing.sign(kept[2], payload),
                                     ed25519=b64(signing.raw_public(kept[2])))
    records.save_testimony(tid, kept[3], t, expected_version=version)
    AuditLog(vault_path, kept[1], signer=("erik", kept[2])).append("erik", "approval_hash", "F-1",
                                                                   content_hash=approval.content_hash)
    problems = edna.verify().problems
    assert any("signed by 'erik' after that account was removed" in p for p in problems), problems
    # the record he wrote is under the key retired at his removal (re-keying): refused before its approval counts
    assert any("F-1" in p and "retired when an account was removed" in p for p in problems), problems
    with pytest.raises(vs.WorkstationError, match="retired when an account was removed"):
        build_export(edna, "F-1", "txt")


def test_an_uncertified_alias_account_receives_no_key_at_the_next_rotation(vault_sessions: dict[str, Any],
                                                                           vault_path: Path) -> None:
    from workstation.vault.layout import slot_files

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    slot, _keys = accounts.new_slot("tanya-spare", "translator", PASSPHRASE, vs._kdf(), tanya._catalog.epoch,
                                    tanya._catalog.master(), root=tanya._root)
    slot_files(vault_path).save(slot)
    with tanya._catalog.change() as catalog:  # listed with the master key she holds, but certified by no editor
        catalog["accounts"]["tanya-spare"] = {"role": "translator", "public_key": b64(slot.public_key),
                                              "ed25519": b64(slot.sign_public)}
    tanya.lock()
    assert any("'tanya-spare' is not signed by an editor" in p for p in edna.verify().problems)
    edna.remove_user("tanya")  # the rotation: a new master key for the certified accounts only
    with pytest.raises(vs.WorkstationError) as refused:
        vs.unlock(vault_path, "tanya-spare", PASSPHRASE)
    assert "does not hold the vault's current key" in str(refused.value)
    assert vs.unlock(vault_path, "ivan", PASSPHRASE).user == "ivan"  # every certified account still unlocks


def test_a_removed_accounts_name_and_its_look_alikes_are_not_given_again(vault_sessions: dict[str, Any]) -> None:
    edna = vault_sessions["edna"]
    edna.add_user("erik", "editor", PASSPHRASE)
    edna.remove_user("erik")
    for name in ("erik", "Erik", "еrik"):  # the same, another case, a Cyrillic е
        with pytest.raises(accounts.UserNameError):
            edna.add_user(name, "editor", PASSPHRASE)
    edna.add_user("erika", "translator", PASSPHRASE)  # a different name is fine


def _unsigned_history(edna: Any, vault_path: Path) -> None:
    """The audit log as format 1 wrote it: the same entries, unsigned (and no editors' checkpoint)."""
    from tests.test_vault_attacks import rewrite_log_unsigned
    from workstation.vault.audit import AuditLog

    rewrite_log_unsigned(edna, vault_path, list(AuditLog(vault_path, edna._catalog.audit_key()).entries()))


def test_format_1_approvals_recorded_in_the_sealed_history_survive_the_upgrade(
        vault_sessions: dict[str, Any], vault_path: Path, tmp_path: Path) -> None:
    import dataclasses

    from tests.test_vault_attacks import _editor_export, _raw_write_testimony

    edna = vault_sessions["edna"]
    for code in ("UA-1", "UA-2"):
        _case(vault_sessions["ivan"], code)
        edna.approve(code)
        t = edna.load(code)
        assert t.approval is not None
        t.approval = dataclasses.replace(t.approval, signature="", ed25519="")  # format 1 never signed them
        _raw_write_testimony(edna, code, t)
    _unsigned_history(edna, vault_path)
    _make_format_1(vault_sessions, vault_path)
    _archive, _report = vs.upgrade_vault(vault_path, "edna", PASSPHRASE, tmp_path / "b.twbackup")
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert not any("UA-" in p for p in edna.verify().problems), edna.verify().problems
    assert _editor_export(edna, "UA-1").manifest["approval"]["user"] == "edna"  # no re-approval needed
    # a kept copy of the approved record, put back after the editor withdrew the approval, is still refused
    kept = edna.load("UA-2")
    edna.unapprove("UA-2", "a name must be checked")
    _raw_write_testimony(edna, "UA-2", kept)
    assert any("UA-2" in p and "not signed" in p for p in edna.verify().problems), edna.verify().problems
