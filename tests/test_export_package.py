"""export_testimony against a real vault: permissions, drafts, folder/zip/encrypted outputs, manifest
contents and verification (modified, missing, extra files), audit entry, nothing written elsewhere."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.fixtures_export import EXPORT_CASE, store_sample
from workstation.evidence.manifest import MANIFEST_NAME, sha256_hex, verify_export
from workstation.evidence.package import ExportCryptoError, decrypt_export, is_encrypted_export
from workstation.evidence.render import ExportError
from workstation.services.exports import build_export, export_testimony
from workstation.vault.permissions import PermissionDeniedError

RECIPIENT = "river stone 42 maple"


@pytest.mark.slow
def test_folder_export_has_manifest_and_verifies(export_vault, clip_bytes, tmp_path):
    out = tmp_path / "out"
    result = export_testimony(export_vault, EXPORT_CASE, out, "docx,pdf,srt,vtt,txt,json,audio")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(result.files) and MANIFEST_NAME in names and len(names) == 12
    m = json.loads((out / MANIFEST_NAME).read_bytes())
    assert m["case_code"] == EXPORT_CASE and m["draft"] is False and m["redacted"] is False
    assert m["recording"]["sha256"] == sha256_hex(clip_bytes)
    audio = next(f for f in m["files"] if f["kind"] == "audio-original")
    assert audio["sha256"] == sha256_hex(clip_bytes)  # the evidence copy itself
    assert {f["name"]: f["sha256"] for f in m["files"]} == {
        n: sha256_hex((out / n).read_bytes()) for n in names if n != MANIFEST_NAME}
    assert m["approval"]["user"] == "edna" and m["approval"]["content_hash"] == m["content_hash"]
    assert m["review"]["reviewed_segments"] == 6 and m["review"]["reviewers"][0]["user"] == "edna"
    assert m["models"]["transcription"] == {"name": "whisper-base", "version": "faster-whisper 1.1", "checksum": "d01c30"}
    assert m["models"]["translation"]["name"] == "argos ru-en"
    assert m["english_routes"] == {"none": 0, "argos": 5, "whisper-translate": 0, "human": 1}
    assert len(m["audit_head"]) >= 32
    entry = [e for e in export_vault.audit_entries() if e.action == "exported"][-1]
    assert sha256_hex((out / MANIFEST_NAME).read_bytes()) in json.dumps(vars(entry) if not isinstance(entry, dict) else entry, default=str)
    assert verify_export(out) == []


def test_verify_names_modified_missing_and_extra_files(export_vault, tmp_path):
    out = tmp_path / "out"
    export_testimony(export_vault, EXPORT_CASE, out, "txt,json,srt")
    assert verify_export(out) == []
    txt = out / f"{EXPORT_CASE}.txt"
    txt.write_bytes(txt.read_bytes().replace(b"Argun", b"Argon"))
    (out / f"{EXPORT_CASE}_en.srt").unlink()
    (out / "notes.txt").write_text("added later")
    problems = verify_export(out)
    assert len(problems) == 3
    assert problems[0].startswith(f"modified: {EXPORT_CASE}.txt")
    assert f"missing: {EXPORT_CASE}_en.srt" in problems
    assert "extra file: notes.txt (not in the manifest)" in problems


def test_cli_verify_export_exit_status(export_vault, tmp_path):
    from typer.testing import CliRunner

    from workstation.cli.main import app

    out = tmp_path / "out"
    export_testimony(export_vault, EXPORT_CASE, out, "json")
    runner = CliRunner()
    ok = runner.invoke(app, ["verify-export", str(out)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[0] == f"OK: every file of {out} matches its manifest."
    assert ok.output.splitlines()[1].startswith(f"Signed by {export_vault.user} ({export_vault.role}), key fingerprint ")
    (out / f"{EXPORT_CASE}.json").write_bytes(b"{}")
    bad = runner.invoke(app, ["verify-export", str(out)])
    assert bad.exit_code == 1 and f"modified: {EXPORT_CASE}.json" in bad.output


def test_zip_export_verifies_and_detects_tampering(export_vault, tmp_path):
    result = export_testimony(export_vault, EXPORT_CASE, tmp_path / "z", "txt,json", as_zip=True)
    assert result.path == tmp_path / "z" / f"{EXPORT_CASE}_export.zip"
    assert [p.name for p in (tmp_path / "z").iterdir()] == [result.path.name]
    assert verify_export(result.path) == []
    with zipfile.ZipFile(result.path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[f"{EXPORT_CASE}.txt"] += b"\nappended"
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    assert verify_export(tampered)[0].startswith(f"modified: {EXPORT_CASE}.txt")


@pytest.mark.slow
def test_encrypted_export_round_trip_and_wrong_passphrase(export_vault, tmp_path):
    result = export_testimony(export_vault, EXPORT_CASE, tmp_path / "send", "txt,json,pdf", passphrase=RECIPIENT)
    assert result.encrypted and result.path.suffix == ".twx" and is_encrypted_export(result.path)
    raw = result.path.read_bytes()
    assert b"Argun" not in raw and "Аргун".encode() not in raw and b"PK\x03\x04" not in raw  # nothing readable
    assert list((tmp_path / "send").iterdir()) == [result.path]  # no plaintext next to it
    assert "decrypt it first" in verify_export(result.path)[0]
    with pytest.raises(ExportCryptoError, match="passphrase is wrong"):
        decrypt_export(result.path, "wrong wrong wrong 1", tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert decrypt_export(result.path, RECIPIENT, tmp_path / "open") == []
    assert json.loads((tmp_path / "open" / f"{EXPORT_CASE}.json").read_bytes())["case_code"] == EXPORT_CASE
    flipped = bytearray(raw)
    flipped[-40] ^= 1
    damaged = tmp_path / "damaged.twx"
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(ExportCryptoError):
        decrypt_export(damaged, RECIPIENT, tmp_path / "open2")


def test_weak_recipient_passphrase_refused_before_anything_is_written(export_vault, tmp_path):
    from workstation.vault.accounts import WeakPassphraseError

    with pytest.raises(WeakPassphraseError):
        export_testimony(export_vault, EXPORT_CASE, tmp_path / "x", "txt", passphrase="short")
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_only_editors_export(vault_sessions, clip_bytes, tmp_path):
    store_sample(vault_sessions["edna"], approved=True, recording=clip_bytes)
    for name in ("tanya",):
        with pytest.raises(PermissionDeniedError):
            export_testimony(vault_sessions[name], EXPORT_CASE, tmp_path / name, "txt")
        assert not (tmp_path / name).exists()


def test_unapproved_needs_explicit_draft(vault_editor, clip_bytes, tmp_path):
    store_sample(vault_editor, approved=False, recording=clip_bytes)
    with pytest.raises(ExportError, match="not approved.*--draft"):
        export_testimony(vault_editor, EXPORT_CASE, tmp_path / "a", "txt")
    assert not (tmp_path / "a").exists()
    result = export_testimony(vault_editor, EXPORT_CASE, tmp_path / "b", "txt,json", draft=True)
    assert result.draft and result.manifest["draft"] is True and result.manifest["approval"] is None
    assert (tmp_path / "b" / f"{EXPORT_CASE}.txt").read_text().startswith("*** DRAFT")


def test_folder_must_be_empty(export_vault, tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        export_testimony(export_vault, EXPORT_CASE, tmp_path / "o", "txt")
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["keep.txt"]


def test_build_export_in_memory_for_the_ui(export_vault):
    package = build_export(export_vault, EXPORT_CASE, ["json"], destination="download")
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes())) as zf:
        assert sorted(zf.namelist()) == sorted([MANIFEST_NAME, f"{EXPORT_CASE}.json"])
