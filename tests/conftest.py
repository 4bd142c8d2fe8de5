"""Suite-wide set-up: the network guard is on for every test, and shared paths.

Area-specific fixtures live next to their tests (tests/fixtures_*.py, registered below).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workstation.platform import offline
from workstation.platform.config import REPO_ROOT

offline.activate()

SHARED = Path(os.environ.get("WORKSTATION_SHARED", REPO_ROOT.parent / "shared"))
EVAL_ASR = SHARED / "eval" / "asr"
EVAL_MT = SHARED / "eval" / "mt"

pytest_plugins = [
    name
    for name in ("tests.fixtures_pipeline", "tests.fixtures_mt", "tests.fixtures_vault", "tests.fixtures_export", "tests.fixtures_ui")
    if (REPO_ROOT / (name.replace(".", "/") + ".py")).exists()
]


# Fixtures that load Whisper or run the whole pipeline. A test that uses one is slow by definition: it must say so
# (@pytest.mark.slow), or `pytest -m "not slow and not browser"` would stop being the fast inner loop.
MODEL_FIXTURES = frozenset({"transcriber", "eval_results", "whisper_route_result"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items
                if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError("these tests load a real model but are not marked @pytest.mark.slow:\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture(scope="session")
def eval_asr_dir() -> Path:
    if not (EVAL_ASR / "manifest.csv").exists():
        pytest.fail(f"Evaluation data not found at {EVAL_ASR}; set WORKSTATION_SHARED to the shared/ folder.")
    return EVAL_ASR


@pytest.fixture(scope="session")
def eval_mt_dir() -> Path:
    if not EVAL_MT.exists():
        pytest.fail(f"Evaluation data not found at {EVAL_MT}; set WORKSTATION_SHARED to the shared/ folder.")
    return EVAL_MT


@pytest.fixture(autouse=True)
def _no_network_attempts():
    """Every test proves, as a side effect, that nothing tried to leave the machine."""
    offline.clear_attempts()
    yield
    attempts = offline.blocked_attempts()
    assert not attempts, f"network access was attempted during the test: {attempts}"
