"""Two-speaker "interviews" built from the eval clips, with a reference of who speaks when.

Used by tests/test_diarize.py and scripts/bench_diarize.py (plain functions, no pytest).

Speakers. The eval README does not name speakers; the VoxForge clips come from three folders of the source
dataset (tiny-train ru_0002–0004, tiny-dev ru_0030–0032, tiny-test ru_0052–0054), and within each folder the
voice is the same: median pitch about 100, 120 and 140 Hz (autocorrelation, per clip), and the folders are told
apart by ear. The Golos clips are 15 different crowd-sourced voices, so none of them is used as one "speaker".
Three male voices: a fair test, since same-gender pairs are the harder case.

A conversation alternates the two speakers turn by turn (each turn one clip, sometimes two, with the clip's own
silence trimmed to its speech), pauses of quiet room noise between turns, and one stretch where the next speaker
starts before the other has finished (overlap). Levels: the source clips differ by 28 dB (tiny-dev is recorded
at -46 dBFS, the others at -17 to -19), which no one microphone in one room would give, so every clip's speech
is brought to -20 dBFS, then each speaker gets a fixed offset (±4 dB: one sits nearer the microphone) and each
clip a random ±2 dB. The material is small (19–29 s
per speaker), so clips repeat: a diarizer hears identical audio many times, which makes the task easier than a
real interview. Benchmarks must say so.
"""

from __future__ import annotations

import csv
import io
import random
import wave
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

SR = 16000
SPEAKER_CLIPS: dict[str, tuple[str, ...]] = {
    "A": ("voxforge_tiny_ru_0002", "voxforge_tiny_ru_0003", "voxforge_tiny_ru_0004"),
    "B": ("voxforge_tiny_ru_0030", "voxforge_tiny_ru_0031", "voxforge_tiny_ru_0032"),
    "C": ("voxforge_tiny_ru_0052", "voxforge_tiny_ru_0053", "voxforge_tiny_ru_0054"),
}
NOISE_RMS = 0.0005  # -66 dBFS, as scripts/bench_asr.py
SPEECH_DBFS = -20.0
PAUSE_S = 0.5  # a pause this long inside a clip is not speech in the reference (shorter ones are)


@dataclass(frozen=True)
class Clip:
    name: str
    speaker: str
    samples: np.ndarray  # trimmed to its speech
    reference: str
    speech: tuple[tuple[float, float], ...]  # seconds within `samples`; pauses of ≥ PAUSE_S inside are not speech

    def speech_gain(self, dbfs: float = SPEECH_DBFS) -> float:
        """The gain that brings this clip's speech (not its pauses) to `dbfs` RMS."""
        speech = np.concatenate([self.samples[int(a * SR) : int(b * SR)] for a, b in self.speech])
        return float(10 ** (dbfs / 20) / max(1e-6, np.sqrt(np.mean(np.square(speech, dtype=np.float64)))))


@dataclass(frozen=True)
class RefTurn:
    start: float
    end: float
    speaker: str
    text: str
    speech: tuple[tuple[float, float], ...] = ()  # the spans of speech inside the turn (recording seconds)


@dataclass
class Conversation:
    samples: np.ndarray
    turns: list[RefTurn] = field(default_factory=list)  # in order of start; two may overlap

    @property
    def duration_s(self) -> float:
        return self.samples.size / SR

    def wav_bytes(self) -> bytes:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SR)
            out.writeframes((np.clip(self.samples, -1, 1) * 32767).astype("<i2").tobytes())
        return buf.getvalue()

    def speech(self) -> list[tuple[float, float, str]]:
        """(start, end, speaker) of every stretch of reference speech: what DER is scored on."""
        return [(a, b, t.speaker) for t in self.turns for a, b in t.speech]

    def reference_text(self) -> str:
        return " ".join(t.text for t in sorted(self.turns, key=lambda t: t.start))


def _band_levels(samples: np.ndarray, frame: int) -> np.ndarray:
    count = samples.size // frame
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1 / SR)
    return 10 * np.log10(spectrum[:, (freqs >= 300) & (freqs <= 4000)].sum(axis=1) + 1e-12)


def speech_in_clip(samples: np.ndarray, frame: int = SR // 100) -> tuple[np.ndarray, tuple[tuple[float, float], ...]]:
    """The clip cut to its speech (30 ms kept either side) and the spans of speech inside it (seconds).

    Speech is judged on the 300–4000 Hz band, 10 ms at a time: above the band's floor (10th percentile) + 8 dB
    and within 35 dB of its loudest frame; pauses shorter than `PAUSE_S` count as speech, as an annotator marks
    a turn. Broadband energy would not do: the tiny-test clips carry a 200 Hz hum as loud as the voice.
    """
    level = _band_levels(samples, frame)
    loud = level > max(np.percentile(level, 10) + 8.0, level.max() - 35.0)
    spans: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if spans and i - spans[-1][1] < PAUSE_S * SR / frame:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    spans = [sp for sp in spans if sp[1] - sp[0] >= 10] or spans  # blips under 0.1 s are clicks
    first, last = max(0, spans[0][0] - 3), min(level.size, spans[-1][1] + 3)
    speech = tuple(((a - first) * frame / SR, (b - first) * frame / SR) for a, b in spans)
    return samples[first * frame : last * frame].copy(), speech


def load_clips(eval_asr: Path) -> dict[str, list[Clip]]:
    """The clips of speakers A, B and C, trimmed to their speech, keyed by speaker."""
    import soundfile as sf

    with open(eval_asr / "manifest.csv", encoding="utf-8") as fh:
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(fh)}
    clips: dict[str, list[Clip]] = {}
    for speaker, names in SPEAKER_CLIPS.items():
        for name in names:
            samples, rate = sf.read(eval_asr / rows[name]["file"], dtype="float32")
            assert rate == SR, f"{name}: {rate} Hz"
            trimmed, speech = speech_in_clip(samples)
            clips.setdefault(speaker, []).append(Clip(name, speaker, trimmed, rows[name]["reference"], speech))
    return clips


def _noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return (rng.standard_normal(int(seconds * SR)) * NOISE_RMS).astype(np.float32)


def build(
    clips: dict[str, list[Clip]],
    speakers: tuple[str, str],
    *,
    seed: int,
    min_minutes: float,
    min_turns: int = 0,
    pauses: tuple[float, float] = (0.4, 1.5),
    overlap_s: float = 1.5,
    second_clip_chance: float = 0.25,
) -> Conversation:
    """Alternate `speakers` turn by turn until the recording is ≥ `min_minutes` long and has ≥ `min_turns` turns.

    One stretch of overlap (`overlap_s`, 0 for none) about half-way: that turn starts before the previous ends.
    """
    rng, noise_rng = random.Random(seed), np.random.default_rng(seed)
    offset_db = {speaker: rng.uniform(-4.0, 4.0) for speaker in speakers}
    pieces: list[tuple[int, np.ndarray]] = []  # (start sample, samples), mixed at the end
    turns: list[RefTurn] = []
    cursor = int(0.5 * SR)
    last_clip: dict[str, str] = {}
    overlap_at = None
    while cursor < min_minutes * 60 * SR or len(turns) < min_turns:
        speaker = speakers[len(turns) % 2]
        chosen = _pick(clips[speaker], rng, last_clip.get(speaker), 2 if rng.random() < second_clip_chance else 1)
        last_clip[speaker] = chosen[-1].name
        start = cursor
        if overlap_at is None and overlap_s > 0 and cursor > min_minutes * 30 * SR and turns:
            start = max(int((turns[-1].start + 1.0) * SR), int((turns[-1].end - overlap_s) * SR))
            overlap_at = start
        position = start
        texts: list[str] = []
        speech: list[tuple[float, float]] = []
        for i, clip in enumerate(chosen):
            if i:
                position += int(rng.uniform(0.15, 0.3) * SR)
            gain = clip.speech_gain() * 10 ** ((offset_db[speaker] + rng.uniform(-2.0, 2.0)) / 20)
            pieces.append((position, clip.samples * gain))
            speech.extend((position / SR + a, position / SR + b) for a, b in clip.speech)
            position += clip.samples.size
            texts.append(clip.reference)
        turns.append(RefTurn(start / SR, position / SR, speaker, " ".join(texts), _joined(speech)))
        cursor = max(cursor, position) + int(rng.uniform(*pauses) * SR)
    total = cursor + int(0.5 * SR)
    mix = _noise(noise_rng, total / SR)
    mix = np.pad(mix, (0, max(0, total - mix.size)))
    for position, samples in pieces:
        mix[position : position + samples.size] += samples
    return Conversation(mix.astype(np.float32), turns)


def _joined(spans: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if out and a - out[-1][1] < PAUSE_S:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


def _pick(pool: list[Clip], rng: random.Random, avoid: str | None, count: int) -> list[Clip]:
    """`count` clips of one speaker, never starting with the clip that speaker said last (no exact repeats)."""
    choices = [c for c in pool if c.name != avoid] or pool
    first = rng.choice(choices)
    rest = [c for c in pool if c.name != first.name]
    return [first] + rng.sample(rest, min(count - 1, len(rest)))


def one_speaker(clips: dict[str, list[Clip]], speaker: str, *, seed: int, min_seconds: float) -> Conversation:
    """One voice, clip after clip with pauses: a monologue."""
    conversation = build({speaker: clips[speaker], "_": clips[speaker]}, (speaker, "_"), seed=seed,
                         min_minutes=min_seconds / 60, overlap_s=0.0)
    conversation.turns = [replace(t, speaker=speaker) for t in conversation.turns]
    return conversation
