"""Coverage: which stretches of detected speech no transcribed word accounts for. Pure functions.

The promise "nothing lost" is checked here, after recognition and before anything is saved: every
stretch the voice-activity detector calls speech must be covered by words. Whisper can skip speech in
several ways — text after a chunk's last timestamp token discarded, a chunk it judges "not speech",
a phrase collapsed as a loop or removed as a subtitle credit — and none of them is visible in its output.
Comparing the speech map with the word times catches all of them alike, whatever the cause.

Word times from cross-attention are approximate (a few hundred milliseconds), and the detector pads
each stretch, so each word counts as covering `slack_s` either side and only holes of at least
`min_gap_s` are reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Interval = tuple[float, float]

MIN_GAP_S = 1.0  # the threshold: a hole of a second or more in speech is a lost phrase
SLACK_S = 0.3  # word-time uncertainty plus the detector's own padding
# A "word" longer than this is the aligner stretching a word over speech the decoder skipped (seen: a
# 7-second "она" over a whole unrelated utterance): it vouches only for LONG_WORD_EDGE_S at either end.
LONG_WORD_S = 1.5
LONG_WORD_EDGE_S = 0.6


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of the intervals (touching ones are joined)."""
    merged: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def subtract(span: Interval, covered: Sequence[Interval]) -> list[Interval]:
    """The parts of `span` outside every interval of `covered` (which must be merged and sorted)."""
    holes: list[Interval] = []
    cursor, end = span
    for a, b in covered:
        if b <= cursor:
            continue
        if a >= end:
            break
        if a > cursor:
            holes.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        holes.append((cursor, end))
    return holes


def word_cover(words: Iterable[Interval], slack_s: float = SLACK_S) -> list[Interval]:
    """What the words vouch for: each widened by `slack_s`, over-long ones only at their two ends."""
    pieces: list[Interval] = []
    for a, b in words:
        if b - a > LONG_WORD_S:
            pieces += [(a, a + LONG_WORD_EDGE_S), (b - LONG_WORD_EDGE_S, b)]
        else:
            pieces.append((a, b))
    return merge_intervals((a - slack_s, b + slack_s) for a, b in pieces)


def uncovered(
    speech: Iterable[Interval],
    words: Iterable[Interval],
    *,
    whole: Iterable[Interval] = (),
    min_gap_s: float = MIN_GAP_S,
    slack_s: float = SLACK_S,
) -> list[Interval]:
    """Stretches of `speech` at least `min_gap_s` long that no word (see `word_cover`) accounts for.

    `whole` are spans accounted for as a whole, however long: segments without word times, and
    untranscribed-speech segments (speech handed to a person is not lost).
    """
    covered = merge_intervals([*word_cover(words, slack_s), *whole])
    holes = [hole for span in merge_intervals(speech) for hole in subtract(span, covered)]
    return [(round(a, 3), round(b, 3)) for a, b in holes if b - a >= min_gap_s]


def silent_spans(speech: Iterable[Interval], words: Iterable[Interval], *, min_s: float = 0.3) -> list[Interval]:
    """Whole speech stretches (at least `min_s`) that no word touches at all, however short."""
    spans = [(a, b) for a, b in merge_intervals(speech) if b - a >= min_s]
    covered = merge_intervals(words)
    return [span for span in spans if subtract(span, covered) == [span]]


def covered_fraction(speech: Iterable[Interval], words: Iterable[Interval], *, slack_s: float = SLACK_S) -> float:
    """Share of the speech duration that the words account for (1.0 when there is no speech)."""
    spans = merge_intervals(speech)
    total = sum(b - a for a, b in spans)
    if total <= 0:
        return 1.0
    covered = word_cover(words, slack_s)
    missing = sum(b - a for span in spans for a, b in subtract(span, covered))
    return 1.0 - missing / total
