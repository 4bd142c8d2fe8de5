"""Review: every correction of a testimony, for both shells.

Each use case is "check, call, audit": one revision-checked `VaultSession.update` (which checks the role,
refuses approved testimonies and writes the audit entry) around one pure operation of
`workstation.domain.testimony`, with the revision the user saw, so a change made meanwhile elsewhere is a
conflict, never an overwrite. Every function returns the saved testimony along with its own result, so the
app can show it without loading it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from workstation.domain import testimony as tm
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import EnglishRoute, Segment, Testimony
from workstation.platform.errors import WorkstationError
from workstation.services import timeline
from workstation.services.processing import build_options
from workstation.speech import media, pipeline, sealed
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession

T = TypeVar("T")


class ReviewError(WorkstationError):
    """A review action that cannot be done as asked (the message says why)."""


# --- the rules of what needs a person ---------------------------------------------------------------


def ru_edited(seg: Segment) -> bool:
    """A person changed the Russian: the recogniser's word timings no longer spell the text.

    (Segments with no word timings — added by a person, split without them — count as edited once they have
    text: nothing the recogniser heard is left to doubt.)
    """
    heard = "".join(w.text for w in seg.words).split()
    return heard != seg.ru.split()


def recogniser_unsure(seg: Segment) -> bool:
    """The recogniser's own flag: a low mean word probability or single words under the threshold."""
    return not seg.untranscribed and (seg.confidence < tm.LOW_CONFIDENCE or bool(seg.low_confidence_words()))


def low_confidence(seg: Segment) -> bool:
    """Recognised text the recogniser was unsure of that no person has dealt with yet.

    The mark clears once a person confirms the segment (marks it reviewed) or edits its Russian: then a person,
    not the recogniser, vouches for the text. Un-marking a segment whose Russian nobody changed brings it back.
    """
    return recogniser_unsure(seg) and not seg.reviewed and not ru_edited(seg)


def needs_review(seg: Segment) -> bool:
    """What a person still has to look at: unreviewed, untranscribed, English missing or stale, or low confidence."""
    return (not seg.reviewed or seg.untranscribed or seg.en_stale or low_confidence(seg)
            or (bool(seg.ru.strip()) and not seg.en.strip()))


FILTERS: dict[str, Callable[[Segment], bool]] = {
    "Needs review": needs_review,
    "Untranscribed speech": lambda s: s.untranscribed,
    "Low confidence": low_confidence,
    "Stale translation": lambda s: s.en_stale,
    "Unreviewed": lambda s: not s.reviewed,
}


def why_not_markable(seg: Segment) -> str | None:
    """Why a bulk "mark reviewed" skips this segment (None: it may be marked). A person must act on each first."""
    if seg.untranscribed:
        return "untranscribed speech (type its text first)"
    if not seg.ru.strip():
        return "no Russian text (type what is said, or remove the segment)"
    if seg.en_stale:
        return "English stale (correct it, re-translate, or keep it as it is first)"
    if not seg.en.strip():
        return "no English yet"
    return None


# --- one revision-checked change ---------------------------------------------------------------------


def _change(session: VaultSession, case_code: str, fn: Callable[[Testimony], T], action: str,
            **details: object) -> tuple[T, Testimony]:
    def apply(t: Testimony) -> tuple[T, Testimony]:
        return fn(t), t

    return session.update(case_code, apply, action=action, details=details)


def edit(session: VaultSession, case_code: str, segment_id: str, changes: dict[str, str], *,
         base_revision: int) -> tuple[int, Testimony]:
    """Change a segment's Russian, English and/or speaker label (one revision per field); the new revision."""
    unknown = sorted(set(changes) - set(tm.EDITABLE_FIELDS))
    if unknown:
        raise ReviewError(f"Only {', '.join(tm.EDITABLE_FIELDS)} can be edited, not {', '.join(unknown)}.")

    def apply(t: Testimony) -> int:
        rev = base_revision
        for fld, value in changes.items():
            rev = tm.edit_segment(t, segment_id, fld, value, base_revision=rev, user=session.user).revision
        return rev

    return _change(session, case_code, apply, "edit_segment", segment=segment_id, fields="|".join(sorted(changes)))


def set_reviewed(session: VaultSession, case_code: str, segment_id: str, reviewed: bool, *,
                 base_revision: int) -> tuple[tm.Revision, Testimony]:
    """Mark one segment reviewed (refused, saying why, while it needs a person: `why_not_markable`) or not."""

    def apply(t: Testimony) -> tm.Revision:
        seg = t.segment(segment_id)
        reason = why_not_markable(seg) if reviewed else None
        if reason and seg.revision == base_revision:  # (a stale base is reported as the conflict it is)
            raise ReviewError(f"Segment at {seg.start:.1f}s cannot be marked reviewed yet: {reason}.")
        return tm.set_reviewed(t, segment_id, reviewed, base_revision=base_revision, user=session.user)

    return _change(session, case_code, apply, "set_reviewed", segment=segment_id)


def confirm(session: VaultSession, case_code: str, segment_id: str, *, base_revision: int) -> tuple[tm.Revision | None, Testimony]:
    """A person confirms a segment as it stands ("confirm and go to next"): reviewed, unless it needs them first.

    Already reviewed: nothing changes (None). Refused with the reason while the speech is untranscribed or the
    English is missing or stale.
    """

    def apply(t: Testimony) -> tm.Revision | None:
        seg = t.segment(segment_id)
        if seg.reviewed and seg.revision == base_revision:
            return None
        reason = why_not_markable(seg)
        if reason and seg.revision == base_revision:
            raise ReviewError(f"Not confirmed: {reason}.")
        return tm.set_reviewed(t, segment_id, True, base_revision=base_revision, user=session.user)

    return _change(session, case_code, apply, "confirmed", segment=segment_id)


def confirm_english(session: VaultSession, case_code: str, segment_id: str, *,
                    base_revision: int) -> tuple[tm.Revision, Testimony]:
    """A person checked stale English and keeps it as it is: it is no longer stale (its route stays honest)."""

    def apply(t: Testimony) -> tm.Revision:
        seg = t.segment(segment_id)
        if not seg.en.strip():
            raise ReviewError("There is no English to keep: type it, or re-translate the segment.")
        return tm.set_translation(t, segment_id, seg.en, seg.en_route, base_revision=base_revision, user=session.user)

    return _change(session, case_code, apply, "english_confirmed", segment=segment_id)


@dataclass
class MarkOutcome:
    """What a bulk "mark reviewed" did: the segments marked and, for each one skipped, why."""

    marked: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        text = f"Marked {len(self.marked)} segment(s) reviewed."
        if self.skipped:
            reasons = sorted(set(self.skipped.values()))
            text += f" Skipped {len(self.skipped)} that need a person first: " + "; ".join(reasons) + "."
        return text


def mark_reviewed(session: VaultSession, case_code: str, bases: dict[str, int] | None = None, *,
                  via: str = "") -> tuple[MarkOutcome, Testimony]:
    """Mark segments reviewed at once (`bases`: id → revision seen; None: every segment not yet reviewed).

    Skips what a person must act on first (`why_not_markable`) and says which and why: a bulk action never
    vouches for speech nobody typed or English nobody has.
    """

    def apply(t: Testimony) -> MarkOutcome:
        outcome = MarkOutcome()
        wanted = bases if bases is not None else {s.id: s.revision for s in t.segments if not s.reviewed}
        for seg_id, base in wanted.items():
            seg = t.segment(seg_id)
            if seg.reviewed:
                continue
            reason = why_not_markable(seg)
            if reason:
                outcome.skipped[seg_id] = reason
                continue
            tm.set_reviewed(t, seg_id, True, base_revision=base, user=session.user)
            outcome.marked.append(seg_id)
        return outcome

    details = {"via": via} if via else {}
    return _change(session, case_code, apply, "marked_reviewed", segments=len(bases or {}) or "all", **details)


def split(session: VaultSession, case_code: str, segment_id: str, at_s: float, *,
          base_revision: int) -> tuple[tuple[Segment, Segment], Testimony]:
    return _change(session, case_code, lambda t: tm.split_segment(t, segment_id, float(at_s), base_revision=base_revision,
                                                                  user=session.user), "split_segment", segment=segment_id)


def merge(session: VaultSession, case_code: str, first_id: str, second_id: str, *,
          base_revisions: tuple[int, int]) -> tuple[Segment, Testimony]:
    return _change(session, case_code, lambda t: tm.merge_segments(t, first_id, second_id, base_revisions=base_revisions,
                                                                   user=session.user),
                   "merge_segments", segments=f"{first_id}|{second_id}")


def add_segment(session: VaultSession, case_code: str, start: float, end: float, *, ru: str = "") -> tuple[Segment, Testimony]:
    return _change(session, case_code, lambda t: tm.add_segment(t, float(start), float(end), user=session.user, ru=ru),
                   "add_segment")


def set_times(session: VaultSession, case_code: str, segment_id: str, start: float, end: float, *,
              base_revision: int) -> tuple[tm.Revision, Testimony]:
    return _change(session, case_code, lambda t: tm.set_times(t, segment_id, float(start), float(end),
                                                              base_revision=base_revision, user=session.user),
                   "set_times", segment=segment_id)


def remove_segment(session: VaultSession, case_code: str, segment_id: str, *, base_revision: int) -> tuple[None, Testimony]:
    return _change(session, case_code, lambda t: tm.remove_empty_segment(t, segment_id, base_revision=base_revision,
                                                                         user=session.user),
                   "remove_segment", segment=segment_id)


def replace(session: VaultSession, case_code: str, column: str, needle: str, replacement: str, *,
            bases: dict[str, int] | None = None, case_sensitive: bool = False) -> tuple[list[tm.Revision], Testimony]:
    """Find and replace in one column (`bases`: the segments the user saw matching; None: every match now)."""

    def apply(t: Testimony) -> list[tm.Revision]:
        seen = bases if bases is not None else {
            s.id: s.revision for s in tm.find_in_column(t, column, needle, case_sensitive=case_sensitive)}
        return tm.replace_in_column(t, column, needle, replacement, base_revisions=seen, user=session.user,
                                    case_sensitive=case_sensitive)

    return _change(session, case_code, apply, "replace_in_column", column=column, segments=len(bases or {}) or "all")


def rename_speaker(session: VaultSession, case_code: str, label: str, name: str) -> tuple[None, Testimony]:
    return _change(session, case_code, lambda t: tm.rename_speaker(t, label, name, user=session.user),
                   "rename_speaker", label=label)


def retranslate_label() -> str:
    """What "re-translate" does on this machine, said plainly (the button's label in the app)."""
    if english_route() is EnglishRoute.ARGOS:
        return "Re-translate the corrected Russian (Argos)"
    return "Listen again (Whisper speech translation)"


def retranslate_explained() -> str:
    if english_route() is EnglishRoute.ARGOS:
        return "Machine-translates the Russian as it is now (Argos), with the glossary."
    return ("No Argos translation package is installed: Whisper listens to the segment's audio again and writes "
            "English from the speech. It ignores the corrected Russian, so the English stays marked stale until "
            "a person checks it (edit it, or keep it as it is).")


def retranslate(session: VaultSession, case_code: str, bases: dict[str, int], *,
                audio: bytes | None = None) -> tuple[int, Testimony]:
    """Machine-translate the chosen segments again; the number of segments changed.

    With Argos: a translation of the Russian as it is now (the corrected text). Without Argos the only route is
    Whisper's speech translation of the segments' audio (which needs the recording: read here unless the caller
    has it in memory), which never reads the corrected Russian — so the English it brings stays marked stale
    until a person confirms it (`confirm_english`, or an edit of the English). The models run in the sealed
    worker; the result is saved against the revisions the user saw.
    """
    session.require(Action.EDIT)
    if not bases:
        raise ReviewError("Choose the segments to re-translate first.")
    t = session.load(case_code)
    segs = [t.segment(i) for i in bases]
    argos = english_route() is EnglishRoute.ARGOS
    if not argos and audio is None:
        audio = timeline.timeline(session, case_code).audio  # segment times are on the parts' joined timeline
    results = sealed.retranslate(segs, build_options(session, {}), audio=None if argos else audio)

    def apply(t2: Testimony) -> int:
        for seg, (en, route) in zip(segs, results, strict=True):
            tm.set_translation(t2, seg.id, en, route, base_revision=bases[seg.id], user=session.user)
            if route is not EnglishRoute.ARGOS:  # speech translation: not a translation of what the Russian says now
                t2.segment(seg.id).en_stale = True
        return len(segs)

    return _change(session, case_code, apply, "retranslate", segments=len(segs), route=str(
        EnglishRoute.ARGOS if argos else EnglishRoute.WHISPER))


def english_route() -> EnglishRoute:
    """Which route new English drafts take on this machine (Argos when installed), without loading a model."""
    return pipeline.english_route()


def span_audio(recording: bytes, start: float, end: float) -> bytes:
    """Exactly one span of the recording as an in-memory WAV, for playback."""
    return media.wav_bytes(media.decode(recording, start=start, end=end))


# --- glossary -----------------------------------------------------------------------------------------


def _lines(items: list[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in items if s.strip()))


def save_glossary(session: VaultSession, terms: dict[str, str], keep: list[str], sensitive: list[str]) -> Glossary:
    """Check and save the whole glossary: every term needs both sides (nothing is saved otherwise)."""
    clean: dict[str, str] = {}
    half = []
    for ru, en in terms.items():
        ru, en = (ru or "").strip(), (en or "").strip()
        if ru and en:
            clean[ru] = en
        elif ru or en:
            half.append(ru or en)
    if half:
        raise ReviewError("Every term needs both a Russian and an English side: " + ", ".join(half)
                          + ". Nothing was saved.")
    glossary = Glossary(terms=clean, keep=_lines(keep), sensitive=_lines(sensitive))
    session.save_glossary(glossary)
    return glossary


def change_glossary(session: VaultSession, *, set_terms: dict[str, str] | None = None,
                    remove: list[str] | None = None, keep: list[str] | None = None,
                    sensitive: list[str] | None = None) -> Glossary:
    """Add or change terms, remove entries (from every list), add keep/sensitive words; the rest stays."""
    g = session.load_glossary()
    terms = {**g.terms, **(set_terms or {})}
    gone = set(remove or [])
    missing = sorted(gone - set(terms) - set(g.keep) - set(g.sensitive))
    if missing:
        raise ReviewError(f"Not in the glossary: {', '.join(missing)}. Nothing was changed.")
    terms = {ru: en for ru, en in terms.items() if ru not in gone}
    return save_glossary(session, terms, [w for w in [*g.keep, *(keep or [])] if w not in gone],
                         [w for w in [*g.sensitive, *(sensitive or [])] if w not in gone])
