"""Small helpers shared by the pages: the unlocked vault session, idle lock, "Lock now", error display.

Everything decrypted lives only in ``st.session_state`` (this browser tab's server-side state, in memory).
Locking clears all of it at once and hands the vault session to the job queue, which locks it right away
or, when a recording of this user is still being processed, as soon as that work finishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import streamlit as st
from streamlit.runtime.scriptrunner import RerunException, StopException

from workstation.domain import timefmt
from workstation.domain.testimony import ConflictError, Status
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.services import jobs
from workstation.services import timeline as timeline_
from workstation.ui import audio_route
from workstation.vault.session import VaultSession

log = logging.getLogger(__name__)

SESSION_KEY = "vault_session"
LAST_ACTIVITY_KEY = "last_activity"
NOTICE_KEY = "lock_notice"  # why the last lock happened, shown on the unlock screen (kept across the clear)
CACHE_KEY = "decrypted_cache"  # decrypted recordings / testimonies kept for speed; cleared on lock


def vault_path() -> Path:
    return load_settings().vault_path


def idle_lock_s() -> int:
    return load_settings().idle_lock_s


SWEEP_EVERY_S = 5.0
_open: dict[str, tuple[str, Any]] = {}  # Streamlit session id -> (vault path, vault session) of unlocked tabs
_open_lock = threading.Lock()
_sweeper: threading.Thread | None = None


def _release(path: str, vault_session: Any) -> None:
    jobs.queue_for(path).release(vault_session)


def _sweep() -> None:
    """Lock the vault session of every tab whose browser connection is gone (closed, reloaded, lid shut).

    Streamlit keeps a disconnected tab's state for reconnection and only forgets it lazily, so waiting for
    that would leave keys in memory indefinitely; this checks every few seconds instead.
    """
    while True:
        time.sleep(SWEEP_EVERY_S)
        live = _server()
        with _open_lock:
            gone = [sid for sid in _open if live is None or not live.is_active_session(sid)]
            released = [_open.pop(sid) for sid in gone]
        for sid in gone:
            audio_route.withdraw_owner(sid)  # the recording it was playing is no longer served
        for path, vault_session in released:
            log.warning("a window disconnected while unlocked: its vault session was locked")
            _release(path, vault_session)


def _server() -> Any | None:
    """Streamlit's runtime when this process is a real server (AppTest replaces it with a mock)."""
    from streamlit import runtime
    from streamlit.runtime import Runtime

    instance = runtime.get_instance() if runtime.exists() else None
    return instance if type(instance) is Runtime else None  # a mock with spec=Runtime passes isinstance


def _watch(vault_session: Any) -> None:
    """Register this tab's vault session for the sweeper (only inside a real server, not in AppTest)."""
    global _sweeper
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    server = _server()
    if ctx is None or server is None or server.is_active_session(ctx.session_id) is not True:
        return  # not a browser session of a real server (AppTest mocks the runtime): nothing to watch
    with _open_lock:
        _open[ctx.session_id] = (str(vault_path()), vault_session)
        if _sweeper is None or not _sweeper.is_alive():
            _sweeper = threading.Thread(target=_sweep, name="workstation-tab-sweeper", daemon=True)
            _sweeper.start()


def _unwatch() -> None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None:
        with _open_lock:
            _open.pop(ctx.session_id, None)


def session() -> VaultSession | None:
    """The unlocked vault session of this browser tab (serialised for the worker thread), or None."""
    current = st.session_state.get(SESSION_KEY)
    if current is None:
        return None
    if not isinstance(current, jobs.SerializedSession):
        current = jobs.serialized(current)  # a session put there directly (tests, benchmarks)
        st.session_state[SESSION_KEY] = current
    if current.locked:  # locked behind this tab's back: its connection dropped, or after its last job
        st.session_state.clear()
        st.session_state[NOTICE_KEY] = "This window was locked while it was disconnected. Unlock to continue."
        return None
    _watch(current)  # (again after a reconnection: the sweeper may have let go of it)
    # the wrapper forwards every VaultSession method, one call at a time: pages use it as the session itself
    return cast("VaultSession", current)


def require_session() -> VaultSession:
    current = session()
    if current is None:  # a page reached without unlocking (should not happen: app.py routes to unlock)
        st.warning("The vault is locked. Unlock it to continue.")
        st.stop()
    return current


def set_session(vault_session: VaultSession) -> None:
    st.session_state[SESSION_KEY] = vault_session
    session()  # wrap it and register it with the sweeper
    touch()


def touch() -> None:
    """Record user activity: every full rerun (a click, an edit, a page change), and every event of the review
    workspace, which reports typing and playback too (a heartbeat while the person types or listens)."""
    st.session_state[LAST_ACTIVITY_KEY] = time.monotonic()


def idle_for() -> float:
    last = st.session_state.get(LAST_ACTIVITY_KEY)
    return 0.0 if last is None else time.monotonic() - last


def idle_expired() -> bool:
    return session() is not None and idle_for() >= idle_lock_s()


_before_lock: list[Callable[[], None]] = []


def before_lock(fn: Callable[[], None]) -> Callable[[], None]:
    """Register work that must be saved before a lock clears the tab (the workspace's last typed text)."""
    if fn not in _before_lock:
        _before_lock.append(fn)
    return fn


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def lock(notice: str = "") -> None:
    """Save what is still pending (typed text), then forget everything decrypted in this tab at once and release
    the vault session."""
    current = session()
    if current is not None:
        for fn in list(_before_lock):
            try:
                fn()
            except Exception as exc:
                log.error("saving before the lock failed: %s", type(exc).__name__)
    _unwatch()
    sid = _session_id()
    if sid is not None:
        audio_route.withdraw_owner(sid)
    st.session_state.clear()
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if current is not None:
        jobs.queue_for(vault_path()).release(current)


def cache() -> dict[str, Any]:
    """Per-tab cache of decrypted data (recording bytes for playback...). Cleared by :func:`lock`."""
    return st.session_state.setdefault(CACHE_KEY, {})


def timeline(case_code: str) -> timeline_.Timeline:
    """The decrypted recording of a testimony (its parts joined in order, when it has several), kept in memory
    for playback until lock."""
    store = cache()
    key = f"recording:{case_code}"
    if key not in store:
        for other in [k for k in store if k.startswith("recording:")]:
            del store[other]  # keep at most one recording in memory per tab
        store[key] = timeline_.timeline(require_session(), case_code)
    return store[key]


def recording(case_code: str) -> bytes:
    """The bytes of :func:`timeline` (span playback, Whisper re-translation: times are on the timeline)."""
    return timeline(case_code).audio


TESTIMONY_MAX_AGE_S = 10.0  # a page shows a testimony at most this old (edits are revision-checked anyway)


def testimony(case_code: str, *, fresh: bool = False) -> Any:
    """The testimony, from this tab's cache when it is recent; every vault load is a 'view' audit entry.

    Showing a copy a few seconds old is safe: every change is checked against the revision the user saw,
    so an edit made on an outdated copy is a conflict, never an overwrite.
    """
    store = cache()
    hit = store.get(f"testimony:{case_code}")
    if hit and not fresh and time.monotonic() - hit[0] < TESTIMONY_MAX_AGE_S:
        return hit[1]
    t = require_session().load(case_code)
    remember(t)
    return t


def summaries(*, fresh: bool = False) -> list[Any]:
    """The testimonies this user may see (cached briefly: listing reads every testimony of the vault)."""
    store = cache()
    hit = store.get("summaries")
    finished = jobs.queue_for(vault_path()).finished  # a job that ended changed a testimony's status
    if hit and not fresh and hit[1] == finished and time.monotonic() - hit[0] < TESTIMONY_MAX_AGE_S:
        return hit[2]
    found = require_session().list_testimonies()
    store["summaries"] = (time.monotonic(), finished, found)
    return found


def remember(t: Any) -> None:
    """Keep a freshly saved testimony as this tab's copy (the list's counts and statuses are then stale)."""
    store = cache()
    store[f"testimony:{t.case_code}"] = (time.monotonic(), t)
    store.pop("summaries", None)


def forget(case_code: str) -> None:
    store = cache()
    store.pop(f"testimony:{case_code}", None)
    store.pop("summaries", None)


@contextmanager
def shown_errors(what: str = "That action") -> Iterator[None]:
    """Show library errors as a clear message in the page instead of a traceback.

    A ``WorkstationError`` carries a sentence meant for people. Anything else is a bug: the log gets its
    type (never content) and the page a calm message saying nothing saved was lost.
    """
    try:
        yield
    except WorkstationError as exc:
        st.error(str(exc), icon=":material/warning:")
    except Exception as exc:
        if _is_streamlit_control_flow(exc):
            raise
        log.error("unexpected error in the app: %s", type(exc).__name__, exc_info=False)
        st.error(
            f"{what} failed unexpectedly ({type(exc).__name__}). Nothing that was already saved has been lost. "
            "Try again; if it keeps happening, tell your technical contact.",
            icon=":material/error:",
        )


FLASH_KEY = "flash"


def flash(kind: str, text: str) -> None:
    """Queue a message for the next render (callbacks run before the page is drawn)."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def show_flashes() -> None:
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(text)


def run_action(fn: Any, *args: Any, success: str = "", what: str = "That action", **kwargs: Any) -> Any:
    """Run a library call from a widget callback; its outcome becomes a message on the next render."""
    touch()
    try:
        result = fn(*args, **kwargs)
    except ConflictError:  # (the library's sentence names revision numbers: people need what happened and what to do)
        flash("error", "Someone else changed this segment (or this testimony) while you were working on it. Your "
                       "change was not saved over theirs: the latest version is shown now; apply your change again.")
        return None
    except WorkstationError as exc:
        flash("error", str(exc))
        return None
    except Exception as exc:
        log.error("unexpected error in the app: %s", type(exc).__name__)
        flash("error", f"{what} failed unexpectedly ({type(exc).__name__}). Nothing already saved was lost.")
        return None
    if success:
        flash("success", success)
    return result


def processed_case(empty_message: str) -> Any | None:
    """Page header for pages about one processed testimony: a picker (shared across pages); its summary.

    Says ``empty_message`` and returns None when there is none yet.
    """
    found = [s for s in summaries() if s.status in (Status.DRAFT, Status.APPROVED)]
    case = selected_case([s.case_code for s in found])
    if case is None:
        st.info(empty_message)
        return None
    return next(s for s in found if s.case_code == case)


def selected_case(codes: list[str], *, label: str = "Testimony", key: str = "case_picker") -> str | None:
    """A testimony picker whose choice is shared by every page of this tab."""
    if not codes:
        return None
    previous = st.session_state.get("case")
    # a fresh tab, or unlocked again after a reload: the address says where the person was
    current = previous if previous is not None else st.query_params.get("case")
    index = codes.index(current) if current in codes else 0
    choice = st.selectbox(label, codes, index=index, key=key)
    if previous is not None and previous != choice and "seg" in st.query_params:
        del st.query_params["seg"]  # another testimony: its own place, not the last one's segment
    st.session_state["case"] = choice
    if st.query_params.get("case") != choice:
        st.query_params["case"] = choice
    return choice


@contextmanager
def page(title: str, what: str) -> Iterator[Any]:
    """A page's frame: its title, pending messages, and library errors shown as messages; yields the session."""
    vault_session = require_session()
    st.title(title)
    show_flashes()
    with shown_errors(what):
        yield vault_session


def _is_streamlit_control_flow(exc: BaseException) -> bool:
    # st.rerun / st.stop / st.switch_page raise these to steer the script; they must pass through.
    return isinstance(exc, RerunException | StopException)


fmt_time = timefmt.position
fmt_duration = timefmt.duration

STATUS_WORDS: dict[Status, str] = {  # what a status means, in the words people use
    Status.CREATED: "created, no recording yet",
    Status.INGESTED: "recording sealed, not processed",
    Status.PROCESSING: "being processed",
    Status.DRAFT: "draft, in review",
    Status.APPROVED: "approved",
}


def status_words(status: Status | str) -> str:
    try:
        return STATUS_WORDS[Status(status)]
    except ValueError:
        return str(status)


def when(iso: str | None, *, seconds: bool = False) -> str:
    """An ISO timestamp as people read it, in this computer's time zone: "12 March 2026, 14:05"."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment.day} {moment:%B %Y, %H:%M}" + (f":{moment:%S}" if seconds else "")
