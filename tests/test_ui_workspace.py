"""The review workspace's server side, without a browser: each event applied once, through the review services,
against the revision the person saw; conflicts reported, never overwritten; a lock saves what was sent first.
(The component itself, in Chromium: tests/test_ui_workspace_browser.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_ui import add_testimony, assert_no_exception, make_segments, open_app, texts
from workstation.services import review
from workstation.ui import audio_route
from workstation.ui.workspace import Memo, apply_events, mime_for, segment_rows

CASE = "WSU-1"


@pytest.fixture()
def case(ui_users: dict[str, Any], ui_clip: Any) -> str:
    segs = make_segments(6)
    del segs[2]  # a gap at 4–6 s
    add_testimony(ui_users["edna"], CASE, ui_clip, segs)
    return CASE


def _value(*events: dict[str, Any], client: str = "c1") -> dict[str, Any]:
    return {"client": client, "sent": 1, "events": [dict(e, n=i + 1) for i, e in enumerate(events)]}


def test_typing_then_confirm_is_saved_as_revisions_and_applied_once(ui_users: dict[str, Any], case: str) -> None:
    tanya = ui_users["tanya"]
    seg = tanya.load(case).segments[0]
    value = _value({"kind": "edit", "seg": seg.id, "base": seg.revision, "en": "I was detained"},
                   {"kind": "edit", "seg": seg.id, "base": seg.revision, "en": "I was detained near my home"},
                   {"kind": "confirm", "seg": seg.id, "base": seg.revision})  # all made against what was on screen
    memo = Memo()
    acks = apply_events(tanya, case, value, memo)
    assert [a["ok"] for a in acks] == [True, True, True], acks
    after = tanya.load(case).segments[0]
    assert after.en == "I was detained near my home" and after.reviewed and after.revision == seg.revision + 3
    again = apply_events(tanya, case, value, memo)  # sent again (its answer had not arrived): nothing applied twice
    assert again == acks and tanya.load(case).segments[0].revision == after.revision
    later = {"client": "c1", "sent": 2, "events": [{"n": 4, "kind": "edit", "seg": seg.id, "base": seg.revision,
                                                     "en": "I was detained near my home."}]}
    assert apply_events(tanya, case, later, memo)[0]["ok"]  # still the person's own text: no conflict


def test_someone_elses_change_meanwhile_is_a_conflict_not_an_overwrite(ui_users: dict[str, Any], case: str) -> None:
    tanya, edna = ui_users["tanya"], ui_users["edna"]
    seg = tanya.load(case).segments[1]
    review.edit(edna, case, seg.id, {"en": "Edna's English"}, base_revision=seg.revision)
    acks = apply_events(tanya, case, _value({"kind": "edit", "seg": seg.id, "base": seg.revision, "en": "Tanya's"},
                                            {"kind": "heartbeat"}), Memo())
    assert acks[0]["ok"] is False and acks[0]["conflict"] and "not saved over theirs" in acks[0]["error"]
    assert acks[1]["ok"]  # the others go on
    assert tanya.load(case).segments[1].en == "Edna's English"


def test_refusals_say_why_and_the_rest_is_applied(ui_users: dict[str, Any], case: str) -> None:
    tanya = ui_users["tanya"]
    t = tanya.load(case)
    first, last = t.segments[0], t.segments[-1]
    memo = Memo()
    acks = apply_events(tanya, case, _value(
        {"kind": "edit", "seg": first.id, "base": first.revision, "en": ""},
        {"kind": "confirm", "seg": first.id, "base": first.revision},  # no English now: refused, with the reason
        {"kind": "add", "start": 4.2, "end": 5.8},  # in the gap
        {"kind": "edit", "seg": last.id, "base": last.revision, "speaker": "interviewer"},
        {"kind": "times", "seg": last.id, "base": last.revision, "start": last.start + 0.2, "end": last.end},
        {"kind": "name_speaker", "label": "interviewer", "name": "Interviewer K"},
        {"kind": "position", "seg": last.id},
        {"kind": "make coffee"},
    ), memo)
    assert [a["ok"] for a in acks] == [True, False, True, True, True, True, True, False], acks
    assert "no English yet" in acks[1]["error"]
    assert "unknown" in acks[7]["error"]
    t = tanya.load(case)
    added = t.segment(acks[2]["new_id"])
    assert (added.start, added.end, added.untranscribed) == (4.2, 5.8, True) and t.segments.index(added) == 2
    moved = t.segment(last.id)
    assert moved.speaker == "interviewer" and moved.start == pytest.approx(last.start + 0.2)
    assert t.speaker_names == {"interviewer": "Interviewer K"}
    assert memo.position == last.id


def test_what_the_component_is_given(ui_users: dict[str, Any], case: str) -> None:
    t = ui_users["tanya"].load(case)
    rows = segment_rows(t)
    assert len(rows) == len(t.segments) and rows[0]["id"] == t.segments[0].id
    assert rows[0]["low"] is True and rows[0]["words"][1][3] is True  # the unsure word is marked
    assert rows[0]["why"] == "" and rows[0]["route"] == "argos"
    assert mime_for("wav") == "audio/wav" and mime_for("mov,mp4,m4a,3gp,3g2,mj2") == "audio/mp4"
    assert mime_for("amr") == "application/octet-stream"  # decoded to WAV for the player


def test_workspace_renders_and_a_lock_saves_what_it_had_sent(ui_users: dict[str, Any], case: str) -> None:
    tanya = ui_users["tanya"]
    at = open_app(tanya, "page_review.py")
    assert_no_exception(at)
    assert "UnknownElement(key='ws_value_WSU-1')" in str(at.main)  # the component (AppTest cannot run its script)
    url = at.session_state["ws_audio"][1]
    assert audio_route._lookup(url) is not None  # the recording, published (from memory) for this tab's player
    seg = tanya.load(case).segments[0]
    # what the component had sent when "Lock now" was clicked (its callback had not run yet)
    at.session_state[f"ws_value_{case}"] = _value({"kind": "edit", "seg": seg.id, "base": seg.revision,
                                                   "ru": "Текст, набранный перед блокировкой"})
    at.button(key="lock_now").click().run()
    assert_no_exception(at)
    assert "Unlock Testimony Workstation" in texts(at)
    assert audio_route._lookup(url) is None  # the lock withdrew it: nothing decrypted is served any more
    from tests.fixtures_ui import PASSPHRASE
    from workstation.vault import session

    again = session.unlock(tanya.path, "tanya", PASSPHRASE)
    assert again.load(case).segments[0].ru == "Текст, набранный перед блокировкой"


def test_audio_route_answers_ranges_and_only_known_tokens() -> None:
    import asyncio

    from workstation.ui.audio_route import AudioRouteMiddleware, byte_range, publish, withdraw_owner

    assert byte_range("bytes=0-9", 100) == (0, 9) and byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99) and byte_range(None, 100) is None
    with pytest.raises(ValueError):
        byte_range("bytes=200-", 100)
    data = bytes(range(256)) * 4
    url = publish("tab-1", data, "audio/wav")
    sent: list[dict[str, Any]] = []

    async def call(path: str, headers: list[tuple[bytes, bytes]]) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request"}

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 299, "headers": []})

        await AudioRouteMiddleware(inner)({"type": "http", "path": path, "method": "GET", "headers": headers},
                                          receive, send)

    asyncio.run(call(url, [(b"range", b"bytes=10-19")]))
    assert sent[0]["status"] == 206 and dict(sent[0]["headers"])[b"content-range"] == b"bytes 10-19/1024"
    assert b"".join(m.get("body", b"") for m in sent[1:]) == data[10:20]
    sent.clear()
    assert withdraw_owner("tab-1") == 1
    asyncio.run(call(url, []))
    assert sent[0]["status"] == 404  # withdrawn (lock): gone
    sent.clear()
    asyncio.run(call("/_stcore/health", []))
    assert sent[0]["status"] == 299  # everything else is Streamlit's


def test_split_merge_keep_english_and_unconfirm_events(ui_users: dict[str, Any], case: str) -> None:
    tanya = ui_users["tanya"]
    t = tanya.load(case)
    first, second = t.segments[0], t.segments[1]
    memo = Memo()
    acks = apply_events(tanya, case, _value(
        {"kind": "split", "seg": first.id, "base": first.revision, "at": first.start + 1.0},
    ), memo)
    assert acks[0]["ok"], acks
    left, right = acks[0]["ids"]
    t = tanya.load(case)
    assert [s.id for s in t.segments[:2]] == [left, right] and t.segment(left).en_stale
    acks = apply_events(tanya, case, {"client": "c1", "sent": 2, "events": [
        {"n": 2, "kind": "keep_en", "seg": left, "base": 0},
        {"n": 3, "kind": "confirm", "seg": left, "base": 0},  # made against the split's new segment: its own chain
        {"n": 4, "kind": "unconfirm", "seg": left, "base": 0},
        {"n": 5, "kind": "merge", "seg": right, "base": 0, "next": second.id, "next_base": second.revision},
    ]}, memo)
    assert [a["ok"] for a in acks] == [True, True, True, True], acks
    t = tanya.load(case)
    assert not t.segment(left).en_stale and not t.segment(left).reviewed
    merged = t.segment(acks[3]["new_id"])
    assert merged.start == pytest.approx(first.start + 1.0) and merged.end == second.end and len(t.segments) == 5
