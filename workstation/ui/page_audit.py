"""Editor: the audit log — who did what and when (never content), with filters, and its chain check."""

from __future__ import annotations

from typing import Any

import streamlit as st

from workstation.ui import state


def _field(entry: Any, name: str, default: Any = "") -> Any:
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


def _rows(entries: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        details = _field(e, "details", {}) or {}
        rows.append({
            "when": str(_field(e, "at", "") or _field(e, "time", "")),
            "user": _field(e, "user"),
            "action": _field(e, "action"),
            "case": _field(e, "case_code") or "",
            "details": ", ".join(f"{k}={v}" for k, v in details.items()) if isinstance(details, dict) else str(details),
        })
    return rows


def render() -> None:
    sess = state.require_session()
    st.title("Audit log")
    st.caption("Every action is recorded with who and when — never the content. Entries are chained and authenticated.")
    with state.shown_errors("Reading the audit log"):
        rows = _rows(list(sess.audit_entries()))
        c1, c2, c3, c4 = st.columns(4)
        users = c1.multiselect("User", sorted({r["user"] for r in rows}))
        actions = c2.multiselect("Action", sorted({r["action"] for r in rows}))
        cases = c3.multiselect("Testimony", sorted({r["case"] for r in rows if r["case"]}))
        since = c4.date_input("Since", value=None, format="YYYY-MM-DD")
        shown = [
            r for r in rows
            if (not users or r["user"] in users) and (not actions or r["action"] in actions)
            and (not cases or r["case"] in cases) and (since is None or r["when"][:10] >= since.isoformat())
        ]
        st.caption(f"{len(shown)} of {len(rows)} entries · chain head `{sess.audit_head()[:16]}…`")
        st.dataframe(list(reversed(shown)), width="stretch", hide_index=True)


if __name__ == "__main__":
    render()
