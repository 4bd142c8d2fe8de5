"""Testimony details: metadata and consent seen and corrected after creation, and the consent-withdrawn shred
(editors, confirmed by typing the case code); the same service for both shells."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_ui import add_testimony, assert_no_exception, make_segments, open_app, texts
from workstation.services import testimonies
from workstation.services.testimonies import ShredConfirmationError
from workstation.vault.permissions import PermissionDeniedError
from workstation.vault.session import NotFoundError


@pytest.fixture()
def case(ui_users: dict[str, Any], ui_clip: Any) -> str:
    add_testimony(ui_users["ivan"], "IV-9", ui_clip, None)
    return "IV-9"


def test_details_show_consent_and_the_sealed_original_and_save_changes(ui_users: dict[str, Any], case: str) -> None:
    ivan = ui_users["ivan"]
    at = open_app(ivan, "page_testimony.py")
    assert_no_exception(at)
    page = texts(at)
    assert "recording sealed, not processed" in page and "ingested" not in page
    assert "Sealed original:" in page and "sha256" in page
    assert at.text_area(key=f"meta_{case}_consent_scope").value == "documentation"
    at.text_area(key=f"meta_{case}_consent_scope").input("documentation; publication under a pseudonym")
    at.selectbox(key=f"meta_{case}_sensitivity").select("very high")
    at.button(key="details_save").click().run()  # a form: what was typed goes with the submit
    assert_no_exception(at)
    meta = ivan.load(case).meta
    assert meta.consent_scope == "documentation; publication under a pseudonym" and meta.sensitivity == "very high"
    entry = [e for e in ui_users["edna"].audit_entries() if e.action == "metadata_edited"][-1]
    assert "pseudonym" not in str(entry.details)  # field names only
    assert not [e for e in at.expander if "shred" in str(e.label).lower()]  # interviewers do not shred


def test_a_translator_reads_the_details_but_cannot_change_them(ui_users: dict[str, Any], case: str) -> None:
    tanya = ui_users["tanya"]
    at = open_app(tanya, "page_testimony.py")
    assert_no_exception(at)
    assert at.text_area(key=f"meta_{case}_consent_scope").disabled
    assert "Only the interviewer who created this testimony and editors" in texts(at)
    with pytest.raises(PermissionDeniedError):
        testimonies.update_meta(tanya, case, {"notes": "x"})


def test_shred_needs_the_case_code_typed_back(ui_users: dict[str, Any], case: str) -> None:
    edna = ui_users["edna"]
    at = open_app(edna, "page_testimony.py")
    at.text_input(key=f"shred_confirm_{case}").input("IV-").run()
    at.button(key="shred_go").click().run()
    assert "Type the case code IV-9 exactly" in texts(at)
    assert edna.load(case).case_code == case  # nothing destroyed
    at.text_input(key=f"shred_confirm_{case}").input("IV-9").run()
    at.button(key="shred_go").click().run()
    assert_no_exception(at)
    assert "shredded: it cannot be recovered" in texts(at)
    with pytest.raises(NotFoundError):
        edna.load(case)
    assert [e for e in edna.audit_entries() if e.action == "shred"]


def test_the_service_refuses_what_the_forms_cannot_send(ui_users: dict[str, Any], case: str) -> None:
    edna = ui_users["edna"]
    with pytest.raises(ShredConfirmationError):
        testimonies.shred(edna, case, "")
    with pytest.raises(PermissionDeniedError):
        testimonies.shred(ui_users["ivan"], case, case)
    with pytest.raises(Exception, match="case code never changes"):
        testimonies.update_meta(edna, case, {"case_code": "OTHER"})
    with pytest.raises(Exception, match="Sensitivity is one of"):
        testimonies.update_meta(edna, case, {"sensitivity": "extreme"})


def test_home_lists_in_human_words_and_opens_the_details(ui_users: dict[str, Any], case: str, ui_clip: Any) -> None:
    add_testimony(ui_users["edna"], "ED-1", ui_clip, make_segments(2))
    at = open_app(ui_users["edna"])
    page = texts(at)
    assert "recording sealed, not processed" in page and "draft, in review" in page
    assert "0 of 2 segments reviewed" in page
    at.button(key="details_IV-9").click().run()
    assert_no_exception(at)
    assert at.text_area(key="meta_IV-9_consent_scope").value == "documentation"
