"""Editor: export a testimony, only when explicitly asked.

"Prepare the export" runs ``workstation.services.exports.download`` (permissions, draft rules, redaction, the
manifest, the audit entry) entirely in memory; the download button then hands that zip — or, with a
passphrase, the encrypted ``.twx`` package — to the browser. Nothing is written on this computer's disk by
the app; the prepared bytes are dropped with "Forget", when another export is prepared, or on lock.

"Export to a folder" skips the browser altogether: ``workstation.services.exports.export_testimony`` writes the zip (or the
encrypted package) straight into the folder the editor names on this computer (an encrypted USB stick, say), so no
copy passes through the browser's download machinery or its temporary files.
"""

from __future__ import annotations

import streamlit as st

from workstation.domain.testimony import Status
from workstation.evidence.redact import KIND_LABELS, KINDS, PseudonymTable
from workstation.services import exports, redactions, review
from workstation.services.redactions import Decisions
from workstation.ui import state

FORMAT_LABELS = {
    "docx": "Word (bilingual + English)", "pdf": "PDF (bilingual + English)", "srt": "Subtitles SRT (ru, en)",
    "vtt": "Subtitles WebVTT (ru, en)", "txt": "Plain text", "json": "JSON (everything, machine-readable)",
    "audio": "Audio (the sealed original, or redacted WAV)",
}
PREPARED_KEY = "export_prepared"  # in the decrypted cache: cleared on lock


def _prepare(case: str, formats: list[str], draft: bool, redact: bool, encrypt: bool) -> None:
    passphrase = st.session_state.get("export_pass", "") if encrypt else ""
    st.session_state["export_pass"] = ""  # never kept in the page's state
    state.cache().pop(PREPARED_KEY, None)
    out = state.run_action(exports.download, state.require_session(), case, formats, draft=draft, redact=redact,
                           passphrase=passphrase, what="Preparing the export")
    if out is not None:
        prepared, warnings = out
        for warning in warnings:
            state.flash("warning", warning)
        state.cache()[PREPARED_KEY] = (case, prepared)


def _export_to_folder(case: str, formats: list[str], draft: bool, redact: bool, encrypt: bool) -> None:
    passphrase = st.session_state.get("export_pass", "") if encrypt else None
    st.session_state["export_pass"] = ""
    folder = (st.session_state.get("export_folder") or "").strip()
    if not folder:
        state.flash("warning", "Type the folder to export into first (for example your encrypted USB stick).")
        return
    result = state.run_action(exports.export_testimony, state.require_session(), case, folder, formats, as_zip=True,
                              passphrase=passphrase, redact=redact, draft=draft, what="Exporting to the folder")
    if result is not None:
        state.flash("success", f"Exported to {result.path} (written by this computer, not downloaded by the browser).")


def _forget() -> None:
    state.cache().pop(PREPARED_KEY, None)


# --- redactions: the editor accepts or rejects each suggestion (workstation.evidence.redact keeps the table) -------

TABLE_KEY = "export_redactions"  # (case, PseudonymTable) in the decrypted cache


def _table(case: str) -> PseudonymTable:
    """The case's pseudonym table with fresh suggestions merged in (natasha runs once per case per visit)."""
    store = state.cache()
    hit = store.get(TABLE_KEY)
    if not hit or hit[0] != case:
        table, _added = redactions.refresh_table(state.require_session(), case)
        store[TABLE_KEY] = hit = (case, table)
    return hit[1]


def _decide(case: str, entry_id: str, decision: str, pseudonym_key: str) -> None:
    """Accept (with the pseudonym typed next to it, or the next free one) or reject one suggestion; saved and audited."""
    pseudonym = (st.session_state.get(pseudonym_key) or "").strip()
    if decision != "accepted":
        decisions = Decisions(reject=[entry_id])
    elif pseudonym:
        decisions = Decisions(pseudonyms={entry_id: pseudonym})
    else:
        decisions = Decisions(accept=[entry_id])
    state.run_action(redactions.decide, state.require_session(), case, decisions, what="Saving the redaction decision")
    state.cache().pop(TABLE_KEY, None)  # re-read what was saved (or, after an error, what is still saved)


def _add_name(case: str) -> None:
    text, kind = st.session_state.get("redact_add_text", ""), st.session_state.get("redact_add_kind", "PER")
    state.run_action(redactions.decide, state.require_session(), case, Decisions(add=[(kind, text)]),
                     success="Added and accepted.", what="Adding the name")
    state.cache().pop(TABLE_KEY, None)
    st.session_state["redact_add_text"] = ""


def _mentions(case: str, entry_id: str) -> None:
    """Every mention with its sentence and a play button: what the decision is about."""
    for i, m in enumerate(redactions.mentions(state.require_session(), case, entry_id)):
        c1, c2 = st.columns([6, 1], vertical_alignment="center")
        c1.markdown(f"`{m.label}` {m.sentence}")
        if c2.button("Play", key=f"redact_play_{entry_id}_{i}", icon=":material/play_arrow:"):
            st.audio(review.span_audio(state.recording(case), m.start, m.end), format="audio/wav", autoplay=True)


def _confirm(case: str, segment_id: str) -> None:
    state.run_action(redactions.confirm_english, state.require_session(), case, [segment_id],
                     success="Confirmed: the English of that segment names nobody.", what="Confirming")


def _doubts(case: str) -> None:
    """Segments whose English may still carry a name: a redacted export refuses until each is checked."""
    found = redactions.doubts(state.require_session(), case)
    if not found:
        return
    st.warning(f"{len(found)} segment(s) of the English may still name someone (the draft may have rendered a name "
               "in a way the product cannot recognise). Check each: correct the English in Review, or confirm it is "
               "clean.", icon=":material/visibility:")
    for d in found:
        c1, c2 = st.columns([6, 1], vertical_alignment="center")
        c1.markdown(f"`{d.label}` **{d.pseudonym}** — {d.reason}  \n{d.english}")
        c2.button("Clean", key=f"redact_clean_{d.segment_id}_{d.entry_id}", on_click=_confirm, args=(case, d.segment_id),
                  help="I read this English: it names nobody")


def _preview(case: str) -> None:
    rows = [r for r in redactions.preview(state.require_session(), case) if r.changed]
    st.caption(f"{len(rows)} segment(s) change. What a redacted export will contain:")
    st.dataframe([{"segment": r.label, "Russian": r.ru, "English": r.en} for r in rows], hide_index=True,
                 width="stretch")


def _set_whole(case: str, key: str, on: bool) -> None:
    segment_id = st.session_state.get(key)
    if segment_id:
        state.run_action(redactions.decide, state.require_session(), case, Decisions(whole={segment_id: on}),
                         success="Saved.", what="Saving the redaction decision")
        state.cache().pop(TABLE_KEY, None)


def _whole_segments(case: str, table: PseudonymTable) -> None:
    """A passage that identifies someone however it is worded: the whole segment goes, text and audio."""
    t = state.testimony(case)
    labels = {s.id: f"#{i + 1} {state.fmt_time(s.start)} — {s.ru[:60]}" for i, s in enumerate(t.segments)}
    c1, c2 = st.columns([5, 1], vertical_alignment="bottom")
    c1.selectbox("Redact a whole segment (text in both languages and its audio)", list(labels), index=None,
                 format_func=lambda i: labels[i], key="redact_whole_pick", placeholder="choose a segment")
    c2.button("Redact it", key="redact_whole_go", on_click=_set_whole, args=(case, "redact_whole_pick", True))
    for seg_id in table.whole:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.caption(f"Redacted whole: {labels.get(seg_id, seg_id)}")
        st.session_state[f"redact_keep_{seg_id}"] = seg_id
        c2.button("Keep it", key=f"redact_keep_go_{seg_id}", on_click=_set_whole, args=(case, f"redact_keep_{seg_id}", False))


def _redactions(case: str) -> None:
    with st.expander("Redactions: names and places to replace with pseudonyms", expanded=False):
        if not st.toggle("Review the suggestions", key="redact_review"):
            st.caption("Suggestions come from Russian named-entity recognition and the glossary's sensitive list.")
            return
        table = _table(case)
        entries = sorted(table.entries.values(), key=lambda e: (KINDS.index(e.kind), e.text))  # rows stay in place
        pending = sum(e.decision == "pending" for e in entries)
        st.caption(f"{len(entries)} suggestion(s), {pending} undecided. A redacted export needs every one decided; "
                   "the table stays in the vault and never appears in an export.")
        st.button("Look for new names again", key="redact_refresh", on_click=lambda: state.cache().pop(TABLE_KEY, None))
        for e in entries:
            c1, c2, c3, c4 = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
            forms = ", ".join(f for f in e.forms if f != e.text)[:80]
            c1.markdown(f"**{e.text}** · {KIND_LABELS[e.kind]} · {e.count} mention(s) · _{e.decision}_"
                        + (f"  \n{forms}" if forms else ""))
            ps_key = f"redact_ps_{e.id}_{e.decision}_{e.pseudonym}"  # a new field once the saved pseudonym changes
            c2.text_input("Pseudonym", value=e.pseudonym, key=ps_key, placeholder="next free one", label_visibility="collapsed")
            c3.button("Accept", key=f"redact_ok_{e.id}", on_click=_decide, args=(case, e.id, "accepted", ps_key),
                      type="primary" if e.decision == "pending" else "secondary")
            c4.button("Reject", key=f"redact_no_{e.id}", on_click=_decide, args=(case, e.id, "rejected", ps_key))
            if st.toggle("Show every mention", key=f"redact_m_{e.id}"):
                _mentions(case, e.id)
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        c1.text_input("A name the suggestions missed", key="redact_add_text")
        c2.selectbox("Kind", ["PER", "LOC", "ORG", "SENSITIVE"], key="redact_add_kind")
        c3.button("Add", key="redact_add", on_click=_add_name, args=(case,))
        _whole_segments(case, table)
        if table.accepted():
            _doubts(case)
            if st.toggle("Preview the redacted text", key="redact_preview"):
                _preview(case)


def render() -> None:
    with state.page("Export", "Preparing the export"):
        summary = state.processed_case("No processed testimony to export yet.")
        if summary is None:
            return
        case = summary.case_code
        approved = summary.status is Status.APPROVED
        draft = False
        if not approved:
            st.warning("This testimony is not approved yet.")
            draft = st.checkbox("Export it as a draft (every file is marked DRAFT — NOT APPROVED)", key="export_draft")
        formats = st.multiselect("Formats", list(FORMAT_LABELS), default=["docx", "pdf", "txt", "json"],
                                 format_func=lambda f: FORMAT_LABELS[f], key="export_formats")
        _redactions(case)
        redact = st.checkbox("Apply the accepted redactions (pseudonyms in the text, tone over names in the audio)",
                             key="export_redact")
        encrypt = st.checkbox("Encrypt the export with a passphrase (.twx package)", key="export_encrypt")
        if encrypt:
            st.text_input("Export passphrase (tell it to the recipient another way)", type="password", key="export_pass")
        st.button("Prepare the export", key="export_prepare", type="primary", on_click=_prepare,
                  args=(case, formats, draft, redact, encrypt), disabled=not formats or (not approved and not draft))
        with st.expander("Export to a folder on this computer (no browser download)"):
            st.text_input("Folder", key="export_folder", placeholder="/media/usb/exports")
            st.button("Export to the folder", key="export_folder_go", on_click=_export_to_folder,
                      args=(case, formats, draft, redact, encrypt), disabled=not formats or (not approved and not draft))
        prepared = state.cache().get(PREPARED_KEY)
        if prepared and prepared[0] == case:
            _case, ready = prepared
            st.download_button(f"Download {ready.name}", data=ready.data, file_name=ready.name, mime=ready.mime, key="export_download",
                               on_click="ignore", type="primary")
            st.button("Forget the prepared export", key="export_forget", on_click=_forget)
            st.caption("The file goes to your browser's download folder: keep it on encrypted storage.")


if __name__ == "__main__":
    render()
