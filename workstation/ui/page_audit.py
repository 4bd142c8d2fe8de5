"""Editor: the audit log — who did what and when (never content), with filters, and its chain check."""

from __future__ import annotations

import streamlit as st

from workstation.services import audit_view
from workstation.ui import state

ACTION_WORDS = {  # the log's action names, as people say them (the filter and the table; the log itself is unchanged)
    "recording_ingested": "recording sealed", "edit_segment": "segment edited", "set_reviewed": "reviewed mark",
    "marked_reviewed": "marked reviewed (several)", "confirmed": "segment confirmed", "english_confirmed": "English kept",
    "approval_hash": "approval content hash", "metadata_edited": "details edited", "shred": "shredded",
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


def render() -> None:
    sess = state.require_session()
    st.title("Audit log")
    st.caption("Every action is recorded with who and when — never the content. Entries are chained and authenticated.")
    with state.shown_errors("Reading the audit log"):
        rows = [r.as_dict() for r in audit_view.rows(sess)]
        c1, c2, c3, c4 = st.columns(4)
        users = c1.multiselect("User", sorted({r["user"] for r in rows}))
        actions = c2.multiselect("Action", sorted({r["action"] for r in rows}, key=action_words), format_func=action_words)
        cases = c3.multiselect("Testimony", sorted({r["case"] for r in rows if r["case"]}))
        since = c4.date_input("Since", value=None, format="YYYY-MM-DD")
        shown = [
            r for r in rows
            if (not users or r["user"] in users) and (not actions or r["action"] in actions)
            and (not cases or r["case"] in cases) and (since is None or r["when"][:10] >= since.isoformat())
        ]
        st.caption(f"{len(shown)} of {len(rows)} entries · chain head `{sess.audit_head()[:16]}…`")
        table = [{"When": state.when(r["when"], seconds=True), "User": r["user"], "Action": action_words(r["action"]),
                  "Testimony": r["case"], "Details": r["details"]} for r in reversed(shown)]
        st.dataframe(table, width="stretch", hide_index=True)


if __name__ == "__main__":
    render()
