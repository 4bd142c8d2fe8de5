"""Several files form one testimony: the parts of one interview, in order (issue 12).

Library first: intake checks every file before creating anything and names the person's file in an error; each
part is its own sealed, verifiable original; processing transcribes the parts as one continuous timeline (part 2
starts where part 1 ends) and every segment knows its part; exports list every part with its sha256. A testimony
of one file stays exactly what it was (no "parts" anywhere). The CLI: `workstation ingest A B --case X` and
`--add-part`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures_vault import PASSPHRASE
from workstation.cli.main import app
from workstation.domain.testimony import EditError, TestimonyMeta
from workstation.platform.digest import sha256_hex
from workstation.platform.errors import WorkstationError
from workstation.services import exports, intake, processing, timeline
from workstation.speech import media
from workstation.vault import session as vs
from workstation.vault.permissions import PermissionDeniedError
from workstation.vault.records import rid
from workstation.vault.store import BLOB
from workstation.vault.store import _name as store_name


def two_clips(eval_asr: Path) -> list[Path]:
    """Two different real Russian clips of the evaluation set (the first two of its manifest)."""
    with open(eval_asr / "manifest.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [eval_asr / rows[0]["file"], eval_asr / rows[1]["file"]]


def meta(case: str, user: str = "edna") -> TestimonyMeta:
    return TestimonyMeta(case_code=case, interviewer=user, consent_scope="documentation")


@pytest.fixture()
def clips(eval_asr_dir: Path) -> list[Path]:
    return two_clips(eval_asr_dir)


def test_two_files_become_one_testimony_of_two_sealed_parts(vault_sessions: dict[str, Any], clips: list[Path],
                                                           vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    files = [(p.name, p.read_bytes()) for p in clips]
    sealed = intake.new_testimony_from_parts(edna, meta("P-1"), files)
    assert [s.filename for s in sealed] == [p.name for p in clips]
    assert [s.sha256 for s in sealed] == [sha256_hex(data) for _n, data in files]
    assert [s.case_code for s in edna.list_testimonies()] == ["P-1"]  # one testimony, not two
    summary = edna.list_testimonies()[0]
    assert summary.duration_s == pytest.approx(sum(s.duration_s for s in sealed))
    assert edna.read_recording("P-1") == files[0][1] and edna.read_recording("P-1", 2) == files[1][1]
    found = timeline.parts(edna, "P-1")
    assert [p.number for p in found] == [1, 2] and found[1].start_s == pytest.approx(sealed[0].duration_s, abs=0.01)
    actions = [(e.action, e.details.get("part")) for e in edna.audit_entries() if e.case_code == "P-1"]
    assert ("recording_ingested", None) in actions and ("recording_part_added", 2) in actions
    report = edna.verify()
    assert report.ok, report.problems
    assert report.checked["recordings"] == 2


def test_every_part_is_verified_on_its_own(vault_sessions: dict[str, Any], clips: list[Path], vault_path: Path) -> None:
    edna = vault_sessions["edna"]
    intake.new_testimony_from_parts(edna, meta("P-2"), [(p.name, p.read_bytes()) for p in clips])
    tid = next(t for t, e in edna._catalog.current()["testimonies"].items() if e["case"] == "P-2")
    blob = edna._store._path(store_name(BLOB, rid(tid, "original:2")))  # part 2's sealed original
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    problems = vs.unlock(vault_path, "edna", PASSPHRASE).verify().problems
    assert any("P-2, part 2" in p for p in problems), problems
    assert not any("P-2:" in p and "part 2" not in p for p in problems), problems  # part 1 is intact


def test_shredding_destroys_every_part(vault_sessions: dict[str, Any], clips: list[Path]) -> None:
    edna = vault_sessions["edna"]
    intake.new_testimony_from_parts(edna, meta("P-7"), [(p.name, p.read_bytes()) for p in clips])
    tid = next(t for t, e in edna._catalog.current()["testimonies"].items() if e["case"] == "P-7")
    blobs = [edna._store._path(store_name(BLOB, rid(tid, kind))) for kind in ("original", "original:2")]
    assert all(b.exists() for b in blobs)
    edna.shred("P-7")
    assert not any(b.exists() for b in blobs)


def test_a_part_added_while_processing_runs_keeps_that_result_out(vault_sessions: dict[str, Any],
                                                                  clips: list[Path]) -> None:
    from tests.fixtures_ui import make_segments
    from workstation.speech.pipeline import PipelineResult

    edna = vault_sessions["edna"]
    intake.new_testimony(edna, meta("P-8"), clips[0].read_bytes(), clips[0].name)

    def runner(data: bytes, *_args: Any) -> PipelineResult:  # meanwhile, someone adds part 2
        intake.add_part(edna, "P-8", clips[1].read_bytes(), clips[1].name)
        return PipelineResult(segments=make_segments(2), language="ru", language_probability=1.0, duration_s=4.0)

    with pytest.raises(WorkstationError, match="was added to P-8 while it was being processed"):
        processing.process(edna, "P-8", runner=runner)
    assert edna.load("P-8").segments == [] and len(edna.recording_parts("P-8")) == 2


def test_an_unusable_part_names_the_persons_file_and_creates_nothing(vault_sessions: dict[str, Any],
                                                                    clips: list[Path]) -> None:
    edna = vault_sessions["edna"]
    files = [(clips[0].name, clips[0].read_bytes()), ("interview_b.m4a", b"%PDF-1.4 not a recording at all" * 40)]
    with pytest.raises(media.MediaError, match=r"^Part 2, interview_b\.m4a: "):
        intake.new_testimony_from_parts(edna, meta("P-3"), files)
    assert edna.list_testimonies() == []  # checked before anything was created


def test_a_part_is_added_before_processing_only_by_whom_may_ingest(vault_sessions: dict[str, Any],
                                                                   clips: list[Path]) -> None:
    ivan, inna, tanya = vault_sessions["ivan"], vault_sessions["inna"], vault_sessions["tanya"]
    intake.new_testimony(ivan, meta("P-4", "ivan"), clips[0].read_bytes(), clips[0].name)
    with pytest.raises(PermissionDeniedError):
        intake.add_part(tanya, "P-4", clips[1].read_bytes(), clips[1].name)  # a translator ingests nothing
    with pytest.raises(PermissionDeniedError):
        intake.add_part(inna, "P-4", clips[1].read_bytes(), clips[1].name)  # another interviewer's testimony
    number, info = intake.add_part(ivan, "P-4", clips[1].read_bytes(), clips[1].name)
    assert number == 2 and info.filename == clips[1].name
    assert [p.filename for p in ivan.recording_parts("P-4")] == [clips[0].name, clips[1].name]
    entry = [e for e in vault_sessions["edna"].audit_entries() if e.action == "recording_part_added"][-1]
    assert (entry.user, entry.case_code, entry.details["part"], entry.details["sha256"]) == (
        "ivan", "P-4", 2, info.sha256)
    from tests.fixtures_ui import make_segments, store_result

    store_result(vault_sessions["edna"], "P-4", make_segments(2))
    with pytest.raises(EditError, match="already processed"):
        intake.add_part(ivan, "P-4", clips[0].read_bytes(), clips[0].name)
    assert len(ivan.recording_parts("P-4")) == 2


def test_one_file_is_stored_and_exported_exactly_as_before(vault_sessions: dict[str, Any], clips: list[Path]) -> None:
    edna = vault_sessions["edna"]
    intake.new_testimony(edna, meta("P-5"), clips[0].read_bytes(), clips[0].name)
    entry = next(e for e in edna._catalog.current()["testimonies"].values() if e["case"] == "P-5")
    assert "parts" not in entry
    whole = timeline.timeline(edna, "P-5")
    assert whole.audio == clips[0].read_bytes() and not whole.joined  # the original itself, not a decoding
    from tests.fixtures_ui import make_segments, store_result

    store_result(edna, "P-5", make_segments(2))
    t = edna.load("P-5")
    assert t.part_starts == [] and "part_starts" not in t.to_dict()
    package = exports.build_export(edna, "P-5", ["json", "audio"], draft=True)
    assert "parts" not in package.manifest["recording"]
    assert sorted(n for n in package.files if "original" in n) == ["P-5_original.wav"]
    assert "part" not in json.loads(package.files["P-5.json"])["segments"][0]


@pytest.mark.slow
def test_two_parts_are_transcribed_as_one_continuous_timeline_and_exported_in_order(
        vault_sessions: dict[str, Any], clips: list[Path]) -> None:
    edna = vault_sessions["edna"]
    files = [(p.name, p.read_bytes()) for p in clips]
    sealed = intake.new_testimony_from_parts(edna, meta("P-6"), files)
    outcome = processing.process(edna, "P-6", {"translate": False, "diarize": False})
    t = outcome.testimony
    first = media.probe(files[0][1]).duration_s
    total = first + media.probe(files[1][1]).duration_s
    assert t.part_starts[0] == 0.0 and t.part_starts[1] == pytest.approx(first, abs=0.05)
    assert t.segments, "nothing was transcribed"
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts) and all(a.end <= b.start + 0.01 for a, b in zip(t.segments, t.segments[1:]))
    assert t.segments[-1].end <= total + 0.1
    parts = [t.part_at(s.start) for s in t.segments]
    assert set(parts) == {1, 2}, [(s.start, s.end, s.ru) for s in t.segments]  # speech of both files is there
    assert any(s.start >= t.part_starts[1] - 0.05 for s in t.segments)  # part 2's speech comes after part 1's length

    package = exports.build_export(edna, "P-6", ["json", "audio"], draft=True)
    listed = package.manifest["recording"]["parts"]
    assert [(p["part"], p["sha256"]) for p in listed] == [(1, sealed[0].sha256), (2, sealed[1].sha256)]
    assert listed[1]["start_s"] == pytest.approx(t.part_starts[1])
    audio = {n: d for n, d in package.files.items() if "original" in n}
    assert audio == {"P-6_original.wav": files[0][1], "P-6_part2_original.wav": files[1][1]}  # in order, untouched
    exported = json.loads(package.files["P-6.json"])
    assert [s["part"] for s in exported["segments"]] == parts and exported["part_starts"] == t.part_starts


def test_the_cli_ingests_several_files_as_one_testimony_and_adds_a_part(tmp_path: Path, clips: list[Path],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    vault = tmp_path / "vault"
    monkeypatch.setenv("WORKSTATION_VAULT", str(vault))
    vs.create_vault(vault, "edna", PASSPHRASE).lock()
    env = {"WORKSTATION_USER": "edna", "WORKSTATION_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(clips[0]), str(clips[1]), "--case", "CLI-1"], env=env)
    assert r.exit_code == 0, r.output
    assert "Sealed 2 parts of CLI-1" in r.output and f"part 2: {clips[1].name}" in r.output
    bad = tmp_path / "interview_b.m4a"
    bad.write_bytes(b"not a recording, only text " * 50)
    r = runner.invoke(app, ["ingest", str(clips[0]), str(bad), "--case", "CLI-2"], env=env)
    assert r.exit_code == 1 and isinstance(r.exception, media.NotAudioError), r.output
    assert str(r.exception).startswith("Part 2, interview_b.m4a: ")  # (cli.main prints it as the error line)
    r = runner.invoke(app, ["ingest", str(clips[0]), "--case", "CLI-1", "--add-part"], env=env)
    assert r.exit_code == 0 and "Added part 3 of CLI-1" in r.output, r.output
    r = runner.invoke(app, ["show", "CLI-1"], env=env)
    assert r.exit_code == 0 and f"part 2: {clips[1].name}" in r.output and "part 3:" in r.output, r.output
    s = vs.unlock(vault, "edna", PASSPHRASE)
    assert [p.filename for p in s.recording_parts("CLI-1")] == [clips[0].name, clips[1].name, clips[0].name]
    assert [t.case_code for t in s.list_testimonies()] == ["CLI-1"]  # CLI-2 was refused before anything existed
