"""Fixtures for the UI tests: the vault area's sessions per role (tests/fixtures_vault.py) with the app pointed
at that vault, testimonies with a real recording, and AppTest helpers that open the app already unlocked or on
a given page, and that start `workstation app` for the tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures_vault import PASSPHRASE, clip_path, seal_clip
from tests.waiting import WaitTimeout, wait_until
from workstation.domain.testimony import EnglishRoute, Segment, TestimonyMeta, Word
from workstation.platform.config import REPO_ROOT
from workstation.vault.session import VaultSession

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

APP = REPO_ROOT / "workstation" / "ui" / "app.py"
__all__ = ["PASSPHRASE", "clip_path"]
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


def store_result(session: VaultSession, case: str, segments: list[Segment], duration_s: float = 0.0, *,
                 part_starts: list[float] | None = None) -> None:
    """Store fixture segments as a processing result, through the vault's real API (``part_starts``: a testimony
    of several files, where each starts on the timeline)."""
    from workstation.speech.pipeline import PipelineResult

    result = PipelineResult(segments=segments, language="ru", language_probability=1.0,
                            duration_s=duration_s or (segments[-1].end if segments else 0.0), warnings=[],
                            models={"asr": "fixture"}, part_starts=list(part_starts or []))
    session.store_processing_result(case, result)


def add_testimony(session: VaultSession, case: str, clip: Path, segments: list[Segment] | None = None) -> None:
    """A testimony with a real sealed recording and, if given, segments stored as its processing result."""
    session.create_testimony(TestimonyMeta(case_code=case, interviewer=session.user, consent_scope="documentation"))
    seal_clip(session, case, clip.read_bytes(), clip.name)
    if segments is not None:
        store_result(session, case, segments)


@pytest.fixture()
def ui_vault(vault_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The vault folder the app points at (WORKSTATION_VAULT); its job queue is dropped afterwards."""
    from workstation.services import jobs

    monkeypatch.setenv("WORKSTATION_VAULT", str(vault_path))
    yield vault_path
    jobs.drop_queue(vault_path)


@pytest.fixture()
def ui_users(ui_vault: Path, vault_sessions: dict[str, VaultSession]) -> dict[str, VaultSession]:
    """Unlocked sessions of edna (editor), ivan and inna (interviewers), tanya (translator), app pointed there."""
    return vault_sessions


@pytest.fixture()
def ui_clip(vault_clip: Path) -> Path:
    return vault_clip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, vault: Path, *, log: Any = subprocess.DEVNULL, timeout: float = 90,
              prefix: list[str] | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`workstation app` in a child process; returns once it answers its health check (or has exited).

    ``prefix`` runs it under another command (the egress test's `strace -f ...`); ``env`` adds variables.
    """
    env = dict(os.environ, WORKSTATION_VAULT=str(vault), PYTHONUNBUFFERED="1", **(env or {}))
    cmd = [sys.executable, "-m", "workstation.cli.main", "app", "--port", str(port), "--vault", str(vault)]
    proc = subprocess.Popen([*(prefix or []), *cmd], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def answers_or_exited() -> bool:
        if proc.poll() is not None:
            return True
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return True
        except OSError:
            return False

    try:
        wait_until(answers_or_exited, timeout, interval=0.2)
    except WaitTimeout:
        pass  # the caller's first request says what is wrong (and stop_app cleans up)
    return proc


def stop_app(proc: subprocess.Popen) -> None:
    """Stop the server; under a wrapper (strace), stop the server itself and let the wrapper finish its output."""
    import psutil

    try:
        wrapped = [c for c in psutil.Process(proc.pid).children() if "workstation.cli.main" in " ".join(c.cmdline())]
    except psutil.Error:
        wrapped = []
    for child in wrapped:
        child.terminate()
    if not wrapped:
        proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def open_app(session: VaultSession | None = None, page: str | None = None, timeout: float = 60) -> AppTest:
    """Run the app in AppTest, unlocked as ``session`` (if given), optionally switched to ``page``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if session is not None:
        at.session_state["vault_session"] = session
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    """Everything a person reads on the page (markdown, captions, alerts, titles), as one string."""
    shown = [*at.title, *at.header, *at.subheader, *at.markdown, *at.caption, *at.error, *at.warning, *at.info,
             *at.success]
    return "\n".join(str(e.value) for e in shown)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
