"""Every export format read back and compared with the testimony; DRAFT watermark everywhere; Cyrillic PDF
rendered to an image with poppler and its text extracted."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile

import pytest

from tests.fixtures_export import docx_all_text, docx_tables, parse_srt, parse_vtt, pdf_text, squash
from workstation.domain.timefmt import hms
from workstation.evidence.render import (
    DRAFT_MARK,
    ExportError,
    ExportInfo,
    parse_formats,
    render,
    render_files,
    speaker_label,
)

INFO = ExportInfo(exported_at="2024-04-01T09:00:00+00:00", exported_by="eddie", recording_sha256="ab" * 32)


def test_docx_bilingual_round_trip(testimony):
    tables = docx_tables(render(testimony, "docx", info=INFO))
    meta, body = tables[0], tables[-1]
    assert ["Case code", "TW-2024-017"] in meta
    assert ["Original recording sha256", "ab" * 32] in meta
    assert any(row[0] == "Status" and "Approved by eddie" in row[1] for row in meta)
    assert body[0] == ["Time", "Speaker", "Russian", "English"]
    assert len(body) == len(testimony.segments) + 1
    for row, seg in zip(body[1:], testimony.segments):
        assert row == [f"{hms(seg.start)}–{hms(seg.end)}", speaker_label(testimony, seg), seg.ru, seg.en]


def test_docx_english_only_has_no_russian(testimony):
    data = render(testimony, "docx-en", info=INFO)
    body = docx_tables(data)[-1]
    assert body[0] == ["Time", "Speaker", "English"]
    assert [row[2] for row in body[1:]] == [s.en for s in testimony.segments]
    assert not any(s.ru in docx_all_text(data) for s in testimony.segments)


@pytest.mark.parametrize("variant", ["pdf", "pdf-en"])
def test_pdf_text_round_trip(testimony, variant):
    text = squash(pdf_text(render(testimony, variant, info=INFO)))
    assert squash("Testimony TW-2024-017") in text
    for seg in testimony.segments:
        assert squash(seg.en) in text
        assert (squash(seg.ru) in text) is (variant == "pdf")
        assert squash(f"{hms(seg.start)}–{hms(seg.end)}") in text


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_srt_round_trip(testimony, lang):
    cues = parse_srt(render(testimony, f"srt-{lang}"))
    assert [(c.start, c.end, c.text) for c in cues] == [(s.start, s.end, getattr(s, lang)) for s in testimony.segments]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_vtt_round_trip(testimony, lang):
    header, cues = parse_vtt(render(testimony, f"vtt-{lang}"))
    assert header == "WEBVTT"
    assert [(c.start, c.end, c.text, c.voice) for c in cues] == [
        (s.start, s.end, getattr(s, lang), speaker_label(testimony, s)) for s in testimony.segments
    ]


def test_subtitles_escape_markup_and_arrows(testimony):
    testimony.segments[1].en = "a <b> & c --> d\nsecond line"
    _, cues = parse_vtt(render(testimony, "vtt-en"))
    assert cues[1].text == "a <b> & c --> d second line"
    srt = parse_srt(render(testimony, "srt-en"))
    assert "-->" not in srt[1].text and srt[1].text.startswith("a <b> & c")


def test_json_round_trip(testimony):
    data = json.loads(render(testimony, "json", info=INFO))
    assert data["case_code"] == testimony.case_code and data["draft"] is False
    assert data["approval"]["user"] == "eddie"
    assert data["english_routes"]["argos"] == 5 and data["english_routes"]["human"] == 1
    assert data["revision_summary"] == {"count": 6, "by_field": {"reviewed": 6}, "by_user": {"tanya": 6},
                                        "last_at": "2024-03-13T10:00:00+00:00"}
    for out, seg in zip(data["segments"], testimony.segments, strict=True):
        assert (out["id"], out["start"], out["end"], out["speaker"], out["ru"], out["en"]) == (
            seg.id, seg.start, seg.end, seg.speaker, seg.ru, seg.en)
        assert out["reviewed"] is True and out["en_route"] == str(seg.en_route)
        assert [(w["start"], w["end"], w["text"]) for w in out["words"]] == [(w.start, w.end, w.text) for w in seg.words]
    assert "old" not in json.dumps(data["revision_summary"])  # counts only, never revision texts


def test_txt_round_trip(testimony):
    text = render(testimony, "txt", info=INFO).decode("utf-8")
    assert DRAFT_MARK not in text
    for seg in testimony.segments:
        block = f"[{hms(seg.start)} – {hms(seg.end)}] {speaker_label(testimony, seg)}\nRU: {seg.ru}\nEN: {seg.en}\n"
        assert block in text


@pytest.mark.slow
def test_draft_watermark_in_every_format(draft_testimony):
    files = render_files(draft_testimony, ["docx", "pdf", "srt", "vtt", "txt", "json"], draft=True, info=INFO)
    assert len(files) == 10
    for name, (variant, data) in files.items():
        if variant.startswith("docx"):
            doc_text = docx_all_text(data)
            from docx import Document

            header = Document(io.BytesIO(data)).sections[0].header.paragraphs[0].text
            assert DRAFT_MARK in header, name  # repeated on every page
            assert DRAFT_MARK in doc_text
        elif variant.startswith("pdf"):
            pages = pdf_text(data).split("\f") if "\f" in pdf_text(data) else [pdf_text(data)]
            from pypdf import PdfReader

            for page in PdfReader(io.BytesIO(data)).pages:  # every page carries it
                assert DRAFT_MARK in page.extract_text() and "DRAFT" in page.extract_text()
            assert pages
        elif variant.startswith("srt"):
            assert parse_srt(data)[0].text == DRAFT_MARK
        elif variant.startswith("vtt"):
            header, cues = parse_vtt(data)
            assert DRAFT_MARK in header and cues[0].text == DRAFT_MARK
        elif variant == "txt":
            assert data.decode().splitlines()[0] == f"*** {DRAFT_MARK} ***"
        elif variant == "json":
            assert json.loads(data)["draft"] is True and json.loads(data)["approval"] is None


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ExportError, match="Unknown export format.*docx"):
        parse_formats("docx,odt")
    assert parse_formats("") == ["docx", "pdf", "srt", "vtt", "txt", "json"]
    assert parse_formats("PDF, pdf,txt") == ["pdf", "txt"]


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed; scripts/test.sh installs it")
def test_cyrillic_pdf_renders_to_an_image_and_its_text_matches(testimony, tmp_path):
    import numpy as np

    pdf = render(testimony, "pdf", info=INFO)
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "DejaVuSans" in fonts and " yes " in fonts  # the bundled font, embedded
    pdf_path = tmp_path / "t.pdf"  # fixture text only, never real testimony data
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-singlefile", "-png", pdf_path, tmp_path / "page"], check=True)
    png = (tmp_path / "page.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # IHDR
    assert width > height > 300  # landscape A4 at 60 dpi
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", "-singlefile", "-gray", pdf_path, tmp_path / "grey"], check=True)
    pgm = (tmp_path / "grey.pgm").read_bytes()
    pixels = np.frombuffer(pgm.split(b"\n", 3)[3], dtype=np.uint8)
    assert (pixels < 128).mean() > 0.01  # text was drawn, not an empty page
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    raw = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for seg in testimony.segments:
        for word in seg.ru.split():  # every Cyrillic word is real text, not boxes
            assert word.strip(".,?") in text
        assert squash(seg.ru) in squash(raw)
    assert "\ufffd" not in text


def test_render_files_names_and_no_zip_in_memory_leak(testimony):
    files = render_files(testimony, ["docx", "srt"], draft=False, info=INFO)
    assert sorted(files) == ["TW-2024-017_bilingual.docx", "TW-2024-017_en.docx", "TW-2024-017_en.srt", "TW-2024-017_ru.srt"]
    assert zipfile.is_zipfile(io.BytesIO(files["TW-2024-017_en.docx"][1]))
