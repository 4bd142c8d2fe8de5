"""Pure domain rules for segments the recogniser missed: untranscribed speech, adding and re-timing segments."""

from __future__ import annotations

import pytest

from workstation.domain.testimony import (
    EditError,
    LockedError,
    Segment,
    Status,
    Testimony,
    TestimonyMeta,
    add_segment,
    approve,
    edit_segment,
    merge_segments,
    remove_empty_segment,
    set_reviewed,
    set_times,
)


def _testimony() -> Testimony:
    segments = [Segment(0.0, 2.0, "первый", id="a"), Segment(5.0, 7.0, "второй", id="b")]
    return Testimony(TestimonyMeta("C-1"), status=Status.DRAFT, segments=segments)


def test_add_segment_in_a_gap_is_untranscribed_until_typed():
    t = _testimony()
    seg = add_segment(t, 2.5, 4.5, user="tanya")
    assert [s.id for s in t.segments] == ["a", seg.id, "b"]
    assert seg.untranscribed and seg.ru == "" and (seg.start, seg.end) == (2.5, 4.5)
    assert t.revisions[-1].field == "add" and t.revisions[-1].user == "tanya"
    edit_segment(t, seg.id, "ru", "  ", base_revision=0, user="tanya")
    assert seg.untranscribed  # blanks are not a transcription
    edit_segment(t, seg.id, "ru", "меня держали три дня", base_revision=1, user="tanya")
    assert not seg.untranscribed


def test_add_segment_with_text_and_at_the_ends():
    t = _testimony()
    assert not add_segment(t, 8.0, 9.0, user="u", ru="конец").untranscribed
    assert t.segments[-1].ru == "конец"
    add_segment(t, 2.0, 5.0, user="u")  # touching both neighbours is fine
    assert [s.start for s in t.segments] == [0.0, 2.0, 5.0, 8.0]


@pytest.mark.parametrize("start, end", [(1.5, 3.0), (4.0, 6.0), (-1.0, 0.0), (3.0, 3.0), (4.0, 3.0), (0.5, 1.5)])
def test_add_segment_refuses_overlaps_and_empty_spans(start, end):
    t = _testimony()
    with pytest.raises(EditError):
        add_segment(t, start, end, user="u")
    assert len(t.segments) == 2 and not t.revisions


def test_set_times_moves_within_the_gaps_and_keeps_history():
    t = _testimony()
    rev = set_times(t, "a", 0.2, 3.0, base_revision=0, user="u")
    assert (t.segments[0].start, t.segments[0].end) == (0.2, 3.0)
    assert (rev.field, rev.old, rev.new) == ("times", "0.000-2.000", "0.200-3.000")
    with pytest.raises(EditError, match="overlaps"):
        set_times(t, "a", 0.2, 5.5, base_revision=1, user="u")
    with pytest.raises(EditError):
        set_times(t, "a", 2.0, 1.0, base_revision=1, user="u")


def test_remove_only_empty_segments():
    t = _testimony()
    seg = add_segment(t, 2.5, 4.5, user="u")
    with pytest.raises(EditError, match="has text"):
        remove_empty_segment(t, "a", base_revision=0, user="u")
    remove_empty_segment(t, seg.id, base_revision=0, user="u")
    assert [s.id for s in t.segments] == ["a", "b"] and t.revisions[-1].field == "remove"


def test_approval_waits_for_untranscribed_speech():
    t = _testimony()
    gap = add_segment(t, 2.5, 4.5, user="u")
    with pytest.raises(EditError, match="not transcribed yet"):
        set_reviewed(t, gap.id, True, base_revision=0, user="u")  # nobody can tick it off unheard
    for seg in t.segments:
        if not seg.untranscribed:
            set_reviewed(t, seg.id, True, base_revision=seg.revision, user="u")
    gap.reviewed = True  # even a record that claims it was reviewed (older data) does not get through
    with pytest.raises(LockedError, match="not transcribed .*2.5s"):
        approve(t, user="ed")
    assert t.status is Status.DRAFT
    edit_segment(t, gap.id, "ru", "[неразборчиво]", base_revision=gap.revision, user="u")
    approve(t, user="ed")
    assert t.status is Status.APPROVED


def test_empty_russian_is_never_approved():
    t = _testimony()
    edit_segment(t, "b", "ru", "", base_revision=0, user="u")  # text deleted by hand: no flag, still empty
    for seg in t.segments:
        set_reviewed(t, seg.id, True, base_revision=seg.revision, user="u")
    with pytest.raises(LockedError, match="no Russian text .*5.0s"):
        approve(t, user="ed")


def test_merging_with_untranscribed_speech_keeps_the_flag():
    t = _testimony()
    gap = add_segment(t, 2.5, 4.5, user="u")
    merged = merge_segments(t, "a", gap.id, base_revisions=(0, 0), user="u")
    assert merged.untranscribed and merged.ru == "первый"  # what was said in the gap is still missing
    edit_segment(t, merged.id, "ru", "первый и второй кусок", base_revision=0, user="u")
    assert not merged.untranscribed


def test_add_records_its_text():
    t = _testimony()
    add_segment(t, 2.5, 4.5, user="u", ru="найденная речь")
    assert t.revisions[-1].new == "2.500-4.500 найденная речь"


def test_untranscribed_flag_survives_a_round_trip_and_old_records_load():
    t = _testimony()
    add_segment(t, 2.5, 4.5, user="u")
    again = Testimony.from_dict(t.to_dict())
    assert [s.untranscribed for s in again.segments] == [False, True, False]
    old = t.to_dict()
    for seg in old["segments"]:
        del seg["untranscribed"]  # a record saved before the field existed
    assert not any(s.untranscribed for s in Testimony.from_dict(old).segments)


def test_locked_when_approved():
    t = _testimony()
    t.status = Status.APPROVED
    with pytest.raises(LockedError):
        add_segment(t, 2.5, 4.5, user="u")
    with pytest.raises(LockedError):
        set_times(t, "a", 0.0, 1.0, base_revision=0, user="u")
