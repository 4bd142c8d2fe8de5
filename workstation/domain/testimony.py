"""The domain model: a testimony, its segments, their revisions, and the rules for changing them.

Pure data and pure functions: nothing here touches disk, models or Streamlit. The vault persists these
objects (encrypted); the pipeline produces `Segment`s; the UI and the CLI call the operations below, so
the rules (stale revisions are conflicts, approved testimonies are locked, editing Russian marks the
English stale) hold whichever shell is used.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from workstation.platform.errors import WorkstationError

SPEAKERS: tuple[str, ...] = ("interviewer", "witness", "other")
LOW_CONFIDENCE = 0.5  # word probability under which a word is flagged for the translator


class ConflictError(WorkstationError):
    """An edit was made against a revision that someone else has already changed."""


class LockedError(WorkstationError):
    """The testimony is approved (or not in a state that allows this change)."""


class EditError(WorkstationError):
    """An edit that makes no sense (unknown segment, bad split point, empty merge...)."""


class Status(StrEnum):
    CREATED = "created"  # metadata only, no recording yet
    INGESTED = "ingested"  # sealed original stored, not processed
    PROCESSING = "processing"
    DRAFT = "draft"  # processed, under review
    APPROVED = "approved"


class EnglishRoute(StrEnum):
    """Which route produced a segment's English text (shown to translators, recorded in exports)."""

    NONE = "none"
    ARGOS = "argos"  # argostranslate machine translation of the Russian transcript
    WHISPER = "whisper-translate"  # Whisper's own speech translation: the lower-quality fallback
    HUMAN = "human"  # typed or corrected by a translator


ROUTE_LABELS: dict[EnglishRoute, str] = {  # the one wording of each route, in the app and in every export
    EnglishRoute.ARGOS: "machine translation (Argos) of the Russian transcript",
    EnglishRoute.WHISPER: "Whisper speech translation (lower quality: check carefully)",
    EnglishRoute.HUMAN: "written or corrected by a translator",
    EnglishRoute.NONE: "no English yet",
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    ru: str
    en: str = ""
    words: list[Word] = field(default_factory=list)
    confidence: float = 1.0  # mean word probability, 0..1
    en_route: EnglishRoute = EnglishRoute.NONE
    en_stale: bool = False
    reviewed: bool = False
    speaker: str = "witness"
    revision: int = 0
    id: str = field(default_factory=new_id)
    # Speech the recogniser could not transcribe (the coverage check found words missing there): the text is
    # empty until a person listens and types it. Cleared by the first Russian a person enters.
    untranscribed: bool = False

    def low_confidence_words(self, threshold: float = LOW_CONFIDENCE) -> list[Word]:
        return [w for w in self.words if w.probability < threshold]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["en_route"] = str(self.en_route)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        values = dict(data)
        values["words"] = [Word(**w) for w in values.get("words", [])]
        values["en_route"] = EnglishRoute(values.get("en_route", "none"))
        return cls(**values)


@dataclass
class TestimonyMeta:
    __test__ = False  # not a pytest test class despite the name
    case_code: str  # a pseudonym, never a real name
    interview_date: str = ""
    interviewer: str = ""
    language: str = "ru"
    consent_scope: str = ""
    sensitivity: str = "high"
    notes: str = ""


@dataclass(frozen=True)
class Revision:
    """One change to a segment: who, when, what it was, what it became."""

    segment_id: str
    revision: int
    user: str
    at: str
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Approval:
    user: str
    at: str
    content_hash: str
    # vault format 2: the approving editor's Ed25519 signature of the approval payload (vault/signing.py) and
    # that editor's public key, both base64; empty for an unsigned (format-1) approval
    signature: str = ""
    ed25519: str = ""


@dataclass
class Testimony:
    __test__ = False
    meta: TestimonyMeta
    status: Status = Status.CREATED
    segments: list[Segment] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)
    speaker_names: dict[str, str] = field(default_factory=dict)  # label -> display name
    approval: Approval | None = None
    models: dict[str, str] = field(default_factory=dict)  # task -> model name / checksum / route
    owner: str = ""  # the interviewer who created it
    # where each recording (part of the interview) starts on the one timeline the segments' times use, in
    # order; empty (or one) for a testimony of one file. Set by processing, from the decoded parts.
    part_starts: list[float] = field(default_factory=list)

    @property
    def case_code(self) -> str:
        return self.meta.case_code

    def part_at(self, seconds: float) -> int:
        """The part (1, 2, ...) a moment of the timeline belongs to: a segment's part is that of its start."""
        return sum(1 for start in self.part_starts[1:] if seconds >= start) + 1

    def segment(self, segment_id: str) -> Segment:
        for seg in self.segments:
            if seg.id == segment_id:
                return seg
        raise EditError(f"There is no segment {segment_id!r} in testimony {self.case_code}.")

    def all_reviewed(self) -> bool:
        return bool(self.segments) and all(s.reviewed for s in self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": asdict(self.meta),
            "status": str(self.status),
            "segments": [s.to_dict() for s in self.segments],
            "revisions": [asdict(r) for r in self.revisions],
            "speaker_names": dict(self.speaker_names),
            "approval": asdict(self.approval) if self.approval else None,
            "models": dict(self.models),
            "owner": self.owner,
            **_parts_entry(self.part_starts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Testimony:
        approval = data.get("approval")
        return cls(
            meta=TestimonyMeta(**data["meta"]),
            status=Status(data["status"]),
            segments=[Segment.from_dict(s) for s in data.get("segments", [])],
            revisions=[Revision(**r) for r in data.get("revisions", [])],
            speaker_names=dict(data.get("speaker_names", {})),
            approval=Approval(**approval) if approval else None,
            models=dict(data.get("models", {})),
            owner=data.get("owner", ""),
            part_starts=[float(x) for x in data.get("part_starts", [])],
        )


def _parts_entry(starts: list[float]) -> dict[str, list[float]]:
    """The part starts as saved and hashed: only for a testimony of several files (one of one file is unchanged)."""
    return {"part_starts": list(starts)} if len(starts) > 1 else {}



def route_counts(t: Testimony) -> dict[str, int]:
    """How many segments' English came by each route (every route listed, 0 included): exports record it."""
    counts = Counter(str(s.en_route) for s in t.segments)
    return {str(r): counts.get(str(r), 0) for r in EnglishRoute}


# --- operations -------------------------------------------------------------------------------

EDITABLE_FIELDS = ("ru", "en", "speaker")


def _require_editable(t: Testimony) -> None:
    if t.status is Status.APPROVED:
        raise LockedError(
            f"Testimony {t.case_code} is approved and locked. An editor must un-approve it (with a reason) first."
        )


def _check_revision(seg: Segment, base_revision: int) -> None:
    if seg.revision != base_revision:
        raise ConflictError(
            "Someone else changed this segment while you were editing it "
            f"(you edited revision {base_revision}, it is now at revision {seg.revision}). "
            "Your text was not saved over theirs: reload the segment, compare, and apply your change again."
        )


def _record(t: Testimony, seg: Segment, user: str, fld: str, old: str, new: str) -> Revision:
    seg.revision += 1
    rev = Revision(seg.id, seg.revision, user, now_iso(), fld, old, new)
    t.revisions.append(rev)
    return rev


def edit_segment(t: Testimony, segment_id: str, fld: str, value: str, *, base_revision: int, user: str) -> Revision:
    """Change one field of one segment. Editing the Russian marks the English stale."""
    if fld not in EDITABLE_FIELDS:
        raise EditError(f"Field {fld!r} cannot be edited; choose one of {', '.join(EDITABLE_FIELDS)}.")
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    if fld == "speaker" and value not in SPEAKERS and value not in t.speaker_names:
        raise EditError(f"Unknown speaker {value!r}; use one of {', '.join(SPEAKERS)}.")
    old = getattr(seg, fld)
    setattr(seg, fld, value)
    if fld == "ru" and old != value and seg.en:
        seg.en_stale = True
    if fld == "ru" and value.strip():
        seg.untranscribed = False
    if fld == "en":
        seg.en_stale = False
        seg.en_route = EnglishRoute.HUMAN
    return _record(t, seg, user, fld, old, value)


def set_translation(t: Testimony, segment_id: str, en: str, route: EnglishRoute, *, base_revision: int, user: str) -> Revision:
    """Replace the English with a machine (re-)translation, keeping the route honest."""
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    old = seg.en
    seg.en, seg.en_route, seg.en_stale = en, route, False
    return _record(t, seg, user, "en", old, en)


def set_reviewed(t: Testimony, segment_id: str, reviewed: bool, *, base_revision: int, user: str) -> Revision:
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    if reviewed and seg.untranscribed:
        raise EditError(
            f"The speech at {seg.start:.1f}s is not transcribed yet: play it and type what is said (or remove the "
            "segment if it is not speech) before marking it reviewed."
        )
    old = seg.reviewed
    seg.reviewed = reviewed
    return _record(t, seg, user, "reviewed", str(old), str(reviewed))


def split_segment(t: Testimony, segment_id: str, at_time: float, *, base_revision: int, user: str) -> tuple[Segment, Segment]:
    """Split a segment at a time inside it; words go to the side they start on, English becomes stale."""
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    if not seg.start < at_time < seg.end:
        raise EditError(f"Split point {at_time:.2f}s is not inside the segment ({seg.start:.2f}s–{seg.end:.2f}s).")
    left_words = [w for w in seg.words if w.start < at_time]
    right_words = [w for w in seg.words if w.start >= at_time]
    spelled = "".join(w.text for w in seg.words).strip() == seg.ru.strip()  # False once a person edited the text
    if left_words and right_words and spelled:
        left_ru = "".join(w.text for w in left_words).strip()
        right_ru = "".join(w.text for w in right_words).strip()
    else:  # no word timings, or the text was corrected: split the text itself at a word boundary, losing nothing
        tokens = seg.ru.split()
        guess = len(left_words) if left_words and right_words else round(
            len(tokens) * (at_time - seg.start) / (seg.end - seg.start))
        cut = max(1, min(len(tokens) - 1, guess))
        left_ru, right_ru = " ".join(tokens[:cut]), " ".join(tokens[cut:])
    left = replace(seg, end=at_time, ru=left_ru, words=left_words, en_stale=bool(seg.en), reviewed=False, revision=0, id=new_id())
    right = replace(seg, start=at_time, ru=right_ru, words=right_words, en="", en_stale=bool(seg.en),
                    reviewed=False, revision=0, id=new_id())
    index = t.segments.index(seg)
    t.segments[index : index + 1] = [left, right]
    t.revisions.append(Revision(seg.id, seg.revision + 1, user, now_iso(), "split", seg.ru, f"{left.id}|{right.id}"))
    return left, right


def merge_segments(t: Testimony, first_id: str, second_id: str, *, base_revisions: tuple[int, int], user: str) -> Segment:
    """Merge two neighbouring segments into one; the merged English is stale until re-translated or checked."""
    _require_editable(t)
    first, second = t.segment(first_id), t.segment(second_id)
    _check_revision(first, base_revisions[0])
    _check_revision(second, base_revisions[1])
    i = t.segments.index(first)
    if i + 1 >= len(t.segments) or t.segments[i + 1] is not second:
        raise EditError("Only two neighbouring segments can be merged; select a segment and the one right after it.")
    merged = replace(
        first,
        end=second.end,
        ru=f"{first.ru} {second.ru}".strip(),
        en=f"{first.en} {second.en}".strip(),
        words=[*first.words, *second.words],
        confidence=min(first.confidence, second.confidence),
        en_stale=bool(first.en or second.en),
        # merged with untranscribed speech, the text still lacks what was said there: a person must type it
        untranscribed=first.untranscribed or second.untranscribed,
        reviewed=False,
        revision=0,
        id=new_id(),
    )
    t.segments[i : i + 2] = [merged]
    t.revisions.append(Revision(first.id, first.revision + 1, user, now_iso(), "merge", f"{first.id}|{second.id}", merged.id))
    return merged


TIME_EPSILON = 0.001  # segments may touch; they may not overlap by more than a millisecond


def _neighbours(t: Testimony, seg: Segment | None, start: float, end: float) -> None:
    """Refuse times that are empty, negative or overlap another segment (other than `seg` itself)."""
    if start < 0 or end - start < 0.05:
        raise EditError(f"A segment needs a start before its end ({start:.2f}s–{end:.2f}s is not a span).")
    for other in t.segments:
        if other is not seg and other.start < end - TIME_EPSILON and start < other.end - TIME_EPSILON:
            raise EditError(
                f"{start:.2f}s–{end:.2f}s overlaps the segment at {other.start:.2f}s–{other.end:.2f}s; "
                "choose times inside the gap, or shorten that segment first."
            )


def add_segment(t: Testimony, start: float, end: float, *, user: str, ru: str = "") -> Segment:
    """A new segment in a gap between existing ones (speech the recogniser missed, found by a person).

    Without text it is untranscribed speech: listed as work to do, and approval waits for it.
    """
    _require_editable(t)
    start, end = round(float(start), 3), round(float(end), 3)
    _neighbours(t, None, start, end)
    seg = Segment(start=start, end=end, ru=ru.strip(), confidence=0.0, untranscribed=not ru.strip())
    index = sum(1 for other in t.segments if other.start < start)
    t.segments.insert(index, seg)
    t.revisions.append(Revision(seg.id, 0, user, now_iso(), "add", "", f"{start:.3f}-{end:.3f} {seg.ru}".strip()))
    return seg


def set_times(t: Testimony, segment_id: str, start: float, end: float, *, base_revision: int, user: str) -> Revision:
    """Move a segment's start and end (within the gaps to its neighbours); word times outside it are dropped."""
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    start, end = round(float(start), 3), round(float(end), 3)
    _neighbours(t, seg, start, end)
    old = f"{seg.start:.3f}-{seg.end:.3f}"
    seg.start, seg.end = start, end
    seg.words = [w for w in seg.words if start <= (w.start + w.end) / 2 <= end]
    seg.reviewed = False
    return _record(t, seg, user, "times", old, f"{start:.3f}-{end:.3f}")


def remove_empty_segment(t: Testimony, segment_id: str, *, base_revision: int, user: str) -> None:
    """Remove a segment that holds no text in either language (a false alarm: a cough, a door).

    Segments with text are never removed: text is evidence; merge or edit instead.
    """
    _require_editable(t)
    seg = t.segment(segment_id)
    _check_revision(seg, base_revision)
    if seg.ru.strip() or seg.en.strip():
        raise EditError("Only an empty segment can be removed; this one has text. Edit or merge it instead.")
    t.segments.remove(seg)
    t.revisions.append(Revision(seg.id, seg.revision + 1, user, now_iso(), "remove", f"{seg.start:.3f}-{seg.end:.3f}", ""))


def rename_speaker(t: Testimony, label: str, name: str, *, user: str) -> None:
    """Give a speaker label a display name ("witness" -> "Witness A"); segments keep the stable label."""
    _require_editable(t)
    if label not in SPEAKERS and label not in t.speaker_names:
        raise EditError(f"Unknown speaker {label!r}; use one of {', '.join(SPEAKERS)}.")
    old, name = t.speaker_names.get(label, ""), name.strip()
    if name and name != label:
        t.speaker_names[label] = name
    else:
        t.speaker_names.pop(label, None)
    t.revisions.append(Revision("", 0, user, now_iso(), "speaker_name", f"{label}={old}", f"{label}={name}"))


def _find_pattern(needle: str, case_sensitive: bool) -> re.Pattern[str]:
    if not needle:
        raise EditError("Type the text to find.")
    return re.compile(re.escape(needle), 0 if case_sensitive else re.IGNORECASE)


def find_in_column(t: Testimony, fld: str, needle: str, *, case_sensitive: bool = False) -> list[Segment]:
    """Segments whose Russian (``fld="ru"``) or English (``"en"``) text contains ``needle``."""
    if fld not in ("ru", "en"):
        raise EditError("Find and replace works on one column: Russian ('ru') or English ('en').")
    pattern = _find_pattern(needle, case_sensitive)
    return [s for s in t.segments if pattern.search(getattr(s, fld))]


def replace_in_column(
    t: Testimony, fld: str, needle: str, replacement: str, *, base_revisions: dict[str, int], user: str,
    case_sensitive: bool = False,
) -> list[Revision]:
    """Replace ``needle`` in one column of the given segments, one revision each.

    ``base_revisions`` are the segments (id -> revision) the user previewed; a segment changed since then is
    a ConflictError for the whole replacement (nothing is half-applied when the caller saves atomically).
    """
    if fld not in ("ru", "en"):
        raise EditError("Find and replace works on one column: Russian ('ru') or English ('en').")
    pattern = _find_pattern(needle, case_sensitive)
    revisions = []
    for segment_id, base in base_revisions.items():
        old = getattr(t.segment(segment_id), fld)
        new = pattern.sub(lambda _m: replacement, old)
        if new != old:
            revisions.append(edit_segment(t, segment_id, fld, new, base_revision=base, user=user))
    return revisions


def content_hash(t: Testimony) -> str:
    """sha256 over everything an approval vouches for, i.e. everything an export contains: the metadata, the
    speaker display names, every segment in full (times, speaker, both texts, English route and staleness,
    every word with its times and probability, review flags), the revision history (the manifest's
    reviewers) and the model record. Not covered: status, the approval itself and the owner."""
    payload = {
        "v": 2,
        "meta": asdict(t.meta),
        "speaker_names": dict(sorted(t.speaker_names.items())),
        "segments": [s.to_dict() for s in t.segments],
        "revisions": [asdict(r) for r in t.revisions],
        "models": dict(sorted(t.models.items())),
        **_parts_entry(t.part_starts),  # (where each part starts: exports say which part a segment is in)
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def legacy_content_hash(t: Testimony) -> str:
    """The hash approvals recorded before it covered speaker names, words and routes (issue 10, finding 7):
    such an approval is no longer accepted; an editor un-approves and approves again."""
    payload = {
        "meta": asdict(t.meta),
        "segments": [[s.id, round(s.start, 3), round(s.end, 3), s.speaker, s.ru, s.en] for s in t.segments],
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def approve(t: Testimony, *, user: str) -> Approval:
    if t.status is Status.APPROVED:
        raise LockedError(f"Testimony {t.case_code} is already approved.")
    gaps = [s for s in t.segments if s.untranscribed]
    if gaps:
        where = ", ".join(f"{s.start:.1f}s" for s in gaps[:5]) + (" …" if len(gaps) > 5 else "")
        raise LockedError(
            f"Testimony {t.case_code} cannot be approved yet: {len(gaps)} stretch(es) of speech are not "
            f"transcribed (at {where}). Listen to each and type what is said, or remove it if it is not speech."
        )
    empty = [s for s in t.segments if not s.ru.strip()]
    if empty:
        raise LockedError(
            f"Testimony {t.case_code} cannot be approved yet: {len(empty)} segment(s) have no Russian text (at "
            f"{', '.join(f'{s.start:.1f}s' for s in empty[:5])}). Type what is said, or remove an empty segment."
        )
    if not t.all_reviewed():
        missing = sum(1 for s in t.segments if not s.reviewed)
        raise LockedError(
            f"Testimony {t.case_code} cannot be approved yet: {missing} segment(s) are not marked reviewed."
            if t.segments else f"Testimony {t.case_code} has no transcript to approve yet."
        )
    t.approval = Approval(user, now_iso(), content_hash(t))
    t.status = Status.APPROVED
    return t.approval


def unapprove(t: Testimony, *, user: str, reason: str) -> None:
    if t.status is not Status.APPROVED:
        raise LockedError(f"Testimony {t.case_code} is not approved.")
    if not reason.strip():
        raise EditError("Un-approving needs a reason; it is kept in the audit log.")
    t.approval = None
    t.status = Status.DRAFT
