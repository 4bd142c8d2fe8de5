"""Editor: approval. A testimony can be approved only when every segment is reviewed; approval records
the content hash and locks editing; un-approving needs a reason (kept in the audit log)."""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status, content_hash
from workstation.ui import state


def _approve(case: str) -> None:
    sess = state.require_session()
    state.run_action(sess.approve, case, success=f"{case} approved and locked.", what="Approving")
    state.forget(case)


def _unapprove(case: str, key: str) -> None:
    sess = state.require_session()
    reason = st.session_state.get(key, "")
    state.run_action(sess.unapprove, case, reason, success=f"{case} un-approved; it can be edited again.", what="Un-approving")
    state.forget(case)


def render() -> None:
    with state.page("Approval", "Loading the testimony") as sess:
        summary = state.processed_case("No processed testimony yet.")
        if summary is None:
            return
        case = summary.case_code
        t = sess.load(case)
        total, reviewed = len(t.segments), sum(s.reviewed for s in t.segments)
        st.progress(reviewed / total if total else 0.0, text=f"{reviewed} of {total} segments reviewed")
        if t.status is Status.APPROVED and t.approval:
            st.success(f"Approved by **{t.approval.user}** at {t.approval.at}.", icon=":material/lock:")
            st.markdown(f"Content hash: `{t.approval.content_hash}`")
            if content_hash(t) != t.approval.content_hash:
                st.error("The content no longer matches the approved hash: the testimony was altered after approval. Run “Verify vault”.")
            key = f"unapprove_reason_{case}"
            st.text_input("Reason for un-approving (kept, encrypted, with the testimony)", key=key)
            st.button("Un-approve", key="unapprove", on_click=_unapprove, args=(case, key),
                      disabled=not st.session_state.get(key, "").strip())
            return
        stale = sum(s.en_stale for s in t.segments)
        if stale:
            st.warning(f"{stale} segment(s) still have English marked stale (the Russian changed after translation). "
                       "Approving vouches for the English as it is.")
        missing = total - reviewed
        if missing:
            st.warning(f"{missing} segment(s) are not reviewed yet. Approval needs every segment reviewed.")
        st.caption(f"Approving records the content hash `{content_hash(t)[:16]}…` and locks the testimony against edits.")
        st.button("Approve", key="approve", type="primary", on_click=_approve, args=(case,), disabled=bool(missing) or not total)


if __name__ == "__main__":
    render()
