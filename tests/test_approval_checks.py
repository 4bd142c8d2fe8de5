"""The checks before "reviewed" and "approved", in the library (so the CLI and the app refuse alike).

Approval is refused while a segment is unreviewed, untranscribed, has no Russian, no English or stale English;
the refusal names the segments. An editor may override with a written reason: the reason is kept encrypted
with the testimony, the audit log says only override=true. A low-confidence mark clears once a person
confirms or edits the segment. Re-translating without Argos is Whisper listening again: its English stays
stale until a person confirms it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import PASSPHRASE
from workstation.cli.main import app
from workstation.domain.testimony import EnglishRoute, Segment, TestimonyMeta, Word
from workstation.services import approval, audit_view, intake, review
from workstation.services.approval import ApprovalRefused, OverrideError
from workstation.speech.pipeline import PipelineResult

CASE = "AP-1"
REASON = "Свидетель просил опубликовать до суда; пропуск проверен вручную"


def _words(text: str, start: float, p: float = 0.9) -> list[Word]:
    return [Word(start + i * 0.3, start + (i + 1) * 0.3, " " + w, p) for i, w in enumerate(text.split())]


def _segments() -> list[Segment]:
    return [
        Segment(0.0, 1.0, "Меня зовут Ахмед.", en="My name is Ahmed.", en_route=EnglishRoute.ARGOS, id="s1",
                words=_words("Меня зовут Ахмед.", 0.0)),
        Segment(1.2, 2.0, "Меня задержали.", id="s2", words=_words("Меня задержали.", 1.2)),  # no English
        Segment(2.1, 2.9, "", id="s3", untranscribed=True, confidence=0.0),
        Segment(3.0, 3.9, "Потом отпустили.", en="Then released.", en_route=EnglishRoute.ARGOS, id="s4",
                words=_words("Потом отпустили.", 3.0, p=0.3), confidence=0.3),  # the recogniser was unsure
    ]


def _processed(session: Any, clip: Path, segments: list[Segment] | None = None) -> None:
    session.create_testimony(TestimonyMeta(CASE))
    intake.seal_recording(session, CASE, clip.read_bytes(), "clip.wav")
    result = PipelineResult(segments=segments or _segments(), language="ru", language_probability=1.0,
                            duration_s=4.0, models={"asr": "base"})
    session.store_processing_result(CASE, result)


@pytest.fixture()
def cli(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault_path))
    runner = CliRunner()

    def run(*args: str, user: str = "edna") -> Any:
        env = {"WORKSTATION_USER": user, "WORKSTATION_PASSPHRASE": PASSPHRASE}
        return runner.invoke(app, list(args), env=env, catch_exceptions=True)

    return run


def _rev(session: Any, seg_id: str) -> int:
    return session.load(CASE).segment(seg_id).revision


def test_approval_is_refused_listing_every_kind_of_problem(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    review.edit(vault_editor, CASE, "s1", {"ru": "Меня зовут Ахмед Ахмедов."}, base_revision=0)  # English now stale
    with pytest.raises(ApprovalRefused) as refused:
        approval.approve(vault_editor, CASE)
    text = str(refused.value)
    assert "1 stretch(es) of speech nobody has transcribed yet: #3 at 00:02 (id s3)" in text
    assert "1 segment(s) with Russian but no English: #2 at 00:01 (id s2)" in text
    assert "1 segment(s) whose English is stale" in text and "#1 at 00:00 (id s1)" in text
    assert "4 segment(s) not marked reviewed" in text
    assert f'workstation approve {CASE} --override "why"' in text
    t = vault_editor.load(CASE)
    assert t.approval is None and str(t.status) == "draft"


def test_the_refusal_names_the_first_few_and_counts_all(vault_editor: Any, vault_clip: Path) -> None:
    segs = [Segment(i * 1.0, i * 1.0 + 0.9, f"Фраза {i}.", en=f"Phrase {i}.", en_route=EnglishRoute.ARGOS, id=f"x{i}")
            for i in range(12)]
    _processed(vault_editor, vault_clip, segs)
    ready = approval.readiness(vault_editor.load(CASE))
    (problem,) = ready.problems
    assert problem.kind == "unreviewed" and len(problem.segments) == 12
    assert problem.describe().endswith("#5 at 00:04 (id x4) and 7 more")


def test_once_every_problem_is_fixed_approval_passes(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    review.edit(vault_editor, CASE, "s2", {"en": "I was detained."}, base_revision=0)
    review.edit(vault_editor, CASE, "s3", {"ru": "Было холодно.", "en": "It was cold."}, base_revision=0)
    outcome, t = review.mark_reviewed(vault_editor, CASE)
    assert sorted(outcome.marked) == ["s1", "s2", "s3", "s4"] and not outcome.skipped
    assert approval.readiness(t).ready
    done, _ = approval.approve(vault_editor, CASE)
    assert vault_editor.load(CASE).approval == done
    entry = [e for e in vault_editor.audit_entries() if e.action == "approved"][-1]
    assert "override" not in entry.details


def test_an_editor_overrides_with_a_written_reason_kept_encrypted(vault_editor: Any, vault_clip: Path,
                                                                  vault_path: Path) -> None:
    _processed(vault_editor, vault_clip)
    with pytest.raises(OverrideError):
        approval.approve(vault_editor, CASE, override="   ")
    done, _ = approval.approve(vault_editor, CASE, override=REASON)
    t = vault_editor.load(CASE)
    assert str(t.status) == "approved" and t.approval == done
    entry = [e for e in vault_editor.audit_entries() if e.action == "approved"][-1]
    assert entry.details.get("override") is True
    assert all(REASON not in str(e.details) for e in vault_editor.audit_entries())
    (kept,) = [h for h in approval.history(vault_editor, CASE) if h["kind"].startswith("approved despite")]
    assert kept["reason"] == REASON and kept["user"] == "edna"
    assert any("not marked reviewed" in p for p in kept["problems"])
    # the reason is content: nowhere in the vault folder in plaintext
    word = "опубликовать".encode()
    assert not [p for p in vault_path.rglob("*") if p.is_file() and word in p.read_bytes()]


def test_a_translator_may_not_override(vault_sessions: dict[str, Any], vault_clip: Path) -> None:
    from workstation.vault.permissions import PermissionDeniedError

    _processed(vault_sessions["edna"], vault_clip)
    with pytest.raises(PermissionDeniedError):
        approval.approve(vault_sessions["tanya"], CASE, override=REASON)


def test_cli_approve_refuses_then_overrides(vault_editor: Any, vault_clip: Path, cli: Any) -> None:
    _processed(vault_editor, vault_clip)
    r = cli("approve", CASE)
    assert r.exit_code == 1 and isinstance(r.exception, ApprovalRefused), r.output
    r = cli("approve", CASE, "--mark-reviewed")  # marks what it may; the rest still blocks
    assert r.exit_code == 1 and "#3 at 00:02 (id s3)" in str(r.exception)
    r = cli("approve", CASE, "--override", REASON)
    assert r.exit_code == 0, r.output
    assert "Approved despite" in r.output and f"Approved {CASE} as edna" in r.output
    rows = [r for r in audit_view.rows(vault_editor) if r.action == "approved"]
    assert rows and "override=True" in rows[-1].details.replace("true", "True")


# --- reviewed: one at a time refuses what bulk marking skips ---------------------------------------------------


def test_marking_one_segment_reviewed_is_refused_while_it_needs_a_person(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    with pytest.raises(review.ReviewError, match="no English yet"):
        review.set_reviewed(vault_editor, CASE, "s2", True, base_revision=0)
    with pytest.raises(review.ReviewError, match="no English yet"):
        review.confirm(vault_editor, CASE, "s2", base_revision=0)
    rev, t = review.confirm(vault_editor, CASE, "s1", base_revision=0)
    assert rev is not None and t.segment("s1").reviewed
    again, _t = review.confirm(vault_editor, CASE, "s1", base_revision=rev.revision)
    assert again is None  # confirming twice changes nothing


def test_keeping_stale_english_as_it_is_clears_stale_and_keeps_the_route(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    rev, t = review.edit(vault_editor, CASE, "s1", {"ru": "Меня зовут Ахмед, я из Грозного."}, base_revision=0)
    assert t.segment("s1").en_stale
    _r, t = review.confirm_english(vault_editor, CASE, "s1", base_revision=rev)
    seg = t.segment("s1")
    assert not seg.en_stale and seg.en == "My name is Ahmed." and seg.en_route is EnglishRoute.ARGOS


# --- low confidence clears once a person has dealt with it ------------------------------------------------------


def test_low_confidence_clears_when_confirmed_or_edited(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    t = vault_editor.load(CASE)
    low = review.FILTERS["Low confidence"]
    assert [s.id for s in t.segments if low(s)] == ["s4"]
    _r, t = review.confirm(vault_editor, CASE, "s4", base_revision=0)
    assert not review.low_confidence(t.segment("s4")) and not review.needs_review(t.segment("s4"))
    assert not [s.id for s in t.segments if low(s)]
    assert approval.readiness(t).unsure_untouched == 1  # confirmed, but nobody changed a word of it
    # un-marked again: the recogniser's doubt is back (nobody vouches for the text any more)
    _r, t = review.set_reviewed(vault_editor, CASE, "s4", False, base_revision=_rev(vault_editor, "s4"))
    assert review.low_confidence(t.segment("s4"))
    # edited by a person: the text is theirs now, not the recogniser's
    _rev2, t = review.edit(vault_editor, CASE, "s4", {"ru": "Потом нас отпустили."}, base_revision=_rev(vault_editor, "s4"))
    assert not review.low_confidence(t.segment("s4")) and review.needs_review(t.segment("s4"))  # (still unreviewed)
    assert approval.readiness(t).unsure_untouched == 0


def test_approval_summary_counts_machine_english_speakers_and_redactions(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    review.rename_speaker(vault_editor, CASE, "witness", "Witness A")
    review.edit(vault_editor, CASE, "s2", {"en": "I was detained.", "speaker": "interviewer"}, base_revision=0)
    ready = approval.summary(vault_editor, CASE)
    assert ready.machine_english == 2 and ready.whisper_english == 0
    assert ready.speakers == {"Witness A": 3, "interviewer": 1}
    assert ready.redactions_pending == 0 and ready.redactions_decided == 0
    assert "2 segment(s) have machine English nobody corrected" in ready.warnings


# --- re-translate says what it does -----------------------------------------------------------------------------


def test_retranslate_label_says_what_happens_on_this_machine() -> None:
    label = review.retranslate_label()
    if review.english_route() is EnglishRoute.ARGOS:
        assert "corrected Russian" in label
    else:
        assert label == "Listen again (Whisper speech translation)"
        assert "ignores the corrected Russian" in review.retranslate_explained()


@pytest.mark.slow
def test_retranslate_keeps_speech_translation_stale_until_a_person_confirms(vault_editor: Any, vault_clip: Path) -> None:
    """Real models: Argos translates the corrected Russian (not stale after); Whisper listens again (stays stale)."""
    segs = [Segment(0.0, 2.5, "Меня задержали.", en="I was detained.", en_route=EnglishRoute.ARGOS, id="r1",
                    words=_words("Меня задержали.", 0.0))]
    _processed(vault_editor, vault_clip, segs)
    rev, _t = review.edit(vault_editor, CASE, "r1", {"ru": "Сколько будет стоить"}, base_revision=0)
    count, t = review.retranslate(vault_editor, CASE, {"r1": rev})
    seg = t.segment("r1")
    assert count == 1 and seg.en.strip()
    if review.english_route() is EnglishRoute.ARGOS:
        assert seg.en_route is EnglishRoute.ARGOS and not seg.en_stale
    else:
        assert seg.en_route is EnglishRoute.WHISPER and seg.en_stale  # not a translation of the corrected text
        with pytest.raises(review.ReviewError, match="English stale"):
            review.confirm(vault_editor, CASE, "r1", base_revision=seg.revision)
        _r, t = review.confirm_english(vault_editor, CASE, "r1", base_revision=seg.revision)
        assert not t.segment("r1").en_stale and t.segment("r1").en_route is EnglishRoute.WHISPER
