"""Redaction: natasha suggestions, the pseudonym table (in the vault, never in exports), lemma and
transliteration matching, and a scan of every byte of every export format for every form of the names."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.fixtures_export import EXPORT_CASE, NAME_FORMS, every_readable_form, make_testimony
from workstation.domain.glossary import Glossary
from workstation.evidence import redact as rd
from workstation.evidence.render import ExportInfo, render
from workstation.services import redactions
from workstation.services.exports import export_testimony


def _accept_all(table: rd.PseudonymTable) -> None:
    for e in list(table.entries.values()):
        table.accept(e.id)


def _by_lemma(suggestions, lemma):
    return next(s for s in suggestions if s.lemma == lemma)


@pytest.mark.slow
def test_suggestions_find_people_places_organisations_and_sensitive_terms():
    t = make_testimony()
    suggestions = rd.suggest(t, Glossary(sensitive=["три дня"], terms={"МВД": "Ministry of Internal Affairs"}))
    kinds = {(s.kind, s.lemma) for s in suggestions}
    assert {("PER", "Ахмед"), ("PER", "Ахмед Кадыров"), ("LOC", "Аргун"), ("ORG", "МВД"), ("SENSITIVE", "три дня")} <= kinds
    ahmed = _by_lemma(suggestions, "Ахмед")
    assert set(ahmed.forms) >= {"Ахмеда", "Ахмедом", "Ахмеду"} and ahmed.count == 3
    assert ahmed.segment_ids == ["seg003", "seg004"]
    assert _by_lemma(suggestions, "МВД").variants == ["Ministry of Internal Affairs"]
    assert len({s.id for s in suggestions}) == len(suggestions)
    assert rd.suggest(t, None)[0].id == rd.suggest(t, None)[0].id  # ids are stable across runs


@pytest.mark.slow
def test_inflected_russian_and_transliterated_english_are_replaced_consistently():
    table = rd.PseudonymTable()
    table.merge(rd.suggest(make_testimony()))
    _accept_all(table)
    assert table.entries[rd.suggestion_id("PER", "Ахмед")].pseudonym == "Witness A"
    # "Ахмед Кадыров" is the same person: the same pseudonym by default
    assert table.entries[rd.suggestion_id("PER", "Ахмед Кадыров")].pseudonym == "Witness A"
    r = rd.Redactor(table)
    assert r.text("Я узнал Ахмеда сразу, потом с Ахмедом приехали.") == "Я узнал Witness A сразу, потом с Witness A приехали."
    assert r.text("Akhmed, Ahmed and Achmed's car; AKHMEDA saw Kadyrova in Argun.") == \
        "Witness A, Witness A and Witness A's car; Witness A saw Witness A in Town 1."
    # ordinary words that merely resemble a transliteration survive
    assert r.text("an ahead argument, the arguments, Armen") == "an ahead argument, the arguments, Armen"


@pytest.mark.slow
def test_pseudonyms_are_editable_and_validated():
    table = rd.PseudonymTable()
    table.merge(rd.suggest(make_testimony()))
    pid = rd.suggestion_id("LOC", "Аргун")
    table.accept(pid, "Village X")
    assert rd.apply("в Аргуне", table, "ru") == "в Village X"
    with pytest.raises(rd.RedactionError, match="differ from the real name"):
        table.set_pseudonym(pid, "аргун")
    with pytest.raises(rd.RedactionError, match="no redaction suggestion"):
        table.accept("nope")
    added = table.add("Ваха", "PER")
    assert added.decision == "accepted" and rd.apply("Вахе сказали", table) == f"{added.pseudonym} сказали"
    assert rd.PseudonymTable.from_dict(json.loads(json.dumps(table.to_dict()))).to_dict() == table.to_dict()


@pytest.mark.slow
def test_words_are_redacted_with_their_time_spans():
    t = make_testimony()
    table = rd.PseudonymTable()
    table.merge(rd.suggest(t))
    _accept_all(table)
    red = rd.redact_testimony(t, table)
    seg = red.testimony.segment("seg003")
    assert [w.text for w in seg.words if "Witness" in w.text] == [" Witness A", " Witness A"]
    original = t.segment("seg003").words
    assert (original[2].start, original[2].end) in red.audio_spans  # "Ахмеда"
    assert red.whole_segments == 0 and red.replacements >= 10


@pytest.mark.slow
def test_segment_without_word_timing_is_silenced_whole():
    t = make_testimony()
    t.segments[3].words = []  # text edited beyond the ASR words: the name cannot be placed in time
    table = rd.PseudonymTable()
    table.merge(rd.suggest(t))
    _accept_all(table)
    red = rd.redact_testimony(t, table)
    seg = t.segments[3]
    assert any(a <= seg.start and seg.end <= b for a, b in red.audio_spans) and red.whole_segments == 1


def test_redact_audio_replaces_spans_only():
    import numpy as np

    audio = np.full(16000 * 3, 0.5, dtype=np.float32)
    out = rd.redact_audio(audio, [(1.0, 1.5)], mode="silence", pad_s=0.1)
    assert np.all(out[int(0.9 * 16000) : int(1.6 * 16000)] == 0) and np.all(out[: int(0.89 * 16000)] == 0.5)
    tone = rd.redact_audio(audio, [(1.0, 1.5)], pad_s=0.0)
    assert np.all(tone[:16000] == 0.5) and np.abs(tone[16000:24000]).max() <= 0.2 and tone[16000:24000].std() > 0.1
    assert audio[16000] == 0.5  # the input is not modified


ALL_FORMATS = "docx,pdf,srt,vtt,txt,json"


def _all_bytes(result) -> dict[str, bytes]:
    if result.path.is_dir():
        return {p.name: p.read_bytes() for p in result.path.iterdir()}
    with zipfile.ZipFile(result.path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _found_forms(files: dict[str, bytes]) -> list[tuple[str, str]]:
    hits = []
    for name, data in files.items():
        text = every_readable_form(name, data).lower()
        for forms in NAME_FORMS.values():
            hits += [(name, f) for f in forms if f.lower() in text]
    return hits


@pytest.mark.slow
def test_redacted_export_contains_no_form_of_any_name_in_any_byte(export_vault, tmp_path):
    # control: without redaction the names are there, in Russian and English, so the scan can see them
    plain = export_testimony(export_vault, EXPORT_CASE, tmp_path / "plain", ALL_FORMATS)
    assert {f for _n, f in _found_forms(_all_bytes(plain))} >= {"Ахмеда", "Ахмедом", "Akhmed", "Ahmed", "Argun", "Kadyrov"}

    table, added = redactions.refresh_table(export_vault, EXPORT_CASE)
    assert added and all(e.decision == "pending" for e in added)
    with pytest.raises(rd.RedactionError, match="still undecided"):
        export_testimony(export_vault, EXPORT_CASE, tmp_path / "early", ALL_FORMATS, redact=True)
    assert not (tmp_path / "early").exists()
    _accept_all(table)
    redactions.save_table(export_vault, EXPORT_CASE, table)
    # «МВД» has no transliteration in the English ("the Ministry of Internal Affairs"): the export refuses, naming it
    with pytest.raises(rd.RedactionError, match=r"may still name someone: #3 \(00:09\)"):
        export_testimony(export_vault, EXPORT_CASE, tmp_path / "doubt", ALL_FORMATS, redact=True)
    mvd = rd.suggestion_id("ORG", "МВД")
    table.add_variant(mvd, "Ministry of Internal Affairs")  # what the editor does about it
    redactions.save_table(export_vault, EXPORT_CASE, table)
    result = export_testimony(export_vault, EXPORT_CASE, tmp_path / "red", ALL_FORMATS, redact=True, as_zip=True)
    files = _all_bytes(result)
    assert len(files) == 11
    assert _found_forms(files) == []
    assert "Witness A" in every_readable_form(f"{EXPORT_CASE}.json", files[f"{EXPORT_CASE}.json"])
    manifest = json.loads(files["manifest.json"])
    assert manifest["redacted"] is True
    assert manifest["redaction_table_sha256"] == redactions.load_table(export_vault, EXPORT_CASE).digest()
    assert "Ministry of Internal Affairs" not in every_readable_form(f"{EXPORT_CASE}.txt", files[f"{EXPORT_CASE}.txt"])
    # the pseudonym table itself never leaves the vault: none of its structure, ids or decisions
    stored = export_vault.load_extra(EXPORT_CASE, "redactions")
    blob = "\n".join(every_readable_form(n, d) for n, d in files.items())
    for entry in stored["entries"]:
        assert entry["id"] not in blob
    assert '"decision"' not in blob and '"pseudonym"' not in blob and "accepted" not in blob


@pytest.mark.slow
def test_pure_render_with_table_never_shows_the_table():
    t = make_testimony()
    table = rd.PseudonymTable()
    table.merge(rd.suggest(t))
    _accept_all(table)
    data = render(t, "json", table=table, info=ExportInfo())
    out = json.loads(data)
    assert out["redacted"] is True and "Ахмед" not in data.decode() and out["meta"]["notes"] == "Witness A mentioned twice"
    with zipfile.ZipFile(io.BytesIO(render(t, "docx", table=table))) as zf:
        xml = zf.read("word/document.xml").decode()
    assert "Witness A" in xml and "Ахмед" not in xml and "Akhmed" not in xml


@pytest.mark.slow
def test_cli_redact_list_accept_and_export(export_vault, vault_path, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tests.fixtures_vault import PASSPHRASE
    from workstation.cli.main import app

    monkeypatch.setenv("WORKSTATION_PASSPHRASE", PASSPHRASE)
    base = ["--vault", str(vault_path), "--user", "edna"]
    runner = CliRunner()
    listed = runner.invoke(app, ["redact", EXPORT_CASE, *base])
    assert listed.exit_code == 0, listed.output
    pid = rd.suggestion_id("LOC", "Аргун")
    assert pid in listed.output and "pending" in listed.output
    refused = runner.invoke(app, ["export", EXPORT_CASE, "--out", str(tmp_path / "a"), "--redact", "--format", "txt", *base])
    assert refused.exit_code == 1 and not (tmp_path / "a").exists()
    decided = runner.invoke(app, ["redact", EXPORT_CASE, "--accept", "all", "--pseudonym", f"{pid}=Village X", *base])
    assert decided.exit_code == 0, decided.output
    assert "Village X" in decided.output and "pending:" not in decided.output
    doubt = runner.invoke(app, ["export", EXPORT_CASE, "--out", str(tmp_path / "b"), "--redact", "--format", "txt", *base])
    assert doubt.exit_code == 1 and "#3 (00:09)" in str(doubt.exception)
    shown = runner.invoke(app, ["redact", EXPORT_CASE, "--doubts", *base])
    assert "seg002" in shown.output and "Ministry of Internal Affairs" in shown.output and "1 segment doubt(s) open" in shown.output
    confirmed = runner.invoke(app, ["redact", EXPORT_CASE, "--confirm-english", "seg002", *base])
    assert "No doubt about the English is open." in confirmed.output, confirmed.output
    done = runner.invoke(app, ["export", EXPORT_CASE, "--out", str(tmp_path / "b"), "--redact", "--format", "txt", *base])
    assert done.exit_code == 0, done.output
    text = (tmp_path / "b" / f"{EXPORT_CASE}.txt").read_text()
    assert "Village X" in text and "Аргун" not in text and "Argun" not in text
    actions = [e.action for e in export_vault.audit_entries()]
    assert "redactions_decided" in actions and "redaction_english_confirmed" in actions
