"""The recording of a testimony as one timeline, whatever number of files (parts of one interview) it is.

A testimony of one file: the timeline is that sealed original, exactly as it was before testimonies could have
parts. Several: the sealed worker decodes each part and joins them, in order, as one 16 kHz mono WAV in memory
(part 2 starts where part 1 ends), which processing transcribes, the review workspace plays and the redacted
export tones out. Nothing of it is written to disk; the sealed originals stay what they are, one per part.
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.speech import sealed
from workstation.vault.session import NotFoundError, RecordingInfo, VaultSession

JOINED_CONTAINER = "wav"  # what the joined timeline of several parts is


@dataclass(frozen=True)
class Part:
    """One sealed recording of a testimony, and where it lies on the timeline."""

    number: int  # 1, 2, ...
    info: RecordingInfo
    start_s: float


@dataclass(frozen=True)
class Timeline:
    audio: bytes  # the original bytes (one part) or the parts decoded and joined (a WAV)
    container: str  # of `audio`: the part's own container, or "wav"
    parts: list[Part]

    @property
    def joined(self) -> bool:
        return len(self.parts) > 1

    @property
    def starts(self) -> list[float]:
        return [p.start_s for p in self.parts]


def parts(session: VaultSession, case_code: str) -> list[Part]:
    """The parts in order, each with its start: as processing placed it (decoded lengths) once processed, else
    from the durations the intake check measured."""
    infos = session.recording_parts(case_code)
    starts = session.load(case_code).part_starts if len(infos) > 1 else []
    if len(starts) != len(infos):
        starts = [round(sum(i.duration_s for i in infos[:n]), 3) for n in range(len(infos))]
    return [Part(n, info, start) for n, (info, start) in enumerate(zip(infos, starts, strict=True), 1)]


def timeline(session: VaultSession, case_code: str) -> Timeline:
    """The whole recording of a testimony in memory (each part read back and checked against its sha256)."""
    infos = session.recording_parts(case_code)
    if not infos:
        raise NotFoundError(f"Testimony {case_code} has no recording yet.")
    if len(infos) == 1:
        return Timeline(session.read_recording(case_code), infos[0].container, [Part(1, infos[0], 0.0)])
    joined = sealed.join([session.read_recording(case_code, n) for n in range(1, len(infos) + 1)])
    found = [Part(n, info, start) for n, (info, start) in enumerate(zip(infos, joined.starts, strict=True), 1)]
    return Timeline(joined.audio, JOINED_CONTAINER, found)
