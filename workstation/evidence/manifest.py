"""The evidence manifest of an export, and `verify_export`, which checks an export against it.

Every export carries `manifest.json`: what was exported (sha256 of each file), from what (the case code and the
sha256 of the original recording as sealed in the vault), how (models and which route produced the English),
who vouched for it (reviewers, approver, when) and where the vault's audit chain stood at export time. The
sha256 of the manifest itself goes into the vault's audit entry for the export, so the workstation can later
confirm that a manifest is the one it wrote. The pseudonym table never appears here.

`verify_export(path)` takes an export folder or zip and returns one human-readable line per problem
(modified, missing or extra file; unreadable manifest); an empty list means the export is intact. It also
recognises an encrypted package (`.twx`, by its leading bytes `PACKAGE_MAGIC`, which `package.py` writes) to
say "decrypt it first": the magic lives here so that `package` imports `manifest`, never the other way round.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from workstation.domain.testimony import Testimony, content_hash, route_counts
from workstation.platform.digest import sha256_hex
from workstation.platform.errors import WorkstationError
from workstation.vault import signing
from workstation.vault.layout import unb64

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "testimony-workstation-export-manifest"
MANIFEST_VERSION = 1
PACKAGE_MAGIC = b"TWEXPORT"  # the first bytes of an encrypted export package (package.py has the layout)

_TASKS = {
    "transcription": ("asr", "whisper", "transcription", "transcribe"),
    "translation": ("mt", "argos", "translation", "translate"),
}


class ManifestError(WorkstationError):
    """The manifest cannot be read (missing, not JSON, not ours)."""


def models_section(models: Mapping[str, str]) -> dict[str, Any]:
    """Group the testimony's flat model record ("asr.name", "asr_checksum", "mt"...) by task.

    Each task gets name, version and checksum where the pipeline recorded them; the flat record is kept too.
    """
    out: dict[str, dict[str, str]] = {"transcription": {}, "translation": {}}
    for key, value in models.items():
        head, _, attr = key.replace(".", "_").partition("_")
        for task, prefixes in _TASKS.items():
            if head.lower() in prefixes:
                attr = {"": "name", "sha256": "checksum"}.get(attr, attr)
                out[task].setdefault(attr, value)
    if models.get("en_route") == "whisper-translate":  # the English came from the transcription model itself
        out["translation"].setdefault("checksum", out["transcription"].get("checksum", ""))
    return {**out, "recorded": dict(models)}


def review_section(t: Testimony) -> dict[str, Any]:
    reviewers: dict[str, str] = {}
    for rev in t.revisions:
        if rev.field == "reviewed" and rev.new == "True":
            reviewers[rev.user] = max(rev.at, reviewers.get(rev.user, ""))
    return {
        "segments": len(t.segments),
        "reviewed_segments": sum(s.reviewed for s in t.segments),
        "reviewers": [{"user": u, "last_reviewed_at": at} for u, at in sorted(reviewers.items())],
    }


def build_manifest(
    t: Testimony,
    files: Mapping[str, bytes],
    *,
    recording: Mapping[str, Any] | None,
    audit_head: str,
    exported_by: str,
    exported_at: str,
    draft: bool,
    redacted: bool,
    formats: list[str],
    file_kinds: Mapping[str, str] | None = None,
    redaction_table_sha256: str | None = None,
    approval_signer: Mapping[str, str] | None = None,
    audit_checkpoint: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of one export. `files` maps each exported file's name to its bytes; a redacted export
    names the pseudonym table applied by its hash (the table itself never leaves the vault)."""
    kinds = file_kinds or {}
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "case_code": t.case_code,
        "exported_at": exported_at,
        "exported_by": exported_by,
        "status": str(t.status),
        "draft": draft,
        "redacted": redacted,
        "redaction_table_sha256": redaction_table_sha256 if redacted else None,
        "formats": list(formats),
        "recording": dict(recording) if recording else None,
        # what an approval vouches for; equal to approval.content_hash when nothing changed since approval
        "content_hash": content_hash(t),
        "approval": _approval_section(t, approval_signer),
        "review": review_section(t),
        "models": models_section(t.models),
        "english_routes": route_counts(t),
        "audit_head": audit_head,
        # the editors' last signed checkpoint of the log (vault format 2): a later rollback shows against it
        "audit_checkpoint": dict(audit_checkpoint) if audit_checkpoint else None,
        "files": [
            {"name": name, "sha256": sha256_hex(data), "size": len(data), "kind": kinds.get(name, "")}
            for name, data in sorted(files.items())
        ],
    }


def _approval_section(t: Testimony, signer: Mapping[str, str] | None) -> dict[str, Any] | None:
    """Who approved, when, over which content hash; in vault format 2 also the Ed25519 signature and the
    signing editor's keys and fingerprint (``signer``), so that ``verify_export`` checks it offline."""
    approval = t.approval
    if approval is None:
        return None
    section: dict[str, Any] = {"user": approval.user, "at": approval.at, "content_hash": approval.content_hash}
    if signer is not None and approval.signature:
        section.update(signature=approval.signature, **dict(signer))
    return section


def _approval_problems(manifest: Mapping[str, Any]) -> list[str]:
    """A signed approval in the manifest must verify under the key it names, and that key's fingerprint must
    be the one printed (compare it with the editor's, obtained in person)."""
    approval = manifest.get("approval")
    if not isinstance(approval, dict) or "signature" not in approval:
        return []
    try:
        ed25519, x25519 = unb64(str(approval["ed25519"])), unb64(str(approval["x25519"]))
        payload = signing.approval_payload(str(manifest.get("case_code")), str(approval["user"]), str(approval["at"]),
                                           str(approval["content_hash"]))
        fingerprint = signing.fingerprint(str(approval["user"]), str(approval["role"]), x25519, ed25519)
    except (KeyError, ValueError, TypeError):
        return ["the approval's signature record is incomplete or damaged"]
    problems = []
    if not signing.signature_ok(ed25519, payload, str(approval["signature"])):
        return [f"the approval signature by {approval['user']!r} does not verify (the approval or manifest was altered)"]
    if approval.get("fingerprint") != fingerprint:
        problems.append("the approving editor's key fingerprint in the manifest does not match their keys")
    return problems


# --- the exporter's signature over the whole manifest (vault format 2) ------------------------------------------
# The approval signature vouches for the content hash only; without a signature over the manifest, a file could
# be changed and its new sha256 written into the manifest. The exporting account signs everything else in the
# manifest — file list with hashes included — and names itself with its keys and fingerprint.

def _signed_payload(manifest: Mapping[str, Any]) -> bytes:
    rest = {k: v for k, v in manifest.items() if k != "signature"}
    return b"tw-export|" + json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_manifest(manifest: dict[str, Any], exporter: Mapping[str, str], sign: Callable[[bytes], str]) -> None:
    """Add ``exporter`` (user, role, x25519, ed25519, fingerprint) and its ``signature`` of the manifest."""
    manifest["exporter"] = dict(exporter)
    manifest["signature"] = sign(_signed_payload(manifest))


def _signature_problems(manifest: Mapping[str, Any]) -> list[str]:
    exporter, signature = manifest.get("exporter"), manifest.get("signature")
    approval = manifest.get("approval")
    if signature is None:
        if isinstance(approval, dict) and "signature" in approval:
            return ["the manifest is not signed although its approval is: its signature was removed (files may "
                    "have been changed and listed again)"]
        return []
    try:
        assert isinstance(exporter, dict)
        ed25519, x25519 = unb64(str(exporter["ed25519"])), unb64(str(exporter["x25519"]))
        fingerprint = signing.fingerprint(str(exporter["user"]), str(exporter["role"]), x25519, ed25519)
    except (AssertionError, KeyError, ValueError, TypeError):
        return ["the manifest's signature record is incomplete or damaged"]
    if not signing.signature_ok(ed25519, _signed_payload(manifest), str(signature)):
        return [f"the manifest's signature by {exporter['user']!r} does not verify: the manifest was altered after "
                "export (a file or its listed sha256 changed?)"]
    if exporter.get("fingerprint") != fingerprint:
        return ["the exporter's key fingerprint in the manifest does not match their keys"]
    return []


def signer_line(manifest: Mapping[str, Any]) -> str:
    """Who signed the manifest, for a person to check (the fingerprint against one obtained in person)."""
    exporter = manifest.get("exporter")
    if manifest.get("signature") is None or not isinstance(exporter, dict):
        return ("NOT signed: the files match the manifest, but nothing shows who made it (an export from a format-1 "
                "vault, or a draft export from before signing).")
    return (f"Signed by {exporter.get('user')} ({exporter.get('role')}), key fingerprint {exporter.get('fingerprint')}: "
            "compare it with the fingerprint that person gave you in person.")


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


# --- verification -------------------------------------------------------------------------------


def _read_folder(root: Path) -> dict[str, bytes | None]:
    """Every file under the folder by relative POSIX path; content read lazily (None until needed)."""
    return {p.relative_to(root).as_posix(): None for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()}


def is_encrypted_export(path: str | Path) -> bool:
    """Whether the file starts like an encrypted export package (not whether it opens)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(PACKAGE_MAGIC)) == PACKAGE_MAGIC
    except OSError:
        return False


def load_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{MANIFEST_NAME} is not valid JSON ({exc}); the export may be damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{MANIFEST_NAME} is not a Testimony Workstation export manifest.")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"{MANIFEST_NAME} has version {manifest.get('version')!r}; this workstation reads version 1.")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and {"name", "sha256"} <= f.keys() for f in files):
        raise ManifestError(f"{MANIFEST_NAME} has no valid list of files.")
    return manifest


def verify_export(path: str | Path) -> list[str]:
    """Check an export folder or zip against its manifest: one line per problem, [] when intact."""
    path = Path(path)
    if not path.exists():
        return [f"{path} does not exist."]
    if path.is_file() and is_encrypted_export(path):
        return [f"{path.name} is an encrypted export: decrypt it first with `workstation decrypt-export {path} --out DIR`."]
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
                return _verify(names, zf.read)
        except zipfile.BadZipFile:
            return [f"{path.name} is neither an export folder nor a readable zip file."]
    root = path
    return _verify(list(_read_folder(root)), lambda name: (root / name).read_bytes())


def export_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of an export folder or (unencrypted) zip, or None if it cannot be read."""
    path = Path(path)
    try:
        if path.is_file():
            with zipfile.ZipFile(path) as zf:
                return load_manifest(zf.read(MANIFEST_NAME))
        return load_manifest((path / MANIFEST_NAME).read_bytes())
    except (OSError, KeyError, zipfile.BadZipFile, ManifestError):
        return None


def _verify(names: list[str], read: Callable[[str], bytes]) -> list[str]:
    if MANIFEST_NAME not in names:
        return [f"missing: {MANIFEST_NAME} (no manifest: the export cannot be verified)"]
    try:
        manifest = load_manifest(read(MANIFEST_NAME))
    except ManifestError as exc:
        return [str(exc)]
    problems: list[str] = []
    listed: set[str] = set()
    present = set(names)
    for entry in manifest["files"]:
        name = str(entry["name"])
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or name == MANIFEST_NAME:
            problems.append(f"manifest lists an invalid file name: {name!r}")
            continue
        listed.add(name)
        if name not in present:
            problems.append(f"missing: {name}")
            continue
        digest = sha256_hex(read(name))
        if digest != entry["sha256"]:
            problems.append(f"modified: {name} (sha256 is {digest}, the manifest says {entry['sha256']})")
    for name in sorted(present - listed - {MANIFEST_NAME}):
        problems.append(f"extra file: {name} (not in the manifest)")
    problems.extend(_approval_problems(manifest))
    problems.extend(_signature_problems(manifest))
    return problems


def manifest_from_zip_bytes(data: bytes) -> dict[str, Any]:
    """The manifest inside an in-memory export zip (used after decrypting a package)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return load_manifest(zf.read(MANIFEST_NAME))
