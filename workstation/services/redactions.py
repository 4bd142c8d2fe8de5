"""Redactions: the editor's pseudonym table of a testimony — suggestions merged in, decisions saved and audited.

Only editors decide (the export permission); every change of the table is one audit entry (counts only, never
the names). The table lives in the vault next to the testimony and never appears in an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workstation.domain import timefmt
from workstation.domain.testimony import Testimony
from workstation.evidence import redact as rd
from workstation.evidence.redact import Entry, PseudonymTable, RedactedTestimony, RedactionError, Redactor, redact_testimony
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession

TABLE_RECORD = "redactions"


def load_table(session: VaultSession, case_code: str) -> PseudonymTable:
    return PseudonymTable.from_dict(session.load_extra(case_code, TABLE_RECORD))


def save_table(session: VaultSession, case_code: str, table: PseudonymTable) -> None:
    """Only editors decide redactions (the vault enforces it per record kind; readable by whoever reads the testimony)."""
    session.require(Action.REDACT)
    session.save_extra(case_code, TABLE_RECORD, table.to_dict())


def refresh_table(session: VaultSession, case_code: str,
                  testimony: Testimony | None = None) -> tuple[PseudonymTable, list[Entry]]:
    """Re-run the suggestions on the latest text and merge them into the saved table (decisions kept)."""
    t = testimony or session.load(case_code)
    table = load_table(session, case_code)
    added = table.merge(rd.suggest(t, session.load_glossary()))
    if added:
        save_table(session, case_code, table)
    return table, added


def table_for_export(session: VaultSession, case_code: str, testimony: Testimony) -> PseudonymTable:
    """The table to apply, refused while any suggestion (old or new since the last edit) is undecided."""
    table, _added = refresh_table(session, case_code, testimony)
    pending = table.pending()
    if pending:
        raise RedactionError(
            f"{len(pending)} redaction suggestion(s) for {case_code} are still undecided. Accept or reject each "
            f"one first (`workstation redact {case_code}`, or the export page); nothing was exported."
        )
    return table


def _loaded(session: VaultSession, case_code: str) -> tuple[Testimony, PseudonymTable]:
    """The testimony and its saved table, for an editor's redaction views."""
    session.require(Action.REDACT)
    return session.load(case_code), load_table(session, case_code)


def _segment_label(t: Testimony, segment_id: str) -> str:
    index = next(i for i, s in enumerate(t.segments) if s.id == segment_id)
    return f"#{index + 1} ({timefmt.position(t.segments[index].start)})"


def redacted_for_export(session: VaultSession, case_code: str, t: Testimony) -> tuple[PseudonymTable, RedactedTestimony]:
    """The table and the redacted testimony, refused while a suggestion is undecided or the English of a
    segment is in doubt (a name the draft may have rendered in a way no pattern recognises), naming those
    segments so a person can check them (`confirm_english`)."""
    table = table_for_export(session, case_code, t)
    red = redact_testimony(t, table)
    doubts = red.open_doubts(table, t)
    if doubts:
        where = sorted({d.segment_id for d in doubts}, key=lambda i: [s.id for s in t.segments].index(i))
        raise RedactionError(
            f"The English of {len(where)} segment(s) of {case_code} may still name someone: "
            + ", ".join(_segment_label(t, i) for i in where[:12]) + ("…" if len(where) > 12 else "")
            + ". Check each (`workstation redact " + case_code + " --doubts`, or the export page), correct the "
            "English or confirm it is clean; nothing was exported."
        )
    return table, red


@dataclass(frozen=True)
class DoubtView:
    """An open doubt as the editor sees it: where, which name (its id and pseudonym), why, and the English."""

    segment_id: str
    label: str
    entry_id: str
    pseudonym: str
    reason: str
    english: str


def doubts(session: VaultSession, case_code: str) -> list[DoubtView]:
    """Segments whose English a person must check before a redacted export (editors)."""
    t, table = _loaded(session, case_code)
    if not table.accepted():
        return []
    red = redact_testimony(t, table)
    return [DoubtView(d.segment_id, _segment_label(t, d.segment_id), d.entry_id, table.get(d.entry_id).pseudonym,
                      d.reason, t.segment(d.segment_id).en) for d in red.open_doubts(table, t)]


def confirm_english(session: VaultSession, case_code: str, segment_ids: list[str]) -> int:
    """An editor vouches that the English of these segments names nobody (as the text is now); audited."""
    t, table = _loaded(session, case_code)
    open_ = [d for d in doubts(session, case_code) if d.segment_id in set(segment_ids)]
    for d in open_:
        seg = t.segment(d.segment_id)
        table.confirm(d.segment_id, d.entry_id, seg.ru, seg.en)
    if open_:
        save_table(session, case_code, table)
        session.record_audit("redaction_english_confirmed", case_code, segments=len({d.segment_id for d in open_}),
                             entries="|".join(sorted({d.entry_id for d in open_})[:10]))
    return len(open_)


@dataclass(frozen=True)
class Mention:
    """One mention of a name: which segment, where in the recording, the sentence it is in."""

    segment_id: str
    label: str
    start: float
    end: float
    sentence: str


def mentions(session: VaultSession, case_code: str, entry_id: str) -> list[Mention]:
    """Every mention of one suggestion, in the Russian, with its sentence: what the editor decides on."""
    t, table = _loaded(session, case_code)
    probe = PseudonymTable({entry_id: replace(table.get(entry_id), decision="accepted", pseudonym="\u2588")})
    redactor = Redactor(probe)
    found = []
    for seg in t.segments:
        for a, b, _e in redactor.find(seg.ru):
            found.append(Mention(seg.id, _segment_label(t, seg.id), seg.start, seg.end, _sentence(seg.ru, a, b)))
    return found


def _sentence(text: str, a: int, b: int) -> str:
    """The sentence around text[a:b], the mention in «»."""
    start = max(text.rfind(p, 0, a) for p in ".!?") + 1
    ends = [i for i in (text.find(p, b) for p in ".!?") if i >= 0]
    end = min(ends) + 1 if ends else len(text)
    return (text[start:a] + "«" + text[a:b] + "»" + text[b:end]).strip()


@dataclass(frozen=True)
class PreviewRow:
    segment_id: str
    label: str
    ru: str
    en: str
    changed: bool


def preview(session: VaultSession, case_code: str) -> list[PreviewRow]:
    """The redacted Russian and English side by side, as a redacted export would have them (editors)."""
    t, table = _loaded(session, case_code)
    red = redact_testimony(t, table).testimony
    return [PreviewRow(s.id, _segment_label(t, s.id), r.ru, r.en, (r.ru, r.en) != (s.ru, s.en))
            for s, r in zip(t.segments, red.segments, strict=True)]


@dataclass
class Decisions:
    """What an editor decided in one go (the CLI's options, or one click on the export page)."""

    accept: list[str] = field(default_factory=list)  # entry ids; "all" accepts every pending one
    reject: list[str] = field(default_factory=list)
    pseudonyms: dict[str, str] = field(default_factory=dict)  # id → pseudonym (accepts it)
    variants: dict[str, list[str]] = field(default_factory=dict)  # id → other spellings to catch
    add: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) names the suggestions missed
    whole: dict[str, bool] = field(default_factory=dict)  # segment id → redact it whole (True) or not any more

    def empty(self) -> bool:
        return not (self.accept or self.reject or self.pseudonyms or self.variants or self.add or self.whole)


def decide(session: VaultSession, case_code: str, decisions: Decisions) -> PseudonymTable:
    """Apply the editor's decisions to the table (fresh suggestions merged in first), save it, audit it."""
    session.require(Action.REDACT)
    table, _added = refresh_table(session, case_code)
    if decisions.empty():
        return table
    before = {e.id: (e.decision, e.pseudonym, tuple(e.variants)) for e in table.entries.values()}
    known = {s.id for s in session.load(case_code).segments}
    for segment_id, on in decisions.whole.items():
        if segment_id not in known:
            raise RedactionError(f"There is no segment {segment_id!r} in {case_code} (see `workstation show {case_code}`).")
        table.redact_segment(segment_id, on)
    for kind, text in decisions.add:
        table.add(text, kind)
    for entry_id in decisions.accept:
        for eid in ([e.id for e in table.pending()] if entry_id == "all" else [entry_id]):
            table.accept(eid)
    for entry_id in decisions.reject:
        table.reject(entry_id)
    for entry_id, name in decisions.pseudonyms.items():
        table.accept(entry_id, name)
    for entry_id, spellings in decisions.variants.items():
        for spelling in spellings:
            table.add_variant(entry_id, spelling)
    save_table(session, case_code, table)
    touched = sorted(e.id for e in table.entries.values()
                     if before.get(e.id) != (e.decision, e.pseudonym, tuple(e.variants)))
    session.record_audit("redactions_decided", case_code, accepted=len(table.accepted()), pending=len(table.pending()),
                         changed=len(touched) + len(decisions.whole), entries="|".join(touched[:10]),  # ids, never names
                         whole_segments=len(table.whole))
    return table
