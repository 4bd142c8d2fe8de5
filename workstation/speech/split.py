"""Cut a recording into windows at silences, for processing the windows on different machines (the cluster).

Each window is processed on its own by the same pipeline as a whole recording, so a cut must never fall in
speech: a word cut in two would be lost or heard twice. The cut points are therefore chosen only in the
silences Silero VAD finds (`asr.find_speech`, the same detector the recogniser uses), between two stretches
of speech, at the middle of the gap nearest to the target length. Where the search region holds no such gap
(long speech without a pause), the window simply grows until one comes: a long window is slow, a cut word
is wrong.

VAD runs only over the search region around each cut (a fraction of the recording), on decoded audio held
one window at a time: memory stays that of one window whatever the length of the recording. Runs inside the
sealed worker (`sealed.split`): decoding is parsing untrusted media.

The windows are 16-bit PCM FLAC, 16 kHz mono: lossless for what the recogniser sees, apart from the 16-bit
rounding of the decoded samples (about -96 dB), and about half the size of WAV on the wire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from workstation.speech import media
from workstation.speech.asr import SAMPLE_RATE, _check_cancel, find_speech

MIN_GAP_S = 0.3  # a gap between two VAD speech stretches (already padded by 0.3 s each side) to cut in
SEARCH_S = 30.0  # look for a gap this far either side of the target length
CONTEXT_S = 2.0  # VAD sees this much more audio either side of the search region
MARGIN_S = 0.15  # a cut stays this far inside a silence (VAD already pads speech by 0.3 s)
MIN_TAIL_FRACTION = 0.25  # never leave a last window shorter than a quarter of the target


@dataclass(frozen=True)
class Window:
    index: int
    start_s: float
    end_s: float
    audio: bytes  # FLAC, 16 kHz mono PCM_16

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def target_length(duration_s: float, parts: int, min_s: float, max_s: float) -> float:
    """The window length that shares a recording between `parts` workers, within [min_s, max_s]."""
    if parts <= 1 or duration_s <= 0:
        return max(min_s, min(max_s, duration_s or max_s))
    return max(min_s, min(max_s, duration_s / parts))


def silent_cut(audio: np.ndarray, lo: int, hi: int, target: int) -> int | None:
    """A sample index in audio[lo:hi], as near `target` as possible, inside a silence that VAD found; None
    when the region holds none. VAD sees `CONTEXT_S` more audio either side, so a stretch of speech that
    began before the region (or goes on after it) is seen as speech, never as a silent edge."""
    context = int(CONTEXT_S * SAMPLE_RATE)
    lo, hi = max(0, lo), min(audio.size, hi)
    ext_lo, ext_hi = max(0, lo - context), min(audio.size, hi + context)
    speech = [(ext_lo + a, ext_lo + b) for a, b in find_speech(audio[ext_lo:ext_hi])]
    margin = int(MARGIN_S * SAMPLE_RATE)
    # silences: before the first stretch, between stretches, after the last one (edges of the audio
    # seen by VAD count as speech unless they are the recording's own start or end of what has arrived)
    bounds = [ext_lo if ext_lo == 0 else ext_lo + context] + [x for span in speech for x in span] + [ext_hi]
    best: int | None = None
    for g0, g1 in zip(bounds[::2], bounds[1::2]):
        first, last = max(lo, g0 + margin), min(hi, g1 - margin)
        if last - first < 0 or g1 - g0 < int(MIN_GAP_S * SAMPLE_RATE):
            continue
        cut = min(max(target, first), last)
        if best is None or abs(cut - target) < abs(best - target):
            best = cut
    return best


def iter_windows(data: bytes, target_s: float, cancel: threading.Event | None = None) -> Iterator[Window]:
    """Windows of about `target_s` seconds, cut only in silences; the last one holds the rest."""
    target = int(target_s * SAMPLE_RATE)
    search = int(min(SEARCH_S, target_s / 4) * SAMPLE_RATE)
    lookahead = search + int(CONTEXT_S * SAMPLE_RATE) + int(target_s * MIN_TAIL_FRACTION * SAMPLE_RATE)
    buf = np.zeros(0, dtype=np.float32)
    offset, index, probe = 0, 0, target
    for block in media.iter_decode(data, chunk_s=30.0):
        _check_cancel(cancel)
        buf = np.concatenate([buf, block])
        while buf.size >= probe + lookahead:
            cut = silent_cut(buf, probe - search, probe + search, probe)
            if cut is None or cut <= 0:
                probe += search  # no silence there: look further on (the window grows, no word is cut)
                continue
            yield _window(index, offset, buf[:cut])
            index, offset, probe = index + 1, offset + cut, target
            buf = buf[cut:].copy()
    if buf.size:
        yield _window(index, offset, buf)


def _window(index: int, offset: int, samples: np.ndarray) -> Window:
    return Window(index, offset / SAMPLE_RATE, (offset + samples.size) / SAMPLE_RATE,
                  media.wav_bytes(samples, fmt="FLAC"))
