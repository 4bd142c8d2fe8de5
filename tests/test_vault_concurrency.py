"""Two processes editing the same testimony: no lost update, the loser gets a ConflictError."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_vault import PASSPHRASE
from workstation.domain import testimony as tm
from workstation.domain.testimony import Segment, TestimonyMeta


def _edit_in_child(vault: str, user: str, segment_index: int, text: str, barrier: Any, results: Any, kdf: Any) -> None:
    """Runs in its own process: unlock, load, wait until the other process has loaded too, then save."""
    from workstation.vault import session as vs

    vs.KDF_PARAMS = kdf
    s = vs.unlock(vault, user, PASSPHRASE)

    def edit(t: tm.Testimony) -> str:
        barrier.wait(timeout=60)  # both processes now hold the same version
        seg = t.segments[segment_index]
        tm.edit_segment(t, seg.id, "en", text, base_revision=seg.revision, user=user)
        return seg.id

    try:
        s.update("P-1", edit, action="edit_segment")
        results.put((user, "saved"))
    except tm.ConflictError as exc:
        results.put((user, f"conflict: {exc}"))
    except Exception as exc:
        results.put((user, f"error: {type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_two_processes_no_lost_update(vault_sessions: dict[str, Any], vault_path: Path) -> None:
    from workstation.speech.pipeline import PipelineResult
    from workstation.vault import session as vs

    edna = vault_sessions["edna"]
    edna.create_testimony(TestimonyMeta(case_code="P-1"))
    segs = [Segment(0.0, 1.0, "один"), Segment(1.0, 2.0, "два")]
    edna.store_processing_result("P-1", PipelineResult(segments=segs, language="ru", language_probability=1.0,
                                                       duration_s=2.0, warnings=[], models={}))
    ctx = mp.get_context("spawn")  # a clean interpreter per writer, like two app processes
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_edit_in_child, args=(str(vault_path), "tanya", 0, "one", barrier, results, vs.KDF_PARAMS)),
        ctx.Process(target=_edit_in_child, args=(str(vault_path), "edna", 1, "two", barrier, results, vs.KDF_PARAMS)),
    ]
    for p in procs:
        p.start()
    outcome = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    saved = [u for u, r in outcome.items() if r == "saved"]
    lost = [u for u, r in outcome.items() if r.startswith("conflict")]
    assert len(saved) == 1 and len(lost) == 1, outcome
    assert "not saved over theirs" in outcome[lost[0]]
    t = edna.load("P-1")
    winner_index = 0 if saved[0] == "tanya" else 1
    assert t.segments[winner_index].en == ("one", "two")[winner_index]
    assert t.segments[1 - winner_index].en == ""  # the loser's edit was refused, not half-applied
    assert len(t.revisions) == 1
    # the loser retries against the latest version: both edits are now kept
    loser_index = 1 - winner_index
    vault_sessions[lost[0]].update("P-1", lambda x: tm.edit_segment(
        x, x.segments[loser_index].id, "en", ("one", "two")[loser_index], base_revision=0, user=lost[0]), action="edit")
    assert [s.en for s in edna.load("P-1").segments] == ["one", "two"]
