"""The pseudonym table: the editor's decisions on each suggestion and the pseudonyms given.

The table holds real → pseudonym pairs ("Witness A", "Town 1", "Organisation 1") with a decision each (pending,
accepted, rejected). It lives in the vault as the testimony's extra record ``"redactions"``
(``services/redactions.py`` loads and saves it) and never appears in an export.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from workstation.evidence.redact.forms import TOKEN, fold, likely_lemma
from workstation.platform.errors import WorkstationError

KINDS = ("PER", "LOC", "ORG", "SENSITIVE")
KIND_LABELS = {"PER": "person", "LOC": "place", "ORG": "organisation", "SENSITIVE": "sensitive term"}
DECISIONS = ("pending", "accepted", "rejected")


class RedactionError(WorkstationError):
    """A redaction request that cannot be honoured (unknown suggestion id, empty pseudonym...)."""


# --- the table ----------------------------------------------------------------------------------


@dataclass
class Suggestion:
    """One thing to consider redacting: all mentions of one lemma of one kind."""

    id: str
    text: str  # a surface form as first seen
    lemma: str
    kind: str  # PER, LOC, ORG, SENSITIVE
    segment_ids: list[str]
    count: int
    forms: list[str] = field(default_factory=list)  # distinct surface forms seen
    variants: list[str] = field(default_factory=list)  # English renderings fixed in the glossary


@dataclass
class Entry:
    """One row of the pseudonym table: a real name (by lemma), its pseudonym and the editor's decision."""

    id: str
    lemma: str
    kind: str
    text: str
    pseudonym: str = ""
    decision: str = "pending"
    forms: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # extra spellings: exonyms, nicknames, misspellings
    segment_ids: list[str] = field(default_factory=list)
    count: int = 0


def suggestion_id(kind: str, lemma: str) -> str:
    """Stable across runs, so decisions survive re-suggesting after edits."""
    digest = hashlib.sha256(f"{kind}\x00{fold(lemma)}".encode()).hexdigest()[:6]
    return f"{kind[0].lower()}{digest}"


def _required(text: str, message: str) -> str:
    clean = " ".join(text.split())
    if not clean:
        raise RedactionError(message)
    return clean


_DEFAULT_PREFIX = {"PER": "Witness", "LOC": "Town", "ORG": "Organisation", "SENSITIVE": "Redacted"}


def _letters(n: int) -> str:  # 0 → A, 25 → Z, 26 → AA
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def segment_fingerprint(ru: str, en: str) -> str:
    """What an editor's "the English of this segment is clean" vouches for: this Russian and this English."""
    return hashlib.sha256(f"{ru}\x00{en}".encode()).hexdigest()[:32]


@dataclass
class PseudonymTable:
    entries: dict[str, Entry] = field(default_factory=dict)
    # "segment id|entry id" → fingerprint of the segment's text when an editor confirmed its English is clean
    confirmed: dict[str, str] = field(default_factory=dict)
    # segments an editor redacts whole (text in both languages, their audio): an identifying passage
    whole: list[str] = field(default_factory=list)

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "entries": [asdict(e) for e in self.entries.values()], "confirmed": dict(self.confirmed),
                "whole": list(self.whole)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PseudonymTable:
        if not data:
            return cls()
        return cls({e["id"]: Entry(**e) for e in data.get("entries", [])}, dict(data.get("confirmed", {})),
                   list(data.get("whole", [])))

    def digest(self) -> str:
        """sha256 of the table's canonical form: the export manifest records which table was applied."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def redact_segment(self, segment_id: str, on: bool = True) -> None:
        """Redact (or stop redacting) a whole segment: its text in both languages and its audio."""
        if on and segment_id not in self.whole:
            self.whole.append(segment_id)
        elif not on and segment_id in self.whole:
            self.whole.remove(segment_id)

    # -- doubts about the English (align.py)
    def confirm(self, segment_id: str, entry_id: str, ru: str, en: str) -> None:
        """An editor checked this segment's English for this name: clean (until its text changes)."""
        self.get(entry_id)
        self.confirmed[f"{segment_id}|{entry_id}"] = segment_fingerprint(ru, en)

    def is_confirmed(self, segment_id: str, entry_id: str, ru: str, en: str) -> bool:
        return self.confirmed.get(f"{segment_id}|{entry_id}") == segment_fingerprint(ru, en)

    # -- editing
    def merge(self, suggestions: Iterable[Suggestion]) -> list[Entry]:
        """Add new suggestions as pending entries; refresh counts of known ones. Returns the new entries."""
        added = []
        for s in suggestions:
            entry = self.entries.get(s.id)
            if entry is None:
                entry = Entry(s.id, s.lemma, s.kind, s.text)
                self.entries[s.id] = entry
                added.append(entry)
            entry.forms = sorted(set(entry.forms) | set(s.forms))
            entry.variants += [v for v in s.variants if v not in entry.variants]
            entry.segment_ids, entry.count = list(s.segment_ids), s.count
        return added

    def get(self, entry_id: str) -> Entry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise RedactionError(
                f"There is no redaction suggestion {entry_id!r}; list them with `workstation redact CASE`."
            ) from None

    def accept(self, entry_id: str, pseudonym: str | None = None) -> Entry:
        entry = self.get(entry_id)
        entry.decision = "accepted"
        if pseudonym is not None:
            self.set_pseudonym(entry_id, pseudonym)
        elif not entry.pseudonym:
            entry.pseudonym = self._shared_pseudonym(entry) or self.next_pseudonym(entry.kind)
        return entry

    def reject(self, entry_id: str) -> Entry:
        entry = self.get(entry_id)
        entry.decision = "rejected"
        return entry

    def set_pseudonym(self, entry_id: str, pseudonym: str) -> Entry:
        name = _required(pseudonym, "A pseudonym cannot be empty.")
        entry = self.get(entry_id)
        real = {fold(entry.lemma), fold(entry.text), *(fold(f) for f in entry.forms)}
        if fold(name) in real:
            raise RedactionError("The pseudonym must differ from the real name.")
        entry.pseudonym = name
        return entry

    def add_variant(self, entry_id: str, spelling: str) -> Entry:
        spelling = _required(spelling, "A variant spelling cannot be empty.")
        entry = self.get(entry_id)
        if spelling not in entry.variants:
            entry.variants.append(spelling)
        return entry

    def _shared_pseudonym(self, entry: Entry) -> str:
        """"Ахмед" and "Ахмед Кадыров" are most likely one person: reuse the pseudonym already given."""
        if entry.kind != "PER":
            return ""
        mine = {fold(w) for w in TOKEN.findall(entry.lemma)}
        for other in self.accepted():
            if other is not entry and other.kind == "PER" and other.pseudonym:
                if mine & {fold(w) for w in TOKEN.findall(other.lemma)}:
                    return other.pseudonym
        return ""

    def add(self, text: str, kind: str = "PER", pseudonym: str | None = None) -> Entry:
        """A name the suggestions missed, added by hand: accepted at once."""
        text = _required(text, "Give the name or term to redact.")
        kind = kind.strip().upper()
        if kind not in KINDS:
            raise RedactionError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
        words = TOKEN.findall(text)
        lemma = " ".join(likely_lemma(w) for w in words) or text
        entry_id = suggestion_id(kind, lemma)
        self.entries.setdefault(entry_id, Entry(entry_id, lemma, kind, text, forms=[text]))
        return self.accept(entry_id, pseudonym)

    def next_pseudonym(self, kind: str) -> str:
        prefix = _DEFAULT_PREFIX.get(kind, "Redacted")
        taken = {e.pseudonym for e in self.entries.values()}
        for n in range(10_000):
            name = f"{prefix} {_letters(n)}" if kind == "PER" else f"{prefix} {n + 1}"
            if name not in taken:
                return name
        raise RedactionError("Too many pseudonyms of one kind.")

    def accepted(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.decision == "accepted"]

    def pending(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.decision == "pending"]
