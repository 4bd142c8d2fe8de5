"""The review workspace: a keyboard-first editor of a whole testimony, as a small custom component.

The component (`components/review_workspace/`: one static `index.html`, plain JavaScript and CSS, no build step,
nothing loaded from elsewhere) shows a compact two-column grid (Russian | English) of every segment, a timeline
of the whole recording with each segment as a box (gaps are the empty stretches), and a player for the whole
recording that follows along: the segment and the word being played are highlighted, a click on a word plays
from there. Keys work while typing (see `KEYS`, shown in the component).

Everything the person does becomes an *event* (an edit, "confirm", a speaker, new times, a segment added in a
gap...); the value also says where the person is (for reload) and changes with a heartbeat while they type or listen. The component keeps every event until the server acknowledges it and sends all unacknowledged
ones with each update, numbered; this module applies each number once (`apply_events`), through the same
`workstation.services.review` functions the CLI calls, with the revision the person saw. A change made meanwhile by
someone else is a conflict shown in the row (both texts), never an overwrite.

Nothing typed is lost: text is sent a moment after the person stops typing (and at once when the window loses
focus), each send is a revision; a lock first applies whatever the component had sent (`state.before_lock`), and
every event counts as activity for the idle lock, so typing and listening keep the window unlocked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from workstation.domain.testimony import LOW_CONFIDENCE, SPEAKERS, ConflictError, EnglishRoute, Segment, Testimony
from workstation.platform.errors import WorkstationError
from workstation.services import review
from workstation.speech import media
from workstation.ui import audio_route, state
from workstation.vault.session import VaultSession

log = logging.getLogger(__name__)

COMPONENT_DIR = Path(__file__).resolve().parent / "components" / "review_workspace"
_component = components.declare_component("review_workspace", path=str(COMPONENT_DIR))

KEY_PREFIX = "ws_value_"  # the component's value (its unacknowledged events), per testimony
MEMO_PREFIX = "ws_memo_"
ACKS_PREFIX = "ws_acks_"
AUDIO_KEY = "ws_audio"  # (case, url, mime) of the recording published for this tab's player
KEEP_RESULTS = 400

KEYS: tuple[tuple[str, str], ...] = (  # (keys, what they do): shown in the component and in docs/UI.md
    ("Esc", "play / pause (resumes 1 s earlier)"),
    ("Alt+← / Alt+→", "3 s back / forward"),
    ("Alt+↓ / Alt+↑", "slower / faster"),
    ("Ctrl+Enter", "confirm the segment and go to the next"),
    ("Alt+PgDn / Alt+PgUp", "next / previous segment"),
    ("Alt+P", "play this segment from its start"),
    ("Alt+1…9", "speaker"),
    ("Alt+[ / Alt+]", "start / end here (at the playhead)"),
    ("Alt+A", "add a segment in the gap at the playhead"),
    ("Alt+K", "keep the stale English as it is"),
    ("Alt+T", "re-translate"),
    ("Alt+S / Alt+M", "split at the playhead / merge with the next"),
)

MIME_BY_CONTAINER: tuple[tuple[str, str], ...] = (  # container names of the intake check → what a browser plays
    ("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("flac", "audio/flac"), ("ogg", "audio/ogg"), ("opus", "audio/ogg"),
    ("webm", "audio/webm"), ("matroska", "audio/webm"), ("mp4", "audio/mp4"), ("m4a", "audio/mp4"), ("mov", "audio/mp4"),
    ("aac", "audio/aac"),
)


# --- applying the component's events (no Streamlit in here: tests call it directly) -------------------------


@dataclass
class Memo:
    """What this tab's workspace already applied: events are numbered per client (one load of the component)."""

    client: str = ""
    last_n: int = 0
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    # per segment, the revisions this client's own changes produced (and the one it started from), and the latest:
    # a later event made against any of them was made against the person's own text, so it is no conflict
    own: dict[str, tuple[set[int], int]] = field(default_factory=dict)
    position: str = ""  # the segment the person is at (for reload)

    def base(self, seg_id: str, sent: int) -> int:
        revs, latest = self.own.get(seg_id, (set(), -1))
        return latest if sent in revs else sent

    def moved(self, seg_id: str, sent: int, used: int, new: int | None) -> None:
        if new is None or new == used:
            return
        revs, _latest = self.own.get(seg_id, (set(), -1))
        if used not in revs:
            revs = set()
        self.own[seg_id] = (revs | {sent, used, new}, new)


def _rev(value: Any) -> int | None:
    """A service result's new revision (an int, a Revision, or None for "nothing changed")."""
    if value is None:
        return None
    return value if isinstance(value, int) else int(value.revision)


def _apply_one(session: VaultSession, case: str, ev: dict[str, Any], memo: Memo) -> tuple[dict[str, Any], Testimony | None]:
    kind = str(ev.get("kind", ""))
    seg_id = str(ev.get("seg", ""))
    sent = int(ev.get("base", -1))
    base = memo.base(seg_id, sent) if seg_id else sent
    out: dict[str, Any] = {"ok": True, "kind": kind, "seg": seg_id}
    t: Testimony | None = None
    new: int | None = None
    if kind == "edit":
        changes: dict[str, str] = {f: str(ev[f]) for f in ("ru", "en", "speaker") if f in ev}
        rev, t = review.edit(session, case, seg_id, changes, base_revision=base)
        new = rev
    elif kind == "confirm":
        revision, t = review.confirm(session, case, seg_id, base_revision=base)
        new = _rev(revision)
    elif kind == "keep_en":
        revision, t = review.confirm_english(session, case, seg_id, base_revision=base)
        new = _rev(revision)
    elif kind == "unconfirm":
        revision, t = review.set_reviewed(session, case, seg_id, False, base_revision=base)
        new = _rev(revision)
    elif kind == "times":
        revision, t = review.set_times(session, case, seg_id, float(ev["start"]), float(ev["end"]), base_revision=base)
        new = _rev(revision)
    elif kind == "add":
        seg, t = review.add_segment(session, case, float(ev["start"]), float(ev["end"]), ru=str(ev.get("ru", "")))
        out["new_id"] = seg.id
    elif kind == "remove":
        _none, t = review.remove_segment(session, case, seg_id, base_revision=base)
    elif kind == "split":
        (left, right), t = review.split(session, case, seg_id, float(ev["at"]), base_revision=base)
        out["new_id"] = left.id
        out["ids"] = [left.id, right.id]
    elif kind == "merge":
        nxt = str(ev["next"])
        merged, t = review.merge(session, case, seg_id, nxt,
                                 base_revisions=(base, memo.base(nxt, int(ev.get("next_base", -1)))))
        out["new_id"] = merged.id
    elif kind == "retranslate":
        audio = None if review.english_route() is EnglishRoute.ARGOS else state.recording(case)
        _count, t = review.retranslate(session, case, {seg_id: base}, audio=audio)
        new = t.segment(seg_id).revision
    elif kind == "name_speaker":
        _none, t = review.rename_speaker(session, case, str(ev["label"]), str(ev.get("name", "")))
    elif kind == "position":
        memo.position = seg_id
    elif kind != "heartbeat":
        raise review.ReviewError(f"The workspace asked for something unknown ({kind!r}); nothing was changed.")
    if seg_id and kind not in ("position", "heartbeat"):
        memo.moved(seg_id, sent, base, new)
    if new is not None:
        out["rev"] = new
    return out, t


def apply_events(session: VaultSession, case: str, value: dict[str, Any] | None, memo: Memo,
                 remember: Callable[[Testimony], None] = lambda t: None) -> list[dict[str, Any]]:
    """Apply each event of the component's value not applied yet, in order; the results of all its events.

    A refused event (a conflict, a rule) does not stop the ones after it: each has its own result, which the
    component shows next to the segment. Already-applied events (sent again because their result had not
    arrived yet) are answered from the memo.
    """
    if not isinstance(value, dict):
        return []
    client = str(value.get("client", ""))
    if client != memo.client:
        memo.client, memo.last_n, memo.results, memo.own = client, 0, {}, {}
    events = sorted((e for e in value.get("events", []) if isinstance(e, dict) and "n" in e), key=lambda e: int(e["n"]))
    for ev in events:
        n = int(ev["n"])
        if n <= memo.last_n:
            continue
        saved: Testimony | None = None
        try:
            result, saved = _apply_one(session, case, ev, memo)
        except ConflictError:
            result = {"ok": False, "conflict": True, "kind": ev.get("kind"), "seg": ev.get("seg"),
                      "error": "Someone else changed this segment since you started; your text was not saved over "
                               "theirs. Both versions are shown: keep yours or take theirs."}
        except WorkstationError as exc:
            result = {"ok": False, "kind": ev.get("kind"), "seg": ev.get("seg"), "error": str(exc)}
        except Exception as exc:
            log.error("workspace event failed unexpectedly: %s", type(exc).__name__)
            result = {"ok": False, "kind": ev.get("kind"), "seg": ev.get("seg"),
                      "error": f"That failed unexpectedly ({type(exc).__name__}); nothing saved was lost."}
        result["n"] = n
        # recorded before anything else touches Streamlit (a new update may interrupt this run at its next call):
        # an event saved in the vault is never applied a second time
        memo.results[n] = result
        memo.last_n = n
        if saved is not None:
            remember(saved)
    for old in sorted(memo.results)[:-KEEP_RESULTS]:
        del memo.results[old]
    return [memo.results[int(e["n"])] for e in events if int(e["n"]) in memo.results]


# --- what the component is given -------------------------------------------------------------------------------


def segment_rows(t: Testimony) -> list[dict[str, Any]]:
    """Each segment as the component needs it (compact: words as [start, end, text, unsure])."""
    rows = []
    seen: set[int] = set()
    for seg in t.segments:
        part = t.part_at(seg.start) if len(t.part_starts) > 1 else 0  # 0: one file, no part marker
        first_of_part = part not in seen
        seen.add(part)
        rows.append({
            "id": seg.id, "start": round(seg.start, 3), "end": round(seg.end, 3), "ru": seg.ru, "en": seg.en,
            "speaker": seg.speaker, "rev": seg.revision, "reviewed": seg.reviewed, "untranscribed": seg.untranscribed,
            "stale": seg.en_stale, "route": str(seg.en_route), "low": review.low_confidence(seg),
            "edited": review.ru_edited(seg), "why": review.why_not_markable(seg) or "",
            "words": [[round(w.start, 2), round(w.end, 2), w.text, w.probability < LOW_CONFIDENCE] for w in seg.words],
            **({"part": part, "part_start": first_of_part} if part else {}),
        })
    return rows


def speakers(t: Testimony) -> list[dict[str, str]]:
    labels = list(dict.fromkeys([*SPEAKERS, *t.speaker_names, *(s.speaker for s in t.segments)]))
    return [{"label": lab, "name": t.speaker_names.get(lab, lab)} for lab in labels]


def mime_for(container: str) -> str:
    name = container.lower()
    return next((mime for part, mime in MIME_BY_CONTAINER if part in name), "application/octet-stream")


def _tab_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def audio_for(case: str, *, playable_wav: bool = False) -> tuple[str, str, float]:
    """The recording published for this tab's player: (URL path, MIME type, duration). The original bytes as they
    are (the browser decodes them); `playable_wav` when the browser could not: the 16 kHz decoding as WAV."""
    held = st.session_state.get(AUDIO_KEY)
    if held and held[0] == case and (not playable_wav or held[2] == "audio/wav"):
        return held[1], held[2], held[3]
    if held:
        audio_route.withdraw(held[1])
    whole = state.timeline(case)  # several files: already joined as one WAV (the player plays them in order)
    data, mime = whole.audio, mime_for(whole.container)
    if playable_wav or mime == "application/octet-stream":
        data, mime = media.wav_bytes(media.decode(data)), "audio/wav"
    url = audio_route.publish(_tab_id(), data, mime)
    duration = sum(p.info.duration_s for p in whole.parts)
    st.session_state[AUDIO_KEY] = (case, url, mime, duration)
    return url, mime, duration


# --- the Streamlit side ------------------------------------------------------------------------------------------


def _memo(case: str) -> Memo:
    memo = st.session_state.get(MEMO_PREFIX + case)
    if not isinstance(memo, Memo):
        memo = st.session_state[MEMO_PREFIX + case] = Memo()
    return memo


def _process(case: str) -> None:
    """The component's value changed (widget callback, or a lock about to clear the tab): apply its events."""
    vault_session = state.session()
    value = st.session_state.get(KEY_PREFIX + case)
    if vault_session is None or not isinstance(value, dict):
        return
    state.touch()  # every event is activity: typing, listening (heartbeats), confirming
    memo = _memo(case)
    acks = apply_events(vault_session, case, value, memo, state.remember)
    st.session_state[ACKS_PREFIX + case] = acks
    if any(a.get("conflict") for a in acks):
        state.forget(case)  # show the other person's version as it is now, not this tab's older copy
    if any(e.get("kind") == "audio_fallback" for e in value.get("events", []) if isinstance(e, dict)):
        st.session_state["ws_wav_" + case] = True
    position = str(value.get("position") or memo.position or "")
    if position and st.query_params.get("seg") != position:
        memo.position = position
        st.query_params["seg"] = position  # a reload comes back here


@state.before_lock
def flush_pending() -> None:
    """Before a lock clears the tab: apply whatever the workspace had sent and was not applied yet."""
    for key in [k for k in list(st.session_state.keys()) if str(k).startswith(KEY_PREFIX)]:
        _process(str(key).removeprefix(KEY_PREFIX))


def show(case: str, t: Testimony, *, editable: bool, start_seg: str = "", height: int = 760) -> Any:
    """Draw the workspace for one testimony (inside a fragment: an event reruns only this part of the page)."""
    url, mime, recorded = audio_for(case, playable_wav=bool(st.session_state.get("ws_wav_" + case)))
    total = max([s.end for s in t.segments] + [0.0])
    return _component(
        key=KEY_PREFIX + case, on_change=functools.partial(_process, case), default=None,
        case=case, segments=segment_rows(t), speakers=speakers(t), editable=editable,
        acks=st.session_state.get(ACKS_PREFIX + case, []), audio_url=url, audio_mime=mime,
        duration=max(total, recorded), start_seg=start_seg, height=height,
        retranslate_label=review.retranslate_label(), retranslate_help=review.retranslate_explained(),
        keys=[list(k) for k in KEYS], whisper_route=str(EnglishRoute.WHISPER),
    )


def stats(t: Testimony) -> dict[str, int]:
    segs: list[Segment] = t.segments
    return {"total": len(segs), "reviewed": sum(s.reviewed for s in segs),
            "needs": sum(review.needs_review(s) for s in segs), "untranscribed": sum(s.untranscribed for s in segs)}
