"""Editor pages: approval (only when all reviewed, content hash, lock, un-approve with a reason), export,
users, audit log with filters, verify vault, glossary; and the translator's glossary editing."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.fixtures_ui import PASSPHRASE, add_testimony, assert_no_exception, make_segments, open_app, texts
from workstation.domain.testimony import content_hash, set_reviewed
from workstation.vault.accounts import UnknownUserError


@pytest.fixture()
def case(ui_users, ui_clip):
    add_testimony(ui_users["edna"], "CASE-E", ui_clip, make_segments(3))
    return "CASE-E"


def _review_all(sess, case: str) -> None:
    sess.update(case, lambda t: [set_reviewed(t, s.id, True, base_revision=s.revision, user=sess.user) for s in t.segments],
                action="set_reviewed")


@pytest.mark.slow
def test_approval_needs_every_segment_reviewed_then_locks_with_the_hash(ui_users, case) -> None:
    edna = ui_users["edna"]
    at = open_app(edna, "page_approval.py")
    assert_no_exception(at)
    page = texts(at)
    assert "Not ready to approve" in page and "3 segment(s) not marked reviewed: #1 at 00:00" in page
    summary = {m.label: m.value for m in at.metric}  # the summary before the click
    assert summary["Machine English"] == "3" and summary["Speakers"] == "1" and summary["Redactions undecided"] == "0"
    at.button(key="approve").click().run()  # the library's checks refuse it, and say why
    assert_no_exception(at)
    assert "cannot be approved yet" in texts(at) and str(edna.load(case).status) == "draft"
    _review_all(ui_users["tanya"], case)
    at.run()
    assert "Every segment is reviewed" in texts(at)
    at.button(key="approve").click().run()
    assert_no_exception(at)
    t = edna.load(case)
    assert str(t.status) == "approved" and t.approval.content_hash == content_hash(t)
    assert t.approval.content_hash in texts(at)
    assert "T" not in texts(at).split("Approved by")[1].split(".")[0]  # a human date, not an ISO timestamp
    # un-approving needs a reason
    at.button(key="unapprove").click().run()
    assert str(edna.load(case).status) == "approved" and "needs a reason" in texts(at)
    at.text_input(key=f"unapprove_reason_{case}").input("witness asked for a correction").run()
    at.button(key="unapprove").click().run()
    assert_no_exception(at)
    assert str(edna.load(case).status) == "draft"


@pytest.mark.slow
def test_approval_override_needs_a_reason_and_keeps_it_out_of_the_audit_log(ui_users, case) -> None:
    edna = ui_users["edna"]
    at = open_app(edna, "page_approval.py")
    at.button(key="approve_override").click().run()  # no reason yet
    assert "needs a written reason" in texts(at) and str(edna.load(case).status) == "draft"
    reason = "Свидетель просит опубликовать до заседания"
    at.text_area(key="override_reason_CASE-E").input(reason).run()
    at.button(key="approve_override").click().run()
    assert_no_exception(at)
    assert "approved despite 3 open problem(s)" in texts(at)
    assert str(edna.load(case).status) == "approved"
    entry = [e for e in edna.audit_entries() if e.action == "approved"][-1]
    assert entry.details.get("override") is True and reason not in str(entry.details)
    assert reason in texts(at)  # the approval history shows the reason to editors


@pytest.mark.slow
def test_export_only_when_asked_drafts_marked_and_encrypted_on_request(ui_users, case) -> None:
    from workstation.evidence.package import decrypt_package

    edna = ui_users["edna"]
    at = open_app(edna, "page_export.py")
    assert_no_exception(at)
    assert not at.get("download_button")  # nothing is rendered until asked
    assert at.button(key="export_prepare").disabled  # not approved: only as an explicit draft
    at.checkbox(key="export_draft").check()
    at.multiselect(key="export_formats").set_value(["txt", "json"]).run()
    at.button(key="export_prepare").click().run()
    assert_no_exception(at)
    download = at.get("download_button")
    assert download
    ready = at.session_state["decrypted_cache"]["export_prepared"][1]
    name, data = ready.name, ready.data
    assert name == "CASE-E_export.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        txt = zf.read(next(n for n in names if n.endswith(".txt"))).decode()
    assert "manifest.json" in names and "English draft 1" in txt and "DRAFT" in txt
    assert any(e.action == "exported" for e in edna.audit_entries())
    # encrypted on request: the passphrase field is emptied, the package opens only with it
    at.checkbox(key="export_encrypt").check().run()
    at.text_input(key="export_pass").input("amber falcon 9 rivers").run()
    at.button(key="export_prepare").click().run()
    assert_no_exception(at)
    assert at.session_state["export_pass"] == ""
    ready = at.session_state["decrypted_cache"]["export_prepared"][1]
    name, data = ready.name, ready.data
    assert name.endswith(".twx") and b"English draft" not in data
    with zipfile.ZipFile(io.BytesIO(decrypt_package(io.BytesIO(data), "amber falcon 9 rivers"))) as zf:
        assert "manifest.json" in zf.namelist()


@pytest.mark.slow
def test_users_page_adds_a_user_who_can_then_unlock(ui_users) -> None:
    from workstation.vault import session as vault

    at = open_app(ui_users["edna"], "page_users.py")
    assert_no_exception(at)
    assert "tanya" in texts(at)
    form = [t for t in at.text_input]
    form[0].input("olga")
    at.selectbox[0].select("translator")
    form[1].input(PASSPHRASE)
    form[2].input(PASSPHRASE)
    at.button(key="add_user_btn").click().run()
    assert_no_exception(at)
    assert str(vault.unlock(ui_users["edna"].path, "olga", PASSPHRASE).role) == "translator"
    # removing asks once more, then the old passphrase opens nothing
    at.button(key="rm_inna").click().run()
    assert "inna" in [u.name for u in ui_users["edna"].list_users()]
    at.button(key="rm2_inna").click().run()
    assert_no_exception(at)
    assert "inna" not in [u.name for u in ui_users["edna"].list_users()]
    with pytest.raises(UnknownUserError):
        vault.unlock(ui_users["edna"].path, "inna", PASSPHRASE)


@pytest.mark.slow
def test_audit_log_lists_actions_without_content_and_filters(ui_users, case) -> None:
    _review_all(ui_users["tanya"], case)
    at = open_app(ui_users["edna"], "page_audit.py")
    assert_no_exception(at)
    rows = at.dataframe[0].value
    assert len(rows) > 3
    assert "English draft" not in rows.to_string()  # never content
    at.multiselect[0].set_value(["tanya"]).run()
    rows = at.dataframe[0].value
    assert len(rows) >= 1 and set(rows["User"]) == {"tanya"}
    assert "T" not in str(rows["When"].iloc[0])[:12]  # "2 December 2026, 05:18:52", not an ISO timestamp


@pytest.mark.slow
def test_verify_vault_reports_intact(ui_users, case) -> None:
    at = open_app(ui_users["edna"], "page_verify.py")
    at.button(key="verify").click().run(timeout=120)
    assert_no_exception(at)
    assert "intact" in texts(at), texts(at)


@pytest.mark.slow
def test_translator_edits_the_glossary(ui_users) -> None:
    tanya = ui_users["tanya"]
    at = open_app(tanya, "page_glossary.py")
    assert_no_exception(at)
    at.text_area[0].input("Кадыров")  # keep as written (form widgets are sent with the submit)
    at.button(key="gl_save").click().run()
    assert_no_exception(at)
    assert tanya.load_glossary().keep == ["Кадыров"]


@pytest.mark.slow
def test_home_lists_testimonies_and_opens_one_in_review(ui_users, case) -> None:
    at = open_app(ui_users["tanya"])
    assert_no_exception(at)
    assert "CASE-E" in texts(at) and "0 of 3 segments reviewed" in texts(at)
    at.button(key="open_CASE-E").click().run()
    assert_no_exception(at)
    assert "Review" in [t.value for t in at.title]
    assert at.selectbox(key="case_picker").value == "CASE-E"


@pytest.mark.slow
def test_account_page_changes_the_passphrase(ui_users) -> None:
    from workstation.vault import session as vault

    at = open_app(ui_users["tanya"], "page_account.py")
    new = "violet anchor 42 meadow"
    inputs = at.text_input
    inputs[0].input("wrong old passphrase")
    inputs[1].input(new)
    inputs[2].input(new)
    at.button(key="pass_btn").click().run()
    assert_no_exception(at)
    assert at.error  # the wrong current passphrase is refused with a message
    inputs = at.text_input
    inputs[0].input(PASSPHRASE)
    inputs[1].input(new)
    inputs[2].input(new)
    at.button(key="pass_btn").click().run()
    assert_no_exception(at)
    assert "Passphrase changed" in texts(at)
    assert vault.unlock(ui_users["tanya"].path, "tanya", new).user == "tanya"


@pytest.mark.slow
def test_redactions_decided_on_the_export_page_reach_the_export(ui_users, ui_clip) -> None:
    from workstation.domain.testimony import EnglishRoute, Segment

    edna = ui_users["edna"]
    segs = [Segment(0.0, 1.5, "Меня задержал Ахмед Кадыров в Грозном.", "Akhmed Kadyrov detained me in Grozny.",
                    en_route=EnglishRoute.HUMAN),
            Segment(1.5, 3.0, "Потом Ахмеда я больше не видел.", "I never saw Akhmed again.", en_route=EnglishRoute.HUMAN)]
    add_testimony(edna, "CASE-X", ui_clip, segs)
    at = open_app(edna, "page_export.py")
    at.toggle(key="redact_review").set_value(True).run()
    assert_no_exception(at)
    accept = [b for b in at.button if b.key and b.key.startswith("redact_ok_")]
    assert accept, texts(at)  # natasha found the names
    at.checkbox(key="export_draft").check()
    at.checkbox(key="export_redact").check()
    at.multiselect(key="export_formats").set_value(["txt"]).run()
    at.button(key="export_prepare").click().run()
    assert "undecided" in texts(at)  # a redacted export refuses undecided suggestions, with a clear message
    assert "export_prepared" not in at.session_state["decrypted_cache"]
    for key in [b.key for b in at.button if b.key and b.key.startswith("redact_ok_")]:
        at.button(key=key).click().run()
        assert_no_exception(at)
    at.button(key="export_prepare").click().run()
    assert_no_exception(at)
    data = at.session_state["decrypted_cache"]["export_prepared"][1].data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        txt = zf.read(next(n for n in zf.namelist() if n.endswith(".txt"))).decode()
    assert "Ахмед" not in txt and "Akhmed" not in txt and "Witness A" in txt


@pytest.mark.slow
def test_the_export_page_shows_mentions_doubts_and_a_preview(ui_users, ui_clip) -> None:
    from workstation.domain.testimony import EnglishRoute, Segment

    edna = ui_users["edna"]
    segs = [Segment(0.0, 1.5, "Меня допрашивал Михаил Муродиан.", "I was interrogated by Michaela Murodian.",
                    en_route=EnglishRoute.ARGOS),
            Segment(1.5, 3.0, "Я видел Михаила.", "I saw him.", en_route=EnglishRoute.ARGOS)]
    add_testimony(edna, "CASE-M", ui_clip, segs)
    at = open_app(edna, "page_export.py")
    at.toggle(key="redact_review").set_value(True).run()
    for key in [b.key for b in at.button if b.key and b.key.startswith("redact_ok_")]:
        at.button(key=key).click().run()
    assert_no_exception(at)
    first = next(t.key for t in at.toggle if t.key and t.key.startswith("redact_m_"))
    at.toggle(key=first).set_value(True).run()
    assert "«" in texts(at) and "#1" in texts(at)  # each mention in its sentence, with where it is
    assert "may still name someone" in texts(at) and "I saw him." in texts(at)
    clean = [b.key for b in at.button if b.key and b.key.startswith("redact_clean_")]
    assert clean
    at.toggle(key="redact_preview").set_value(True).run()
    assert_no_exception(at)
    shown = at.dataframe[0].value.to_dict("records")
    assert shown[0]["English"] == "I was interrogated by Witness A." and "Witness A" in shown[0]["Russian"]
    for key in clean:
        at.button(key=key).click().run()
    assert_no_exception(at)
    assert "may still name someone" not in texts(at)
    audit = [e.action for e in edna.audit_entries()]
    assert audit.count("redactions_decided") >= 1 and "redaction_english_confirmed" in audit


@pytest.mark.slow
def test_export_to_a_folder_writes_there_without_the_browser(ui_users, case, tmp_path) -> None:
    from workstation.evidence.manifest import verify_export

    edna = ui_users["edna"]
    at = open_app(edna, "page_export.py")
    at.checkbox(key="export_draft").check()
    at.multiselect(key="export_formats").set_value(["txt", "json"]).run()
    target = tmp_path / "usb"
    at.text_input(key="export_folder").input(str(target)).run()
    at.button(key="export_folder_go").click().run()
    assert_no_exception(at)
    assert "Exported to" in texts(at), texts(at)
    written = sorted(target.iterdir())
    assert [p.name for p in written] == ["CASE-E_export.zip"] and verify_export(written[0]) == []
    assert "export_prepared" not in at.session_state["decrypted_cache"]  # nothing was handed to the browser
