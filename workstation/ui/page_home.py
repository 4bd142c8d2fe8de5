"""Testimonies: the list a user may see, with status, review progress and processing state.

Visibility rule (written down in docs/UI.md): interviewers see the testimonies they created; translators
and editors see all of them. The vault applies the rule in ``list_testimonies``; this page only shows
what it is given.
"""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status
from workstation.services import jobs
from workstation.ui import nav, state


def _open(case: str, page: str) -> None:
    state.touch()
    st.session_state["case"] = case
    st.session_state["goto"] = page


def render() -> None:
    sess = state.require_session()
    st.title("Testimonies")
    state.show_flashes()
    goto = st.session_state.pop("goto", None)
    if goto:
        st.switch_page(goto)
    recovered = st.session_state.get("recovered_jobs")
    if recovered:
        st.warning("The app was stopped while recordings were being processed: " + ", ".join(recovered)
                   + ". Open the processing queue to see what happened to each.", icon=":material/warning:")
    with state.shown_errors("Listing the testimonies"):
        summaries = state.summaries(fresh=True)
        if not summaries:
            hint = " Create one from “New testimony”." if nav.may_process(sess.role) else ""
            st.info("No testimony to show yet." + hint)
            return
        queue = jobs.queue_for(state.vault_path())
        for t in summaries:
            job = queue.get(t.case_code)
            with st.container(border=True):
                c1, c2, c3, c4 = st.columns([3, 3, 1, 1], vertical_alignment="center")
                c1.markdown(f"**{t.case_code}** · {state.status_words(t.status)}")
                details = []
                if t.n_segments:
                    details.append(f"{t.n_reviewed} of {t.n_segments} segments reviewed")
                if t.duration_s:
                    details.append(state.fmt_duration(t.duration_s))
                details.append(f"created by {t.owner}" + (f" on {state.when(t.created)}" if t.created else ""))
                if job and job.active:
                    details.append(f"processing: {job.state} {job.progress:.0%}")
                c2.caption(" · ".join(details))
                c3.button("Details", key=f"details_{t.case_code}", on_click=_open, args=(t.case_code, "page_testimony.py"),
                          width="stretch")
                if t.status in (Status.DRAFT, Status.APPROVED):
                    c4.button("Review", key=f"open_{t.case_code}", on_click=_open, args=(t.case_code, "page_review.py"),
                              type="primary", width="stretch")


if __name__ == "__main__":
    render()
