"""Approval: what stands between a testimony and "approved", said before the editor clicks; approve, un-approve.

The checks live here, so `workstation approve` and the Approval page refuse the same things: a segment not
reviewed, speech nobody transcribed, a segment with no Russian, Russian with no English, English marked stale.
The refusal names the segments (number, time and id of the first few, and how many in all). An editor may
approve anyway with a written reason (`override`): the reason is free text, so it is kept encrypted with the
testimony (the extra record "approval-history", as un-approving does with its reason) and the audit entry
only says `override=true` and how many problems were overridden.

The checks run inside the same compare-and-swap save as the approval, on the latest version: a segment made
stale in another window a second before the click still blocks the approval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from workstation.domain import testimony as tm
from workstation.domain import timefmt
from workstation.domain.testimony import Approval, EnglishRoute, Segment, Status, Testimony, content_hash
from workstation.platform.errors import WorkstationError
from workstation.services import review
from workstation.services.redactions import load_table
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession

HISTORY_RECORD = "approval-history"
SHOWN = 5  # segments named per kind of problem; the count says how many there are in all


class ApprovalRefused(tm.LockedError):
    """Approval refused because segments still need a person (the message lists them and the way out)."""


class OverrideError(WorkstationError):
    """An override without a written reason."""


@dataclass(frozen=True)
class SegmentRef:
    """A segment as people find it: its number in the transcript, where it starts, its id (for the CLI)."""

    number: int
    start: float
    id: str

    def describe(self) -> str:
        return f"#{self.number} at {timefmt.position(self.start)} (id {self.id})"


@dataclass(frozen=True)
class Problem:
    """One kind of work left, with every segment that has it."""

    kind: str
    words: str  # "not reviewed", "untranscribed speech", ...
    segments: tuple[SegmentRef, ...]

    def describe(self) -> str:
        named = ", ".join(s.describe() for s in self.segments[:SHOWN])
        more = f" and {len(self.segments) - SHOWN} more" if len(self.segments) > SHOWN else ""
        return f"{len(self.segments)} {self.words}: {named}{more}"


# Each check: (kind, words for "N segment(s) ...", the rule). Order = the order a reviewer fixes them in.
CHECKS: tuple[tuple[str, str, Callable[[Segment], bool]], ...] = (
    ("untranscribed", "stretch(es) of speech nobody has transcribed yet", lambda s: s.untranscribed),
    ("no_russian", "segment(s) with no Russian text", lambda s: not s.untranscribed and not s.ru.strip()),
    ("no_english", "segment(s) with Russian but no English", lambda s: bool(s.ru.strip()) and not s.en.strip()),
    ("stale", "segment(s) whose English is stale (the Russian changed after it was translated)", lambda s: s.en_stale),
    ("unreviewed", "segment(s) not marked reviewed", lambda s: not s.reviewed),
)


@dataclass(frozen=True)
class Readiness:
    """A testimony's state against approval: the counts the editor sees, what blocks it, and a summary."""

    total: int
    reviewed: int
    untranscribed: int
    stale: int
    no_english: int
    content_hash: str
    problems: tuple[Problem, ...] = ()
    machine_english: int = 0  # segments whose English no person wrote or corrected
    whisper_english: int = 0  # of those, Whisper speech translation (the lower-quality route)
    unsure_untouched: int = 0  # lines the recogniser was unsure of whose Russian nobody edited
    speakers: dict[str, int] = field(default_factory=dict)  # name people read -> segments
    redactions_pending: int | None = None  # undecided redaction suggestions (None: not looked up)
    redactions_decided: int | None = None

    @property
    def ready(self) -> bool:
        return self.total > 0 and not self.problems

    @property
    def blockers(self) -> list[str]:
        """One human sentence per kind of problem, each naming the first few segments."""
        if not self.total:
            return ["it has no transcript yet"]
        return [p.describe() for p in self.problems]

    @property
    def warnings(self) -> list[str]:
        """What approving vouches for without a person having looked at every word."""
        found = []
        if self.machine_english:
            route = f", {self.whisper_english} of them Whisper speech translation" if self.whisper_english else ""
            found.append(f"{self.machine_english} segment(s) have machine English nobody corrected{route}")
        if self.unsure_untouched:
            found.append(f"{self.unsure_untouched} line(s) the recogniser was unsure of are unchanged")
        if self.redactions_pending:
            found.append(f"{self.redactions_pending} redaction suggestion(s) are undecided (a redacted export waits for them)")
        return found

    def refusal(self, case_code: str) -> str:
        """The message of a refused approval: what is left, where, and both ways out."""
        return (
            f"{case_code} cannot be approved yet: " + "; ".join(self.blockers) + ". Fix them on the Review page "
            f"(or with `workstation segment ...`), or approve anyway with a written reason: "
            f"`workstation approve {case_code} --override \"why\"` (editors; the reason is kept with the testimony)."
        )


def ru_edited(seg: Segment) -> bool:
    """The Russian is no longer what the recogniser heard (its word timings no longer spell it)."""
    return review.ru_edited(seg)


def readiness(t: Testimony) -> Readiness:
    """Pure: the checks and the summary of one testimony (no redaction state: see `summary`)."""
    segs = t.segments
    number = {s.id: i + 1 for i, s in enumerate(segs)}
    problems = []
    for kind, words, rule in CHECKS:
        hit = tuple(SegmentRef(number[s.id], s.start, s.id) for s in segs if rule(s))
        if hit:
            problems.append(Problem(kind, words, hit))
    machine = [s for s in segs if s.en.strip() and s.en_route in (EnglishRoute.ARGOS, EnglishRoute.WHISPER)]
    speakers = Counter(t.speaker_names.get(s.speaker, s.speaker) for s in segs)
    return Readiness(
        total=len(segs), reviewed=sum(s.reviewed for s in segs), untranscribed=sum(s.untranscribed for s in segs),
        stale=sum(s.en_stale for s in segs), no_english=sum(bool(s.ru.strip()) and not s.en.strip() for s in segs),
        content_hash=content_hash(t), problems=tuple(problems), machine_english=len(machine),
        whisper_english=sum(s.en_route is EnglishRoute.WHISPER for s in machine),
        unsure_untouched=sum(review.recogniser_unsure(s) and not review.ru_edited(s) for s in segs),
        speakers=dict(speakers.most_common()),
    )


def summary(session: VaultSession, case_code: str, t: Testimony | None = None) -> Readiness:
    """`readiness` plus the redaction state saved for the testimony (suggestions still undecided)."""
    t = t or session.load(case_code)
    ready = readiness(t)
    table = load_table(session, case_code)
    pending = len(table.pending())
    return Readiness(**{**ready.__dict__, "redactions_pending": pending,
                        "redactions_decided": len(table.entries) - pending})


def _approve_anyway(t: Testimony, *, user: str) -> Approval:
    """The approval itself, without the checks (an editor's override; the reason is kept by the caller)."""
    if t.status is Status.APPROVED:
        raise tm.LockedError(f"Testimony {t.case_code} is already approved.")
    if not t.segments:
        raise tm.LockedError(f"Testimony {t.case_code} has no transcript to approve yet.")
    t.approval = Approval(user, tm.now_iso(), content_hash(t))
    t.status = Status.APPROVED
    return t.approval


def approve(session: VaultSession, case_code: str, *, mark_reviewed: bool = False,
            override: str | None = None) -> tuple[Approval, review.MarkOutcome | None]:
    """Approve (editors) when every check passes; with `override` (a written reason), approve anyway.

    With `mark_reviewed` (scripted runs), first mark what may be marked (the audit log says so): segments with
    problems are skipped, so they still block unless overridden.
    """
    session.require(Action.APPROVE)
    if override is not None and not override.strip():
        raise OverrideError("Approving despite open problems needs a written reason; nothing was approved.")
    marked = None
    if mark_reviewed:
        marked, _t = review.mark_reviewed(session, case_code, via="cli-mark-reviewed")
    overridden: list[Problem] = []

    def apply(t: Testimony) -> Approval:
        ready = readiness(t)
        if override is None:
            if not ready.ready:
                raise ApprovalRefused(ready.refusal(case_code))
            return tm.approve(t, user=session.user)
        overridden.extend(ready.problems)
        return _approve_anyway(t, user=session.user)

    details: dict[str, object] = {"override": True} if override is not None else {}
    done = session.update(case_code, apply, action="approved", details=details)
    session.record_audit("approval_hash", case_code, content_hash=done.content_hash)
    if override is not None:
        _keep_reason(session, case_code, "overrides", override, problems=[p.describe() for p in overridden])
    return done, marked


def _keep_reason(session: VaultSession, case_code: str, kind: str, reason: str, **extra: object) -> None:
    """A reason is free text: kept encrypted with the testimony, never in the (content-free) audit log."""
    history = session.load_extra(case_code, HISTORY_RECORD) or {}
    history.setdefault(kind, []).append({"user": session.user, "at": tm.now_iso(), "reason": reason.strip(), **extra})
    session.save_extra(case_code, HISTORY_RECORD, history)


def history(session: VaultSession, case_code: str) -> list[dict[str, object]]:
    """Overrides and un-approvals of a testimony with their reasons, oldest first (for editors)."""
    session.require(Action.APPROVE)
    found = session.load_extra(case_code, HISTORY_RECORD) or {}
    rows = [{"kind": "approved despite open problems", **r} for r in found.get("overrides", [])]
    rows += [{"kind": "un-approved", **r} for r in found.get("unapprovals", [])]
    return sorted(rows, key=lambda r: str(r.get("at", "")))


def unapprove(session: VaultSession, case_code: str, reason: str) -> None:
    session.unapprove(case_code, reason)
