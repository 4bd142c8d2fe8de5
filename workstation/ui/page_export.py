"""Editor: export a testimony, only when explicitly asked.

"Prepare the export" runs ``workstation.evidence.render.build_export`` (permissions, draft rules, redaction, the
manifest, the audit entry) entirely in memory; the download button then hands that zip — or, with a
passphrase, the encrypted ``.twx`` package — to the browser. Nothing is written on this computer's disk by
the app; the prepared bytes are dropped with "Forget", when another export is prepared, or on lock.

"Export to a folder" skips the browser altogether: ``workstation.evidence.render.export_testimony`` writes the zip (or the
encrypted package) straight into the folder the editor names on this computer (an encrypted USB stick, say), so no
copy passes through the browser's download machinery or its temporary files.
"""

from __future__ import annotations

import io
from typing import Any

import streamlit as st

from workstation.ui import state

FORMAT_LABELS = {
    "docx": "Word (bilingual + English)", "pdf": "PDF (bilingual + English)", "srt": "Subtitles SRT (ru, en)",
    "vtt": "Subtitles WebVTT (ru, en)", "txt": "Plain text", "json": "JSON (everything, machine-readable)",
    "audio": "Audio (the sealed original, or redacted WAV)",
}
PREPARED_KEY = "export_prepared"  # in the decrypted cache: cleared on lock


def package_bytes(package: Any, passphrase: str = "") -> tuple[str, bytes, str]:
    """(file name, bytes, mime) of a prepared export: a zip, or an encrypted package with a passphrase."""
    from workstation.evidence.render import safe_name

    stem = safe_name(package.case_code)
    if not passphrase:
        return f"{stem}_export.zip", package.zip_bytes(), "application/zip"
    from workstation.evidence.package import encrypt_package

    out = io.BytesIO()
    encrypt_package(package.zip_bytes(), passphrase, out)
    return f"{stem}_export.twx", out.getvalue(), "application/octet-stream"


def _prepare(case: str, formats: list[str], draft: bool, redact: bool, encrypt: bool) -> None:
    from workstation.evidence import render as export

    sess = state.require_session()
    passphrase = st.session_state.get("export_pass", "") if encrypt else ""
    st.session_state["export_pass"] = ""  # never kept in the page's state
    state.cache().pop(PREPARED_KEY, None)

    def build() -> tuple[str, str, bytes, str]:
        if encrypt:
            from workstation.evidence.package import check_export_passphrase

            check_export_passphrase(passphrase)  # before anything is rendered or audited
        package = export.build_export(sess, case, formats, draft=draft, redact=redact, destination="download")
        for warning in package.warnings:
            state.flash("warning", warning)
        return (case, *package_bytes(package, passphrase))

    prepared = state.run_action(build, what="Preparing the export")
    if prepared is not None:
        state.cache()[PREPARED_KEY] = prepared


def _export_to_folder(case: str, formats: list[str], draft: bool, redact: bool, encrypt: bool) -> None:
    from workstation.evidence import render as export

    sess = state.require_session()
    passphrase = st.session_state.get("export_pass", "") if encrypt else None
    st.session_state["export_pass"] = ""
    folder = (st.session_state.get("export_folder") or "").strip()
    if not folder:
        state.flash("warning", "Type the folder to export into first (for example your encrypted USB stick).")
        return

    def write() -> Any:
        return export.export_testimony(sess, case, folder, formats, as_zip=True, passphrase=passphrase,
                                       redact=redact, draft=draft)

    result = state.run_action(write, what="Exporting to the folder")
    if result is not None:
        state.flash("success", f"Exported to {folder} (written by this computer, not downloaded by the browser).")


def _forget() -> None:
    state.cache().pop(PREPARED_KEY, None)


# --- redactions: the editor accepts or rejects each suggestion (workstation.evidence.redact keeps the table) -------

TABLE_KEY = "export_redactions"  # (case, PseudonymTable) in the decrypted cache


def _table(case: str, *, refresh: bool = False) -> Any:
    """The case's pseudonym table with fresh suggestions merged in (natasha runs once per case per visit)."""
    from workstation.services import redactions as redact

    store = state.cache()
    hit = store.get(TABLE_KEY)
    if refresh or not hit or hit[0] != case:
        table, _added = redact.refresh_table(state.require_session(), case)
        store[TABLE_KEY] = hit = (case, table)
    return hit[1]


def _decide(case: str, entry_id: str, decision: str, pseudonym_key: str) -> None:
    """Accept (with the pseudonym typed next to it, or the next free one) or reject one suggestion; saved at once."""
    from workstation.services import redactions as redact

    pseudonym = (st.session_state.get(pseudonym_key) or "").strip()

    def apply() -> None:
        table = _table(case)
        if decision == "accepted":
            table.accept(entry_id, pseudonym or None)
        else:
            table.reject(entry_id)
        redact.save_table(state.require_session(), case, table)

    state.run_action(apply, what="Saving the redaction decision")
    state.cache().pop(TABLE_KEY, None)  # re-read what was saved (or, after an error, what is still saved)


def _add_name(case: str) -> None:
    from workstation.services import redactions as redact

    text, kind = st.session_state.get("redact_add_text", ""), st.session_state.get("redact_add_kind", "PER")

    def apply() -> None:
        table = _table(case)
        table.add(text, kind)
        redact.save_table(state.require_session(), case, table)

    if state.run_action(apply, success="Added and accepted.", what="Adding the name") is None:
        state.cache().pop(TABLE_KEY, None)
    st.session_state["redact_add_text"] = ""


def _redactions(case: str) -> None:
    with st.expander("Redactions: names and places to replace with pseudonyms", expanded=False):
        if not st.toggle("Review the suggestions", key="redact_review"):
            st.caption("Suggestions come from Russian named-entity recognition and the glossary's sensitive list.")
            return
        table = _table(case)
        entries = sorted(table.entries.values(), key=lambda e: (e.decision != "pending", e.kind, e.text))
        pending = sum(e.decision == "pending" for e in entries)
        st.caption(f"{len(entries)} suggestion(s), {pending} undecided. A redacted export needs every one decided; "
                   "the table stays in the vault and never appears in an export.")
        st.button("Look for new names again", key="redact_refresh", on_click=lambda: state.cache().pop(TABLE_KEY, None))
        for e in entries:
            c1, c2, c3, c4 = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
            forms = ", ".join(f for f in e.forms if f != e.text)[:80]
            c1.markdown(f"**{e.text}** · {e.kind} · {e.count} mention(s) · _{e.decision}_" + (f"  \n{forms}" if forms else ""))
            ps_key = f"redact_ps_{e.id}_{e.decision}_{e.pseudonym}"  # a new field once the saved pseudonym changes
            c2.text_input("Pseudonym", value=e.pseudonym, key=ps_key, placeholder="next free one", label_visibility="collapsed")
            c3.button("Accept", key=f"redact_ok_{e.id}", on_click=_decide, args=(case, e.id, "accepted", ps_key),
                      type="primary" if e.decision == "pending" else "secondary")
            c4.button("Reject", key=f"redact_no_{e.id}", on_click=_decide, args=(case, e.id, "rejected", ps_key))
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        c1.text_input("A name the suggestions missed", key="redact_add_text")
        c2.selectbox("Kind", ["PER", "LOC", "ORG", "SENSITIVE"], key="redact_add_kind")
        c3.button("Add", key="redact_add", on_click=_add_name, args=(case,))


def render() -> None:
    with state.page("Export", "Preparing the export"):
        summary = state.processed_case("No processed testimony to export yet.")
        if summary is None:
            return
        case = summary.case_code
        approved = str(summary.status) == "approved"
        draft = False
        if not approved:
            st.warning("This testimony is not approved yet.")
            draft = st.checkbox("Export it as a draft (every file is marked DRAFT — NOT APPROVED)", key="export_draft")
        formats = st.multiselect("Formats", list(FORMAT_LABELS), default=["docx", "pdf", "txt", "json"],
                                 format_func=FORMAT_LABELS.get, key="export_formats")
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
            _case, name, data, mime = prepared
            st.download_button(f"Download {name}", data=data, file_name=name, mime=mime, key="export_download",
                               on_click="ignore", type="primary")
            st.button("Forget the prepared export", key="export_forget", on_click=_forget)
            st.caption("The file goes to your browser's download folder: keep it on encrypted storage.")


if __name__ == "__main__":
    render()
