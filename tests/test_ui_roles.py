"""Each role sees only its pages and actions; interviewers see only their own testimonies."""

from __future__ import annotations

import pytest

from tests.fixtures_ui import add_testimony, assert_no_exception, make_segments, open_app, texts
from workstation.ui.nav import PAGES, allowed_pages
from workstation.vault.permissions import PermissionDeniedError


def _nav_titles(at) -> set[str]:
    """Titles of the pages registered by st.navigation in the last run."""
    return {str(info.get("page_name") or "") for info in at._registered_pages.values()} | {
        str(info.get("url_pathname") or "") for info in at._registered_pages.values()
    }


@pytest.mark.parametrize(
    ("user", "present", "absent"),
    [
        ("tanya", {"review", "glossary"}, {"approval", "export", "users", "audit", "verify", "new"}),
        ("ivan", {"new", "processing", "review"}, {"approval", "export", "users", "audit", "verify", "glossary"}),
        ("edna", {"approval", "export", "users", "audit", "verify", "new", "review", "glossary"}, set()),
    ],
)
@pytest.mark.slow
def test_navigation_offers_only_the_pages_of_the_role(ui_users, user, present, absent) -> None:
    at = open_app(ui_users[user])
    assert_no_exception(at)
    shown = _nav_titles(at)
    assert present <= shown, shown
    assert not (absent & shown), shown


@pytest.mark.slow
def test_translator_cannot_reach_approval_even_by_address(ui_users) -> None:
    at = open_app(ui_users["tanya"])
    with pytest.raises(ValueError):
        at.switch_page("page_approval.py")  # Streamlit: not a registered page for this role
    # and the library refuses the action itself
    add_testimony(ui_users["edna"], "CASE-A", _clip(), make_segments(2))
    with pytest.raises(PermissionDeniedError):
        ui_users["tanya"].approve("CASE-A")


def _clip():
    from tests.conftest import EVAL_ASR
    from tests.fixtures_ui import clip_path

    return clip_path(EVAL_ASR)


@pytest.mark.slow
def test_interviewer_sees_only_own_testimonies_and_reads_them_read_only(ui_users) -> None:
    add_testimony(ui_users["ivan"], "IVAN-1", _clip(), None)
    add_testimony(ui_users["inna"], "INNA-1", _clip(), None)
    from tests.fixtures_ui import store_result

    store_result(ui_users["edna"], "IVAN-1", make_segments(3))
    store_result(ui_users["edna"], "INNA-1", make_segments(3))
    at = open_app(ui_users["ivan"])
    assert_no_exception(at)
    page = texts(at)
    assert "IVAN-1" in page and "INNA-1" not in page
    at.switch_page("page_review.py").run()
    assert_no_exception(at)
    assert at.selectbox(key="case_picker").options == ["IVAN-1"]
    assert not [b for b in at.button if b.key and b.key.startswith("edit_")]  # no editing for interviewers
    assert not at.checkbox  # nor marking reviewed
    editor_view = open_app(ui_users["edna"])
    assert "IVAN-1" in texts(editor_view) and "INNA-1" in texts(editor_view)


def test_every_page_action_is_a_library_action() -> None:
    from workstation.vault.permissions import Action

    for spec in PAGES:
        Action(spec.action)  # a typo would hide (or show) a page by accident
    assert len({p.file for p in PAGES}) == len(PAGES)
    assert [p.file for p in allowed_pages("translator")] == [
        "page_home.py", "page_testimony.py", "page_processing.py", "page_review.py", "page_glossary.py",
        "page_account.py"]
