"""Run the untrusted part of processing (decoding the recording, the models) in a sealed worker process.

A hostile recording attacks FFmpeg; the models pull in ONNX Runtime and CTranslate2, native code with habits of
its own. None of it runs in the app or CLI process, which holds the vault keys: `run_pipeline` starts
`python -m workstation.speech.sealed_worker` (a fresh interpreter, nothing inherited but the environment), which takes
its own network away below Python (`workstation.platform.sandbox`: a network namespace, else a seccomp filter), hands the
recording bytes over a pipe and gets back progress and the result as JSON, never as pickles: whatever the worker
says is data, even if a crafted file took it over. Nothing is written to disk on either side.

One worker per run: a fresh process per recording means one file cannot leave anything behind for the next, and
the models' start-up (about a second for Whisper base) is small next to transcription.

`check()` starts a worker that only seals itself and reports how (`workstation doctor`, the app's start-up line).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

from workstation.domain.glossary import Glossary
from workstation.domain.testimony import EnglishRoute, Segment
from workstation.platform.errors import WorkstationError
from workstation.speech.asr import PipelineCancelled
from workstation.speech.diarize import SpeakerTurn
from workstation.speech.media import MediaInfo
from workstation.speech.pipeline import PipelineOptions, PipelineResult

MAX_FRAME = 512 * 1024 * 1024  # a result frame holds a whole transcript with word timings; nothing near this
# the joined parts of an interview, as 16-bit 16 kHz mono WAV: 6 hours (the longest recording allowed) is 0.7 GB
MAX_TIMELINE = 2 * 1024 * 1024 * 1024
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
ProgressFn = Callable[[float, str], None]


class SealedWorkerError(WorkstationError):
    """The sealed worker could not be started, or stopped without an answer."""


@dataclass(frozen=True)
class SealingReport:
    sealing: str  # sandbox.Sealing value
    detail: str
    reachable: bool  # True: the worker could still address a host outside (UDP connect succeeded)

    @property
    def sealed(self) -> bool:
        return self.sealing != "none" and not self.reachable

    def describe(self) -> str:
        if self.sealed:
            return f"Recordings are decoded and the models run in a worker with no network ({self.sealing})."
        return (
            "WARNING: this system cannot take the network away from the processing worker "
            f"({self.detail}). Only the Python-level guard applies: native libraries are not stopped by it."
        )


# --- framing ---------------------------------------------------------------------------------------


def write_frame(out: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    out.write(len(body).to_bytes(4, "big") + body)
    out.flush()


def read_frame(inp: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at end of stream. A malformed frame is an error, never guessed at."""
    head = inp.read(4)
    if not head:
        return None
    size = int.from_bytes(head, "big")
    if len(head) != 4 or size > MAX_FRAME:
        raise SealedWorkerError("The sealed worker sent a malformed answer.")
    body = inp.read(size)
    if len(body) != size:
        raise SealedWorkerError("The sealed worker's answer was cut short.")
    try:
        message = json.loads(body.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise SealedWorkerError("The sealed worker sent a malformed answer.") from exc
    if not isinstance(message, dict):
        raise SealedWorkerError("The sealed worker sent a malformed answer.")
    return message


# --- (de)serialising the pipeline's types as plain JSON --------------------------------------------


def options_to_dict(options: PipelineOptions) -> dict[str, Any]:
    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    glossary = values.get("glossary")
    if glossary is not None:
        values["glossary"] = glossary.to_dict()
    return values


def options_from_dict(data: dict[str, Any]) -> PipelineOptions:
    known = {f.name for f in dataclasses.fields(PipelineOptions)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("glossary") is not None:
        values["glossary"] = Glossary.from_dict(values["glossary"])
    return PipelineOptions(**values)


def result_to_dict(result: PipelineResult) -> dict[str, Any]:
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    values["segments"] = [s.to_dict() for s in result.segments]
    values["turns"] = [t.to_dict() for t in result.turns]
    return values


def result_from_dict(data: dict[str, Any]) -> PipelineResult:
    known = {f.name for f in dataclasses.fields(PipelineResult)}
    values = {k: v for k, v in data.items() if k in known}
    values["segments"] = [Segment.from_dict(s) for s in values.get("segments", [])]
    values["turns"] = [SpeakerTurn.from_dict(t) for t in values.get("turns", [])]
    return PipelineResult(**values)


def rebuild_error(message: dict[str, Any]) -> WorkstationError:
    """The worker's error as the same WorkstationError subclass (only classes of this package, by name)."""
    module, name, text = str(message.get("module", "")), str(message.get("name", "")), str(message.get("message", ""))
    if module.startswith("workstation.") and text:
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            cls = None
        if isinstance(cls, type) and issubclass(cls, WorkstationError):
            try:
                return cls(text)
            except TypeError:  # a subclass with another constructor: keep the message
                return WorkstationError(text)
    return SealedWorkerError(
        f"Processing failed unexpectedly ({name or 'unknown error'}) in the sealed worker. The sealed recording is "
        "unchanged; try again, and if it fails again tell your technical contact."
    )


_rebuild_error = rebuild_error  # the name the tests knew it by


# --- the worker process ----------------------------------------------------------------------------


class Worker:
    """One sealed worker process; use as a context manager (it is always stopped on exit)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH", "")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workstation.speech.sealed_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                env=env, close_fds=True,
            )
        except OSError as exc:
            raise SealedWorkerError(f"The sealed processing worker could not be started: {exc.strerror}.") from exc
        try:
            ready = self._next()
        except SealedWorkerError:
            self.stop()
            raise
        if ready is None or ready.get("type") != "ready":
            self.stop()
            raise SealedWorkerError(self._died("while starting"))
        self.report = SealingReport(str(ready.get("sealing")), str(ready.get("detail")), bool(ready.get("reachable")))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(grace_s=5.0)

    def stop(self, grace_s: float = 0.0) -> None:
        """Let the worker exit by itself for `grace_s` (it does once it has answered), then kill it."""
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe:
                pipe.close()

    def _next(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        return read_frame(self.proc.stdout)

    def _died(self, when: str) -> str:
        code = self.proc.wait()
        return f"The sealed processing worker stopped {when} (exit status {code}). Nothing was saved; try again."

    def _raw(self, size: int, limit: int = MAX_FRAME) -> bytes:
        assert self.proc.stdout is not None
        if not 0 <= size <= limit:
            raise SealedWorkerError("The sealed worker sent a malformed answer.")
        data = self.proc.stdout.read(size)
        if len(data) != size:
            raise SealedWorkerError("The sealed worker's answer was cut short.")
        return data

    def request(self, op: str, data: bytes = b"", **fields: Any) -> Iterator[dict[str, Any]]:
        """Send one request; yields the worker's messages up to and including the result (errors raise)."""
        assert self.proc.stdin is not None
        try:
            write_frame(self.proc.stdin, {"op": op, "data_len": len(data), **fields})
            self.proc.stdin.write(data)
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # it died reading: its exit status tells
        while True:
            message = self._next()
            if message is None:
                raise SealedWorkerError(self._died("while processing"))
            if message.get("type") == "error":
                raise rebuild_error(message)
            if message.get("type") == "window":  # raw bytes follow this frame (op "split")
                message["data"] = self._raw(int(message.get("data_len", -1)))
            elif message.get("type") == "timeline":  # the joined parts follow this frame (op "join")
                message["data"] = self._raw(int(message.get("data_len", -1)), MAX_TIMELINE)
            yield message
            if message.get("type") == "result":
                return


def check() -> SealingReport:
    """Start a worker that only seals itself, and report how sealed it is."""
    with Worker() as worker:
        for _ in worker.request("check"):
            pass
        return worker.report


def probe(data: bytes) -> MediaInfo:
    """`media.probe` in a sealed worker: an upload is parsed (and fully decoded once) with no network at hand."""
    with Worker() as worker:
        for message in worker.request("probe", data):
            if message.get("type") == "result":
                return _parsed(lambda info: MediaInfo(**info), message.get("info"))
    raise SealedWorkerError("The sealed worker gave no answer about the recording. Nothing was saved; try again.")


def _kill_on_cancel(worker: Worker, cancel: threading.Event, done: threading.Event) -> None:
    while not done.is_set():
        if cancel.wait(0.2):
            worker.stop()
            return


def run_pipeline(data: bytes, options: PipelineOptions, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> PipelineResult:
    """`pipeline.run_pipeline` in a sealed worker: same arguments, same result and errors, no network."""

    if cancel is not None and cancel.is_set():
        raise PipelineCancelled("Processing was cancelled.")
    done = threading.Event()
    with Worker() as worker:
        if cancel is not None:
            threading.Thread(target=_kill_on_cancel, args=(worker, cancel, done), daemon=True).start()
        try:
            for message in worker.request("pipeline", data, options=options_to_dict(options)):
                if message.get("type") == "progress" and progress is not None:
                    progress(float(message.get("fraction", 0.0)), str(message.get("stage", "")))
                elif message.get("type") == "result":
                    result = _parsed(result_from_dict, message.get("result"))
                    if not worker.report.sealed:  # said with the result, so the job page and the CLI show it
                        result.warnings.append(worker.report.describe())
                    return result
        except (SealedWorkerError, ValueError, OSError) as exc:
            if cancel is not None and cancel.is_set():
                raise PipelineCancelled("Processing was cancelled.") from exc
            raise
        finally:
            done.set()
    raise SealedWorkerError("The sealed processing worker gave no result. Nothing was saved; try again.")


@dataclass(frozen=True)
class Timeline:
    """The parts of one interview decoded and joined in order: one 16 kHz mono WAV, and each part's length."""

    audio: bytes
    durations: list[float]  # seconds of each part as decoded (part n starts at the sum of those before it)

    @property
    def starts(self) -> list[float]:
        return [round(sum(self.durations[:i]), 3) for i in range(len(self.durations))]


def join(parts: list[bytes]) -> Timeline:
    """Several recordings decoded in a sealed worker (FFmpeg parses them there, never here) and joined end to end
    as one WAV: the timeline a testimony of several files is transcribed, played and redacted on."""
    with Worker() as worker:
        audio: bytes | None = None
        for message in worker.request("join", b"".join(parts), lengths=[len(p) for p in parts]):
            if message.get("type") == "timeline":
                audio = message["data"]
            elif message.get("type") == "result":
                durations = _parsed(lambda d: [float(x) for x in d], message.get("durations"))
                if audio is None or len(durations) != len(parts):
                    break
                return Timeline(audio, durations)
    raise SealedWorkerError("The sealed worker gave no answer about the recordings. Nothing was saved; try again.")


@dataclass(frozen=True)
class Window:
    """One window of a recording cut at silences (speech/split.py): FLAC bytes and where it lies."""

    index: int
    start_s: float
    end_s: float
    audio: bytes

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def split(data: bytes, *, parts: int, min_s: float, max_s: float,
          cancel: threading.Event | None = None) -> Iterator[Window]:
    """`split.iter_windows` in a sealed worker: the recording cut at silences into about `parts` windows of
    `min_s`..`max_s` seconds, yielded as they are cut (the cluster sends each one on at once)."""
    from workstation.speech.asr import PipelineCancelled  # lazy: numpy and the models stay out of a bare import

    if cancel is not None and cancel.is_set():
        raise PipelineCancelled("Processing was cancelled.")
    done = threading.Event()
    with Worker() as worker:
        if cancel is not None:
            threading.Thread(target=_kill_on_cancel, args=(worker, cancel, done), daemon=True).start()
        try:
            for message in worker.request("split", data, parts=parts, min_s=min_s, max_s=max_s):
                if message.get("type") == "window":
                    yield _parsed(lambda m: Window(int(m["index"]), float(m["start"]), float(m["end"]), m["data"]),
                                  message)
                elif message.get("type") == "result":
                    return
        except (SealedWorkerError, ValueError, OSError) as exc:
            if cancel is not None and cancel.is_set():
                raise PipelineCancelled("Processing was cancelled.") from exc
            raise
        finally:
            done.set()
    raise SealedWorkerError("The sealed worker gave no answer about the recording. Nothing was saved; try again.")


def _parsed(build: Callable[[Any], Any], payload: Any) -> Any:
    """The worker's answer turned into our types; an answer of the wrong shape is an error, not a crash."""
    try:
        return build(payload)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise SealedWorkerError("The sealed worker sent a malformed answer. Nothing was saved; try again.") from exc


def retranslate(segments: list[Segment], options: PipelineOptions, *,
                audio: bytes | None = None) -> list[tuple[str, EnglishRoute]]:
    """`pipeline.retranslate` in a sealed worker (Argos, or Whisper speech translation of the spans of `audio`)."""
    with Worker() as worker:
        for message in worker.request("retranslate", audio or b"", options=options_to_dict(options),
                                      segments=[s.to_dict() for s in segments]):
            if message.get("type") == "result":
                pairs = message.get("translations")
                return _parsed(lambda p: [(str(text), EnglishRoute(route)) for text, route in p], pairs)
    raise SealedWorkerError("The sealed processing worker gave no result. Nothing was saved; try again.")
