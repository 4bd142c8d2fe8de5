"""run_pipeline end to end with the real model: windows on a longer recording, the Whisper speech-translation
fallback (1:1, labelled), re-translation, cancellation, errors before any model work, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.fixtures_pipeline import SR
from workstation.cli.main import app
from workstation.domain.testimony import EnglishRoute
from workstation.platform import offline
from workstation.speech import media, pipeline
from workstation.speech.asr import PipelineCancelled


@pytest.fixture(scope="module")
def joined_recording(eval_clips) -> bytes:
    """About 80 s: the first 12 eval clips with 1.5 s pauses of room noise, as an in-memory MP3."""
    from tests.fixtures_pipeline import encode_audio

    rng = np.random.default_rng(4)
    parts = []
    for clip in eval_clips[:12]:
        parts += [(rng.standard_normal(int(1.5 * SR)) * 0.0005).astype(np.float32), media.decode(clip.data)]
    return encode_audio(np.concatenate(parts), "mp3", "libmp3lame")


@pytest.fixture(scope="module")
def whisper_route_result(whisper_base, joined_recording):
    if pipeline.english_route() is not EnglishRoute.WHISPER:
        pytest.skip("an Argos package is installed here; the Whisper fallback route is not used")
    reports: list[tuple[float, str]] = []
    options = pipeline.PipelineOptions(translate=True, device="cpu", window_s=30.0)  # several windows
    result = pipeline.run_pipeline(joined_recording, options, progress=lambda f, s: reports.append((f, s)))
    return result, reports


@pytest.mark.slow
def test_whisper_translation_fallback_is_aligned_and_labelled(whisper_route_result):
    result, reports = whisper_route_result
    assert len(result.segments) >= 8
    translated = [s for s in result.segments if s.en]
    assert len(translated) >= len(result.segments) * 0.8
    for seg in result.segments:
        assert seg.en_route is (EnglishRoute.WHISPER if seg.en else EnglishRoute.NONE)
        assert not seg.en_stale
    # English, not Russian: Latin letters, (almost) no Cyrillic.
    english = " ".join(s.en for s in translated)
    latin = sum(ch.isascii() and ch.isalpha() for ch in english)
    cyrillic = sum("а" <= ch.lower() <= "я" for ch in english)
    assert latin > 10 * max(1, cyrillic)
    assert result.models["en_route"] == "whisper-translate"
    assert any("Whisper speech translation" in stage for _, stage in reports)
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.slow
def test_windows_keep_time_order_and_cover_the_recording(whisper_route_result, joined_recording):
    result, _ = whisper_route_result
    duration = media.probe(joined_recording).duration_s
    assert result.duration_s == pytest.approx(duration, abs=0.2)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(result.segments, result.segments[1:]))
    assert result.segments[-1].end > duration - 15  # the last windows were transcribed too
    assert len({s.id for s in result.segments}) == len(result.segments)


@pytest.mark.slow
def test_retranslate_with_whisper_needs_and_uses_the_audio(whisper_route_result, joined_recording):
    result, _ = whisper_route_result
    chosen = result.segments[2:5]
    with pytest.raises(pipeline.PipelineError, match="recording"):
        pipeline.retranslate(chosen, None, pipeline.PipelineOptions(device="cpu"))
    again = pipeline.retranslate(chosen, None, pipeline.PipelineOptions(device="cpu"), audio=joined_recording)
    assert len(again) == len(chosen)
    assert all(route is EnglishRoute.WHISPER for text, route in again if text)
    assert sum(1 for text, _ in again if text) >= 2
    assert pipeline.retranslate([], None) == []


@pytest.mark.slow
def test_cancel_before_start_and_midway(whisper_base, joined_recording):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PipelineCancelled, match="cancelled"):
        pipeline.run_pipeline(joined_recording, pipeline.PipelineOptions(device="cpu"), cancel=cancel)

    cancel = threading.Event()
    seen: list[float] = []

    def progress(fraction: float, stage: str) -> None:
        seen.append(fraction)
        if fraction > 0.05:
            cancel.set()

    options = pipeline.PipelineOptions(device="cpu", translate=False, window_s=20.0)
    with pytest.raises(PipelineCancelled):
        pipeline.run_pipeline(joined_recording, options, progress=progress, cancel=cancel)
    assert seen and max(seen) < 0.9  # it stopped early instead of finishing the work


def test_bad_input_fails_before_any_model_is_needed(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path / "no-models"))
    with pytest.raises(media.NotAudioError):
        pipeline.run_pipeline(b"this is not audio at all" * 100)
    with pytest.raises(media.EmptyMediaError):
        pipeline.run_pipeline(b"")


@pytest.mark.slow
def test_silent_recording_is_refused(whisper_base):
    with pytest.raises(media.SilentMediaError):
        pipeline.run_pipeline(media.wav_bytes(np.zeros(SR * 3, np.float32)), pipeline.PipelineOptions(device="cpu"))


def test_missing_model_is_a_clear_error(tmp_path, monkeypatch, eval_clips):
    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path / "no-models"))
    from workstation.speech.models import ModelMissingError

    with pytest.raises(ModelMissingError, match="workstation models install"):
        pipeline.run_pipeline(eval_clips[0].data)


def test_no_network_was_attempted_by_the_pipeline():
    # The autouse fixture checks each test; this makes the promise explicit for the pipeline module.
    assert offline.is_active()
    assert offline.blocked_attempts() == []


# --- the CLI ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_transcribe_json(whisper_base, eval_asr_dir, eval_clips):
    clip = max(eval_clips, key=lambda c: c.duration_s)
    result = CliRunner().invoke(app, ["transcribe", str(eval_asr_dir / clip.name), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["language"] == "ru" and payload["models"]["asr"] == "base"
    assert payload["segments"] and all(s["ru"] for s in payload["segments"])
    assert all(0 <= s["confidence"] <= 1 and s["words"] for s in payload["segments"])


@pytest.mark.slow
def test_cli_transcribe_text_with_translation(whisper_base, eval_asr_dir, eval_clips):
    if pipeline.english_route() is not EnglishRoute.WHISPER:
        pytest.skip("Argos installed")
    clip = max(eval_clips, key=lambda c: c.duration_s)
    result = CliRunner().invoke(app, ["transcribe", str(eval_asr_dir / clip.name), "--translate"])
    assert result.exit_code == 0, result.output
    assert "ru: " in result.stdout and "en: " in result.stdout and "(whisper-translate)" in result.stdout
    assert "confidence" in result.stdout


@pytest.mark.slow
def test_cli_errors_are_one_clear_line(tmp_path):
    exe = Path(sys.executable).with_name("workstation")
    junk = tmp_path / "notes.txt"
    junk.write_text("не аудио " * 200)
    run = subprocess.run([str(exe), "transcribe", str(junk)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "not an audio or video recording" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == ""
    missing = subprocess.run([str(exe), "transcribe", str(tmp_path / "nope.wav")], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode == 1 and "There is no file" in missing.stderr


# --- with an Argos package installed (the tiny real-format package the MT tests build) --------------


@pytest.mark.slow
def test_argos_route_batched_aligned_and_recorded(argos_models, whisper_base, eval_clips):
    from workstation.domain.glossary import Glossary
    from workstation.speech import models

    assert pipeline.english_route() is EnglishRoute.ARGOS
    clip = max(eval_clips, key=lambda c: c.duration_s)
    result = pipeline.run_pipeline(clip.data, pipeline.PipelineOptions(device="cpu", translate=True))
    assert result.segments
    for seg in result.segments:
        assert seg.en_route is EnglishRoute.ARGOS and seg.en  # random weights, but a real translation call
    assert result.models["en_route"] == "argos" and result.models["mt_name"]
    assert "mt_sha256" in result.models

    # Re-translation goes through Argos with the glossary honoured (no audio needed).
    word = max((w.text.strip(" ,.?!") for s in result.segments for w in s.words), key=len)
    again = pipeline.retranslate(result.segments, Glossary(terms={word: "GLOSSARYTERM"}))
    assert len(again) == len(result.segments)
    assert all(route is EnglishRoute.ARGOS for _, route in again)
    assert any("GLOSSARYTERM" in text for text, _ in again)

    listed = {m.kind: m for m in models.list_models()}
    assert listed["argos"].used_for.startswith("English (Argos") and listed["argos"].sha256
    assert "Argos" in models.english_route_description()


# --- language detection -------------------------------------------------------------------------


@pytest.mark.slow
def test_english_recording_gets_a_warning_but_is_still_processed(whisper_base):
    from tests.fixtures_pipeline import english_speech

    options = pipeline.PipelineOptions(device="cpu", translate=False, detect_language=True)
    result = pipeline.run_pipeline(english_speech(), options)
    assert any("does not sound Russian" in w and "'en'" in w for w in result.warnings)
    assert result.language == "ru" and result.language_probability < 0.1  # transcribed as asked, flagged
    assert result.segments

    auto = pipeline.run_pipeline(english_speech(), pipeline.PipelineOptions(device="cpu", translate=False,
                                                                            language=None))
    assert auto.language == "en" and auto.language_probability > 0.5
    assert "morning" in " ".join(s.ru for s in auto.segments).lower()


@pytest.mark.slow
def test_russian_recording_and_noise_get_no_language_warning(whisper_base, eval_clips):
    options = pipeline.PipelineOptions(device="cpu", translate=False, detect_language=True)
    clip = max(eval_clips, key=lambda c: c.duration_s)
    result = pipeline.run_pipeline(clip.data, options)
    assert result.warnings == [] and result.language_probability > 0.5
    rng = np.random.default_rng(9)
    noise = media.wav_bytes((rng.standard_normal(SR * 12) * 0.003).astype(np.float32))
    quiet = pipeline.run_pipeline(noise, options)
    assert quiet.segments == [] and quiet.warnings == ["No speech was found in the recording."]


def test_windows_never_leave_a_sliver_and_cover_the_recording():
    """A recording just over a window length stays one window; longer ones are cut, none shorter than the tail."""
    import numpy as np

    from workstation.speech import media

    rng = np.random.default_rng(3)
    sr = 16000

    def spans(seconds: float, window_s: float) -> list[tuple[float, float]]:
        samples = (rng.standard_normal(int(seconds * sr)) * 0.05).astype(np.float32)
        data = media.wav_bytes(samples, sr)
        return [(offset, audio.size / sr) for offset, audio in pipeline._windows(data, window_s, None)]

    just_over = spans(64.0, 60.0)  # 4 s over: one window, not 60 s + a 4 s sliver
    assert len(just_over) == 1 and abs(just_over[0][1] - 64.0) < 0.1

    several = spans(200.0, 60.0)
    tail = min(pipeline.MIN_TAIL_S, 60.0 / 4)
    assert len(several) >= 3
    assert all(length >= tail for _offset, length in several)
    ends = [offset + length for offset, length in several]
    assert all(abs(ends[i] - several[i + 1][0]) < 1e-6 for i in range(len(several) - 1))  # contiguous
    assert abs(ends[-1] - 200.0) < 0.1
