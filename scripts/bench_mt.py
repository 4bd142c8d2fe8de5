#!/usr/bin/env python
"""Benchmark: the project's batched translation vs. argostranslate's translate(), one call per segment.

    .venv/bin/python scripts/bench_mt.py            # 300 segments of 1-3 sentences
    .venv/bin/python scripts/bench_mt.py --quick    # 40 segments, a smoke run
    .venv/bin/python scripts/bench_mt.py --package translate-ru_en-1_9.argosmodel

Model: the installed ru→en Argos package if there is one, else the given --package file, else the
tiny random-weight test package (tests/argos_tiny.py) — the same model for both routes, installed
into a temporary models folder unless it is the installed one.

Segments: Russian sentences from ../shared/eval/mt (all three test sets), grouped deterministically
into segments of 1-3 sentences, like the segments of a transcript.

(a) baseline: `argostranslate.translate.translate(segment, "ru", "en")` for each segment, with
    argostranslate's default settings (beam 4, 32-token batches, its default CPU threads, the
    model's stored compute type, its paragraph cache). One deviation, because its default sentence
    splitter (MiniSBD in argos-translate-lt 1.12) downloads an ONNX model at first use, which this
    offline product never allows: the baseline's splitter is swapped for razdel, the same splitter
    the project uses. Splitting is a small share of the time either way, so this is still the
    default translate() path, minus a download.
(b) project: `workstation.translation.mt.ArgosTranslator.translate(segments)`: all sentences, one batched pass.

Prints sentences per second for both, the speed ratio (target ≥ 5×), and how many segments came out
identical (same model and decoding settings: they should, give or take spacing).
The network guard is on for the whole run.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workstation.platform import offline  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("WORKSTATION_SHARED", REPO.parent / "shared")) / "eval" / "mt"


def load_sentences(data_dir: Path) -> list[str]:
    sentences: list[str] = []
    for path in sorted(data_dir.glob("*.tsv")):
        with open(path, newline="", encoding="utf-8") as f:
            sentences += [row["ru"].strip() for row in csv.DictReader(f, delimiter="\t") if row["ru"].strip()]
    if not sentences:
        sys.exit(f"No evaluation sentences found in {data_dir} (set WORKSTATION_SHARED or --data).")
    return sentences


def make_segments(sentences: list[str], n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pool = sentences[:]
    rng.shuffle(pool)
    segments, i = [], 0
    for _ in range(n):
        k = rng.randint(1, 3)
        segments.append(" ".join(pool[i % len(pool) : i % len(pool) + k]))
        i += k
    return segments


def choose_package(args: argparse.Namespace, work: Path):
    from workstation.translation import argos_package

    if args.package is None:
        installed = argos_package.installed_ru_en()
        if installed is not None:
            return installed, "installed"
    os.environ["WORKSTATION_MODELS"] = str(work / "models")
    if args.package is not None:
        return argos_package.install_from_file(args.package), f"file {Path(args.package).name}"
    sys.path.insert(0, str(REPO))
    from tests.argos_tiny import build_tiny_package

    tiny = build_tiny_package(work)
    return argos_package.install_from_file(tiny), "tiny random-weight test package (tests/argos_tiny.py)"


class RazdelSentencizer:
    """Stands in for argostranslate's MiniSBD splitter (which would download a model)."""

    def split_sentences(self, text: str) -> list[str]:
        import razdel

        return [s.text for s in razdel.sentenize(text)]


def baseline_translation():
    from workstation.translation import argos_package

    argos_package.argos_settings()
    argos_package.forget_argostranslate_caches()
    import argostranslate.translate as at

    translation = at.get_translation_from_codes("ru", "en")
    translation.underlying.sentencizer = RazdelSentencizer()
    return translation


def run_baseline(segments: list[str]) -> tuple[list[str], float]:
    import argostranslate.translate as at

    baseline_translation()
    at.translate(segments[0], "ru", "en")  # warm-up: model load
    at.get_translation_from_codes("ru", "en").cache = {}
    start = time.perf_counter()
    out = [at.translate(segment, "ru", "en") for segment in segments]
    return out, time.perf_counter() - start


def run_project(info, segments: list[str], threads: int | None) -> tuple[list[str], float, dict]:
    from workstation.translation.mt import ArgosTranslator

    translator = ArgosTranslator(info, device="cpu", cpu_threads=threads)
    translator.translate(segments[:1])  # warm-up
    start = time.perf_counter()
    out = translator.translate(segments)
    return out, time.perf_counter() - start, translator.info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="40 segments: a smoke run")
    parser.add_argument("--package", type=Path, help="a .argosmodel file to benchmark (installed to a temp folder)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the project route")
    args = parser.parse_args()
    n = 40 if args.quick else args.segments

    offline.activate()
    import razdel

    segments = make_segments(load_sentences(args.data), n)
    n_sentences = sum(len(list(razdel.sentenize(s))) for s in segments)
    with tempfile.TemporaryDirectory(prefix="bench-mt-") as tmp:
        info, origin = choose_package(args, Path(tmp))
        project_out, project_s, project_info = run_project(info, segments, args.threads)
        baseline_out, baseline_s = run_baseline(segments)

    # argostranslate glues sentences by concatenating their tokens, we join them with a space: ignore spacing.
    same = sum("".join(a.split()) == "".join(b.split()) for a, b in zip(project_out, baseline_out, strict=True))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}")
    print(f"model: {info.name} {info.version} sha256 {info.sha256[:16]}… ({origin})")
    print(f"project route: device {project_info['device']}, compute type {project_info['compute_type']}")
    print(f"segments: {len(segments)}, sentences: {n_sentences} (from {args.data})")
    print(f"(a) argostranslate.translate per segment: {baseline_s:8.2f} s  {n_sentences / baseline_s:8.1f} sentences/s")
    print(f"(b) project, batched:                      {project_s:8.2f} s  {n_sentences / project_s:8.1f} sentences/s")
    ratio = baseline_s / project_s
    print(f"speed-up: {ratio:.1f}x (target >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
    print(f"identical output (ignoring spacing): {same}/{len(segments)} segments")
    return offline.exit_status()


if __name__ == "__main__":
    sys.exit(main())
