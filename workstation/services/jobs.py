"""Background processing queue: transcribe + translate recordings without blocking the app.

One worker thread per vault in the app process runs one job at a time (a laptop has few cores, and two
Whisper runs side by side are each slower than one after the other). A job's record (state, progress,
estimated time left, error message) lives in memory for the live page and is also saved, encrypted, as
the testimony's extra record ``"job"`` through the vault session, so that:

- a page reload (a new browser session, unlocked again) shows the same live job from memory;
- after the app is restarted, a job that was queued or running is found in the vault and resumed from
  the beginning (processing is deterministic and the original recording is sealed in the vault) or, when
  the user who unlocks may not start processing, reported as interrupted.

Nothing here writes plaintext anywhere: the recording is read from the vault into memory, handed over a pipe
to the sealed worker (`workstation/speech/sealed.py`: decoding and the models run in a process with no network), and
the result goes straight back into the vault.

The worker keeps a reference to the vault session that submitted a job. When that user locks the app
(or it locks itself when idle), :meth:`JobQueue.release` locks the session at once if it has no pending
work, otherwise right after its last job finishes: a three-hour recording keeps processing while the
screen is locked, and the key is dropped from memory when the work is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from workstation.domain.testimony import new_id
from workstation.platform.errors import WorkstationError, failure_site
from workstation.services import processing
from workstation.speech.pipeline import PipelineCancelled

log = logging.getLogger(__name__)

JOB_RECORD = "job"  # name of the per-testimony extra record
PERSIST_EVERY_S = 5.0  # progress is saved to the vault at most this often (each save is an encrypted write)
ETA_WINDOW_S = 120.0  # speed is measured over the last two minutes of progress reports


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # found unfinished after a restart, not (yet) resumed


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
UNPROCESSED_STATUSES = ("ingested", "processing")  # testimony statuses whose recording still needs processing


class JobError(WorkstationError):
    """A job cannot be submitted or changed (already queued, not allowed...)."""


@dataclass
class Job:
    case_code: str
    user: str
    state: JobState = JobState.QUEUED
    progress: float = 0.0  # 0..1
    stage: str = ""  # what the pipeline is doing, e.g. "transcribing"
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    eta_s: float | None = None  # estimated seconds left, from the measured speed
    error: str = ""
    note: str = ""  # e.g. "resumed after the app was restarted"
    options: dict[str, Any] = field(default_factory=dict)  # PipelineOptions overrides (model, translate)
    attempts: int = 0
    id: str = field(default_factory=new_id)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def elapsed_s(self, now: float | None = None) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or now or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = str(self.state)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["state"] = JobState(known.get("state", "queued"))
        return cls(**known)


class SpeedMeter:
    """Estimates the time left from recent progress: (1 - p) / (dp/dt) over a sliding window."""

    def __init__(self, window_s: float = ETA_WINDOW_S) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, at: float, progress: float) -> float | None:
        self.samples.append((at, progress))
        while len(self.samples) > 2 and at - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        t0, p0 = self.samples[0]
        dt, dp = at - t0, progress - p0
        if dt < 1.0 or dp <= 0.0:
            return None  # not enough evidence yet: show "estimating…" rather than a made-up number
        return max(0.0, (1.0 - progress) * dt / dp)


@dataclass
class _Entry:
    job: Job
    session: Any
    cancel: threading.Event = field(default_factory=threading.Event)
    last_saved: float = 0.0


class JobQueue:
    """The processing queue of one vault. Thread-safe; the UI polls :meth:`jobs` for progress."""

    def __init__(self, runner: processing.Runner | None = None) -> None:
        self._runner = runner or processing.default_runner()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._entries: dict[str, _Entry] = {}  # case_code -> latest job of that testimony in this process
        self._order: list[str] = []  # queued case codes, first to run first
        self._released: set[int] = set()  # id() of sessions whose users locked the app
        self._thread: threading.Thread | None = None
        self._stop = False
        self.finished = 0  # jobs ended so far: pages use it to know testimony statuses changed

    # --- submitting and controlling -------------------------------------------------------------

    def submit(self, session: Any, case_code: str, options: dict[str, Any] | None = None, *, note: str = "") -> Job:
        """Queue processing of a testimony's sealed recording; returns the job record."""
        with self._lock:
            current = self._entries.get(case_code)
            if current and current.job.active:
                raise JobError(f"Testimony {case_code} is already {current.job.state} for processing.")
            job = Job(case_code=case_code, user=session.user, options=dict(options or {}), note=note)
            entry = _Entry(job, session)
            self._entries[case_code] = entry
            self._order.append(case_code)
            self._released.discard(id(session))
            self._save(entry, force=True)
            self._ensure_worker()
            self._wake.notify_all()
            return job

    def cancel(self, case_code: str) -> Job | None:
        """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
        with self._lock:
            entry = self._entries.get(case_code)
            if not entry or not entry.job.active:
                return entry.job if entry else None
            entry.cancel.set()
            if entry.job.state is JobState.QUEUED:
                self._order.remove(case_code)
                self._finish(entry, JobState.CANCELLED)
            return entry.job

    def get(self, case_code: str) -> Job | None:
        with self._lock:
            entry = self._entries.get(case_code)
            return Job.from_dict(entry.job.to_dict()) if entry else None

    def jobs(self, case_codes: set[str] | None = None) -> list[Job]:
        """Snapshot copies of this process's jobs (optionally only those testimonies), newest first."""
        with self._lock:
            found = [Job.from_dict(e.job.to_dict()) for c, e in self._entries.items() if case_codes is None or c in case_codes]
        return sorted(found, key=lambda j: j.submitted_at, reverse=True)

    def position(self, case_code: str) -> int | None:
        """1 for the next job to run, 2 after it..., None when not waiting."""
        with self._lock:
            return self._order.index(case_code) + 1 if case_code in self._order else None

    def busy(self) -> bool:
        with self._lock:
            return any(e.job.active for e in self._entries.values())

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is queued or running (for the CLI and tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.busy():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.5))
        return True

    # --- sessions --------------------------------------------------------------------------------

    def release(self, session: Any) -> bool:
        """The user locked the app: lock the session now, or after its last pending job. True if locked now."""
        with self._lock:
            pending = any(e.session is session and e.job.active for e in self._entries.values())
            if pending:
                self._released.add(id(session))
                return False
        _lock_session(session)
        return True

    def pending_for(self, session: Any) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.session is session and e.job.active)

    def recover(self, session: Any, statuses: dict[str, str], *, may_process: bool) -> list[Job]:
        """After a restart: find jobs the vault says were queued/running but no worker here knows of.

        ``statuses`` maps the case codes this user may see to their testimony status. With
        ``may_process`` unfinished jobs are queued again (from the beginning); otherwise they are marked
        interrupted so the page can say so clearly. A job whose result was already stored (the app
        stopped between storing it and updating the job record) is marked done. Returns the jobs found.
        """
        found: list[Job] = []
        for code, status in statuses.items():
            with self._lock:
                if code in self._entries:
                    continue
            record = session.load_extra(code, JOB_RECORD)
            if not record:
                continue
            old = Job.from_dict(record)
            if old.active and str(status) not in UNPROCESSED_STATUSES:
                old.state, old.progress, old.note = JobState.DONE, 1.0, "Finished before the app was stopped."
            if not old.active:
                with self._lock:  # remember finished/failed jobs too, so the queue view can show them
                    self._entries.setdefault(code, _Entry(old, session))
                continue
            if may_process:
                note = (
                    f"The app was stopped while this recording was {old.state} ({old.progress:.0%} done); "
                    "processing started again from the beginning."
                )
                try:
                    job = self.submit(session, code, old.options, note=note)
                except JobError:
                    continue
            else:
                old.state, old.note = JobState.INTERRUPTED, (
                    f"The app was stopped while this recording was being processed ({old.progress:.0%} done). "
                    "An interviewer or editor can start processing again from the queue page."
                )
                job = old
                with self._lock:
                    self._entries[code] = _Entry(old, session)
            found.append(job)
        return found

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the worker (cancelling the running job); used by tests and at interpreter exit."""
        with self._lock:
            self._stop = True
            for entry in self._entries.values():
                entry.cancel.set()
            self._wake.notify_all()
            thread = self._thread
        if thread:
            thread.join(timeout)

    # --- the worker ------------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(target=self._work, name="workstation-jobs", daemon=True)
            self._thread.start()

    def _next(self) -> _Entry | None:
        with self._lock:
            while not self._order and not self._stop:
                self._wake.wait(1.0)
            if self._stop:
                return None
            entry = self._entries[self._order.pop(0)]
            entry.job.state = JobState.RUNNING
            entry.job.started_at = time.time()
            entry.job.attempts += 1
            entry.job.stage = "starting"
            self._save(entry, force=True)
            return entry

    def _work(self) -> None:
        while True:
            entry = self._next()
            if entry is None:
                return
            self._run(entry)

    def _run(self, entry: _Entry) -> None:
        job, session = entry.job, entry.session
        meter = SpeedMeter()

        def progress(fraction: float, stage: str) -> None:
            now = time.time()
            fraction = min(1.0, max(0.0, float(fraction)))
            with self._lock:
                job.progress, job.stage = max(job.progress, fraction), stage
                job.eta_s = meter.add(now, job.progress)
                due = time.monotonic() - entry.last_saved >= PERSIST_EVERY_S
                snapshot = job.to_dict() if due else None
            if snapshot is not None:  # written outside the queue's lock: the page keeps polling meanwhile
                self._save(entry, force=True, record=snapshot)

        try:
            outcome = processing.process(session, job.case_code, job.options, progress=progress, cancel=entry.cancel,
                                         runner=self._runner)
            warnings = outcome.warnings
            with self._lock:
                job.progress, job.eta_s = 1.0, 0.0
                if warnings:
                    job.note = " ".join([job.note, *warnings]).strip()
                self._finish(entry, JobState.DONE)
        except Exception as exc:  # the worker must survive anything and say what happened
            cancelled = entry.cancel.is_set() or isinstance(exc, PipelineCancelled)
            with self._lock:
                if cancelled:
                    self._finish(entry, JobState.CANCELLED)
                else:
                    if isinstance(exc, WorkstationError):
                        job.error = str(exc)
                    else:  # never the transcript: only the kind of failure goes to the log
                        log.error("processing job %s failed: %s at %s", job.id, type(exc).__name__, failure_site(exc))
                        job.error = (
                            f"Processing failed unexpectedly ({type(exc).__name__}). The sealed recording is "
                            "unchanged; try again, and if it fails again tell your technical contact."
                        )
                    self._finish(entry, JobState.FAILED)

    def _finish(self, entry: _Entry, state: JobState) -> None:
        self.finished += 1
        entry.job.state = state
        entry.job.finished_at = time.time()
        if state is not JobState.DONE:
            entry.job.eta_s = None
        self._save(entry, force=True)
        self._wake.notify_all()
        session = entry.session
        if id(session) in self._released and not any(
            e.session is session and e.job.active for e in self._entries.values()
        ):
            self._released.discard(id(session))
            _lock_session(session)

    def _save(self, entry: _Entry, *, force: bool = False, record: dict[str, Any] | None = None) -> None:
        """Persist the job record (encrypted) through the session; throttled for progress updates."""
        now = time.monotonic()
        if not force and now - entry.last_saved < PERSIST_EVERY_S:
            return
        entry.last_saved = now
        try:
            entry.session.save_extra(entry.job.case_code, JOB_RECORD, record or entry.job.to_dict())
        except Exception as exc:  # a locked or failing vault must not kill the worker; memory still has it
            log.warning("could not save job state for job %s: %s", entry.job.id, type(exc).__name__)


class SerializedSession:
    """A vault session shared by the page and the worker thread, with every call serialised.

    ``VaultSession`` is not safe for writes from several threads at once, and the worker stores job state and
    results while the user keeps editing in the page. Plain attributes (``user``, ``role``, ``path``) pass
    through; every method call holds the session's lock.
    """

    def __init__(self, inner: Any) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_call_lock", threading.RLock())

    @property
    def inner(self) -> Any:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._call_lock:
                return value(*args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"SerializedSession({self._inner!r})"


def serialized(session: Any) -> SerializedSession:
    return session if isinstance(session, SerializedSession) else SerializedSession(session)


def _lock_session(session: Any) -> None:
    try:
        session.lock()
    except Exception as exc:  # locking must never raise into the UI
        log.warning("locking the vault session failed: %s", type(exc).__name__)


_queues: dict[Path, JobQueue] = {}
_queues_lock = threading.Lock()


def queue_for(vault_path: Path | str) -> JobQueue:
    """The process-wide queue of a vault (one worker per vault folder)."""
    key = Path(vault_path).expanduser().resolve()
    with _queues_lock:
        if key not in _queues:
            _queues[key] = JobQueue()
        return _queues[key]


def drop_queue(vault_path: Path | str) -> None:
    """Forget a vault's queue (tests; a vault that was deleted)."""
    key = Path(vault_path).expanduser().resolve()
    with _queues_lock:
        queue = _queues.pop(key, None)
    if queue:
        queue.shutdown()
