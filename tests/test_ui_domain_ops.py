"""The domain operations the review page relies on beyond the core ones: speaker names, find/replace."""

from __future__ import annotations

import pytest

from workstation.domain.testimony import (
    ConflictError,
    EditError,
    LockedError,
    Segment,
    Status,
    Testimony,
    TestimonyMeta,
    find_in_column,
    rename_speaker,
    replace_in_column,
)


def _t() -> Testimony:
    segs = [
        Segment(0.0, 2.0, "Меня задержали в Грозном.", "I was detained in Grozny.", id="a"),
        Segment(2.0, 4.0, "В Грозном было страшно.", "It was scary in grozny.", id="b"),
        Segment(4.0, 6.0, "Потом отпустили.", "Then they let me go.", id="c"),
    ]
    return Testimony(TestimonyMeta("CASE-1"), status=Status.DRAFT, segments=segs)


def test_find_is_limited_to_one_column_and_case_insensitive_by_default() -> None:
    t = _t()
    assert [s.id for s in find_in_column(t, "en", "grozny")] == ["a", "b"]
    assert [s.id for s in find_in_column(t, "en", "grozny", case_sensitive=True)] == ["b"]
    assert find_in_column(t, "ru", "grozny") == []
    with pytest.raises(EditError):
        find_in_column(t, "speaker", "x")
    with pytest.raises(EditError):
        find_in_column(t, "ru", "")


def test_replace_changes_only_that_column_with_one_revision_per_segment() -> None:
    t = _t()
    revs = replace_in_column(t, "en", "grozny", "Grozny", base_revisions={"a": 0, "b": 0}, user="tr")
    assert [r.segment_id for r in revs] == ["b"]  # "a" matched but its text did not change: no revision
    assert t.segment("b").en == "It was scary in Grozny."
    assert t.segment("b").revision == 1 and t.segment("a").revision == 0
    assert t.segment("b").ru == "В Грозном было страшно."  # the other column is untouched


def test_replace_in_russian_marks_english_stale_and_detects_conflicts() -> None:
    t = _t()
    replace_in_column(t, "ru", "Грозном", "Г.", base_revisions={"a": 0, "b": 0}, user="tr")
    assert t.segment("a").ru == "Меня задержали в Г.." and t.segment("a").en_stale
    with pytest.raises(ConflictError):
        replace_in_column(t, "ru", "Г.", "Грозный", base_revisions={"a": 0}, user="tr")


def test_rename_speaker_keeps_labels_and_is_locked_after_approval() -> None:
    t = _t()
    rename_speaker(t, "witness", "Witness A", user="tr")
    assert t.speaker_names == {"witness": "Witness A"}
    rename_speaker(t, "witness", "", user="tr")
    assert t.speaker_names == {}
    with pytest.raises(EditError):
        rename_speaker(t, "judge", "X", user="tr")
    t.status = Status.APPROVED
    with pytest.raises(LockedError):
        rename_speaker(t, "other", "Neighbour", user="tr")
