"""Testimony details: metadata and consent as recorded, corrected later (interviewer of it, editors), the sealed
original's facts, and — for editors — the consent-withdrawn flow: shred, confirmed by typing the case code.

Every change goes through `workstation.services.testimonies` (the vault checks the role and audits field names only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from workstation.services import intake, testimonies
from workstation.services.testimonies import FIELD_LABELS, SENSITIVITIES
from workstation.ui import state
from workstation.ui.page_new import AUDIO_TYPES

EDIT_FIELDS = ("interview_date", "interviewer", "sensitivity", "consent_scope", "notes")


def _save(case: str, prefix: str) -> None:
    changes = {}
    for name in EDIT_FIELDS:
        value = st.session_state.get(prefix + name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        if value is not None:
            changes[name] = str(value)
    if state.run_action(testimonies.update_meta, state.require_session(), case, changes, what="Saving the details",
                        success="Details saved.") is not None:
        state.forget(case)


def _shred(case: str, key: str) -> None:
    done = state.run_action(testimonies.shred, state.require_session(), case, st.session_state.get(key, ""),
                            what="Shredding", success=f"{case} was shredded: it cannot be recovered.")
    st.session_state[key] = ""
    if done is not None:
        state.forget(case)
        st.session_state.pop("case", None)
        st.query_params.pop("case", None)


def _add_part(sess: Any, case: str, number: int) -> None:
    """Not processed yet: another file of the same interview can follow the last part (sealed on its own, audited)."""
    with st.expander(f"Add part {number}: the next file of this interview", icon=":material/playlist_add:"):
        round_key = f"add_part_round_{case}"
        upload = st.file_uploader("Recording", type=AUDIO_TYPES, key=f"add_part_{case}_{st.session_state.get(round_key, 0)}")
        if st.button(f"Seal it as part {number}", key="add_part_go", disabled=upload is None) and upload is not None:
            done = state.run_action(intake.add_part, sess, case, upload.getvalue(), upload.name,
                                    what="Adding the part", success=f"{upload.name} was sealed as part {number} of {case}.")
            if done is not None:
                st.session_state[round_key] = st.session_state.get(round_key, 0) + 1  # a fresh, empty uploader
                state.forget(case)
            st.rerun()


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def render() -> None:
    with state.page("Testimony details", "Loading the testimony") as sess:
        found = state.summaries()
        case = state.selected_case([s.case_code for s in found])
        if case is None:
            st.info("No testimony to show yet.")
            return
        info = testimonies.details(sess, case)
        meta = info.meta
        st.caption(f"Status: **{state.status_words(info.status)}** · created by {info.owner} · "
                   f"{info.segments} segment(s)")
        for number, rec in enumerate(info.parts, 1):  # one caption per sealed file (parts of one interview)
            label = "Sealed original" if len(info.parts) == 1 else f"Part {number}, sealed original"
            st.caption(f"{label}: {rec.filename or 'recording'} · {state.fmt_duration(rec.duration_s)} · "
                       f"{rec.size / 1e6:.1f} MB · sealed by {rec.ingested_by} on {state.when(rec.ingested_at)} · "
                       f"sha256 `{rec.sha256[:16]}…`")
        if info.may_add_part:
            _add_part(sess, case, len(info.parts) + 1)
        prefix = f"meta_{case}_"
        with st.form(f"details_{case}"):
            c1, c2, c3 = st.columns(3)
            c1.date_input(FIELD_LABELS["interview_date"], value=_date(meta.interview_date), key=prefix + "interview_date",
                          format="YYYY-MM-DD", disabled=not info.may_edit)
            c2.text_input(FIELD_LABELS["interviewer"], value=meta.interviewer, key=prefix + "interviewer",
                          disabled=not info.may_edit)
            c3.selectbox(FIELD_LABELS["sensitivity"], SENSITIVITIES, key=prefix + "sensitivity",
                         index=SENSITIVITIES.index(meta.sensitivity) if meta.sensitivity in SENSITIVITIES else 0,
                         disabled=not info.may_edit)
            st.text_area(FIELD_LABELS["consent_scope"], value=meta.consent_scope, key=prefix + "consent_scope",
                         disabled=not info.may_edit, help="What the witness agreed to: documentation, publication "
                         "with a pseudonym, sharing with a court…")
            st.text_area(FIELD_LABELS["notes"], value=meta.notes, key=prefix + "notes", disabled=not info.may_edit)
            st.form_submit_button("Save the details", type="primary", disabled=not info.may_edit, key="details_save",
                                  on_click=_save, args=(case, prefix))
        if not info.may_edit:
            st.caption("Only the interviewer who created this testimony and editors can change its details.")
        if info.may_shred:
            with st.expander("Consent withdrawn: shred this testimony", icon=":material/delete_forever:"):
                st.warning(f"Shredding destroys {case} for good: the sealed recording, the transcript, the translation "
                           "and every record that belongs to it. Nobody can recover it, not even from this vault's "
                           "backups made later. The audit log keeps only that it was shredded, by whom and when.")
                key = f"shred_confirm_{case}"
                st.text_input(f"Type {case} to confirm", key=key)
                st.button("Shred it now", key="shred_go", type="primary", on_click=_shred, args=(case, key))


if __name__ == "__main__":
    render()
