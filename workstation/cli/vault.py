"""`workstation init | users | ingest | process | list | show | shred | audit | verify | backup | restore`.

Thin shell over ``workstation.vault.session``. Passphrases come from ``--passphrase-file FILE``, the
``WORKSTATION_PASSPHRASE`` environment variable, or a hidden prompt (in that order); the user from ``--user``,
``WORKSTATION_USER`` or a prompt. The vault is ``--vault``, else ``WORKSTATION_VAULT``, else
``~/TestimonyVault``. Errors meant for people are printed by ``workstation.cli.main`` without a traceback;
transcript text is printed only by ``show``, to the terminal, never logged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from workstation.platform.errors import WorkstationError

VaultOpt = typer.Option(None, "--vault", help="Vault folder (default: WORKSTATION_VAULT or ~/TestimonyVault).")
UserOpt = typer.Option(None, "--user", "-u", help="Your user name (default: WORKSTATION_USER, else asked).")
PassFileOpt = typer.Option(
    None, "--passphrase-file", help="Read your passphrase from this file (first line) instead of asking; "
    "or set WORKSTATION_PASSPHRASE.",
)


class CliError(WorkstationError):
    """A usage problem on the command line."""


# --- helpers ---------------------------------------------------------------------------------------


def _vault_path(vault: Path | None) -> Path:
    if vault is not None:
        return vault.expanduser()
    from workstation.platform.config import load_settings

    return load_settings().vault_path


def _read_secret_file(path: Path) -> str:
    try:
        text = path.expanduser().read_text("utf-8")
    except OSError as exc:
        raise CliError(f"Cannot read the passphrase file {path}: {exc.strerror or exc}.") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise CliError(f"The passphrase file {path} is empty.")
    return secret


def _passphrase(passphrase_file: Path | None, *, env: str = "WORKSTATION_PASSPHRASE", prompt: str = "Passphrase",
                confirm: bool = False) -> str:
    if passphrase_file is not None:
        return _read_secret_file(passphrase_file)
    if os.environ.get(env):
        return os.environ[env]
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)


def _user(user: str | None) -> str:
    name = user or os.environ.get("WORKSTATION_USER") or typer.prompt("User name", err=True)
    return name.strip()


def _unlock(vault: Path | None, user: str | None, passphrase_file: Path | None) -> Any:
    from workstation.vault import session as vs

    path = _vault_path(vault)
    if not vs.vault_exists(path):
        raise CliError(f"There is no vault at {path}. Create one with 'workstation init --vault {path}'.")
    return vs.unlock(path, _user(user), _passphrase(passphrase_file))


@contextmanager
def _unlocked(vault: Path | None, user: str | None, passphrase_file: Path | None) -> Iterator[Any]:
    """An unlocked session that is locked again (keys dropped) whatever happens."""
    session = _unlock(vault, user, passphrase_file)
    try:
        yield session
    finally:
        session.lock()


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m:02d}:{s:04.1f}"


def _entry_field(entry: Any, name: str, default: Any = "") -> Any:
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


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
        from workstation.vault import session as vs
        from workstation.vault import accounts as vu

        path = _vault_path(vault)
        if vs.vault_exists(path):
            raise CliError(f"There is already a vault at {path}.")
        name = vu.check_user_name(_user(user))
        _err("Choose a passphrase: 4 or more random words work best. If every passphrase is lost, nothing "
             "in the vault can be recovered.")
        while True:
            secret = _passphrase(passphrase_file, prompt="New passphrase", confirm=True)
            try:
                vu.check_passphrase(secret, user=name)
                break
            except vu.WeakPassphraseError as exc:
                if passphrase_file is not None or os.environ.get("WORKSTATION_PASSPHRASE"):
                    raise
                _err(str(exc))
        session = vs.create_vault(path, name, secret)
        session.lock()
        typer.echo(f"Created the vault at {path} with editor account {name}.")

    users_app = typer.Typer(help="Manage accounts (editors only).", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("list")
    def users_list(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List accounts and their roles."""
        with _unlocked(vault, user, passphrase_file) as session:
            for u in session.list_users():
                typer.echo(f"{u.name}\t{u.role}")

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
        from workstation.vault import permissions as vu

        role_value = vu.parse_role(role)
        with _unlocked(vault, user, passphrase_file) as session:
            session.require(vu.Action.MANAGE_USERS)
            secret = _passphrase(new_passphrase_file, env="WORKSTATION_NEW_PASSPHRASE",
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
        with _unlocked(vault, user, passphrase_file) as session:
            if not yes and not typer.confirm(f"Remove the account {name}?", err=True):
                raise typer.Exit(1)
            session.remove_user(name)
        typer.echo(f"Removed {name}; the vault key was rotated.")

    @users_app.command("passwd")
    def users_passwd(
        new_passphrase_file: Path | None = typer.Option(
            None, "--new-passphrase-file", help="The new passphrase (else WORKSTATION_NEW_PASSPHRASE or asked twice)."
        ),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Change your own passphrase."""
        from workstation.vault import session as vs

        path = _vault_path(vault)
        name, old = _user(user), _passphrase(passphrase_file, prompt="Current passphrase")
        session = vs.unlock(path, name, old)
        try:
            new = _passphrase(new_passphrase_file, env="WORKSTATION_NEW_PASSPHRASE", prompt="New passphrase", confirm=True)
            session.change_passphrase(old, new)
        finally:
            session.lock()
        typer.echo("Passphrase changed.")

    @app.command("ingest")
    def ingest(
        file: Path = typer.Argument(..., help="The recording (audio or video)."),
        case: str = typer.Option(..., "--case", "-c", help="Case code: a pseudonym, never a real name."),
        interview_date: str = typer.Option("", "--date", help="Interview date (YYYY-MM-DD)."),
        interviewer: str = typer.Option("", "--interviewer", help="Who conducted the interview."),
        language: str = typer.Option("ru", "--language", help="Spoken language."),
        consent: str = typer.Option("", "--consent", help="Consent scope, as agreed with the witness."),
        sensitivity: str = typer.Option("high", "--sensitivity", help="Sensitivity: high, medium or low."),
        notes: str = typer.Option("", "--notes", help="Free notes (stored encrypted)."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Seal a recording into the vault (creating the testimony if needed)."""
        from workstation.domain.testimony import TestimonyMeta
        from workstation.services import intake

        try:
            data = file.expanduser().read_bytes()
        except OSError as exc:
            raise CliError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        meta = TestimonyMeta(case_code=case, interview_date=interview_date, interviewer=interviewer, language=language,
                             consent_scope=consent, sensitivity=sensitivity, notes=notes)
        with _unlocked(vault, user, passphrase_file) as session:
            info = intake.new_testimony(session, meta, data, file.name)  # checked before anything is created
            del data
        typer.echo(f"Sealed the recording of {case}: {_fmt_time(info.duration_s)}, {info.size} bytes, "
                   f"sha256 {info.sha256}.")

    @app.command("process")
    def process(
        case: str = typer.Argument(..., help="Case code."),
        model: str = typer.Option("base", "--model", help="Whisper model name (a folder in models/ or 'base')."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        translate: bool = typer.Option(True, "--translate/--no-translate", help="Also make the English draft."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Transcribe and translate a sealed recording; the result is stored as the draft."""
        from workstation.speech import pipeline, sealed
        from workstation.vault.permissions import Action

        with _unlocked(vault, user, passphrase_file) as session:
            session.require(Action.PROCESS)
            data = session.read_recording(case)
            options = pipeline.PipelineOptions(model=model, device=device, translate=translate,
                                               glossary=session.load_glossary())
            with typer.progressbar(length=1000, label="Processing", file=sys.stderr) as bar:
                done = [0]

                def progress(fraction: float, _stage: str) -> None:
                    target = int(max(0.0, min(1.0, fraction)) * 1000)
                    if target > done[0]:
                        bar.update(target - done[0])
                        done[0] = target

                result = sealed.run_pipeline(data, options, progress=progress)  # no network in there
            del data
            t = session.store_processing_result(case, result)
        for warning in getattr(result, "warnings", []):
            _err(f"Note: {warning}")
        typer.echo(f"Processed {case}: {len(t.segments)} segment(s), status {t.status}.")

    @app.command("list")
    def list_cmd(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List the testimonies you may see."""
        with _unlocked(vault, user, passphrase_file) as session:
            rows = session.list_testimonies()
        if not rows:
            typer.echo("No testimonies yet.")
        for r in rows:
            duration = _fmt_time(r.duration_s) if r.duration_s is not None else "-"
            typer.echo(f"{r.case_code}\t{r.status}\t{duration}\t{r.n_reviewed}/{r.n_segments} reviewed\t"
                       f"owner {r.owner}\tcreated {r.created}")

    @app.command("show")
    def show(case: str = typer.Argument(..., help="Case code."), vault: Path | None = VaultOpt,
             user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Print a testimony's segments to the terminal (nothing is written to disk)."""
        with _unlocked(vault, user, passphrase_file) as session:
            t = session.load(case)
        typer.echo(f"{t.case_code} · {t.status} · {len(t.segments)} segment(s)")
        for s in t.segments:
            speaker = t.speaker_names.get(s.speaker, s.speaker)
            flags = "".join([" ✓" if s.reviewed else "", " (English stale)" if s.en_stale else "",
                             " (UNTRANSCRIBED SPEECH: listen and type it)" if s.untranscribed else ""])
            typer.echo(f"\n[{_fmt_time(s.start)}–{_fmt_time(s.end)}] {speaker}{flags}  id {s.id} rev {s.revision}")
            typer.echo(f"  RU: {s.ru}")
            if s.en:
                typer.echo(f"  EN: {s.en}  [{s.en_route}]")

    segment = typer.Typer(help="Add a segment in a gap, change a segment's times, remove an empty one.",
                          no_args_is_help=True)
    app.add_typer(segment, name="segment")

    @segment.command("add")
    def segment_add(case: str = typer.Argument(..., help="Case code."),
                    start: float = typer.Option(..., "--start", help="Start, seconds into the recording."),
                    end: float = typer.Option(..., "--end", help="End, seconds into the recording."),
                    ru: str = typer.Option("", "--ru", help="Russian text (empty: listed as untranscribed speech)."),
                    vault: Path | None = VaultOpt, user: str | None = UserOpt,
                    passphrase_file: Path | None = PassFileOpt) -> None:
        """Add a segment in a gap between segments (speech the transcript misses)."""
        from workstation.domain import testimony as tm

        with _unlocked(vault, user, passphrase_file) as session:
            seg = session.update(case, lambda t: tm.add_segment(t, start, end, user=session.user, ru=ru),
                                 action="add_segment")
        typer.echo(f"Added segment {seg.id} at {_fmt_time(seg.start)}–{_fmt_time(seg.end)}"
                   + (" (untranscribed speech: type its text in review)." if seg.untranscribed else "."))

    @segment.command("times")
    def segment_times(case: str = typer.Argument(..., help="Case code."),
                      segment_id: str = typer.Argument(..., help="Segment id (see `workstation show`)."),
                      start: float = typer.Option(..., "--start", help="New start, seconds."),
                      end: float = typer.Option(..., "--end", help="New end, seconds."),
                      revision: int = typer.Option(..., "--revision", help="The revision you looked at (`show`)."),
                      vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Change a segment's start and end (within the gaps to its neighbours)."""
        from workstation.domain import testimony as tm

        with _unlocked(vault, user, passphrase_file) as session:
            session.update(case, lambda t: tm.set_times(t, segment_id, start, end, base_revision=revision,
                                                        user=session.user), action="set_times")
        typer.echo(f"Segment {segment_id} now runs {_fmt_time(start)}–{_fmt_time(end)}.")

    @segment.command("remove")
    def segment_remove(case: str = typer.Argument(..., help="Case code."),
                       segment_id: str = typer.Argument(..., help="Segment id (see `workstation show`)."),
                       revision: int = typer.Option(..., "--revision", help="The revision you looked at (`show`)."),
                       vault: Path | None = VaultOpt, user: str | None = UserOpt,
                       passphrase_file: Path | None = PassFileOpt) -> None:
        """Remove a segment that has no text in either language (a noise marked as speech)."""
        from workstation.domain import testimony as tm

        with _unlocked(vault, user, passphrase_file) as session:
            session.update(case, lambda t: tm.remove_empty_segment(t, segment_id, base_revision=revision,
                                                                   user=session.user), action="remove_segment")
        typer.echo(f"Removed the empty segment {segment_id}.")

    @app.command("unapprove")
    def unapprove(case: str = typer.Argument(..., help="Case code."),
                  reason: str = typer.Option(..., "--reason", help="Why it is reopened (kept, encrypted, with the testimony)."),
                  vault: Path | None = VaultOpt, user: str | None = UserOpt,
                  passphrase_file: Path | None = PassFileOpt) -> None:
        """Reopen an approved testimony for corrections (editors)."""
        with _unlocked(vault, user, passphrase_file) as session:
            session.unapprove(case, reason)
        typer.echo(f"{case} is open for corrections again.")

    @app.command("shred")
    def shred(
        case: str = typer.Argument(..., help="Case code."),
        yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (scripts)."),
        vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt,
    ) -> None:
        """Consent withdrawn: destroy a testimony's key and data. Irreversible."""
        from workstation.vault.permissions import Action

        with _unlocked(vault, user, passphrase_file) as session:
            session.require(Action.SHRED)
            session.recording_info(case)  # fails early (unknown case) before asking
            if not yes:
                answer = typer.prompt(f"This destroys testimony {case} for good. Type the case code to confirm", err=True)
                if answer.strip() != case:
                    _err("Not confirmed; nothing was changed.")
                    raise typer.Exit(1)
            session.shred(case)
        typer.echo(f"Shredded {case}: its key and data are destroyed. Backups made before now still contain "
                   "it: destroy or re-make them.")

    @app.command("audit")
    def audit(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """List the audit log (who did what, when; never content)."""
        with _unlocked(vault, user, passphrase_file) as session:
            entries = session.audit_entries()
        for e in entries:
            details = _entry_field(e, "details", {}) or {}
            detail_text = " ".join(f"{k}={v}" for k, v in details.items()) if isinstance(details, dict) else str(details)
            typer.echo("\t".join(str(x) for x in (
                _entry_field(e, "at") or _entry_field(e, "time"), _entry_field(e, "user"), _entry_field(e, "action"),
                _entry_field(e, "case_code") or "-", detail_text,
            )))

    @app.command("verify")
    def verify(vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Check the audit chain, every record and blob, and every original's sha256."""
        with _unlocked(vault, user, passphrase_file) as session:
            report = session.verify()
        _print_report(report)

    @app.command("backup")
    def backup(out: Path = typer.Argument(..., help="The archive file to write (or a folder for it)."),
               vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Write one encrypted archive of the whole vault."""
        with _unlocked(vault, user, passphrase_file) as session:
            written = session.backup(out)
        typer.echo(f"Backup written to {written}.")

    @app.command("restore")
    def restore(archive: Path = typer.Argument(..., help="A backup archive made by 'workstation backup'."),
                vault: Path | None = VaultOpt, user: str | None = UserOpt, passphrase_file: Path | None = PassFileOpt) -> None:
        """Restore a backup into a new vault folder and verify it (an editor's passphrase is needed)."""
        from workstation.vault import session as vs

        path = _vault_path(vault)
        report = vs.restore(archive.expanduser(), path, user=_user(user), passphrase=_passphrase(passphrase_file))
        typer.echo(f"Restored the vault to {path}.")
        _print_report(report)


def _print_report(report: Any) -> None:
    checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    if report.problems:
        typer.secho(f"{len(report.problems)} problem(s) found" + (f" (checked {checked})" if checked else "") + ":",
                    fg=typer.colors.RED, err=True)
        for p in report.problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(2)
    typer.echo("Vault verified: no problems found" + (f" (checked {checked})." if checked else "."))
