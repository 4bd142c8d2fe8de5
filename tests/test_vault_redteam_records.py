"""The second red-team review (signed records, the signed-records switch, re-keying at removal, planted catalog
values) as regression tests: each attack, done with an insider's own keys, a removed account's kept keys or the
disk, must fail with a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE
from tests.test_vault_attacks import _case
from workstation.vault import checkpoint, signing
from workstation.vault import session as vs
from workstation.vault.errors import IntegrityError
from workstation.vault.layout import to_json
from workstation.vault.records import Records, record_ref
from workstation.vault.store import Store


def _store_with_root(vault: Path, audit_key: bytes) -> Store:
    store = Store(vault)
    store.set_root_key(audit_key, required=True)
    return store


def _set_gen(store: Store, gen: int) -> int:
    """Set the index's generation counter (re-authenticated with the store-root key every account holds)."""
    index = store._load_index().copy()
    old, index.gen = index.gen, gen
    store._save_index(index)
    return old


# --- 3. re-keying: the earlier-key generation bound is chosen by whoever writes the object --------------------


def test_a_removed_translator_cannot_add_a_record_under_her_kept_key_by_forging_its_generation(vault_sessions: dict[str, Any],
                                                                          vault_path: Path) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    _case(ivan, "G-1")
    tid, entry = tanya._entry("G-1")
    kept_key, audit_key, kept_entry = tanya._records.key_of(tid, entry), tanya._catalog.audit_key(), dict(entry)
    kept_signer = tanya._catalog.signer()
    assert kept_signer is not None
    tanya.lock()
    assert edna.remove_user("tanya") == 1  # G-1 re-keyed: what she writes under the old key must be refused
    store = _store_with_root(vault_path, audit_key)  # disk + kept keys, no master key any more
    t, _version = Records(store, lambda _t, _e: kept_key).load_testimony(tid, kept_entry)
    t.segments[0].en = "My name is somebody else."
    body, ref = to_json(t.to_dict()), record_ref(tid, kept_entry, "testimony")
    real_gen = _set_gen(store, 0)  # the next object gets generation 1: far below the retirement bound
    store.write_record(kept_key, ref.record_id, lambda v: signing.seal_record(body, ref.record_id, ref.kind, v,
                                                                              "tanya", kept_signer),
                       expected_version=store.record_version(ref.record_id))
    _set_gen(store, real_gen)
    editor = vs.unlock(vault_path, "edna", PASSPHRASE)
    with pytest.raises(IntegrityError, match="retired when an account was removed"):
        editor.load("G-1")  # not in what existed under the old key when it was retired, whatever its header says
    assert any("G-1" in p and "retired" in p for p in editor.verify().problems)


# --- 2. the migration: an editor's unlock signs (launders) a translator's unsigned record --------------------


def test_an_editors_unlock_never_launders_an_unsigned_record_behind_a_cut_history(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    _case(ivan, "L-1")
    edna.lock()
    tid, entry = tanya._entry("L-1")
    key, ref = tanya._records.key_of(tid, entry), record_ref(tid, entry, "extra:redactions")
    with tanya._catalog.change() as catalog:  # master key: the extra's name, and the catalog's switch off
        catalog["testimonies"][tid]["extras"].append("redactions")
        catalog["signed_records"] = False
    forged = {"names": [], "note": "nothing to redact"}  # only an editor may write it
    tanya._store.write_record(key, ref.record_id, to_json(forged), expected_version=0)  # unsigned
    checkpoint.path_in(vault_path).unlink()  # the switch in the signed checkpoint goes with it
    log = vault_path / "audit" / "log"
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(lines[1:]))  # line 1 = the editor-signed vault_created {records: signed}
    tanya.lock()
    editor = vs.unlock(vault_path, "edna", PASSPHRASE)  # the history does not verify: nothing is signed
    with pytest.raises(IntegrityError, match="is not signed"):
        editor.load_extra("L-1", "redactions")
    actions = [e.action for e in editor._log().entries(strict=False)]
    assert "signed_records_restored" in actions and "records_signed" not in actions


# --- 4. a planted catalog value: raw traceback, every editor locked out ---------------------------------------


def test_a_planted_non_account_entry_is_a_clear_error_not_a_lock_out(vault_sessions: dict[str, Any],
                                                                           vault_path: Path) -> None:
    edna, tanya = vault_sessions["edna"], vault_sessions["tanya"]
    edna.lock()
    with tanya._catalog.change() as catalog:
        catalog["accounts"]["zz"] = "ed25519"  # a string: `"ed25519" in e` is a substring test
    for name in ("edna", "ivan"):  # as a catalog that fails authentication: one clear sentence, restore a backup
        with pytest.raises(IntegrityError, match="catalog is damaged.*restore it from a backup"):
            vs.unlock(vault_path, name, PASSPHRASE)


def test_a_signed_record_with_a_body_the_program_never_writes_is_a_clear_error(vault_sessions: dict[str, Any]) -> None:
    edna, ivan, tanya = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["tanya"]
    _case(ivan, "J-1")
    tid, entry = tanya._entry("J-1")
    ref = record_ref(tid, entry, "testimony")  # a translator may write it: her signature is valid
    tanya._records._write_body(tanya._records.key_of(tid, entry), ref, b"\xff not json",
                               tanya._store.record_version(ref.record_id))
    with pytest.raises(IntegrityError, match="not a readable record"):
        edna.list_testimonies()
    tanya._records._write_body(tanya._records.key_of(tid, entry), ref, json.dumps([]).encode(),
                               tanya._store.record_version(ref.record_id))
    with pytest.raises(IntegrityError, match="not a testimony the program wrote"):
        edna.list_testimonies()


# --- 1. the pending-account path: a removed, never-certified account, put back with a key the insider chose ------


def test_a_removed_pending_account_put_back_signs_nothing_that_counts(vault_sessions: dict[str, Any],
                                                                      vault_path: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.test_vault_signatures import upgraded_from_format_1
    from workstation.vault.layout import b64

    edna = upgraded_from_format_1(vault_sessions, vault_path, tmp_path, "inna", "P-1")
    edna.remove_user("inna")  # still pending (never unlocked since the upgrade): an editor's signed revocation
    tanya = vs.unlock(vault_path, "tanya", PASSPHRASE)
    evil = Ed25519PrivateKey.generate()
    with tanya._catalog.change() as catalog:  # master key: inna's pending entry back, with HER signing key
        entry = catalog["former"].pop("inna")
        catalog["accounts"]["inna"] = {**entry, "ed25519": b64(signing.raw_public(evil))}
    tid, entry = tanya._entry("P-1")
    ref = record_ref(tid, entry, "recording-info")  # a translator may not write it; its interviewer may
    info = {"sha256": "0" * 64, "size": 1, "duration_s": 1.0, "container": "wav"}
    tanya._store.write_record(tanya._records.key_of(tid, entry), ref.record_id,
                              lambda v: signing.seal_record(to_json(info), ref.record_id, ref.kind, v, "inna", evil),
                              expected_version=tanya._store.record_version(ref.record_id))
    editor = vs.unlock(vault_path, "edna", PASSPHRASE)
    with pytest.raises(IntegrityError, match="signed by 'inna', who is not an account of this vault"):
        editor.recording_info("P-1")
