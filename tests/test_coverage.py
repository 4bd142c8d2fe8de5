"""The coverage check (pure): which stretches of detected speech no word accounts for."""

from __future__ import annotations

import pytest

from workstation.speech.coverage import covered_fraction, merge_intervals, silent_spans, subtract, uncovered, word_cover


def test_merge_intervals_joins_overlapping_and_touching():
    assert merge_intervals([(5, 6), (0, 1), (1, 2), (1.5, 3), (4, 4)]) == [(0, 3), (5, 6)]
    assert merge_intervals([]) == []


def test_subtract_leaves_the_holes():
    assert subtract((0, 10), [(1, 2), (4, 5)]) == [(0, 1), (2, 4), (5, 10)]
    assert subtract((0, 10), [(-1, 11)]) == []
    assert subtract((3, 4), [(0, 1), (5, 6)]) == [(3, 4)]


def test_fully_worded_speech_has_no_gap():
    words = [(0.3 + 0.4 * i, 0.6 + 0.4 * i) for i in range(10)]  # 0.3 .. 4.2 s, 0.1 s between words
    assert uncovered([(0.0, 4.5)], words) == []
    assert covered_fraction([(0.0, 4.5)], words) == pytest.approx(1.0)


def test_a_second_without_words_is_reported_with_its_times():
    words = [(0.0, 0.5), (0.5, 1.0), (3.0, 3.5)]
    assert uncovered([(0.0, 3.5)], words) == [(1.3, 2.7)]  # 1.0 + slack .. 3.0 - slack
    assert uncovered([(0.0, 3.5)], words, min_gap_s=1.5) == []


def test_speech_with_no_word_at_all():
    assert uncovered([(10.0, 14.0)], []) == [(10.0, 14.0)]
    assert silent_spans([(10.0, 14.0), (20.0, 20.2), (30.0, 30.6)], [(30.1, 30.3)]) == [(10.0, 14.0)]


def test_short_holes_and_pauses_between_spans_are_not_gaps():
    words = [(0.0, 1.0), (1.9, 2.5)]  # 0.9 s without words: a breath, not a lost phrase
    assert uncovered([(0.0, 2.5)], words) == []
    # silence between two speech spans is not speech: no gap however long
    assert uncovered([(0.0, 1.0), (9.0, 10.0)], [(0.1, 0.9), (9.1, 9.9)]) == []


def test_a_stretched_word_does_not_hide_skipped_speech():
    # The aligner laid one word over 7 s of speech the decoder skipped: only its ends count.
    assert word_cover([(70.9, 78.0)], slack_s=0.0) == [(70.9, 71.5), (77.4, 78.0)]
    holes = uncovered([(70.5, 80.0)], [(70.9, 78.0), (78.0, 79.8)])
    assert holes == [(71.8, 77.1)]
    assert covered_fraction([(70.5, 80.0)], [(70.9, 78.0), (78.0, 79.8)]) < 0.5


def test_spans_accounted_for_as_a_whole():
    # an untranscribed-speech segment covers all of itself, however long (the stretched-word rule is for words)
    assert uncovered([(0.0, 10.0)], [], whole=[(0.5, 9.8)]) == []
    assert uncovered([(0.0, 10.0)], [(0.5, 9.8)]) == [(1.4, 8.9)]


def test_no_speech_is_fully_covered():
    assert covered_fraction([], []) == 1.0
    assert uncovered([], [(1, 2)]) == []
