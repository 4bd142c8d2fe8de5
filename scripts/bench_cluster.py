"""Cluster throughput: 1 vs 2 worker processes (one thread each) on the same recordings, and the per-recording
overhead of the cluster path against local sealed processing.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_cluster.py [--recordings 4] [--min-window 15]

The recordings are the eval clips (shared/eval/asr) laid end to end with 1.2 s of silence between them, shared
out into `--recordings` recordings. Everything runs on this machine over loopback with mutual TLS: a real
`workstation cluster scheduler` and `workstation cluster worker` processes, a CA made for the run. Whisper base,
no translation, 1 CPU thread per sealed pipeline (local too), so "2 workers" means 2 cores at work.
`--min-window` lowers the cluster's shortest window (120 s by default) so that these short recordings are
still cut into windows as hour-long ones would be.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workstation.platform import offline, tls  # noqa: E402  (after the repository is on sys.path)

SHARED = Path(os.environ.get("WORKSTATION_SHARED", REPO.parent / "shared"))
EVAL = SHARED / "eval" / "asr"


def recordings(count: int) -> list[bytes]:
    from workstation.speech import media

    with open(EVAL / "manifest.csv", encoding="utf-8") as fh:
        files = [row["file"] for row in csv.DictReader(fh)]
    gap = np.zeros(int(16000 * 1.2), np.float32)
    groups: list[list[np.ndarray]] = [[] for _ in range(count)]
    for i, name in enumerate(files):
        groups[i % count] += [media.decode((EVAL / name).read_bytes()), gap]
    return [media.wav_bytes(np.concatenate(g)) for g in groups]


def start(args: list[str], log: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "workstation.cli.main", "cluster", *args], stdout=subprocess.PIPE,
                            stderr=log.open("wb"), env=env, text=True)


def wait_line(proc: subprocess.Popen[str], pattern: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(pattern, line)
        if found:
            return found.group(1) if found.groups() else line
    raise SystemExit(f"process ended before printing {pattern!r}")


def start_cluster(ca: Path, workdir: Path, workers: int, first_worker: int) -> tuple[str, list[subprocess.Popen[str]]]:
    scheduler = start(["scheduler", "--tls", str(ca / "scheduler"), "--port", "0"],
                      workdir / f"scheduler-{workers}.log")
    procs = [scheduler]
    address = wait_line(scheduler, r"listening at (tls://\S+)")
    for i in range(first_worker, first_worker + workers):
        worker = start(["worker", address, "--tls", str(ca / f"worker-{i}"), "--nthreads", "1"],
                       workdir / f"worker-{i}.log")
        procs.append(worker)
        wait_line(worker, r"(Worker listening)")
    return address, procs


def cpu_self_and_children() -> float:
    """CPU seconds of this process and of the children it has reaped (the sealed workers it started)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def stop_and_count_cpu(procs: list[subprocess.Popen[str]]) -> float:
    """Stop the cluster's processes; their CPU seconds, their own sealed workers included (wait4's rusage)."""
    for proc in procs:
        proc.terminate()
    total = 0.0
    for proc in procs:
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        total += usage.ru_utime + usage.ru_stime
    return total


def remote(address: str, ca: Path, recording: bytes, options, min_window: float) -> tuple[float, int]:
    from workstation.services import cluster

    stages: list[str] = []
    t0 = time.perf_counter()
    cluster.process_remote(recording, options, address, ca / "client", progress=lambda f, s: stages.append(s),
                           min_window_s=min_window)
    found = re.search(r"done \((\d+) windows", stages[-1])
    return time.perf_counter() - t0, int(found.group(1)) if found else 0


def fixed_costs(data: list[bytes], options, min_window: float) -> None:
    """Load-independent CPU seconds of the pieces the cluster adds: cutting, one more window, an idle node."""
    from workstation.speech import sealed

    def cpu_of(fn) -> float:
        c0 = cpu_self_and_children()
        fn()
        return cpu_self_and_children() - c0

    whole = sum(cpu_of(lambda d=d: sealed.run_pipeline(d, options)) for d in data)
    windows = [w for d in data for w in sealed.split(d, parts=2, min_s=min_window, max_s=600)]
    parts = sum(cpu_of(lambda w=w: sealed.run_pipeline(w.audio, options)) for w in windows)
    cutting = sum(cpu_of(lambda d=d: list(sealed.split(d, parts=2, min_s=min_window, max_s=600))) for d in data)
    bare = cpu_of(sealed.check)
    extra = (parts - whole) / max(1, len(windows) - len(data))
    print(f"fixed costs (CPU s): cutting a recording {cutting / len(data):.1f}; each window beyond the first "
          f"{extra:+.1f} (a sealed worker and the model loading again; a bare sealed worker alone {bare:.1f})")
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "tls"
        tls.init_ca(ca, workers=1)
        _, procs = start_cluster(ca, Path(tmp), 1, 1)
        began = time.perf_counter()
        time.sleep(30)
        idle = stop_and_count_cpu(procs)
        elapsed = time.perf_counter() - began
    print(f"an idle scheduler + worker: {idle:.1f} CPU s in {elapsed:.0f} s (start-up included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=4)
    parser.add_argument("--min-window", type=float, default=15.0)
    parser.add_argument("--fixed-costs-only", action="store_true", help="Only the load-independent CPU costs.")
    args = parser.parse_args()
    offline.activate()

    from workstation.speech import sealed
    from workstation.speech.pipeline import PipelineOptions

    data = recordings(args.recordings)
    audio_s = [len(d) / 32000 for d in data]  # 16-bit mono 16 kHz WAV: 32 000 bytes a second (+ header)
    options = PipelineOptions(translate=False, cpu_threads=1)
    load = os.getloadavg()
    if args.fixed_costs_only:
        fixed_costs(data, options, args.min_window)
        return offline.exit_status()
    print(f"{len(data)} recordings, {sum(audio_s):.0f} s of audio ({', '.join(f'{a:.0f}' for a in audio_s)} s); "
          f"{os.cpu_count()} CPUs, load average at start {load[0]:.1f}")

    # The CPUs may be shared with other work: the three paths take turns on each recording, so a change of load
    # falls on all three alike. Both clusters stay up throughout (idle Dask processes cost next to nothing).
    paths = ("local", "1 worker, whole", "1 worker", "2 workers")
    times: dict[str, list[float]] = {label: [] for label in paths}
    cpu: dict[str, float] = dict.fromkeys(paths, 0.0)
    windows: dict[str, list[int]] = {label: [] for label in paths[1:]}
    splits = []
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "tls"
        tls.init_ca(ca, workers=3)
        one_address, one_procs = start_cluster(ca, Path(tmp), 1, 1)
        two_address, two_procs = start_cluster(ca, Path(tmp), 2, 2)
        try:
            for recording in data:
                c0, t0 = cpu_self_and_children(), time.perf_counter()
                sealed.run_pipeline(recording, options)
                times["local"].append(time.perf_counter() - t0)
                cpu["local"] += cpu_self_and_children() - c0
                for label, address, min_window in (("1 worker, whole", one_address, 600.0),
                                                   ("1 worker", one_address, args.min_window),
                                                   ("2 workers", two_address, args.min_window)):
                    c0 = cpu_self_and_children()
                    took, count = remote(address, ca, recording, options, min_window)
                    cpu[label] += cpu_self_and_children() - c0  # the workstation's share: cutting, the client
                    times[label].append(took)
                    windows[label].append(count)
                t0 = time.perf_counter()
                flac = sum(len(w.audio) for w in sealed.split(recording, parts=2, min_s=args.min_window, max_s=600))
                splits.append((time.perf_counter() - t0, flac))
        finally:  # the 1-worker cluster served two paths: its processes' CPU is shared out by wall time
            one_cpu = stop_and_count_cpu(one_procs)
            whole, windowed = sum(times["1 worker, whole"]), sum(times["1 worker"])
            whole_share = whole / max(1e-9, whole + windowed)
            cpu["1 worker, whole"] += one_cpu * whole_share
            cpu["1 worker"] += one_cpu * (1 - whole_share)
            cpu["2 workers"] += stop_and_count_cpu(two_procs)
    total = sum(audio_s)
    for label, took in times.items():
        extra = f"; windows per recording {windows[label]}" if label in windows else ""
        print(f"{label + ':':<17} {sum(took):6.1f} s wall ({total / sum(took):.2f}x real time), "
              f"{cpu[label]:6.1f} CPU s ({cpu[label] / total:.3f} CPU s per audio s){extra}")
    print(f"speed-up 2 vs 1 worker: {sum(times['1 worker']) / sum(times['2 workers']):.2f}x")
    overhead = [c - lo for c, lo in zip(times["1 worker, whole"], times["local"], strict=True)]
    print(f"per-recording overhead of the cluster path (1 worker, the recording as one window, vs local): wall "
          f"{np.mean(overhead):+.1f} s ({np.mean(np.array(overhead) / np.array(times['local'])):+.0%}), "
          f"CPU {(cpu['1 worker, whole'] - cpu['local']) / len(data):+.1f} s "
          f"({cpu['1 worker, whole'] / cpu['local'] - 1:+.0%}; all processes: workstation, scheduler, worker)")
    print(f"CPU overhead of {args.min_window:.0f}-s windows: 1 worker {cpu['1 worker'] / cpu['local'] - 1:+.0%}, "
          f"2 workers {cpu['2 workers'] / cpu['local'] - 1:+.0%}")
    print("cutting a recording into 2 windows (sealed.split, on the workstation): "
          f"mean {np.mean([t for t, _ in splits]):.1f} s")
    flac = sum(f for _, f in splits)
    print(f"on the wire: FLAC windows {flac / total / 1000:.1f} kB per second of audio "
          f"({flac / total * 3600 / 1e6:.0f} MB per hour)")
    fixed_costs(data, options, args.min_window)
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return offline.exit_status()


if __name__ == "__main__":
    sys.exit(main())
