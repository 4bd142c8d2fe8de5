"""Which pages exist and which roles see them.

Hiding a page is a convenience for people; the protection is in the library, which checks every action
against the user's role again (``workstation.vault.users.require``).
"""

from __future__ import annotations

from dataclasses import dataclass

INTERVIEWER, TRANSLATOR, EDITOR = "interviewer", "translator", "editor"
ALL_ROLES = frozenset({INTERVIEWER, TRANSLATOR, EDITOR})


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    section: str
    roles: frozenset[str]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("page_home.py", "Testimonies", "🗂️", "Testimonies", ALL_ROLES),
    PageSpec("page_new.py", "New testimony", "➕", "Testimonies", frozenset({INTERVIEWER, EDITOR})),
    PageSpec("page_processing.py", "Processing queue", "⏳", "Testimonies", ALL_ROLES),
    PageSpec("page_review.py", "Review", "📝", "Translation", ALL_ROLES),
    PageSpec("page_glossary.py", "Glossary", "📖", "Translation", frozenset({TRANSLATOR, EDITOR})),
    PageSpec("page_approval.py", "Approval", "✅", "Editorial", frozenset({EDITOR})),
    PageSpec("page_export.py", "Export", "📤", "Editorial", frozenset({EDITOR})),
    PageSpec("page_users.py", "Users", "👥", "Editorial", frozenset({EDITOR})),
    PageSpec("page_audit.py", "Audit log", "📜", "Editorial", frozenset({EDITOR})),
    PageSpec("page_verify.py", "Verify vault", "🛡️", "Editorial", frozenset({EDITOR})),
    PageSpec("page_account.py", "My account", "🔑", "Account", ALL_ROLES),
)


def allowed_pages(role: str) -> list[PageSpec]:
    return [p for p in PAGES if str(role) in p.roles]


def may_edit(role: str) -> bool:
    """Translators and editors correct transcripts; interviewers read their own testimonies."""
    return str(role) in (TRANSLATOR, EDITOR)


def may_process(role: str) -> bool:
    """Interviewers and editors upload recordings and start (or restart) processing."""
    return str(role) in (INTERVIEWER, EDITOR)
