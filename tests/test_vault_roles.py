"""The permission matrix of DESIGN.md, enforced by the library (not only by the UI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workstation.domain.glossary import Glossary
from workstation.domain.testimony import Segment, TestimonyMeta, edit_segment, set_reviewed
from workstation.services import intake
from workstation.vault import accounts, permissions
from workstation.vault.accounts import WeakPassphraseError
from workstation.vault.permissions import Action, PermissionDeniedError, Role

# Written out by hand from DESIGN.md ("Who uses it, for what"), independently of permissions.PERMISSIONS.
I, T, E = Role.INTERVIEWER, Role.TRANSLATOR, Role.EDITOR  # noqa: E741  (the matrix reads like DESIGN.md's table)
EXPECTED = {
    Action.CREATE: {I, E},
    Action.INGEST: {I, E},
    Action.PROCESS: {I, E},
    Action.VIEW: {I, T, E},
    Action.EDIT_METADATA: {I, E},
    Action.EDIT: {T, E},
    Action.GLOSSARY: {T, E},
    Action.APPROVE: {E},
    Action.EXPORT: {E},
    Action.MANAGE_USERS: {E},
    Action.AUDIT: {E},
    Action.VERIFY: {E},
    Action.BACKUP: {E},
    Action.SHRED: {E},
    Action.REDACT: {E},
    Action.WRITE_RECORD: {E},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_matrix_every_role_and_action(role: Role, action: Action) -> None:
    allowed = role in EXPECTED[action]
    assert permissions.can(role, action) is allowed
    if allowed:
        permissions.require(role, action)
    else:
        with pytest.raises(PermissionDeniedError, match=role.value):
            permissions.require(role, action)


def test_interviewer_reads_only_own() -> None:
    assert permissions.can_read("interviewer", "ivan", "ivan")
    assert not permissions.can_read("interviewer", "ivan", "inna")
    assert permissions.can_read("translator", "tanya", "inna")
    assert permissions.can_read("editor", "edna", "inna")
    with pytest.raises(PermissionDeniedError, match="created by another interviewer"):
        permissions.require_access("interviewer", "ivan", "inna", Action.VIEW, "CASE-1")


def _draft(s: Any, case: str) -> None:
    from workstation.speech.pipeline import PipelineResult

    s.create_testimony(TestimonyMeta(case_code=case))
    segs = [Segment(0.0, 1.0, "раз"), Segment(1.0, 2.0, "два")]
    s.store_processing_result(case, PipelineResult(segments=segs, language="ru", language_probability=1.0,
                                                   duration_s=2.0, warnings=[], models={"asr": "test"}))


@pytest.mark.slow
def test_session_enforces_the_matrix(vault_sessions: dict[str, Any], tmp_path: Path) -> None:
    edna, ivan, inna, tanya = (vault_sessions[n] for n in ("edna", "ivan", "inna", "tanya"))
    _draft(ivan, "IV-1")
    _draft(inna, "IN-1")

    # interviewers: own testimonies only, no transcript edits, nothing editorial
    assert [t.case_code for t in ivan.list_testimonies()] == ["IV-1"]
    ivan.load("IV-1")
    with pytest.raises(PermissionDeniedError):
        ivan.load("IN-1")
    with pytest.raises(PermissionDeniedError):
        ivan.load_extra("IN-1", "processing")
    seg = ivan.load("IV-1").segments[0]
    with pytest.raises(PermissionDeniedError):
        ivan.update("IV-1", lambda t: edit_segment(t, seg.id, "ru", "x", base_revision=0, user="ivan"), action="edit")
    with pytest.raises(PermissionDeniedError):  # the check follows what changed, not the action's name
        ivan.update("IV-1", lambda t: set_reviewed(t, seg.id, True, base_revision=0, user="ivan"), action="metadata")
    ivan.update_meta("IV-1", notes="consent confirmed by phone")  # own metadata: allowed
    with pytest.raises(PermissionDeniedError):
        inna.update_meta("IV-1", notes="x")
    with pytest.raises(PermissionDeniedError):  # uploading into, or processing, someone else's testimony
        intake.seal_recording(inna, "IV-1", b"RIFF", "a.wav")
    with pytest.raises(PermissionDeniedError):
        inna.store_processing_result("IV-1", None)
    for call in (lambda: ivan.approve("IV-1"), lambda: ivan.shred("IV-1"), ivan.audit_entries, ivan.verify,
                 lambda: ivan.backup(tmp_path / "b"), lambda: ivan.add_user("zed", "editor", "lamp orbit cedar violin"),
                 lambda: ivan.remove_user("tanya"), lambda: ivan.save_glossary(Glossary())):
        with pytest.raises(PermissionDeniedError):
            call()

    # translators: read all, edit, glossary; no create, approve, users
    assert {t.case_code for t in tanya.list_testimonies()} == {"IV-1", "IN-1"}
    tanya.update("IN-1", lambda t: edit_segment(t, t.segments[0].id, "en", "one", base_revision=0, user="tanya"),
                 action="edit")
    tanya.save_glossary(Glossary(terms={"раз": "one"}))
    for call in (lambda: tanya.create_testimony(TestimonyMeta(case_code="T-1")), lambda: tanya.approve("IN-1"),
                 lambda: tanya.unapprove("IN-1", "why"), lambda: tanya.shred("IN-1"), tanya.audit_entries,
                 lambda: intake.seal_recording(tanya, "IN-1", b"RIFF", "a.wav"), lambda: tanya.update_meta("IN-1", notes="x")):
        with pytest.raises(PermissionDeniedError):
            call()
    # approving through update() with a harmless-looking action name is still an approval
    from workstation.domain import testimony as tm

    def review_all(t: Any) -> None:
        for s in t.segments:
            tm.set_reviewed(t, s.id, True, base_revision=s.revision, user="tanya")

    tanya.update("IN-1", review_all, action="reviewed")
    with pytest.raises(PermissionDeniedError):
        tanya.update("IN-1", lambda t: tm.approve(t, user="tanya"), action="edit")
    assert tanya.load("IN-1").approval is None

    # editors: everything
    edna.approve("IN-1")
    assert edna.load("IN-1").approval is not None
    edna.unapprove("IN-1", "a correction is needed")
    assert edna.audit_entries()
    assert edna.verify().problems == []


@pytest.mark.parametrize("weak", [
    "short", "aaaaaaaaaaaaaaaa", "123456789012345", "passwordpassword", "password password", "qwertyuiop12",
    "abababababababab",
])
def test_weak_passphrases_refused_with_advice(weak: str) -> None:
    with pytest.raises(WeakPassphraseError, match="4 or more random words"):
        accounts.check_passphrase(weak)


@pytest.mark.parametrize("good", ["lamp orbit cedar violin", "correct horse battery staple", "Tr0ub4dor&3-xyzzy",
                                  "нева карта лось гром"])
def test_reasonable_passphrases_accepted(good: str) -> None:
    accounts.check_passphrase(good)


def test_weak_passphrase_refused_by_the_session(vault_editor: Any) -> None:
    with pytest.raises(WeakPassphraseError):
        vault_editor.add_user("ivan", "interviewer", "ivan12345678")
    assert [u.name for u in vault_editor.list_users()] == ["edna"]
