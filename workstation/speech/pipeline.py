"""The processing pipeline: recording bytes → Russian segments with English drafts. Library API first.

    result = run_pipeline(data, PipelineOptions(), progress=lambda f, stage: ..., cancel=event)

Steps: check the file (media), decode it as a stream in windows of about ten minutes, transcribe each
window (asr: VAD + batched Whisper, word times, confidences), with `diarize` on collect each window's voice
embeddings while its audio is in memory, then find who speaks when over the whole recording (diarize:
clustering → speaker turns; segments spanning a change are split at the word boundary nearest it), and produce
the English draft:
- with the Argos ru→en package installed: `mt.load_translator()` translates all segments of the
  recording in one batched call, honouring the glossary (route "argos");
- without it: Whisper's own speech translation of each segment's audio span, done per window while the
  audio is in memory (route "whisper-translate", the lower-quality fallback, marked on every segment).

Why windows: a 3-hour recording is 690 MB as 16 kHz float32, plus Whisper's features. Processing ten
minutes at a time keeps the peak memory of an hour-long recording well under 1.5 GB, whatever its length.
Windows are cut at the quietest moment near their end, so a word is not cut in two.

The network guard is on whenever the pipeline runs; nothing is written to disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workstation.domain.glossary import Glossary
from workstation.domain.testimony import EnglishRoute, Segment
from workstation.platform import offline
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.speech import media
from workstation.speech.asr import SAMPLE_RATE, PipelineCancelled, Transcriber, _check_cancel, mark_whisper_route, quiet_cut
from workstation.speech.diarize import Diarizer, SpeakerTurn, assign_speakers

__all__ = [
    "PipelineCancelled",
    "PipelineError",
    "PipelineOptions",
    "PipelineResult",
    "english_route",
    "outcome_warnings",
    "retranslate",
    "run_pipeline",
]

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
WINDOW_S = 600.0
CUT_SEARCH_S = 20.0  # look for a quiet moment in the last 20 s of a window
MIN_TAIL_S = 120.0  # never leave a last window shorter than this: each window pays VAD and worker start-up
TRANSLATE_SHARE = 0.3  # of a window's progress, when Whisper speech translation runs after transcription
ARGOS_SHARE = 0.05  # of the whole run, for the final batched Argos translation
DIARIZE_SHARE = 0.12  # of a window's progress, for its voice embeddings (diarization on)
RUSSIAN_WARN_BELOW = 0.5
NO_SPEECH_WARNING = "No speech was found in the recording."
UNTRANSCRIBED_WARNING_END = "transcribed; they are marked “untranscribed speech” for a person to listen to and type."


class PipelineError(WorkstationError):
    """The pipeline cannot do what was asked (e.g. Whisper re-translation without the recording)."""


@dataclass
class PipelineOptions:
    model: str = "base"
    language: str | None = "ru"  # None: use the detected language
    detect_language: bool = False  # detect anyway and warn when the recording does not sound Russian
    translate: bool = True
    device: str = "auto"
    compute_type: str = "auto"
    beam_size: int = 3  # see docs/BENCHMARKS.md (ASR): the anchor is faster-whisper's batched beam 5
    batch_size: int = 0  # 0: 2 on CPU, 16 on a GPU
    cpu_threads: int = 0  # 0: the machine's cores (WORKSTATION_CPU_THREADS)
    glossary: Glossary | None = None
    window_s: float = WINDOW_S
    diarize: bool = False  # find who speaks when: every segment gets a speaker "SPEAKER_1", "SPEAKER_2", ...
    num_speakers: int | None = None  # None: found from the recording; else exactly this many (with diarize)


@dataclass
class PipelineResult:
    segments: list[Segment]
    language: str
    language_probability: float
    duration_s: float
    warnings: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    turns: list[SpeakerTurn] = field(default_factory=list)  # with diarize: who speaks when (recording seconds)
    speakers: list[str] = field(default_factory=list)  # with diarize: the labels found, in order of first appearance
    part_starts: list[float] = field(default_factory=list)  # several files joined: where each starts (set by the caller)


# --- helpers -------------------------------------------------------------------------------------


def _transcriber(options: PipelineOptions) -> Transcriber:
    return Transcriber(
        options.model,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads or load_settings().cpu_threads,
        beam_size=options.beam_size,
        batch_size=options.batch_size,
    )


def _argos_translator(options: PipelineOptions, warnings: list[str] | None = None) -> Any | None:
    """mt.load_translator(), or None when no Argos package (or no MT module) is installed.

    A damaged package does not stop a long processing job: the Whisper route is used and a warning says
    how to repair the package.
    """
    try:
        from workstation.translation import mt  # lazy: argostranslate loads only when translating
    except ImportError:
        return None
    try:
        return mt.load_translator(
            device=None if options.device in ("", "auto") else options.device,
            cpu_threads=options.cpu_threads or None,
        )
    except WorkstationError as exc:
        if warnings is None:
            raise
        warnings.append(f"The Argos translation package cannot be used, so Whisper speech translation was used: {exc}")
        return None


def english_route() -> EnglishRoute:
    """The route new English drafts take on this machine (without loading any model)."""
    try:
        from workstation.translation import argos_package  # lazy: argostranslate loads only when translating

        return EnglishRoute.ARGOS if argos_package.installed_ru_en() is not None else EnglishRoute.WHISPER
    except (ImportError, WorkstationError):
        return EnglishRoute.WHISPER


def _windows(
    data: bytes, window_s: float, cancel: threading.Event | None
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset seconds, audio) windows of about `window_s`, cut at quiet moments; memory ~ one window.

    A window is cut only once `MIN_TAIL_S` more audio has arrived, so a recording slightly over a window
    (10.2 minutes, say) is one window of 10.2 minutes rather than 10 minutes plus a 12-second sliver.
    """
    target = int(window_s * SAMPLE_RATE)
    search = int(min(CUT_SEARCH_S, window_s / 4) * SAMPLE_RATE)
    tail = int(min(MIN_TAIL_S, window_s / 4) * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    size = 0
    offset = 0
    for block in media.iter_decode(data, chunk_s=30.0):
        _check_cancel(cancel)
        pending.append(block)
        size += block.size
        if size >= target + tail:
            buf = np.concatenate(pending)
            cut = quiet_cut(buf, target - search, target)
            yield offset / SAMPLE_RATE, buf[:cut]
            offset += cut
            rest = buf[cut:].copy()
            del buf
            pending, size = [rest], rest.size
    if size:
        yield offset / SAMPLE_RATE, np.concatenate(pending)


def _release_memory() -> None:
    """Hand freed memory back to the OS between windows (glibc keeps it per thread arena otherwise), so the
    peak of a long recording stays that of one window."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


class _Progress:
    def __init__(self, fn: ProgressFn | None, total_s: float, tail_share: float) -> None:
        self.fn = fn
        self.total_s = total_s
        self.tail = tail_share
        self.last = 0.0

    def report(self, seconds_done: float, stage: str) -> None:
        if not self.fn:
            return
        if self.total_s > 0:
            fraction = seconds_done / self.total_s
        else:
            fraction = seconds_done / (seconds_done + WINDOW_S)
        fraction = min(1.0 - self.tail, max(self.last, fraction * (1.0 - self.tail)))
        self.last = fraction
        self.fn(fraction, stage)

    def done(self, stage: str) -> None:
        if self.fn:
            self.fn(1.0, stage)


# --- the pipeline ----------------------------------------------------------------------------------


def run_pipeline(
    data: bytes,
    options: PipelineOptions | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> PipelineResult:
    """Transcribe (and translate) one recording held in memory. Raises MediaError subclasses for bad input,
    ModelMissingError/ModelCorruptError for model problems and PipelineCancelled when `cancel` is set."""
    offline.activate()
    options = options or PipelineOptions()
    info = media.header_info(data)  # not audio / damaged / too large / too long: before loading any model
    _check_cancel(cancel)
    if progress:
        progress(0.0, "loading the speech model")
    transcriber = _transcriber(options)
    warnings: list[str] = []
    translator = _argos_translator(options, warnings) if options.translate else None
    whisper_english = options.translate and translator is None
    diarizer = _diarizer(options, warnings) if options.diarize else None
    track = _Progress(progress, info.duration_s, ARGOS_SHARE if translator is not None else 0.0)

    segments: list[Segment] = []
    language = options.language or "ru"
    language_probability = 1.0
    duration = 0.0
    first = True
    for offset, audio in _windows(data, options.window_s, cancel):
        window_s = audio.size / SAMPLE_RATE
        if first and (options.detect_language or options.language is None):
            track.report(0.0, "detecting the language")
            guess = transcriber.detect_language(audio)
            if options.language is None:
                language, language_probability = guess.language, guess.probability
            else:
                language_probability = guess.russian if options.language == "ru" else guess.probability
            if guess.language != "ru" and guess.russian < RUSSIAN_WARN_BELOW and guess.probability > 0:
                warnings.append(
                    f"The recording does not sound Russian (the model hears {guess.language!r}, "
                    f"{guess.probability:.0%} sure; Russian {guess.russian:.0%}). Check it is the right file; "
                    "the transcript may be poor."
                )
        first = False
        share = 1.0 - TRANSLATE_SHARE if whisper_english else 1.0
        speaker_share = DIARIZE_SHARE if diarizer is not None else 0.0
        share *= 1.0 - speaker_share

        def on_asr(fraction: float, _o: float = offset, _w: float = window_s, _s: float = share) -> None:
            track.report(_o + _w * _s * fraction, "transcribing")

        window_segments = transcriber.transcribe(audio, language=language, offset=offset, progress=on_asr, cancel=cancel)
        if whisper_english and window_segments:

            def on_translate(fraction: float, _o: float = offset, _w: float = window_s, _s: float = share) -> None:
                track.report(_o + _w * (_s + (1 - _s) * fraction), "translating (Whisper speech translation)")

            spoken = _transcribed(window_segments)
            english = transcriber.translate_spans(
                audio, [(s.start, s.end) for s in spoken], language=language, offset=offset,
                progress=on_translate, cancel=cancel,
            )
            mark_whisper_route(spoken, english)
        if diarizer is not None:

            def on_voices(fraction: float, _o: float = offset, _w: float = window_s, _v: float = speaker_share) -> None:
                track.report(_o + _w * (1 - _v + _v * fraction), "finding the speakers")

            diarizer.add(audio, offset, progress=on_voices, cancel=cancel)
        segments.extend(window_segments)
        duration = offset + window_s
        track.report(duration, "transcribing")
        del audio
        _release_memory()

    warnings.extend(outcome_warnings(segments))
    turns: list[SpeakerTurn] = []
    speakers: list[str] = []
    if diarizer is not None:
        _check_cancel(cancel)
        track.report(duration, "finding the speakers")
        segments, turns, speakers = _find_speakers(diarizer, segments, options, data, transcriber, language,
                                                   whisper_english, cancel)
    if translator is not None and segments:
        _check_cancel(cancel)
        if progress:
            progress(1.0 - ARGOS_SHARE, "translating (Argos)")

        def on_argos(fraction: float) -> None:
            if progress:
                progress(1.0 - ARGOS_SHARE * (1.0 - min(1.0, fraction)), "translating (Argos)")

        spoken = _transcribed(segments)
        english = translator.translate([s.ru for s in spoken], options.glossary, progress=on_argos, cancel=cancel)
        for seg, text in zip(spoken, english, strict=True):
            seg.en, seg.en_route, seg.en_stale = text, EnglishRoute.ARGOS, False
    _check_cancel(cancel)
    track.done("done")
    return PipelineResult(
        segments=segments,
        language=language,
        language_probability=round(float(language_probability), 4),
        duration_s=round(duration, 3),
        warnings=warnings,
        models={**_models_record(transcriber, translator, options.translate), **_diarizer_record(diarizer)},
        turns=turns,
        speakers=speakers,
    )


def _diarizer(options: PipelineOptions, warnings: list[str]) -> Diarizer | None:
    """The speaker diarizer, or None with a warning saying how to install its model (transcription goes on)."""
    if options.num_speakers is not None and options.num_speakers < 1:
        raise PipelineError("The number of speakers must be at least 1 (or left out to find it from the recording).")
    try:
        # One thread: OpenBLAS gives every calling thread its own ~45 MB of buffers, and diarization runs between
        # the transcriber's windows while Whisper is loaded (see docs/BENCHMARKS.md, "Diarization").
        diarizer = Diarizer(threads=1)
    except WorkstationError as exc:
        warnings.append(f"Speakers were not told apart, because the diarization model cannot be used: {exc}")
        return None
    if diarizer.overlap_note:
        warnings.append(diarizer.overlap_note[0].upper() + diarizer.overlap_note[1:])
    return diarizer


def _diarizer_record(diarizer: Diarizer | None) -> dict[str, str]:
    if diarizer is None:
        return {}
    return {"diarization": diarizer.model_name, "diarization_sha256": diarizer.model_sha256}


def _find_speakers(
    diarizer: Diarizer, segments: list[Segment], options: PipelineOptions, data: bytes, transcriber: Transcriber,
    language: str, whisper_english: bool, cancel: threading.Event | None,
) -> tuple[list[Segment], list[SpeakerTurn], list[str]]:
    """Cluster the whole recording's voices, give every segment its speaker, split segments at speaker changes.

    With Whisper speech translation the English was made per window, before the speakers were known: the pieces
    of a split segment get their own English from their own audio (a few spans, decoded from the recording)."""
    found = diarizer.finish(options.num_speakers)
    before = {s.id for s in segments}
    segments = assign_speakers(segments, found.turns)
    if whisper_english:
        pieces = [s for s in segments if s.id not in before and not s.untranscribed and s.ru]
        if pieces:
            english = _whisper_translate(transcriber, data, pieces, language, cancel)
            mark_whisper_route(pieces, english)
    return segments, found.turns, found.speakers


def outcome_warnings(segments: list[Segment]) -> list[str]:
    """What the whole transcript tells the reviewer: no speech at all, stretches nobody could transcribe.
    (The cluster stitches windows and says it once for the recording, not once per window.)"""
    warnings: list[str] = []
    if not segments:
        warnings.append(NO_SPEECH_WARNING)
    gaps = [s for s in segments if s.untranscribed]
    if gaps:
        warnings.append(
            f"{len(gaps)} stretch(es) of speech ({sum(s.end - s.start for s in gaps):.0f} s in all) could not be "
            f"{UNTRANSCRIBED_WARNING_END}"
        )
    return warnings


def _transcribed(segments: list[Segment]) -> list[Segment]:
    """The segments with Russian text to translate (untranscribed speech waits for a person first)."""
    return [s for s in segments if not s.untranscribed]


def _models_record(transcriber: Transcriber, translator: Any | None, translate: bool) -> dict[str, str]:
    record = {
        "asr": transcriber.model_name,
        "asr_sha256": transcriber.model_sha256,
        "asr_device": f"{transcriber.device}/{transcriber.compute_type}",
    }
    if not translate:
        record["en_route"] = str(EnglishRoute.NONE)
    elif translator is not None:
        record["en_route"] = str(EnglishRoute.ARGOS)
        for key, value in translator.info.items():
            record[f"mt_{key}"] = str(value)
    else:
        record["en_route"] = str(EnglishRoute.WHISPER)
        record["mt"] = f"whisper-{transcriber.model_name} speech translation"
    return record


def retranslate(
    segments: list[Segment],
    glossary: Glossary | None,
    options: PipelineOptions | None = None,
    *,
    audio: bytes | None = None,
    cancel: threading.Event | None = None,
) -> list[tuple[str, EnglishRoute]]:
    """New English for the given segments, 1:1: Argos when installed, else Whisper speech translation of
    each segment's span of the recording (which then needs `audio`, the original recording bytes)."""
    offline.activate()
    options = options or PipelineOptions()
    if not segments:
        return []
    translator = _argos_translator(options)
    if translator is not None:
        english = translator.translate([s.ru for s in segments], glossary, cancel=cancel)
        return [(text, EnglishRoute.ARGOS) for text in english]
    if audio is None:
        raise PipelineError(
            "No Argos Russian→English package is installed, so re-translation uses Whisper on the recording, "
            "and the recording was not provided."
        )
    transcriber = _transcriber(options)
    english = _whisper_translate(transcriber, audio, segments, options.language or "ru", cancel)
    return [(text, EnglishRoute.WHISPER if text else EnglishRoute.NONE) for text in english]


def _whisper_translate(transcriber: Transcriber, audio: bytes, segments: list[Segment], language: str,
                       cancel: threading.Event | None) -> list[str]:
    """Whisper speech translation of the segments' spans of the recording, 1:1.

    Only the spans are decoded and laid end to end (with a little silence between them), then translated in one
    batched call: a few segments of a 3-hour recording cost seconds, not a full decode."""
    gap = np.zeros(SAMPLE_RATE // 5, dtype=np.float32)
    pieces: list[np.ndarray] = []
    spans: list[tuple[float, float]] = []
    cursor = 0.0
    for seg in segments:
        _check_cancel(cancel)
        samples = media.decode(audio, start=seg.start, end=seg.end)
        spans.append((cursor, cursor + samples.size / SAMPLE_RATE))
        pieces.extend([samples, gap])
        cursor += (samples.size + gap.size) / SAMPLE_RATE
    compact = np.concatenate(pieces)
    return transcriber.translate_spans(compact, spans, language=language, cancel=cancel)
