"""Roles and the permission matrix: what each role may do (DESIGN.md, enforced here in the library, not only in the UI).

* interviewer — creates testimonies, uploads recordings, records consent and metadata, starts processing.
  **An interviewer reads only the testimonies they created** (``Testimony.owner``): every read of someone
  else's testimony is refused with :class:`PermissionDeniedError` (see :func:`can_read`).
* translator — reads every testimony, corrects transcript and translation, marks segments reviewed, keeps
  the glossary.
* editor — everything above, plus approve / un-approve, export, manage users, read the audit log, verify,
  back up, shred.

``require(role, action)`` is called by :mod:`workstation.vault.session` before every operation; the shells
hide what a role cannot do, but hiding is a convenience and this check is the protection. Pure: no files, no keys.
"""

from __future__ import annotations

from enum import StrEnum

from workstation.platform.errors import WorkstationError


class PermissionDeniedError(WorkstationError):
    """The user's role does not allow this action."""


class Role(StrEnum):
    INTERVIEWER = "interviewer"
    TRANSLATOR = "translator"
    EDITOR = "editor"


class Action(StrEnum):
    CREATE = "create_testimony"  # create a testimony, record consent and metadata
    INGEST = "ingest_recording"  # upload the original recording
    PROCESS = "process"  # start processing, store its result
    VIEW = "view"  # read a testimony (interviewers: only their own)
    EDIT_METADATA = "edit_metadata"  # change case metadata after creation (interviewers: only their own)
    EDIT = "edit_transcript"  # correct transcript / translation, re-translate, mark reviewed, split, merge
    GLOSSARY = "edit_glossary"
    APPROVE = "approve"  # approve and un-approve
    EXPORT = "export"
    MANAGE_USERS = "manage_users"
    AUDIT = "read_audit"
    VERIFY = "verify"
    BACKUP = "backup"
    SHRED = "shred"
    REDACT = "redact"  # decide the pseudonym (redaction) table of a testimony
    WRITE_RECORD = "write_record"  # any other per-testimony record kind (unknown kinds: editors only)


_ALL = frozenset(Role)
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.CREATE: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.INGEST: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.PROCESS: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.VIEW: _ALL,
    Action.EDIT_METADATA: frozenset({Role.INTERVIEWER, Role.EDITOR}),
    Action.EDIT: frozenset({Role.TRANSLATOR, Role.EDITOR}),
    Action.GLOSSARY: frozenset({Role.TRANSLATOR, Role.EDITOR}),
    Action.APPROVE: frozenset({Role.EDITOR}),
    Action.EXPORT: frozenset({Role.EDITOR}),
    Action.MANAGE_USERS: frozenset({Role.EDITOR}),
    Action.AUDIT: frozenset({Role.EDITOR}),
    Action.VERIFY: frozenset({Role.EDITOR}),
    Action.BACKUP: frozenset({Role.EDITOR}),
    Action.SHRED: frozenset({Role.EDITOR}),
    Action.REDACT: frozenset({Role.EDITOR}),
    Action.WRITE_RECORD: frozenset({Role.EDITOR}),
}

_WHAT = {
    Action.CREATE: "create testimonies",
    Action.INGEST: "upload recordings",
    Action.PROCESS: "start processing",
    Action.VIEW: "read testimonies",
    Action.EDIT_METADATA: "change case metadata",
    Action.EDIT: "edit transcripts or translations",
    Action.GLOSSARY: "change the glossary",
    Action.APPROVE: "approve or un-approve testimonies",
    Action.EXPORT: "export testimonies",
    Action.MANAGE_USERS: "manage user accounts",
    Action.AUDIT: "read the audit log",
    Action.VERIFY: "verify the vault",
    Action.BACKUP: "back up the vault",
    Action.SHRED: "shred testimonies",
    Action.REDACT: "decide redactions",
    Action.WRITE_RECORD: "write this kind of record",
}

# Who may write each kind of per-testimony record (``VaultSession.save_extra``): reading a testimony is never
# enough. Redactions decide what an export hides; approval history is the editors' account of un-approvals;
# job and processing records belong to whoever may start processing (interviewers: their own testimonies).
RECORD_WRITERS: dict[str, Action] = {
    "redactions": Action.REDACT,
    "pseudonyms": Action.REDACT,
    "approval-history": Action.APPROVE,
    "job": Action.PROCESS,
    "processing": Action.PROCESS,
    "speakers": Action.PROCESS,
}


def record_write_action(kind: str) -> Action:
    """The permission a write of record ``kind`` needs; kinds not listed need :attr:`Action.WRITE_RECORD`."""
    return RECORD_WRITERS.get(kind, Action.WRITE_RECORD)


# Every action through which the library writes the testimony record itself (``VaultSession.update``, ingest,
# processing). CREATE is left out: it makes the creator the owner, whose writes INGEST / PROCESS / EDIT_METADATA
# cover (an interviewer may write only the testimonies they own).
TESTIMONY_WRITES = (Action.EDIT, Action.EDIT_METADATA, Action.PROCESS, Action.INGEST, Action.APPROVE)


def record_kind_actions(kind: str) -> tuple[Action, ...]:
    """The actions, any one of which lets an account write a record of this kind label — the label a signed
    record binds: "testimony", "recording-info" / "recording-info:n", "extra:<name>", "glossary"."""
    if kind == "testimony":
        return TESTIMONY_WRITES
    if kind == "recording-info" or kind.startswith("recording-info:"):
        return (Action.INGEST,)
    if kind.startswith("extra:"):
        return (record_write_action(kind.removeprefix("extra:")),)
    if kind == "glossary":
        return (Action.GLOSSARY,)
    return (Action.WRITE_RECORD,)


def may_write_record(role: str | Role, user: str, owner: str, kind: str) -> bool:
    """May ``user`` (``role``) write a record of ``kind`` of a testimony owned by ``owner``? The rules the library
    applies to every write, checked again on every read of a signed record (the signer's certified role)."""
    return any(can_access(role, user, owner, action) for action in record_kind_actions(kind))


def record_writers_text(kind: str) -> str:
    """Who may write a record of ``kind``, as a sentence part: "only an editor", "only its interviewer or an
    editor", "only its interviewer, a translator or an editor"."""
    actions = record_kind_actions(kind)
    names = {"interviewer": "an interviewer", "translator": "a translator", "editor": "an editor"}
    for action in actions:
        if action in OWNER_ONLY_FOR_INTERVIEWER:
            names["interviewer"] = "its interviewer"
    allowed = [names[r.value] for r in Role if any(r in PERMISSIONS[a] for a in actions)]
    return "only " + (allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " or " + allowed[-1])

# Actions an interviewer may take only on testimonies they created.
OWNER_ONLY_FOR_INTERVIEWER = frozenset({Action.VIEW, Action.EDIT_METADATA, Action.INGEST, Action.PROCESS})


def parse_role(value: str | Role) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise WorkstationError(
            f"Unknown role {value!r}: choose interviewer, translator or editor."
        ) from None


def can(role: str | Role, action: Action) -> bool:
    return parse_role(role) in PERMISSIONS[Action(action)]


def require(role: str | Role, action: Action) -> None:
    """Raise :class:`PermissionDeniedError` unless ``role`` may take ``action``."""
    if not can(role, action):
        allowed = " or ".join(sorted(r.value for r in PERMISSIONS[Action(action)]))
        raise PermissionDeniedError(
            f"Your role ({parse_role(role).value}) may not {_WHAT[Action(action)]}; "
            f"only an {allowed} can. Ask an editor if you need this done."
        )


def can_access(role: str | Role, user: str, owner: str, action: Action = Action.VIEW) -> bool:
    """May ``user`` with ``role`` take ``action`` on a testimony created by ``owner``?"""
    if not can(role, action):
        return False
    if parse_role(role) is Role.INTERVIEWER and Action(action) in OWNER_ONLY_FOR_INTERVIEWER:
        return user == owner
    return True


def can_read(role: str | Role, user: str, owner: str) -> bool:
    return can_access(role, user, owner, Action.VIEW)


def require_access(role: str | Role, user: str, owner: str, action: Action, case_code: str) -> None:
    require(role, action)
    if not can_access(role, user, owner, action):
        raise PermissionDeniedError(
            f"Testimony {case_code} was created by another interviewer; interviewers can only open "
            "the testimonies they created. Ask an editor if you need access."
        )
