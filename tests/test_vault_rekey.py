"""Removing an account re-keys every testimony it could read (vault format 2, issue 10: "removing a user
rotates what that user could reach"): what is written afterwards is under a key the removed person never held,
and everything written before stays readable by the remaining readers without re-encrypting anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE
from tests.test_vault_attacks import FAKE_AUDIO, _case
from workstation.vault import session as vs
from workstation.vault.errors import IntegrityError
from workstation.vault.records import Records
from workstation.vault.store import Store


def _with_kept_key(vault: Path, audit_key: bytes, key: bytes) -> Records:
    """What a removed reader can still do: the vault files, and the keys they copied while they had access."""
    store = Store(vault)
    store.set_root_key(audit_key, required=True)
    return Records(store, lambda _tid, _entry: key)


def removed_with_kept_key(sessions: dict[str, Any], vault: Path, code: str) -> tuple[str, dict[str, Any], Records]:
    """Ivan's testimony ``code``; translator tanya copies its key (and the audit key) and is then removed:
    (tid, the entry as she kept it, her Records with the kept key)."""
    _case(sessions["ivan"], code)
    tanya = sessions["tanya"]
    tid, entry = tanya._entry(code)
    kept = _with_kept_key(vault, tanya._catalog.audit_key(), tanya._records.key_of(tid, entry))
    assert kept.load_testimony(tid, entry)[0].case_code == code  # while she was a reader
    tanya.lock()
    sessions["edna"].remove_user("tanya")
    return tid, dict(entry), kept


def test_a_removed_translator_cannot_read_what_is_written_after_her_removal(vault_sessions: dict[str, Any],
                                                                            vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    tid, kept_entry, kept = removed_with_kept_key(vault_sessions, vault_path, "K-1")
    ivan = vs.unlock(vault_path, "ivan", PASSPHRASE)
    ivan.update_meta("K-1", notes="the witness asked for a second interview")  # written after the removal
    with pytest.raises(IntegrityError, match="fails authentication"):
        kept.load_testimony(tid, kept_entry)
    # everything written before the removal is still there for the remaining readers, nothing re-encrypted
    assert ivan.load("K-1").meta.notes == "the witness asked for a second interview"
    assert ivan.read_recording("K-1") == FAKE_AUDIO
    assert edna.verify().ok, edna.verify().problems


def test_repeated_removals_keep_every_earlier_record_readable_also_for_readers_added_later(
        vault_sessions: dict[str, Any], vault_path: Path) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    _case(ivan, "K-2", approve=False)
    edna.save_extra("K-2", "redactions", {"version": 1, "names": []})  # an extra written under the first key
    edna.add_user("tara", "translator", PASSPHRASE)
    keys = [edna._records.key_of(*edna._entry("K-2"))]
    for name in ("inna", "tanya", "tara"):  # inna is an interviewer who never read K-2: no new key for her
        if name in vault_sessions:
            vault_sessions[name].lock()
        edna.remove_user(name)
        keys.append(edna._records.key_of(*edna._entry("K-2")))
    assert keys[0] == keys[1] and len(set(keys)) == 3
    edna.add_user("tom", "translator", PASSPHRASE)
    tom = vs.unlock(vault_path, "tom", PASSPHRASE)
    assert tom.load("K-2").segments[0].ru == "Меня зовут Аслан."
    assert tom.load_extra("K-2", "redactions") == {"version": 1, "names": []}
    assert tom.read_recording("K-2") == FAKE_AUDIO
    assert len(edna._testimony_keys(*edna._entry("K-2"))) == 3  # current, then the two earlier keys
    assert edna.verify().ok, edna.verify().problems


def test_an_interviewers_own_testimony_is_rekeyed_when_he_is_removed(vault_sessions: dict[str, Any],
                                                                     vault_path: Path) -> None:
    edna, ivan = vault_sessions["edna"], vault_sessions["ivan"]
    _case(ivan, "K-3", approve=False)
    tid, entry = ivan._entry("K-3")
    old = ivan._records.key_of(tid, entry)
    ivan.lock()
    edna.remove_user("ivan")
    tid, entry = edna._entry("K-3")
    assert "ivan" not in entry["wraps"] and edna._records.key_of(tid, entry) != old
    edna.approve("K-3")
    assert edna.verify().ok, edna.verify().problems


def test_earlier_keys_altered_in_the_catalog_are_refused_clearly(vault_sessions: dict[str, Any]) -> None:
    edna, ivan, inna = vault_sessions["edna"], vault_sessions["ivan"], vault_sessions["inna"]
    _case(ivan, "K-4", approve=False)
    vault_sessions["tanya"].lock()
    edna.remove_user("tanya")
    inna = vs.unlock(edna.path, "inna", PASSPHRASE)  # an interviewer holding the (new) master key
    with inna._catalog.change() as catalog:
        tid = next(t for t, e in catalog["testimonies"].items() if e["case"] == "K-4")
        prior = catalog["testimonies"][tid]["prior"]
        catalog["testimonies"][tid]["prior"] = prior[:-4] + ("AAA=" if not prior.endswith("AAA=") else "BBB=")
    with pytest.raises(IntegrityError, match="earlier keys of testimony K-4 fail authentication"):
        edna.load("K-4")
    assert any("earlier keys of testimony K-4" in p for p in edna.verify().problems)
