"""Processing: pipeline options from the settings (one place), and one recording processed and stored.

Both shells go through here: `workstation process` and the app's job queue (`services.jobs`), so the device,
threads and glossary a run uses never depend on which shell started it (`WORKSTATION_DEVICE` is honoured by both).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from workstation.domain.glossary import Glossary
from workstation.domain.testimony import Status, Testimony
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.services import timeline as timeline_
from workstation.speech import sealed
from workstation.speech.pipeline import PipelineOptions, PipelineResult
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession

ProgressFn = Callable[[float, str], None]
Runner = Callable[[bytes, PipelineOptions, ProgressFn, threading.Event], PipelineResult]


def sealed_runner(data: bytes, options: PipelineOptions, progress: ProgressFn, cancel: threading.Event) -> PipelineResult:
    """The default runner: decoding and the models run in the sealed worker process, which has no network."""
    return sealed.run_pipeline(data, options, progress=progress, cancel=cancel)


def options_from_settings(overrides: dict[str, Any], glossary: Glossary | None = None) -> PipelineOptions:
    """PipelineOptions from the settings (device, threads) and the caller's overrides — the one place both
    shells get them. An empty override (e.g. `device=""` from a command line not given one) keeps the setting."""
    settings = load_settings()
    known = {f.name for f in fields(PipelineOptions)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise WorkstationError(f"Unknown processing option(s): {', '.join(unknown)}.")
    values: dict[str, Any] = {"device": settings.device, "cpu_threads": settings.cpu_threads}
    if glossary is not None:
        values["glossary"] = glossary
    values.update({k: v for k, v in overrides.items() if v != ""})
    return PipelineOptions(**values)


def runner_for(cluster: str = "", tls_dir: Path | None = None, *, on_lost: str = "wait") -> Runner:
    """The sealed worker on this computer, or — given a scheduler address and this workstation's certificate
    folder — the organisation's cluster (mutual TLS; `on_lost`: wait, local or fail while it is unreachable)."""
    if not cluster:
        return sealed_runner
    if tls_dir is None:
        raise WorkstationError("Processing on the cluster needs this workstation's certificate folder "
                               "(--tls DIR, or WORKSTATION_CLUSTER_TLS).")
    from workstation.services.cluster.remote import cluster_runner  # lazy: Dask loads only for cluster processing

    return cluster_runner(cluster, tls_dir, on_lost=on_lost)


def default_runner() -> Runner:
    """What the app's queue uses: the cluster when the settings name one (WORKSTATION_CLUSTER), else this computer."""
    settings = load_settings()
    return runner_for(settings.cluster, settings.cluster_tls, on_lost=settings.cluster_fallback)


def unprocessed(session: VaultSession) -> list[str]:
    """Case codes of the testimonies whose sealed recording was never processed (`process --all`)."""
    return [s.case_code for s in session.list_testimonies() if s.status is Status.INGESTED]


def build_options(session: VaultSession, overrides: dict[str, Any]) -> PipelineOptions:
    """Options for a recording of the vault: the settings, the vault's glossary, the caller's overrides."""
    try:
        glossary: Glossary | None = session.load_glossary()
    except WorkstationError:
        glossary = None  # no glossary yet is fine; processing must not fail on it
    # a testimony is an interview: its speakers are told apart unless the caller says otherwise
    return options_from_settings({"diarize": True, **overrides}, glossary)


def transcribe(data: bytes, overrides: dict[str, Any], *, progress: ProgressFn | None = None) -> PipelineResult:
    """A file outside the vault (`workstation transcribe`): the same sealed pipeline, nothing stored."""
    return sealed.run_pipeline(data, options_from_settings(overrides), progress=progress)


@dataclass(frozen=True)
class ProcessOutcome:
    testimony: Testimony
    warnings: list[str]


def process(session: VaultSession, case_code: str, overrides: dict[str, Any] | None = None, *,
            progress: ProgressFn | None = None, cancel: threading.Event | None = None,
            runner: Runner = sealed_runner) -> ProcessOutcome:
    """Transcribe (and translate) a sealed recording and store the result as the testimony's draft.

    A testimony of several files is transcribed as one timeline (its parts joined in order): each segment's time
    is on it, and the testimony records where each part starts."""
    session.require(Action.PROCESS)
    whole = timeline_.timeline(session, case_code)
    options = build_options(session, overrides or {})
    result = runner(whole.audio, options, progress or (lambda _f, _s: None), cancel or threading.Event())
    result.part_starts = whole.starts if whole.joined else []
    count = len(whole.parts)
    del whole
    if len(session.recording_parts(case_code)) != count:  # a part was added while this one ran
        raise WorkstationError(f"A part was added to {case_code} while it was being processed: this transcript would "
                               "miss it, so it was not stored. Process the testimony again.")
    t = session.store_processing_result(case_code, result)
    return ProcessOutcome(t, list(result.warnings))
