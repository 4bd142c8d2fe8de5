#!/usr/bin/env python
"""ASR benchmark: the project's pipeline vs. plain faster-whisper, on the eval clips and on a long recording.

In one process and one run:
  (a) plain faster-whisper as a user would call it:
      WhisperModel(path, device="cpu", compute_type="int8").transcribe(wav, language="ru", beam_size=5)
      (same number of CPU threads as the pipeline, so neither oversubscribes the machine);
  (b) the project's pipeline: workstation.pipeline.run_pipeline(bytes, PipelineOptions(translate=False)).
Both get the same in-memory WAV bytes, so both include decoding.

The long recording (default ≥ 10 minutes) is made in memory by joining the eval clips (/work/shared/eval/asr
or WORKSTATION_SHARED) in shuffled passes, separated by 1–4 s pauses of quiet room noise (-66 dBFS).
Its reference is the clips' references in the same order. WER is normalised as the eval README says
(lower case, ё→е, no punctuation).

Prints WER, real-time factor (processing seconds / audio seconds) and peak RSS (sampled during each phase)
for (a) and (b), and the speed ratio (a)/(b) on the long recording.

    .venv/bin/python scripts/bench_asr.py                 # full run: clips + 10-minute recording
    .venv/bin/python scripts/bench_asr.py --quick         # smoke run: 5 clips, 2-minute recording
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

from workstation import media, offline  # noqa: E402
from workstation.config import REPO_ROOT  # noqa: E402

SR = 16000
SHARED = Path(os.environ.get("WORKSTATION_SHARED", REPO_ROOT.parent / "shared"))
EVAL_ASR = SHARED / "eval" / "asr"


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


def long_recording(clips: list[tuple[np.ndarray, str]], minutes: float, seed: int = 7) -> tuple[bytes, str, float]:
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
                pause = (noise.standard_normal(int(rng.uniform(1.0, 4.0) * SR)) * 0.0005).astype(np.float32)
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


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    with PeakRss() as rss:
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
    return result, elapsed, rss.peak


def plain_transcribe(model: Any, wav: bytes) -> str:
    segments, _ = model.transcribe(io.BytesIO(wav), language="ru", beam_size=5)
    return " ".join(s.text.strip() for s in segments)


def pipeline_transcribe(wav: bytes, options: Any) -> str:
    from workstation.pipeline import run_pipeline

    result = run_pipeline(wav, options)
    return " ".join(s.ru for s in result.segments)


def report(label: str, hyps: list[str], refs: list[str], seconds: float, audio_s: float, peak: int) -> dict[str, Any]:
    row = {
        "system": label,
        "wer": round(wer(refs, hyps), 4),
        "rtf": round(seconds / audio_s, 4),
        "seconds": round(seconds, 1),
        "audio_s": round(audio_s, 1),
        "peak_rss_mb": round(peak / 2**20),
    }
    print(f"  {label:<34} WER {row['wer']:.3f}   RTF {row['rtf']:.3f}   ({row['seconds']:.1f} s for "
          f"{row['audio_s']:.0f} s)   peak RSS {row['peak_rss_mb']} MB", flush=True)
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
    from workstation.pipeline import PipelineOptions, run_pipeline

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
    parser.add_argument("--skip-plain", action="store_true", help="only run the pipeline (for tuning)")
    parser.add_argument("--rss-minutes", type=float, default=0.0, help="also measure the pipeline's peak RSS on a "
                        "recording this long, in a subprocess (e.g. 60)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--_rss-child", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from workstation.pipeline import PipelineOptions

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
    wav, long_ref, long_s = long_recording(clips, minutes)
    clip_wavs = [media.wav_bytes(samples) for samples, _ in clips]
    clip_refs = [ref for _, ref in clips]
    clips_s = sum(s.size for s, _ in clips) / SR

    from faster_whisper import WhisperModel

    from workstation.models import whisper_model_path

    path = whisper_model_path(args.model)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
          f"threads {args.threads}; python {platform.python_version()}")
    print(f"model: {path}; pipeline options: beam {options.beam_size}, batch {options.batch_size or 'auto'}, "
          f"window {options.window_s:g} s, device {options.device}")
    print(f"eval clips: {len(clips)} ({clips_s:.0f} s); long recording: {long_s / 60:.1f} min "
          f"({len(long_ref.split())} reference words)\n", flush=True)

    rows: list[dict[str, Any]] = []
    # Warm both up (model load, first-call allocations) outside the timings.
    pipeline_transcribe(clip_wavs[0], options)
    plain = None
    if not args.skip_plain:
        plain = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=args.threads)
        plain_transcribe(plain, clip_wavs[0])

    if not args.skip_clips:
        print("eval clips:")
        if plain is not None:
            hyps, secs, peak = timed(lambda: [plain_transcribe(plain, w) for w in clip_wavs])
            rows.append({"set": "clips", **report("(a) plain faster-whisper beam 5", hyps, clip_refs, secs, clips_s,
                                                  peak)})
        hyps, secs, peak = timed(lambda: [pipeline_transcribe(w, options) for w in clip_wavs])
        rows.append({"set": "clips", **report("(b) pipeline", hyps, clip_refs, secs, clips_s, peak)})

    print(f"long recording ({long_s / 60:.1f} min):")
    long_rows = []
    if plain is not None:
        hyp, secs, peak = timed(lambda: plain_transcribe(plain, wav))
        long_rows.append({"set": "long", **report("(a) plain faster-whisper beam 5", [hyp], [long_ref], secs, long_s, peak)})
    hyp, secs, peak = timed(lambda: pipeline_transcribe(wav, options))
    long_rows.append({"set": "long", **report("(b) pipeline", [hyp], [long_ref], secs, long_s, peak)})
    rows.extend(long_rows)
    summary: dict[str, Any] = {"rows": rows}
    if len(long_rows) == 2:
        ratio = long_rows[0]["seconds"] / long_rows[1]["seconds"]
        summary["speed_ratio_long"] = round(ratio, 2)
        summary["wer_no_worse_long"] = long_rows[1]["wer"] <= long_rows[0]["wer"]
        print(f"\nspeed ratio on the long recording (a)/(b): {ratio:.2f}x   "
              f"(target >= 2.5x); pipeline WER {'<=' if summary['wer_no_worse_long'] else '>'} plain WER")

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
