"""Interviewer: a new testimony — case code, metadata, consent, one or several recordings, processing.

Uploaded bytes stay in memory (Streamlit keeps uploads in RAM); each recording is checked, sealed into
the vault as the evidence copy and queued for processing. Several recordings at once are, as the person
chooses, one testimony each (CODE-1, CODE-2, ...), sharing the metadata typed here, or the parts of one
interview: one testimony, its files in an order shown (and changeable) before anything is sealed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from workstation.domain.testimony import TestimonyMeta
from workstation.platform.errors import WorkstationError
from workstation.services import intake, inventory, jobs
from workstation.ui import state
from workstation.vault.session import VaultSession

AUDIO_TYPES = ["wav", "mp3", "m4a", "aac", "ogg", "oga", "opus", "flac", "webm", "mp4", "mov", "mkv", "amr", "3gp", "wma", "aiff"]
UPLOAD_KEY = "new_upload_round"  # bumping it gives a fresh, empty uploader (frees the bytes)
PENDING_KEY = "new_parts_pending"  # several files chosen as one testimony: waiting for the person to confirm the order
SEPARATE = "Each file is its own testimony (CODE-1, CODE-2, …)"
AS_PARTS = "One testimony: the files are parts of one interview"


def case_codes(code: str, count: int) -> list[str]:
    return [code] if count == 1 else [f"{code}-{i}" for i in range(1, count + 1)]


def _model_choices() -> list[str]:
    try:
        return inventory.whisper_choices()
    except WorkstationError:  # a damaged model folder: "base" (the embedded default) can still be chosen
        return [inventory.DEFAULT_WHISPER]


def _create_one(sess: VaultSession, meta: TestimonyMeta, name: str, data: bytes, start: bool, options: dict[str, Any]) -> str:
    info = intake.new_testimony(sess, meta, data, name)  # checked (sealed worker) before anything is created
    text = f"{meta.case_code}: recording sealed ({state.fmt_duration(info.duration_s)})"
    if start:
        jobs.queue_for(state.vault_path()).submit(sess, meta.case_code, options)
        text += " and queued for processing"
    return text + "."


def _move(index: int, step: int) -> None:
    files = st.session_state[PENDING_KEY]["files"]
    files[index], files[index + step] = files[index + step], files[index]


def _cancel_parts() -> None:
    st.session_state.pop(PENDING_KEY, None)  # the bytes go with it
    state.flash("info", "Nothing was created.")


def _create_from_parts(sess: VaultSession) -> None:
    pending = st.session_state.pop(PENDING_KEY)
    meta: TestimonyMeta = pending["meta"]
    try:
        with st.spinner(f"Checking and sealing {len(pending['files'])} parts for {meta.case_code}…"):
            sealed = intake.new_testimony_from_parts(sess, meta, pending["files"])  # all checked first
    except WorkstationError as exc:
        st.session_state[PENDING_KEY] = pending  # nothing was created: the person can change the order or cancel
        st.error(str(exc))
        return
    text = (f"{meta.case_code}: {len(sealed)} parts sealed as one testimony "
            f"({state.fmt_duration(sum(p.duration_s for p in sealed))} in all)")
    if pending["start"]:
        jobs.queue_for(state.vault_path()).submit(sess, meta.case_code, pending["options"])
        text += " and queued for processing"
    state.flash("success", text + ".")
    st.session_state["case"] = meta.case_code
    state.cache().pop("summaries", None)
    st.rerun()


def _confirm_parts(sess: VaultSession) -> None:
    """The order of the parts, as they will be sealed and transcribed (part 2 follows part 1 on the timeline)."""
    pending = st.session_state[PENDING_KEY]
    files = pending["files"]
    st.subheader(f"{pending['meta'].case_code}: one testimony of {len(files)} parts")
    st.caption("They are transcribed as one interview, in this order. Change the order if needed, then create it.")
    for i, (name, data) in enumerate(files):
        with st.container(border=True, key=f"part_row_{i}"):
            c1, c2, c3 = st.columns([6, 1, 1], vertical_alignment="center")
            c1.markdown(f"**Part {i + 1}** · {name} · {len(data) // 1024} KiB")
            c2.button("↑", key=f"part_up_{i}", disabled=i == 0, on_click=_move, args=(i, -1),
                      help="Earlier in the interview")
            c3.button("↓", key=f"part_down_{i}", disabled=i == len(files) - 1, on_click=_move, args=(i, 1),
                      help="Later in the interview")
    c1, c2 = st.columns(2)
    if c1.button(f"Create the testimony from these {len(files)} parts", type="primary", key="parts_create"):
        _create_from_parts(sess)
    c2.button("Cancel", key="parts_cancel", on_click=_cancel_parts)


def render() -> None:
    sess = state.require_session()
    st.title("New testimony")
    state.show_flashes()
    if PENDING_KEY in st.session_state:
        _confirm_parts(sess)
        return
    st.caption("Use a case code (a pseudonym), never the witness's name. Files stay in memory until sealed, encrypted, in the vault.")
    round_ = st.session_state.setdefault(UPLOAD_KEY, 0)
    with st.form(f"new_testimony_{round_}"):
        c1, c2 = st.columns(2)
        code = c1.text_input("Case code", placeholder="e.g. CHE-2024-017", max_chars=64)
        date = c2.date_input("Interview date", value=dt.date.today(), format="YYYY-MM-DD")
        interviewer = c1.text_input("Interviewer", value=sess.user)
        sensitivity = c2.selectbox("Sensitivity", ["high", "very high", "medium"])
        consent = st.checkbox("The witness consented to being recorded and to this processing", value=False)
        scope = st.text_area("Scope of consent", placeholder="What the witness agreed to: documentation, publication with a pseudonym, ...")
        notes = st.text_area("Notes (no names)")
        files = st.file_uploader("Recordings (one or several; audio or video)", type=AUDIO_TYPES, accept_multiple_files=True)
        grouping = st.radio("Several files are", [SEPARATE, AS_PARTS], key="new_grouping", horizontal=True,
                            help="Parts of one interview (a recorder that split it, a break) become one testimony "
                                 "with one transcript; you see and can change their order before anything is sealed.")
        c3, c4, c5 = st.columns(3)
        start = c3.checkbox("Start processing now", value=True)
        model = c4.selectbox("Whisper model", _model_choices(), help="Bigger models are slower and more accurate.")
        translate = c5.checkbox("Draft an English translation", value=True)
        submitted = st.form_submit_button("Create and upload", type="primary", key="new_submit")
    if not submitted:
        return
    code = code.strip()
    problems = []
    if not code:
        problems.append("Enter a case code.")
    if not consent:
        problems.append("Confirm the witness's consent before uploading a recording.")
    if not files:
        problems.append("Choose at least one recording.")
    if problems:
        for p in problems:
            st.error(p)
        return
    options = {"model": model, "translate": translate}

    def meta_for(case: str) -> TestimonyMeta:
        return TestimonyMeta(case_code=case, interview_date=date.isoformat(), interviewer=interviewer.strip(),
                             consent_scope=scope.strip(), sensitivity=sensitivity, notes=notes.strip())

    if grouping == AS_PARTS and len(files) > 1:
        st.session_state[PENDING_KEY] = {"meta": meta_for(code), "files": [(f.name, f.getvalue()) for f in files],
                                         "start": start, "options": options}
        st.session_state[UPLOAD_KEY] = round_ + 1  # the uploader's copy is released; the order step holds the bytes
        st.rerun()
    codes = case_codes(code, len(files))
    done, failed = [], []
    for case, upload in zip(codes, files):
        meta = meta_for(case)
        try:
            with st.spinner(f"Checking and sealing the recording for {case}…"):
                done.append(_create_one(sess, meta, upload.name, upload.getvalue(), start, options))
        except WorkstationError as exc:  # named after the person's own file, not only the generated code
            failed.append(f"{upload.name} (for {case}): {exc}")
    if not done:
        for line in failed:
            st.error(line)
        return
    for line in done:
        state.flash("success", line)
    for line in failed:
        state.flash("error", line)
    st.session_state[UPLOAD_KEY] = round_ + 1  # new form and uploader: the uploaded bytes are released
    st.session_state["case"] = codes[0]
    state.cache().pop("summaries", None)
    st.rerun()


if __name__ == "__main__":
    render()
