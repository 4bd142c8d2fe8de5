"""Which pages exist and which roles see them: a page is offered when the library's permission matrix
(``workstation.vault.permissions.can``) allows its action to the user's role.

Hiding a page is a convenience for people; the protection is in the library, which checks every action
against the user's role again (and, for interviewers, against the testimony's owner).
"""

from __future__ import annotations

from dataclasses import dataclass

from workstation.vault.permissions import Action, can


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    section: str
    action: str  # a workstation.vault.permissions.Action value the page is for


PAGES: tuple[PageSpec, ...] = (
    PageSpec("page_home.py", "Testimonies", "Testimonies", "view"),
    PageSpec("page_new.py", "New testimony", "Testimonies", "create_testimony"),
    PageSpec("page_testimony.py", "Testimony details", "Testimonies", "view"),
    PageSpec("page_processing.py", "Processing queue", "Testimonies", "view"),
    PageSpec("page_review.py", "Review", "Translation", "view"),
    PageSpec("page_glossary.py", "Glossary", "Translation", "edit_glossary"),
    PageSpec("page_approval.py", "Approval", "Editorial", "approve"),
    PageSpec("page_export.py", "Export", "Editorial", "export"),
    PageSpec("page_users.py", "Users", "Editorial", "manage_users"),
    PageSpec("page_audit.py", "Audit log", "Editorial", "read_audit"),
    PageSpec("page_verify.py", "Verify vault", "Editorial", "verify"),
    PageSpec("page_account.py", "My account", "Account", "view"),
)


def _can(role: str, action: str) -> bool:
    return can(role, Action(action))


def allowed_pages(role: str) -> list[PageSpec]:
    return [p for p in PAGES if _can(role, p.action)]


def may_edit(role: str) -> bool:
    """Translators and editors correct transcripts; interviewers read their own testimonies."""
    return _can(role, "edit_transcript")


def may_process(role: str) -> bool:
    """Interviewers and editors upload recordings and start (or restart) processing."""
    return _can(role, "process")
