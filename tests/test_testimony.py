"""The domain rules: revisions, conflicts, locking, split/merge, approval."""

from __future__ import annotations

import pytest

from workstation.domain.testimony import (
    ConflictError,
    EditError,
    EnglishRoute,
    LockedError,
    Segment,
    Status,
    Testimony,
    TestimonyMeta,
    Word,
    approve,
    content_hash,
    edit_segment,
    merge_segments,
    set_reviewed,
    split_segment,
    unapprove,
)


def _testimony() -> Testimony:
    words = [Word(0.0, 0.5, " Меня", 0.9), Word(0.5, 1.0, " задержали", 0.4), Word(1.2, 2.0, " ночью.", 0.95)]
    segs = [
        Segment(0.0, 2.0, "Меня задержали ночью.", "I was detained at night.", words, 0.75, EnglishRoute.ARGOS),
        Segment(2.0, 4.0, "Это было в марте.", "It was in March.", [], 0.9, EnglishRoute.ARGOS),
    ]
    return Testimony(TestimonyMeta("CASE-7"), Status.DRAFT, segs)


def test_editing_russian_marks_english_stale_and_records_revision():
    t = _testimony()
    seg = t.segments[0]
    rev = edit_segment(t, seg.id, "ru", "Меня задержали утром.", base_revision=0, user="tr")
    assert seg.en_stale and rev.old == "Меня задержали ночью." and rev.revision == 1 and seg.revision == 1


def test_stale_revision_is_a_conflict_not_an_overwrite():
    t = _testimony()
    seg = t.segments[0]
    edit_segment(t, seg.id, "en", "A", base_revision=0, user="a")
    with pytest.raises(ConflictError):
        edit_segment(t, seg.id, "en", "B", base_revision=0, user="b")
    assert seg.en == "A" and seg.en_route is EnglishRoute.HUMAN


def test_split_and_merge_keep_words_and_mark_english_stale():
    t = _testimony()
    left, right = split_segment(t, t.segments[0].id, 1.1, base_revision=0, user="tr")
    assert left.ru == "Меня задержали" and right.ru == "ночью." and len(t.segments) == 3
    merged = merge_segments(t, left.id, right.id, base_revisions=(0, 0), user="tr")
    assert merged.ru == "Меня задержали ночью." and merged.en_stale and len(merged.words) == 3
    with pytest.raises(EditError):
        split_segment(t, merged.id, 9.0, base_revision=0, user="tr")


def test_approval_needs_every_segment_reviewed_then_locks():
    t = _testimony()
    with pytest.raises(LockedError):
        approve(t, user="ed")
    for s in t.segments:
        set_reviewed(t, s.id, True, base_revision=s.revision, user="tr")
    approval = approve(t, user="ed")
    assert approval.content_hash == content_hash(t) and t.status is Status.APPROVED
    with pytest.raises(LockedError):
        edit_segment(t, t.segments[0].id, "en", "x", base_revision=t.segments[0].revision, user="ed")
    with pytest.raises(EditError):
        unapprove(t, user="ed", reason="  ")
    unapprove(t, user="ed", reason="typo found")
    assert t.status is Status.DRAFT


def test_round_trip_through_dict():
    t = _testimony()
    assert Testimony.from_dict(t.to_dict()) == t
