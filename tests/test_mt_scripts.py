"""The MT benchmark and evaluation scripts run end to end (tiny sizes; the figures come from the lead's runs)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workstation.platform.config import REPO_ROOT


def _run(args: list[str], models) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKSTATION_MODELS": str(models)}
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_bench_mt_runs_on_the_tiny_package(no_argos_models, eval_mt_dir):
    done = _run(["scripts/bench_mt.py", "--segments", "12", "--data", str(eval_mt_dir)], no_argos_models)
    assert done.returncode == 0, done.stderr
    assert "tiny random-weight test package" in done.stdout
    assert "sentences/s" in done.stdout and "speed-up:" in done.stdout
    assert "identical output (ignoring spacing):" in done.stdout


def test_eval_mt_without_a_package_says_so_and_exits_0(no_argos_models, eval_mt_dir):
    done = _run(["scripts/eval_mt.py", "--data", str(eval_mt_dir)], no_argos_models)
    assert done.returncode == 0, done.stderr
    assert "No Argos Russian→English package is installed" in done.stdout


@pytest.mark.slow
def test_eval_mt_scores_a_package_file(no_argos_models, eval_mt_dir, tiny_argos_file):
    done = _run(
        ["scripts/eval_mt.py", "--limit", "5", "--data", str(eval_mt_dir), "--package", str(tiny_argos_file)],
        no_argos_models,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith(("flores", "newstest", "tico", "all"))]
    assert [r[0] for r in rows] == ["flores101_devtest", "newstest2019_ruen", "tico19_test", "all"]
    assert all(r[1] == "5" for r in rows[:3]) and rows[3][1] == "15"
    assert all(0.0 <= float(r[2]) <= 100.0 and 0.0 <= float(r[3]) <= 100.0 for r in rows)
