"""Redaction in both languages: names the English draft mangled are found by aligning the Russian mention to the
English of its segment; what cannot be settled stops a redacted export until an editor has checked it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_export import every_readable_form
from tests.fixtures_vault import seal_clip
from workstation.domain.testimony import EnglishRoute, Segment, Testimony, TestimonyMeta
from workstation.evidence import redact as rd
from workstation.evidence.redact.align import skeleton
from workstation.services import audit_view, intake, redactions
from workstation.services.exports import export_testimony
from workstation.services.redactions import Decisions
from workstation.speech.pipeline import PipelineResult
from workstation.vault.permissions import PermissionDeniedError

CASE = "RX-1"
MURAD = "Михаил Муродиан"


def _segments() -> list[Segment]:
    rows = [
        ("Меня допрашивал Михаил Муродиан.", "I was interrogated by Michaela Murodian."),  # first name mangled
        ("Потом Михаила Муродиана увезли.", "Then Mikhail Muradyan's car was taken away."),
        ("Любовь Петрова видела это.", "Love Petrova saw it."),  # a first name translated as a word
        ("Я видел Михаила.", "I saw him."),  # the name dropped: nobody can tell from here
        ("Было холодно.", "It was cold."),
    ]
    return [Segment(3.0 * i, 3.0 * i + 2.5, ru, en, en_route=EnglishRoute.ARGOS, id=f"s{i}") for i, (ru, en) in enumerate(rows)]


def _table() -> rd.PseudonymTable:
    table = rd.PseudonymTable()
    table.add(MURAD, "PER")
    table.add("Любовь Петрова", "PER")
    return table


# --- pure ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("english, russian", [
    ("Michaela", "Михаила"), ("Mikhail", "Михаил"), ("Michael", "Михаил"), ("Mihail", "Михаилу"),
    ("Muradyan", "Муродиана"), ("Yuri", "Юрий"), ("Khasan", "Хасан"), ("Hassan", "Хасан"),
])
def test_a_spelling_of_a_name_sounds_like_it(english: str, russian: str) -> None:
    assert rd.sounds_like(english, [russian])


@pytest.mark.parametrize("english, russian", [
    ("Machine", "Михаил"), ("Money", "Михаил"), ("Then", "Михаил"), ("Morning", "Муродиан"), ("It", "Ит"),
])
def test_ordinary_words_do_not(english: str, russian: str) -> None:
    assert not rd.sounds_like(english, [russian])


def test_skeleton_folds_the_spellings_systems_disagree_on() -> None:
    assert skeleton("Mikhail") == skeleton("Michail") == skeleton("Mihail")
    assert skeleton("Yusupov") == skeleton("Jusupov")


def test_mangled_and_inflected_english_renderings_are_replaced_and_the_rest_is_in_doubt() -> None:
    t = Testimony(meta=TestimonyMeta(CASE), segments=_segments())
    red = rd.redact_testimony(t, _table())
    english = [s.en for s in red.testimony.segments]
    assert english[:2] == ["I was interrogated by Witness A.", "Then Witness A's car was taken away."]
    assert english[2] == "Love Witness B saw it."  # "Love" cannot be told from a word...
    assert [(d.segment_id, d.reason) for d in red.doubts] == [
        ("s2", "“Love” stands next to the name and may be part of it"),  # ...so it is in doubt
        ("s3", "the Russian names it 1 time(s), the English 0 time(s)"),
    ]
    assert [s.ru for s in red.testimony.segments][:2] == ["Меня допрашивал Witness A.", "Потом Witness A увезли."]


def test_a_confirmation_holds_only_for_the_text_confirmed() -> None:
    t = Testimony(meta=TestimonyMeta(CASE), segments=_segments())
    table = _table()
    red = rd.redact_testimony(t, table)
    (doubt,) = [d for d in red.doubts if d.segment_id == "s3"]
    table.confirm("s3", doubt.entry_id, t.segment("s3").ru, t.segment("s3").en)
    assert [d.segment_id for d in red.open_doubts(table, t)] == ["s2"]
    t.segment("s3").en = "I saw Mikhail."  # the text changed after the check: the confirmation no longer applies
    assert [d.segment_id for d in rd.redact_testimony(t, table).open_doubts(table, t)] == ["s2"]  # now replaced
    t.segment("s3").en = "I saw my friend."
    assert [d.segment_id for d in rd.redact_testimony(t, table).open_doubts(table, t)] == ["s2", "s3"]


def test_the_table_digest_changes_with_every_decision() -> None:
    table = _table()
    before = table.digest()
    assert before == rd.PseudonymTable.from_dict(table.to_dict()).digest()
    table.set_pseudonym(next(iter(table.entries)), "Witness Z")
    assert table.digest() != before


# --- through the vault ----------------------------------------------------------------------------------------


def _store(session: Any, clip: Path, segments: list[Segment]) -> None:
    session.create_testimony(TestimonyMeta(CASE))
    seal_clip(session, CASE, clip.read_bytes(), "clip.wav")
    session.store_processing_result(CASE, PipelineResult(segments=segments, language="ru", language_probability=1.0,
                                                         duration_s=15.0, models={"asr": "base"}))


@pytest.mark.slow  # natasha (a real NER model)
def test_a_redacted_export_refuses_while_in_doubt_then_holds_no_form_of_the_name(
        vault_editor: Any, vault_clip: Path, tmp_path: Path) -> None:
    _store(vault_editor, vault_clip, _segments())
    table = redactions.decide(vault_editor, CASE, Decisions(add=[("PER", MURAD), ("PER", "Любовь Петрова")],
                                                            accept=["all"]))  # natasha's suggestions too
    with pytest.raises(rd.RedactionError, match=r"2 segment\(s\) .* #3 \(00:06\), #4 \(00:09\)"):
        export_testimony(vault_editor, CASE, tmp_path / "no", "txt,json,srt,vtt,docx,pdf", redact=True, draft=True)
    assert not (tmp_path / "no").exists()
    views = redactions.doubts(vault_editor, CASE)
    assert [(v.label, v.pseudonym) for v in views] == [("#3 (00:06)", "Witness B"), ("#4 (00:09)", "Witness A")]
    # the editor reads both: the first is a name (fixed in the English), the second names nobody (confirmed)
    vault_editor.update(CASE, lambda t: setattr(t.segment("s2"), "en", "Lyubov Petrova saw it."), action="edit_segment")
    assert redactions.confirm_english(vault_editor, CASE, ["s3"]) == 1
    assert redactions.doubts(vault_editor, CASE) == []
    result = export_testimony(vault_editor, CASE, tmp_path / "ok", "txt,json,srt,vtt,docx,pdf", redact=True, draft=True)
    blob = "\n".join(every_readable_form(p.name, p.read_bytes()) for p in result.path.iterdir()).lower()
    for form in ("михаил", "муродиан", "michaela", "mikhail", "murodian", "muradyan", "любов", "петров", "lyubov",
                 "petrova"):
        assert form not in blob, form
    assert "witness a" in blob and "witness b" in blob
    rows = [r for r in audit_view.rows(vault_editor) if r.action.startswith("redaction")]
    assert [r.action for r in rows] == ["redactions_decided", "redaction_english_confirmed"]
    assert table.entries and all(e.id in rows[0].details for e in table.accepted())  # which ids, never names
    assert "Муродиан" not in " ".join(r.details for r in rows)


@pytest.mark.slow  # natasha (a real NER model)
def test_mentions_show_each_sentence_and_where(vault_editor: Any, vault_clip: Path) -> None:
    _store(vault_editor, vault_clip, _segments())
    table = redactions.decide(vault_editor, CASE, Decisions(add=[("PER", MURAD)]))
    (entry,) = table.accepted()
    found = redactions.mentions(vault_editor, CASE, entry.id)
    assert [(m.label, m.sentence) for m in found] == [
        ("#1 (00:00)", "Меня допрашивал «Михаил Муродиан»."),
        ("#2 (00:03)", "Потом «Михаила Муродиана» увезли."),
        ("#4 (00:09)", "Я видел «Михаила»."),
    ]
    preview = [r for r in redactions.preview(vault_editor, CASE) if r.changed]
    assert [r.segment_id for r in preview] == ["s0", "s1", "s3"]


@pytest.mark.slow  # natasha (a real NER model)
def test_only_an_editor_decides_or_vouches_for_the_english(vault_sessions: dict[str, Any], vault_clip: Path) -> None:
    _store(vault_sessions["edna"], vault_clip, _segments())
    redactions.decide(vault_sessions["edna"], CASE, Decisions(add=[("PER", MURAD)]))
    for name in ("tanya", "ivan"):
        with pytest.raises(PermissionDeniedError):
            redactions.confirm_english(vault_sessions[name], CASE, ["s3"])
        with pytest.raises(PermissionDeniedError):
            redactions.doubts(vault_sessions[name], CASE)


# --- real Whisper output --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_clip_naming_someone_is_redacted_in_both_languages_or_refused(
        vault_editor: Any, eval_asr_dir: Path, tmp_path: Path) -> None:
    """golos_05 says «михаила мурадяна»; Whisper transcribes it and (no Argos here) speech-translates it."""
    from workstation.speech.pipeline import PipelineOptions, run_pipeline

    clip = eval_asr_dir / "wav" / "golos_05.wav"
    result = run_pipeline(clip.read_bytes(), PipelineOptions(model="base", translate=True))
    vault_editor.create_testimony(TestimonyMeta(CASE))
    intake.seal_recording(vault_editor, CASE, clip.read_bytes(), clip.name)
    vault_editor.store_processing_result(CASE, result)
    redactions.decide(vault_editor, CASE, Decisions(add=[("PER", "Михаил Мурадян")], accept=["all"]))
    forms = ("михаил", "мурадян", "mikhail", "michael", "michaela", "muradyan", "muradian", "muradjan")
    try:
        out = export_testimony(vault_editor, CASE, tmp_path / "out", "txt,json,srt,vtt,docx,pdf", redact=True, draft=True)
    except rd.RedactionError as exc:  # the English could not be vouched for: the export says which segment
        assert "#1" in str(exc)
        return
    blob = "\n".join(every_readable_form(p.name, p.read_bytes()) for p in out.path.iterdir()).lower()
    assert [f for f in forms if f in blob] == []


@pytest.mark.slow  # natasha (a real NER model)
def test_a_whole_segment_is_redacted_in_both_languages_and_its_audio(vault_editor: Any, vault_clip: Path,
                                                                     tmp_path: Path) -> None:
    segments = _segments()[3:]  # no names natasha would suggest: only the editor's choice counts here
    segments[1] = Segment(12.0, 14.5, "Я жил на улице Ленина, дом пять.", en="I lived at 5 Lenin Street.",
                          en_route=EnglishRoute.ARGOS, id="s4")
    _store(vault_editor, vault_clip, segments)
    table = redactions.decide(vault_editor, CASE, Decisions(whole={"s4": True}, accept=["all"]))
    assert table.whole == ["s4"]
    with pytest.raises(rd.RedactionError, match="no segment 'nope'"):
        redactions.decide(vault_editor, CASE, Decisions(whole={"nope": True}))
    if redactions.doubts(vault_editor, CASE):  # natasha may have suggested «Михаила» of the first segment
        redactions.confirm_english(vault_editor, CASE, [d.segment_id for d in redactions.doubts(vault_editor, CASE)])
    out = export_testimony(vault_editor, CASE, tmp_path / "out", "txt,json", redact=True, draft=True)
    text = (out.path / f"{CASE}.txt").read_text()
    assert "Ленина" not in text and "Lenin" not in text and "[redacted]" in text
    assert "whole_segments=1" in next(r.details for r in audit_view.rows(vault_editor)
                                      if r.action == "redactions_decided")
