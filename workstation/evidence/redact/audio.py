"""Audio redaction: time spans of a recording replaced by a tone or silence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workstation.evidence.redact.table import RedactionError


def merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, overlapping or touching spans joined."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_audio(
    samples: np.ndarray,
    spans: Sequence[tuple[float, float]],
    *,
    sample_rate: int = 16000,
    mode: str = "tone",
    pad_s: float = 0.12,
    tone_hz: float = 1000.0,
) -> np.ndarray:
    """A copy of mono audio with each span (padded: word timestamps are approximate) replaced by a tone or silence."""
    if mode not in ("tone", "silence"):
        raise RedactionError(f"Audio redaction mode must be 'tone' or 'silence', not {mode!r}.")
    out = np.array(samples, dtype=np.float32, copy=True)
    for start, end in merge_spans([(max(0.0, s - pad_s), e + pad_s) for s, e in spans]):
        a, b = int(start * sample_rate), min(len(out), int(np.ceil(end * sample_rate)))
        if b <= a:
            continue
        if mode == "silence":
            out[a:b] = 0.0
            continue
        t = np.arange(b - a, dtype=np.float32) / sample_rate
        tone = 0.2 * np.sin(2 * np.pi * tone_hz * t).astype(np.float32)
        fade = min(len(tone) // 2, int(0.005 * sample_rate))  # 5 ms ramps: no clicks
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        out[a:b] = tone
    return out
