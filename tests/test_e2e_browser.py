"""Real browser, real server, real models: one testimony from an empty vault to an approved export.

`workstation app` runs on 127.0.0.1 (a free port, a temporary vault) and Debian's headless Chromium,
driven by Playwright, does what a person would: create the vault, upload a real Russian clip, wait for
processing, correct a segment, mark everything reviewed, approve, export. A screenshot of each step goes
to test-output/e2e/.

While it runs, two captures prove the offline promise:
- every request the page makes is recorded (Playwright route + request events): all must be to
  http://127.0.0.1:PORT; anything else is aborted and fails the test;
- the server's sockets (the `workstation app` process and its Streamlit child) are polled with psutil:
  every remote end must be a loopback address; and the server's stderr must show no network-guard block.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.fixtures_ui import clip_path, free_port, start_app, stop_app
from workstation.config import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
OUT = REPO_ROOT / "test-output" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
    "--disable-domain-reliability", "--no-pings", "--metrics-recording-only",
]
EDITED_TEXT = "Исправлено переводчиком в браузере"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (Debian package `chromium`; "
                       "scripts/test.sh installs it)"),
]


class ConnectionWatch:
    """Polls the sockets of a process tree; remembers every remote address seen."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.remotes: set[tuple[str, int]] = set()
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _procs(self) -> list:
        import psutil

        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            for proc in self._procs():
                try:
                    for conn in proc.net_connections(kind="inet"):
                        if conn.raddr:
                            self.remotes.add((conn.raddr.ip, conn.raddr.port))
                except psutil.Error:
                    pass
            self.polls += 1
            self._stop.wait(0.2)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def non_loopback(self) -> list[tuple[str, int]]:
        import ipaddress

        return sorted(r for r in self.remotes if not ipaddress.ip_address(r[0].split("%")[0]).is_loopback)


@pytest.fixture()
def server(tmp_path: Path):
    port = free_port()
    vault = tmp_path / "vault"
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        proc = start_app(port, vault, log=log_file)
        if proc.poll() is not None:
            pytest.fail("workstation app did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "proc": proc, "log": log_path, "vault": vault}
        stop_app(proc)


def _settle(page) -> None:  # noqa: ANN001
    """Let the script run finish (Streamlit shows a running indicator) so a screenshot shows the final page."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(200)


def _walk_through(page, base: str, clip: Path, shot) -> Path:  # noqa: ANN001
    from playwright.sync_api import expect

    # 1. first launch: no vault → create it with the first editor
    page.goto(base)
    expect(page.get_by_text("Welcome to Testimony Workstation")).to_be_visible(timeout=60_000)
    page.get_by_label("Your user name").fill("editor1")
    page.get_by_label("Passphrase", exact=True).fill("correct horse battery staple")
    page.get_by_label("Repeat the passphrase").fill("correct horse battery staple")
    shot(page, "create-vault")
    page.get_by_role("button", name="Create the vault").click()
    expect(page.get_by_role("heading", name="Testimonies")).to_be_visible(timeout=60_000)
    shot(page, "unlocked")

    # 2. lock, then unlock with the passphrase
    page.get_by_role("button", name="Lock now").click()
    expect(page.get_by_role("heading", name="Unlock Testimony Workstation")).to_be_visible()
    page.get_by_label("User name").fill("editor1")
    page.get_by_label("Passphrase").fill("correct horse battery staple")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("heading", name="Testimonies")).to_be_visible(timeout=60_000)

    # 3. new testimony: metadata, consent, upload a real clip, start processing
    page.get_by_role("link", name="New testimony").click()
    expect(page.get_by_role("heading", name="New testimony")).to_be_visible()
    page.get_by_label("Case code").fill("E2E-001")
    page.get_by_text("The witness consented").click()
    page.locator('input[type="file"]').set_input_files(str(clip))
    expect(page.get_by_text(clip.name)).to_be_visible()
    shot(page, "upload")
    page.get_by_role("button", name="Create and upload").click()
    expect(page.get_by_text("queued for processing")).to_be_visible(timeout=60_000)

    # 4. the queue: wait for the real pipeline to finish
    page.get_by_role("link", name="Processing queue").click()
    expect(page.get_by_role("heading", name="Processing queue")).to_be_visible()
    shot(page, "queue")
    expect(page.get_by_text("Ready for review")).to_be_visible(timeout=300_000)
    shot(page, "processed")

    # 5. review: edit the Russian of the first segment, then mark all reviewed
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    page.locator("[class*='st-key-edit_']").first.get_by_role("button").click()
    ru = page.locator("[class*='st-key-edit_ru_'] textarea").first
    expect(ru).to_be_visible()
    ru.fill(EDITED_TEXT)
    ru.press("Control+Enter")
    page.locator("[class*='st-key-save_']").first.get_by_role("button").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_text(EDITED_TEXT)).to_be_visible()
    shot(page, "edited")
    page.get_by_role("button", name="on this page reviewed").click()
    expect(page.get_by_text("segment(s) reviewed.")).to_be_visible()
    shot(page, "reviewed")

    # 6. approval
    page.get_by_role("link", name="Approval").click()
    expect(page.get_by_role("heading", name="Approval")).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("approved and locked")).to_be_visible()
    shot(page, "approved")

    # 7. export: prepared in memory when asked, then downloaded
    page.get_by_role("link", name="Export").click()
    expect(page.get_by_role("heading", name="Export")).to_be_visible()
    page.get_by_role("button", name="Prepare the export").click()
    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="Download E2E-001").click()
    download = download_info.value
    target = OUT / download.suggested_filename
    download.save_as(str(target))
    shot(page, "exported")
    return target


def test_browser_end_to_end_offline(server, eval_asr_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    clip = clip_path(eval_asr_dir)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    base = server["url"]
    requests: list[str] = []
    foreign: list[str] = []
    step = [0]

    def shot(page, name: str) -> None:
        _settle(page)
        step[0] += 1
        page.screenshot(path=str(OUT / f"{step[0]:02d}-{name}.png"), full_page=True)

    def route(r) -> None:
        url = r.request.url
        requests.append(url)
        if url.startswith(base + "/") or url == base or url.startswith(f"ws://127.0.0.1:{server['port']}/"):
            r.continue_()
        else:
            foreign.append(url)
            r.abort()

    with ConnectionWatch(server["proc"].pid) as watch, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        context.route("**/*", route)
        page = context.new_page()
        page.on("request", lambda req: requests.append(req.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        page.set_default_timeout(30_000)
        try:
            target = _walk_through(page, base, clip, shot)
            # a window closed while unlocked: its vault session is locked by the server within seconds
            page.close()
            time.sleep(12)
        except Exception:
            page.screenshot(path=str(OUT / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


    # the export is intact against its manifest, holds the corrected text and is not marked as a draft
    from workstation.manifest import verify_export

    assert verify_export(target) == []
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as zf:
        names = zf.namelist()
        txt = zf.read(next(n for n in names if n.endswith(".txt"))).decode("utf-8")
    assert EDITED_TEXT in txt
    assert "DRAFT" not in txt

    # offline: the page asked only the local server, the server talked only to loopback
    assert requests, "no request recorded: the capture did not work"
    assert not foreign, f"the page tried to reach other hosts: {foreign}"
    allowed = (base, f"ws://127.0.0.1:{server['port']}")
    assert all(u.startswith(allowed) or u.startswith(("data:", "blob:")) for u in requests), sorted(set(requests))
    assert watch.polls > 10
    assert watch.remotes, "no server connection was seen: the capture did not work"
    assert not watch.non_loopback(), f"the server connected beyond this machine: {watch.non_loopback()}"
    log_text = Path(server["log"]).read_text(errors="replace")
    assert "network guard blocked" not in log_text, log_text[-3000:]
    assert "a window disconnected while unlocked: its vault session was locked" in log_text, log_text[-3000:]
