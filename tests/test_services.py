"""The services layer, and the use cases both shells reach through it (CLI side here; the pages in test_ui_*).

No model runs here: a processed testimony is stored from a hand-made PipelineResult, as processing would store it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import PASSPHRASE, seal_clip
from workstation.cli.main import app
from workstation.domain import testimony as tm
from workstation.domain.testimony import EnglishRoute, Segment, TestimonyMeta
from workstation.platform.errors import WorkstationError
from workstation.services import approval, audit_view, intake, processing, redactions, review
from workstation.services.redactions import Decisions
from workstation.speech.media import NotAudioError
from workstation.speech.pipeline import PipelineResult
from workstation.vault.permissions import PermissionDeniedError

CASE = "SV-1"


def _processed(session: Any, clip: Path, segments: list[Segment] | None = None) -> None:
    session.create_testimony(TestimonyMeta(CASE))
    seal_clip(session, CASE, clip.read_bytes(), "clip.wav")
    segments = segments or [
        Segment(0.0, 1.0, "Меня зовут Ахмед.", en="My name is Ahmed.", en_route=EnglishRoute.ARGOS, id="s1"),
        Segment(1.2, 2.0, "Меня задержали.", id="s2"),  # Russian, no English yet
        Segment(2.1, 2.9, "", id="s3", untranscribed=True),
        Segment(3.0, 3.5, "Потом.", en="Then.", en_route=EnglishRoute.ARGOS, id="s4"),
    ]
    result = PipelineResult(segments=segments, language="ru", language_probability=1.0, duration_s=4.0,
                            models={"asr": "base"})
    session.store_processing_result(CASE, result)


@pytest.fixture()
def cli(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault_path))
    runner = CliRunner()

    def run(*args: str, user: str = "edna") -> Any:
        env = {"WORKSTATION_USER": user, "WORKSTATION_PASSPHRASE": PASSPHRASE}
        return runner.invoke(app, list(args), env=env, catch_exceptions=True)

    return run


# --- intake ----------------------------------------------------------------------------------------------


def test_ingest_of_a_non_audio_file_creates_nothing(vault_editor: Any, cli: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a recording at all\n" * 200)
    r = cli("ingest", str(notes), "--case", "X-1")
    assert r.exit_code == 1 and isinstance(r.exception, NotAudioError), r.output
    assert vault_editor.list_testimonies() == []  # the CLI used to leave an empty "X-1 created" behind
    r = cli("list")
    assert r.exit_code == 0 and r.output.strip() == "No testimonies yet."


def test_new_testimony_checks_first_then_seals(vault_editor: Any, vault_clip: Path) -> None:
    with pytest.raises(NotAudioError):
        intake.new_testimony(vault_editor, TestimonyMeta("N-1"), b"plain text, not audio" * 50, "a.txt")
    assert vault_editor.list_testimonies() == []
    info = intake.new_testimony(vault_editor, TestimonyMeta("N-1"), vault_clip.read_bytes(), vault_clip.name)
    assert info.duration_s > 0 and info.size == vault_clip.stat().st_size
    assert vault_editor.load("N-1").status is tm.Status.INGESTED


# --- processing options ------------------------------------------------------------------------------------


def test_processing_options_come_from_the_settings_in_both_shells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSTATION_DEVICE", "cpu")
    # `workstation process` without --device passes "" (the app passes nothing): both keep the setting
    assert processing.options_from_settings({"device": ""}).device == "cpu"
    assert processing.options_from_settings({}).device == "cpu"
    assert processing.options_from_settings({"device": "cuda"}).device == "cuda"
    assert processing.options_from_settings({"language": None}).language is None  # "auto": detect
    with pytest.raises(WorkstationError, match="Unknown processing option"):
        processing.options_from_settings({"beams": 3})


def test_build_options_carries_the_vault_glossary(vault_editor: Any) -> None:
    review.save_glossary(vault_editor, {"фильтрационный лагерь": "filtration camp"}, [], [])
    options = processing.build_options(vault_editor, {"model": "base"})
    assert options.glossary is not None and options.glossary.terms == {"фильтрационный лагерь": "filtration camp"}


# --- review ------------------------------------------------------------------------------------------------


def test_bulk_mark_reviewed_skips_what_needs_a_person_and_says_why(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    t = vault_editor.load(CASE)
    base = t.segment("s4").revision
    vault_editor.update(CASE, lambda t: tm.edit_segment(t, "s4", "ru", "Потом меня отпустили.", base_revision=base,
                                                        user="edna"), action="edit_segment")  # English now stale
    outcome, saved = review.mark_reviewed(vault_editor, CASE)
    assert outcome.marked == ["s1"]
    assert outcome.skipped == {"s2": "no English yet", "s3": "untranscribed speech (type its text first)",
                               "s4": "English stale (correct it, re-translate, or keep it as it is first)"}
    assert [s.reviewed for s in saved.segments] == [True, False, False, False]
    assert "Skipped 3" in outcome.describe()


def test_an_edit_against_an_old_revision_is_a_conflict(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    rev, _t = review.edit(vault_editor, CASE, "s1", {"ru": "Меня зовут А."}, base_revision=0)
    assert rev == 1
    with pytest.raises(tm.ConflictError):
        review.edit(vault_editor, CASE, "s1", {"ru": "Меня зовут Б."}, base_revision=0)
    assert vault_editor.load(CASE).segment("s1").ru == "Меня зовут А."
    with pytest.raises(review.ReviewError, match="Only ru, en, speaker"):
        review.edit(vault_editor, CASE, "s1", {"start": "0"}, base_revision=1)


def test_glossary_needs_both_sides_and_changes_keep_the_rest(vault_editor: Any) -> None:
    with pytest.raises(review.ReviewError, match="both a Russian and an English side: лагерь"):
        review.save_glossary(vault_editor, {"лагерь": " "}, [], [])
    review.save_glossary(vault_editor, {"лагерь": "camp"}, ["Грозный", "Грозный", " "], ["Ахмед"])
    g = review.change_glossary(vault_editor, set_terms={"пытки": "torture"}, remove=["Ахмед"])
    assert (g.terms, g.keep, g.sensitive) == ({"лагерь": "camp", "пытки": "torture"}, ["Грозный"], [])
    with pytest.raises(review.ReviewError, match="Not in the glossary: нет"):
        review.change_glossary(vault_editor, remove=["нет"])


# --- every review action from the command line ------------------------------------------------------------


def test_the_cli_edits_marks_renames_and_keeps_the_glossary(vault_editor: Any, vault_clip: Path, cli: Any) -> None:
    _processed(vault_editor, vault_clip)
    r = cli("segment", "edit", CASE, "s2", "--en", "I was detained.", "--revision", "0")
    assert r.exit_code == 0 and "now revision 1" in r.output, r.output
    r = cli("segment", "edit", CASE, "s2", "--ru", "Меня забрали.", "--revision", "0")
    assert r.exit_code == 1 and isinstance(r.exception, tm.ConflictError)
    r = cli("segment", "reviewed", CASE, "s2", "--revision", "1")
    assert r.exit_code == 0, r.output
    r = cli("mark-reviewed", CASE)
    assert r.exit_code == 0 and "Marked 2 segment(s) reviewed" in r.output, r.output
    assert "skipped s3: untranscribed speech" in r.output
    r = cli("speaker", CASE, "witness", "Witness A")
    assert r.exit_code == 0, r.output
    r = cli("segment", "split", CASE, "s1", "--at", "0.5", "--revision", "1")
    assert r.exit_code == 0 and "both need review" in r.output, r.output
    t = vault_editor.load(CASE)
    assert t.speaker_names["witness"] == "Witness A" and len(t.segments) == 5
    first, second = t.segments[0], t.segments[1]
    r = cli("segment", "merge", CASE, first.id, second.id, "--revisions", f"{first.revision},{second.revision}")
    assert r.exit_code == 0, r.output
    r = cli("replace", CASE, "--column", "en", "--find", "detained", "--replace", "arrested")
    assert r.exit_code == 0 and "Replaced in 1 segment(s)" in r.output, r.output
    assert vault_editor.load(CASE).segment("s2").en == "I was arrested."
    r = cli("glossary", "set", "--term", "лагерь=camp", "--keep", "Грозный", "--sensitive", "Ахмед")
    assert r.exit_code == 0, r.output
    r = cli("glossary", "show")
    assert r.output.splitlines() == ["term\tлагерь\tcamp", "keep\tГрозный", "sensitive\tАхмед"]
    r = cli("glossary", "set", "--term", "broken")
    assert r.exit_code == 1 and "--term needs RU=EN" in str(r.exception)
    r = cli("audit")
    for action in ("edit_segment", "set_reviewed", "marked_reviewed", "rename_speaker", "split_segment",
                   "merge_segments", "replace_in_column", "glossary_saved"):
        assert f"\t{action}\t" in r.output, action


def test_a_translator_cannot_approve_or_decide_redactions(vault_sessions: dict[str, Any], vault_clip: Path,
                                                         cli: Any) -> None:
    _processed(vault_sessions["edna"], vault_clip)
    with pytest.raises(PermissionDeniedError):
        approval.approve(vault_sessions["tanya"], CASE)
    with pytest.raises(PermissionDeniedError):
        redactions.decide(vault_sessions["tanya"], CASE, Decisions(add=[("PER", "Ахмед")]))
    r = cli("redact", CASE, "--add", "PER:Ахмед", user="tanya")
    assert r.exit_code == 1 and isinstance(r.exception, PermissionDeniedError)


# --- redactions: decided from either shell, audited either way ----------------------------------------------


@pytest.mark.slow  # natasha (a real NER model)
def test_every_redaction_decision_is_audited(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    table = redactions.decide(vault_editor, CASE, Decisions(add=[("PER", "Ахмед")]))
    (entry,) = [e for e in table.entries.values() if e.text == "Ахмед"]
    assert entry.decision == "accepted"
    redactions.decide(vault_editor, CASE, Decisions(pseudonyms={entry.id: "Witness B"}))
    assert redactions.load_table(vault_editor, CASE).get(entry.id).pseudonym == "Witness B"
    decided = [r for r in audit_view.rows(vault_editor) if r.action == "redactions_decided"]
    assert len(decided) == 2 and all(r.case == CASE for r in decided)
    assert "Ахмед" not in " ".join(r.details for r in decided)  # counts only, never the names


# --- approval and the audit view ---------------------------------------------------------------------------


def test_readiness_names_what_blocks_approval(vault_editor: Any, vault_clip: Path) -> None:
    _processed(vault_editor, vault_clip)
    ready = approval.readiness(vault_editor.load(CASE))
    assert (ready.total, ready.reviewed, ready.untranscribed, ready.no_english) == (4, 0, 1, 1)
    assert [p.kind for p in ready.problems] == ["untranscribed", "no_english", "unreviewed"]
    assert ready.blockers[0] == "1 stretch(es) of speech nobody has transcribed yet: #3 at 00:02 (id s3)"
    assert ready.blockers[2].startswith("4 segment(s) not marked reviewed: #1 at 00:00 (id s1), #2 at 00:01 (id s2)")
    assert ready.warnings == ["2 segment(s) have machine English nobody corrected"]
    with pytest.raises(tm.LockedError):
        approval.approve(vault_editor, CASE, mark_reviewed=True)  # marks what it may, the gap still blocks


def test_audit_rows_are_the_same_for_both_shells(vault_editor: Any, vault_clip: Path, cli: Any) -> None:
    _processed(vault_editor, vault_clip)
    rows = audit_view.rows(vault_editor)
    ingested = next(r for r in rows if r.action == "recording_ingested")
    assert ingested.case == CASE and ingested.user == "edna" and "sha256=" in ingested.details
    r = cli("audit")
    printed = next(line for line in r.output.splitlines() if "\trecording_ingested\t" in line)
    assert printed == "\t".join((ingested.when, "edna", "recording_ingested", CASE, ingested.details))


def test_vault_processing_diarizes_unless_told_not_to(vault_editor: Any) -> None:
    assert processing.build_options(vault_editor, {}).diarize is True
    assert processing.build_options(vault_editor, {"diarize": False}).diarize is False
    assert processing.options_from_settings({}).diarize is False  # `workstation transcribe` asks with --diarize


def test_the_runner_is_this_computer_unless_a_cluster_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert processing.runner_for("") is processing.sealed_runner
    with pytest.raises(WorkstationError, match="certificate folder"):
        processing.runner_for("tls://127.0.0.1:8786")
    monkeypatch.setenv("WORKSTATION_CLUSTER_FALLBACK", "sometimes")
    with pytest.raises(WorkstationError, match="WORKSTATION_CLUSTER_FALLBACK must be one of wait, local, fail"):
        processing.default_runner()
    monkeypatch.setenv("WORKSTATION_CLUSTER_FALLBACK", "local")
    monkeypatch.setenv("WORKSTATION_CLUSTER", "tls://127.0.0.1:8786")
    monkeypatch.setenv("WORKSTATION_CLUSTER_TLS", str(tmp_path))
    assert processing.default_runner() is not processing.sealed_runner  # the app's queue goes to the cluster


def test_process_all_takes_every_unprocessed_recording(vault_editor: Any, vault_clip: Path, cli: Any) -> None:
    _processed(vault_editor, vault_clip)  # SV-1: processed already
    vault_editor.create_testimony(TestimonyMeta("SV-2"))
    seal_clip(vault_editor, "SV-2", vault_clip.read_bytes(), "clip.wav")
    assert processing.unprocessed(vault_editor) == ["SV-2"]
    r = cli("process")
    assert r.exit_code == 1 and "Name the testimonies to process, or use --all." in str(r.exception)


def test_speakers_found_by_processing_can_be_named_and_assigned(vault_editor: Any, vault_clip: Path, cli: Any) -> None:
    from workstation.speech.diarize import SpeakerTurn

    vault_editor.create_testimony(TestimonyMeta(CASE))
    seal_clip(vault_editor, CASE, vault_clip.read_bytes(), "clip.wav")
    turns = [SpeakerTurn(0.0, 1.0, "SPEAKER_1"), SpeakerTurn(1.0, 2.0, "SPEAKER_2"),
             SpeakerTurn(0.8, 1.1, "SPEAKER_2", overlap=True)]
    vault_editor.store_processing_result(CASE, PipelineResult(
        segments=[Segment(0.0, 1.0, "Вопрос?", id="q", speaker="SPEAKER_1"), Segment(1.0, 2.0, "Ответ.", id="a",
                                                                                   speaker="SPEAKER_2")],
        language="ru", language_probability=1.0, duration_s=2.0, models={"asr": "base"},
        turns=turns, speakers=["SPEAKER_1", "SPEAKER_2"]))
    t = vault_editor.load(CASE)
    assert t.speaker_names == {"SPEAKER_1": "Speaker 1", "SPEAKER_2": "Speaker 2"}
    assert vault_editor.load_extra(CASE, "speakers") == {"turns": [turn.to_dict() for turn in turns]}
    r = cli("speaker", CASE, "SPEAKER_1", "Interviewer")
    assert r.exit_code == 0, r.output
    r = cli("segment", "edit", CASE, "a", "--speaker", "SPEAKER_1", "--revision", "0")
    assert r.exit_code == 0, r.output
    t = vault_editor.load(CASE)
    assert t.speaker_names["SPEAKER_1"] == "Interviewer" and t.segment("a").speaker == "SPEAKER_1"
