"""Settings: where the vault and the models live, and the limits. Environment variables `WORKSTATION_*`.

Read once per call (not cached at import) so tests and the CLI can point at other folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workstation.platform.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VAULT = Path.home() / "TestimonyVault"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from exc


@dataclass(frozen=True)
class Settings:
    vault_path: Path
    models_dir: Path
    max_upload_bytes: int
    max_duration_s: int
    cpu_threads: int
    device: str  # "auto", "cpu" or "cuda"
    idle_lock_s: int
    # processing on the organisation's own machines (README "Processing on several machines"): the scheduler's
    # tls:// address, this workstation's certificate folder, and what to do while the scheduler is unreachable
    cluster: str = ""
    cluster_tls: Path | None = None
    cluster_fallback: str = "wait"  # wait, local or fail


def load_settings() -> Settings:
    return Settings(
        vault_path=_env_path("WORKSTATION_VAULT", DEFAULT_VAULT),
        models_dir=_env_path("WORKSTATION_MODELS", REPO_ROOT / "models"),
        # 4 GiB covers a 3-hour recording even as uncompressed 16-bit stereo WAV at 48 kHz (~2 GB).
        max_upload_bytes=_env_int("WORKSTATION_MAX_UPLOAD_MB", 4096) * 1024 * 1024,
        max_duration_s=_env_int("WORKSTATION_MAX_DURATION_H", 6) * 3600,
        cpu_threads=_env_int("WORKSTATION_CPU_THREADS", os.cpu_count() or 1),
        device=os.environ.get("WORKSTATION_DEVICE", "auto"),
        # WORKSTATION_IDLE_LOCK_S (seconds) wins over the minutes: a test of the idle lock need not wait minutes
        idle_lock_s=_env_int("WORKSTATION_IDLE_LOCK_S", 0) or _env_int("WORKSTATION_IDLE_LOCK_MIN", 15) * 60,
        cluster=os.environ.get("WORKSTATION_CLUSTER", ""),
        cluster_tls=Path(os.environ["WORKSTATION_CLUSTER_TLS"]).expanduser() if os.environ.get("WORKSTATION_CLUSTER_TLS") else None,
        cluster_fallback=_env_choice("WORKSTATION_CLUSTER_FALLBACK", ("wait", "local", "fail")),
    )


def _env_choice(name: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or choices[0]
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value
