"""Editor: approval. A testimony can be approved only when every segment is reviewed; approval records
the content hash and locks editing; un-approving needs a reason (kept in the audit log)."""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status
from workstation.services import approval
from workstation.ui import state


def _approve(case: str) -> None:
    state.run_action(approval.approve, state.require_session(), case, success=f"{case} approved and locked.", what="Approving")
    state.forget(case)


def _unapprove(case: str, key: str) -> None:
    reason = st.session_state.get(key, "")
    state.run_action(approval.unapprove, state.require_session(), case, reason, success=f"{case} un-approved; it can be edited again.", what="Un-approving")
    state.forget(case)


def render() -> None:
    with state.page("Approval", "Loading the testimony") as sess:
        summary = state.processed_case("No processed testimony yet.")
        if summary is None:
            return
        case = summary.case_code
        t = sess.load(case)
        ready = approval.readiness(t)
        st.progress(ready.reviewed / ready.total if ready.total else 0.0,
                    text=f"{ready.reviewed} of {ready.total} segments reviewed")
        if t.status is Status.APPROVED and t.approval:
            st.success(f"Approved by **{t.approval.user}** at {t.approval.at}.", icon=":material/lock:")
            st.markdown(f"Content hash: `{t.approval.content_hash}`")
            if ready.content_hash != t.approval.content_hash:
                st.error("The content no longer matches the approved hash: the testimony was altered after approval. Run “Verify vault”.")
            key = f"unapprove_reason_{case}"
            st.text_input("Reason for un-approving (kept, encrypted, with the testimony)", key=key)
            st.button("Un-approve", key="unapprove", on_click=_unapprove, args=(case, key),
                      disabled=not st.session_state.get(key, "").strip())
            return
        for warning in ready.warnings:
            st.warning(warning.capitalize() + ". Approving vouches for the English as it is.")
        if ready.blockers:
            st.warning("Approval needs every segment reviewed and every stretch of speech transcribed: "
                       + "; ".join(ready.blockers) + ".")
        st.caption(f"Approving records the content hash `{ready.content_hash[:16]}…` and locks the testimony against edits.")
        st.button("Approve", key="approve", type="primary", on_click=_approve, args=(case,), disabled=bool(ready.blockers))


if __name__ == "__main__":
    render()
