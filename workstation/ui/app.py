"""The Streamlit workstation: unlock, role-based navigation, idle lock and "Lock now".

Run by `workstation app` (see workstation/cli/app_cmd.py), which binds the server to 127.0.0.1 and
switches off everything that could reach the network. The network guard is activated first thing here
too, so even a library habit inside the server process cannot leave the machine.

Pages are files next to this one (``page_*.py``), each with a ``render()``; ``workstation.ui.nav.PAGES`` says which
role sees which page. The library enforces the same permissions again, so hiding a page is a convenience, not the
protection.
"""

from __future__ import annotations

import math

from workstation.platform import offline

offline.activate()

import os  # noqa: E402
from pathlib import Path  # noqa: E402

import streamlit as st  # noqa: E402

from workstation.ui import state  # noqa: E402
from workstation.ui.nav import PAGES, allowed_pages  # noqa: E402
from workstation.vault.session import VaultSession  # noqa: E402

UI_DIR = Path(__file__).resolve().parent
IDLE_CHECK_EVERY_S = 15


def _page(file: str, title: str, *, default: bool = False) -> st.Page:
    # No page icons: Streamlit turns the current page's icon into the favicon, and a Material icon favicon is
    # fetched from fonts.gstatic.com (the browser test caught it). Icons inside pages use the bundled font.
    return st.Page(UI_DIR / file, title=title, url_path=_url_path(file), default=default)


def _url_path(file: str) -> str:
    return file.removeprefix("page_").removesuffix(".py")


def _locked_navigation() -> None:
    """No one is unlocked in this tab: every page's address shows the unlock (or create-vault) screen.

    Each page of the app is registered here under its own address, all drawing the unlock screen, so a reload of
    /review?case=…&seg=… shows the unlock screen (not "Page not found") and, once unlocked, the rerun finds the
    real page at the same address (Streamlit names a page by a hash of its address), with the place kept in it.
    """
    first, *rest = PAGES  # the default page keeps the first page's address: after unlocking, that page opens
    pages = [st.Page(UI_DIR / "page_unlock.py", title="Unlock", url_path=_url_path(first.file), default=True)]
    pages += [st.Page(UI_DIR / "page_unlock.py", title=spec.title, url_path=_url_path(spec.file)) for spec in rest]
    st.navigation(pages, position="hidden").run()


# (a lock time shorter than a minute, set in seconds, is checked more often: it locks within a quarter of it)
@st.fragment(run_every=max(1, min(IDLE_CHECK_EVERY_S, state.idle_lock_s() // 4)))
def _idle_watch() -> None:
    """Runs on its own every few seconds: locks the tab when nobody used it for the configured time."""
    if state.session() is None:
        return
    if state.idle_expired():
        after = state.fmt_duration(state.idle_lock_s())
        state.lock(f"Locked automatically after {after} without activity. Unlock to continue.")
        st.rerun(scope="app")
    left = max(0.0, state.idle_lock_s() - state.idle_for())
    # The caption is redrawn only every few seconds, so a countdown in seconds would look stuck: whole minutes
    # (rounded up) from a minute on.
    shown = f"{math.ceil(left / 60)} min" if left >= 60 else state.fmt_duration(left)
    st.caption(f"Locks itself after {shown} without activity.")


def _sidebar(vault_session: VaultSession) -> None:
    with st.sidebar:
        st.markdown(f"**{vault_session.user}** · {vault_session.role}")
        st.button(
            "Lock now",
            icon=":material/lock:",
            key="lock_now",
            type="primary",
            width="stretch",
            on_click=state.lock,
            kwargs={"notice": "Locked. Everything decrypted was cleared from this window."},
            help="Clears everything decrypted from this window at once. Processing already started continues.",
        )
        _idle_watch()


def _sealing_warning() -> None:
    """Where the processing worker cannot be cut off from the network (not Linux...), every page says so."""
    warning = os.environ.get("WORKSTATION_SEALING_WARNING", "")
    if warning:
        st.warning(warning, icon=":material/warning:")


def main() -> None:
    st.set_page_config(page_title="Testimony Workstation", layout="wide")
    _sealing_warning()
    if state.idle_expired():
        state.lock("Locked automatically after a period without activity. Unlock to continue.")
    vault_session = state.session()
    if vault_session is None:
        _locked_navigation()
        return
    state.touch()
    _sidebar(vault_session)
    sections: dict[str, list[st.Page]] = {}
    for i, spec in enumerate(allowed_pages(vault_session.role)):
        sections.setdefault(spec.section, []).append(_page(spec.file, spec.title, default=i == 0))
    st.navigation(sections).run()


main()
