"""The processing queue: every job's state, a live progress bar with time remaining, cancel and retry.

The list refreshes itself every second (a fragment), without re-running the rest of the page; the
jobs themselves run in the app's background worker (``workstation.services.jobs``), so closing or reloading the
page does not stop them.
"""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status
from workstation.services import jobs
from workstation.services.jobs import Job, JobState
from workstation.ui import nav, state
from workstation.vault.session import TestimonySummary, VaultSession

STATE_ICONS = {
    JobState.QUEUED: ":material/schedule:", JobState.RUNNING: ":material/autorenew:", JobState.DONE: ":material/check_circle:",
    JobState.FAILED: ":material/error:", JobState.CANCELLED: ":material/cancel:", JobState.INTERRUPTED: ":material/warning:",
}


def _queue() -> jobs.JobQueue:
    return jobs.queue_for(state.vault_path())


def _cancel(case: str) -> None:
    state.run_action(_queue().cancel, case, success=f"Processing of {case} is being cancelled.")


def _restart(case: str, options: dict) -> None:
    sess = state.require_session()
    state.run_action(_queue().submit, sess, case, options, success=f"{case} queued for processing again.")


def _job_line(job: Job, may_process: bool, statuses: dict[str, str]) -> None:
    q = _queue()
    with st.container(border=True):
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        title = f"{STATE_ICONS.get(job.state, '')} **{job.case_code}** — {job.state}"
        if job.state is JobState.QUEUED and (pos := q.position(job.case_code)):
            title += f" (position {pos} in the queue)"
        c1.markdown(title)
        if job.state is JobState.RUNNING:
            left = state.fmt_duration(job.eta_s)
            c1.progress(job.progress, text=f"{job.stage or 'working'} · {job.progress:.0%} · about {left} left · "
                                          f"running for {state.fmt_duration(job.elapsed_s())}")
        elif job.state is JobState.DONE:
            c1.caption(f"Finished in {state.fmt_duration(job.elapsed_s())}. Ready for review.")
        if job.error:
            c1.error(job.error)
        if job.note:
            c1.caption(job.note)
        if may_process:
            if job.active:
                c2.button("Cancel", key=f"cancel_{job.case_code}", on_click=_cancel, args=(job.case_code,))
            elif job.state is not JobState.DONE and statuses.get(job.case_code) in jobs.UNPROCESSED_STATUSES:
                c2.button("Process again", key=f"retry_{job.case_code}", on_click=_restart, args=(job.case_code, job.options))


@st.fragment(run_every=1.0)
def job_list(statuses: dict[str, str]) -> None:
    """Re-drawn every second on its own; reads only the in-memory queue (no vault access)."""
    sess = state.session()
    if sess is None:
        return
    with state.shown_errors("Showing the queue"):
        found = _queue().jobs(set(statuses))
        if not found:
            st.info("No processing job since the app started. New recordings are queued from “New testimony”.")
            return
        may_process = nav.may_process(sess.role)
        for job in found:
            _job_line(job, may_process, statuses)


def _unprocessed(sess: VaultSession, summaries: list[TestimonySummary]) -> None:
    """Testimonies with a sealed recording that were never processed (or whose job was lost)."""
    q = _queue()

    def running(case: str) -> bool:
        job = q.get(case)
        return job is not None and job.active

    waiting = [t for t in summaries if t.status is Status.INGESTED and not running(t.case_code)]
    if not waiting or not nav.may_process(sess.role):
        return
    st.subheader("Sealed, not processed")
    for t in waiting:
        c1, c2 = st.columns([5, 1])
        c1.markdown(f"**{t.case_code}**")
        c2.button("Process", key=f"start_{t.case_code}", on_click=_restart, args=(t.case_code, {}))


def render() -> None:
    sess = state.require_session()
    st.title("Processing queue")
    state.show_flashes()
    recovered = st.session_state.pop("recovered_jobs", [])
    if recovered:
        st.warning(
            "The app was stopped while recordings were being processed: "
            + ", ".join(recovered)
            + ". See each one below (restarted from the beginning, or waiting for an interviewer or editor).",
            icon=":material/warning:",
        )
    st.caption("One recording is processed at a time. You can keep working, reload the page or lock the screen: processing continues.")
    with state.shown_errors("Showing the queue"):
        summaries = state.summaries(fresh=True)
        job_list({t.case_code: str(t.status) for t in summaries})
        _unprocessed(sess, summaries)


if __name__ == "__main__":
    render()
