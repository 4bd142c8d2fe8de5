"""Editor: approval. A summary before the click (what is checked, what is machine-made, who speaks, redactions),
the checks of `workstation.services.approval` (the CLI's too), and the way out when an editor must approve anyway:
a written reason, kept encrypted with the testimony (the audit log records only that an override happened).
Approval records the content hash and locks editing; un-approving needs a reason too."""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status, Testimony
from workstation.services import approval
from workstation.services.approval import Readiness
from workstation.ui import state

REASON_KEY = "override_reason_{case}"


def _approve(case: str) -> None:
    state.run_action(approval.approve, state.require_session(), case, success=f"{case} approved and locked.",
                     what="Approving")
    state.forget(case)


def _override(case: str, key: str, problems: int) -> None:
    reason = st.session_state.get(key, "")
    done = state.run_action(approval.approve, state.require_session(), case, override=reason, what="Approving",
                            success=f"{case} approved despite {problems} open problem(s); your reason is kept, "
                                    "encrypted, with the testimony.")
    if done is not None:
        st.session_state[key] = ""
    state.forget(case)


def _unapprove(case: str, key: str) -> None:
    reason = st.session_state.get(key, "")
    state.run_action(approval.unapprove, state.require_session(), case, reason,
                     success=f"{case} un-approved; it can be edited again.", what="Un-approving")
    state.forget(case)


def _summary(ready: Readiness) -> None:
    st.progress(ready.reviewed / ready.total if ready.total else 0.0,
                text=f"{ready.reviewed} of {ready.total} segments reviewed")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Machine English", ready.machine_english,
              help="Segments whose English is machine translation (or Whisper speech translation) that no person "
                   "corrected. Approving vouches for it as it is.")
    c2.metric("Unsure lines, unchanged", ready.unsure_untouched,
              help="Lines the recogniser was unsure of whose Russian nobody changed (confirmed as heard, or not yet "
                   "looked at).")
    c3.metric("Redactions undecided", ready.redactions_pending or 0,
              help="Redaction suggestions not yet accepted or rejected (Export page): a redacted export waits for them.")
    c4.metric("Speakers", len(ready.speakers))
    if ready.speakers:
        st.caption("Speakers: " + " · ".join(f"{name}: {n} segment(s)" for name, n in ready.speakers.items()))
    if ready.whisper_english:
        st.caption(f"{ready.whisper_english} segment(s) have English from Whisper's speech translation (the "
                   "lower-quality route).")


def _history(case: str) -> None:
    rows = approval.history(state.require_session(), case)
    if not rows:
        return
    with st.expander(f"Approval history ({len(rows)})"):
        for row in rows:
            st.markdown(f"**{str(row['kind']).capitalize()}** by {row['user']} on {state.when(str(row.get('at', '')))}: "
                        f"“{row.get('reason', '')}”")


def _approved(case: str, t: Testimony, ready: Readiness) -> None:
    if t.approval is None:
        return
    st.success(f"Approved by **{t.approval.user}** on {state.when(t.approval.at)}.", icon=":material/lock:")
    st.caption(f"Content hash `{t.approval.content_hash}`: what the approval vouches for (every export carries it).")
    if ready.content_hash != t.approval.content_hash:
        st.error("The content no longer matches the approved hash: the testimony was altered after approval. "
                 "Run “Verify vault”.")
    _history(case)
    key = f"unapprove_reason_{case}"
    st.text_input("Reason for un-approving (kept, encrypted, with the testimony)", key=key)
    st.button("Un-approve", key="unapprove", on_click=_unapprove, args=(case, key))


def render() -> None:
    with state.page("Approval", "Loading the testimony") as sess:
        summary = state.processed_case("No processed testimony yet.")
        if summary is None:
            return
        case = summary.case_code
        t = sess.load(case)
        ready = approval.summary(sess, case, t)
        if t.status is Status.APPROVED and t.approval:
            _approved(case, t, ready)
            return
        _summary(ready)
        if ready.problems:
            st.error("**Not ready to approve.** " + " ".join(f"{p.describe()}." for p in ready.problems)
                     + " Fix them on the Review page, or approve anyway below with a written reason.",
                     icon=":material/rule:")
        else:
            st.success("Every segment is reviewed and transcribed, and has current English.", icon=":material/check:")
        st.caption(f"Approving records the content hash `{ready.content_hash[:16]}…` and locks the testimony "
                   "against edits.")
        st.button("Approve", key="approve", type="primary" if ready.ready else "secondary", on_click=_approve,
                  args=(case,))
        if ready.problems:
            n = sum(len(p.segments) for p in ready.problems)
            with st.expander(f"Approve anyway, despite {n} open problem(s)", expanded=True):
                key = REASON_KEY.format(case=case)
                st.text_area("Reason for approving anyway (required)", key=key, height=80,
                             help="Kept, encrypted, with the testimony, and shown in its approval history. "
                                  "The audit log records only that an override happened.")
                st.button("Approve anyway", key="approve_override", on_click=_override, args=(case, key, n))
        _history(case)


if __name__ == "__main__":
    render()
