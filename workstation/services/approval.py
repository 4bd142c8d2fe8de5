"""Approval: what stands between a testimony and "approved", said before the editor clicks; approve, un-approve."""

from __future__ import annotations

from dataclasses import dataclass

from workstation.domain.testimony import Approval, Testimony, content_hash
from workstation.services import review
from workstation.vault.session import VaultSession
from workstation.vault.permissions import Action


@dataclass(frozen=True)
class Readiness:
    """A testimony's state against approval: the counts the editor sees and what still blocks it."""

    total: int
    reviewed: int
    untranscribed: int
    stale: int
    no_english: int
    content_hash: str

    @property
    def blockers(self) -> list[str]:
        found = []
        if not self.total:
            found.append("it has no transcript yet")
        if self.total - self.reviewed:
            found.append(f"{self.total - self.reviewed} segment(s) not reviewed")
        if self.untranscribed:
            found.append(f"{self.untranscribed} stretch(es) of untranscribed speech")
        return found

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.stale:
            found.append(f"{self.stale} segment(s) have English marked stale (the Russian changed after translation)")
        if self.no_english:
            found.append(f"{self.no_english} segment(s) have Russian but no English")
        return found


def readiness(t: Testimony) -> Readiness:
    segs = t.segments
    return Readiness(
        total=len(segs), reviewed=sum(s.reviewed for s in segs), untranscribed=sum(s.untranscribed for s in segs),
        stale=sum(s.en_stale for s in segs), no_english=sum(bool(s.ru.strip()) and not s.en.strip() for s in segs),
        content_hash=content_hash(t),
    )


def approve(session: VaultSession, case_code: str, *, mark_reviewed: bool = False) -> tuple[Approval, review.MarkOutcome | None]:
    """Approve (editors). With `mark_reviewed` (scripted runs), first mark what may be marked (the audit log says so)."""
    session.require(Action.APPROVE)
    marked = None
    if mark_reviewed:
        marked, _t = review.mark_reviewed(session, case_code, via="cli-mark-reviewed")
    return session.approve(case_code), marked


def unapprove(session: VaultSession, case_code: str, reason: str) -> None:
    session.unapprove(case_code, reason)
