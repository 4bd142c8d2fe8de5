"""Editor: export a testimony. Files are rendered in memory and handed to the browser only when asked
(the download button renders them at the moment it is clicked); nothing is written on this computer's
disk by the app. Unapproved testimonies are exported as drafts, watermarked in every file."""

from __future__ import annotations

import io
import zipfile

import streamlit as st

from workstation.testimony import Status
from workstation.ui import state

FORMAT_LABELS = {
    "docx": "Word (bilingual + English)", "pdf": "PDF (bilingual + English)", "srt": "Subtitles SRT (ru, en)",
    "vtt": "Subtitles WebVTT (ru, en)", "txt": "Plain text", "json": "JSON (everything, machine-readable)",
}


def build_zip(sess: object, case: str, formats: list[str]) -> bytes:
    """Render the chosen formats of one testimony into an in-memory zip (called on the download click)."""
    from workstation import export

    t = sess.load(case)
    draft = t.status is not Status.APPROVED
    info = export.ExportInfo(exported_by=sess.user)
    files = export.render_files(t, formats, draft=draft, info=info)
    sess.record_audit("exported", case, formats="|".join(formats), via="app", draft=draft)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (_variant, data) in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def render() -> None:
    with state.page("Export", "Preparing the export") as sess:
        summary = state.processed_case("No processed testimony to export yet.")
        if summary is None:
            return
        case = summary.case_code
        if str(summary.status) != "approved":
            st.warning("This testimony is not approved: every exported file will be marked DRAFT — NOT APPROVED.")
        formats = st.multiselect("Formats", list(FORMAT_LABELS), default=["txt", "json"], format_func=FORMAT_LABELS.get)
        if not formats:
            st.caption("Choose at least one format.")
            return
        st.download_button(
            f"Download {case} ({', '.join(formats)}) as a zip",
            data=lambda: build_zip(sess, case, formats),
            file_name=f"{case}_export.zip",
            mime="application/zip",
            type="primary",
            key="export_download",
            on_click="ignore",
        )
        st.caption("The files go to your browser's download folder: keep them on encrypted storage.")


if __name__ == "__main__":
    render()
