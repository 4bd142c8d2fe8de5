"""Export: the one way a testimony leaves the vault — checked, rendered in memory, manifested, audited, then written.

`build_export` checks the export permission and the draft rules, applies the pseudonym table when asked, renders
every requested file in memory (`evidence.render`), builds the manifest and records a content-free audit entry.
Where the bytes go is the caller's choice, with one naming rule for all of them (`export_name`): `export_testimony`
writes loose files, one zip or one passphrase-encrypted `.twx` package into a folder; `download` gives the app the
bytes for the browser. Nothing plaintext is written anywhere else.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.domain.testimony import Status, Testimony, content_hash, legacy_content_hash, now_iso
from workstation.evidence.manifest import MANIFEST_NAME, build_manifest, manifest_bytes, sign_manifest
from workstation.evidence.package import check_export_passphrase, encrypt_package
from workstation.evidence.redact import redact_audio
from workstation.evidence.render import ExportError, ExportInfo, parse_formats, render_files, safe_name
from workstation.platform.digest import sha256_hex
from workstation.services import redactions, timeline
from workstation.speech import media
from workstation.vault.permissions import Action
from workstation.vault.session import VaultSession


def export_name(case_code: str, *, encrypted: bool) -> str:
    """The file name of a packaged export (zip or encrypted), the same from both shells."""
    return f"{safe_name(case_code)}_export.{'twx' if encrypted else 'zip'}"


@dataclass
class ExportPackage:
    """Everything an export consists of, in memory: file name → bytes (manifest.json included)."""

    case_code: str
    files: dict[str, bytes]
    manifest: dict[str, Any]
    manifest_sha256: str
    draft: bool
    redacted: bool
    warnings: list[str] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        """One zip, built in memory (never a temporary file)."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.files.items():
                zf.writestr(name, data)
        return buf.getvalue()


@dataclass
class ExportResult:
    path: Path  # the folder, the zip or the encrypted package written
    files: list[str]  # names inside (manifest.json included)
    manifest: dict[str, Any]
    manifest_sha256: str
    draft: bool
    redacted: bool
    zipped: bool
    encrypted: bool
    warnings: list[str] = field(default_factory=list)


def _check_exportable(t: Testimony, draft: bool) -> bool:
    """Whether this export is a draft; raises ExportError when the testimony may not leave as asked."""
    if t.status is Status.APPROVED:
        if t.approval is not None and content_hash(t) != t.approval.content_hash \
                and legacy_content_hash(t) == t.approval.content_hash:
            raise ExportError(
                f"Testimony {t.case_code} was approved under an older rule that did not cover speaker names, word "
                "timings and English routes. It was not exported. An editor un-approves it, checks it, and approves "
                "it again."
            )
        if t.approval is None or content_hash(t) != t.approval.content_hash:
            raise ExportError(
                f"Testimony {t.case_code} is marked approved but its content no longer matches what was approved. "
                "It was not exported. Run `workstation verify` and have an editor review and approve it again."
            )
        return False  # approved: a normal export even if a draft was asked for
    if not draft:
        raise ExportError(
            f"Testimony {t.case_code} is not approved (status: {t.status}). Approve it first, or export a draft "
            "(--draft): every file is then watermarked DRAFT and the manifest says so."
        )
    if not t.segments:
        raise ExportError(f"Testimony {t.case_code} has no transcript yet; there is nothing to export.")
    return True


def _check_approval_signature(session: VaultSession, t: Testimony) -> dict[str, str] | None:
    """Vault format 2: the approval must be signed by an editor of the account list (else ExportError); what
    the manifest records of the signer (their public keys and fingerprint). None in a format-1 vault."""
    problem = session.approval_problem(t)
    if problem is not None:
        raise ExportError(f"Testimony {t.case_code} was not exported: {problem} Run `workstation verify`.")
    return session.approval_signer(t)


def _redacted_audio_wav(recording: bytes, spans: list[tuple[float, float]], mode: str) -> bytes:
    """Decode the recording minute by minute, tone out the spans, write a 16-bit mono WAV in memory."""
    out = media.PcmWriter(media.SAMPLE_RATE)
    offset = 0.0
    for chunk in media.iter_decode(recording, 60.0):
        local = [(a - offset, b - offset) for a, b in spans if b + 1.0 > offset and a - 1.0 < offset + len(chunk) / media.SAMPLE_RATE]
        out.write(redact_audio(chunk, local, sample_rate=media.SAMPLE_RATE, mode=mode))
        offset += len(chunk) / media.SAMPLE_RATE
    return out.finish()


def _audio_extension(filename: str, container: str) -> str:
    ext = Path(filename).suffix.lower().lstrip(".") or container.split(",")[0].lower()
    return "." + (ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else "bin")


def _audio_files(session: VaultSession, case: str, spans: list[tuple[float, float]] | None,
                 audio_mode: str) -> dict[str, tuple[bytes, str]]:
    """The audio of the export: each sealed original as it is (part by part, in order; the one file of a one-file
    testimony keeps its name), or, redacted, the whole timeline with the spans toned out as one WAV."""
    if spans is not None:
        whole = timeline.timeline(session, case)
        return {f"{safe_name(case)}_redacted.wav": (_redacted_audio_wav(whole.audio, spans, audio_mode), "audio-redacted")}
    out: dict[str, tuple[bytes, str]] = {}
    for part in timeline.parts(session, case):
        label = "_original" if part.number == 1 else f"_part{part.number}_original"
        # the evidence copy itself: its sha256 equals the manifest's recording (or part) sha256
        name = f"{safe_name(case)}{label}{_audio_extension(part.info.filename, part.info.container)}"
        out[name] = (session.read_recording(case, part.number), "audio-original")
    return out


def _parts_section(session: VaultSession, case: str) -> dict[str, Any]:
    """A testimony of several files: the manifest's recording lists every part, in order, with its sha256 and where
    it starts on the transcript's timeline (a one-file testimony's manifest is unchanged: no "parts")."""
    found = timeline.parts(session, case)
    if len(found) < 2:
        return {}
    return {"parts": [{"part": p.number, "sha256": p.info.sha256, "size": p.info.size,
                       "duration_s": p.info.duration_s, "container": p.info.container, "start_s": p.start_s}
                      for p in found]}


def build_export(
    session: VaultSession,
    case_code: str,
    formats: Sequence[str] | str | None = None,
    *,
    redact: bool = False,
    draft: bool = False,
    audio_mode: str = "tone",
    destination: str = "memory",
) -> ExportPackage:
    """Check permissions, render every requested file in memory, build the manifest and audit the export.

    The caller decides where the bytes go (`export_testimony` writes them; the UI hands them to the browser).
    `destination` is a short word for the audit entry (folder, zip, encrypted, download).
    """
    session.require(Action.EXPORT)
    fmts = parse_formats(formats)
    t = session.load(case_code)
    is_draft = _check_exportable(t, draft)
    signed = None if is_draft else _check_approval_signature(session, t)
    warnings: list[str] = []
    if draft and not is_draft:
        warnings.append("The testimony is approved: exported as approved, not as a draft.")
    rec = session.recording_info(case_code)
    exported_at = now_iso()
    spans: list[tuple[float, float]] = []
    final = t
    table_digest: str | None = None
    if redact:
        table, red = redactions.redacted_for_export(session, case_code, t)
        table_digest = table.digest()
        final, spans = red.testimony, red.audio_spans
        if not table.accepted():
            warnings.append("No redaction was accepted: the text is unchanged (every suggestion was rejected).")
        if red.whole_segments and "audio" in fmts:
            warnings.append(f"{red.whole_segments} segment(s) had a redacted name the word timings could not place: "
                            "their whole audio was replaced.")
    info = ExportInfo(exported_at, session.user, rec.sha256 if rec else "", redacted=redact)
    rendered = render_files(final, fmts, draft=is_draft, info=info)
    files = {name: data for name, (_v, data) in rendered.items()}
    kinds = {name: v for name, (v, _d) in rendered.items()}
    if "audio" in fmts:
        if rec is None:
            raise ExportError(f"Testimony {case_code} has no recording, so there is no audio to export.")
        files_audio = _audio_files(session, t.case_code, spans if redact else None, audio_mode)
        files.update({name: data for name, (data, _kind) in files_audio.items()})
        kinds.update({name: kind for name, (_data, kind) in files_audio.items()})
        del files_audio
    recording_section = (
        {"sha256": rec.sha256, "size": rec.size, "duration_s": rec.duration_s, "container": rec.container} if rec else None
    )
    if recording_section is not None:
        recording_section.update(_parts_section(session, case_code))
    manifest = build_manifest(
        t, files, recording=recording_section, audit_head=session.audit_head(), exported_by=session.user,
        exported_at=exported_at, draft=is_draft, redacted=redact, formats=fmts, file_kinds=kinds,
        redaction_table_sha256=table_digest, approval_signer=signed, audit_checkpoint=session.audit_checkpoint(),
    )
    exporter = session.export_signer()
    if exporter is not None:  # vault format 2: the exporting account signs the whole manifest
        sign_manifest(manifest, exporter, session.sign)
    raw = manifest_bytes(manifest)
    files[MANIFEST_NAME] = raw
    digest = sha256_hex(raw)
    session.record_audit(
        "exported", case_code, formats="|".join(fmts), draft=is_draft, redacted=redact, files=len(files),
        manifest_sha256=digest, destination=destination,
    )
    return ExportPackage(t.case_code, files, manifest, digest, is_draft, redact, warnings)


def _new_file(path: Path) -> None:
    if path.exists():
        raise ExportError(f"{path} already exists; choose another folder or move the old export away first.")


def export_testimony(
    session: VaultSession,
    case_code: str,
    out_dir: str | Path,
    formats: Sequence[str] | str | None = None,
    *,
    as_zip: bool = False,
    passphrase: str | None = None,
    redact: bool = False,
    draft: bool = False,
    audio_mode: str = "tone",
) -> ExportResult:
    """Export one testimony into `out_dir`: loose files (the folder must be new or empty), one zip, or —
    with a passphrase — one encrypted package (`.twx`, always a zip inside). Writes nothing anywhere else."""
    out = Path(out_dir).expanduser()
    if session.contains(out):
        raise ExportError(
            f"{out} is inside the vault folder. Exports are plaintext (or a package for someone else): write them "
            "outside the vault, where they cannot end up in its backups. Nothing was exported."
        )
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give a folder to export into.")
    if passphrase is not None:
        check_export_passphrase(passphrase)
    if passphrase is not None:
        target, destination = out / export_name(case_code, encrypted=True), "encrypted"
    elif as_zip:
        target, destination = out / export_name(case_code, encrypted=False), "zip"
    else:
        target, destination = out, "folder"
        if out.exists() and any(out.iterdir()):
            raise ExportError(f"The folder {out} is not empty; export into a new or empty folder (or use --zip).")
    if target is not out:
        _new_file(target)
    package = build_export(session, case_code, formats, redact=redact, draft=draft, audio_mode=audio_mode,
                           destination=destination)
    out.mkdir(parents=True, exist_ok=True)
    if target is out:
        for name, data in package.files.items():  # manifest.json is last
            (out / name).write_bytes(data)
    elif passphrase is not None:
        partial = target.with_name(target.name + ".part")  # ciphertext only; renamed when complete
        try:
            with open(partial, "wb") as fh:
                encrypt_package(package.zip_bytes(), passphrase, fh)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    else:
        target.write_bytes(package.zip_bytes())
    return ExportResult(target, list(package.files), package.manifest, package.manifest_sha256, package.draft,
                        package.redacted, zipped=destination != "folder", encrypted=passphrase is not None,
                        warnings=package.warnings)


@dataclass(frozen=True)
class Download:
    """A packaged export for the browser: file name, bytes, mime type."""

    name: str
    data: bytes
    mime: str


def download(session: VaultSession, case_code: str, formats: Sequence[str] | str | None, *, draft: bool = False,
             redact: bool = False, passphrase: str = "") -> tuple[Download, list[str]]:
    """Build the export in memory and package it for the browser: a zip, or the encrypted package with a
    passphrase (checked before anything is rendered or audited). Returns it with the export's warnings."""
    if passphrase:
        check_export_passphrase(passphrase)
    package = build_export(session, case_code, formats, draft=draft, redact=redact, destination="download")
    if not passphrase:
        return Download(export_name(case_code, encrypted=False), package.zip_bytes(), "application/zip"), package.warnings
    out = io.BytesIO()
    encrypt_package(package.zip_bytes(), passphrase, out)
    return Download(export_name(case_code, encrypted=True), out.getvalue(), "application/octet-stream"), package.warnings
