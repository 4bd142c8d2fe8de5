"""Redacted audio, checked by ear — the real Whisper base model transcribes the exported WAV: the redacted
place names are gone, the rest of the sentence is still there."""

from __future__ import annotations

import io
import json
import wave

import pytest

from tests.fixtures_export import store_sample
from workstation.evidence import redact as rd
from workstation.services import redactions
from workstation.evidence.render import export_testimony

CLIP = "wav/voxforge_tiny_ru_0032.wav"  # "... перелёт из москвы в берлин"
CASE = "TW-AUDIO-1"


@pytest.fixture(scope="module")
def transcriber():
    from workstation.speech.asr import Transcriber

    return Transcriber("base", device="cpu")


def _transcript(transcriber, data: bytes) -> str:
    from workstation.speech import media

    return " ".join(s.ru for s in transcriber.transcribe(media.decode(data), language="ru")).lower()


@pytest.mark.slow
def test_redacted_audio_no_longer_says_the_names(vault_editor, eval_asr_dir, transcriber, tmp_path):
    from workstation.speech import media

    recording = (eval_asr_dir / CLIP).read_bytes()
    segments = transcriber.transcribe(media.decode(recording), language="ru")
    before = " ".join(s.ru for s in segments).lower()
    assert "москв" in before and "берлин" in before  # control: Whisper hears them in the original
    for seg in segments:
        seg.en = "In a few years, a trip to Mars will be no harder than a flight from Moscow to Berlin."
    store_sample(vault_editor, approved=True, recording=recording, segments=segments, case=CASE)

    table, _ = redactions.refresh_table(vault_editor, CASE)
    wanted = {"Москва", "Берлин"}
    for e in list(table.entries.values()):
        (table.accept if e.lemma in wanted else table.reject)(e.id)
    assert {e.lemma for e in table.accepted()} == wanted
    table.add_variant(rd.suggestion_id("LOC", "Москва"), "Moscow")  # an exonym no transliteration yields
    redactions.save_table(vault_editor, CASE, table)

    result = export_testimony(vault_editor, CASE, tmp_path / "out", "audio,json", redact=True)
    wav = (tmp_path / "out" / f"{CASE}_redacted.wav").read_bytes()
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 16000)
        assert abs(w.getnframes() / 16000 - media.probe(recording).duration_s) < 0.1
    kinds = {f["name"]: f["kind"] for f in result.manifest["files"]}
    assert kinds[f"{CASE}_redacted.wav"] == "audio-redacted"

    after = _transcript(transcriber, wav)
    assert "москв" not in after and "moskv" not in after and "берлин" not in after, after
    assert "путешеств" in after or "несколько" in after, after  # the rest is still speech Whisper understands
    text = json.dumps(json.loads((tmp_path / "out" / f"{CASE}.json").read_bytes()), ensure_ascii=False)
    for form in ("Москв", "Берлин", "Moscow", "Berlin", "Moskv"):
        assert form.lower() not in text.lower()
