"""Dense, fast tests of the pure domain core (`workstation.domain.testimony`): no disk, no model, no vault.

One area per block: set_translation, edit_segment (conflicts and fields), set_reviewed, split_segment (with and
without word times), merge_segments, content_hash (what an approval vouches for, and what it does not),
approve / unapprove. Hypothesis checks the properties that hold for any segment: split then merge gives the
text, the words, the times and the English back.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.domain.testimony import (
    Approval,
    ConflictError,
    EditError,
    EnglishRoute,
    LockedError,
    Revision,
    Segment,
    Status,
    Testimony,
    TestimonyMeta,
    Word,
    add_segment,
    approve,
    content_hash,
    edit_segment,
    merge_segments,
    set_reviewed,
    set_translation,
    split_segment,
    unapprove,
)


def _words(start: float, *tokens: str, step: float = 0.5, probability: float = 0.9) -> list[Word]:
    """Words as faster-whisper gives them: leading space, laid end to end from ``start``."""
    return [Word(start + i * step, start + (i + 1) * step, " " + tok, probability) for i, tok in enumerate(tokens)]


def _testimony(*, status: Status = Status.DRAFT) -> Testimony:
    """Three segments: "a" with word times, "b" without, "c" spoken by the interviewer."""
    segments = [
        Segment(0.0, 2.0, "Меня задержали утром возле", "They detained me in the morning near",
                words=_words(0.0, "Меня", "задержали", "утром", "возле"), confidence=0.8,
                en_route=EnglishRoute.ARGOS, id="a"),
        Segment(2.0, 4.0, "дома на улице Ленина", "the house on Lenin street", confidence=0.7,
                en_route=EnglishRoute.ARGOS, id="b"),
        Segment(4.5, 6.0, "Что было потом?", "What happened next?", confidence=0.95, en_route=EnglishRoute.ARGOS,
                speaker="interviewer", id="c"),
    ]
    return Testimony(TestimonyMeta("CASE-9", interview_date="2024-03-01", interviewer="ivan"), status, segments)


def _reviewed(t: Testimony) -> Testimony:
    for seg in t.segments:
        set_reviewed(t, seg.id, True, base_revision=seg.revision, user="tanya")
    return t


def _snapshot(t: Testimony) -> dict:
    return t.to_dict()


# --- set_translation ---------------------------------------------------------------------------


def test_set_translation_sets_text_route_and_clears_stale() -> None:
    t = _testimony()
    edit_segment(t, "a", "ru", "Меня задержали вечером возле", base_revision=0, user="tanya")
    seg = t.segment("a")
    assert seg.en_stale is True
    rev = set_translation(t, "a", "They detained me in the evening near", EnglishRoute.ARGOS, base_revision=1,
                          user="tanya")
    assert (seg.en, seg.en_route, seg.en_stale, seg.revision) == (
        "They detained me in the evening near", EnglishRoute.ARGOS, False, 2)
    assert (rev.segment_id, rev.revision, rev.user, rev.field) == ("a", 2, "tanya", "en")
    assert (rev.old, rev.new) == ("They detained me in the morning near", "They detained me in the evening near")
    assert t.revisions[-1] is rev and len(t.revisions) == 2


@pytest.mark.parametrize("route", list(EnglishRoute))
def test_set_translation_records_the_route_it_is_given(route: EnglishRoute) -> None:
    t = _testimony()
    set_translation(t, "b", "x", route, base_revision=0, user="u")
    assert t.segment("b").en_route is route


def test_set_translation_leaves_russian_words_and_review_alone() -> None:
    t = _testimony()
    set_reviewed(t, "a", True, base_revision=0, user="u")
    before = dataclasses.replace(t.segment("a"))
    set_translation(t, "a", "new", EnglishRoute.WHISPER, base_revision=1, user="u")
    after = t.segment("a")
    assert (after.ru, after.words, after.reviewed, after.speaker, after.start, after.end) == (
        before.ru, before.words, before.reviewed, before.speaker, before.start, before.end)


def test_set_translation_refuses_stale_revision_locked_testimony_and_unknown_segment() -> None:
    t = _testimony()
    set_translation(t, "a", "first", EnglishRoute.ARGOS, base_revision=0, user="u")
    with pytest.raises(ConflictError, match=r"you edited revision 0, it is now at revision 1"):
        set_translation(t, "a", "second", EnglishRoute.ARGOS, base_revision=0, user="v")
    assert t.segment("a").en == "first" and len(t.revisions) == 1
    with pytest.raises(EditError, match="There is no segment 'zz' in testimony CASE-9"):
        set_translation(t, "zz", "x", EnglishRoute.ARGOS, base_revision=0, user="u")
    locked = _testimony(status=Status.APPROVED)
    with pytest.raises(LockedError, match="CASE-9 is approved and locked"):
        set_translation(locked, "a", "x", EnglishRoute.ARGOS, base_revision=0, user="u")
    assert locked.segment("a").en == "They detained me in the morning near" and locked.revisions == []


# --- edit_segment ------------------------------------------------------------------------------


def test_edit_conflict_changes_nothing() -> None:
    t = _testimony()
    edit_segment(t, "b", "ru", "дома на улице Мира", base_revision=0, user="tanya")
    before = _snapshot(t)
    with pytest.raises(ConflictError, match="Someone else changed this segment"):
        edit_segment(t, "b", "ru", "дома на проспекте", base_revision=0, user="inna")
    with pytest.raises(ConflictError, match="you edited revision 2, it is now at revision 1"):
        edit_segment(t, "b", "ru", "дома на проспекте", base_revision=2, user="inna")  # ahead is stale too
    assert _snapshot(t) == before


def test_each_edit_takes_the_current_revision_and_bumps_it() -> None:
    t = _testimony()
    for base, text in enumerate(["один", "два", "три"]):
        rev = edit_segment(t, "c", "ru", text, base_revision=base, user="u")
        assert rev.revision == base + 1 == t.segment("c").revision
    assert [(r.old, r.new) for r in t.revisions] == [("Что было потом?", "один"), ("один", "два"), ("два", "три")]
    assert t.segment("a").revision == 0 and t.segment("b").revision == 0  # revisions are per segment


def test_editing_russian_marks_english_stale_only_when_it_changes_and_english_exists() -> None:
    t = _testimony()
    edit_segment(t, "a", "ru", t.segment("a").ru, base_revision=0, user="u")  # the same text
    assert t.segment("a").en_stale is False
    t.segment("b").en = ""
    edit_segment(t, "b", "ru", "другой текст", base_revision=0, user="u")
    assert t.segment("b").en_stale is False  # nothing to be stale
    edit_segment(t, "c", "ru", "А потом?", base_revision=0, user="u")
    assert t.segment("c").en_stale is True and t.segment("c").en_route is EnglishRoute.ARGOS


def test_editing_english_makes_it_human_and_fresh() -> None:
    t = _testimony()
    edit_segment(t, "a", "ru", "иначе", base_revision=0, user="u")
    edit_segment(t, "a", "en", "Otherwise", base_revision=1, user="u")
    seg = t.segment("a")
    assert (seg.en, seg.en_route, seg.en_stale) == ("Otherwise", EnglishRoute.HUMAN, False)


def test_speaker_edit_accepts_known_labels_and_named_ones_only() -> None:
    t = _testimony()
    edit_segment(t, "a", "speaker", "other", base_revision=0, user="u")
    assert t.segment("a").speaker == "other"
    with pytest.raises(EditError, match="Unknown speaker 'judge'; use one of interviewer, witness, other"):
        edit_segment(t, "a", "speaker", "judge", base_revision=1, user="u")
    assert t.segment("a").speaker == "other" and t.segment("a").revision == 1
    t.speaker_names["speaker_3"] = "Neighbour"
    rev = edit_segment(t, "a", "speaker", "speaker_3", base_revision=1, user="u")
    assert (rev.field, rev.old, rev.new) == ("speaker", "other", "speaker_3")


@pytest.mark.parametrize("fld", ["start", "words", "reviewed", "en_route", "id", "revision", ""])
def test_only_text_and_speaker_are_editable(fld: str) -> None:
    t = _testimony()
    with pytest.raises(EditError, match="cannot be edited; choose one of ru, en, speaker"):
        edit_segment(t, "a", fld, "x", base_revision=0, user="u")
    assert t.revisions == []


def test_edit_revision_records_who_and_when() -> None:
    t = _testimony()
    before = datetime.now().astimezone()
    rev = edit_segment(t, "a", "en", "x", base_revision=0, user="tanya")
    at = datetime.fromisoformat(rev.at)
    assert at.utcoffset() == timedelta(0)  # UTC, with its offset written
    assert before - timedelta(seconds=2) <= at <= datetime.now().astimezone() + timedelta(seconds=1)
    assert rev == Revision("a", 1, "tanya", rev.at, "en", "They detained me in the morning near", "x")


def test_editing_an_approved_testimony_is_locked_whatever_the_field() -> None:
    t = _testimony(status=Status.APPROVED)
    for fld in ("ru", "en", "speaker"):
        with pytest.raises(LockedError, match="An editor must un-approve it"):
            edit_segment(t, "a", fld, "other", base_revision=0, user="u")
    with pytest.raises(LockedError):
        set_reviewed(t, "a", False, base_revision=0, user="u")
    assert t.revisions == [] and t.segment("a").ru == "Меня задержали утром возле"


# --- set_reviewed ------------------------------------------------------------------------------


def test_set_reviewed_records_old_and_new_and_can_be_undone() -> None:
    t = _testimony()
    on = set_reviewed(t, "b", True, base_revision=0, user="tanya")
    off = set_reviewed(t, "b", False, base_revision=1, user="tanya")
    assert [(r.field, r.old, r.new, r.revision) for r in (on, off)] == [
        ("reviewed", "False", "True", 1), ("reviewed", "True", "False", 2)]
    assert t.segment("b").reviewed is False
    with pytest.raises(ConflictError):
        set_reviewed(t, "b", True, base_revision=1, user="tanya")


# --- split_segment -----------------------------------------------------------------------------


def test_split_with_word_times_sends_each_word_to_the_side_it_starts_on() -> None:
    t = _testimony()
    original = t.segment("a")
    left, right = split_segment(t, "a", 1.0, base_revision=0, user="tanya")  # a word starts exactly at 1.0
    assert [w.text for w in left.words] == [" Меня", " задержали"]
    assert [w.text for w in right.words] == [" утром", " возле"]
    assert (left.ru, right.ru) == ("Меня задержали", "утром возле")
    assert (left.start, left.end, right.start, right.end) == (0.0, 1.0, 1.0, 2.0)
    assert left.words + right.words == original.words
    assert [s.id for s in t.segments] == [left.id, right.id, "b", "c"]
    assert len({left.id, right.id, "a"}) == 3


def test_split_keeps_english_on_the_left_marks_both_stale_and_resets_review() -> None:
    t = _reviewed(_testimony())
    base = t.segment("a").revision
    left, right = split_segment(t, "a", 0.9, base_revision=base, user="tanya")
    assert (left.en, right.en) == ("They detained me in the morning near", "")
    assert left.en_stale and right.en_stale
    assert (left.reviewed, right.reviewed, left.revision, right.revision) == (False, False, 0, 0)
    assert (left.speaker, right.speaker, left.en_route, right.en_route) == ("witness", "witness",
                                                                              EnglishRoute.ARGOS, EnglishRoute.ARGOS)
    assert (left.confidence, right.confidence) == (0.8, 0.8)
    rev = t.revisions[-1]
    assert (rev.segment_id, rev.revision, rev.field, rev.old, rev.new) == (
        "a", base + 1, "split", "Меня задержали утром возле", f"{left.id}|{right.id}")


def test_split_without_english_is_not_stale() -> None:
    t = _testimony()
    t.segment("b").en = ""
    left, right = split_segment(t, "b", 3.0, base_revision=0, user="u")
    assert (left.en_stale, right.en_stale) == (False, False)


def test_split_without_word_times_cuts_the_text_in_proportion_at_a_word_boundary() -> None:
    t = _testimony()  # "b": 2.0–4.0 s, four words, no word times
    cases = {2.5: ("дома", "на улице Ленина"), 3.0: ("дома на", "улице Ленина"), 3.5: ("дома на улице", "Ленина")}
    for at, expected in cases.items():
        t = _testimony()
        left, right = split_segment(t, "b", at, base_revision=0, user="u")
        assert (left.ru, right.ru) == expected, at
        assert (left.words, right.words) == ([], [])
        assert (left.end, right.start) == (at, at)


@pytest.mark.parametrize("at", [2.01, 3.99])
def test_split_without_word_times_leaves_at_least_one_word_each_side(at: float) -> None:
    t = _testimony()
    left, right = split_segment(t, "b", at, base_revision=0, user="u")
    assert left.ru and right.ru and f"{left.ru} {right.ru}" == "дома на улице Ленина"


def test_split_with_every_word_on_one_side_still_cuts_the_text_and_keeps_the_words() -> None:
    t = _testimony()
    left, right = split_segment(t, "a", 1.99, base_revision=0, user="u")  # all four words start before 1.99
    assert [w.text for w in left.words] == [" Меня", " задержали", " утром", " возле"] and right.words == []
    assert (left.ru, right.ru) == ("Меня задержали утром", "возле")


@pytest.mark.parametrize("at", [0.0, 2.0, -1.0, 2.5, float("nan")])
def test_split_point_must_be_strictly_inside(at: float) -> None:
    t = _testimony()
    with pytest.raises(EditError, match="is not inside the segment"):
        split_segment(t, "a", at, base_revision=0, user="u")
    assert len(t.segments) == 3 and t.revisions == []


def test_split_checks_revision_and_lock() -> None:
    t = _testimony()
    with pytest.raises(ConflictError):
        split_segment(t, "a", 1.0, base_revision=3, user="u")
    with pytest.raises(LockedError):
        split_segment(_testimony(status=Status.APPROVED), "a", 1.0, base_revision=0, user="u")
    assert [s.id for s in t.segments] == ["a", "b", "c"]


def test_split_of_untranscribed_speech_keeps_both_halves_untranscribed() -> None:
    t = _testimony()
    gap = add_segment(t, 6.5, 9.5, user="u")
    left, right = split_segment(t, gap.id, 8.0, base_revision=0, user="u")
    assert (left.untranscribed, right.untranscribed) == (True, True)
    assert (left.ru, right.ru) == ("", "")


def test_split_after_a_russian_edit_keeps_the_edited_text() -> None:
    t = _testimony()
    edit_segment(t, "a", "ru", "Меня задержали вечером возле", base_revision=0, user="tanya")
    left, right = split_segment(t, "a", 1.0, base_revision=1, user="tanya")
    assert f"{left.ru} {right.ru}" == "Меня задержали вечером возле"


# --- merge_segments ----------------------------------------------------------------------------


def test_merge_joins_texts_words_times_and_takes_the_lower_confidence() -> None:
    t = _testimony()
    merged = merge_segments(t, "a", "b", base_revisions=(0, 0), user="tanya")
    assert (merged.start, merged.end) == (0.0, 4.0)
    assert merged.ru == "Меня задержали утром возле дома на улице Ленина"
    assert merged.en == "They detained me in the morning near the house on Lenin street"
    assert merged.words == _words(0.0, "Меня", "задержали", "утром", "возле")
    assert merged.confidence == 0.7
    assert (merged.en_stale, merged.reviewed, merged.revision, merged.untranscribed) == (True, False, 0, False)
    assert merged.id not in ("a", "b") and [s.id for s in t.segments] == [merged.id, "c"]
    rev = t.revisions[-1]
    assert (rev.segment_id, rev.revision, rev.field, rev.old, rev.new) == ("a", 1, "merge", "a|b", merged.id)


def test_merge_keeps_the_first_segments_speaker_and_route() -> None:
    t = _testimony()
    set_translation(t, "c", "And then?", EnglishRoute.HUMAN, base_revision=0, user="u")
    merged = merge_segments(t, "b", "c", base_revisions=(0, 1), user="u")
    assert merged.speaker == "witness"  # the interviewer's question now reads as the witness's: review it
    assert merged.en_route is EnglishRoute.ARGOS


def test_merge_resets_review_even_when_both_were_reviewed() -> None:
    t = _reviewed(_testimony())
    merged = merge_segments(t, "a", "b", base_revisions=(1, 1), user="u")
    assert merged.reviewed is False and t.all_reviewed() is False


def test_merge_without_any_english_is_not_stale_and_empty_halves_leave_no_stray_space() -> None:
    t = _testimony()
    t.segment("a").en = ""
    t.segment("b").en = ""
    t.segment("a").ru = ""
    merged = merge_segments(t, "a", "b", base_revisions=(0, 0), user="u")
    assert (merged.en, merged.en_stale, merged.ru) == ("", False, "дома на улице Ленина")


@pytest.mark.parametrize("first, second", [("b", "a"), ("a", "c"), ("a", "a"), ("c", "a")])
def test_only_a_segment_and_the_one_right_after_it_merge(first: str, second: str) -> None:
    t = _testimony()
    before = _snapshot(t)
    with pytest.raises(EditError, match="Only two neighbouring segments can be merged"):
        merge_segments(t, first, second, base_revisions=(0, 0), user="u")
    assert _snapshot(t) == before


def test_merge_checks_both_revisions_the_lock_and_the_ids() -> None:
    t = _testimony()
    edit_segment(t, "b", "en", "changed", base_revision=0, user="other")
    before = _snapshot(t)
    with pytest.raises(ConflictError, match="you edited revision 0, it is now at revision 1"):
        merge_segments(t, "a", "b", base_revisions=(0, 0), user="u")
    with pytest.raises(ConflictError):
        merge_segments(t, "a", "b", base_revisions=(1, 1), user="u")
    with pytest.raises(EditError, match="There is no segment 'x'"):
        merge_segments(t, "a", "x", base_revisions=(0, 0), user="u")
    assert _snapshot(t) == before
    with pytest.raises(LockedError):
        merge_segments(_testimony(status=Status.APPROVED), "a", "b", base_revisions=(0, 0), user="u")


@pytest.mark.parametrize("flags", [(True, False), (False, True), (True, True)])
def test_merge_with_untranscribed_speech_stays_untranscribed(flags: tuple[bool, bool]) -> None:
    t = _testimony()
    t.segment("a").untranscribed, t.segment("b").untranscribed = flags
    assert merge_segments(t, "a", "b", base_revisions=(0, 0), user="u").untranscribed is True


# --- split then merge: properties ----------------------------------------------------------------

_TOKEN = st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщыэюя.,?!-", min_size=1, max_size=8)


@st.composite
def _segment_with_words(draw: st.DrawFn) -> Segment:
    """A segment whose Russian is its words' text (as the recogniser produces it), words in time order."""
    tokens = draw(st.lists(_TOKEN, min_size=1, max_size=12))
    start = draw(st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2)))
    gaps = draw(st.lists(st.floats(0.05, 2.0).map(lambda x: round(x, 2)), min_size=len(tokens), max_size=len(tokens)))
    words, at = [], start
    for tok, length in zip(tokens, gaps):
        words.append(Word(round(at, 3), round(at + length, 3), " " + tok, draw(st.floats(0, 1))))
        at += length
    ru = "".join(w.text for w in words).strip()
    return Segment(start, round(at + 0.1, 3), ru, draw(st.sampled_from(["", "An English draft."])), words=words,
                   confidence=draw(st.floats(0, 1)), speaker=draw(st.sampled_from(["witness", "interviewer"])), id="s")


def _inside(seg: Segment, fraction: float) -> float:
    return seg.start + (seg.end - seg.start) * fraction


_FRACTION = st.floats(0.001, 0.999)
_FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(seg=_segment_with_words(), fraction=_FRACTION)
def test_split_then_merge_gives_back_text_words_times_and_english(seg: Segment, fraction: float) -> None:
    at = _inside(seg, fraction)
    if not seg.start < at < seg.end:
        return
    original = dataclasses.replace(seg, words=list(seg.words))
    t = Testimony(TestimonyMeta("P-1"), Status.DRAFT, [seg])
    left, right = split_segment(t, "s", at, base_revision=0, user="u")
    assert left.words + right.words == original.words
    assert all(w.start < at for w in left.words) and all(w.start >= at for w in right.words)
    merged = merge_segments(t, left.id, right.id, base_revisions=(0, 0), user="u")
    assert merged.ru == original.ru
    assert merged.words == original.words
    assert (merged.start, merged.end, merged.en, merged.speaker) == (original.start, original.end, original.en,
                                                                     original.speaker)
    assert t.segments == [merged] and [r.field for r in t.revisions] == ["split", "merge"]


@_FAST
@given(tokens=st.lists(_TOKEN, min_size=2, max_size=20), fraction=_FRACTION,
       spaces=st.sampled_from([" ", "  ", "\n", " \t "]))
def test_split_without_words_keeps_every_token_once_in_order(tokens: list[str], fraction: float, spaces: str) -> None:
    seg = Segment(10.0, 30.0, spaces.join(tokens), id="s")
    t = Testimony(TestimonyMeta("P-2"), Status.DRAFT, [seg])
    left, right = split_segment(t, "s", _inside(seg, fraction), base_revision=0, user="u")
    assert left.ru.split() and right.ru.split()  # never an empty side while there are two words or more
    assert left.ru.split() + right.ru.split() == tokens
    merged = merge_segments(t, left.id, right.id, base_revisions=(0, 0), user="u")
    assert merged.ru == " ".join(tokens)  # whitespace is normalised, no token is lost


# --- content_hash --------------------------------------------------------------------------------


def _changed(mutate) -> bool:
    """Whether ``mutate(testimony)`` changes the content hash of a fresh testimony."""
    t = _testimony()
    before = content_hash(t)
    mutate(t)
    return content_hash(t) != before


def _set_meta(name: str, value: str):
    return lambda t: setattr(t.meta, name, value)


def _set_seg(name: str, value):
    return lambda t: setattr(t.segments[1], name, value)


@pytest.mark.parametrize("mutate", [
    *[_set_meta(f.name, "changed") for f in dataclasses.fields(TestimonyMeta)],
    _set_seg("ru", "дома на улице Мира"),
    _set_seg("en", "the house on Peace street"),
    _set_seg("speaker", "interviewer"),
    _set_seg("start", 2.1),
    _set_seg("end", 3.9),
    _set_seg("id", "other-id"),
    lambda t: t.segments.reverse(),
    lambda t: t.segments.pop(),
    lambda t: t.segments.append(Segment(7.0, 8.0, "ещё", id="d")),
    _set_seg("ru", "дома на улице Ленина "),  # one trailing space is a different text
], ids=[*(f"meta.{f.name}" for f in dataclasses.fields(TestimonyMeta)), "ru", "en", "speaker", "start", "end", "id",
        "order", "segment removed", "segment added", "whitespace"])
def test_content_hash_covers_what_an_approval_vouches_for(mutate) -> None:
    assert _changed(mutate)


@pytest.mark.parametrize("mutate", [
    _set_seg("words", _words(2.0, "дома")),
    _set_seg("confidence", 0.1),
    _set_seg("en_route", EnglishRoute.HUMAN),
    _set_seg("en_stale", True),
    _set_seg("reviewed", True),
    _set_seg("revision", 7),
    _set_seg("untranscribed", True),
    _set_seg("start", 2.0004),
    lambda t: t.revisions.append(Revision("a", 1, "u", "now", "en", "x", "y")),
    lambda t: t.models.update(asr="whisper-base"),
    lambda t: t.speaker_names.update(witness="Witness A"),
], ids=["words", "confidence", "en_route", "en_stale", "reviewed", "revision", "untranscribed", "sub-ms time",
        "revisions", "models", "speaker names"])
def test_content_hash_covers_everything_an_export_contains(mutate) -> None:
    """Word timings, routes, review flags, history and speaker names all reach an export: an approval covers them
    (issue 10, finding 7: a speaker renamed to a real name after approval must not still read "approved")."""
    assert _changed(mutate)


@pytest.mark.parametrize("mutate", [
    lambda t: setattr(t, "status", Status.APPROVED),
    lambda t: setattr(t, "approval", Approval("edna", "now", "0" * 64)),
    lambda t: setattr(t, "owner", "inna"),
], ids=["status", "approval", "owner"])
def test_content_hash_leaves_out_the_approval_itself(mutate) -> None:
    assert not _changed(mutate)


def test_content_hash_is_a_sha256_hex_stable_over_a_round_trip() -> None:
    t = _testimony()
    digest = content_hash(t)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert content_hash(Testimony.from_dict(t.to_dict())) == digest
    assert content_hash(_testimony()) == digest  # a function of the content only


# --- approve / unapprove ---------------------------------------------------------------------------


def test_approve_locks_and_vouches_for_the_content() -> None:
    t = _reviewed(_testimony())
    approval = approve(t, user="edna")
    assert t.status is Status.APPROVED and t.approval is approval
    assert (approval.user, approval.content_hash) == ("edna", content_hash(t))
    assert datetime.fromisoformat(approval.at).utcoffset() == timedelta(0)
    with pytest.raises(LockedError, match="CASE-9 is already approved"):
        approve(t, user="edna")
    assert t.approval is approval


def test_approve_counts_unreviewed_segments() -> None:
    t = _testimony()
    set_reviewed(t, "a", True, base_revision=0, user="u")
    with pytest.raises(LockedError, match=r"2 segment\(s\) are not marked reviewed"):
        approve(t, user="edna")
    assert (t.status, t.approval) == (Status.DRAFT, None)


def test_approve_needs_a_transcript() -> None:
    with pytest.raises(LockedError, match="has no transcript to approve yet"):
        approve(Testimony(TestimonyMeta("E-1"), Status.DRAFT), user="edna")


def test_approve_names_untranscribed_speech_before_anything_else() -> None:
    t = _testimony()  # nothing reviewed either: the untranscribed speech is the first thing said
    add_segment(t, 7.0, 8.0, user="u")
    with pytest.raises(LockedError, match=r"1 stretch\(es\) of speech are not transcribed \(at 7\.0s\)"):
        approve(t, user="edna")


def test_approve_lists_at_most_five_places() -> None:
    t = _testimony()
    for k in range(7):
        add_segment(t, 10.0 + k, 10.5 + k, user="u")
    with pytest.raises(LockedError, match=r"7 stretch\(es\).*\(at 10\.0s, 11\.0s, 12\.0s, 13\.0s, 14\.0s …\)"):
        approve(t, user="edna")


def test_approve_refuses_empty_russian_even_when_reviewed() -> None:
    t = _reviewed(_testimony())
    t.segment("c").ru = "   "
    with pytest.raises(LockedError, match=r"1 segment\(s\) have no Russian text \(at 4\.5s\)"):
        approve(t, user="edna")


def test_unapprove_needs_approval_then_a_reason() -> None:
    t = _reviewed(_testimony())
    with pytest.raises(LockedError, match="CASE-9 is not approved"):
        unapprove(t, user="edna", reason="typo")
    approve(t, user="edna")
    with pytest.raises(EditError, match="needs a reason"):
        unapprove(t, user="edna", reason=" \n\t")
    assert t.status is Status.APPROVED and t.approval is not None
    unapprove(t, user="edna", reason="a name in segment 3")
    assert (t.status, t.approval) == (Status.DRAFT, None)
    assert all(s.reviewed for s in t.segments)  # the review stands: an edit does not clear it either
    edit_segment(t, "a", "en", "fixed", base_revision=1, user="tanya")
    assert approve(t, user="edna").content_hash == content_hash(t)
