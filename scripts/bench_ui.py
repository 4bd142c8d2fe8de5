#!/usr/bin/env python
"""Benchmark: how long the review page takes for a one-hour interview (700 segments).

Uses Streamlit's AppTest (the real app script, the real vault with real encryption, in one process) and
times the script run that follows each user action on the review page:

- first render of the page;
- saving an edit of one segment (the callback's revision-checked, encrypted save + the re-render);
- ticking "reviewed" on one segment;
- turning to another page of segments.

The browser adds its own drawing time on top (a 25-row page is small for it); the target is ≤ 2 s from
click to page. Run it on a quiet machine:

    .venv/bin/python scripts/bench_ui.py            # 700 segments, 20 rounds of each action
    .venv/bin/python scripts/bench_ui.py --quick    # smoke run: 3 rounds
    .venv/bin/python scripts/bench_ui.py --segments 2100 --page-size 50 --json
    .venv/bin/python scripts/bench_ui.py --browser  # also: real Chromium, click → updated row on screen

`--browser` starts `workstation app` on 127.0.0.1 with the same vault and measures, in headless Chromium
(/usr/bin/chromium), the review workspace (the default view): "page ready" (a click on Review until the grid is
drawn and the first segment's box has the caret) and "confirm and next" (Ctrl+Enter until the next segment is
ready to type in, and until the server has saved the confirmation). The AppTest figures are the list view.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workstation.platform import offline  # noqa: E402

offline.activate()


def _stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {"n": len(values), "median_s": statistics.median(values), "p95_s": p95, "max_s": values[-1]}


def _timed(at, action) -> float:
    t0 = time.perf_counter()
    action()
    at.run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")
    return elapsed


def _frame(page):
    return next(f for f in page.frames if "review_workspace" in f.url)


_WAIT_SAVED = """() => new Promise((resolve) => {
  const S = window.__ws.state;
  const poll = () => (S.outbox.some((e) => e.kind === "confirm") || S.confirming.size)
    ? setTimeout(poll, 5) : resolve(performance.now() - window.__bench_key);
  poll();
})"""


def _browser_rounds(vault_path: Path, editor, rounds: int) -> dict[str, list[float]]:
    """Real Chromium against `workstation app`, in the review workspace (the default view).

    - page ready: a click on "Review" (from another page) until the workspace's grid is drawn with the first
      segment's Russian box focused, ready to type in;
    - confirm and next: Ctrl+Enter in a segment until the next segment is active with the caret in its box (measured
      in the page: from the keydown to the workspace saying it is ready), and until the server acknowledged the
      confirmation (saved: a revision in the vault).
    """
    from playwright.sync_api import sync_playwright

    from tests.fixtures_ui import PASSPHRASE, free_port, start_app, stop_app

    port = free_port()
    server = start_app(port, vault_path)
    out: dict[str, list[float]] = {"page_ready": [], "next_ready": [], "confirm_saved": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_label("User name").fill(editor.user)
            page.get_by_label("Passphrase").fill(PASSPHRASE)
            page.get_by_role("button", name="Unlock").click()
            page.get_by_role("button", name="Lock now").wait_for()
            ws = page.frame_locator("iframe").first
            for _r in range(max(3, rounds // 4)):
                page.get_by_role("link", name="Testimonies").click()
                page.get_by_role("heading", name="Testimonies").wait_for()
                page.wait_for_timeout(500)
                t0 = time.perf_counter()
                page.get_by_role("link", name="Review").click()
                ws.locator(".row.active textarea[data-field='en']").wait_for()
                out["page_ready"].append(time.perf_counter() - t0)
            ws.locator(".row.active textarea[data-field='en']").click()
            frame = _frame(page)
            # the keydown's own time stamp (the workspace's listener runs first and may already have moved on)
            frame.evaluate("window.addEventListener('keydown', (e) => { window.__bench_key = e.timeStamp; }, true)")
            for r in range(rounds):
                page.keyboard.press("Control+A")
                page.keyboard.type(f"Checked English {r}")
                page.wait_for_timeout(1200)  # typed text autosaved, as when a person pauses to read the next line
                before = frame.evaluate("window.__ws.state.active")
                page.keyboard.press("Control+Enter")
                saved_ms = frame.evaluate(_WAIT_SAVED)
                page.wait_for_timeout(100)  # (two animation frames: the next segment painted)
                ready = frame.evaluate("[window.__ws_ready.id, (window.__ws_ready.painted || window.__ws_ready.at)"
                                       " - window.__bench_key]")
                if ready[0] == before:
                    raise SystemExit("confirm and next did not move to the next segment")
                out["next_ready"].append(ready[1] / 1000)
                out["confirm_saved"].append(saved_ms / 1000)
            browser.close()
    finally:
        stop_app(server)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=700, help="segments in the testimony (700 ≈ one hour)")
    parser.add_argument("--rounds", type=int, default=20, help="timed repetitions of each action")
    parser.add_argument("--page-size", type=int, default=25, choices=(25, 50, 100))
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 rounds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--browser", action="store_true", help="also time real clicks in headless Chromium")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    from streamlit.testing.v1 import AppTest

    from tests.fixtures_ui import APP, PASSPHRASE, add_testimony, clip_path, make_segments
    from workstation.vault import session as vault

    shared = Path(os.environ.get("WORKSTATION_SHARED", REPO.parent / "shared"))
    clip = clip_path(shared / "eval" / "asr")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        os.environ["WORKSTATION_VAULT"] = str(Path(tmp) / "vault")
        editor = vault.create_vault(Path(tmp) / "vault", "bench", PASSPHRASE)
        t0 = time.perf_counter()
        add_testimony(editor, "BENCH-1", clip, make_segments(args.segments))
        setup_s = time.perf_counter() - t0

        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state["vault_session"] = editor
        at.run()
        at.session_state["review_mode"] = "List"  # the list view (the workspace runs in a browser: --browser)
        at.switch_page("page_review.py")
        first = _timed(at, lambda: None)
        if args.page_size != 25:
            at.selectbox(key="review_size").select(args.page_size).run()

        def segment(i: int):
            return editor.load("BENCH-1").segments[i]

        edits, opens, reviews, pages = [], [], [], []
        n_pages = -(-args.segments // args.page_size)
        for r in range(rounds):
            seg = segment(r % args.page_size)
            opens.append(_timed(at, at.button(key=f"edit_{seg.id}").click))
            at.text_area(key=f"edit_ru_{seg.id}").input(f"правка номер {r}")
            edits.append(_timed(at, at.button(key=f"save_{seg.id}").click))
            seg = segment((r + 1) % args.page_size)
            reviews.append(_timed(at, at.checkbox(key=f"rv_{seg.id}_{seg.revision}").check))
            if n_pages > 1:
                pages.append(_timed(at, lambda: at.get("pagination")[0].set_value(2)))
                at.get("pagination")[0].set_value(1).run()  # back to the first page (untimed)

        browser = _browser_rounds(Path(tmp) / "vault", editor, rounds) if args.browser else None

    figures = {
        "machine": f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "segments": args.segments,
        "page_size": args.page_size,
        "setup_store_s": round(setup_s, 3),
        "first_render_s": round(first, 3),
        "save_edit": _stats(edits),
        "open_editor": _stats(opens),
        "mark_reviewed": _stats(reviews),
        "change_page": _stats(pages) if pages else None,
        **({f"browser_{k}": _stats(v) for k, v in browser.items()} if browser else {}),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"review page, {args.segments} segments, {args.page_size} per page — {figures['machine']}")
    print(f"  first render            {first:6.3f} s")
    for name in ("save_edit", "open_editor", "mark_reviewed", "change_page", "browser_page_ready",
                 "browser_next_ready", "browser_confirm_saved"):
        s = figures.get(name)
        if s:
            print(f"  {name:<22} median {s['median_s']:6.3f} s   p95 {s['p95_s']:6.3f} s   max {s['max_s']:6.3f} s   (n={s['n']})")
    print("  target: ≤ 2 s from a click to the re-rendered page (AppTest server-side time; the browser adds drawing)")
    if browser:
        print("  workspace targets: page ready ≤ 2 s; confirm and next → next segment ready ≤ 0.3 s")


if __name__ == "__main__":
    main()
