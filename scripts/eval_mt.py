#!/usr/bin/env python
"""Score the installed Russian→English translation route: BLEU and chrF (sacrebleu) on ../shared/eval/mt.

    .venv/bin/python scripts/eval_mt.py                      # the installed Argos ru→en package
    .venv/bin/python scripts/eval_mt.py --limit 200          # the first 200 pairs of each test set
    .venv/bin/python scripts/eval_mt.py --package FILE.argosmodel   # score a package file (temp install)

Test sets: FLORES-101 devtest, WMT newstest2019 ru→en, TICO-19 test (TSV: ru, en, source). Each
Russian sentence is one segment, translated through the project's own route (`workstation.translation.mt`:
razdel, batched CTranslate2, argostranslate's decoding settings); scores are on detokenised output
against the single human reference, sacrebleu defaults (13a tokenisation, chrF β=2).

With no Argos package installed it says so and exits 0: the other English route, Whisper's speech
translation, works from audio, not text, so it cannot be scored on these text test sets (the ASR
benchmark covers Whisper). The tiny test package (tests/argos_tiny.py) has random weights and scores
about 0 BLEU: that only proves the scoring runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workstation.platform import offline  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("WORKSTATION_SHARED", REPO.parent / "shared")) / "eval" / "mt"
TEST_SETS = ("flores101_devtest", "newstest2019_ruen", "tico19_test")


def load_pairs(path: Path, limit: int | None) -> tuple[list[str], list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["ru"].strip() and r["en"].strip()]
    rows = rows[:limit] if limit else rows
    return [r["ru"].strip() for r in rows], [r["en"].strip() for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pairs of each set")
    parser.add_argument("--package", type=Path, help="a .argosmodel file to score (installed to a temp folder)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", nargs="+", default=list(TEST_SETS), choices=TEST_SETS)
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (default: WORKSTATION_DEVICE or auto)")
    args = parser.parse_args()

    offline.activate()
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF

    from workstation.translation import argos_package, mt

    with tempfile.TemporaryDirectory(prefix="eval-mt-") as tmp:
        if args.package is not None:
            os.environ["WORKSTATION_MODELS"] = str(Path(tmp) / "models")
            argos_package.install_from_file(args.package)
        translator = mt.load_translator(device=args.device)
        if translator is None:
            print(
                "No Argos Russian→English package is installed, so there is no text translation route to score.\n"
                "The English drafts currently come from Whisper's speech translation, which needs the audio,\n"
                "not text: it cannot be scored on these text test sets.\n"
                "Install the package (`workstation models install-argos --from FILE.argosmodel`) or score a file\n"
                "with `scripts/eval_mt.py --package FILE.argosmodel`."
            )
            return 0
        info = translator.info
        print(f"route: Argos {info['name']} {info['version']} (sha256 {info['sha256'][:16]}…), "
              f"device {info['device']}, compute type {info['compute_type']}")
        print(f"{'test set':<20} {'pairs':>6} {'BLEU':>6} {'chrF':>6} {'seconds':>8} {'sent/s':>7}")
        all_hyp: list[str] = []
        all_ref: list[str] = []
        for name in args.sets:
            path = args.data / f"{name}.ru-en.tsv"
            if not path.exists():
                print(f"{name:<20} missing: {path}")
                continue
            sources, refs = load_pairs(path, args.limit)
            start = time.perf_counter()
            hyps = translator.translate(sources)
            seconds = time.perf_counter() - start
            bleu = BLEU().corpus_score(hyps, [refs])
            chrf = CHRF().corpus_score(hyps, [refs])
            print(f"{name:<20} {len(refs):>6} {bleu.score:>6.1f} {chrf.score:>6.1f} {seconds:>8.1f} "
                  f"{len(refs) / seconds:>7.1f}")
            all_hyp += hyps
            all_ref += refs
        if all_ref:
            bleu_metric, chrf_metric = BLEU(), CHRF()
            bleu = bleu_metric.corpus_score(all_hyp, [all_ref])
            chrf = chrf_metric.corpus_score(all_hyp, [all_ref])
            print(f"{'all':<20} {len(all_ref):>6} {bleu.score:>6.1f} {chrf.score:>6.1f}")
            print(f"sacrebleu {sacrebleu.__version__} signatures: {bleu_metric.get_signature()}  "
                  f"{chrf_metric.get_signature()}")
    return offline.exit_status()


if __name__ == "__main__":
    sys.exit(main())
