"""Review: the transcript and its English draft side by side, and every correction.

Two views of the same testimony. The **workspace** (default; `workstation.ui.workspace`, a custom component) is
keyboard-first: a compact grid of every segment, the whole recording on a timeline, continuous playback that
follows along, autosave. The **list** (the fallback: no keyboard control, no continuous playback) pages through
rows with buttons, span playback, split/merge, find/replace.

Every change goes through `workstation.services.review`: one revision-checked save of a pure domain operation with
the revision the user saw, so a change made meanwhile in another window is reported as a conflict, never
overwritten. Interviewers see their own testimonies read-only; approved testimonies are read-only for everyone.
The place is kept in the address (`?case=…&seg=…`), so a reload (and unlocking again) returns to it.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from workstation.domain.testimony import (
    LOW_CONFIDENCE,
    ROUTE_LABELS,
    SPEAKERS,
    EnglishRoute,
    Segment,
    Status,
    Testimony,
    find_in_column,
)
from workstation.services import review
from workstation.services.review import FILTERS
from workstation.ui import nav, state, workspace

PAGE_SIZES = (25, 50, 100)
MODES = ("Workspace", "List")
MODE_KEY = "review_mode"
EDIT_KEY = "review_editing"  # segment id open in the editor
EDIT_BASE_KEY = "review_edit_base"  # {segment id: revision the edit started from}
PLAY_KEY = "review_playing"
SELECT_PREFIX = "review_sel_"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


# --- small pure helpers (rendering) ---------------------------------------------------------------


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def marked_russian(seg: Segment) -> str:
    """The Russian as markdown, low-confidence words on an orange background.

    Word timings describe what the recogniser heard; once a translator edits the text they no longer match
    it, and the plain (corrected) text is shown instead.
    """
    words_text = "".join(w.text for w in seg.words).strip()
    if not seg.words or words_text != seg.ru.strip():
        return _md(seg.ru) or "_(empty)_"
    parts = []
    for w in seg.words:
        lead = w.text[: len(w.text) - len(w.text.lstrip())]
        word = _md(w.text.strip())
        if w.probability < LOW_CONFIDENCE and word:
            parts.append(f"{lead}:orange-background[{word}]")
        else:
            parts.append(f"{lead}{word}")
    return "".join(parts).strip()


def speaker_name(t: Testimony, label: str) -> str:
    return t.speaker_names.get(label, label)


def selected_ids() -> list[str]:
    return [str(k).removeprefix(SELECT_PREFIX) for k, v in st.session_state.items() if str(k).startswith(SELECT_PREFIX) and v]


def _clear_selection() -> None:
    for k in [k for k in st.session_state if k.startswith(SELECT_PREFIX)]:
        st.session_state[k] = False


# --- actions (widget callbacks; each is one revision-checked update) ------------------------------


def _save(fn: Any, case: str, *args: Any, success: str = "", **kwargs: Any) -> Any:
    """One revision-checked save through the review service; the saved testimony becomes this tab's fresh copy."""
    out = state.run_action(fn, state.require_session(), case, *args, success=success, what="Saving", **kwargs)
    if out is None:  # refused or conflicting: show the latest version on the next render
        state.forget(case)
        return None
    result, t = out
    state.remember(t)
    return True if result is None else result


def _toggle_reviewed(case: str, seg_id: str, base: int, widget_key: str) -> None:
    _save(review.set_reviewed, case, seg_id, bool(st.session_state.get(widget_key)), base_revision=base)


def _mark_reviewed(case: str, bases: dict[str, int]) -> None:
    if not bases:
        return
    outcome = _save(review.mark_reviewed, case, bases)
    if outcome:
        state.flash("warning" if outcome.skipped else "success", outcome.describe())
        _clear_selection()


def bulk_plan(t: Testimony, ids: list[str] | None) -> tuple[dict[str, int], dict[str, str]]:
    """What a bulk "mark reviewed" of `ids` (None: every unreviewed segment) would do: marked, and skipped (why)."""
    chosen = [s for s in t.segments if (ids is None or s.id in ids) and not s.reviewed]
    marked = {s.id: s.revision for s in chosen if review.why_not_markable(s) is None}
    skipped = {s.id: str(review.why_not_markable(s)) for s in chosen if review.why_not_markable(s) is not None}
    return marked, skipped


BULK_KEY = "review_bulk_ask"  # (ids or None, words) while the "mark reviewed?" question is open


def _ask_bulk(ids: list[str] | None, what: str) -> None:
    state.touch()
    st.session_state[BULK_KEY] = (ids, what)


def _close_bulk() -> None:
    st.session_state.pop(BULK_KEY, None)


@st.dialog("Mark segments reviewed?", on_dismiss=_close_bulk)
def _confirm_bulk(case: str, ids: list[str] | None, what: str) -> None:
    """Ask first: how many will be marked, how many skipped and why (a bulk action never vouches for problems)."""
    t = state.testimony(case)
    marked, skipped = bulk_plan(t, ids)
    st.write(f"**{len(marked)}** segment(s) {what} will be marked reviewed: you vouch that you checked them.")
    if skipped:
        reasons: dict[str, int] = {}
        for why in skipped.values():
            reasons[why] = reasons.get(why, 0) + 1
        st.write(f"**{len(skipped)}** will be skipped, because a person must act on each first:")
        st.markdown("\n".join(f"- {n} × {why}" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])))
    c1, c2 = st.columns(2)
    if c1.button(f"Mark {len(marked)} reviewed", type="primary", key="bulk_yes", disabled=not marked):
        _close_bulk()
        _mark_reviewed(case, marked)
        st.rerun()
    if c2.button("Cancel", key="bulk_no"):
        _close_bulk()
        st.rerun()


def _forget_editor_state() -> None:
    for k in [k for k in st.session_state if str(k).startswith(("edit_ru_", "edit_en_", "edit_speaker_", "edit_opened_"))]:
        del st.session_state[k]


def _open_editor(seg_id: str, base: int) -> None:
    state.touch()
    _forget_editor_state()
    st.session_state[EDIT_KEY] = seg_id
    st.session_state[EDIT_BASE_KEY] = {seg_id: base}


def _close_editor() -> None:
    _forget_editor_state()
    st.session_state.pop(EDIT_KEY, None)
    st.session_state.pop(EDIT_BASE_KEY, None)


def _save_edit(case: str, seg: Segment) -> None:
    """Save the open editor's changes: one revision per changed field, all against the revision opened."""
    base = st.session_state.get(EDIT_BASE_KEY, {}).get(seg.id, seg.revision)
    new = {f: st.session_state.get(f"edit_{f}_{seg.id}") for f in ("ru", "en", "speaker")}
    # compare with the text the editor was opened with (kept in the widget default), not the latest
    opened = st.session_state.get(f"edit_opened_{seg.id}", {})
    changes = {f: v for f, v in new.items() if v is not None and v != opened.get(f)}
    if not changes:
        _close_editor()
        return
    if _save(review.edit, case, seg.id, changes, base_revision=base, success="Saved."):
        _close_editor()  # on a conflict the editor stays open with the user's text in it


def _take_theirs(seg_id: str, revision: int) -> None:
    """After a conflict: continue editing on top of the other person's version (the user's text stays)."""
    st.session_state[EDIT_BASE_KEY] = {seg_id: revision}
    state.flash("info", "Your text is still in the editor; saving now applies it on top of the latest version.")


def _split(case: str, seg_id: str, base: int, at_key: str) -> None:
    at = st.session_state.get(at_key)
    if at is None:
        return
    _save(review.split, case, seg_id, float(at), base_revision=base, success="Segment split; both halves need review.")
    _close_editor()


def _merge(case: str, first: str, second: str, bases: tuple[int, int]) -> None:
    _save(review.merge, case, first, second, base_revisions=bases, success="Segments merged; the merged segment needs review.")
    _close_editor()
    _clear_selection()


def _retranslate(case: str, bases: dict[str, int]) -> None:
    """Machine-translate the chosen segments again (Argos, or Whisper speech translation of their spans)."""
    if not bases:
        state.flash("warning", "Select the segments to re-translate first.")
        return
    audio = None if review.english_route() is EnglishRoute.ARGOS else state.recording(case)  # already in memory
    count = _save(review.retranslate, case, bases, audio=audio)
    if count:
        state.flash("success", f"Re-translated {count} segment(s). Check the new English before marking them reviewed.")
        _clear_selection()


def _short_retranslate() -> str:
    return "Re-translate" if review.english_route() is EnglishRoute.ARGOS else "Listen again"


def _keep_english(case: str, seg_id: str, base: int) -> None:
    _save(review.confirm_english, case, seg_id, base_revision=base, success="English kept as it is; no longer stale.")


def _remove(case: str, seg_id: str, base: int) -> None:
    _save(review.remove_segment, case, seg_id, base_revision=base, success="Empty segment removed.")


def _add(case: str) -> None:
    start, end = st.session_state.get("add_start"), st.session_state.get("add_end")
    if start is None or end is None:
        return
    _save(review.add_segment, case, float(start), float(end), ru=st.session_state.get("add_ru", ""),
          success="Segment added; it needs review.")


def _retime(case: str, seg_id: str, base: int) -> None:
    start, end = st.session_state.get(f"time_start_{seg_id}"), st.session_state.get(f"time_end_{seg_id}")
    if start is None or end is None:
        return
    rev = _save(review.set_times, case, seg_id, float(start), float(end), base_revision=base, success="Times changed.")
    if rev:  # the editor stays open with what was typed in it, now based on the re-timed revision
        st.session_state[EDIT_BASE_KEY] = {seg_id: rev.revision}


def gaps_between(t: Testimony, min_s: float = 1.0) -> list[tuple[float, float]]:
    """Stretches between segments (and before the first) at least `min_s` long: where missed speech may be."""
    gaps, cursor = [], 0.0
    for seg in t.segments:
        if seg.start - cursor >= min_s:
            gaps.append((round(cursor, 3), round(seg.start, 3)))
        cursor = max(cursor, seg.end)
    return gaps


def _add_in_gap(case: str, t: Testimony) -> None:
    with st.expander("Add a segment (speech the transcript misses)"):
        gaps = gaps_between(t)
        first = gaps[0] if gaps else (t.segments[-1].end if t.segments else 0.0, (t.segments[-1].end if t.segments else 0.0) + 5.0)
        st.caption("Gaps between segments: " + (", ".join(f"{state.fmt_time(a)}–{state.fmt_time(b)}" for a, b in gaps[:8])
                                                 or "none of a second or more") + ".")
        c1, c2, c3 = st.columns([1, 1, 3])
        c1.number_input("Start (seconds)", min_value=0.0, value=float(first[0]), step=0.5, key="add_start")
        c2.number_input("End (seconds)", min_value=0.0, value=float(first[1]), step=0.5, key="add_end")
        c3.text_input("Russian (may stay empty: then it is listed as untranscribed speech)", key="add_ru")
        st.button("Add segment", icon=":material/add:", key="add_go", on_click=_add, args=(case,))


def _play(seg_id: str) -> None:
    state.touch()
    st.session_state[PLAY_KEY] = seg_id


def _replace(case: str, fld: str, needle: str, replacement: str, bases: dict[str, int], case_sensitive: bool) -> None:
    _save(review.replace, case, fld, needle, replacement, bases=bases, case_sensitive=case_sensitive,
          success=f"Replaced in {len(bases)} segment(s) of the {'Russian' if fld == 'ru' else 'English'} column.")


def _rename(case: str, label: str, key: str) -> None:
    _save(review.rename_speaker, case, label, st.session_state.get(key, ""), success="Speaker renamed.")


# --- rendering -------------------------------------------------------------------------------------


def _audio_for(case: str, seg: Segment) -> None:
    with state.shown_errors("Playing the segment"):
        st.audio(review.span_audio(state.recording(case), seg.start, seg.end), format="audio/wav", autoplay=True)


def _row(case: str, t: Testimony, seg: Segment, number: int, editable: bool) -> None:
    with st.container(border=True):
        head, ru_col, en_col, act = st.columns([1.3, 4, 4, 1.4], vertical_alignment="top")
        with head:
            st.markdown(f"**#{number}** `{state.fmt_time(seg.start)}–{state.fmt_time(seg.end)}`")
            st.button("Play", icon=":material/play_arrow:", key=f"play_{seg.id}", on_click=_play, args=(seg.id,), help="Play exactly this span")
            st.caption(speaker_name(t, seg.speaker))
        badges = []
        if seg.untranscribed:
            badges.append(":red-badge[untranscribed speech]")
        elif review.low_confidence(seg):
            badges.append(":orange-badge[low confidence]")
        if seg.en_stale:
            badges.append(":red-badge[English stale]")
        if seg.reviewed:
            badges.append(":green-badge[reviewed]")
        editing = editable and st.session_state.get(EDIT_KEY) == seg.id
        if editing:
            _editor(case, t, seg, ru_col, en_col)
        else:
            if seg.untranscribed:
                ru_col.warning("Speech the recogniser could not transcribe. Play it and type what is said "
                               "(Edit), or remove it if it is not speech.", icon=":material/hearing:")
            if seg.ru or not seg.untranscribed:
                ru_col.markdown(marked_russian(seg))
            en_col.markdown(_md(seg.en) if seg.en else "_(no English yet)_")
            en_col.caption(ROUTE_LABELS[EnglishRoute(seg.en_route)] + ("  " + " ".join(badges) if badges else ""))
        with act:
            if editable:
                key = f"rv_{seg.id}_{seg.revision}"
                st.checkbox("Reviewed", value=seg.reviewed, key=key, on_change=_toggle_reviewed, args=(case, seg.id, seg.revision, key))
                st.checkbox("Select", key=f"{SELECT_PREFIX}{seg.id}")
                if not editing:
                    st.button("Edit", icon=":material/edit:", key=f"edit_{seg.id}", on_click=_open_editor, args=(seg.id, seg.revision))
                if not seg.ru.strip() and not seg.en.strip():
                    st.button("Remove", key=f"rm_{seg.id}", on_click=_remove, args=(case, seg.id, seg.revision),
                              help="Remove this empty segment (for a cough or a noise that is not speech)")
                if seg.en_stale:
                    st.button(_short_retranslate(), icon=":material/translate:", key=f"rt_{seg.id}",
                              on_click=_retranslate, args=(case, {seg.id: seg.revision}),
                              help=f"{review.retranslate_label()}: {review.retranslate_explained()}")
                    st.button("Keep English", key=f"keep_en_{seg.id}", on_click=_keep_english, args=(case, seg.id, seg.revision),
                              help="The English was checked and is right for the Russian as it is now")
            elif seg.reviewed:
                st.caption("✓ reviewed")
        if st.session_state.get(PLAY_KEY) == seg.id:
            _audio_for(case, seg)


def _editor(case: str, t: Testimony, seg: Segment, ru_col: Any, en_col: Any) -> None:
    base = st.session_state.get(EDIT_BASE_KEY, {}).get(seg.id, seg.revision)
    opened_key = f"edit_opened_{seg.id}"
    if opened_key not in st.session_state:
        st.session_state[opened_key] = {"ru": seg.ru, "en": seg.en, "speaker": seg.speaker}
    opened = st.session_state[opened_key]
    if seg.revision != base:
        st.warning(
            "Someone else changed this segment since you opened it. Their version: "
            f"**Russian** — {_md(seg.ru)} · **English** — {_md(seg.en)}. "
            "Your text is still below; nothing was overwritten."
        )
        st.button("Continue from their version", key=f"theirs_{seg.id}", on_click=_take_theirs, args=(seg.id, seg.revision))
    ru_col.text_area("Russian", value=opened["ru"], key=f"edit_ru_{seg.id}", height=110)
    en_col.text_area("English", value=opened["en"], key=f"edit_en_{seg.id}", height=110)
    labels = list(dict.fromkeys([*SPEAKERS, *t.speaker_names]))
    c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
    c1.selectbox("Speaker", labels, index=labels.index(opened["speaker"]) if opened["speaker"] in labels else 0,
                 format_func=lambda lab: speaker_name(t, lab), key=f"edit_speaker_{seg.id}")
    c2.button("Save", icon=":material/save:", key=f"save_{seg.id}", type="primary", on_click=_save_edit, args=(case, seg))
    c3.button("Cancel", key=f"cancel_{seg.id}", on_click=_close_editor)
    with c4.popover("Split / merge"):
        at_key = f"split_at_{seg.id}"
        if len(seg.words) >= 2:
            starts = [w.start for w in seg.words[1:] if seg.start < w.start < seg.end]
            if starts:
                st.selectbox("Split before the word", starts, key=at_key,
                             format_func=lambda s: f"{state.fmt_time(s)} — {next(w.text.strip() for w in seg.words if w.start == s)}")
        if at_key not in st.session_state and seg.end - seg.start > 0.1:
            st.number_input("Split at (seconds)", min_value=seg.start + 0.05, max_value=seg.end - 0.05,
                            value=(seg.start + seg.end) / 2, step=0.1, key=at_key)
        st.button("Split here", key=f"split_{seg.id}", on_click=_split, args=(case, seg.id, base, at_key))
        index = t.segments.index(seg)
        if index + 1 < len(t.segments):
            nxt = t.segments[index + 1]
            st.button("Merge with the next segment", key=f"merge_{seg.id}", on_click=_merge,
                      args=(case, seg.id, nxt.id, (base, nxt.revision)))
    with c4.popover("Start / end"):
        st.number_input("Start (seconds)", min_value=0.0, value=float(seg.start), step=0.1, key=f"time_start_{seg.id}")
        st.number_input("End (seconds)", min_value=0.0, value=float(seg.end), step=0.1, key=f"time_end_{seg.id}")
        st.button("Change times", key=f"retime_{seg.id}", on_click=_retime, args=(case, seg.id, base))


def _header(t: Testimony, *, progress: bool = True) -> None:
    total = len(t.segments)
    reviewed = sum(s.reviewed for s in t.segments)
    stale = sum(s.en_stale for s in t.segments)
    low = sum(1 for s in t.segments if review.low_confidence(s))
    gaps = [s for s in t.segments if s.untranscribed]
    if progress:
        st.progress(reviewed / total if total else 0.0,
                    text=f"{reviewed} of {total} segments reviewed · {stale} with stale English · {low} low confidence")
    if gaps:
        st.warning(
            f"{len(gaps)} stretch(es) of speech ({sum(s.end - s.start for s in gaps):.0f} s) could not be transcribed "
            "by the recogniser (red on the timeline; in the list, filter “Untranscribed speech”). Listen to each and "
            "type what is said; the testimony cannot be approved before.", icon=":material/hearing:",
        )
    if t.status is Status.APPROVED and t.approval:
        st.success(f"Approved by {t.approval.user} on {state.when(t.approval.at)}; locked. An editor can un-approve it "
                   "with a reason.", icon=":material/lock:")
    if any(str(s.en_route) == "whisper-translate" for s in t.segments):
        st.info("Part of the English comes from Whisper's speech translation, the lower-quality route: check it carefully.", icon=":material/info:")


def _find_replace(case: str, t: Testimony) -> None:
    with st.expander("Find and replace (one column)"):
        c1, c2, c3 = st.columns([1, 2, 2])
        column = c1.radio("Column", ["ru", "en"], format_func=lambda c: "Russian" if c == "ru" else "English", key="fr_col")
        needle = c2.text_input("Find", key="fr_find")
        replacement = c3.text_input("Replace with", key="fr_repl")
        case_sensitive = st.checkbox("Match case", key="fr_case")
        if not needle:
            return
        with state.shown_errors("Finding"):
            hits = find_in_column(t, column, needle, case_sensitive=case_sensitive)
            st.caption(f"{len(hits)} segment(s) contain it in the {'Russian' if column == 'ru' else 'English'} column.")
            for seg in hits[:5]:
                st.caption(f"`{state.fmt_time(seg.start)}` {getattr(seg, column)}")
            if hits:
                st.button(f"Replace in {len(hits)} segment(s)", key="fr_go", on_click=_replace,
                          args=(case, column, needle, replacement, {s.id: s.revision for s in hits}, case_sensitive))


def _speakers_form(case: str, t: Testimony) -> None:
    st.caption("Name each speaker once for this testimony (a pseudonym); in the workspace, Alt+1, Alt+2… assigns "
               "them. Exports keep the label in their structure and show the name.")
    labels = list(dict.fromkeys([*SPEAKERS, *t.speaker_names]))
    for i, label in enumerate(labels):
        key = f"spk_{label}_{len(t.revisions)}"
        st.text_input(f"Alt+{i + 1} · name for “{label}”", value=t.speaker_names.get(label, ""), key=key,
                      on_change=_rename, args=(case, label, key), placeholder=label)


def _bulk(case: str, t: Testimony, shown: list[Segment]) -> None:
    chosen = selected_ids()
    by_id = {s.id: s for s in t.segments}
    chosen = [i for i in chosen if i in by_id]
    c1, c2, c3, c4 = st.columns(4)
    markable = {s.id: s.revision for s in shown if not s.reviewed and review.why_not_markable(s) is None}
    unreviewed = [s.id for s in shown if not s.reviewed]
    c1.button("Mark page reviewed…", key="bulk_page_rv", disabled=not unreviewed, width="stretch",
              on_click=_ask_bulk, args=(unreviewed, "on this page"),
              help=f"{len(markable)} of them may be marked; asks first and says what it skips")
    c2.button(f"Mark {len(chosen)} selected…", key="bulk_sel_rv", disabled=not chosen, width="stretch",
              on_click=_ask_bulk, args=(chosen, "of those selected"))
    c3.button(f"{_short_retranslate()} {len(chosen)} selected", key="bulk_rt", on_click=_retranslate,
              help=f"{review.retranslate_label()}: {review.retranslate_explained()}",
              args=(case, {i: by_id[i].revision for i in chosen}), disabled=not chosen)
    pair = sorted(chosen, key=lambda i: t.segments.index(by_id[i]))
    mergeable = len(pair) == 2 and t.segments.index(by_id[pair[1]]) == t.segments.index(by_id[pair[0]]) + 1
    c4.button("Merge 2 selected", key="bulk_merge", on_click=_merge, disabled=not mergeable,
              args=(case, pair[0], pair[1], (by_id[pair[0]].revision, by_id[pair[1]].revision)) if mergeable else ("", "", "", (0, 0)))
    stale = [s for s in t.segments if s.en_stale]
    if stale:
        st.button(f"{review.retranslate_label()}: all {len(stale)} with stale English", icon=":material/translate:",
                  key="bulk_rt_stale", on_click=_retranslate, args=(case, {s.id: s.revision for s in stale}),
                  help=review.retranslate_explained())


@st.fragment
def _workspace(case: str, editable: bool, start_seg: str) -> None:
    """The workspace in a fragment: its events rerun only this part of the page (fast), not the whole app."""
    with state.shown_errors("The review workspace"):
        t = state.testimony(case)
        _header(t, progress=False)  # (the component shows the progress itself, live)
        workspace.show(case, t, editable=editable, start_seg=start_seg)


def _list(case: str, t: Testimony, editable: bool) -> None:
    if editable:
        _find_replace(case, t)
        _add_in_gap(case, t)
    c1, c2 = st.columns([4, 1])
    active = c1.pills("Show only", list(FILTERS), selection_mode="multi", key="review_filters") or []
    size = c2.selectbox("Per page", PAGE_SIZES, key="review_size")
    shown_all = [s for s in t.segments if all(FILTERS[f](s) for f in active)]
    pages = max(1, -(-len(shown_all) // size))
    page = st.pagination(pages, key="review_page") if pages > 1 else 1
    page = min(page, pages)
    shown = shown_all[(page - 1) * size : page * size]
    if editable:
        _bulk(case, t, shown)
    if not shown:
        st.info("No segment matches these filters.")
    numbers = {s.id: i + 1 for i, s in enumerate(t.segments)}
    for seg in shown:
        _row(case, t, seg, numbers[seg.id], editable)
    if pages > 1:
        st.caption(f"Page {page} of {pages} · {len(shown_all)} segment(s) shown of {len(t.segments)}")


def render() -> None:
    with state.page("Review", "Loading the testimony") as sess:
        summary = state.processed_case("No testimony is ready for review yet: processed recordings appear here.")
        if summary is None:
            return
        case = summary.case_code
        t = state.testimony(case)
        editable = nav.may_edit(sess.role) and t.status is not Status.APPROVED
        if not nav.may_edit(sess.role):
            st.caption("You can read this testimony and listen to it; translators and editors correct it.")
        c1, c2, c3, c4 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
        c4.button("Reload", icon=":material/refresh:", key="review_reload", help="Show the latest saved version now",
                  on_click=state.forget, args=(case,))
        mode = c1.segmented_control("View", MODES, key=MODE_KEY, default=MODES[0],
                                    help="Workspace: keyboard, the whole recording, autosave. List: buttons per row, "
                                         "split and merge, find and replace.") or MODES[0]
        if editable:
            with c2.popover("Speakers", icon=":material/record_voice_over:", width="stretch"):
                _speakers_form(case, t)
            unreviewed = [s.id for s in t.segments if not s.reviewed]
            c3.button("Mark reviewed…", key="bulk_all_rv", disabled=not unreviewed, width="stretch",
                      help="Mark every segment that may be marked reviewed (asks first, says what it skips)",
                      on_click=_ask_bulk, args=(None, "not reviewed yet"))
            if BULK_KEY in st.session_state:
                _confirm_bulk(case, *st.session_state[BULK_KEY])
        if mode == MODES[0]:
            _workspace(case, editable, str(st.query_params.get("seg", "")))
        else:
            _header(t)
            _list(case, t, editable)


if __name__ == "__main__":
    render()
