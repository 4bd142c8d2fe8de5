"""Editor: export a testimony, only when explicitly asked.

"Prepare the export" runs ``workstation.export.build_export`` (permissions, draft rules, redaction, the
manifest, the audit entry) entirely in memory; the download button then hands that zip — or, with a
passphrase, the encrypted ``.twx`` package — to the browser. Nothing is written on this computer's disk by
the app; the prepared bytes are dropped with "Forget", when another export is prepared, or on lock.
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
    from workstation.export import safe_name

    stem = safe_name(package.case_code)
    if not passphrase:
        return f"{stem}_export.zip", package.zip_bytes(), "application/zip"
    from workstation.export_crypto import encrypt_package

    out = io.BytesIO()
    encrypt_package(package.zip_bytes(), passphrase, out)
    return f"{stem}_export.twx", out.getvalue(), "application/octet-stream"


def _prepare(case: str, formats: list[str], draft: bool, redact: bool, encrypt: bool) -> None:
    from workstation import export

    sess = state.require_session()
    passphrase = st.session_state.get("export_pass", "") if encrypt else ""
    st.session_state["export_pass"] = ""  # never kept in the page's state
    state.cache().pop(PREPARED_KEY, None)

    def build() -> tuple[str, str, bytes, str]:
        if encrypt:
            from workstation.export_crypto import check_export_passphrase

            check_export_passphrase(passphrase)  # before anything is rendered or audited
        package = export.build_export(sess, case, formats, draft=draft, redact=redact, destination="download")
        for warning in package.warnings:
            state.flash("warning", warning)
        return (case, *package_bytes(package, passphrase))

    prepared = state.run_action(build, what="Preparing the export")
    if prepared is not None:
        state.cache()[PREPARED_KEY] = prepared


def _forget() -> None:
    state.cache().pop(PREPARED_KEY, None)


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
        redact = st.checkbox("Apply the accepted redactions (pseudonyms in the text, tone over names in the audio)",
                             key="export_redact")
        encrypt = st.checkbox("Encrypt the export with a passphrase (.twx package)", key="export_encrypt")
        if encrypt:
            st.text_input("Export passphrase (tell it to the recipient another way)", type="password", key="export_pass")
        st.button("Prepare the export", key="export_prepare", type="primary", on_click=_prepare,
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
