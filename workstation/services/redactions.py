"""Redactions: the editor's pseudonym table of a testimony — suggestions merged in, decisions saved and audited.

Only editors decide (the export permission); every change of the table is one audit entry (counts only, never
the names). The table lives in the vault next to the testimony and never appears in an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workstation.domain.testimony import Testimony
from workstation.evidence import redact as rd
from workstation.evidence.redact import Entry, PseudonymTable, RedactionError
from workstation.vault.session import VaultSession
from workstation.vault.permissions import Action

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


@dataclass
class Decisions:
    """What an editor decided in one go (the CLI's options, or one click on the export page)."""

    accept: list[str] = field(default_factory=list)  # entry ids; "all" accepts every pending one
    reject: list[str] = field(default_factory=list)
    pseudonyms: dict[str, str] = field(default_factory=dict)  # id → pseudonym (accepts it)
    variants: dict[str, list[str]] = field(default_factory=dict)  # id → other spellings to catch
    add: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) names the suggestions missed

    def empty(self) -> bool:
        return not (self.accept or self.reject or self.pseudonyms or self.variants or self.add)


def decide(session: VaultSession, case_code: str, decisions: Decisions) -> PseudonymTable:
    """Apply the editor's decisions to the table (fresh suggestions merged in first), save it, audit it."""
    session.require(Action.REDACT)
    table, _added = refresh_table(session, case_code)
    if decisions.empty():
        return table
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
    session.record_audit("redactions_decided", case_code, accepted=len(table.accepted()), pending=len(table.pending()),
                         changed=len(decisions.accept) + len(decisions.reject) + len(decisions.pseudonyms)
                         + len(decisions.add) + sum(len(v) for v in decisions.variants.values()))
    return table
