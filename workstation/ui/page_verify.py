"""Editor: verify the vault — the audit chain, every encrypted record and blob, every original's sha256."""

from __future__ import annotations

import streamlit as st

from workstation.services import verification
from workstation.ui import state

REPORT_KEY = "verify_report"


def _verify() -> None:
    report = state.run_action(verification.verify_vault, state.require_session(), what="Verification")
    if report is not None:
        st.session_state[REPORT_KEY] = list(report.problems)


def render() -> None:
    state.require_session()
    st.title("Verify vault")
    state.show_flashes()
    st.write("Checks that nothing in the vault was altered, truncated or swapped: the audit log's chain, every "
             "encrypted record and recording, and each original recording against the hash taken when it was sealed. "
             "A long vault takes a while.")
    st.button("Verify vault", key="verify", type="primary", on_click=_verify)
    problems = st.session_state.get(REPORT_KEY)
    if problems is None:
        return
    if not problems:
        st.success("The vault is intact: no problem found.", icon=":material/check_circle:")
    else:
        st.error(f"{len(problems)} problem(s) found. Keep a copy of the vault as it is and tell your security contact.", icon=":material/error:")
        for p in problems:
            st.markdown(f"- {p}")


if __name__ == "__main__":
    render()
