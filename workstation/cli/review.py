"""`workstation segment ... | mark-reviewed | retranslate | replace | speaker | glossary`: review from the terminal.

Every correction the app can make, scriptable: each command parses its options and calls one function of
`workstation.services.review`. Changes to a segment name the revision the user looked at (`workstation show`
prints it), so a change made meanwhile by someone else is refused as a conflict, never overwritten.
"""

from __future__ import annotations

from pathlib import Path

import typer

from workstation.cli.common import CliError, PassFileOpt, UserOpt, VaultOpt, fmt_time, unlocked
from workstation.services import review

CaseArg = typer.Argument(..., help="Case code.")
SegmentArg = typer.Argument(..., help="Segment id (see `workstation show`).")
RevisionOpt = typer.Option(..., "--revision", help="The revision you looked at (`workstation show`).")


def _segment_commands(segment: typer.Typer) -> None:
    @segment.command("add")
    def segment_add(case: str = CaseArg,
                    start: float = typer.Option(..., "--start", help="Start, seconds into the recording."),
                    end: float = typer.Option(..., "--end", help="End, seconds into the recording."),
                    ru: str = typer.Option("", "--ru", help="Russian text (empty: listed as untranscribed speech)."),
                    vault: Path | None = VaultOpt, user: str | None = UserOpt,
                    passphrase_file: Path | None = PassFileOpt) -> None:
        """Add a segment in a gap between segments (speech the transcript misses)."""
        with unlocked(vault, user, passphrase_file) as session:
            seg, _t = review.add_segment(session, case, start, end, ru=ru)
        typer.echo(f"Added segment {seg.id} at {fmt_time(seg.start)}–{fmt_time(seg.end)}"
                   + (" (untranscribed speech: type its text in review)." if seg.untranscribed else "."))

    @segment.command("times")
    def segment_times(case: str = CaseArg, segment_id: str = SegmentArg,
                      start: float = typer.Option(..., "--start", help="New start, seconds."),
                      end: float = typer.Option(..., "--end", help="New end, seconds."),
                      revision: int = RevisionOpt, vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Change a segment's start and end (within the gaps to its neighbours)."""
        with unlocked(vault, user, passphrase_file) as session:
            review.set_times(session, case, segment_id, start, end, base_revision=revision)
        typer.echo(f"Segment {segment_id} now runs {fmt_time(start)}–{fmt_time(end)}.")

    @segment.command("remove")
    def segment_remove(case: str = CaseArg, segment_id: str = SegmentArg, revision: int = RevisionOpt,
                       vault: Path | None = VaultOpt, user: str | None = UserOpt,
                       passphrase_file: Path | None = PassFileOpt) -> None:
        """Remove a segment that has no text in either language (a noise marked as speech)."""
        with unlocked(vault, user, passphrase_file) as session:
            review.remove_segment(session, case, segment_id, base_revision=revision)
        typer.echo(f"Removed the empty segment {segment_id}.")

    @segment.command("edit")
    def segment_edit(case: str = CaseArg, segment_id: str = SegmentArg, revision: int = RevisionOpt,
                     ru: str | None = typer.Option(None, "--ru", help="The corrected Russian."),
                     en: str | None = typer.Option(None, "--en", help="The corrected English."),
                     speaker: str | None = typer.Option(None, "--speaker", help="Speaker label (e.g. interviewer)."),
                     vault: Path | None = VaultOpt, user: str | None = UserOpt,
                     passphrase_file: Path | None = PassFileOpt) -> None:
        """Correct a segment's Russian, English or speaker (editing the Russian marks the English stale)."""
        changes = {k: v for k, v in (("ru", ru), ("en", en), ("speaker", speaker)) if v is not None}
        if not changes:
            raise CliError("Give at least one of --ru, --en, --speaker.")
        with unlocked(vault, user, passphrase_file) as session:
            rev, _t = review.edit(session, case, segment_id, changes, base_revision=revision)
        typer.echo(f"Saved segment {segment_id} (now revision {rev}).")

    @segment.command("reviewed")
    def segment_reviewed(case: str = CaseArg, segment_id: str = SegmentArg, revision: int = RevisionOpt,
                         undo: bool = typer.Option(False, "--undo", help="Mark it not reviewed again."),
                         vault: Path | None = VaultOpt, user: str | None = UserOpt,
                         passphrase_file: Path | None = PassFileOpt) -> None:
        """Mark one segment reviewed (or, with --undo, not reviewed)."""
        with unlocked(vault, user, passphrase_file) as session:
            review.set_reviewed(session, case, segment_id, not undo, base_revision=revision)
        typer.echo(f"Segment {segment_id} {'is no longer' if undo else 'is now'} marked reviewed.")

    @segment.command("split")
    def segment_split(case: str = CaseArg, segment_id: str = SegmentArg, revision: int = RevisionOpt,
                      at: float = typer.Option(..., "--at", help="Where to split, seconds into the recording."),
                      vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Split a segment in two at a time (before the word starting there, when word times are known)."""
        with unlocked(vault, user, passphrase_file) as session:
            (first, second), _t = review.split(session, case, segment_id, at, base_revision=revision)
        typer.echo(f"Split into {first.id} and {second.id}; both need review.")

    @segment.command("merge")
    def segment_merge(case: str = CaseArg,
                      first: str = typer.Argument(..., help="The first segment's id."),
                      second: str = typer.Argument(..., help="The id of the segment right after it."),
                      revisions: str = typer.Option(..., "--revisions", help="Their revisions as seen, e.g. 3,1."),
                      vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Merge a segment with the one right after it."""
        try:
            r1, r2 = (int(x) for x in revisions.split(","))
        except ValueError:
            raise CliError("--revisions needs the two revisions you looked at, e.g. --revisions 3,1.") from None
        with unlocked(vault, user, passphrase_file) as session:
            seg, _t = review.merge(session, case, first, second, base_revisions=(r1, r2))
        typer.echo(f"Merged into {seg.id}; it needs review.")


def _bases(case: str, ids: list[str], t_segments: dict[str, int]) -> dict[str, int]:
    missing = [i for i in ids if i not in t_segments]
    if missing:
        raise CliError(f"No segment {', '.join(missing)} in {case} (see `workstation show {case}`).")
    return {i: t_segments[i] for i in ids}


def register(app: typer.Typer) -> None:
    """Add the review commands to the top-level app."""
    segment = typer.Typer(help="Correct one segment: edit, mark reviewed, split, merge, add in a gap, times, remove.",
                          no_args_is_help=True)
    app.add_typer(segment, name="segment")
    _segment_commands(segment)

    @app.command("mark-reviewed")
    def mark_reviewed(case: str = CaseArg,
                      segment_ids: list[str] = typer.Argument(None, help="Segment ids (default: every one not reviewed)."),
                      vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Mark segments reviewed at once; skips (and names) those a person must act on first."""
        with unlocked(vault, user, passphrase_file) as session:
            bases = None
            if segment_ids:
                current = {s.id: s.revision for s in session.load(case).segments}
                bases = _bases(case, segment_ids, current)
            outcome, _t = review.mark_reviewed(session, case, bases, via="cli")
        typer.echo(outcome.describe())
        for seg_id, reason in outcome.skipped.items():
            typer.echo(f"  skipped {seg_id}: {reason}")

    @app.command("retranslate")
    def retranslate(case: str = CaseArg,
                    segment_ids: list[str] = typer.Argument(None, help="Segment ids (default: every stale one)."),
                    vault: Path | None = VaultOpt, user: str | None = UserOpt,
                    passphrase_file: Path | None = PassFileOpt) -> None:
        """Machine-translate segments again (Argos; without it, Whisper's speech translation of their audio)."""
        with unlocked(vault, user, passphrase_file) as session:
            t = session.load(case)
            current = {s.id: s.revision for s in t.segments}
            ids = segment_ids or [s.id for s in t.segments if s.en_stale]
            if not ids:
                typer.echo("No segment has stale English; name the segments to re-translate.")
                return
            count, _t = review.retranslate(session, case, _bases(case, ids, current))
        typer.echo(f"Re-translated {count} segment(s). Check the new English before marking them reviewed.")

    @app.command("replace")
    def replace(case: str = CaseArg,
                column: str = typer.Option(..., "--column", help="ru or en."),
                find: str = typer.Option(..., "--find", help="The text to find."),
                replacement: str = typer.Option(..., "--replace", help="What to put instead."),
                match_case: bool = typer.Option(False, "--match-case", help="Only exact-case matches."),
                vault: Path | None = VaultOpt, user: str | None = UserOpt,
                passphrase_file: Path | None = PassFileOpt) -> None:
        """Find and replace in one column of a testimony (one revision per changed segment)."""
        with unlocked(vault, user, passphrase_file) as session:
            changed, _t = review.replace(session, case, column, find, replacement, case_sensitive=match_case)
        typer.echo(f"Replaced in {len(changed)} segment(s).")

    @app.command("speaker")
    def speaker(case: str = CaseArg,
                label: str = typer.Argument(..., help="The speaker label (e.g. interviewer, witness)."),
                name: str = typer.Argument(..., help="The name people read (a pseudonym)."),
                vault: Path | None = VaultOpt, user: str | None = UserOpt,
                passphrase_file: Path | None = PassFileOpt) -> None:
        """Name a speaker of a testimony (the label stays in the structure; exports show the name)."""
        with unlocked(vault, user, passphrase_file) as session:
            review.rename_speaker(session, case, label, name)
        typer.echo(f"Speaker {label} is now shown as {name!r}.")

    glossary = typer.Typer(help="Show and change the glossary (terms, names kept as written, sensitive terms).",
                           no_args_is_help=True)
    app.add_typer(glossary, name="glossary")
    _glossary_commands(glossary)


def _glossary_commands(glossary: typer.Typer) -> None:
    @glossary.command("show")
    def glossary_show(vault: Path | None = VaultOpt, user: str | None = UserOpt,
                      passphrase_file: Path | None = PassFileOpt) -> None:
        """Print the glossary."""
        with unlocked(vault, user, passphrase_file) as session:
            g = session.load_glossary()
        for ru, en in sorted(g.terms.items()):
            typer.echo(f"term\t{ru}\t{en}")
        for word in g.keep:
            typer.echo(f"keep\t{word}")
        for word in g.sensitive:
            typer.echo(f"sensitive\t{word}")

    @glossary.command("set")
    def glossary_set(term: list[str] = typer.Option([], "--term", help="RU=EN: always translate RU as EN (repeatable)."),
                     keep: list[str] = typer.Option([], "--keep", help="A name never translated (repeatable)."),
                     sensitive: list[str] = typer.Option([], "--sensitive", help="Always suggested for redaction."),
                     remove: list[str] = typer.Option([], "--remove", help="Remove this entry from every list."),
                     vault: Path | None = VaultOpt, user: str | None = UserOpt,
                     passphrase_file: Path | None = PassFileOpt) -> None:
        """Add or change glossary entries (translators and editors); the rest of the glossary stays."""
        pairs = {}
        for item in term:
            ru, found, en = item.partition("=")
            if not found:
                raise CliError(f"--term needs RU=EN, e.g. --term 'фильтрационный лагерь=filtration camp' (got {item!r}).")
            pairs[ru] = en
        with unlocked(vault, user, passphrase_file) as session:
            g = review.change_glossary(session, set_terms=pairs, remove=list(remove), keep=list(keep),
                                       sensitive=list(sensitive))
        typer.echo(f"Glossary saved: {len(g.terms)} term(s), {len(g.keep)} kept, {len(g.sensitive)} sensitive.")
