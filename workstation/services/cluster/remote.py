"""The workstation's side of the cluster: one recording processed on the organisation's machines.

    result = process_remote(data, options, "tls://10.0.0.5:8786", Path("cluster-tls/client"), progress, cancel)

Same contract as `workstation.speech.sealed.run_pipeline` (same arguments, a `PipelineResult`, the same
errors), so the job queue takes `cluster_runner(address, tls_dir)` as its runner and the vault stores the
result exactly as it stores local processing.

How a recording travels:
1. Cut at silences into windows (`sealed.split`: decoding is parsing untrusted media, so it happens in a local
   sealed worker, not in this process which holds the vault keys): about three windows per worker thread,
   2 to 10 minutes each.
2. Each window (FLAC bytes, in memory) is a Dask task, sent over mutual TLS to the scheduler, which hands it
   to a worker: `process_window` runs there, in the worker process, and calls the same sealed, network-less
   `sealed.run_pipeline` as local processing. Nothing is written on the worker (nodes.py).
3. The answer comes back as JSON bytes (plain data, never a pickle of ours), the segments are shifted by
   the window's start and stitched in order. Each window's result is taken once, from its one future: a
   window retried on another worker after its first worker died still yields one answer, so nothing is lost
   and nothing is written twice.

Faults: a worker killed mid-window → Dask reschedules the window elsewhere (and `retries=` covers a window
whose sealed worker failed); the scheduler unreachable or refusing our certificate → `ClusterUnreachableError`
/ `ClusterRefusedError` before anything was sent; the scheduler lost mid-run → `ClusterLostError`, nothing
saved. `cluster_runner(..., on_lost=...)` then waits for the scheduler to come back ("wait"), processes the
recording here ("local"), or fails the job ("fail").

What the scheduler and the workers see: audio windows and their text, in memory, for as long as the task
runs; task keys are random ids, progress events carry fractions and stage names only.

Trust: Dask itself unpickles exceptions sent by workers; only machines holding a certificate of the
organisation's CA take part, which is why the CA matters (platform/tls.py). Results are JSON bytes and this
client deserialises task results with Dask's own bytes format and msgpack only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from distributed import Client, get_worker

from workstation.domain.testimony import Segment, Word
from workstation.platform import offline
from workstation.platform.errors import WorkstationError
from workstation.services.cluster.nodes import ClusterError, configure_dask, peer_identity, security, tls_refused
from workstation.speech import sealed
from workstation.speech.asr import PipelineCancelled
from workstation.speech.pipeline import PipelineOptions, PipelineResult, outcome_warnings

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
Runner = Callable[[bytes, Any, ProgressFn, threading.Event], Any]
PROGRESS_TOPIC = "workstation-progress"
RETRIES = 2  # a window whose sealed worker failed is tried twice more (a lost worker is rescheduled anyway)
CONNECT_TIMEOUT_S = 10.0
LOST_AFTER_S = 20.0  # the scheduler unreachable this long in the middle of a run: the run is lost
MIN_WINDOW_S = 120.0
MAX_WINDOW_S = 600.0
# Windows per worker thread: more than one, so a faster machine (a GPU one) takes more of them and the last
# window of a recording is short next to the whole; each window costs a sealed worker and a model load (~2.5 CPU s,
# docs/BENCHMARKS.md), which the 2-minute floor keeps under a tenth of its work.
WINDOWS_PER_THREAD = 3
SPLIT_SHARE = 0.02  # of the progress bar, for cutting the recording
POLL_S = 0.25


class ClusterUnreachableError(ClusterError):
    """The scheduler could not be reached; nothing was sent."""


class ClusterRefusedError(ClusterUnreachableError):
    """The scheduler (or this workstation) refused the other's certificate; nothing was sent."""


class ClusterLostError(ClusterError):
    """The scheduler was lost during processing; nothing was saved."""


# --- connecting ------------------------------------------------------------------------------------


@contextlib.contextmanager
def connect(address: str, tls_dir: Path, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Client]:
    """A Dask client to the scheduler at `address` with the workstation's certificate; closed on exit."""
    if not address.startswith("tls://"):
        raise ClusterError(f"{address} is not a tls:// address: the cluster speaks mutual TLS only.")
    configure_dask()
    sec = security(Path(tls_dir), "client")
    host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
    with offline.allow_peers([host]):
        client = _open_client(address, sec, timeout_s)
        try:
            who = peer_identity(getattr(client.scheduler_comm, "comm", None))
            if who is None or who.role != "scheduler":
                raise ClusterRefusedError(
                    f"The server at {address} is not this cluster's scheduler (its certificate is "
                    f"{'a ' + who.role + ' certificate' if who else 'missing'}). Nothing was sent."
                )
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=5)


def _open_client(address: str, sec: Any, timeout_s: float) -> Client:
    try:
        return Client(address, security=sec, timeout=timeout_s, set_as_default=False, name="workstation",
                      deserializers=["dask", "msgpack"])
    except ImportError as exc:  # the scheduler's refusal arrives as the stream-start error
        raise ClusterRefusedError(f"The scheduler at {address} refused this workstation: {exc} Nothing was sent.") \
            from exc
    except (OSError, TimeoutError) as exc:
        if tls_refused(exc):
            raise ClusterRefusedError(
                f"The scheduler at {address} and this workstation did not accept each other's certificates "
                "(another CA, or a revoked certificate). Nothing was sent. Use the client folder made by "
                "`workstation cluster init` for this cluster."
            ) from exc
        raise ClusterUnreachableError(
            f"The cluster scheduler at {address} could not be reached within {timeout_s:.0f} s. Nothing was sent. "
            "Check that `workstation cluster scheduler` runs there and the address is right."
        ) from exc


def worker_threads(client: Client) -> int:
    """Threads of all workers connected now (0 while none has joined)."""
    return sum(int(w.get("nthreads", 0)) for w in client.scheduler_info()["workers"].values())


# --- the task, on a worker -------------------------------------------------------------------------


def process_window(audio: bytes, options: dict[str, Any]) -> bytes:
    """Runs in a Dask worker: one window through the sealed, network-less pipeline; JSON bytes back.

    Errors meant for people come back as data (rebuilt on the workstation by class name, like the sealed
    worker's); a sealed worker that died is raised, so Dask's `retries=` tries the window again."""
    worker = get_worker()
    key = worker.get_current_task()
    name = str(worker.name).split(":", 1)[0]
    cancel, stop = threading.Event(), threading.Event()
    threading.Thread(target=_watch_task, args=(worker, key, cancel, stop), daemon=True).start()
    last = [0.0]

    def progress(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or fraction >= 1.0:
            last[0] = now
            worker.log_event(PROGRESS_TOPIC, {"key": str(key), "fraction": float(fraction), "stage": str(stage),
                                              "machine": name})

    try:
        result = sealed.run_pipeline(audio, sealed.options_from_dict(options), progress=progress, cancel=cancel)
        return json.dumps({"result": sealed.result_to_dict(result), "machine": name}).encode("utf-8")
    except (PipelineCancelled, sealed.SealedWorkerError):
        raise
    except WorkstationError as exc:
        error = {"module": type(exc).__module__, "name": type(exc).__name__, "message": str(exc)}
        return json.dumps({"error": error, "machine": name}).encode("utf-8")
    finally:
        stop.set()


def _watch_task(worker: Any, key: Any, cancel: threading.Event, stop: threading.Event) -> None:
    """Stop the sealed worker when Dask cancels this task (the workstation cancelled or went away)."""
    while not stop.wait(0.5):
        task = worker.state.tasks.get(key)
        if task is None or task.state in ("cancelled", "released", "forgotten"):
            cancel.set()
            return


# --- one recording ---------------------------------------------------------------------------------


def process_remote(data: bytes, options: PipelineOptions, address: str, tls_dir: Path,
                   progress: ProgressFn | None = None, cancel: threading.Event | None = None, *,
                   min_window_s: float = MIN_WINDOW_S, max_window_s: float = MAX_WINDOW_S,
                   connect_timeout_s: float = CONNECT_TIMEOUT_S) -> PipelineResult:
    """`sealed.run_pipeline`, with the windows of the recording processed on the cluster at `address`."""
    if cancel is not None and cancel.is_set():
        raise PipelineCancelled("Processing was cancelled.")
    with connect(address, Path(tls_dir), timeout_s=connect_timeout_s) as client:
        run = _RemoteRun(client, options or PipelineOptions(), progress, cancel)
        return run.run(data, min_window_s, max_window_s)


@dataclasses.dataclass
class _Part:
    window: sealed.Window
    future: Any = None
    fraction: float = 0.0
    worker: str = ""
    answer: dict[str, Any] | None = None


class _RemoteRun:
    def __init__(self, client: Client, options: PipelineOptions, progress: ProgressFn | None,
                 cancel: threading.Event | None) -> None:
        self.client = client
        self.options = sealed.options_to_dict(options)
        self.detect_first = options.language is None  # the first window decides the language for the rest
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.run_id = uuid.uuid4().hex[:12]
        self.parts: dict[int, _Part] = {}
        self.split_done = False
        self.stage = "cutting the recording at silences"
        self._last_report = 0.0

    def run(self, data: bytes, min_s: float, max_s: float) -> PipelineResult:
        self.client.subscribe_topic(PROGRESS_TOPIC, self._on_event)
        try:
            parts = WINDOWS_PER_THREAD * max(1, worker_threads(self.client))
            held: list[_Part] = []
            for window in sealed.split(data, parts=parts, min_s=min_s, max_s=max_s, cancel=self.cancel):
                part = self.parts[window.index] = _Part(window)
                if self.detect_first and window.index > 0:
                    held.append(part)
                else:
                    self._submit(part)
                self._report()
            self.split_done = True
            if held:
                self._wait([self.parts[0]])
                self.options["language"] = self.parts[0].answer["language"] if self.parts[0].answer else "ru"
                for part in held:
                    self._submit(part)
            self._wait(list(self.parts.values()))
            result = _stitch([self.parts[i] for i in sorted(self.parts)])
            if self.progress is not None:
                machines = sorted({p.worker for p in self.parts.values() if p.worker})
                self.progress(1.0, f"done ({len(self.parts)} windows on {', '.join(machines) or 'the cluster'})")
            return result
        except BaseException:
            self._cancel_all()
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(PROGRESS_TOPIC)

    def _submit(self, part: _Part) -> None:
        part.future = self.client.submit(
            process_window, part.window.audio, dict(self.options), key=f"window-{self.run_id}-{part.window.index}",
            retries=RETRIES, pure=False,
        )
        part.window = dataclasses.replace(part.window, audio=b"")  # the scheduler holds it now, for any retry

    def _on_event(self, event: Any) -> None:
        """Called on the client's event loop: note the fraction only (reporting happens in `_wait`)."""
        message = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if not isinstance(message, dict):
            return
        key = str(message.get("key", ""))
        for part in list(self.parts.values()):  # the split may be adding windows meanwhile
            if part.future is not None and str(part.future.key) == key and part.answer is None:
                part.fraction = max(part.fraction, min(0.99, float(message.get("fraction", 0.0))))
                part.worker = str(message.get("machine", ""))
                self.stage = str(message.get("stage", "")) or self.stage

    def _wait(self, parts: list[_Part]) -> None:
        lost_since: float | None = None
        while any(p.answer is None for p in parts):
            if self.cancel.is_set():
                raise PipelineCancelled("Processing was cancelled.")
            for part in parts:
                if part.answer is None and part.future.done():
                    part.answer = self._answer(part)
                    part.fraction = 1.0
            if self.client.status != "running":
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > LOST_AFTER_S:
                    raise ClusterLostError(
                        f"The connection to the cluster scheduler was lost for {LOST_AFTER_S:.0f} s during "
                        "processing. Nothing was saved; process the recording again when the scheduler is back."
                    )
            else:
                lost_since = None
            self._report()
            time.sleep(POLL_S)

    def _answer(self, part: _Part) -> dict[str, Any]:
        future = part.future
        if future.status == "cancelled":
            raise ClusterLostError("A window of the recording was lost by the cluster (its scheduler stopped or "
                                   "restarted). Nothing was saved; process the recording again.")
        if future.status == "error":
            exc = future.exception()
            if isinstance(exc, WorkstationError):
                raise exc
            raise ClusterError(
                f"A window of the recording failed on the cluster after {RETRIES + 1} tries "
                f"({type(exc).__name__}). Nothing was saved; try again, and if it fails again check the workers."
            )
        payload = _parsed_answer(future.result())
        if "error" in payload:
            raise sealed.rebuild_error(payload["error"])
        part.worker = str(payload.get("worker", part.worker))
        return payload["result"]

    def _cancel_all(self) -> None:
        futures = [p.future for p in self.parts.values() if p.future is not None and not p.future.done()]
        if futures:
            with contextlib.suppress(Exception):
                self.client.cancel(futures, force=True)

    def _report(self) -> None:
        if self.progress is None or time.monotonic() - self._last_report < 0.5:
            return
        self._last_report = time.monotonic()
        total = sum(p.window.duration_s for p in self.parts.values()) or 1.0
        done = sum(p.window.duration_s * (1.0 if p.answer is not None else p.fraction) for p in self.parts.values())
        finished = sum(1 for p in self.parts.values() if p.answer is not None)
        busy = sorted({p.worker for p in self.parts.values() if p.worker and p.answer is None})
        count = f"{finished}/{len(self.parts)}" + ("" if self.split_done else "+")
        where = f"; on {', '.join(busy)}" if busy else ""
        self.progress(SPLIT_SHARE + (1 - SPLIT_SHARE) * done / total * (1.0 if self.split_done else 0.9),
                      f"{self.stage} ({count} windows done{where})")


def _parsed_answer(raw: Any) -> dict[str, Any]:
    try:
        payload = json.loads(bytes(raw).decode("utf-8"))
        if isinstance(payload, dict) and ("result" in payload or "error" in payload):
            return payload
    except (TypeError, ValueError):
        pass
    raise ClusterError("A worker sent a malformed answer. Nothing was saved; try again.")


# --- stitching -------------------------------------------------------------------------------------


def _stitch(parts: list[_Part]) -> PipelineResult:
    """One PipelineResult from the windows' results, in order, times shifted to the recording's."""
    results = [_parsed_result(p.answer) for p in parts]
    segments: list[Segment] = []
    for part, result in zip(parts, results, strict=True):
        segments.extend(_shifted(s, part.window.start_s) for s in result.segments)
    models = dict(results[0].models) if results else {}
    if len({r.models.get("asr_sha256") for r in results}) > 1:
        raise ClusterError("The workers used different speech models for one recording (their model files "
                           "differ). Install the same model on every worker; nothing was saved.")
    devices = sorted({r.models.get("asr_device", "") for r in results} - {""})
    if devices:
        models["asr_device"] = ", ".join(devices)
    summaries = set(outcome_warnings([])) | {w for r in results for w in r.warnings if "untranscribed speech" in w}
    warnings = list(dict.fromkeys(w for r in results for w in r.warnings if w not in summaries))
    first = results[0] if results else None
    return PipelineResult(
        segments=segments,
        language=first.language if first else "ru",
        language_probability=first.language_probability if first else 1.0,
        duration_s=round(parts[-1].window.end_s, 3) if parts else 0.0,
        warnings=warnings + outcome_warnings(segments),
        models=models,
    )


def _parsed_result(answer: dict[str, Any] | None) -> PipelineResult:
    try:
        return sealed.result_from_dict(answer or {})
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ClusterError("A worker sent a malformed answer. Nothing was saved; try again.") from exc


def _shifted(segment: Segment, offset: float) -> Segment:
    if offset == 0:
        return segment
    segment.start, segment.end = round(segment.start + offset, 3), round(segment.end + offset, 3)
    segment.words = [Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text, w.probability)
                     for w in segment.words]
    return segment


# --- the job queue's runner ------------------------------------------------------------------------


def cluster_runner(address: str, tls_dir: Path, *, on_lost: str = "wait", retry_every_s: float = 15.0,
                   connect_timeout_s: float = CONNECT_TIMEOUT_S) -> Runner:
    """A runner for `JobQueue(runner=...)` (the signature of `jobs._default_runner`) that processes on the
    cluster. When the scheduler cannot be reached or is lost: "wait" retries every `retry_every_s` (the job
    shows it is waiting, cancel works), "local" processes this recording on this computer (with a warning in
    the result), "fail" fails the job. A refused certificate always fails: waiting would not help."""
    if on_lost not in ("wait", "local", "fail"):
        raise ValueError(f"on_lost must be 'wait', 'local' or 'fail', not {on_lost!r}")

    def runner(data: bytes, options: Any, progress: ProgressFn, cancel: threading.Event) -> Any:
        while True:
            try:
                return process_remote(data, options, address, Path(tls_dir), progress, cancel,
                                      connect_timeout_s=connect_timeout_s)
            except (ClusterUnreachableError, ClusterLostError) as exc:
                if isinstance(exc, ClusterRefusedError) or on_lost == "fail":
                    raise
                if on_lost == "local":
                    result = sealed.run_pipeline(data, options, progress=progress, cancel=cancel)
                    result.warnings.append(f"Processed on this computer: {exc}")
                    return result
                progress(0.0, f"waiting for the cluster scheduler at {address} (retrying every {retry_every_s:.0f} s)")
                if cancel.wait(retry_every_s):
                    raise PipelineCancelled("Processing was cancelled.") from exc

    return runner
