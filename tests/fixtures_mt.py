"""Machine-translation fixtures: a tiny real Argos ru→en package, built once and installed once per session.

- `tiny_argos_file`: the .argosmodel file (tests/argos_tiny.py; random weights, real format).
- `argos_models`: WORKSTATION_MODELS pointed, for one test, at a session models folder where that
  package is installed (the real models/ entries, e.g. the Whisper model, are linked in, so pipeline
  tests can use both). Returns the folder.
- `argos_translator`: `mt.load_translator()` in that folder.
- `no_argos_models`: WORKSTATION_MODELS pointed at an empty folder (no Argos package).

argostranslate reads its settings once, at import; `argos_package.argos_settings()` re-points them at
the current models folder on every use, so switching folders between tests is safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.argos_tiny import build_tiny_package
from workstation.platform.config import load_settings


@pytest.fixture(scope="session")
def tiny_argos_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_package(tmp_path_factory.mktemp("argos-build"))


@pytest.fixture(scope="session")
def _argos_session_models(tmp_path_factory: pytest.TempPathFactory, tiny_argos_file: Path) -> Path:
    from workstation.translation import argos_package

    models = tmp_path_factory.mktemp("models-with-argos")
    real = load_settings().models_dir
    if real.is_dir():
        for entry in real.iterdir():
            if entry.name != "argos" and not entry.name.startswith("."):
                (models / entry.name).symlink_to(entry.resolve())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSTATION_MODELS", str(models))
        mp.setenv("ARGOS_PACKAGES_DIR", str(models / "argos" / "packages"))
        argos_package.install_from_file(tiny_argos_file)
    return models


def _point_models_at(monkeypatch: pytest.MonkeyPatch, models: Path) -> None:
    monkeypatch.setenv("WORKSTATION_MODELS", str(models))
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", os.environ.get("ARGOS_PACKAGES_DIR", ""))  # restored afterwards
    from workstation.translation import argos_package

    argos_package.argos_settings()
    argos_package.forget_argostranslate_caches()


@pytest.fixture
def argos_models(monkeypatch: pytest.MonkeyPatch, _argos_session_models: Path) -> Iterator[Path]:
    _point_models_at(monkeypatch, _argos_session_models)
    yield _argos_session_models


@pytest.fixture
def argos_translator(argos_models: Path):
    from workstation.translation import mt

    translator = mt.load_translator()
    assert translator is not None
    return translator


@pytest.fixture
def no_argos_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    models = tmp_path / "models"
    models.mkdir()
    _point_models_at(monkeypatch, models)
    yield models
