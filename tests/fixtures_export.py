"""Fixtures for the export and redaction tests: a Cyrillic testimony with names in several inflected forms
and their English transliterations, plus helpers that read every export format back."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass

import pytest

from tests.fixtures_vault import seal_clip
from workstation.domain.testimony import (
    EnglishRoute,
    Revision,
    Segment,
    Status,
    Testimony,
    TestimonyMeta,
    Word,
    approve,
)
from workstation.speech.pipeline import PipelineResult
from workstation.vault.session import VaultSession


def _words(text: str, start: float, end: float) -> list[Word]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [Word(round(start + i * step, 3), round(start + (i + 1) * step, 3), " " + tok, 0.9) for i, tok in enumerate(tokens)]


# The names and every form in which they must never appear in a redacted export.
NAME_FORMS = {
    "Ахмед": ["Ахмед", "Ахмеда", "Ахмедом", "Ахмеду", "Akhmed", "Ahmed", "Achmed", "Akhmeda"],
    "Кадыров": ["Кадыров", "Кадырова", "Kadyrov", "Kadyrova"],
    "Аргун": ["Аргун", "Аргуне", "Argun"],
}


def sample_segments() -> list[Segment]:
    rows = [
        (0.0, 4.0, "interviewer", "Расскажите, что произошло в марте.", "Tell me what happened in March."),
        (4.0, 9.5, "witness", "Меня задержали возле дома в Аргуне, это было утром.",
         "I was detained near my house in Argun, it was in the morning."),
        (9.5, 15.0, "witness", "Там был Ахмед Кадыров, он работал в МВД.",
         "Akhmed Kadyrov was there, he worked at the Ministry of Internal Affairs."),
        (15.0, 20.0, "witness", "Я узнал Ахмеда сразу, потом с Ахмедом приехали ещё двое.",
         "I recognised Ahmed at once, then two more came with Akhmed."),
        (20.0, 26.0, "witness", "Нас держали три дня и били. Ахмеду было всё равно.",
         "They held us for three days and beat us. Achmed did not care."),
        (26.0, 30.0, "interviewer", "Спасибо. Хотите что-то добавить?", "Thank you. Would you like to add anything?"),
    ]
    segs = []
    for i, (a, b, spk, ru, en) in enumerate(rows):
        segs.append(Segment(a, b, ru, en, words=_words(ru, a, b), confidence=0.9, speaker=spk,
                            en_route=EnglishRoute.HUMAN if i == 2 else EnglishRoute.ARGOS, id=f"seg{i:03d}"))
    return segs


def make_testimony(*, approved: bool = True) -> Testimony:
    t = Testimony(
        TestimonyMeta("TW-2024-017", interview_date="2024-03-12", interviewer="anna", consent_scope="research, court",
                      notes="Ахмед mentioned twice"),
        status=Status.DRAFT,
        segments=sample_segments(),
        models={"asr": "whisper-base", "asr_version": "faster-whisper 1.1", "asr_checksum": "d01c30", "mt": "argos ru-en"},
        owner="anna",
    )
    for seg in t.segments:
        seg.reviewed = True
        seg.revision = 1
        t.revisions.append(Revision(seg.id, 1, "tanya", "2024-03-13T10:00:00+00:00", "reviewed", "False", "True"))
    if approved:
        approve(t, user="eddie")
    return t


@pytest.fixture
def testimony() -> Testimony:
    return make_testimony()


@pytest.fixture
def draft_testimony() -> Testimony:
    return make_testimony(approved=False)


# --- readers for every format -----------------------------------------------------------------


@dataclass
class Cue:
    start: float
    end: float
    text: str
    voice: str = ""


_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


def _seconds(stamp: str) -> float:
    h, m, s, ms = map(int, _TIME.fullmatch(stamp.strip()).groups())
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(data: bytes) -> list[Cue]:
    cues = []
    for block in data.decode("utf-8").strip().split("\n\n"):
        lines = block.strip().split("\n")
        assert lines[0].strip().isdigit(), f"bad SRT cue number: {lines[0]!r}"
        a, b = lines[1].split(" --> ")
        cues.append(Cue(_seconds(a), _seconds(b), "\n".join(lines[2:])))
    return cues


def parse_vtt(data: bytes) -> tuple[str, list[Cue]]:
    text = data.decode("utf-8")
    header, *blocks = text.strip().split("\n\n")
    assert header.startswith("WEBVTT")
    cues = []
    for block in blocks:
        lines = block.strip().split("\n")
        if lines[0].startswith("NOTE"):
            continue
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        a, b = lines[timing].split(" --> ")
        body = "\n".join(lines[timing + 1 :])
        voice = ""
        m = re.match(r"<v ([^>]*)>(.*)", body, re.S)
        if m:
            voice, body = m.groups()
        body = body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(Cue(_seconds(a), _seconds(b.split()[0]), body, voice))
    return header, cues


def docx_tables(data: bytes) -> list[list[list[str]]]:
    from docx import Document

    doc = Document(io.BytesIO(data))
    return [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]


def docx_all_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
    for table in docx_tables(data):
        parts += [cell for row in table for cell in row]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    """Whitespace-insensitive form for comparing extracted PDF text (line wrapping, justification)."""
    return re.sub(r"\s+", "", text)


def every_readable_form(name: str, data: bytes) -> str:
    """All text an export file carries, as bytes-decoded text plus what parsers extract (DOCX XML parts,
    PDF text), so a scan cannot miss a name hidden in compression or markup."""
    parts = [data.decode("utf-8", errors="ignore"), data.decode("latin-1")]
    if name.endswith(".docx"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts += [zf.read(n).decode("utf-8", errors="ignore") for n in zf.namelist()]
        parts.append(docx_all_text(data))
    if name.endswith(".pdf"):
        parts.append(pdf_text(data))
    if name.endswith(".json"):
        parts.append(json.dumps(json.loads(data), ensure_ascii=False))
    return "\n".join(parts)


# --- a vault holding the sample testimony -------------------------------------------------------

EXPORT_CASE = "TW-2024-017"


def store_sample(session: VaultSession, *, approved: bool, recording: bytes, segments: list[Segment] | None = None,
                 case: str = EXPORT_CASE) -> None:
    """Create, ingest, 'process' (the sample segments), review and optionally approve a testimony."""
    from workstation.domain.testimony import set_reviewed

    session.create_testimony(TestimonyMeta(case, interview_date="2024-03-12", interviewer="anna",
                                           consent_scope="research, court", notes="Ахмед mentioned twice"))
    seal_clip(session, case, recording, "interview.wav")
    session.store_processing_result(case, PipelineResult(segments or sample_segments(), "ru", 0.99, 30.0,
                                                         models=dict(make_testimony().models)))

    def review_all(t):
        for seg in t.segments:
            set_reviewed(t, seg.id, True, base_revision=seg.revision, user=session.user)

    session.update(case, review_all, action="reviewed")
    if approved:
        session.approve(case)


@pytest.fixture(scope="session")
def clip_bytes(eval_asr_dir) -> bytes:
    return (eval_asr_dir / "wav" / "golos_00.wav").read_bytes()


@pytest.fixture()
def export_vault(vault_editor, clip_bytes):
    """An unlocked editor session whose vault holds the approved sample testimony EXPORT_CASE."""
    store_sample(vault_editor, approved=True, recording=clip_bytes)
    return vault_editor
