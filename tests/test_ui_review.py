"""The review page: side-by-side editing as revisions, conflicts shown, filters, pagination, playback,
find/replace in one column, split/merge, speakers, mark reviewed, re-translation of stale segments."""

from __future__ import annotations

import pytest

from tests.fixtures_ui import add_testimony, assert_no_exception, make_segments, open_app, texts
from workstation.domain.testimony import edit_segment


@pytest.fixture()
def review(ui_users, ui_clip):
    """A 60-segment testimony (times beyond the clip are fine except for playback) and the translator's page."""
    add_testimony(ui_users["edna"], "CASE-R", ui_clip, make_segments(60))
    sess = ui_users["tanya"]
    return sess, open_list(sess)


def open_list(sess, timeout: float = 60):
    """The review page in its list view (the workspace is a browser component: tests/test_ui_workspace_browser.py)."""
    at = open_app(sess, timeout=timeout)
    at.session_state["review_mode"] = "List"
    return at.switch_page("page_review.py").run()


def _seg(sess, i: int):
    return sess.load("CASE-R").segments[i]


@pytest.mark.slow
def test_page_shows_25_segments_side_by_side_with_low_confidence_marked(review) -> None:
    sess, at = review
    assert_no_exception(at)
    rows = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert len(rows) == 25 and rows[0].startswith("**#1**")
    page = texts(at)
    assert ":orange-background[" in page  # low-confidence words are marked
    assert "English draft 0" in page and "English draft 24" in page and "English draft 25" not in page
    at.selectbox(key="review_size").select(50).run()
    assert len([m for m in at.markdown if m.value.startswith("**#")]) == 50


@pytest.mark.slow
def test_pagination_reaches_the_last_segments(review) -> None:
    sess, at = review
    at.get("pagination")[0].set_value(3).run()
    assert_no_exception(at)
    rows = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert rows[0].startswith("**#51**") and len(rows) == 10


@pytest.mark.slow
def test_filters_narrow_the_list(review) -> None:
    sess, at = review
    at.pills(key="review_filters").set_value(["Low confidence"]).run()
    assert_no_exception(at)
    rows = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert rows and all(int(r.split("**")[1][1:]) % 3 == 1 for r in rows)  # segments 0, 3, 6… (numbered from 1)


@pytest.mark.slow
def test_edit_russian_saves_a_revision_and_marks_english_stale(review) -> None:
    sess, at = review
    seg = _seg(sess, 1)
    at.button(key=f"edit_{seg.id}").click().run()
    at.text_area(key=f"edit_ru_{seg.id}").input("Исправленный текст").run()
    at.button(key=f"save_{seg.id}").click().run()
    assert_no_exception(at)
    after = _seg(sess, 1)
    assert after.ru == "Исправленный текст" and after.en_stale and after.revision == seg.revision + 1
    t = sess.load("CASE-R")
    assert t.revisions[-1].user == "tanya" and t.revisions[-1].field == "ru"
    assert "Saved." in texts(at)
    assert "English stale" in texts(at)
    assert at.button(key=f"rt_{seg.id}")  # one-click re-translation is offered


@pytest.mark.slow
def test_conflicting_edit_is_shown_and_nothing_is_overwritten(review) -> None:
    sess, at = review
    seg = _seg(sess, 2)
    at.button(key=f"edit_{seg.id}").click().run()
    other = _editor_session(sess)
    other.update("CASE-R", lambda t: edit_segment(t, seg.id, "en", "their English", base_revision=seg.revision, user="edna"),
                 action="edit_segment")
    at.text_area(key=f"edit_en_{seg.id}").input("my English").run()
    at.button(key=f"save_{seg.id}").click().run()
    assert_no_exception(at)
    assert _seg(sess, 2).en == "their English"
    assert any("Someone else changed this segment" in e.value for e in at.error)
    assert "their English" in texts(at)  # the other version is shown next to mine
    assert at.text_area(key=f"edit_en_{seg.id}").value == "my English"  # my text is kept in the editor
    at.button(key=f"theirs_{seg.id}").click().run()
    at.button(key=f"save_{seg.id}").click().run()
    assert_no_exception(at)
    assert _seg(sess, 2).en == "my English"


def _editor_session(sess):
    from tests.fixtures_ui import PASSPHRASE
    from workstation.vault import session as vault

    return vault.unlock(sess.path, "edna", PASSPHRASE)


@pytest.mark.slow
def test_mark_reviewed_one_and_the_whole_page(review) -> None:
    sess, at = review
    seg = _seg(sess, 0)
    at.checkbox(key=f"rv_{seg.id}_{seg.revision}").check().run()
    assert _seg(sess, 0).reviewed
    at.button(key="bulk_page_rv").click().run()  # asks first: how many, and which are skipped and why
    assert_no_exception(at)
    assert "24** segment(s) on this page will be marked reviewed" in texts(at)
    assert not sess.load("CASE-R").segments[1].reviewed
    at.button(key="bulk_yes").click().run()
    assert_no_exception(at)
    t = sess.load("CASE-R")
    assert all(s.reviewed for s in t.segments[:25]) and not any(s.reviewed for s in t.segments[25:])


@pytest.mark.slow
def test_bulk_marking_says_what_it_skips_and_why(review) -> None:
    sess, at = review
    seg = _seg(sess, 3)
    at.button(key=f"edit_{seg.id}").click().run()
    at.text_area(key=f"edit_ru_{seg.id}").input("Исправлено").run()
    at.button(key=f"save_{seg.id}").click().run()  # its English is stale now
    at.button(key="bulk_page_rv").click().run()
    page = texts(at)
    assert "24** segment(s) on this page will be marked reviewed" in page
    assert "**1** will be skipped" in page and "English stale" in page
    at.button(key="bulk_yes").click().run()
    assert not _seg(sess, 3).reviewed and _seg(sess, 4).reviewed


@pytest.mark.slow
def test_find_replace_is_limited_to_one_column(review) -> None:
    sess, at = review
    at.radio(key="fr_col").set_value("en").run()
    at.text_input(key="fr_find").input("draft 1").run()
    at.text_input(key="fr_repl").input("version 1").run()
    assert "segment(s) contain it" in texts(at)
    at.button(key="fr_go").click().run()
    assert_no_exception(at)
    t = sess.load("CASE-R")
    assert t.segments[1].en == "English version 1" and t.segments[10].en == "English version 10"
    assert t.segments[2].en == "English draft 2"
    assert all("version" not in s.ru for s in t.segments)


@pytest.mark.slow
def test_split_and_merge(review) -> None:
    sess, at = review
    seg = _seg(sess, 4)
    at.button(key=f"edit_{seg.id}").click().run()
    at.button(key=f"split_{seg.id}").click().run()
    assert_no_exception(at)
    t = sess.load("CASE-R")
    assert len(t.segments) == 61 and t.segments[4].end == t.segments[5].start
    left, right = t.segments[4], t.segments[5]
    at.checkbox(key=f"review_sel_{left.id}").check()
    at.checkbox(key=f"review_sel_{right.id}").check().run()
    at.button(key="bulk_merge").click().run()
    assert_no_exception(at)
    t = sess.load("CASE-R")
    assert len(t.segments) == 60 and t.segments[4].start == seg.start and t.segments[4].end == seg.end


@pytest.mark.slow
def test_speaker_rename_and_change(review) -> None:
    sess, at = review
    key = next(t.key for t in at.text_input if t.key and t.key.startswith("spk_witness_"))
    at.text_input(key=key).input("Witness A").run()
    assert_no_exception(at)
    assert sess.load("CASE-R").speaker_names == {"witness": "Witness A"}
    assert "Witness A" in texts(at)
    seg = _seg(sess, 0)
    at.button(key=f"edit_{seg.id}").click().run()
    at.selectbox(key=f"edit_speaker_{seg.id}").select("interviewer").run()
    at.button(key=f"save_{seg.id}").click().run()
    assert _seg(sess, 0).speaker == "interviewer"


@pytest.mark.slow
def test_play_decodes_exactly_the_span(review) -> None:
    sess, at = review
    seg = _seg(sess, 0)
    at.button(key=f"play_{seg.id}").click().run()
    assert_no_exception(at)
    audio = at.get("audio")
    assert audio, "no audio element"
    from workstation.speech import media

    wav = media.wav_bytes(media.decode(sess.read_recording("CASE-R"), start=seg.start, end=seg.end))
    n_samples = (len(wav) - 44) // 2
    assert abs(n_samples / 16000 - (seg.end - seg.start)) < 0.05


@pytest.mark.slow
def test_approved_testimony_is_read_only(review) -> None:
    sess, at = review
    editor = _editor_session(sess)
    from workstation.domain.testimony import set_reviewed

    editor.update("CASE-R", lambda t: [set_reviewed(t, s.id, True, base_revision=s.revision, user="edna") for s in t.segments],
                  action="set_reviewed")
    editor.approve("CASE-R")
    at.button(key="review_reload").click().run()  # (the page shows a copy at most 10 s old otherwise)
    assert_no_exception(at)
    assert "Approved by edna" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("edit_")]


@pytest.mark.slow
def test_retranslate_stale_segment_with_real_model(ui_users, ui_clip) -> None:
    """Edit the Russian, then one click re-translates it (Argos if installed, else Whisper on the span)."""
    segs = make_segments(1, seg_s=2.5)
    add_testimony(ui_users["edna"], "CASE-T", ui_clip, segs)
    sess = ui_users["tanya"]
    at = open_list(sess, timeout=240)
    seg = sess.load("CASE-T").segments[0]
    at.button(key=f"edit_{seg.id}").click().run()
    at.text_area(key=f"edit_ru_{seg.id}").input("Сколько будет стоить").run()
    at.button(key=f"save_{seg.id}").click().run()
    assert sess.load("CASE-T").segments[0].en_stale
    at.button(key=f"rt_{seg.id}").click().run(timeout=240)
    assert_no_exception(at)
    after = sess.load("CASE-T").segments[0]
    assert after.en and after.en != "English draft 0", texts(at)
    assert str(after.en_route) in ("argos", "whisper-translate")
    # Whisper listened again (it never read the corrected Russian): stale until a person confirms the English
    assert after.en_stale == (str(after.en_route) == "whisper-translate")


@pytest.mark.slow
def test_untranscribed_speech_is_shown_as_work_to_do_and_a_segment_can_be_added(ui_users, ui_clip) -> None:
    from workstation.speech.asr import untranscribed_segment

    segments = make_segments(4)  # 0–2, 2–4, 4–6, 6–8 s
    segments[2] = untranscribed_segment(4.2, 5.8)
    segments.append(make_segments(1)[0])
    segments[-1].start, segments[-1].end = 12.0, 14.0  # a gap 8–12 s
    add_testimony(ui_users["edna"], "CASE-U", ui_clip, segments)
    sess = ui_users["tanya"]
    at = open_list(sess)
    assert_no_exception(at)
    page = texts(at)
    assert "1 stretch(es) of speech" in page and "cannot be approved" in page
    assert ":red-badge[untranscribed speech]" in page
    at.pills(key="review_filters").set_value(["Untranscribed speech"]).run()
    rows = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert len(rows) == 1 and rows[0].startswith("**#3**")
    at.pills(key="review_filters").set_value([]).run()
    assert "0:08" in texts(at)  # the gap is offered
    at.number_input(key="add_start").set_value(8.5).run()
    at.number_input(key="add_end").set_value(11.0).run()
    at.button(key="add_go").click().run()
    assert_no_exception(at)
    added = [s for s in sess.load("CASE-U").segments if s.start == 8.5]
    assert len(added) == 1 and added[0].untranscribed and added[0].end == 11.0
