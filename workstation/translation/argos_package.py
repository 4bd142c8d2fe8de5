"""The Russian→English Argos Translate package: install (from a file or the Argos index), find, verify.

Layout under the project's models folder (`WORKSTATION_MODELS`, default `models/`):

    models/argos/packages/translate-ru_en/    the installed package (what argostranslate calls a package
        metadata.json, model/, sentencepiece.model, ...    folder; ARGOS_PACKAGES_DIR points here)
        workstation-install.json              our record: sha256 + size of the .argosmodel file, and the
                                              size + sha256 of every installed file
    models/argos/state/                       argostranslate's own data/config/cache folders

argostranslate reads its settings (package folder, ~/.config settings file) once, at import, and
creates folders under ~/.local as a side effect. `argos_settings()` imports it with those folders
pointed into models/argos/ (nothing lands in the home folder, a user's settings.json cannot redirect
anything) and re-points the package folder on every call, so a changed `WORKSTATION_MODELS` is
honoured even after the import.

Installing never trusts the archive: it must be a zip whose entries stay inside the package folder
(no absolute paths, no "..", no links), hold one metadata.json saying ru→en, a CTranslate2 model and a
SentencePiece/BPE tokenizer; the model and tokenizer must actually load. It is extracted into a
staging folder next to the package folder and swapped in by rename, so a failed or interrupted
install leaves the previous package untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.platform.fileio import file_lock, fsync_dir

FROM_CODE, TO_CODE = "ru", "en"
PACKAGE_DIRNAME = "translate-ru_en"
RECORD_NAME = "workstation-install.json"
DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
MAX_UNPACKED_BYTES = 4 * 1024**3  # real ru→en packages are ~100 MB; anything near this is not a package
_CHUNK = 1024 * 1024
FIX_HINT = (
    "Install it again: `workstation models install-argos --from FILE.argosmodel` "
    "(or `workstation models install-argos` on a machine that is online)."
)


class ArgosPackageError(WorkstationError):
    """Something is wrong with an Argos package file or the installed package."""


class NotAnArgosPackageError(ArgosPackageError):
    """The file is not a .argosmodel archive (not a zip, or no valid metadata.json)."""


class WrongLanguagePairError(ArgosPackageError):
    """A valid Argos package, but not Russian→English."""


class UnsafeArchiveError(ArgosPackageError):
    """The archive tries to write outside its folder (path traversal, absolute paths, links)."""


class IncompletePackageError(ArgosPackageError):
    """Required files (model, tokenizer) are missing from the archive, or they do not load."""


class ArgosPackageCorruptError(ArgosPackageError):
    """The installed package is missing files, or its files changed since installation."""


class ArgosDownloadError(ArgosPackageError):
    """The Argos index or the package could not be downloaded, or failed its checksum."""


@dataclass(frozen=True)
class ArgosPackageInfo:
    name: str  # "translate-ru_en"
    version: str  # the package's own package_version
    path: Path  # the installed package folder
    sha256: str  # of the .argosmodel file it was installed from
    size: int  # bytes of that file
    source: str = ""  # file name or URL it came from
    installed_at: str = ""

    @property
    def size_bytes(self) -> int:
        return self.size


# --- locations and argostranslate's settings -----------------------------------------------------


def argos_root() -> Path:
    return load_settings().models_dir / "argos"


def packages_dir() -> Path:
    return argos_root() / "packages"


def package_path() -> Path:
    return packages_dir() / PACKAGE_DIRNAME


_XDG = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")


def argos_settings() -> ModuleType:
    """`argostranslate.settings`, imported with its folders under models/argos and pointed at our packages.

    Call this before importing any other argostranslate module.
    """
    packages = packages_dir()
    packages.mkdir(parents=True, exist_ok=True)
    os.environ["ARGOS_PACKAGES_DIR"] = str(packages)
    if "argostranslate.settings" not in sys.modules:
        os.environ["ARGOS_DEBUG"] = "0"  # its debug mode prints every text it translates to stdout
        state = argos_root() / "state"
        saved = {key: os.environ.get(key) for key in _XDG}
        os.environ.update({key: str(state / key.split("_")[1].lower()) for key in _XDG})
        try:
            import argostranslate.settings  # noqa: F401  (reads settings, creates its folders, once)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    # argostranslate logs the text it translates at INFO level: never let that reach a handler.
    logging.getLogger("argostranslate").setLevel(logging.WARNING)
    settings: Any = sys.modules["argostranslate.settings"]
    settings.package_data_dir = packages
    settings.package_dirs = [packages]
    return settings


def forget_argostranslate_caches() -> None:
    """argostranslate caches installed languages and their translators; drop them after a change."""
    translate = sys.modules.get("argostranslate.translate")
    if translate is not None:
        translate.get_installed_languages.cache_clear()
        translate.installed_translates.clear()


# --- checking an archive ---------------------------------------------------------------------------


def sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of a zip entry, or UnsafeArchiveError if it could land outside the folder."""
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"The package contains an unsafe path ({name!r}); it was not installed.")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if any(p == ".." for p in parts):
        raise UnsafeArchiveError(
            f"The package contains a path that leaves its folder ({name!r}); it was not installed."
        )
    return parts


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


@dataclass(frozen=True)
class _Archive:
    root: tuple[str, ...]  # folder inside the zip holding metadata.json (() if at the top)
    metadata: dict[str, Any]
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]  # files under root, with their relative parts


def _read_archive(zf: zipfile.ZipFile, name: str) -> _Archive:
    members, total = [], 0
    for info in zf.infolist():
        parts = _safe_parts(info.filename)
        if _is_link(info):
            raise UnsafeArchiveError(f"The package contains a link ({info.filename!r}); it was not installed.")
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise NotAnArgosPackageError(f"{name} unpacks to more than 4 GB; it is not an Argos package.")
        if parts and not info.is_dir():
            members.append((info, parts))
    metas = [parts[:-1] for _, parts in members if parts[-1] == "metadata.json" and len(parts) <= 2]
    if len(metas) != 1:
        raise NotAnArgosPackageError(
            f"{name} is a zip file but not an Argos package: "
            + ("it has no metadata.json." if not metas else "it holds more than one package.")
        )
    root = metas[0]
    try:
        metadata = json.loads(zf.read("/".join(root + ("metadata.json",))).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotAnArgosPackageError(f"{name}: its metadata.json is not valid JSON ({exc}).") from exc
    if not isinstance(metadata, dict):
        raise NotAnArgosPackageError(f"{name}: its metadata.json does not describe a package.")
    inside = [(info, parts[len(root):]) for info, parts in members if parts[: len(root)] == root]
    return _Archive(root, metadata, inside)


def _check_metadata(metadata: dict[str, Any], name: str) -> None:
    kind = metadata.get("type", "translate")
    pair = (metadata.get("from_code"), metadata.get("to_code"))
    if kind != "translate" or pair != (FROM_CODE, TO_CODE):
        what = f"a {kind} package" if kind != "translate" else f"a {pair[0]}→{pair[1]} translation package"
        raise WrongLanguagePairError(
            f"{name} is {what}, not Russian→English (ru→en). Get the file named like translate-ru_en-*.argosmodel."
        )


def _check_layout(files: set[str], name: str) -> None:
    missing = [f for f in ("model/model.bin", "model/config.json") if f not in files]
    vocab = any(f.startswith("model/") and "vocabulary" in f for f in files)
    if not vocab:
        missing.append("model/shared_vocabulary (or source/target vocabularies)")
    if "sentencepiece.model" not in files and "bpe.model" not in files:
        missing.append("sentencepiece.model (or bpe.model)")
    if missing:
        raise IncompletePackageError(
            f"{name} is incomplete: it lacks {', '.join(missing)}. The download may have been cut short; "
            "get the file again."
        )


# --- installing -------------------------------------------------------------------------------------


def _install_lock() -> AbstractContextManager[None]:
    root = argos_root()
    root.mkdir(parents=True, exist_ok=True)
    return file_lock(root / ".install.lock")


def _extract(zf: zipfile.ZipFile, archive: _Archive, dest: Path) -> dict[str, list[Any]]:
    """Write the package's files under dest (paths already checked), returning {relpath: [size, sha256]}."""
    files: dict[str, list[Any]] = {}
    for info, parts in archive.members:
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        files["/".join(parts)] = [info.file_size, digest.hexdigest()]
    return files


def _smoke_load(folder: Path, name: str) -> None:
    """Load the tokenizer and the CTranslate2 model once: a corrupt model is refused now, not at first use."""
    import ctranslate2

    try:
        if (folder / "sentencepiece.model").exists():
            import sentencepiece

            sentencepiece.SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
        ctranslate2.Translator(str(folder / "model"), device="cpu", compute_type="auto", intra_threads=1)
    except (RuntimeError, OSError, ValueError) as exc:
        raise IncompletePackageError(
            f"{name} does not load ({exc}). The file is damaged or not made for CTranslate2 {ctranslate2.__version__}; "
            "get the file again."
        ) from exc


def _swap_in(staged: Path, final: Path) -> None:
    """Replace `final` by `staged` with renames; the old package stays in place until the new one is there."""
    old = None
    if final.exists():
        old = argos_root() / f".old-{final.name}-{os.getpid()}-{time.time_ns()}"  # not where argos looks
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except OSError:
        if old is not None:
            os.replace(old, final)
        raise
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted() -> None:
    """Tidy what an interrupted install left (call under the install lock): staging folders go; a package
    moved aside but never replaced is put back."""
    root, final = argos_root(), package_path()
    olds = sorted(root.glob(f".old-{final.name}-*"), key=lambda p: p.stat().st_mtime)
    if olds and not final.exists():
        os.replace(olds.pop(), final)
    for leftover in [*olds, *root.glob(".staging-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def install_from_file(path: Path | str, *, source: str | None = None) -> ArgosPackageInfo:
    """Verify a .argosmodel file and install it as the Russian→English package (replacing any older one)."""
    path = Path(path)
    name = path.name
    if path.is_dir():
        raise NotAnArgosPackageError(f"{path} is a folder. Give the .argosmodel file itself.")
    if not path.is_file():
        raise NotAnArgosPackageError(f"There is no file at {path}. Give the path to a .argosmodel file.")
    if not zipfile.is_zipfile(path):
        raise NotAnArgosPackageError(f"{name} is not an Argos package (.argosmodel files are zip archives).")
    sha256, size = sha256_file(path)
    with _install_lock(), zipfile.ZipFile(path) as zf:
        _recover_interrupted()
        archive = _read_archive(zf, name)
        _check_metadata(archive.metadata, name)
        _check_layout({"/".join(parts) for _, parts in archive.members}, name)
        packages = packages_dir()
        packages.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=argos_root()))
        try:
            folder = staging / PACKAGE_DIRNAME
            try:
                files = _extract(zf, archive, folder)
            except (zipfile.BadZipFile, zlib.error) as exc:
                raise NotAnArgosPackageError(f"{name} is damaged ({exc}); get the file again.") from exc
            _smoke_load(folder, name)
            info = ArgosPackageInfo(
                name=PACKAGE_DIRNAME,
                version=str(archive.metadata.get("package_version", "")),
                path=package_path(),
                sha256=sha256,
                size=size,
                source=source or name,
                installed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
            record = {**_record_fields(info), "files": files}
            (folder / RECORD_NAME).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            _swap_in(folder, package_path())
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    forget_argostranslate_caches()
    return info


def _record_fields(info: ArgosPackageInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "sha256": info.sha256,
        "size": info.size,
        "source": info.source,
        "installed_at": info.installed_at,
        "from_code": FROM_CODE,
        "to_code": TO_CODE,
    }


# --- the index (explicit, user-started download) ---------------------------------------------------


def _fetch(url: str, *, timeout: float = 60) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "TestimonyWorkstation"})
    return urllib.request.urlopen(request, timeout=timeout)


def _index_entry(index_url: str) -> dict[str, Any]:
    try:
        with _fetch(index_url) as response:
            index = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise ArgosDownloadError(
            f"Could not read the Argos package index at {index_url} ({exc}). Check the internet connection, "
            "or install from a file: `workstation models install-argos --from FILE.argosmodel`."
        ) from exc
    for entry in index if isinstance(index, list) else []:
        if (
            isinstance(entry, dict)
            and entry.get("type", "translate") == "translate"
            and (entry.get("from_code"), entry.get("to_code")) == (FROM_CODE, TO_CODE)
            and entry.get("links")
        ):
            return entry
    raise ArgosDownloadError(f"The Argos package index at {index_url} lists no Russian→English package.")


def _expected_sha256(entry: dict[str, Any]) -> str | None:
    for key in ("sha256", "checksum", "sha256sum"):
        value = entry.get(key)
        if isinstance(value, str) and len(value.removeprefix("sha256:")) == 64:
            return value.removeprefix("sha256:").lower()
    return None


def _download(url: str, dest: Path, progress: Callable[[float], None] | None) -> str:
    digest = hashlib.sha256()
    with _fetch(url, timeout=120) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            done += len(chunk)
            if done > MAX_UNPACKED_BYTES:
                raise ArgosDownloadError(f"{url} is larger than any Argos package; stopped the download.")
            if progress is not None and total:
                progress(min(done / total, 1.0))
    return digest.hexdigest()


def install_from_index(
    *, index_url: str | None = None, progress: Callable[[float], None] | None = None
) -> ArgosPackageInfo:
    """Download the ru→en package listed in the Argos index, check it, install it.

    The network guard blocks this unless the caller wraps it in `offline.allow_network()` (the
    `workstation models install-argos` command does, and nothing else should).
    """
    url = index_url or getattr(argos_settings(), "remote_package_index", None) or DEFAULT_INDEX_URL
    entry = _index_entry(url)
    expected = _expected_sha256(entry)
    root = argos_root()
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    for link in entry["links"]:
        handle, tmp = tempfile.mkstemp(prefix=".download-", suffix=".argosmodel", dir=root)  # a model, not testimony
        os.close(handle)
        try:
            got = _download(link, Path(tmp), progress)
            if expected is not None and got != expected:
                raise ArgosDownloadError(
                    f"The package downloaded from {link} does not match the checksum in the index "
                    f"(expected {expected}, got {got}); it was not installed."
                )
            return install_from_file(Path(tmp), source=link)
        except OSError as exc:
            errors.append(f"{link}: {exc}")
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise ArgosDownloadError(
        "Could not download the Russian→English package (" + "; ".join(errors) + "). Check the internet "
        "connection, or install from a file: `workstation models install-argos --from FILE.argosmodel`."
    )


# --- what is installed ------------------------------------------------------------------------------


def _load_record(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RECORD_NAME).read_text())
        if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
            raise ValueError("not a record")
        return record
    except (OSError, ValueError) as exc:
        raise ArgosPackageCorruptError(
            f"The Russian→English package in {folder} has no valid installation record, so it cannot be "
            f"verified. {FIX_HINT}"
        ) from exc


def _verify_files(folder: Path, files: dict[str, Any], *, deep: bool) -> list[str]:
    problems = []
    for rel, (size, sha256) in sorted(files.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif path.stat().st_size != size:
            problems.append(f"{rel} has the wrong size")
        elif deep and sha256_file(path)[0] != sha256:
            problems.append(f"{rel} does not match its checksum")
    return problems


def installed_ru_en(*, deep: bool = False) -> ArgosPackageInfo | None:
    """The installed Russian→English package, verified; None when none is installed.

    Checks that every installed file is present with its recorded size (fast); `deep=True` also
    re-hashes every file. A damaged package raises ArgosPackageCorruptError saying how to fix it.
    """
    folder = package_path()
    if not folder.exists() and any(argos_root().glob(f".old-{folder.name}-*")):
        with _install_lock():  # an install was interrupted after moving the old package aside
            _recover_interrupted()
    if not folder.exists():
        return None
    record = _load_record(folder)
    problems = _verify_files(folder, record["files"], deep=deep)
    try:
        metadata = json.loads((folder / "metadata.json").read_text())
        _check_metadata(metadata, "The installed package")
    except (OSError, ValueError) as exc:
        problems.append(f"metadata.json is unreadable ({exc})")
    if problems:
        raise ArgosPackageCorruptError(
            f"The Russian→English translation package is damaged: {'; '.join(problems[:5])}. {FIX_HINT}"
        )
    return ArgosPackageInfo(
        name=str(record.get("name", PACKAGE_DIRNAME)),
        version=str(record.get("version", "")),
        path=folder,
        sha256=str(record.get("sha256", "")),
        size=int(record.get("size", 0)),
        source=str(record.get("source", "")),
        installed_at=str(record.get("installed_at", "")),
    )


def uninstall_ru_en() -> bool:
    """Remove the installed ru→en package; True if there was one."""
    with _install_lock():
        folder = package_path()
        if not folder.exists():
            return False
        trash = argos_root() / f".old-{folder.name}-{os.getpid()}-{time.time_ns()}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
    forget_argostranslate_caches()
    return True
