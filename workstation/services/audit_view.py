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
    return AuditRow(entry.at, entry.user, entry.action, entry.case_code or "", details)


def rows(session: VaultSession) -> list[AuditRow]:
    """Every entry, oldest first (editors only: the vault checks the permission)."""
    return [row(e) for e in session.audit_entries()]
