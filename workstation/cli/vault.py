"""`workstation init | users | ingest | process | list | show | shred | audit | verify | backup | restore`.

Thin shell over ``workstation.vault.session``. Passphrases come from ``--passphrase-file FILE``, the
``WORKSTATION_PASSPHRASE`` environment variable, or a hidden prompt (in that order); the user from ``--user``,
``WORKSTATION_USER`` or a prompt. The vault is ``--vault``, else ``WORKSTATION_VAULT``, else
``~/TestimonyVault``. Errors meant for people are printed by ``workstation.cli.main`` without a traceback;
transcript text is printed only by ``show``, to the terminal, never logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from workstation.cli.common import (
    CliError,
    PassFileOpt,
    UserOpt,
    VaultOpt,
    ask_passphrase,
    ask_user,
    err,
    fmt_time,
    progress_bar,
    unlocked,
    vault_path,
)
from workstation.domain.testimony import TestimonyMeta
from workstation.platform.config import load_settings
from workstation.services import approval, audit_view, intake, processing, timeline, verification
from workstation.vault import accounts, permissions
from workstation.vault import session as vs
from workstation.vault.permissions import Action
from workstation.vault.session import VerifyReport

# --- commands --------------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add the vault commands (and the `users` group) to the top-level app."""
    @app.command("init")
    def init(
        vault: Path | None = VaultOpt,
        user: str | None = typer.Option(None, "--user", "-u", help="Name of the first editor account."),
        passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Create a new vault with its first editor account (passphrase asked twice)."""
        path = vault_path(vault)
        if vs.vault_exists(path):
            raise CliError(f"There is already a vault at {path}.")
        name = accounts.check_user_name(ask_user(user))
        err("Choose a passphrase: 4 or more random words work best. If every passphrase is lost, nothing "
             "in the vault can be recovered.")
        while True:
            secret = ask_passphrase(passphrase_file, prompt="New passphrase", confirm=True)
            try:
                accounts.check_passphrase(secret, user=name)
                break
            except accounts.WeakPassphraseError as exc:
                if passphrase_file is not None or os.environ.get("WORKSTATION_PASSPHRASE"):
                    raise
                err(str(exc))
        session = vs.create_vault(path, name, secret)
        session.lock()
        typer.echo(f"Created the vault at {path} with editor account {name}.")

    users_app = typer.Typer(help="Manage accounts (editors only).", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("list")
    def users_list(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List accounts and their roles."""
        with unlocked(vault, user, passphrase_file) as session:
            for u in session.list_users():
                typer.echo(f"{u.name}\t{u.role}" + (f"\tkey fingerprint {u.fingerprint}" if u.fingerprint else ""))

    @users_app.command("add")
    def users_add(
        name: str = typer.Argument(..., help="The new account's user name (a pseudonym or initials are best)."),
        role: str = typer.Option(..., "--role", "-r", help="interviewer, translator or editor."),
        new_passphrase_file: Path | None = typer.Option(
            None, "--new-passphrase-file", help="The new account's passphrase (else WORKSTATION_NEW_PASSPHRASE or asked)."
        ),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Add an account."""
        role_value = permissions.parse_role(role)
        with unlocked(vault, user, passphrase_file) as session:
            session.require(permissions.Action.MANAGE_USERS)
            secret = ask_passphrase(new_passphrase_file, env="WORKSTATION_NEW_PASSPHRASE",
                                 prompt=f"Passphrase for {name}", confirm=True)
            info = session.add_user(name, role_value, secret)
        typer.echo(f"Added {info.name} ({info.role}). Give them the passphrase in person.")

    @users_app.command("remove")
    def users_remove(
        name: str = typer.Argument(..., help="The account to remove."),
        yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Remove an account; the vault key is rotated so that passphrase opens nothing any more."""
        with unlocked(vault, user, passphrase_file) as session:
            if not yes and not typer.confirm(f"Remove the account {name}?", err=True):
                raise typer.Exit(1)
            rekeyed = session.remove_user(name)
        typer.echo(f"Removed {name}; the vault key was rotated"
                   + (f" and {_count(rekeyed, 'testimony', 'testimonies')} {name} could read "
                      f"{'has a new key' if rekeyed == 1 else 'have new keys'}." if rekeyed else "."))

    @users_app.command("passwd")
    def users_passwd(
        new_passphrase_file: Path | None = typer.Option(
            None, "--new-passphrase-file", help="The new passphrase (else WORKSTATION_NEW_PASSPHRASE or asked twice)."
        ),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Change your own passphrase."""
        path = vault_path(vault)
        name, old = ask_user(user), ask_passphrase(passphrase_file, prompt="Current passphrase")
        session = vs.unlock(path, name, old)
        try:
            new = ask_passphrase(new_passphrase_file, env="WORKSTATION_NEW_PASSPHRASE", prompt="New passphrase", confirm=True)
            session.change_passphrase(old, new)
        finally:
            session.lock()
        typer.echo("Passphrase changed.")

    @app.command("ingest")
    def ingest(
        files: list[Path] = typer.Argument(..., help="The recording (audio or video); several files are the parts of "
                                                     "one interview, in the order given: one testimony."),
        case: str = typer.Option(..., "--case", "-c", help="Case code: a pseudonym, never a real name."),
        add_part: bool = typer.Option(False, "--add-part", help="Add the file(s) as the next part(s) of an existing "
                                      "testimony, after its last one (before it is processed)."),
        interview_date: str = typer.Option("", "--date", help="Interview date (YYYY-MM-DD)."),
        interviewer: str = typer.Option("", "--interviewer", help="Who conducted the interview."),
        language: str = typer.Option("ru", "--language", help="Spoken language."),
        consent: str = typer.Option("", "--consent", help="Consent scope, as agreed with the witness."),
        sensitivity: str = typer.Option("high", "--sensitivity", help="Sensitivity: high, medium or low."),
        notes: str = typer.Option("", "--notes", help="Free notes (stored encrypted)."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Seal a recording into the vault (creating the testimony if needed); several files: one testimony of
        several parts, in order."""
        uploads = [(file.name, _read_upload(file)) for file in files]  # every file readable before anything is done
        meta = TestimonyMeta(case_code=case, interview_date=interview_date, interviewer=interviewer, language=language,
                             consent_scope=consent, sensitivity=sensitivity, notes=notes)
        with unlocked(vault, user, passphrase_file) as session:
            if add_part:
                added = [intake.add_part(session, case, data, name) for name, data in uploads]
                del uploads
                for number, info in added:
                    typer.echo(f"Added part {number} of {case}: {fmt_time(info.duration_s)}, {info.size} bytes, "
                               f"sha256 {info.sha256}.")
                return
            if len(uploads) == 1:
                (name, data), = uploads
                del uploads
                info = intake.new_testimony(session, meta, data, name)  # checked before anything is created
                del data
                typer.echo(f"Sealed the recording of {case}: {fmt_time(info.duration_s)}, {info.size} bytes, "
                           f"sha256 {info.sha256}.")
                return
            parts = intake.new_testimony_from_parts(session, meta, uploads)  # all checked before anything is created
            del uploads
        typer.echo(f"Sealed {len(parts)} parts of {case} (one testimony, in this order; "
                   f"{fmt_time(sum(p.duration_s for p in parts))} in all):")
        for number, info in enumerate(parts, 1):
            typer.echo(f"  part {number}: {info.filename}, {fmt_time(info.duration_s)}, {info.size} bytes, "
                       f"sha256 {info.sha256}")

    @app.command("process")
    def process(
        cases: list[str] = typer.Argument(None, help="Case codes (or --all)."),
        every: bool = typer.Option(False, "--all", help="Every testimony whose sealed recording is not processed yet."),
        model: str = typer.Option("base", "--model", help="Whisper model name (a folder in models/ or 'base')."),
        device: str = typer.Option("", "--device", help="auto, cpu or cuda (default: WORKSTATION_DEVICE or auto)."),
        translate: bool = typer.Option(True, "--translate/--no-translate", help="Also make the English draft."),
        diarize: bool = typer.Option(True, "--diarize/--no-diarize", help="Tell the speakers apart (default on)."),
        speakers: int = typer.Option(None, "--speakers", min=1, help="How many people speak (default: found)."),
        cluster: str = typer.Option("", "--cluster", help="tls://HOST:PORT of the organisation's scheduler "
                                    "(default: WORKSTATION_CLUSTER; none: this computer)."),
        tls: Path | None = typer.Option(None, "--tls", help="This workstation's certificate folder (workstation cluster init)."),
        fallback: str = typer.Option("", "--fallback", help="While the scheduler is unreachable: wait, local or fail."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Transcribe, tell the speakers apart and translate sealed recordings; each result is stored as the draft."""
        settings = load_settings()
        runner = processing.runner_for(cluster or settings.cluster, tls or settings.cluster_tls,
                                       on_lost=fallback or settings.cluster_fallback)
        overrides = {"model": model, "device": device, "translate": translate, "diarize": diarize,
                     "num_speakers": speakers}
        with unlocked(vault, user, passphrase_file) as session:
            todo = list(dict.fromkeys([*(cases or []), *(processing.unprocessed(session) if every else [])]))
            if not todo:
                raise CliError("Name the testimonies to process, or use --all." if not every else
                               "Every sealed recording is processed already.")
            for case in todo:
                with progress_bar(f"Processing {case}") as progress:
                    outcome = processing.process(session, case, overrides, progress=progress, runner=runner)
                for warning in outcome.warnings:
                    err(f"Note ({case}): {warning}")
                typer.echo(f"Processed {case}: {len(outcome.testimony.segments)} segment(s), "
                           f"status {outcome.testimony.status}.")

    @app.command("list")
    def list_cmd(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List the testimonies you may see."""
        with unlocked(vault, user, passphrase_file) as session:
            rows = session.list_testimonies()
        if not rows:
            typer.echo("No testimonies yet.")
        for r in rows:
            duration = fmt_time(r.duration_s) if r.duration_s is not None else "-"
            typer.echo(f"{r.case_code}\t{r.status}\t{duration}\t{r.n_reviewed}/{r.n_segments} reviewed\t"
                       f"owner {r.owner}\tcreated {r.created}")

    @app.command("show")
    def show(case: str = typer.Argument(..., help="Case code."), vault: Path | None = VaultOpt,
             user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Print a testimony's segments to the terminal (nothing is written to disk)."""
        with unlocked(vault, user, passphrase_file) as session:
            t = session.load(case)
            parts = timeline.parts(session, case)
        typer.echo(f"{t.case_code} · {t.status} · {len(t.segments)} segment(s)")
        if len(parts) > 1:  # several files, one timeline: each part, then a marker where it begins
            for part in parts:
                typer.echo(f"  part {part.number}: {part.info.filename}, from {fmt_time(part.start_s)}, "
                           f"{fmt_time(part.info.duration_s)}, sha256 {part.info.sha256}")
        shown_part = 1
        for s in t.segments:
            if len(parts) > 1 and t.part_at(s.start) != shown_part:
                shown_part = t.part_at(s.start)
                typer.echo(f"\n--- part {shown_part} ---")
            speaker = t.speaker_names.get(s.speaker, s.speaker)
            flags = "".join([" ✓" if s.reviewed else "", " (English stale)" if s.en_stale else "",
                             " (UNTRANSCRIBED SPEECH: listen and type it)" if s.untranscribed else ""])
            typer.echo(f"\n[{fmt_time(s.start)}–{fmt_time(s.end)}] {speaker}{flags}  id {s.id} rev {s.revision}")
            typer.echo(f"  RU: {s.ru}")
            if s.en:
                typer.echo(f"  EN: {s.en}  [{s.en_route}]")

    @app.command("unapprove")
    def unapprove(case: str = typer.Argument(..., help="Case code."),
                  reason: str = typer.Option(..., "--reason", help="Why it is reopened (kept, encrypted, with the testimony)."),
                  vault: Path | None = VaultOpt, user: str | None = UserOpt,
                  passphrase_file: Path | None = PassFileOpt) -> None:
        """Reopen an approved testimony for corrections (editors)."""
        with unlocked(vault, user, passphrase_file) as session:
            approval.unapprove(session, case, reason)
        typer.echo(f"{case} is open for corrections again.")

    @app.command("shred")
    def shred(
        case: str = typer.Argument(..., help="Case code."),
        yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (scripts)."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Consent withdrawn: destroy a testimony's key and data. Irreversible."""
        with unlocked(vault, user, passphrase_file) as session:
            session.require(Action.SHRED)
            session.recording_info(case)  # fails early (unknown case) before asking
            if not yes:
                answer = typer.prompt(f"This destroys testimony {case} for good. Type the case code to confirm", err=True)
                if answer.strip() != case:
                    err("Not confirmed; nothing was changed.")
                    raise typer.Exit(1)
            session.shred(case)
        typer.echo(f"Shredded {case}: its key and data are destroyed. Backups made before now still contain "
                   "it: destroy or re-make them.")

    @app.command("audit")
    def audit(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List the audit log (who did what, when; never content)."""
        with unlocked(vault, user, passphrase_file) as session:
            found = audit_view.rows(session)
        for r in found:
            typer.echo("\t".join((r.when, r.user, r.action, r.case or "-", r.details)))

    @app.command("verify")
    def verify(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Check the audit chain, every record and blob, and every original's sha256."""
        with unlocked(vault, user, passphrase_file) as session:
            report = verification.verify_vault(session)
        _print_report(report)

    vault_app = typer.Typer(help="Vault maintenance.", no_args_is_help=True)
    app.add_typer(vault_app, name="vault")

    @vault_app.command("upgrade")
    def upgrade(backup_to: Path = typer.Option(..., "--backup", help="Backup archive written before anything changes."),
                vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Convert a format-1 vault to format 2 (signed accounts, history and approvals; testimony keys wrapped to
        their readers). An editor; every other account then unlocks once, then an editor unlocks again."""
        archive, report = verification.upgrade(vault_path(vault), ask_user(user), ask_passphrase(passphrase_file),
                                               backup_to.expanduser())
        typer.echo(f"Backup written to {archive}. The vault is now in format 2; every other account must unlock "
                   "once, then an editor's next unlock certifies their signing keys.")
        _print_report(report)

    @app.command("backup")
    def backup(out: Path = typer.Argument(..., help="The archive file to write (or a folder for it)."),
               vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Write one encrypted archive of the whole vault."""
        with unlocked(vault, user, passphrase_file) as session:
            written = session.backup(out)
        typer.echo(f"Backup written to {written}.")

    @app.command("restore")
    def restore(archive: Path = typer.Argument(..., help="A backup archive made by 'workstation backup'."),
                vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Restore a backup into a new vault folder and verify it (an editor's passphrase is needed)."""
        path = vault_path(vault)
        report = vs.restore(archive.expanduser(), path, user=ask_user(user), passphrase=ask_passphrase(passphrase_file))
        typer.echo(f"Restored the vault to {path}.")
        _print_report(report)


def _print_report(report: VerifyReport) -> None:
    checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    if report.problems:
        typer.secho(f"{len(report.problems)} problem(s) found" + (f" (checked {checked})" if checked else "") + ":",
                    fg=typer.colors.RED, err=True)
        for p in report.problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(2)
    typer.echo("Vault verified: no problems found" + (f" (checked {checked})." if checked else "."))


def _read_upload(file: Path) -> bytes:
    """A recording's bytes, refused by its size before reading (a 5 GB file is never loaded to be refused)."""
    limit = load_settings().max_upload_bytes
    try:
        size = file.expanduser().stat().st_size
        if size > limit:
            raise CliError(
                f"{file.name} is too large ({size // (1024 * 1024)} MiB; the limit is {limit // (1024 * 1024)} "
                "MiB, WORKSTATION_MAX_UPLOAD_MB). Nothing was read or created."
            )
        return file.expanduser().read_bytes()
    except OSError as exc:
        raise CliError(f"Cannot read {file}: {exc.strerror or exc}.") from None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
