"""Renderers: Testimony → bytes of each deliverable. The export itself is `workstation.services.exports`.

Renderers (`render(testimony, variant, ...)`) know nothing of the vault: they turn a testimony (already redacted
when asked) into DOCX (bilingual table, English-only), PDF (the same, with the bundled DejaVu Sans so Cyrillic
renders on every machine), SRT and WebVTT (Russian, English), plain text and JSON. A draft (not approved) is
watermarked DRAFT in every one of them.

`workstation.services.exports` checks permissions through the vault session, applies the pseudonym table, calls
these renderers in memory, builds the manifest (`evidence/manifest.py`), records a content-free audit entry and only then
writes exactly the requested files: loose files, one zip, or one passphrase-encrypted package (`evidence/package.py`).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.domain import timefmt
from workstation.domain.testimony import ROUTE_LABELS, EnglishRoute, Segment, Status, Testimony, now_iso, route_counts
from workstation.evidence.redact import PseudonymTable, redact_testimony
from workstation.platform.errors import WorkstationError

ASSETS = Path(__file__).resolve().parent / "assets"
FONT_REGULAR = ASSETS / "DejaVuSans.ttf"
FONT_BOLD = ASSETS / "DejaVuSans-Bold.ttf"

DRAFT_MARK = "DRAFT — NOT APPROVED"
EXPORT_FORMATS = ("docx", "pdf", "srt", "vtt", "txt", "json", "audio")
DEFAULT_FORMATS = ("docx", "pdf", "srt", "vtt", "txt", "json")
# Each format asked for gives these files ("variants"); audio is handled by export_testimony (needs the recording).
VARIANTS: dict[str, tuple[str, ...]] = {
    "docx": ("docx", "docx-en"),
    "pdf": ("pdf", "pdf-en"),
    "srt": ("srt-ru", "srt-en"),
    "vtt": ("vtt-ru", "vtt-en"),
    "txt": ("txt",),
    "json": ("json",),
}
_SUFFIX = {
    "docx": "_bilingual.docx", "docx-en": "_en.docx", "pdf": "_bilingual.pdf", "pdf-en": "_en.pdf",
    "srt-ru": "_ru.srt", "srt-en": "_en.srt", "vtt-ru": "_ru.vtt", "vtt-en": "_en.vtt", "txt": ".txt", "json": ".json",
}


class ExportError(WorkstationError):
    """An export that cannot be made as asked (unknown format, folder not empty, nothing approved...)."""


@dataclass(frozen=True)
class ExportInfo:
    """Facts about the export itself shown in document headers (not part of the testimony)."""

    exported_at: str = field(default_factory=now_iso)
    exported_by: str = ""
    recording_sha256: str = ""
    redacted: bool = False


# --- shared helpers -----------------------------------------------------------------------------


def safe_name(case_code: str) -> str:
    """A case code as a file-name stem: letters, digits, dot, dash, underscore only."""
    name = re.sub(r"[^\w.\-]+", "_", case_code, flags=re.ASCII).strip("._")
    return name or "testimony"


def variant_filename(case_code: str, variant: str) -> str:
    return safe_name(case_code) + _SUFFIX[variant]


def speaker_label(t: Testimony, seg: Segment) -> str:
    return t.speaker_names.get(seg.speaker) or seg.speaker.capitalize()


def revision_summary(t: Testimony) -> dict[str, Any]:
    """Counts only: the revisions' old and new texts would carry names a redacted export must not."""
    return {
        "count": len(t.revisions),
        "by_field": dict(Counter(r.field for r in t.revisions)),
        "by_user": dict(Counter(r.user for r in t.revisions)),
        "last_at": max((r.at for r in t.revisions), default=None),
    }


def header_lines(t: Testimony, info: ExportInfo, draft: bool) -> list[tuple[str, str]]:
    """The metadata block at the top of DOCX, PDF and text exports."""
    m = t.meta
    if t.approval and t.status is Status.APPROVED and not draft:
        status = f"Approved by {t.approval.user} at {t.approval.at}"
    else:
        status = f"{DRAFT_MARK} (status: {t.status})"
    routes = {k: v for k, v in route_counts(t).items() if v}
    english = "; ".join(f"{n} segment(s): {ROUTE_LABELS[EnglishRoute(k)]}" for k, v in routes.items() for n in [v])
    lines = [
        ("Case code", m.case_code),
        ("Interview date", m.interview_date),
        ("Interviewer", m.interviewer),
        ("Language", m.language),
        ("Consent scope", m.consent_scope),
        ("Sensitivity", m.sensitivity),
        ("Status", status),
        ("English produced by", english or "no English"),
        ("Reviewed segments", f"{sum(s.reviewed for s in t.segments)} of {len(t.segments)}"),
        ("Original recording sha256", info.recording_sha256),
        ("Exported", info.exported_at + (f" by {info.exported_by}" if info.exported_by else "")),
    ]
    if info.redacted:
        lines.append(("Redaction", "names replaced by pseudonyms; redacted audio spans replaced by a tone"))
    if m.notes:
        lines.append(("Notes", m.notes))
    return [(k, v) for k, v in lines if v]


# --- text formats -------------------------------------------------------------------------------


UNTRANSCRIBED_MARK = "[untranscribed speech]"


def _text(seg: Any, lang: str) -> str:
    """A segment's text in one language; a draft's untranscribed speech says so instead of being blank."""
    text = str(getattr(seg, lang))
    return UNTRANSCRIBED_MARK if seg.untranscribed and not text.strip() else text


def render_txt(t: Testimony, *, draft: bool, info: ExportInfo) -> bytes:
    out: list[str] = []
    if draft:
        out += [f"*** {DRAFT_MARK} ***", ""]
    out.append(f"Testimony {t.case_code}")
    out += [f"{k}: {v}" for k, v in header_lines(t, info, draft)]
    out.append("")
    for seg in t.segments:
        out.append(f"[{timefmt.hms(seg.start)} – {timefmt.hms(seg.end)}] {speaker_label(t, seg)}")
        out.append(f"RU: {_one_line(_text(seg, 'ru'))}")
        out.append(f"EN: {_one_line(_text(seg, 'en'))}")
        out.append("")
    return "\n".join(out).encode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_srt(t: Testimony, lang: str, *, draft: bool) -> bytes:
    cues: list[tuple[float, float, str]] = []
    if draft:
        cues.append((0.0, 2.0, DRAFT_MARK))
    for seg in t.segments:
        text = _one_line(_text(seg, lang)).replace("-->", "→")
        if text:
            cues.append((seg.start, max(seg.end, seg.start + 0.001), text))
    blocks = [
        f"{i}\n{timefmt.cue(a, ',')} --> {timefmt.cue(b, ',')}\n{text}\n" for i, (a, b, text) in enumerate(cues, start=1)
    ]
    return "\n".join(blocks).encode("utf-8")


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(t: Testimony, lang: str, *, draft: bool) -> bytes:
    out = [f"WEBVTT - {DRAFT_MARK}" if draft else "WEBVTT", ""]
    if draft:
        out += [f"NOTE {DRAFT_MARK}: this testimony has not been approved by an editor.", ""]
        out += ["draft", f"{timefmt.cue(0, '.')} --> {timefmt.cue(2.0, '.')}", DRAFT_MARK, ""]
    for seg in t.segments:
        text = _one_line(_text(seg, lang))
        if text:
            voice = _vtt_escape(speaker_label(t, seg)).replace(">", "")
            out += [seg.id, f"{timefmt.cue(seg.start, '.')} --> {timefmt.cue(max(seg.end, seg.start + 0.001), '.')}",
                    f"<v {voice}>{_vtt_escape(text)}", ""]
    return "\n".join(out).encode("utf-8")


def testimony_json(t: Testimony, *, draft: bool, info: ExportInfo) -> dict[str, Any]:
    return {
        "format": "testimony-workstation-export",
        "version": 1,
        "draft": draft,
        "redacted": info.redacted,
        "case_code": t.case_code,
        "meta": {k: v for k, v in vars(t.meta).items()},
        "status": str(t.status),
        "approval": vars(t.approval) if t.approval and not draft else None,
        "exported_at": info.exported_at,
        "exported_by": info.exported_by,
        "recording_sha256": info.recording_sha256,
        "speakers": {s.speaker: speaker_label(t, s) for s in t.segments},
        "english_routes": route_counts(t),
        "segments": [
            {
                "id": s.id,
                "start": s.start,
                "end": s.end,
                "speaker": s.speaker,
                "ru": s.ru,
                "en": s.en,
                "en_route": str(s.en_route),
                "en_stale": s.en_stale,
                "reviewed": s.reviewed,
                "untranscribed": s.untranscribed,
                "confidence": s.confidence,
                "words": [{"start": w.start, "end": w.end, "text": w.text, "probability": w.probability} for w in s.words],
                **({"part": t.part_at(s.start)} if len(t.part_starts) > 1 else {}),  # (several files: which one)
            }
            for s in t.segments
        ],
        **({"part_starts": list(t.part_starts)} if len(t.part_starts) > 1 else {}),
        "revision_summary": revision_summary(t),
    }


def render_json(t: Testimony, *, draft: bool, info: ExportInfo) -> bytes:
    return json.dumps(testimony_json(t, draft=draft, info=info), ensure_ascii=False, indent=2).encode("utf-8")


# --- DOCX ---------------------------------------------------------------------------------------


def render_docx(t: Testimony, *, bilingual: bool, draft: bool, info: ExportInfo) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    props = doc.core_properties
    props.title, props.author, props.comments = f"Testimony {t.case_code}", "Testimony Workstation", ""
    props.last_modified_by, props.keywords = "", ("DRAFT" if draft else "")
    section = doc.sections[0]
    if bilingual:  # two text columns need the width
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    if draft:  # on every page: the header repeats
        run = section.header.paragraphs[0].add_run(f"{DRAFT_MARK} — {DRAFT_MARK}")
        run.bold, run.font.size, run.font.color.rgb = True, Pt(20), RGBColor(0xC0, 0x00, 0x00)
    title = f"Testimony {t.case_code}" + ("" if bilingual else " — English")
    doc.add_heading(title, level=0)
    if draft:
        p = doc.add_paragraph()
        run = p.add_run(f"{DRAFT_MARK}: this testimony has not been approved by an editor.")
        run.bold, run.font.color.rgb = True, RGBColor(0xC0, 0x00, 0x00)
    meta = doc.add_table(rows=0, cols=2)
    meta.style = "Table Grid"
    for key, value in header_lines(t, info, draft):
        cells = meta.add_row().cells
        cells[0].text, cells[1].text = key, value
    doc.add_heading("Transcript and translation" if bilingual else "Transcript (English)", level=1)
    heads = ["Time", "Speaker", "Russian", "English"] if bilingual else ["Time", "Speaker", "English"]
    table = doc.add_table(rows=1, cols=len(heads))
    table.style = "Table Grid"
    for cell, head in zip(table.rows[0].cells, heads):
        cell.text = head
        cell.paragraphs[0].runs[0].bold = True
    for seg in t.segments:
        cells = table.add_row().cells
        cells[0].text = f"{timefmt.hms(seg.start)}–{timefmt.hms(seg.end)}"
        cells[1].text = speaker_label(t, seg)
        texts = [_text(seg, "ru"), _text(seg, "en")] if bilingual else [_text(seg, "en")]
        for cell, text in zip(cells[2:], texts):
            cell.text = text
    widths = [Cm(3.2), Cm(2.6), Cm(10.6), Cm(10.6)] if bilingual else [Cm(3.2), Cm(2.6), Cm(11.6)]
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- PDF ----------------------------------------------------------------------------------------


def render_pdf(t: Testimony, *, bilingual: bool, draft: bool, info: ExportInfo) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class _Pdf(FPDF):
        def header(self) -> None:
            if not draft:
                return
            # a large light diagonal watermark behind the page's content, and a red line at the top
            with self.local_context():
                self.set_font("DejaVu", "B", 90)
                self.set_text_color(235, 200, 200)
                with self.rotation(35, self.w / 2, self.h / 2):
                    self.text(self.w / 2 - self.get_string_width("DRAFT") / 2, self.h / 2 + 15, "DRAFT")
                self.set_font("DejaVu", "B", 10)
                self.set_text_color(192, 0, 0)
                self.cell(0, 6, DRAFT_MARK, align="C", new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 6, f"{t.case_code} — page {self.page_no()}/{{nb}}", align="C")

    pdf = _Pdf(orientation="L" if bilingual else "P", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_title(f"Testimony {t.case_code}")
    pdf.set_author("Testimony Workstation")
    pdf.set_creator("Testimony Workstation")
    if draft:
        pdf.set_subject(DRAFT_MARK)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 9, f"Testimony {t.case_code}" + ("" if bilingual else " — English"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(col_widths=(45, 135 if not bilingual else 222), first_row_as_headings=False, line_height=5, text_align="LEFT") as meta:
        for key, value in header_lines(t, info, draft):
            row = meta.row()
            row.cell(key)
            row.cell(value)
    pdf.ln(4)
    heads = ("Time", "Speaker", "Russian", "English") if bilingual else ("Time", "Speaker", "English")
    widths = (34, 24, 105, 104) if bilingual else (34, 24, 122)
    with pdf.table(col_widths=widths, line_height=5, text_align="LEFT", headings_style=FontFace(emphasis="BOLD"), repeat_headings=1) as table:
        table.row(heads)
        for seg in t.segments:
            texts = (_text(seg, "ru"), _text(seg, "en")) if bilingual else (_text(seg, "en"),)
            table.row((f"{timefmt.hms(seg.start)}–{timefmt.hms(seg.end)}", speaker_label(t, seg), *texts))
    return bytes(pdf.output())


# --- dispatch -----------------------------------------------------------------------------------


def render(
    t: Testimony,
    variant: str,
    *,
    draft: bool = False,
    table: PseudonymTable | None = None,
    info: ExportInfo | None = None,
) -> bytes:
    """Render one file of an export. `variant` is one of VARIANTS' values (e.g. "docx", "srt-en", "json").

    With `table`, the accepted redactions are applied first (the table itself never appears in the output).
    """
    info = info or ExportInfo()
    if table is not None:
        t = redact_testimony(t, table).testimony
        info = ExportInfo(info.exported_at, info.exported_by, info.recording_sha256, redacted=True)
    match variant:
        case "docx" | "docx-en":
            return render_docx(t, bilingual=variant == "docx", draft=draft, info=info)
        case "pdf" | "pdf-en":
            return render_pdf(t, bilingual=variant == "pdf", draft=draft, info=info)
        case "srt-ru" | "srt-en":
            return render_srt(t, variant[-2:], draft=draft)
        case "vtt-ru" | "vtt-en":
            return render_vtt(t, variant[-2:], draft=draft)
        case "txt":
            return render_txt(t, draft=draft, info=info)
        case "json":
            return render_json(t, draft=draft, info=info)
    raise ExportError(f"Unknown export format {variant!r}; choose from {', '.join(EXPORT_FORMATS)}.")


def parse_formats(spec: str | Sequence[str] | None) -> list[str]:
    """"docx,pdf" or ["docx", "pdf"] → validated, de-duplicated list; None or "" → the default set."""
    items = spec.split(",") if isinstance(spec, str) else list(spec or [])
    formats = [f.strip().lower() for f in items if f.strip()]
    if not formats:
        return list(DEFAULT_FORMATS)
    if "all" in formats:
        return list(EXPORT_FORMATS)
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise ExportError(f"Unknown export format(s) {', '.join(unknown)}; choose from {', '.join(EXPORT_FORMATS)}.")
    return list(dict.fromkeys(formats))


def render_files(
    t: Testimony, formats: Sequence[str], *, draft: bool, info: ExportInfo
) -> dict[str, tuple[str, bytes]]:
    """Every text/document file for `formats` (audio excluded): filename → (variant, bytes). `t` is final
    (already redacted when it should be)."""
    files: dict[str, tuple[str, bytes]] = {}
    for fmt in formats:
        for variant in VARIANTS.get(fmt, ()):
            files[variant_filename(t.case_code, variant)] = (variant, render(t, variant, draft=draft, info=info))
    return files
