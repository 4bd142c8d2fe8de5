#!/usr/bin/env python
"""Diarization benchmark: two-speaker recordings built from the eval clips, scored against who really spoke.

Recordings (tests/conversation.py builds them in memory): two of the three VoxForge voices alternate turn by
turn, ≥ 8 minutes and ≥ 40 turns, pauses 0.4–1.5 s of quiet room noise, a random gain per clip, and one
1.5-second stretch where the next speaker starts before the other has finished:
  - "tune"        speakers B + C, seed 7 (the recording the settings were chosen on);
  - "held-out 1"  speakers A + B, seed 11;  "held-out 2"  speakers A + C, seed 13 (never used to tune);
  - "held-out 3"  speakers C + A, seed 23;  "held-out 4"  speakers C + B, seed 29 (added when the region end
    threshold was changed, to judge that change on recordings nobody had looked at).
Material is reused (19–29 s per voice), so a diarizer hears the same audio many times: easier than a real
interview, and each voice also comes with its own recording channel (real interviews share one microphone).

Scores, computed here (no pyannote.metrics):
  - DER, pyannote-style: (missed speech + false alarm + speaker confusion) / total reference speech, frame by
    frame at 10 ms, with the optimal one-to-one mapping of system to reference speakers; with the standard
    0.25 s collar (either side of every reference boundary, not scored) and without any collar;
  - turns right: % of reference turns whose most-overlapping system speaker (mapped) is the right one;
  - speakers found (the number is not given to the diarizer unless --speakers);
  - RTF and peak RSS of diarization alone (VAD + embeddings + overlap + clustering), in a fresh subprocess per
    recording that decodes it into the pipeline's ten-minute windows and diarizes them (1 thread by default, as
    the pipeline);
  - transcript WER with and without diarization (`--wer`: runs the whole pipeline twice per recording; slow).

    .venv/bin/python scripts/bench_diarize.py                  # the three recordings, diarization only
    .venv/bin/python scripts/bench_diarize.py --wer            # + WER of run_pipeline with/without --diarize
    .venv/bin/python scripts/bench_diarize.py --minutes 60     # + RTF / peak RSS on a 60-minute recording
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conversation import Conversation, RefTurn, build, load_clips  # noqa: E402
from workstation.platform import offline  # noqa: E402

SHARED = Path(os.environ.get("WORKSTATION_SHARED", REPO.parent / "shared"))
EVAL_ASR = SHARED / "eval" / "asr"
RESOLUTION = 0.01
RECORDINGS: dict[str, tuple[tuple[str, str], int]] = {
    "tune": (("B", "C"), 7),
    "held-out 1": (("A", "B"), 11),
    "held-out 2": (("A", "C"), 13),
    "held-out 3": (("C", "A"), 23),
    "held-out 4": (("C", "B"), 29),
}


# --- scoring ---------------------------------------------------------------------------------------------


def _activity(turns: Sequence[tuple[float, float, str]], speakers: list[str], frames: int) -> np.ndarray:
    """(speakers, frames) boolean: who speaks in each 10 ms frame."""
    grid = np.zeros((len(speakers), frames), dtype=bool)
    for start, end, who in turns:
        grid[speakers.index(who), int(round(start / RESOLUTION)) : int(round(end / RESOLUTION))] = True
    return grid


def der(reference: Sequence[tuple[float, float, str]], hypothesis: Sequence[Any], duration: float,
        collar: float = 0.0) -> dict[str, float]:
    """Diarization error rate and its parts (fractions of scored reference speech), optimal speaker mapping.

    `reference`: (start, end, speaker) stretches of speech; two speakers' stretches may overlap."""
    frames = int(np.ceil(duration / RESOLUTION)) + 1
    ref_turns = list(reference)
    hyp_turns = [(t.start, t.end, t.speaker) for t in hypothesis]
    ref_names = sorted({t[2] for t in ref_turns})
    hyp_names = sorted({t[2] for t in hyp_turns})
    ref = _activity(ref_turns, ref_names, frames)
    hyp = _activity(hyp_turns, hyp_names, frames)
    scored = np.ones(frames, dtype=bool)
    if collar > 0:
        for start, end, _ in ref_turns:
            for edge in (start, end):
                scored[max(0, int(round((edge - collar) / RESOLUTION))) : int(round((edge + collar) / RESOLUTION))] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    mapping = best_mapping(ref, hyp, ref_names, hyp_names)
    correct = np.zeros(ref.shape[1], dtype=np.int64)
    for h, r in mapping.items():
        correct += ref[ref_names.index(r)] & hyp[hyp_names.index(h)]
    total = max(1, int(n_ref.sum()))
    missed = np.maximum(0, n_ref - n_hyp).sum() / total
    false_alarm = np.maximum(0, n_hyp - n_ref).sum() / total
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum() / total
    return {"der": missed + false_alarm + confusion, "missed": missed, "false_alarm": false_alarm,
            "confusion": confusion, "scored_speech_s": total * RESOLUTION}


def best_mapping(ref: np.ndarray, hyp: np.ndarray, ref_names: list[str], hyp_names: list[str]) -> dict[str, str]:
    """System speaker → reference speaker, one to one, maximising the frames they share (exhaustive search)."""
    shared = (hyp[:, None, :] & ref[None, :, :]).sum(axis=2)  # (hyp, ref)
    best: tuple[int, dict[str, str]] = (-1, {})
    if len(hyp_names) <= len(ref_names):
        for perm in itertools.permutations(range(len(ref_names)), len(hyp_names)):
            score = sum(shared[h, r] for h, r in enumerate(perm))
            if score > best[0]:
                best = (score, {hyp_names[h]: ref_names[r] for h, r in enumerate(perm)})
    else:
        for perm in itertools.permutations(range(len(hyp_names)), len(ref_names)):
            score = sum(shared[h, r] for r, h in enumerate(perm))
            if score > best[0]:
                best = (score, {hyp_names[h]: ref_names[r] for r, h in enumerate(perm)})
    return best[1]


def turns_right(reference: Sequence[RefTurn], hypothesis: Sequence[Any], duration: float) -> float:
    """% of reference turns whose main system speaker (through the DER mapping) is their speaker."""
    frames = int(np.ceil(duration / RESOLUTION)) + 1
    plain = [t for t in hypothesis if not getattr(t, "overlap", False)]
    ref_names = sorted({t.speaker for t in reference})
    hyp_names = sorted({t.speaker for t in plain})
    if not hyp_names:
        return 0.0
    ref = _activity([(t.start, t.end, t.speaker) for t in reference], ref_names, frames)
    hyp = _activity([(t.start, t.end, t.speaker) for t in plain], hyp_names, frames)
    mapping = best_mapping(ref, hyp, ref_names, hyp_names)
    right = 0
    for turn in reference:
        a, b = int(round(turn.start / RESOLUTION)), int(round(turn.end / RESOLUTION))
        talk = hyp[:, a:b].sum(axis=1)
        if talk.max() > 0 and mapping.get(hyp_names[int(np.argmax(talk))]) == turn.speaker:
            right += 1
    return 100.0 * right / len(reference)


def overlap_scores(conversation: Conversation, hypothesis: Sequence[Any]) -> dict[str, float]:
    """Seconds of true overlap, of it marked, and of marks where there is none."""
    true = [(b.start, a.end) for a, b in zip(conversation.turns, conversation.turns[1:]) if b.start < a.end]
    marks = [(t.start, t.end) for t in hypothesis if getattr(t, "overlap", False)]
    hit = sum(max(0.0, min(e, me) - max(s, ms)) for s, e in true for ms, me in marks)
    return {"overlap_true_s": sum(e - s for s, e in true), "overlap_marked_s": hit,
            "overlap_false_s": sum(me - ms for ms, me in marks) - hit}


# --- running the diarizer --------------------------------------------------------------------------------


class PeakRss:
    """Samples this process's RSS every 20 ms while active; `.peak` in bytes."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def _child(wav_path: str, threads: int, speakers: int | None, decode_only: bool = False) -> dict[str, Any]:
    """In a fresh process: diarize the recording window by window as the pipeline does; time and peak RSS.

    `rss_before`: the process with its libraries imported and the recording's bytes read, before the
    diarizer exists; `peak_rss`: the highest RSS while diarizing (sampled every 20 ms). `decode_only`: the same
    loop without the diarizer (the pipeline's own decoding of the windows), to see what diarization adds."""
    import psutil

    from workstation.speech import diarize
    from workstation.speech.pipeline import _windows

    data = Path(wav_path).read_bytes()
    rss_before = psutil.Process().memory_info().rss
    with PeakRss() as rss:
        t0, c0 = time.perf_counter(), time.process_time()
        diarizer = None if decode_only else diarize.Diarizer(threads=threads)
        load_s = time.perf_counter() - t0
        duration = 0.0
        for offset, audio in _windows(data, 600.0, None):
            duration = offset + audio.size / 16000
            if diarizer is not None:
                diarizer.add(audio, offset)
            del audio
        result = diarizer.finish(speakers) if diarizer is not None else diarize.Diarization([], [])
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
    return {
        "turns": [t.to_dict() for t in result.turns], "speakers": result.speakers, "wall_s": wall,
        "load_s": load_s, "cpu_s": cpu, "duration_s": duration, "partials": result.partials,
        "peak_rss": rss.peak, "rss_before": rss_before, "recording_bytes": len(data),
    }


def run_child(conversation: Conversation, threads: int, speakers: int | None, tmp: Path) -> dict[str, Any]:
    """The diarization child's figures, plus `decode_peak_rss`: the same child decoding without diarizing."""
    wav = tmp / "conversation.wav"  # a benchmark recording built from public eval clips, not testimony
    wav.write_bytes(conversation.wav_bytes())
    runs = []
    try:
        for extra in ([], ["--decode-only"]):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(wav), "--threads", str(threads)] + extra
                + (["--speakers", str(speakers)] if speakers else []),
                capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        wav.unlink(missing_ok=True)
    return {**runs[0], "decode_peak_rss": runs[1]["peak_rss"]}


# --- WER with and without diarization ----------------------------------------------------------------------


def normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def pipeline_wer(conversation: Conversation, diarize_on: bool, speakers: int | None) -> tuple[float, list[Any]]:
    import jiwer

    from workstation.speech.pipeline import PipelineOptions, run_pipeline

    result = run_pipeline(conversation.wav_bytes(), PipelineOptions(translate=False, diarize=diarize_on,
                                                                    num_speakers=speakers))
    hyp = normalise(" ".join(s.ru for s in result.segments))
    return float(jiwer.wer(normalise(conversation.reference_text()), hyp)), result.segments


# --- main -----------------------------------------------------------------------------------------------------


def describe_machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} CPUs, load average {load:.1f} at start, Python {platform.python_version()}"


def bench_one(name: str, conversation: Conversation, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    child = run_child(conversation, args.threads, args.speakers, tmp)
    from workstation.speech.diarize import SpeakerTurn

    hyp = [SpeakerTurn.from_dict(t) for t in child["turns"]]
    scores = {
        "recording": name, "minutes": conversation.duration_s / 60, "turns": len(conversation.turns),
        "speakers_found": len(child["speakers"]),
        "der_collar": der(conversation.speech(), hyp, conversation.duration_s, collar=0.25),
        "der_no_collar": der(conversation.speech(), hyp, conversation.duration_s, collar=0.0),
        "turns_right": turns_right(conversation.turns, hyp, conversation.duration_s),
        "rtf": child["wall_s"] / conversation.duration_s, "cpu_rtf": child["cpu_s"] / conversation.duration_s,
        "wall_s": child["wall_s"], "peak_rss_mb": child["peak_rss"] / 1e6,
        "decode_peak_rss_mb": child["decode_peak_rss"] / 1e6,
        "rss_before_mb": child["rss_before"] / 1e6, "recording_mb": child["recording_bytes"] / 1e6,
        "partials": child["partials"], **overlap_scores(conversation, hyp),
    }
    if args.wer:
        scores["wer_plain"], _ = pipeline_wer(conversation, False, None)
        scores["wer_diarized"], segments = pipeline_wer(conversation, True, args.speakers)
        scores["segments_with_speaker"] = sum(1 for s in segments if s.speaker.startswith("SPEAKER_"))
        scores["segments"] = len(segments)
    return scores


def print_row(s: dict[str, Any]) -> None:
    c, n = s["der_collar"], s["der_no_collar"]
    print(f"{s['recording']:<12} {s['minutes']:5.1f} min {s['turns']:3d} turns | speakers {s['speakers_found']} | "
          f"turns right {s['turns_right']:5.1f} % | DER {100 * c['der']:5.2f} % (miss {100 * c['missed']:.2f}, "
          f"FA {100 * c['false_alarm']:.2f}, conf {100 * c['confusion']:.2f}) collar 0.25 | "
          f"DER {100 * n['der']:5.2f} % no collar | RTF {s['rtf']:.4f} (CPU {s['cpu_rtf']:.4f}) | "
          f"peak RSS {s['peak_rss_mb']:.0f} MB (decoding alone {s['decode_peak_rss_mb']:.0f} MB, the recording's "
          f"bytes {s['recording_mb']:.0f} MB) | overlap marked "
          f"{s['overlap_marked_s']:.1f} of {s['overlap_true_s']:.1f} s, {s['overlap_false_s']:.1f} s wrongly"
          + (f" | WER {s['wer_plain']:.3f} → {s['wer_diarized']:.3f} with diarization, "
             f"{s['segments_with_speaker']}/{s['segments']} segments with a speaker" if "wer_plain" in s else ""),
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--decode-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help="embedding threads (the pipeline uses 1)")
    parser.add_argument("--speakers", type=int, default=None, help="give the number of speakers (default: found)")
    parser.add_argument("--wer", action="store_true", help="also run the whole pipeline with and without diarization")
    parser.add_argument("--minutes", type=float, default=0, help="also a recording this long (RTF, RSS only)")
    parser.add_argument("--only", default="", help="comma-separated recording names")
    parser.add_argument("--json", type=Path, help="write the scores here")
    args = parser.parse_args()
    offline.activate()
    if args.child:
        print(json.dumps(_child(args.child, args.threads, args.speakers, args.decode_only)))
        return 0
    import tempfile

    clips = load_clips(EVAL_ASR)
    print(f"# {describe_machine()}; diarization threads {args.threads}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (pair, seed) in RECORDINGS.items():
            if args.only and name not in args.only.split(","):
                continue
            conversation = build(clips, pair, seed=seed, min_minutes=8, min_turns=40)
            rows.append(bench_one(name, conversation, args, Path(tmp)))
            print_row(rows[-1])
        if args.minutes:
            conversation = build(clips, ("A", "B"), seed=17, min_minutes=args.minutes)
            saved, args.wer = args.wer, False
            rows.append(bench_one(f"{args.minutes:.0f} min", conversation, args, Path(tmp)))
            args.wer = saved
            print_row(rows[-1])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
