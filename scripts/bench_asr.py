#!/usr/bin/env python
"""ASR benchmark: the project's pipeline vs. faster-whisper's own BatchedInferencePipeline, in one run.

The anchor is what a knowledgeable user would pick: faster-whisper's `BatchedInferencePipeline` with its
defaults (beam 5, batch 8, its own VAD), on a WhisperModel with the same CPU threads as the pipeline:

    BatchedInferencePipeline(WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=N))
        .transcribe(wav, language="ru")

against `workstation.speech.pipeline.run_pipeline(bytes, PipelineOptions(translate=False))` (which also produces
word times, confidences and the coverage check). Both get the same in-memory WAV bytes, so both include
decoding. For each: WER, dropped runs (≥ 3 reference words deleted in a row: a phrase lost), RTF and peak RSS.

Long recordings are made in memory from the eval clips of *every* subset (/work/shared/eval/asr or
WORKSTATION_SHARED), in shuffled passes separated by pauses of quiet room noise (-66 dBFS):
  - "tune": seed 7, pauses 1–4 s (the recording the defaults were chosen on);
  - "held-out": seed 11, interview-like pauses 0.4–1.5 s, and seed 13, pauses 0.3–6 s — not used to tune.
Their reference is the clips' references in the same order. WER is normalised as the eval README says
(lower case, ё→е, no punctuation).

    .venv/bin/python scripts/bench_asr.py                 # full run: clips + three 10-minute recordings
    .venv/bin/python scripts/bench_asr.py --quick         # smoke run: 5 clips, one 2-minute recording
    .venv/bin/python scripts/bench_asr.py --rss-minutes 60   # + peak RSS of the pipeline on 60 minutes
                                                           #   (in a fresh subprocess, for a clean figure)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workstation.platform import offline
from workstation.platform.config import REPO_ROOT
from workstation.speech import media

SR = 16000
SHARED = Path(os.environ.get("WORKSTATION_SHARED", REPO_ROOT.parent / "shared"))
EVAL_ASR = SHARED / "eval" / "asr"
ANCHOR = "faster-whisper batched"
PIPELINE = "pipeline"


def normalise(text: str) -> str:
    text = text.lower().replace("ё", "е")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def wer(refs: list[str], hyps: list[str]) -> float:
    import jiwer

    pairs = [(normalise(r), normalise(h)) for r, h in zip(refs, hyps)]
    return float(jiwer.wer([r for r, _ in pairs], [h if h else "" for _, h in pairs]))


def load_clips(limit: int | None) -> list[tuple[np.ndarray, str]]:
    with open(EVAL_ASR / "manifest.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if limit:
        rows = rows[:limit]
    return [(media.decode((EVAL_ASR / r["file"]).read_bytes()), r["reference"]) for r in rows]


RECORDINGS = {  # name: (seed, shortest pause, longest pause)
    "tune": (7, 1.0, 4.0),
    "held-out A": (11, 0.4, 1.5),
    "held-out B": (13, 0.3, 6.0),
}


def long_recording(
    clips: list[tuple[np.ndarray, str]], minutes: float, seed: int = 7, pauses: tuple[float, float] = (1.0, 4.0)
) -> tuple[bytes, str, float]:
    """A WAV (bytes) of ≥ `minutes`, clips in shuffled passes with pauses; its reference; its duration."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    buf = io.BytesIO()
    refs: list[str] = []
    total = 0
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SR)
        while total < minutes * 60 * SR:
            order = list(range(len(clips)))
            rng.shuffle(order)
            for i in order:
                samples, ref = clips[i]
                pause = (noise.standard_normal(int(rng.uniform(*pauses) * SR)) * 0.0005).astype(np.float32)
                block = np.concatenate([pause, samples])
                out.writeframes((np.clip(block, -1, 1) * 32767).astype("<i2").tobytes())
                refs.append(ref)
                total += block.size
                if total >= minutes * 60 * SR:
                    break
    return buf.getvalue(), " ".join(refs), total / SR


class PeakRss:
    """Samples this process's RSS every 50 ms while active; `.peak` in bytes."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


CPU_SECONDS: list[float] = []  # process CPU time of the last timed() call (robust to a busy machine)


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    with PeakRss() as rss:
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        elapsed = time.perf_counter() - t0
    CPU_SECONDS[:] = [time.process_time() - c0]
    return result, elapsed, rss.peak


def anchor_transcribe(pipeline: Any, wav: bytes) -> str:
    """faster-whisper's BatchedInferencePipeline with its defaults (beam 5, batch 8, VAD on)."""
    segments, _ = pipeline.transcribe(io.BytesIO(wav), language="ru")
    return " ".join(s.text.strip() for s in segments)


def pipeline_transcribe(wav: bytes, options: Any) -> str:
    from workstation.speech.pipeline import run_pipeline

    result = run_pipeline(wav, options)
    return " ".join(s.ru for s in result.segments)


def spell_numbers(text: str) -> str:
    """Digits as Russian words ("2013" → "две тысячи тринадцать"): the references spell numbers out, Whisper
    writes digits, and a number must not count as a lost phrase. Used for dropped runs only, for both systems;
    WER stays normalised exactly as the eval README says."""
    from num2words import num2words

    return re.sub(r"\d+", lambda m: f" {num2words(int(m.group()), lang='ru')} ", text)


def dropped_runs(refs: list[str], hyps: list[str], min_words: int = 3) -> tuple[int, int]:
    """(runs, words): runs of ≥ `min_words` consecutive reference words the hypothesis deleted."""
    import jiwer

    runs = words = 0
    for ref, hyp in zip(refs, hyps):
        ref, hyp = normalise(ref), normalise(spell_numbers(hyp))
        if not ref:
            continue
        if not hyp:
            runs, words = runs + 1, words + len(ref.split())
            continue
        for chunk in jiwer.process_words(ref, hyp).alignments[0]:
            length = chunk.ref_end_idx - chunk.ref_start_idx
            if chunk.type == "delete" and length >= min_words:
                runs, words = runs + 1, words + length
    return runs, words


def report(label: str, hyps: list[str], refs: list[str], seconds: float, audio_s: float, peak: int) -> dict[str, Any]:
    runs, lost = dropped_runs(refs, hyps)
    row = {
        "system": label,
        "wer": round(wer(refs, hyps), 4),
        "dropped_runs": runs,
        "dropped_words": lost,
        "rtf": round(seconds / audio_s, 4),
        "seconds": round(seconds, 1),
        "cpu_seconds": round(CPU_SECONDS[0], 1) if CPU_SECONDS else None,
        "audio_s": round(audio_s, 1),
        "peak_rss_mb": round(peak / 2**20),
    }
    print(f"  {label:<26} WER {row['wer']:.3f}   dropped runs {runs} ({lost} words)   RTF {row['rtf']:.3f}   "
          f"({row['seconds']:.1f} s, CPU {row['cpu_seconds']} s, for {row['audio_s']:.0f} s)   peak RSS {row['peak_rss_mb']} MB", flush=True)
    return row


def vm_hwm() -> int:
    """Peak RSS of this process image in bytes (VmHWM: unlike ru_maxrss it does not carry over the parent's
    high-water mark across fork + exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_child(minutes: float, options: dict[str, Any]) -> None:
    """Run in a fresh process: pipeline on a `minutes` recording; print JSON with the peak RSS figures."""
    from workstation.speech.pipeline import PipelineOptions, run_pipeline

    offline.activate()
    clips = load_clips(None)
    wav, _, duration = long_recording(clips, minutes)
    del clips
    before = vm_hwm()
    with PeakRss() as rss:
        t0 = time.perf_counter()
        result = run_pipeline(wav, PipelineOptions(translate=False, **options))
        elapsed = time.perf_counter() - t0
    print(json.dumps({
        "minutes": round(duration / 60, 1),
        "recording_mb": round(len(wav) / 2**20),
        "segments": len(result.segments),
        "seconds": round(elapsed, 1),
        "rtf": round(elapsed / duration, 4),
        "peak_rss_mb_during_pipeline": round(rss.peak / 2**20),
        "peak_rss_mb_process": round(vm_hwm() / 2**20),
        "peak_rss_mb_before_pipeline": round(before / 2**20),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long recording (default 10)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 clips, 2-minute recording")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for both (a) and (b)")
    parser.add_argument("--beam-size", type=int, default=None, help="pipeline beam size (default: the pipeline's)")
    parser.add_argument("--batch-size", type=int, default=None, help="pipeline batch size (default: the pipeline's)")
    parser.add_argument("--window-s", type=float, default=None, help="pipeline window length in seconds")
    parser.add_argument("--skip-clips", action="store_true", help="only the long recording (for tuning)")
    parser.add_argument("--skip-anchor", dest="skip_plain", action="store_true", help="only run the pipeline (for tuning)")
    parser.add_argument("--rss-minutes", type=float, default=0.0, help="also measure the pipeline's peak RSS on a "
                        "recording this long, in a subprocess (e.g. 60)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--_rss-child", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from workstation.speech.pipeline import PipelineOptions

    overrides: dict[str, Any] = {"model": args.model, "cpu_threads": args.threads, "device": "cpu"}
    if args.beam_size:
        overrides["beam_size"] = args.beam_size
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    if args.window_s:
        overrides["window_s"] = args.window_s
    if args._rss_child:
        rss_child(args._rss_child, overrides)
        return

    offline.activate()
    options = PipelineOptions(translate=False, **overrides)
    minutes = 2.0 if args.quick else args.minutes
    clips = load_clips(5 if args.quick else None)
    chosen = dict(list(RECORDINGS.items())[:1]) if args.quick else RECORDINGS
    recordings = {
        name: long_recording(clips, minutes, seed, (lo, hi)) for name, (seed, lo, hi) in chosen.items()
    }
    clip_wavs = [media.wav_bytes(samples) for samples, _ in clips]
    clip_refs = [ref for _, ref in clips]
    clips_s = sum(s.size for s, _ in clips) / SR

    from faster_whisper import WhisperModel

    from workstation.speech.models import whisper_model_path

    path = whisper_model_path(args.model)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
          f"threads {args.threads}; python {platform.python_version()}")
    print(f"model: {path}; pipeline options: beam {options.beam_size}, batch {options.batch_size or 'auto'}, "
          f"window {options.window_s:g} s, device {options.device}")
    print(f"eval clips: {len(clips)} ({clips_s:.0f} s); long recordings: {', '.join(recordings)}\n", flush=True)

    rows: list[dict[str, Any]] = []
    anchor = None
    if not args.skip_plain:
        from faster_whisper import BatchedInferencePipeline

        anchor = BatchedInferencePipeline(
            WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=args.threads)
        )
    # Warm both up (model load, first-call allocations) outside the timings.
    pipeline_transcribe(clip_wavs[0], options)
    if anchor is not None:
        anchor_transcribe(anchor, clip_wavs[0])

    if not args.skip_clips:
        print("eval clips:")
        if anchor is not None:
            hyps, secs, peak = timed(lambda: [anchor_transcribe(anchor, w) for w in clip_wavs])
            rows.append({"set": "clips", **report(ANCHOR, hyps, clip_refs, secs, clips_s, peak)})
        hyps, secs, peak = timed(lambda: [pipeline_transcribe(w, options) for w in clip_wavs])
        rows.append({"set": "clips", **report(PIPELINE, hyps, clip_refs, secs, clips_s, peak)})

    summary: dict[str, Any] = {"rows": rows, "long": {}}
    for name, (wav, long_ref, long_s) in recordings.items():
        print(f"long recording {name!r} ({long_s / 60:.1f} min, {len(long_ref.split())} words):")
        pair = []
        if anchor is not None:
            hyp, secs, peak = timed(lambda: anchor_transcribe(anchor, wav))  # noqa: B023 - called at once
            pair.append({"set": name, **report(ANCHOR, [hyp], [long_ref], secs, long_s, peak)})
        hyp, secs, peak = timed(lambda: pipeline_transcribe(wav, options))  # noqa: B023 - called at once
        pair.append({"set": name, **report(PIPELINE, [hyp], [long_ref], secs, long_s, peak)})
        rows.extend(pair)
        if len(pair) == 2:
            verdict = {
                "speed_ratio": round(pair[0]["seconds"] / pair[1]["seconds"], 2),
                "cpu_ratio": round(pair[0]["cpu_seconds"] / pair[1]["cpu_seconds"], 2),
                "wer_no_worse": pair[1]["wer"] <= pair[0]["wer"],
                "pipeline_dropped_runs": pair[1]["dropped_runs"],
            }
            summary["long"][name] = verdict
            print(f"  -> speed ratio anchor/pipeline {verdict['speed_ratio']:.2f}x (target >= 1.4x; CPU time "
                  f"{verdict['cpu_ratio']:.2f}x); pipeline WER "
                  f"{'<=' if verdict['wer_no_worse'] else '>'} anchor WER; pipeline dropped runs "
                  f"{verdict['pipeline_dropped_runs']} (target 0)", flush=True)

    if args.rss_minutes:
        print(f"\npeak RSS of the pipeline on a {args.rss_minutes:g}-minute recording (fresh subprocess)...", flush=True)
        cmd = [sys.executable, __file__, "--_rss-child", str(args.rss_minutes), "--model", args.model,
               "--threads", str(args.threads)]
        if args.beam_size:
            cmd += ["--beam-size", str(args.beam_size)]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        if args.window_s:
            cmd += ["--window-s", str(args.window_s)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        child = json.loads(out)
        summary["rss"] = child
        print(f"  {child['minutes']} min ({child['recording_mb']} MB WAV in memory): peak RSS during the pipeline "
              f"{child['peak_rss_mb_during_pipeline']} MB (process VmHWM {child['peak_rss_mb_process']} MB; target "
              f"<= 1536 MB), RTF {child['rtf']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
