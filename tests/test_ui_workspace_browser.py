"""The review workspace in a real browser: `workstation app` on 127.0.0.1 and Debian's headless Chromium.

What a transcriber does, driven by the keyboard as a person would: correct ten segments with a couple of clicks
and typing, play and seek without the mouse, add a segment in a gap and move its start, approval refused then
overridden with a reason, a conflict with another window shown (never overwritten), a lock in the middle of
typing that loses nothing typed before it, typing that keeps the idle lock away, and a reload that comes back to
the same place. Each check reads the vault afterwards (a fresh unlock): what the screen said was saved, was.
Screenshots of every page go to test-output/workspace/ (looked at by a person before calling the work done).
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_ui import add_testimony, free_port, make_segments, start_app, stop_app, store_result
from tests.fixtures_vault import PASSPHRASE, cheap_kdf_params
from workstation.platform.config import REPO_ROOT
from workstation.platform.digest import sha256_hex
from workstation.vault import session

CHROMIUM = Path("/usr/bin/chromium")
OUT = REPO_ROOT / "test-output" / "workspace"
GAP = (10.0, 12.0)  # segment 5 (10–12 s) is left out: a gap in the transcript

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (Debian package `chromium`)"),
]


def _segments() -> list[Any]:
    segs = make_segments(24)
    del segs[5]
    return segs


def recording(eval_asr: Path, out: Path, seconds: float = 50.0) -> Path:
    """Real Russian speech of the evaluation set, clips joined (again from the first if needed) to `seconds`."""
    import csv
    import wave

    with open(eval_asr / "manifest.csv", encoding="utf-8") as f:
        files = [eval_asr / row["file"] for row in csv.DictReader(f)]
    with wave.open(str(files[0])) as first:
        params = first.getparams()
    frames: list[bytes] = []
    total = 0
    while total < seconds * params.framerate:
        for path in files:
            with wave.open(str(path)) as w:
                if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (params.framerate, params.nchannels,
                                                                              params.sampwidth):
                    continue
                frames.append(w.readframes(w.getnframes()))
                total += w.getnframes()
            if total >= seconds * params.framerate:
                break
    with wave.open(str(out), "wb") as w:
        w.setparams(params)
        w.writeframes(b"".join(frames))
    return out


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory, eval_asr_dir: Path) -> dict[str, Path]:
    """One vault (edna editor, ivan and inna interviewers, tanya translator) and the 50 s recording, per module."""
    root = tmp_path_factory.mktemp("workspace")
    vault = root / "vault"
    with pytest.MonkeyPatch.context() as mp:  # (the suite's cheap KDF is function-scoped: apply it here too)
        mp.setattr(session, "KDF_PARAMS", cheap_kdf_params())
        editor = session.create_vault(vault, "edna", PASSPHRASE)
        for name, role in (("ivan", "interviewer"), ("inna", "interviewer"), ("tanya", "translator")):
            editor.add_user(name, role, PASSPHRASE)
        editor.lock()
    return {"root": root, "vault": vault, "clip": recording(eval_asr_dir, root / "rec.wav")}


@pytest.fixture(scope="module")
def servers(area: dict[str, Path]) -> Iterator[Callable[[dict[str, str]], str]]:
    """`workstation app` on the module's vault, started once per distinct environment and shared by the tests."""
    running: dict[tuple[tuple[str, str], ...], tuple[str, subprocess.Popen]] = {}
    logs = []

    def serve(env: dict[str, str]) -> str:
        key = tuple(sorted(env.items()))
        if key not in running:
            port = free_port()
            log_path = area["root"] / f"server-{len(running)}.log"
            logs.append(log := open(log_path, "wb"))
            proc = start_app(port, area["vault"], log=log, env=env)
            if proc.poll() is not None:
                pytest.fail("workstation app did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            running[key] = (f"http://127.0.0.1:{port}", proc)
        return running[key][0]

    yield serve
    for _url, proc in running.values():
        stop_app(proc)
    for log in logs:
        log.close()


@pytest.fixture()
def app(area: dict[str, Path], servers: Callable[[dict[str, str]], str],
        request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A testimony of this test's own (23 segments over 50 s of real speech) in the shared vault, and the shared
    server (one per environment a test asks for): tests stay independent whatever order they run in."""
    case = f"WS-{next(_CASES)}"
    editor = session.unlock(area["vault"], "edna", PASSPHRASE)
    add_testimony(editor, case, area["clip"], _segments())
    editor.lock()
    yield {"url": servers(getattr(request, "param", None) or {}), "vault": area["vault"], "case": case}


_CASES = itertools.count(1)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture()
def browser(chromium: Any) -> Iterator[Any]:
    """A browser context of this test's own (no cookie, storage or tab of another test); closed afterwards, so its
    tabs disconnect and the server locks their vault sessions."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    yield context
    context.close()


class Person:
    """A page driven as a person would, counting the clicks."""

    def __init__(self, browser: Any, app: dict[str, Any]) -> None:
        self.page = browser.new_page()
        self.page.set_default_timeout(30_000)
        self.base = app["url"]
        self.case = app["case"]  # this test's testimony (the vault holds those of the other tests too)
        self.clicks = 0

    def click(self, locator: Any) -> None:
        self.clicks += 1
        locator.click()

    def settle(self) -> None:
        self.page.wait_for_timeout(300)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
        self.page.wait_for_timeout(200)

    def shot(self, name: str) -> None:
        self.settle()
        self.page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

    def unlock(self, user: str, path: str = "") -> None:
        from playwright.sync_api import expect

        if path is not None:
            self.page.goto(self.base + "/" + path)
        expect(self.page.get_by_role("heading", name="Unlock Testimony Workstation")).to_be_visible(timeout=60_000)
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Passphrase").fill(PASSPHRASE)
        self.page.get_by_role("button", name="Unlock").click()
        self.page.get_by_role("button", name="Lock now").wait_for(timeout=60_000)

    @property
    def ws(self) -> Any:
        """The workspace's frame."""
        return self.page.frame_locator("iframe").first

    def frame(self) -> Any:
        return next(f for f in self.page.frames if "review_workspace" in f.url)

    def choose(self) -> None:
        """Pick this test's testimony on the list (its Details button): every page then shows that one."""
        self.click(self.page.locator(f".st-key-details_{self.case} button"))
        self.page.get_by_role("heading", name="Testimony details").wait_for(timeout=60_000)

    def open_review(self) -> None:
        """From the list of testimonies, the Review button of this test's testimony."""
        self.click(self.page.locator(f".st-key-open_{self.case} button"))
        self.ws.locator(".row").first.wait_for(timeout=60_000)
        self.ws.locator(".row.active textarea").first.wait_for(timeout=30_000)

    def js(self, expr: str) -> Any:
        return self.frame().evaluate(expr)

    def saved(self, timeout: float = 30) -> None:
        """Wait until the workspace says every change is saved (the server acknowledged each one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js("window.__ws.state.outbox.length + window.__ws.state.pending.size") == 0:
                return
            self.page.wait_for_timeout(200)
        raise AssertionError("changes still unsaved: " + str(self.js("JSON.stringify(window.__ws.state.outbox)")))

    def active_number(self) -> int:
        return int(self.ws.locator(".row.active .meta .n").inner_text().lstrip("#"))

    def audio(self, prop: str) -> Any:
        return self.js(f"document.getElementById('audio').{prop}")


def fresh(app: dict[str, Any], user: str = "edna") -> Any:
    """The vault as it is on disk now, through a new unlock (not a session that might cache anything)."""
    from workstation.vault import session

    return session.unlock(app["vault"], user, PASSPHRASE)


# --- the keyboard flow -------------------------------------------------------------------------------------------


def test_correct_ten_segments_with_the_keyboard(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.shot("01-workspace")
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    kb = me.page.keyboard
    for i in range(10):
        if i % 2 == 0:  # correct the Russian (the English becomes stale), then the English
            if i:
                kb.press("Shift+Tab")  # from the English column back to the Russian one
            kb.press("Control+A")
            kb.type(f"Исправленная фраза {i}")
            kb.press("Tab")
        kb.press("Control+A")
        kb.type(f"Corrected English {i}")
        if i == 3:
            kb.press("Alt+1")  # this one is the interviewer speaking
        if i == 0:
            me.shot("02-typing")
        kb.press("Control+Enter")  # confirm and go to the next segment (the caret stays in the same column)
    me.saved()
    assert me.clicks <= 12, me.clicks
    assert me.active_number() == 11
    me.shot("03-ten-corrected")
    t = fresh(app).load(app["case"])
    for i, seg in enumerate(t.segments[:10]):
        assert seg.en == f"Corrected English {i}" and seg.reviewed and not seg.en_stale, (i, seg)
        assert seg.ru == (f"Исправленная фраза {i}" if i % 2 == 0 else seg.ru)
        assert str(seg.en_route) == "human"
    assert not t.segments[10].reviewed
    assert [s.speaker for s in t.segments[2:5]] == ["witness", "interviewer", "witness"]
    assert {r.user for r in t.revisions} == {"tanya"}
    edits = [r for r in t.revisions if r.field in ("ru", "en") and r.segment_id == t.segments[0].id]
    assert edits, "each change is a revision"


def test_play_pause_seek_and_slower_without_the_mouse(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("edna")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    kb = me.page.keyboard
    kb.press("Escape")  # play (while the caret is in the text)
    me.page.wait_for_timeout(1800)
    assert me.audio("paused") is False and me.audio("currentTime") > 0.5
    assert me.ws.locator(".row.playing, .row.active").count() >= 1
    assert me.ws.locator(".w.now").count() >= 1  # the word being played is highlighted
    me.shot("04-playing")
    kb.press("Escape")  # pause
    me.page.wait_for_timeout(300)
    assert me.audio("paused") is True
    t0 = me.audio("currentTime")
    kb.press("Alt+ArrowRight")
    assert me.audio("currentTime") == pytest.approx(t0 + 3, abs=0.3)
    kb.press("Alt+ArrowLeft")
    kb.press("Alt+ArrowLeft")
    assert me.audio("currentTime") == pytest.approx(max(0.0, t0 - 3), abs=0.3)
    kb.press("Alt+ArrowDown")
    assert me.audio("playbackRate") == pytest.approx(0.9)
    kb.press("Alt+PageDown")  # the next segment: it becomes the active one, the player goes to its start
    assert me.active_number() == 2 and me.audio("currentTime") == pytest.approx(2.0, abs=0.05)
    kb.press("Alt+p")  # this segment from its start
    me.page.wait_for_timeout(800)
    assert me.audio("paused") is False and 2.0 < me.audio("currentTime") < 4.0
    kb.press("Escape")
    # click-to-seek on a word of another row (the one mouse action here: it is the feature)
    word = me.ws.locator(".row[data-id] .w").nth(12)
    at = float(word.get_attribute("data-t"))
    me.click(word)
    me.page.wait_for_timeout(400)
    assert me.audio("currentTime") == pytest.approx(at, abs=0.6) and me.audio("paused") is False
    kb.press("Escape")
    assert me.audio("error") is None


def test_add_a_segment_in_a_gap_and_move_its_start(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    kb = me.page.keyboard
    for _ in range(4):
        kb.press("Alt+PageDown")  # to #5, which ends where the gap starts
    assert me.active_number() == 5
    kb.press("Alt+ArrowRight")  # 8 s + 3 s = 11 s: inside the gap
    assert GAP[0] < me.audio("currentTime") < GAP[1]
    kb.press("Alt+a")
    me.ws.locator(".row.active.untranscribed").wait_for(timeout=30_000)
    assert me.active_number() == 6
    me.shot("05-added-in-gap")
    kb.type("Пропущенная распознавателем фраза")
    kb.press("Tab")
    kb.type("A phrase the recogniser missed")
    me.saved()
    start = me.ws.locator(".row.active .tools input").first
    me.click(start)
    start.fill("10.4")
    kb.press("Enter")
    me.saved()
    me.ws.locator(".row.active textarea[data-field='en']").focus()
    kb.press("Control+Enter")
    me.saved()
    t = fresh(app).load(app["case"])
    (added,) = [s for s in t.segments if GAP[0] <= s.start < GAP[1]]
    assert added.start == pytest.approx(10.4) and added.end == pytest.approx(GAP[1], abs=0.01)
    assert added.ru == "Пропущенная распознавателем фраза" and added.en == "A phrase the recogniser missed"
    assert added.reviewed and not added.untranscribed
    assert t.segments.index(added) == 5


def test_an_edit_made_meanwhile_elsewhere_is_shown_not_overwritten(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='en']"))
    other = fresh(app)
    seg = other.load(app["case"]).segments[0]
    from workstation.services import review

    review.edit(other, app["case"], seg.id, {"en": "Their English, saved first"}, base_revision=seg.revision)
    me.page.keyboard.press("Control+A")
    me.page.keyboard.type("My English, typed on an old copy")
    me.ws.locator(".note.conflict").wait_for(timeout=30_000)
    assert "Their English, saved first" in me.ws.locator(".note.conflict").inner_text()
    me.shot("06-conflict")
    assert fresh(app).load(app["case"]).segments[0].en == "Their English, saved first"  # nothing overwritten
    me.click(me.ws.get_by_role("button", name="Keep mine (apply it on top of theirs)"))
    me.saved()
    t = fresh(app).load(app["case"])
    assert t.segments[0].en == "My English, typed on an old copy"
    assert [r.new for r in t.revisions if r.segment_id == seg.id and r.field == "en"] == [
        "Their English, saved first", "My English, typed on an old copy"]


# --- approval -----------------------------------------------------------------------------------------------------


def test_approval_is_refused_then_overridden_with_a_reason(app: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    me = Person(browser, app)
    me.unlock("edna")
    me.choose()
    me.click(me.page.get_by_role("link", name="Approval"))
    expect(me.page.get_by_role("heading", name="Approval")).to_be_visible()
    expect(me.page.get_by_text("not marked reviewed").first).to_be_visible()
    me.click(me.page.get_by_role("button", name="Approve", exact=True))
    expect(me.page.get_by_text("cannot be approved yet").first).to_be_visible()
    me.shot("07-approval-refused")
    me.page.get_by_role("textbox", name="Reason for approving anyway").fill("Published on the witness's request before the trial")
    me.click(me.page.get_by_role("button", name="Approve anyway"))
    expect(me.page.get_by_text("approved despite").first).to_be_visible()
    me.shot("08-approval-overridden")
    s = fresh(app)
    assert str(s.load(app["case"]).status) == "approved"
    entry = [e for e in s.audit_entries() if e.action == "approved"][-1]
    assert entry.details.get("override") is True
    assert all("trial" not in str(e.details) for e in s.audit_entries())


# --- nothing typed is lost ----------------------------------------------------------------------------------------


def test_a_lock_in_the_middle_of_typing_loses_nothing_typed_before_it(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    me.page.keyboard.press("Control+A")
    text = "Фраза, которую переводчик печатал, когда окно заперли"
    me.page.keyboard.type(text, delay=15)
    me.click(me.page.get_by_role("button", name="Lock now"))  # at once: no pause after the last key
    me.page.get_by_role("heading", name="Unlock Testimony Workstation").wait_for(timeout=30_000)
    me.shot("09-locked")
    assert fresh(app).load(app["case"]).segments[0].ru == text
    me.unlock("tanya", path=None)
    me.ws.locator(".row").first.wait_for(timeout=60_000)
    assert text in me.ws.locator(".row").first.inner_text() or \
        me.ws.locator(".row.active textarea[data-field='ru']").input_value() == text


IDLE_LOCK_S = 12  # this test's server locks a window after 12 s without activity (WORKSTATION_IDLE_LOCK_S)


@pytest.mark.parametrize("app", [{"WORKSTATION_IDLE_LOCK_S": str(IDLE_LOCK_S)}], indirect=True)
def test_typing_is_activity_and_the_idle_lock_keeps_what_was_typed(app: dict[str, Any], browser: Any) -> None:
    """Idle lock at 12 s: 30 s of slow typing (a word every 3 s) keeps the window open; then, idle, it locks, with
    all of it saved."""
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    me.page.keyboard.press("Control+A")
    typed = ""
    started = time.monotonic()
    while time.monotonic() - started < 2.5 * IDLE_LOCK_S:
        word = f"слово{len(typed) % 7} "
        me.page.keyboard.type(word)
        typed += word
        me.page.wait_for_timeout(3000)
    assert me.page.get_by_role("button", name="Lock now").is_visible(), "locked while the person was typing"
    me.page.get_by_role("heading", name="Unlock Testimony Workstation").wait_for(timeout=(IDLE_LOCK_S + 30) * 1000)
    assert fresh(app).load(app["case"]).segments[0].ru == typed


def test_a_reload_comes_back_to_the_same_testimony_and_segment(app: dict[str, Any], browser: Any) -> None:
    me = Person(browser, app)
    me.unlock("tanya")
    me.open_review()
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    for _ in range(6):
        me.page.keyboard.press("Alt+PageDown")
    assert me.active_number() == 7
    me.page.wait_for_function("() => location.search.includes('seg=')", timeout=20_000)
    url = me.page.url
    assert f"case={app['case']}" in url
    me.page.reload()
    me.unlock("tanya", path=None)
    assert not me.page.get_by_text("Page not found").count()
    me.ws.locator(".row.active").wait_for(timeout=60_000)
    assert me.active_number() == 7
    me.shot("10-after-reload")


def test_screenshots_of_the_other_pages(app: dict[str, Any], browser: Any) -> None:
    """Every page an editor sees, for a person to look at (and none of them raises)."""
    me = Person(browser, app)
    me.unlock("edna")
    me.choose()
    for i, (link, name) in enumerate((("Testimonies", "testimonies"), ("Testimony details", "details"),
                                      ("Glossary", "glossary"), ("Approval", "approval"), ("Export", "export"),
                                      ("Processing queue", "queue"), ("Audit log", "audit"))):
        me.page.get_by_role("link", name=link).click()
        me.settle()
        me.page.wait_for_timeout(2500)  # (tables and the data editor draw on a canvas a moment later)
        assert not me.page.get_by_text("failed unexpectedly").count(), link
        me.shot(f"2{i}-{name}")
    me.page.get_by_role("link", name="Review").click()
    me.ws.locator(".row").first.wait_for(timeout=60_000)
    me.page.get_by_text("List", exact=True).click()
    me.shot("29-review-list")


# --- several files, one testimony ------------------------------------------------------------------------------


def test_two_files_uploaded_as_one_testimony_in_the_order_chosen(app: dict[str, Any], browser: Any,
                                                                  eval_asr_dir: Path) -> None:
    """An interviewer uploads two files as the parts of one interview, swaps their order, and creates it: one
    testimony whose part 1 is the file chosen second (nothing is sealed before the order is confirmed)."""
    from playwright.sync_api import expect

    from tests.test_testimony_parts import two_clips

    first, second = two_clips(eval_asr_dir)
    code = app["case"] + "-PARTS"
    me = Person(browser, app)
    me.unlock("ivan")
    me.click(me.page.get_by_role("link", name="New testimony"))
    expect(me.page.get_by_role("heading", name="New testimony")).to_be_visible()
    me.page.get_by_label("Case code").fill(code)
    me.page.get_by_text("The witness consented").click()
    me.page.get_by_text("Start processing now").click()  # (off: this test is about intake, not the models)
    me.page.locator('input[type="file"]').set_input_files([str(first), str(second)])
    expect(me.page.get_by_text(second.name)).to_be_visible()
    me.page.get_by_text("One testimony: the files are parts of one interview").click()
    me.click(me.page.get_by_role("button", name="Create and upload"))
    expect(me.page.get_by_text("one testimony of 2 parts")).to_be_visible(timeout=30_000)
    rows = me.page.locator("[class*='st-key-part_row_']")
    expect(rows.nth(0)).to_contain_text(f"Part 1 · {first.name}")
    assert fresh(app).recording_parts(app["case"]) and code not in [t.case_code for t in fresh(app).list_testimonies()]
    me.click(rows.nth(0).get_by_role("button", name="↓"))  # the first file is in fact the later part
    expect(rows.nth(0)).to_contain_text(f"Part 1 · {second.name}")
    expect(rows.nth(1)).to_contain_text(f"Part 2 · {first.name}")
    me.shot("30-parts-order")
    me.click(me.page.get_by_role("button", name="Create the testimony from these 2 parts"))
    expect(me.page.get_by_text("2 parts sealed as one testimony").first).to_be_visible(timeout=60_000)
    s = fresh(app)
    assert [p.filename for p in s.recording_parts(code)] == [second.name, first.name]
    assert [p.sha256 for p in s.recording_parts(code)] == [sha256_hex(second.read_bytes()), sha256_hex(first.read_bytes())]
    assert [t.case_code for t in s.list_testimonies()].count(code) == 1  # one testimony, not two
    me.click(me.page.get_by_role("link", name="Testimony details"))
    expect(me.page.get_by_text(f"Part 2, sealed original: {first.name}")).to_be_visible(timeout=30_000)
    me.shot("31-parts-details")


def test_a_testimony_of_two_parts_plays_as_one_timeline_with_its_parts_marked(app: dict[str, Any], browser: Any,
                                                                             eval_asr_dir: Path) -> None:
    """Two sealed files, transcribed as one timeline: the player plays both in order (part 2 starts where part 1
    ends), and the row where part 2 begins says so."""
    from tests.test_testimony_parts import two_clips
    from workstation.domain.testimony import TestimonyMeta
    from workstation.services import intake

    clips = two_clips(eval_asr_dir)
    code = app["case"] + "-2P"
    editor = fresh(app)
    sealed = intake.new_testimony_from_parts(editor, TestimonyMeta(case_code=code, consent_scope="documentation"),
                                             [(c.name, c.read_bytes()) for c in clips])
    boundary = sealed[0].duration_s
    segments = make_segments(4, seg_s=boundary / 2)[:2] + [
        seg for seg in make_segments(4, seg_s=sealed[1].duration_s / 2)[:2]]
    for seg in segments[2:]:  # part 2's segments lie after part 1 on the timeline
        seg.start, seg.end = seg.start + boundary, seg.end + boundary
        seg.words = [dataclasses.replace(w, start=w.start + boundary, end=w.end + boundary) for w in seg.words]
    store_result(editor, code, segments, part_starts=[0.0, boundary])
    me = Person(browser, app)
    me.case = code
    me.unlock("edna")
    me.open_review()
    marks = me.ws.locator(".row .meta .part")
    assert [marks.nth(i).inner_text() for i in range(marks.count())] == ["part 1 begins", "part 1", "part 2 begins",
                                                                            "part 2"]
    me.frame().wait_for_function("() => { const a = document.getElementById('audio'); return a && a.duration > 0; }",
                                 timeout=30_000)
    assert me.audio("duration") == pytest.approx(boundary + sealed[1].duration_s, abs=0.1)  # both parts, joined
    me.click(me.ws.locator(".row.active textarea[data-field='ru']"))
    kb = me.page.keyboard
    kb.press("Alt+PageDown")
    kb.press("Alt+PageDown")  # to the first segment of part 2: the player goes to where part 2 starts
    assert me.active_number() == 3 and me.audio("currentTime") == pytest.approx(boundary, abs=0.05)
    kb.press("Alt+p")
    me.page.wait_for_timeout(800)
    assert me.audio("paused") is False and me.audio("currentTime") > boundary and me.audio("error") is None
    kb.press("Escape")
    me.shot("32-two-parts-review")


@pytest.fixture(autouse=True, scope="module")
def _clean_output() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
