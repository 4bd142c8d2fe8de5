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

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from workstation.config import load_settings
from workstation.errors import WorkstationError
from workstation.testimony import EnglishRoute, Segment, Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MAX_CLIP_S = 30.0  # Whisper's window
NO_SPEECH_PROB = 0.6  # with LOW_LOGPROB: Whisper's own "this was silence" rule
LOW_LOGPROB = -1.0
LOOP_RATIO = 2.4  # compression ratio above which a segment is checked for loops
SPLIT_MIN_S = 4.0  # do not cut segments shorter than this
SPLIT_TARGET_S = 12.0  # above this, a segment is cut at a sentence end or a pause
PAUSE_S = 0.8
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

_MODEL_CACHE: dict[tuple[str, str, str, int], Any] = {}
_CACHE_LOCK = threading.Lock()


def resolve_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """("cuda", "float16") when a GPU is there, ("cpu", "int8") otherwise; explicit values win."""
    if device in ("", "auto"):
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:  # noqa: BLE001 - no CUDA runtime at all means CPU
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

            from workstation.models import ModelCorruptError

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


def split_at_pauses(audio: np.ndarray, parts: int, search_s: float = 15.0) -> list[tuple[int, int]]:
    """[(start, end)] sample ranges: `parts` roughly equal pieces cut at the quietest moment near each boundary."""
    # Audio that fits one Whisper window is one encoder pass whichever way it is cut: nothing to gain.
    if parts <= 1 or audio.size <= MAX_CLIP_S * SAMPLE_RATE:
        return [(0, audio.size)]
    search = int(min(search_s, audio.size / SAMPLE_RATE / (2 * parts)) * SAMPLE_RATE)
    bounds = [0]
    for k in range(1, parts):
        target = audio.size * k // parts
        bounds.append(quiet_cut(audio, target - search, target + search))
    bounds.append(audio.size)
    return list(zip(bounds[:-1], bounds[1:]))


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
        from workstation import models

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

    @property
    def model_sha256(self) -> str:
        if self._sha256 is None:
            from workstation import models

            self._sha256 = models.whisper_model_checksum(self.model_path)
        return self._sha256

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
        language, probability, all_probs = self._model.detect_language(
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

        With several workers the audio is cut at pauses into that many parts, transcribed side by side.
        """
        duration = audio.size / SAMPLE_RATE
        _check_cancel(cancel)
        if duration <= 0:
            return []
        ranges = split_at_pauses(audio, self.workers)
        done = [0.0] * len(ranges)
        lock = threading.Lock()

        def part_progress(index: int) -> ProgressFn:
            def report(fraction: float) -> None:
                with lock:  # report under the lock: the parts' threads must not deliver out of order
                    done[index] = max(done[index], fraction * (ranges[index][1] - ranges[index][0]))
                    if progress:
                        progress(min(1.0, sum(done) / audio.size))

            return report

        def run(index: int) -> list[Segment]:
            lo, hi = ranges[index]
            return self._transcribe_part(
                audio[lo:hi], language, offset + lo / SAMPLE_RATE, part_progress(index), cancel
            )

        segments = [seg for part in _in_parallel(run, len(ranges)) for seg in part]
        _check_cancel(cancel)
        if progress:
            progress(1.0)
        return _make_monotonic(segments, offset, offset + duration)

    def _batched(self, audio: np.ndarray, language: str, task: str, **options: Any) -> Any:
        """faster-whisper's batched pipeline with this Transcriber's settings; a lazy segment generator."""
        from faster_whisper import BatchedInferencePipeline

        pipeline = BatchedInferencePipeline(self._model)  # one per call/thread: it keeps per-call state
        raw, _info = pipeline.transcribe(
            audio, language=language, task=task, beam_size=self.beam_size, batch_size=self.batch_size,
            temperature=0.0, log_progress=False, **options,
        )
        return raw

    def _transcribe_part(
        self, audio: np.ndarray, language: str, offset: float, progress: ProgressFn, cancel: threading.Event | None
    ) -> list[Segment]:
        duration = audio.size / SAMPLE_RATE
        raw = self._batched(
            audio,
            language,
            "transcribe",
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500, "speech_pad_ms": 300},
            word_timestamps=True,
            # Timestamp tokens let Whisper end a segment at each utterance: on chunks that pack several
            # utterances this was clearly more accurate (WER 0.45 vs 0.66 on the joined eval clips).
            without_timestamps=False,
            condition_on_previous_text=False,
        )
        segments: list[Segment] = []
        for fw_segment in raw:  # decoded lazily, one batch at a time: cancel and progress between batches
            _check_cancel(cancel)
            segments.extend(_to_segments(fw_segment, offset))
            progress(min(1.0, max(0.0, fw_segment.end / duration)))
        return segments

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
        # faster-whisper reports each clip's start as `seek` in frames; map back to the clip.
        fps = self._model.frames_per_second
        by_seek = {int(int(c["start"] * SAMPLE_RATE) / SAMPLE_RATE * fps): i for i, c in enumerate(clips)}
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


def _to_segments(fw: Any, offset: float) -> list[Segment]:
    if fw.no_speech_prob > NO_SPEECH_PROB and fw.avg_logprob < LOW_LOGPROB:
        return []  # Whisper itself says this was not speech: text here is invented
    words = [
        Word(start=float(w.start) + offset, end=float(w.end) + offset, text=w.word, probability=float(w.probability))
        for w in (fw.words or [])
    ]
    if not words:
        text = fw.text.strip()
        if not text or HALLUCINATION_PATTERNS.search(text):
            return []
        return [Segment(start=fw.start + offset, end=fw.end + offset, ru=text, confidence=0.0)]
    words = collapse_loops(words)
    pieces = _split_words(words)
    result = []
    for piece in pieces:
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
