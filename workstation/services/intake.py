"""Intake: an upload is checked first, then the testimony is created and the original sealed.

The check (`sealed.probe`) parses the untrusted bytes in the sealed worker, never in this process with the
keys, and happens before anything is created: a file that is not audio leaves no empty testimony behind.
"""

from __future__ import annotations

from workstation.domain.testimony import TestimonyMeta
from workstation.speech import sealed
from workstation.speech.media import MediaInfo
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
