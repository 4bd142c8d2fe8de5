"""The audit log as people read it: one row type and one formatting for both shells (never content)."""

from __future__ import annotations

from dataclasses import dataclass

from workstation.vault.audit import AuditEntry
from workstation.vault.session import VaultSession


@dataclass(frozen=True)
class AuditRow:
    when: str
    user: str
    action: str
    case: str
    details: str

    def as_dict(self) -> dict[str, str]:
        return {"when": self.when, "user": self.user, "action": self.action, "case": self.case,
                "details": self.details}


def row(entry: AuditEntry) -> AuditRow:
    details = ", ".join(f"{k}={v}" for k, v in entry.details.items())
    return AuditRow(entry.at, _who(entry), entry.action, entry.case_code or "", details)


def _who(entry: AuditEntry) -> str:
    """The acting user; where the signature says someone else wrote the entry, both (verify reports it). A failed
    unlock names what was typed and is signed by whoever unlocked next: that is normal."""
    if not entry.signer or entry.signer == entry.user or entry.action == "unlock_failed":
        return entry.user
    return f"{entry.user} (but signed by {entry.signer})"


def rows(session: VaultSession) -> list[AuditRow]:
    """Every entry, oldest first (editors only: the vault checks the permission)."""
    return [row(e) for e in session.audit_entries()]
