"""A testimony's record after creation: its metadata and consent, seen and corrected; and consent withdrawn (shred).

Thin on purpose: the vault checks the role (interviewers: their own testimonies; shredding: editors) and writes the
audit entry (field names only, never the values). What this adds is what both shells need said the same way:
which fields exist and what they mean, clean values, and a shred that needs the case code typed back, since it
cannot be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from workstation.domain.testimony import Status, Testimony, TestimonyMeta
from workstation.platform.errors import WorkstationError
from workstation.vault import permissions
from workstation.vault.permissions import Action
from workstation.vault.session import RecordingInfo, VaultSession

FIELD_LABELS: dict[str, str] = {  # what each metadata field is, in the words of the forms
    "interview_date": "Interview date",
    "interviewer": "Interviewer",
    "language": "Language",
    "consent_scope": "Scope of consent",
    "sensitivity": "Sensitivity",
    "notes": "Notes (no names)",
}
SENSITIVITIES = ("high", "very high", "medium")


class ShredConfirmationError(WorkstationError):
    """The case code typed to confirm a shred does not match."""


@dataclass(frozen=True)
class Details:
    """What the details page shows: the metadata, the sealed original's facts, and what this user may do."""

    meta: TestimonyMeta
    status: str
    owner: str
    recording: RecordingInfo | None
    segments: int
    may_edit: bool
    may_shred: bool
    parts: list[RecordingInfo] = field(default_factory=list)  # every sealed recording, in order (part 1 first)
    may_add_part: bool = False  # before processing, for whom may ingest into this testimony


def details(session: VaultSession, case_code: str, t: Testimony | None = None) -> Details:
    t = t or session.load(case_code)
    parts = session.recording_parts(case_code)
    return Details(meta=t.meta, status=str(t.status), owner=t.owner, recording=parts[0] if parts else None,
                   segments=len(t.segments), may_edit=_can(session, Action.EDIT_METADATA, t.owner),
                   may_shred=_can(session, Action.SHRED, t.owner), parts=parts,
                   may_add_part=bool(parts) and t.status is Status.INGESTED and _can(session, Action.INGEST, t.owner))


def _can(session: VaultSession, action: Action, owner: str) -> bool:
    return permissions.can(session.role, action) and permissions.can_access(session.role, session.user, owner, action)


def update_meta(session: VaultSession, case_code: str, changes: dict[str, str]) -> Testimony:
    """Save the fields that changed (trimmed); unknown fields and the case code itself are refused."""
    allowed = {f.name for f in fields(TestimonyMeta)} - {"case_code"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise WorkstationError(f"These cannot be changed here: {', '.join(unknown)}. (The case code never changes.)")
    if "sensitivity" in changes and changes["sensitivity"] not in SENSITIVITIES:
        raise WorkstationError(f"Sensitivity is one of: {', '.join(SENSITIVITIES)}.")
    current = session.load(case_code).meta
    clean = {k: str(v).strip() for k, v in changes.items() if str(v).strip() != getattr(current, k)}
    if not clean:
        return session.load(case_code)
    return session.update_meta(case_code, **clean)


def shred(session: VaultSession, case_code: str, typed: str) -> str:
    """Consent withdrawn: destroy the testimony for good, once the case code has been typed back exactly."""
    session.require(Action.SHRED)
    if typed.strip() != case_code:
        raise ShredConfirmationError(
            f"Type the case code {case_code} exactly to confirm; nothing was destroyed. Shredding cannot be undone: "
            "the recording, the transcript, the translation and every extra record become unrecoverable."
        )
    session.shred(case_code)
    return case_code
