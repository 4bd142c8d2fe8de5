"""Fixtures for the UI tests: a real (temporary) vault, sessions per role, testimonies with a real
recording, and AppTest helpers that open the app already unlocked or on a given page."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workstation.config import REPO_ROOT
from workstation.testimony import EnglishRoute, Segment, TestimonyMeta, Word

APP = REPO_ROOT / "workstation" / "ui" / "app.py"
PASSPHRASE = "correct horse battery staple"
RU_WORDS = ["меня", "задержали", "возле", "дома", "утром", "потом", "отвезли", "в", "отдел", "полиции"]


def make_segments(n: int, *, seg_s: float = 2.0, low_every: int = 3) -> list[Segment]:
    """``n`` plausible segments with word timings; every ``low_every``-th has a low-confidence word."""
    segs = []
    for i in range(n):
        start = i * seg_s
        tokens = [RU_WORDS[(i + k) % len(RU_WORDS)] for k in range(4)]
        step = seg_s / len(tokens)
        words = [
            Word(round(start + k * step, 3), round(start + (k + 1) * step, 3), " " + tok,
                 0.3 if (low_every and i % low_every == 0 and k == 1) else 0.93)
            for k, tok in enumerate(tokens)
        ]
        segs.append(Segment(start, start + seg_s, " ".join(tokens), f"English draft {i}", words=words,
                            confidence=sum(w.probability for w in words) / len(words), en_route=EnglishRoute.ARGOS))
    return segs


def shortest_clip(eval_dir: Path) -> Path:
    with open(eval_dir / "manifest.csv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["duration_s"]))
    return eval_dir / rows[0]["file"]


def store_result(session: Any, case: str, segments: list[Segment], duration_s: float = 0.0) -> None:
    """Store fixture segments as a processing result, through the vault's real API."""
    from workstation.pipeline import PipelineResult

    result = PipelineResult(segments=segments, language="ru", language_probability=1.0,
                            duration_s=duration_s or (segments[-1].end if segments else 0.0), warnings=[],
                            models={"asr": "fixture"})
    session.store_processing_result(case, result)


def add_testimony(session: Any, case: str, clip: Path, segments: list[Segment] | None = None) -> None:
    """A testimony with a real sealed recording and, if given, segments stored as its processing result."""
    session.create_testimony(TestimonyMeta(case_code=case, interviewer=session.user, consent_scope="documentation"))
    session.ingest_recording(case, clip.read_bytes(), clip.name)
    if segments is not None:
        store_result(session, case, segments)


@pytest.fixture()
def ui_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty vault folder the app points at (WORKSTATION_VAULT); its job queue is dropped afterwards."""
    from workstation import jobs

    path = tmp_path / "vault"
    monkeypatch.setenv("WORKSTATION_VAULT", str(path))
    yield path
    jobs.drop_queue(path)


@pytest.fixture()
def ui_users(ui_vault: Path) -> dict[str, Any]:
    """A vault with an editor, two interviewers and a translator; returns their unlocked sessions."""
    from workstation.vault import session as vault

    editor = vault.create_vault(ui_vault, "edna", PASSPHRASE)
    for name, role in (("ivan", "interviewer"), ("inna", "interviewer"), ("tanya", "translator")):
        editor.add_user(name, role, PASSPHRASE)
    sessions = {"edna": editor}
    for name in ("ivan", "inna", "tanya"):
        sessions[name] = vault.unlock(ui_vault, name, PASSPHRASE)
    return sessions


@pytest.fixture(scope="session")
def ui_clip(eval_asr_dir: Path) -> Path:
    return shortest_clip(eval_asr_dir)


def open_app(session: Any = None, page: str | None = None, timeout: float = 60) -> Any:
    """Run the app in AppTest, unlocked as ``session`` (if given), optionally switched to ``page``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if session is not None:
        at.session_state["vault_session"] = session
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def texts(at: Any) -> str:
    """Everything a person reads on the page (markdown, captions, alerts, titles), as one string."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


def assert_no_exception(at: Any) -> None:
    assert not at.exception, [e.value for e in at.exception]
