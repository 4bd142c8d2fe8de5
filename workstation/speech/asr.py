"""Speech recognition with faster-whisper: Russian audio → `Segment`s with words, times and confidences.

Why it is built this way:
- Batched inference (`BatchedInferencePipeline`) over the speech found by Silero VAD: pauses are never
  decoded, and several 30-second chunks go through the encoder and decoder at once. This is what makes a
  long interview several times faster than calling `WhisperModel.transcribe` with defaults.
- Guards against Whisper's two classic failures: repetition loops (a phrase repeated dozens of times) and
  text invented over silence ("Субтитры сделал ..."). Each chunk is decoded on its own (no conditioning on
  the previous text, so a loop cannot spread); segments that look like silence to the model are dropped;
  runs of a repeated word group are collapsed; known subtitle-credit phrases are removed.
- Confidence: every word carries Whisper's probability; a segment's confidence is the mean of its words'.
- Long segments (Whisper chunks reach 30 s) are split at sentence ends and pauses using the word times,
  so a translator reviews sentence-sized pieces.
- Models load once per process (`_MODEL_CACHE`) and only from a local folder (never a hub download).
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from workstation.domain.testimony import EnglishRoute, Segment, Word
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.speech import coverage, models
from workstation.speech.media import SAMPLE_RATE
from workstation.speech.models import ModelCorruptError

log = logging.getLogger(__name__)

MAX_CLIP_S = 30.0  # Whisper's window
NO_SPEECH_PROB = 0.6  # with LOW_LOGPROB: Whisper's own "this was silence" rule
LOW_LOGPROB = -1.0
LOOP_RATIO = 2.4  # compression ratio above which a segment is checked for loops
SPLIT_MIN_S = 4.0  # do not cut segments shorter than this
SPLIT_TARGET_S = 12.0  # above this, a segment is cut at a sentence end or a pause
PAUSE_S = 0.8
# Silero VAD: a pause of half a second ends a stretch of speech, padded by 0.3 s either side.
VAD_PARAMETERS: dict[str, Any] = {"min_silence_duration_ms": 500, "speech_pad_ms": 300}
SHORT_SPEECH_S = 0.5  # a stretch of speech with no word at all is looked at from this long ("Да.")
ECHO_S = 1.0  # a repaired word this close to a known word with the same text is that word again
REDECODE_PAD_S = 0.5  # context either side of an uncovered stretch when it is decoded again
# Phrases Whisper invents over silence and music (learned from subtitle files); never said in an interview.
HALLUCINATION_PATTERNS = re.compile(
    r"(субтитр|dimatorzok|корректор\s+а\.?\s*егорова|редактор\s+субтитров|продолжение\s+следует\.{0,3}$|"
    r"подписывайтесь\s+на\s+(наш\s+)?канал|спасибо\s+за\s+просмотр|amara\.org|subtitles\s+by)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"»)]*$")


class PipelineCancelled(WorkstationError):
    """Processing was cancelled by the user; nothing was saved."""


class AsrError(WorkstationError):
    """The speech model could not be loaded or run."""


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    probability: float  # of the detected language
    russian: float  # probability that it is Russian


ProgressFn = Callable[[float], None]
T = TypeVar("T")

_MODEL_CACHE: dict[tuple[str, str, str, int, int], Any] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """("cuda", "float16") when a GPU is there, ("cpu", "int8") otherwise; explicit values win."""
    if device in ("", "auto"):
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:
            device = "cpu"
    if compute_type in ("", "auto"):
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def load_whisper(path: Path, device: str, compute_type: str, cpu_threads: int, workers: int = 1) -> Any:
    """A faster-whisper model from a local folder, loaded once per process for these settings.

    `workers` > 1 lets that many threads run the model at the same time (CTranslate2 inter_threads), each
    with `cpu_threads` threads of its own.
    """
    key = (str(path), device, compute_type, cpu_threads, workers)
    with _CACHE_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is None:
            from faster_whisper import WhisperModel


            try:
                model = WhisperModel(
                    str(path), device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                    num_workers=workers, local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                if device == "cuda" and "cuda" in str(exc).lower():
                    raise AsrError(
                        f"The GPU could not be used ({exc}). Set WORKSTATION_DEVICE=cpu to run on the processor."
                    ) from exc
                raise ModelCorruptError(
                    f"The Whisper model in {path} cannot be loaded ({exc}); it is damaged or not a CTranslate2 "
                    "Whisper model. Copy it again, or run `workstation models install` for the default model."
                ) from exc
            _MODEL_CACHE[key] = model
        return model


def plan_workers(device: str, cpu_threads: int) -> tuple[int, int]:
    """(workers, threads per worker). On CPU two half-size workers beat one full-size one by about 1.3x:
    greedy decoding of a small model cannot keep several cores busy, two independent streams can."""
    if device != "cpu" or cpu_threads < 2:
        return 1, max(1, cpu_threads)
    return 2, max(1, cpu_threads // 2)


def quiet_cut(audio: np.ndarray, lo: int, hi: int, frame: int = SAMPLE_RATE // 4) -> int:
    """The sample index in the middle of the quietest quarter second of audio[lo:hi] (a place to cut)."""
    lo, hi = max(0, lo), min(audio.size, hi)
    region = audio[lo:hi]
    count = region.size // frame
    if count < 2:
        return hi
    energy = np.square(region[: count * frame].reshape(count, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


# --- speech map: where the speech is, and how it is packed into Whisper windows ------------------


def find_speech(audio: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges that Silero VAD calls speech, none longer than one Whisper window."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=MAX_CLIP_S, **VAD_PARAMETERS)
    return [(int(s["start"]), int(s["end"])) for s in get_speech_timestamps(audio, options)]


@dataclass(frozen=True)
class SpeechChunk:
    """Speech spans (sample ranges of the audio) laid end to end into one ≤ 30 s Whisper window.

    `compact_start` is where the chunk begins in the compacted audio (all spans end to end, pauses left
    out): decoding only speech is what makes batching pay, and the pauses cannot be hallucinated over.
    """

    spans: tuple[tuple[int, int], ...]
    compact_start: int

    @property
    def size(self) -> int:
        return sum(b - a for a, b in self.spans)

    def clip(self) -> dict[str, float]:
        """This chunk as a faster-whisper clip timestamp (seconds of the compacted audio)."""
        return {"start": self.compact_start / SAMPLE_RATE, "end": (self.compact_start + self.size) / SAMPLE_RATE}


def pack_chunks(speech: Sequence[tuple[int, int]], max_s: float = MAX_CLIP_S) -> list[SpeechChunk]:
    """Consecutive spans packed greedily into chunks of at most `max_s` of speech (faster-whisper's rule)."""
    limit = int(max_s * SAMPLE_RATE)
    chunks: list[SpeechChunk] = []
    current: list[tuple[int, int]] = []
    compact = 0
    for span in speech:
        if current and sum(b - a for a, b in current) + span[1] - span[0] > limit:
            chunks.append(SpeechChunk(tuple(current), compact))
            compact += chunks[-1].size
            current = []
        current.append(span)
    if current:
        chunks.append(SpeechChunk(tuple(current), compact))
    return chunks


class CompactTimeline:
    """Maps a time in the compacted audio back to the recording (the inverse of laying spans end to end)."""

    def __init__(self, chunks: Sequence[SpeechChunk]) -> None:
        self.compact: list[int] = []  # where each span starts in the compacted audio
        self.spans: list[tuple[int, int]] = []
        for chunk in chunks:
            cursor = chunk.compact_start
            for span in chunk.spans:
                self.compact.append(cursor)
                self.spans.append(span)
                cursor += span[1] - span[0]

    def original(self, seconds: float, end: bool = False) -> float:
        """Recording seconds for compacted-audio seconds; an end time on a join belongs to the earlier span."""
        sample = seconds * SAMPLE_RATE
        index = (bisect.bisect_left if end else bisect.bisect_right)(self.compact, sample) - 1
        index = min(max(index, 0), len(self.spans) - 1)
        start, stop = self.spans[index]
        return min(start + max(0.0, sample - self.compact[index]), stop) / SAMPLE_RATE


def share_out(count: int, workers: int) -> list[tuple[int, int]]:
    """[(lo, hi)] contiguous index ranges giving `count` chunks to up to `workers` workers, in order.

    The split is over whole chunks, never inside one: each chunk is decoded exactly as it would be by a
    single worker, so splitting cannot lose or duplicate a word at a cut.
    """
    workers = max(1, min(workers, count))
    bounds = [count * k // workers for k in range(workers + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(workers) if bounds[k + 1] > bounds[k]]


def untranscribed_segment(start: float, end: float) -> Segment:
    """An explicit marker for speech nobody has transcribed yet: the reviewer hears it and types it."""
    return Segment(start=round(start, 3), end=round(end, 3), ru="", confidence=0.0, untranscribed=True)


class Transcriber:
    """One Whisper model with its decoding settings. Thread-compatible: use one call at a time."""

    def __init__(
        self,
        model: str = "base",
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        beam_size: int = 3,
        batch_size: int = 0,
        workers: int = 0,
    ) -> None:

        self.model_name = model
        self.model_path = models.whisper_model_path(model)
        self.device, self.compute_type = resolve_device(device, compute_type)
        self.cpu_threads = cpu_threads or load_settings().cpu_threads
        auto_workers, threads = plan_workers(self.device, self.cpu_threads)
        self.workers = workers or auto_workers
        self.threads_per_worker = threads if not workers else max(1, self.cpu_threads // self.workers)
        self.beam_size = max(1, beam_size)
        # Batch size: on CPU batching barely speeds up (2 was as fast as 4 or 8) but each item costs ~85 MB
        # of encoder activations (peak RSS on 15 minutes: 939 MB with 2, 1388 MB with 4), so keep it
        # small; a GPU wants large batches.
        self.batch_size = batch_size or (16 if self.device == "cuda" else 2)
        self._model = load_whisper(
            self.model_path, self.device, self.compute_type, self.threads_per_worker, self.workers
        )
        self._sha256: str | None = None
        self._solo: Any = None

    @property
    def model_sha256(self) -> str:
        if self._sha256 is None:

            self._sha256 = models.whisper_model_checksum(self.model_path)
        return self._sha256

    @property
    def solo(self) -> Any:
        """The model with all threads on one stream, for work that comes one window at a time (a short
        recording, a repair, language detection): the two single-thread workers would leave a core idle."""
        if self.workers <= 1:
            return self._model
        if self._solo is None:
            self._solo = load_whisper(self.model_path, self.device, self.compute_type, self.cpu_threads, 1)
        return self._solo

    @property
    def whisper(self) -> Any:
        """The underlying faster_whisper.WhisperModel (for benchmarks and tests)."""
        return self._model

    # --- language ---------------------------------------------------------------------------

    def detect_language(self, audio: np.ndarray) -> LanguageGuess:
        """Whisper's guess on the first speech of the recording (up to 90 s of it).

        Without speech there is nothing to judge: probability 0 ("unknown"), never a false alarm.
        """
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        spans = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500, speech_pad_ms=300))
        if not spans:
            return LanguageGuess("ru", 0.0, 0.0)
        chunks, _ = collect_chunks(audio, spans, max_duration=MAX_CLIP_S)
        speech = np.concatenate(chunks)[: int(3 * MAX_CLIP_S * SAMPLE_RATE)]
        language, probability, all_probs = self.solo.detect_language(
            audio=speech, vad_filter=False, language_detection_segments=3
        )
        russian = dict(all_probs or []).get("ru", 1.0 if language == "ru" else 0.0)
        return LanguageGuess(language, float(probability), float(russian))

    # --- transcription ----------------------------------------------------------------------

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str = "ru",
        offset: float = 0.0,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Segment]:
        """Segments of `audio` (16 kHz mono float32); times are seconds + `offset` (its place in the recording).

        Stages: find speech (Silero VAD) → pack it into ≤ 30 s chunks → decode the chunks in batches (with
        several workers, each takes a contiguous share of the *chunks*, so the work is split without cutting
        the audio) → check coverage: every stretch of speech no word accounts for is decoded again on its
        own, and becomes an explicit untranscribed-speech segment if that yields nothing plausible.
        """
        _check_cancel(cancel)
        if audio.size == 0:
            return []
        speech = find_speech(audio)
        chunks = pack_chunks(speech)
        if not chunks:
            if progress:
                progress(1.0)
            return []
        segments = self._decode_chunks(audio, chunks, language, offset, progress, cancel)
        repaired = self.repair_gaps(audio, speech, segments, language=language, offset=offset, cancel=cancel)
        _check_cancel(cancel)
        if progress:
            progress(1.0)
        return _make_monotonic(make_room(segments, repaired) + repaired, offset, offset + audio.size / SAMPLE_RATE)

    def _decode_chunks(
        self,
        audio: np.ndarray,
        chunks: list[SpeechChunk],
        language: str,
        offset: float,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
    ) -> list[Segment]:
        """Batched decoding of every chunk; the chunks are shared out between the workers in order."""
        compact = np.concatenate([audio[a:b] for chunk in chunks for a, b in chunk.spans])
        timeline = CompactTimeline(chunks)
        shares = share_out(len(chunks), self.workers)
        done = [0] * len(shares)
        lock = threading.Lock()

        def run(index: int) -> list[Segment]:
            lo, hi = shares[index]
            clips = [chunk.clip() for chunk in chunks[lo:hi]]
            raw = self._batched(
                compact, language, "transcribe", solo=len(shares) == 1, clip_timestamps=clips, word_timestamps=True,
                # Timestamp tokens let Whisper end each utterance of a chunk packed with several of them (text
                # only, it skipped whole utterances: 12 holes against 4 on the 6-minute tune recording); the
                # text after the last timestamp is kept by _TailKeepingModel.
                without_timestamps=False,
            )
            out: list[Segment] = []
            seen: set[int] = set()  # chunks (by seek) with output so far: one chunk yields several segments
            for fw_segment in raw:  # decoded lazily, one batch at a time: cancel and progress between batches
                _check_cancel(cancel)
                out.extend(_to_segments(fw_segment, lambda t, end=False: timeline.original(t, end) + offset))
                seen.add(fw_segment.seek)
                with lock:  # under the lock: the workers' threads must not deliver progress out of order
                    done[index] = len(seen)
                    if progress:
                        progress(min(1.0, sum(done) / len(chunks)))
            return out

        return [seg for part in _in_parallel(run, len(shares)) for seg in part]

    def repair_gaps(
        self,
        audio: np.ndarray,
        speech: Sequence[tuple[int, int]],
        segments: Sequence[Segment],
        *,
        language: str = "ru",
        offset: float = 0.0,
        cancel: threading.Event | None = None,
    ) -> list[Segment]:
        """New segments for the speech in `speech` (sample ranges of `audio`) that `segments` leave uncovered.

        Each uncovered stretch is decoded again in a window of its own (with a little context either side):
        first all of them together in one batched pass, then what is still empty by sequential decoding with
        temperature fallback. What is still empty or implausible becomes an untranscribed-speech segment.
        """
        spans = [(a / SAMPLE_RATE + offset, b / SAMPLE_RATE + offset) for a, b in speech]
        gaps = self._uncovered(spans, segments)
        if not gaps:
            return []
        log.info("%d stretch(es) of speech not covered by words (%.1f s): decoding them again",
                 len(gaps), sum(b - a for a, b in gaps))
        found = self._redecode_packed(audio, [(a - offset, b - offset) for a, b in gaps], language, offset, cancel)
        known = [w for seg in segments for w in seg.words]
        repaired: list[Segment] = []
        holes: list[tuple[tuple[float, float], float]] = []  # what the packed pass left, with its threshold
        for gap, segs in zip(gaps, found, strict=True):
            # What the packed pass left uncovered (all of a gap, or part of it) is decoded on its own; what
            # that leaves is untranscribed speech. A hole under a second inside worded speech is a breath or
            # a click; a whole stretch of speech with no word is kept down to SHORT_SPEECH_S ("Да." is short).
            min_s = coverage.MIN_GAP_S if gap[1] - gap[0] >= coverage.MIN_GAP_S else SHORT_SPEECH_S
            segs = _without_echoes(segs, known)
            repaired.extend(segs)
            holes.extend((hole, min_s) for hole in _holes(gap, segs, min_s))

        def one_by_one(index: int) -> list[Segment]:  # the two workers take the holes side by side
            (start, end), min_s = holes[index]
            _check_cancel(cancel)
            more = _without_echoes(self._redecode(audio, start - offset, end - offset, language, offset,
                                                  solo=len(holes) == 1), known)
            return more + [untranscribed_segment(*rest) for rest in _holes((start, end), more, min_s)]

        for index in range(0, len(holes), max(1, self.workers)):
            batch = holes[index : index + max(1, self.workers)]
            for part in _in_parallel(partial(_offset_call, one_by_one, index), len(batch)):
                repaired.extend(part)
        return repaired

    @staticmethod
    def _uncovered(spans: list[tuple[float, float]], segments: Sequence[Segment]) -> list[tuple[float, float]]:
        """Holes of a second or more in the words, and whole stretches of speech without any word."""
        words, whole = _covered(segments)
        holes = coverage.uncovered(spans, words, whole=whole) + coverage.silent_spans(spans, [*words, *whole])
        return coverage.merge_intervals(holes)

    @staticmethod
    def _context_window(audio: np.ndarray, start: float, end: float) -> tuple[int, int]:
        """Sample range of a stretch with `REDECODE_PAD_S` of context either side, at most one window long."""
        lo = max(0, int((start - REDECODE_PAD_S) * SAMPLE_RATE))
        hi = min(audio.size, int((end + REDECODE_PAD_S) * SAMPLE_RATE), lo + int(MAX_CLIP_S * SAMPLE_RATE))
        return lo, hi

    def _redecode_packed(
        self,
        audio: np.ndarray,
        gaps: list[tuple[float, float]],
        language: str,
        offset: float,
        cancel: threading.Event | None,
    ) -> list[list[Segment]]:
        """For each gap (audio seconds), the segments a second batched pass finds inside it.

        The gaps, each with a little context, are packed into windows like the first pass (a window costs
        the same whatever it holds, so one window per gap would make repairs as dear as the first pass),
        but with other neighbours than the first time, which is usually what made Whisper skip them.
        """
        merged = coverage.merge_intervals(self._context_window(audio, a, b) for a, b in gaps)
        step = int(MAX_CLIP_S * SAMPLE_RATE)  # merged neighbours can outgrow one window: cut them back
        windows = [(lo, min(hi, lo + step)) for a, b in merged for lo, hi in [(int(a), int(b))] for lo in range(lo, hi, step)]
        chunks = pack_chunks(windows)
        segments = self._decode_chunks(audio, chunks, language, offset, None, cancel)
        words = [w for seg in segments for w in seg.words]
        return [
            _segments_from_words([w for w in words if start + offset <= (w.start + w.end) / 2 <= end + offset])
            for start, end in gaps
        ]

    def _seek(self, clip: dict[str, float]) -> int:
        """The `seek` (in frames) faster-whisper reports for a segment decoded from this clip."""
        return int(int(clip["start"] * SAMPLE_RATE) / SAMPLE_RATE * self._model.frames_per_second)

    def _redecode(
        self, audio: np.ndarray, start: float, end: float, language: str, offset: float, *, solo: bool = False
    ) -> list[Segment]:
        """Plausible segments for audio[start:end] (seconds) from sequential decoding, words inside it only."""
        lo, hi = self._context_window(audio, start, end)
        raw, _info = (self.solo if solo else self._model).transcribe(
            audio[lo:hi], language=language, task="transcribe", beam_size=self.beam_size, word_timestamps=True,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=False,
            temperature=[0.0, 0.4],  # one fallback: noise that fails twice is for a person to hear
        )
        words = [w for fw in raw if _plausible(fw) for w in _words_inside(fw.words or [], lo / SAMPLE_RATE, start, end, offset)]
        return _segments_from_words(words)

    def _batched(self, audio: np.ndarray, language: str, task: str, *, solo: bool = False, **options: Any) -> Any:
        """faster-whisper's batched pipeline with this Transcriber's settings; a lazy segment generator."""
        from faster_whisper import BatchedInferencePipeline

        # One per call/thread (it keeps per-call state), over a model view that keeps each chunk's tail.
        pipeline = BatchedInferencePipeline(_TailKeepingModel(self.solo if solo else self._model))
        raw, _info = pipeline.transcribe(
            audio, language=language, task=task, beam_size=self.beam_size, batch_size=self.batch_size,
            temperature=0.0, log_progress=False, **options,
        )
        return raw

    # --- speech translation (the fallback English route) ------------------------------------

    def translate_spans(
        self,
        audio: np.ndarray,
        spans: Sequence[tuple[float, float]],
        *,
        language: str = "ru",
        offset: float = 0.0,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """English for each (start, end) span of `audio` (times in recording seconds, minus `offset` = audio time).

        One string per span, in order: Whisper's speech translation of exactly that span, so the English
        lines up 1:1 with the Russian segments. Spans longer than 30 s are translated in pieces and joined.
        """
        duration = audio.size / SAMPLE_RATE
        clips: list[dict[str, float]] = []
        owners: list[int] = []
        for index, (start, end) in enumerate(spans):
            lo, hi = max(0.0, start - offset), min(duration, end - offset)
            while hi - lo > 0.05:
                piece_end = min(hi, lo + MAX_CLIP_S)
                clips.append({"start": lo, "end": piece_end})
                owners.append(index)
                lo = piece_end
        if not clips:
            return ["" for _ in spans]
        groups = max(1, min(self.workers, len(clips) // max(1, self.batch_size)))
        bounds = [len(clips) * k // groups for k in range(groups + 1)]
        finished = [0] * groups
        lock = threading.Lock()

        def run(group: int) -> list[str]:
            part = clips[bounds[group] : bounds[group + 1]]

            def tick() -> None:
                with lock:
                    finished[group] += 1
                    if progress:
                        progress(min(1.0, sum(finished) / len(clips)))

            return self._translate_clips(audio, part, language, tick, cancel)

        texts = [text for part in _in_parallel(run, groups) for text in part]
        joined: list[list[str]] = [[] for _ in spans]
        for owner, text in zip(owners, texts, strict=True):
            if text:
                joined[owner].append(text)
        return [" ".join(parts).strip() for parts in joined]

    def _translate_clips(
        self,
        audio: np.ndarray,
        clips: list[dict[str, float]],
        language: str,
        tick: Callable[[], None],
        cancel: threading.Event | None,
    ) -> list[str]:
        """English for each clip (≤ 30 s), in order; "" where Whisper hears no speech."""
        raw = self._batched(
            audio, language, "translate", clip_timestamps=clips, without_timestamps=True, word_timestamps=False
        )
        by_seek = {self._seek(clip): i for i, clip in enumerate(clips)}
        texts = ["" for _ in clips]
        position = 0
        for fw_segment in raw:
            _check_cancel(cancel)
            index = by_seek.get(fw_segment.seek, min(position, len(clips) - 1))
            position = index + 1
            text = fw_segment.text.strip()
            if text and not (fw_segment.no_speech_prob > NO_SPEECH_PROB and fw_segment.avg_logprob < LOW_LOGPROB):
                texts[index] = (texts[index] + " " + _collapse_text_loops(text)).strip()
            tick()
        return texts


class _TailKeepingModel:
    """The WhisperModel as the batched pipeline sees it, except that no decoded text is thrown away.

    Decoding with timestamp tokens, Whisper ends each utterance with a timestamp; faster-whisper then
    keeps only the text up to the last *pair* of timestamps and drops the rest, expecting the next window
    to start there. That holds for sequential decoding, which seeks back; in batched decoding no window
    comes back, so the last phrase of a chunk was lost (issue 8: 38 of 971 words on one interview). Here
    the unfinished tail is kept as a segment of its own, ending at the chunk's end.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _split_segments_by_timestamps(
        self, tokenizer: Any, tokens: list[int], time_offset: float, segment_size: int, segment_duration: float,
        seek: int,
    ) -> tuple[list[dict[str, Any]], int, bool]:
        segments, next_seek, single_ending = self._model._split_segments_by_timestamps(
            tokenizer, tokens, time_offset, segment_size, segment_duration, seek
        )
        tail = tokens[sum(len(s["tokens"]) for s in segments) :]
        if any(token < tokenizer.eot for token in tail):  # text tokens after the last complete segment
            begin = tokenizer.timestamp_begin
            start = time_offset + (tail[0] - begin) * self._model.time_precision if tail[0] >= begin else (
                segments[-1]["end"] if segments else time_offset
            )
            segments.append({"seek": seek, "start": start, "end": time_offset + segment_duration, "tokens": tail})
        return segments, next_seek, single_ending


def _offset_call(run: Callable[[int], T], offset: int, k: int) -> T:
    return run(offset + k)


def _in_parallel(run: Callable[[int], T], count: int) -> list[T]:
    """[run(0), ..., run(count - 1)], side by side in threads when count > 1 (CTranslate2 releases the GIL)."""
    if count <= 1:
        return [run(0)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="asr") as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        return [future.result() for future in futures]


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise PipelineCancelled("Processing was cancelled. Nothing was changed; you can start it again at any time.")


# --- turning faster-whisper output into clean Segments -------------------------------------------


def _covered(segments: Sequence[Segment]) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """What segments vouch for: (their words' times, the whole span of those without word times)."""
    return [(w.start, w.end) for s in segments for w in s.words], [(s.start, s.end) for s in segments if not s.words]


def _holes(span: tuple[float, float], segments: Sequence[Segment], min_s: float) -> list[tuple[float, float]]:
    """Stretches of at least `min_s` inside `span` that the segments leave unaccounted for."""
    words, whole = _covered(segments)
    return coverage.uncovered([span], words, whole=whole, min_gap_s=min_s)


def _without_echoes(segments: list[Segment], known: Sequence[Word]) -> list[Segment]:
    """Repaired segments minus words that repeat a neighbouring known word (the context either side of a gap
    is decoded too, and a neighbour whose time came out a little later would otherwise appear twice)."""
    out = []
    for seg in segments:
        words = [w for w in seg.words if not any(
            _norm(k.text) == _norm(w.text) and abs(k.start - w.start) < ECHO_S for k in known)]
        if words and len(words) < len(seg.words):
            out.extend(_segments_from_words(words))
        elif words or not seg.words:
            out.append(seg)
    return out


def make_room(segments: list[Segment], inserted: Sequence[Segment]) -> list[Segment]:
    """`segments` cut where an inserted segment (a repair, untranscribed speech) falls inside one of them.

    A first-pass segment can reach across a hole (its words either side of it, or one word stretched over
    it); left whole, sorting would squeeze what was found in the hole to nothing at the segment's end. Each
    word goes to the piece its middle lies in (left of the hole when its middle is inside it), its times
    clipped to that piece, so the inserted segment keeps its own span.
    """
    out: list[Segment] = []
    for seg in segments:
        holes = sorted((r.start, r.end) for r in inserted if seg.start < r.end and r.start < seg.end)
        if not holes or not seg.words:
            out.append(seg)
            continue
        edges = [seg.start, *[edge for hole in holes for edge in hole], seg.end]
        ranges = list(zip(edges[0::2], edges[1::2]))  # the stretches of `seg` between the holes
        pieces: list[list[Word]] = [[] for _ in ranges]
        for w in seg.words:
            k = sum(1 for _, end in holes if (w.start + w.end) / 2 >= end)
            lo, hi = ranges[k][0], max(ranges[k])
            pieces[k].append(Word(min(max(w.start, lo), hi), min(max(w.end, lo), hi), w.text, w.probability))
        out.extend(
            Segment(start=p[0].start, end=p[-1].end, ru="".join(w.text for w in p).strip(), words=p,
                    confidence=float(np.mean([w.probability for w in p])))
            for p in pieces if p
        )
    return out


def _words_inside(fw_words: Sequence[Any], base: float, start: float, end: float, offset: float) -> list[Word]:
    """Words (times `base` + t in the audio) whose middle lies in [start, end]; recording times (+ offset)."""
    return [
        Word(float(w.start) + base + offset, float(w.end) + base + offset, w.word, float(w.probability))
        for w in fw_words
        if start <= base + (w.start + w.end) / 2 <= end
    ]


TimeMap = Callable[..., float]  # (decoder seconds, end=False) -> recording seconds


def _plausible(fw: Any) -> bool:
    """Whisper's own tests for text that is not a transcription of speech (silence, noise, a loop)."""
    if fw.no_speech_prob > NO_SPEECH_PROB and fw.avg_logprob < LOW_LOGPROB:
        return False
    return fw.avg_logprob >= LOW_LOGPROB and fw.compression_ratio <= LOOP_RATIO


def _to_segments(fw: Any, to_recording: TimeMap) -> list[Segment]:
    if fw.no_speech_prob > NO_SPEECH_PROB and fw.avg_logprob < LOW_LOGPROB:
        return []  # Whisper itself says this was not speech: text here is invented (coverage re-checks it)
    words = [
        Word(
            start=to_recording(float(w.start)),
            end=to_recording(float(w.end), end=True),
            text=w.word,
            probability=float(w.probability),
        )
        for w in (fw.words or [])
    ]
    if not words:
        text = fw.text.strip()
        if not text or HALLUCINATION_PATTERNS.search(text):
            return []
        start, end = to_recording(float(fw.start)), to_recording(float(fw.end), end=True)
        return [Segment(start=start, end=end, ru=text, confidence=0.0)]
    return _segments_from_words(words)


def _segments_from_words(words: list[Word]) -> list[Segment]:
    """Readable segments from a run of words: loops collapsed, long runs cut, invented credits left out."""
    result = []
    for piece in _split_words(collapse_loops(words)) if words else []:
        text = "".join(w.text for w in piece).strip()
        if not text or HALLUCINATION_PATTERNS.search(text):
            continue
        result.append(
            Segment(
                start=piece[0].start,
                end=piece[-1].end,
                ru=text,
                words=piece,
                confidence=float(np.mean([w.probability for w in piece])),
            )
        )
    return result


def _norm(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def collapse_loops(words: list[Word], max_n: int = 8) -> list[Word]:
    """Collapse runs of a word group repeated back to back (a Whisper loop) to one occurrence.

    A single word must repeat 4+ times in a row, a group of 2+ words 3+ times: people do say
    "нет, нет, нет", but not the same sentence three times running.
    """
    keys = [_norm(w.text) for w in words]
    out_idx: list[int] = []
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(1, max_n + 1):
            if i + 2 * n > len(words):
                break
            group = keys[i : i + n]
            if not any(group):
                continue
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == group:
                reps += 1
            if reps >= (4 if n == 1 else 3):
                out_idx.extend(range(i, i + n))
                i += reps * n
                collapsed = True
                break
        if not collapsed:
            out_idx.append(i)
            i += 1
    return [words[j] for j in out_idx]


def _collapse_text_loops(text: str) -> str:
    tokens = text.split()
    fake = [Word(0.0, 0.0, " " + t, 1.0) for t in tokens]
    return " ".join(w.text.strip() for w in collapse_loops(fake))


def _split_words(words: list[Word]) -> list[list[Word]]:
    """Cut a long segment after sentence ends (or long pauses) into pieces of a readable length."""
    pieces: list[list[Word]] = []
    current: list[Word] = []
    for index, word in enumerate(words):
        current.append(word)
        length = current[-1].end - current[0].start
        nxt = words[index + 1] if index + 1 < len(words) else None
        if nxt is None:
            break
        gap = nxt.start - word.end
        sentence_end = bool(_SENTENCE_END.search(word.text.strip()))
        if length >= SPLIT_MIN_S and (sentence_end or gap >= PAUSE_S) or (
            length >= 2 * SPLIT_TARGET_S and (gap >= 0.3 or word.text.strip().endswith(","))
        ):
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    return pieces


def _make_monotonic(segments: list[Segment], lo: float, hi: float) -> list[Segment]:
    """Sorted, non-overlapping, inside [lo, hi]; words inside their segment and in order."""
    segments.sort(key=lambda s: (s.start, s.end))
    previous_end = lo
    for seg in segments:
        seg.start = round(min(max(seg.start, previous_end), hi), 3)
        seg.end = round(min(max(seg.end, seg.start), hi), 3)
        cursor = seg.start
        fixed = []
        for w in seg.words:
            start = min(max(w.start, cursor), seg.end)
            end = min(max(w.end, start), seg.end)
            fixed.append(Word(round(start, 3), round(end, 3), w.text, w.probability))
            cursor = end
        seg.words = fixed
        previous_end = seg.end
    return segments


def mark_whisper_route(segments: list[Segment], english: list[str]) -> None:
    for seg, text in zip(segments, english, strict=True):
        seg.en = text
        seg.en_route = EnglishRoute.WHISPER if text else EnglishRoute.NONE
        seg.en_stale = False
