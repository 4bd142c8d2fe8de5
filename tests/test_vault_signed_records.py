"""Signed records (vault format 2, docs/VAULT-FORMAT.md "Signed records"): every record carries its writer's
Ed25519 signature over its id, kind label, version and body; every read checks the signature and that the signer's
role may write that kind. Each attack is written as the insider's own code with her unlocked session's keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE, write_records_unsigned
from tests.test_vault_attacks import _case
from workstation.domain.glossary import Glossary
from workstation.vault import checkpoint, signing
from workstation.vault import session as vs
from workstation.vault.errors import IntegrityError
from workstation.vault.layout import to_json
from workstation.vault.records import GLOSSARY_REF, RecordRef, record_kinds, record_ref, rid

TABLE = {"entries": [{"id": "a", "text": "Аслан", "pseudonym": "P1", "accepted": True}]}
FORGED = {"entries": [{"id": "a", "text": "Аслан", "pseudonym": "P1", "accepted": False}]}  # the name left in


def _ref(s: Any, code: str, kind: str) -> tuple[bytes, RecordRef]:
    """The key this session holds to ``code`` and the record of ``kind``."""
    tid, entry = s._entry(code)
    return s._records.key_of(tid, entry), record_ref(tid, entry, kind)


def _write_as(s: Any, code: str, kind: str, data: Any, how: str) -> None:
    """An insider's own code: write a record of ``code`` with the key her session holds — ``unsigned`` (plain JSON),
    ``self`` (signed with her own key, as her session's record code does), or ``as-edna`` (her key, edna's name)."""
    key, ref = _ref(s, code, kind)
    version = s._store.record_version(ref.record_id)
    body = to_json(data)
    if how == "unsigned":
        s._store.write_record(key, ref.record_id, body, expected_version=version)
    elif how == "self":
        s._records.write(key, ref, data, expected_version=version)
    else:
        me = s._catalog.signer()
        s._store.write_record(key, ref.record_id, lambda v: signing.seal_record(body, ref.record_id, ref.kind, v,
                                                                                 "edna", me), expected_version=version)


def _plaintext(s: Any, key: bytes, ref: RecordRef) -> bytes:
    return s._store.read_record(key, ref.record_id)[0]


# --- what is signed ---------------------------------------------------------------------------------------


def test_the_signed_payload_is_exactly_the_documented_bytes() -> None:
    body = b'{"a":1}'
    digest = hashlib.sha256(body).hexdigest()
    assert signing.record_payload("0f" * 16, "extra:redactions", 3, body, "edna") == (
        b'tw-record|{"by":"edna","id":"' + b"0f" * 16 + b'","kind":"extra:redactions","sha256":"'
        + digest.encode() + b'","version":3}')


def test_every_record_written_is_a_signed_envelope_and_the_signer_is_not_visible_on_disk(
        vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "S-1")
    edna.save_extra("S-1", "redactions", TABLE)
    tanya.save_glossary(Glossary(keep=["Аслан"]))
    tid, entry = edna._entry("S-1")
    key = edna._records.key_of(tid, entry)
    for kind in record_kinds(entry):
        record = signing.open_record(_plaintext(edna, key, record_ref(tid, entry, kind)))
        assert record.by == "edna", kind
    assert signing.open_record(_plaintext(edna, edna._catalog.data_key(), GLOSSARY_REF)).by == "tanya"
    assert not any(b"tanya" in p.read_bytes() for p in (vault_path / "objects").iterdir())
    assert edna.verify().ok


# --- a translator writes what only an editor may --------------------------------------------------------------


@pytest.mark.parametrize(("how", "message"), [
    ("unsigned", "The redaction table of testimony R-1 is not signed by the account that wrote it"),
    ("self", "The redaction table of testimony R-1 was written by translator tanya, who may not write it: only an "
             "editor may."),
    ("as-edna", "The signature by 'edna' on the redaction table of testimony R-1 does not verify"),
])
def test_a_translator_written_redaction_table_is_refused_reported_and_never_exported(
        vault_sessions: dict[str, Any], vault_path: Path, how: str, message: str) -> None:
    from workstation.services.exports import build_export

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "R-1", approve=True)
    edna.save_extra("R-1", "redactions", TABLE)
    _write_as(tanya, "R-1", "extra:redactions", FORGED, how)
    for editor in (edna, vs.unlock(vault_path, "edna", PASSPHRASE)):  # the open session and a fresh one
        with pytest.raises(IntegrityError, match=message):
            editor.load_extra("R-1", "redactions")
    assert any(message in p for p in edna.verify().problems), edna.verify().problems
    with pytest.raises(IntegrityError, match=message):
        build_export(edna, "R-1", "txt", redact=True)
    edna.save_extra("R-1", "redactions", TABLE)  # an editor writes it again over the refused one
    assert edna.load_extra("R-1", "redactions") == TABLE


@pytest.mark.parametrize(("name", "title", "who"), [
    ("approval-history", "approval history", "only an editor may"),
    ("job", "processing job record", "only its interviewer or an editor may"),
    ("pseudonyms", "pseudonym table", "only an editor may"),
])
def test_a_translator_written_editor_or_processor_record_is_refused(vault_sessions: dict[str, Any], name: str,
                                                                    title: str, who: str) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "H-1")
    edna.save_extra("H-1", name, {"x": 1})
    _write_as(tanya, "H-1", "extra:" + name, {"x": 2}, "self")
    message = f"The {title} of testimony H-1 was written by translator tanya, who may not write it: {who}"
    with pytest.raises(IntegrityError, match=message):
        edna.load_extra("H-1", name)
    assert any(message in p for p in edna.verify().problems)


def test_an_interviewer_may_write_the_records_of_his_own_testimony_that_he_may_write(
        vault_sessions: dict[str, Any]) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    _case(ivan, "I-1")
    _write_as(ivan, "I-1", "extra:job", {"state": "queued", "by": "ivan"}, "self")  # his own code, his own key
    t = ivan.load("I-1")
    t.meta.notes = "written by his own code"
    _write_as(ivan, "I-1", "testimony", t.to_dict(), "self")
    assert edna.load_extra("I-1", "job") == {"state": "queued", "by": "ivan"}
    assert edna.load("I-1").meta.notes == "written by his own code"
    assert edna.verify().ok, edna.verify().problems
    _write_as(ivan, "I-1", "extra:redactions", FORGED, "self")  # but not what only an editor may write
    with pytest.raises(IntegrityError, match="written by interviewer ivan, who may not write it: only an editor"):
        edna.load_extra("I-1", "redactions")


def test_an_interviewer_who_got_the_key_of_another_interviewers_testimony_cannot_write_it(
        vault_sessions: dict[str, Any]) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    _case(vault_sessions["inna"], "N-1")
    key, ref = _ref(edna, "N-1", "extra:job")  # say the key leaked to him
    ivan._records.write(key, ref, {"state": "queued"}, expected_version=0)
    with pytest.raises(IntegrityError, match="written by interviewer ivan, who may not write it: only its interviewer"):
        edna.load_extra("N-1", "job")


def test_an_interviewer_cannot_write_the_glossary(vault_sessions: dict[str, Any]) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    edna.save_glossary(Glossary(keep=["Аслан"]))
    key = ivan._catalog.data_key()  # every account holds the data key (it is in the catalog)
    ivan._records.write(key, GLOSSARY_REF, Glossary().to_dict(), expected_version=ivan._store.record_version("glossary"))
    with pytest.raises(IntegrityError, match="The glossary was written by interviewer ivan, who may not write it: only "
                                             "a translator or an editor may"):
        edna.load_glossary()
    assert any("Glossary: The glossary was written by interviewer ivan" in p for p in edna.verify().problems)
    edna.save_glossary(Glossary(keep=["Аслан"]))  # an editor (or a translator) writes it again
    assert edna.load_glossary().keep == ["Аслан"]


# --- a valid signature moved elsewhere ------------------------------------------------------------------------


def test_a_signed_record_moved_to_another_kind_testimony_or_version_fails(vault_sessions: dict[str, Any]) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "M-1")
    _case(edna, "M-2")
    edna.save_extra("M-1", "redactions", TABLE)
    key_1, table_1 = _ref(tanya, "M-1", "extra:redactions")
    signed_by_edna = _plaintext(tanya, key_1, table_1)
    edna.save_extra("M-1", "pseudonyms", {"x": 1})
    edna.save_extra("M-2", "redactions", {"entries": []})

    def put(code: str, kind: str) -> None:  # her own code: edna's envelope, sealed again under a key she holds
        key, ref = _ref(tanya, code, kind)
        tanya._store.write_record(key, ref.record_id, signed_by_edna,
                                  expected_version=tanya._store.record_version(ref.record_id))

    put("M-1", "extra:pseudonyms")  # another kind of the same testimony
    with pytest.raises(IntegrityError, match="signature by 'edna' on the pseudonym table of testimony M-1 does not "
                                             "verify"):
        edna.load_extra("M-1", "pseudonyms")
    put("M-2", "extra:redactions")  # the same kind of another testimony
    with pytest.raises(IntegrityError, match="signature by 'edna' on the redaction table of testimony M-2"):
        edna.load_extra("M-2", "redactions")
    edna.save_extra("M-1", "redactions", {"entries": []})  # edna changes the table; tanya puts the old one back
    put("M-1", "extra:redactions")  # as a new version (a rollback the store cannot see)
    with pytest.raises(IntegrityError, match="signature by 'edna' on the redaction table of testimony M-1"):
        edna.load_extra("M-1", "redactions")


# --- the migration of a format-2 vault made by the version before signed records ---------------------------


@pytest.fixture()
def old_sessions(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A format-2 vault as the version before signed records made it: no "records" mark on its vault_created
    entry, unsigned records, no switch; one testimony with a redaction table, and the glossary."""
    real = vs.VaultSession._audit

    def previous_version(self: Any, action: str, *args: Any, **details: Any) -> None:
        details.pop("records", None)
        real(self, action, *args, **details)

    with monkeypatch.context() as patch:
        patch.setattr(vs.VaultSession, "_audit", previous_version)
        edna = vs.create_vault(vault_path, "edna", PASSPHRASE)
    edna.add_user("ivan", "interviewer", PASSPHRASE)
    edna.add_user("tanya", "translator", PASSPHRASE)
    _case(edna, "O-1", approve=True)
    edna.save_extra("O-1", "redactions", TABLE)
    edna.save_glossary(Glossary(keep=["Аслан"]))
    assert write_records_unsigned(edna) == 5  # testimony, recording info, processing, redactions, glossary
    edna.lock()
    checkpoint.path_in(vault_path).unlink()  # that version wrote no editors' checkpoint either
    yield {"edna": edna}


def test_a_previous_version_vault_is_migrated_at_an_editors_unlock(old_sessions: dict[str, Any],
                                                                   vault_path: Path) -> None:
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)  # a translator's unlock changes nothing
    assert tanya.load_extra("O-1", "redactions") == TABLE and not tanya._records_signed()
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)  # the editor's unlock re-signs every record
    assert edna._records_signed() and edna._catalog.current()["signed_records"] is True
    done = [e for e in edna.audit_entries() if e.action == "records_signed"]
    assert len(done) == 1 and done[0].details == {"signed": 5, "unchanged": 0, "failed": 0}, done
    key, ref = _ref(edna, "O-1", "extra:redactions")
    assert signing.open_record(_plaintext(edna, key, ref)).by == "edna"
    assert edna.load_extra("O-1", "redactions") == TABLE and edna.verify().ok, edna.verify().problems
    _write_as(tanya, "O-1", "extra:redactions", FORGED, "unsigned")  # from now on, unsigned is refused
    with pytest.raises(IntegrityError, match="The redaction table of testimony O-1 is not signed"):
        edna.load_extra("O-1", "redactions")
    edna.lock()
    again = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert [e.action for e in again.audit_entries()].count("records_signed") == 1  # once only


def test_a_switch_turned_off_by_an_insider_is_turned_on_again_and_launders_nothing(old_sessions: dict[str, Any],
                                                                                   vault_path: Path) -> None:
    vs.unlock(vault_path, "edna", PASSPHRASE).lock()  # migrated
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)
    with tanya._catalog.change() as catalog:  # her own code, with the master key: the switch off ...
        catalog["signed_records"] = False
    _write_as(tanya, "O-1", "extra:redactions", FORGED, "unsigned")  # ... and an unsigned table
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert edna._catalog.current()["signed_records"] is True
    assert [e.action for e in edna.audit_entries()].count("signed_records_restored") == 1
    with pytest.raises(IntegrityError, match="The redaction table of testimony O-1 is not signed"):
        edna.load_extra("O-1", "redactions")  # not re-signed in the editor's name


def test_a_new_vault_is_never_migrated_even_with_its_switch_turned_off(vault_sessions: dict[str, Any],
                                                                      vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "V-1")
    with tanya._catalog.change() as catalog:
        del catalog["signed_records"]
    _write_as(tanya, "V-1", "extra:redactions", FORGED, "unsigned")
    with pytest.raises(IntegrityError, match="is not signed"):
        edna.load_extra("V-1", "redactions")  # the open session: once on, stays on
    fresh = vs.unlock(vault_path, "edna", PASSPHRASE)  # the vault_created entry says: signed records
    assert fresh._records_signed()
    with pytest.raises(IntegrityError, match="is not signed"):
        fresh.load_extra("V-1", "redactions")


# --- vault upgrade from format 1, and format 1 itself ----------------------------------------------------------


def test_vault_upgrade_signs_every_record_and_pending_accounts_can_write(vault_sessions: dict[str, Any],
                                                                        vault_path: Path, tmp_path: Path) -> None:
    from tests.test_vault_signatures import upgraded_from_format_1

    edna = upgraded_from_format_1(vault_sessions, vault_path, tmp_path, "ivan", "U-1")
    actions = [e.action for e in edna.audit_entries()]
    assert actions.index("records_signed") > actions.index("vault_upgraded") > actions.index("backup")
    key, ref = _ref(edna, "U-1", "testimony")
    assert signing.open_record(_plaintext(edna, key, ref)).by == "edna" and edna._records_signed()
    ivan = vs.unlock(vault_path, "ivan", PASSPHRASE)  # converts; not certified until edna's next unlock
    ivan.save_extra("U-1", "job", {"state": "queued"})
    assert edna.load_extra("U-1", "job") == {"state": "queued"}  # his pending certificate fixes his role
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)
    _write_as(tanya, "U-1", "extra:job", {"state": "done"}, "self")
    with pytest.raises(IntegrityError, match="written by translator tanya, who may not write it"):
        edna.load_extra("U-1", "job")


def test_format_1_records_stay_unsigned_and_unchecked(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    from tests.test_vault_signatures import _make_format_1

    _case(vault_sessions["edna"], "F-1")
    _make_format_1(vault_sessions, vault_path)
    edna = vs.unlock(vault_path, "edna", PASSPHRASE)
    assert edna._root is None and not edna._records_signed() and "signed_records" not in edna._catalog.current()
    edna.save_extra("F-1", "redactions", TABLE)
    key, ref = _ref(edna, "F-1", "extra:redactions")
    assert _plaintext(edna, key, ref) == to_json(TABLE)  # plain JSON, as format 1 always wrote
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)
    _write_as(tanya, "F-1", "extra:redactions", FORGED, "unsigned")
    assert edna.load_extra("F-1", "redactions") == FORGED  # format 1: library checks only (upgrade it)
    assert edna.verify().ok


def test_a_switch_turned_off_does_not_make_other_accounts_read_unsigned_records(vault_sessions: dict[str, Any],
                                                                                vault_path: Path) -> None:
    """The editors' signed checkpoint carries the switch: a translator's or interviewer's session unlocked after
    someone turned the catalog's switch off still refuses an unsigned record, before any editor unlocks."""
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "V-2")
    edna.lock()
    with tanya._catalog.change() as catalog:
        catalog["signed_records"] = False
    _write_as(tanya, "V-2", "extra:redactions", FORGED, "unsigned")
    other = vs.unlock(vault_path, "tanya", PASSPHRASE)
    assert other._records_signed()
    with pytest.raises(IntegrityError, match="is not signed"):
        other.load_extra("V-2", "redactions")


def test_a_validly_signed_older_copy_put_back_with_its_index_entry_is_reported(vault_sessions: dict[str, Any],
                                                                               vault_path: Path) -> None:
    """The signed history records every version written: an older copy of the editor's redaction table, put back
    by a reader together with its index entry (re-authenticated with the store-root key every account holds),
    carries the editor's valid signature for its old version, but verify reports it as older than the history."""
    import shutil

    from workstation.platform.fileio import file_lock
    from workstation.vault.store import LOCK_FILE, OBJECTS_DIR, _name

    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    _case(edna, "RB-1")
    edna.save_extra("RB-1", "redactions", TABLE)
    tid, entry = edna._entry("RB-1")
    name = _name("r", rid(tid, "extra:redactions"))
    kept_file, kept_entry = vault_path.parent / f"kept-{name}", dict(edna._store._load_index().objects[name])
    shutil.copy(vault_path / OBJECTS_DIR / name, kept_file)
    edna.save_extra("RB-1", "redactions", {"entries": []})  # the editor's later version
    assert edna.verify().ok
    with file_lock(vault_path / LOCK_FILE):  # the translator's own code puts the older copy back
        shutil.move(kept_file, vault_path / OBJECTS_DIR / name)
        index = tanya._store._begin_write()
        index.objects[name] = kept_entry
        tanya._store._save_index(index)
    assert edna.load_extra("RB-1", "redactions") == TABLE  # a read cannot tell (the limit the docs state) ...
    problems = edna.verify().problems  # ... the signed history can
    assert any("RB-1" in p and "extra:redactions record is version 1" in p and "records version 2" in p
               for p in problems), problems
