"""Installing, finding and verifying the Argos ru→en package, with a real (tiny) .argosmodel file."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest

from tests.argos_tiny import build_package_dir, build_tiny_package, zip_dir
from workstation.platform import offline
from workstation.platform.errors import WorkstationError
from workstation.translation import argos_package as ap
from workstation.translation import mt


def _leftovers(models: Path) -> list[str]:
    root = models / "argos"
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".staging-", ".old-", ".download-")))


def test_install_from_file_records_checksum_and_is_found_by_argostranslate(no_argos_models, tiny_argos_file):
    assert ap.installed_ru_en() is None
    assert mt.load_translator() is None

    info = ap.install_from_file(tiny_argos_file)

    data = tiny_argos_file.read_bytes()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == info.size_bytes == len(data)
    assert info.path == no_argos_models / "argos" / "packages" / "translate-ru_en"
    assert info.version == "0.0.1-test"
    record = json.loads((info.path / ap.RECORD_NAME).read_text())
    assert record["sha256"] == info.sha256
    assert set(record["files"]) >= {"metadata.json", "model/model.bin", "model/config.json", "sentencepiece.model"}
    assert ap.installed_ru_en() == info
    assert ap.installed_ru_en(deep=True) == info
    assert _leftovers(no_argos_models) == []

    # argostranslate's own package code sees exactly this package, in our folder (not ~/.local).
    settings = ap.argos_settings()
    assert settings.package_dirs == [no_argos_models / "argos" / "packages"]
    from argostranslate.package import get_installed_packages

    (pkg,) = get_installed_packages()
    assert (pkg.from_code, pkg.to_code, pkg.package_path) == ("ru", "en", info.path)
    assert pkg.tokenizer is not None


def test_reinstall_replaces_the_package_atomically(no_argos_models, tiny_argos_file, tmp_path):
    first = ap.install_from_file(tiny_argos_file)
    other = build_tiny_package(tmp_path / "other", seed=1)
    second = ap.install_from_file(other)
    assert second.sha256 != first.sha256
    assert ap.installed_ru_en(deep=True) == second
    assert [p.name for p in (no_argos_models / "argos" / "packages").iterdir()] == ["translate-ru_en"]
    assert _leftovers(no_argos_models) == []


def test_building_the_tiny_package_is_deterministic(tiny_argos_file, tmp_path):
    again = build_tiny_package(tmp_path)
    assert again.read_bytes() == tiny_argos_file.read_bytes()


def _broken_packages(tmp_path: Path) -> dict[str, tuple[Path, type[ap.ArgosPackageError], str]]:
    """name -> (file, expected error, a word the message must contain)."""
    pkg = build_package_dir(tmp_path / "src")
    cases: dict[str, tuple[Path, type[ap.ArgosPackageError], str]] = {}

    text = tmp_path / "notes.argosmodel"
    text.write_text("this is not a zip archive")
    cases["not a zip"] = (text, ap.NotAnArgosPackageError, "zip")

    truncated = tmp_path / "truncated.argosmodel"
    truncated.write_bytes(zip_dir(pkg, tmp_path / "full.argosmodel").read_bytes()[:-2000])
    cases["truncated download"] = (truncated, ap.NotAnArgosPackageError, "not an Argos package")

    cases["no metadata"] = (zip_dir(pkg, tmp_path / "nometa.argosmodel", skip=("metadata.json",)),
                            ap.NotAnArgosPackageError, "metadata.json")

    bad_json = tmp_path / "badjson"
    bad_json.mkdir()
    bad_pkg = build_package_dir(bad_json)
    (bad_pkg / "metadata.json").write_text("{not json")
    cases["invalid metadata"] = (zip_dir(bad_pkg, tmp_path / "badjson.argosmodel"), ap.NotAnArgosPackageError, "JSON")

    de_en = build_tiny_package(tmp_path / "de", from_code="de", to_code="en")
    cases["wrong pair"] = (de_en, ap.WrongLanguagePairError, "de→en")

    cases["path traversal"] = (
        zip_dir(pkg, tmp_path / "evil.argosmodel", extra={f"{pkg.name}/../../evil.txt": b"x"}),
        ap.UnsafeArchiveError, "leaves its folder",
    )
    cases["absolute path"] = (
        zip_dir(pkg, tmp_path / "abs.argosmodel", extra={"/tmp/evil-absolute.txt": b"x"}),
        ap.UnsafeArchiveError, "unsafe path",
    )
    link = tmp_path / "link.argosmodel"
    zip_dir(pkg, link)
    with zipfile.ZipFile(link, "a") as zf:
        info = zipfile.ZipInfo(f"{pkg.name}/model/escape")
        info.external_attr = (0o120777 << 16)  # a symbolic link
        zf.writestr(info, "/etc/passwd")
    cases["symlink"] = (link, ap.UnsafeArchiveError, "link")

    cases["missing model"] = (zip_dir(pkg, tmp_path / "nomodel.argosmodel", skip=("model/model.bin",)),
                              ap.IncompletePackageError, "model/model.bin")
    cases["missing tokenizer"] = (zip_dir(pkg, tmp_path / "nosp.argosmodel", skip=("sentencepiece.model",)),
                                  ap.IncompletePackageError, "sentencepiece.model")

    flipped = tmp_path / "flipped.argosmodel"
    data = bytearray(zip_dir(pkg, tmp_path / "whole.argosmodel").read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):  # damage inside the compressed files
        data[i] ^= 0x5A
    flipped.write_bytes(bytes(data))
    cases["damaged bytes"] = (flipped, ap.NotAnArgosPackageError, "damaged")

    corrupt_dir = tmp_path / "corrupt"
    corrupt_dir.mkdir()
    corrupt = build_package_dir(corrupt_dir)
    (corrupt / "model" / "model.bin").write_bytes(b"\x00garbage" * 100)
    cases["corrupt model"] = (zip_dir(corrupt, tmp_path / "corrupt.argosmodel"), ap.IncompletePackageError,
                              "does not load")
    return cases


def test_every_bad_file_is_refused_with_its_own_error_and_nothing_changes(no_argos_models, tiny_argos_file, tmp_path):
    good = ap.install_from_file(tiny_argos_file)
    cases = _broken_packages(tmp_path)
    for name, (path, error, word) in cases.items():
        with pytest.raises(error) as caught:
            ap.install_from_file(path)
        message = str(caught.value)
        assert isinstance(caught.value, WorkstationError), name
        assert word in message, (name, message)
        assert "Traceback" not in message and len(message) < 400, name
        assert ap.installed_ru_en(deep=True) == good, name  # the installed package is untouched
        assert _leftovers(no_argos_models) == [], name
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-absolute.txt").exists()
    with pytest.raises(ap.NotAnArgosPackageError, match="no file"):
        ap.install_from_file(tmp_path / "does-not-exist.argosmodel")
    with pytest.raises(ap.NotAnArgosPackageError, match="is a folder"):
        ap.install_from_file(tmp_path)


def test_an_interrupted_install_is_tidied_and_the_old_package_restored(no_argos_models, tiny_argos_file):
    info = ap.install_from_file(tiny_argos_file)
    root = no_argos_models / "argos"
    # as if a crash hit between moving the old package aside and moving the new one in
    moved = root / ".old-translate-ru_en-1-1"
    info.path.rename(moved)
    (root / ".staging-crashed" / "translate-ru_en").mkdir(parents=True)
    assert ap.installed_ru_en(deep=True) == info  # put back on the next look
    assert not moved.exists()
    with pytest.raises(ap.WrongLanguagePairError):  # the next install attempt tidies the rest
        ap.install_from_file(build_tiny_package(no_argos_models.parent / "de", from_code="de"))
    assert ap.installed_ru_en(deep=True) == info
    assert _leftovers(no_argos_models) == []


def test_a_damaged_installation_says_how_to_fix_it(no_argos_models, tiny_argos_file):
    info = ap.install_from_file(tiny_argos_file)
    model = info.path / "model" / "model.bin"

    data = model.read_bytes()
    model.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # same size, different content
    assert ap.installed_ru_en() == info  # the quick check looks at presence and sizes only
    with pytest.raises(ap.ArgosPackageCorruptError, match="checksum.*install-argos"):
        ap.installed_ru_en(deep=True)

    model.write_bytes(data[:1000])  # partial
    with pytest.raises(ap.ArgosPackageCorruptError, match="wrong size"):
        ap.installed_ru_en()
    with pytest.raises(ap.ArgosPackageCorruptError):
        mt.load_translator()

    model.unlink()
    with pytest.raises(ap.ArgosPackageCorruptError, match=r"model/model.bin is missing.*install-argos --from"):
        ap.installed_ru_en()

    (info.path / ap.RECORD_NAME).unlink()
    with pytest.raises(ap.ArgosPackageCorruptError, match="no valid installation record"):
        ap.installed_ru_en()

    assert ap.uninstall_ru_en() is True
    assert ap.installed_ru_en() is None


class _Server:
    """A loopback HTTP server (the network guard allows loopback) standing in for the Argos index."""

    def __init__(self, files: dict[str, bytes]) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _index(url: str, sha256: str | None) -> bytes:
    entries = [
        {"type": "translate", "from_code": "en", "to_code": "ru", "links": [f"{url}/wrong.argosmodel"]},
        {"type": "translate", "from_code": "ru", "to_code": "en", "package_version": "0.0.1-test",
         "links": [f"{url}/translate-ru_en.argosmodel"], **({"sha256": sha256} if sha256 else {})},
    ]
    return json.dumps(entries).encode()


def test_install_from_index_downloads_checks_and_installs(no_argos_models, tiny_argos_file):
    data = tiny_argos_file.read_bytes()
    good = hashlib.sha256(data).hexdigest()
    files = {"/translate-ru_en.argosmodel": data}
    server = _Server(files)
    try:
        files["/index.json"] = _index(server.url, good)
        seen: list[float] = []
        info = ap.install_from_index(index_url=f"{server.url}/index.json", progress=seen.append)
        assert info.sha256 == good and info.source.endswith("/translate-ru_en.argosmodel")
        assert seen and seen[-1] == 1.0
        assert ap.installed_ru_en(deep=True) == info

        files["/index.json"] = _index(server.url, "0" * 64)  # the index promises other bytes
        with pytest.raises(ap.ArgosDownloadError, match="does not match the checksum"):
            ap.install_from_index(index_url=f"{server.url}/index.json")
        assert ap.installed_ru_en() == info
        assert _leftovers(no_argos_models) == []

        files["/index.json"] = b"[]"
        with pytest.raises(ap.ArgosDownloadError, match="no Russian"):
            ap.install_from_index(index_url=f"{server.url}/index.json")
    finally:
        server.close()


def test_install_from_index_is_blocked_outside_allow_network(no_argos_models):
    with pytest.raises(ap.ArgosDownloadError, match="install-argos --from"):
        ap.install_from_index(index_url="https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json")
    attempts = offline.blocked_attempts()
    assert attempts and "githubusercontent" in attempts[0].target
    offline.clear_attempts()  # the attempt was the point of this test
    assert ap.installed_ru_en() is None
