"""Redactions of one testimony: its pseudonym table kept in the vault, refreshed from the latest text.

The table (``evidence.redact.PseudonymTable``) is the testimony's extra record ``"redactions"``: readable by
whoever may read the testimony, decided by editors only.
"""

from __future__ import annotations

from workstation.domain.testimony import Testimony
from workstation.evidence.redact import Entry, PseudonymTable, RedactionError, suggest
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession

TABLE_RECORD = "redactions"


def load_table(session: VaultSession, case_code: str) -> PseudonymTable:
    return PseudonymTable.from_dict(session.load_extra(case_code, TABLE_RECORD))


def save_table(session: VaultSession, case_code: str, table: PseudonymTable) -> None:
    """Only editors decide redactions (the record itself is readable by whoever reads the testimony)."""
    session.require(Action.EXPORT)
    session.save_extra(case_code, TABLE_RECORD, table.to_dict())


def refresh_table(session: VaultSession, case_code: str,
                  testimony: Testimony | None = None) -> tuple[PseudonymTable, list[Entry]]:
    """Re-run the suggestions on the latest text and merge them into the saved table (decisions kept)."""
    t = testimony or session.load(case_code)
    table = load_table(session, case_code)
    added = table.merge(suggest(t, session.load_glossary()))
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
