"""Intake: an upload is checked first, then the testimony is created and the original sealed.

The check (`sealed.probe`) parses the untrusted bytes in the sealed worker, never in this process with the
keys, and happens before anything is created: a file that is not audio leaves no empty testimony behind.

Several files can be one testimony (parts of one interview, in order): `new_testimony_from_parts` checks every
file first, then creates the testimony and seals each as its own original; `add_part` appends one more before
processing. An error names the person's file: "Part 2, interview_b.m4a: ...".
"""

from __future__ import annotations

from workstation.domain.testimony import TestimonyMeta
from workstation.speech import sealed
from workstation.speech.media import MediaError, MediaInfo
from workstation.vault.permissions import Action
from workstation.vault.session import NotFoundError, RecordingInfo, VaultSession


def check_upload(data: bytes) -> MediaInfo:
    """The intake check of an upload: a typed `MediaError` with a human message when it is not usable audio."""
    return sealed.probe(data)


def seal_recording(session: VaultSession, case_code: str, data: bytes, filename: str) -> RecordingInfo:
    """Check the upload, then seal it as the evidence copy of an existing testimony."""
    session.require(Action.INGEST)
    session.recording_info(case_code)  # the case exists and this account may reach it, before any parsing
    info = check_upload(data)
    return session.ingest_recording(case_code, data, filename, container=info.container, duration_s=info.duration_s)


def new_testimony(session: VaultSession, meta: TestimonyMeta, data: bytes, filename: str) -> RecordingInfo:
    """Check the upload, then create the testimony (unless it exists without a recording) and seal the original."""
    session.require(Action.INGEST)
    info = check_upload(data)  # before anything is created
    try:
        session.recording_info(meta.case_code)
    except NotFoundError:
        session.create_testimony(meta)
    return session.ingest_recording(meta.case_code, data, filename, container=info.container,
                                    duration_s=info.duration_s)


def _checked_part(number: int, data: bytes, filename: str) -> MediaInfo:
    try:
        return check_upload(data)
    except MediaError as exc:  # the same kind of error, saying which of the person's files it is
        raise type(exc)(f"Part {number}, {filename}: {exc}") from exc


def new_testimony_from_parts(session: VaultSession, meta: TestimonyMeta,
                             files: list[tuple[str, bytes]]) -> list[RecordingInfo]:
    """One testimony of several files, in the order given: every file is checked before anything is created;
    part 1 is sealed as a one-file testimony's recording is, each further one as its next part."""
    session.require(Action.INGEST)
    if not files:
        raise MediaError("Choose at least one recording.")
    checked = [_checked_part(n, data, name) for n, (name, data) in enumerate(files, 1)]
    try:
        session.recording_info(meta.case_code)
    except NotFoundError:
        session.create_testimony(meta)
    (name, data), info = files[0], checked[0]
    sealed_parts = [session.ingest_recording(meta.case_code, data, name, container=info.container,
                                             duration_s=info.duration_s)]
    for (name, data), info in zip(files[1:], checked[1:], strict=True):
        sealed_parts.append(session.add_recording_part(meta.case_code, data, name, container=info.container,
                                                       duration_s=info.duration_s)[1])
    return sealed_parts


def add_part(session: VaultSession, case_code: str, data: bytes, filename: str) -> tuple[int, RecordingInfo]:
    """Check the upload, then seal it as the next part of an existing testimony (before processing; audited)."""
    session.require(Action.INGEST)
    number = len(session.recording_parts(case_code)) + 1  # the case exists and this account may reach it
    info = _checked_part(number, data, filename)
    return session.add_recording_part(case_code, data, filename, container=info.container,
                                      duration_s=info.duration_s)
