"""`workstation approve [--mark-reviewed] | export | redact | verify-export | decrypt-export`.

Thin shell over the approval, exports, redactions and verification services. Suggestions list names only to the
editor's terminal; nothing is logged.
"""

from __future__ import annotations

from pathlib import Path

import typer

from workstation.cli.common import CliError, PassFileOpt, UserOpt, VaultOpt, ask_passphrase, read_secret_file, unlocked
from workstation.evidence.redact import KINDS
from workstation.evidence.render import parse_formats
from workstation.services import approval, exports, redactions, verification
from workstation.services.redactions import Decisions
from workstation.vault.session import VaultSession

RecipientFileOpt = typer.Option(
    None, "--passphrase-file", help="Read the export passphrase from this file (first line) instead of asking.",
)


def _export_passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is not None:
        return read_secret_file(path)
    return ask_passphrase(None, env="WORKSTATION_EXPORT_PASSPHRASE", prompt="Export passphrase (for the recipient)",
                       confirm=confirm)


def _pair(item: str, sep: str, usage: str) -> tuple[str, str]:
    left, found, right = item.partition(sep)
    if not found:
        raise CliError(usage)
    return left.strip(), right


def register(app: typer.Typer) -> None:
    """Add the export and redaction commands to the top-level app."""
    @app.command("approve")
    def approve_cmd(
        case: str = typer.Argument(..., help="Case code."),
        mark_reviewed: bool = typer.Option(False, "--mark-reviewed",
                                           help="Mark reviewed first what may be marked (scripted runs; the audit log "
                                                "says so). Segments that need a person still block."),
        override: str | None = typer.Option(None, "--override", metavar="REASON",
                                            help="Approve despite open problems, for this written reason (kept "
                                                 "encrypted with the testimony; the audit log says override=true)."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Approve a testimony (editor): refused while segments need a person, unless overridden with a reason."""
        with unlocked(vault, user, passphrase_file) as s:
            before = approval.readiness(s.load(case)) if override is not None else None
            done, marked = approval.approve(s, case, mark_reviewed=mark_reviewed, override=override)
        if marked is not None:
            typer.echo(marked.describe())
        if before is not None and before.problems:
            typer.secho("Approved despite: " + "; ".join(before.blockers) + ".", fg=typer.colors.YELLOW)
            typer.echo("Your reason is kept, encrypted, with the testimony.")
        typer.echo(f"Approved {case} as {done.user} at {done.at} (content hash {done.content_hash[:16]}…).")

    @app.command("export")
    def export_cmd(
        case: str = typer.Argument(..., help="Case code."),
        out: Path = typer.Option(..., "--out", help="Folder to export into (new or empty, unless --zip/--encrypt)."),
        fmt: str = typer.Option("docx,pdf,srt,vtt,txt,json", "--format",
                                help="Comma-separated: docx,pdf,srt,vtt,txt,json,audio (or all)."),
        as_zip: bool = typer.Option(False, "--zip", help="One zip file instead of loose files."),
        encrypt: bool = typer.Option(False, "--encrypt", help="One passphrase-encrypted package (.twx) for the recipient."),
        export_passphrase_file: Path | None = typer.Option(
            None, "--export-passphrase-file", help="The recipient's passphrase from this file (else asked twice)."),
        redact: bool = typer.Option(False, "--redact", help="Apply the accepted redactions (see `workstation redact`)."),
        audio_mode: str = typer.Option("tone", "--audio-redaction", help="tone or silence over redacted audio."),
        draft: bool = typer.Option(False, "--draft", help="Export a testimony that is not approved, watermarked DRAFT."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Export a testimony with its manifest (editor)."""
        formats = parse_formats(fmt)  # a typo fails before any passphrase is asked
        with unlocked(vault, user, passphrase_file) as s:
            secret = _export_passphrase(export_passphrase_file, confirm=True) if encrypt else None
            result = exports.export_testimony(s, case, out, formats, as_zip=as_zip, passphrase=secret, redact=redact,
                                      draft=draft, audio_mode=audio_mode)
        for warning in result.warnings:
            typer.secho(f"Warning: {warning}", fg=typer.colors.YELLOW, err=True)
        kind = "encrypted package" if result.encrypted else "zip" if result.zipped else "folder"
        flags = ", ".join(f for f, on in (("DRAFT", result.draft), ("redacted", result.redacted)) if on)
        typer.echo(f"Exported {case} ({len(result.files)} files{', ' + flags if flags else ''}) to {kind} {result.path}")
        typer.echo(f"Manifest sha256 {result.manifest_sha256} (recorded in the audit log).")

    @app.command("redact")
    def redact_cmd(
        case: str = typer.Argument(..., help="Case code."),
        accept: list[str] = typer.Option([], "--accept", help="Accept suggestion ID (repeatable; 'all' for every pending one)."),
        reject: list[str] = typer.Option([], "--reject", help="Reject suggestion ID (repeatable)."),
        pseudonym: list[str] = typer.Option([], "--pseudonym", help="ID=NAME: the pseudonym to use (accepts it)."),
        variant: list[str] = typer.Option([], "--variant", help="ID=SPELLING: another spelling to catch (e.g. an exonym)."),
        add: list[str] = typer.Option([], "--add", help="KIND:TEXT a name the suggestions missed (KIND: PER, LOC, ORG, SENSITIVE)."),
        whole: list[str] = typer.Option([], "--whole-segment", help="SEGMENT_ID: redact that whole segment (text, audio)."),
        keep_segment: list[str] = typer.Option([], "--keep-segment", help="SEGMENT_ID: stop redacting it whole."),
        mentions: str = typer.Option("", "--mentions", help="ID: list every mention of that suggestion, with its sentence."),
        doubts: bool = typer.Option(False, "--doubts", help="List segments whose English may still name someone."),
        confirm_english: list[str] = typer.Option([], "--confirm-english",
                                                  help="SEGMENT_ID: you checked its English and it names nobody."),
        preview: bool = typer.Option(False, "--preview", help="Print the redacted Russian and English of changed segments."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """List redaction suggestions for a testimony; accept, reject, rename pseudonyms (editor)."""
        if mentions or doubts or confirm_english or preview:
            with unlocked(vault, user, passphrase_file) as s:
                _inspect(s, case, mentions, doubts, confirm_english, preview)
            return
        decisions = Decisions(
            accept=list(accept), reject=list(reject),
            pseudonyms=dict(_pair(i, "=", '--pseudonym needs ID=NAME, e.g. --pseudonym p1a2b3c="Witness B"') for i in pseudonym),
            add=[_pair(i, ":", "--add needs KIND:TEXT, e.g. --add PER:Ахмед") for i in add],
            whole={**{i: True for i in whole}, **{i: False for i in keep_segment}},
        )
        for item in variant:
            eid, spelling = _pair(item, "=", "--variant needs ID=SPELLING, e.g. --variant l1a2b3c=Moscow")
            decisions.variants.setdefault(eid, []).append(spelling)
        with unlocked(vault, user, passphrase_file) as s:
            table = redactions.decide(s, case, decisions)
        rows = sorted(table.entries.values(), key=lambda e: (KINDS.index(e.kind), e.decision, e.lemma))
        if not rows:
            typer.echo("No names or sensitive terms found. Add any the suggestions missed with --add KIND:TEXT.")
            return
        typer.echo(f"{'ID':8} {'KIND':9} {'DECISION':9} {'COUNT':>5}  NAME → PSEUDONYM")
        for e in rows:
            forms = ", ".join(f for f in e.forms if f != e.lemma)
            extra = f" (forms: {forms})" if forms else ""
            variants = f" [also: {', '.join(e.variants)}]" if e.variants else ""
            typer.echo(f"{e.id:8} {e.kind:9} {e.decision:9} {e.count:>5}  {e.lemma}{extra}{variants}"
                       + (f" → {e.pseudonym}" if e.pseudonym and e.decision == "accepted" else ""))
        if table.whole:
            typer.echo(f"Redacted whole (text and audio): {', '.join(table.whole)}")
        pending = sum(e.decision == "pending" for e in rows)
        if pending:
            typer.echo(f"{pending} pending: decide each (--accept ID / --reject ID) before exporting with --redact.")

    @app.command("verify-export")
    def verify_export_cmd(path: Path = typer.Argument(..., help="An export folder or zip.")) -> None:
        """Check an export against its manifest; names every modified, missing or extra file."""
        problems = verification.verify_export(path)
        if problems:
            for p in problems:
                typer.secho(p, fg=typer.colors.RED)
            typer.echo(f"{len(problems)} problem(s): this export is NOT as it was exported.")
            raise typer.Exit(1)
        typer.echo(f"OK: every file of {path} matches its manifest.")
        typer.echo(verification.export_signer(path))

    @app.command("decrypt-export")
    def decrypt_export_cmd(
        file: Path = typer.Argument(..., help="The encrypted export package (.twx)."),
        out: Path = typer.Option(..., "--out", help="New or empty folder for the decrypted files."),
        passphrase_file: Path | None = RecipientFileOpt,
    ) -> None:
        """Decrypt an encrypted export into a folder and verify it against its manifest."""
        problems = verification.decrypt_export(file, _export_passphrase(passphrase_file, confirm=False), out)
        if problems:
            for p in problems:
                typer.secho(p, fg=typer.colors.RED)
            raise typer.Exit(1)
        typer.echo(f"Decrypted into {out}; every file matches its manifest.")


def _inspect(s: VaultSession, case: str, entry_id: str, doubts: bool, confirm: list[str], preview: bool) -> None:
    """The read-only views of `workstation redact` (and confirming English after checking it)."""
    if entry_id:
        for m in redactions.mentions(s, case, entry_id):
            typer.echo(f"{m.label}\t{m.segment_id}\t{m.sentence}")
    if confirm:
        n = redactions.confirm_english(s, case, confirm)
        typer.echo(f"Confirmed the English of {n} doubt(s) as clean.")
    if doubts or confirm:
        found = redactions.doubts(s, case)
        for d in found:
            typer.echo(f"{d.label}\t{d.segment_id}\t{d.pseudonym}: {d.reason}\n    EN: {d.english}")
        typer.echo(f"{len(found)} segment doubt(s) open." if found else "No doubt about the English is open.")
    if preview:
        for row in redactions.preview(s, case):
            if row.changed:
                typer.echo(f"{row.label}\n  RU: {row.ru}\n  EN: {row.en}")
