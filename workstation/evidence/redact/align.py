"""Names the English draft mangled: found by aligning a Russian mention to the English of the same segment.

Transliteration patterns (``forms.py``) catch the usual spellings, but machine translation also writes names it
half-recognises ("Михаила" → "Michaela", "Мурадяна" → "Muradyan's"), translates them ("Любовь" → "Love") or drops
them. For each segment whose Russian mentions an accepted entry, the English is searched for the capitalised
tokens that sound like any form of that entry (a spelling skeleton — "kh", "ch" and "h" alike, "y", "j", "i"
alike, doubled letters once — compared by edit distance to the skeleton of a transliteration of every Russian
form), and for capitalised tokens right next to a name already replaced. What this cannot settle becomes a
*doubt*: a segment whose English has fewer renderings of an entry than its Russian has mentions, or a capitalised
word glued to a replaced name that resembles nothing. A redacted export refuses while a doubt is open, naming
the segments, until an editor has looked at them (``PseudonymTable.confirm``).

Pure functions; no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from workstation.evidence.redact.forms import CYRILLIC, TOKEN, fold, word_forms
from workstation.evidence.redact.table import Entry

# One plain romanisation per letter (BGN/PCGN-like): only a starting point for the skeleton.
_ROMAN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i", "й": "i",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}
# Spelling skeleton: sounds machine translation and transliteration systems write in different ways, folded.
_SKELETON = [
    (r"shch|sch|tsch|tch", "sh"), (r"kh|ch|h|x", "h"), (r"zh|dj|dzh", "zh"), (r"ts|tz|cz", "c"), (r"ph", "f"),
    (r"w", "v"), (r"ck|q|c(?![h])", "k"), (r"ee|ie|ye|y|j", "i"), (r"ou|oo", "u"), (r"ae|é|è|ë", "e"),
    (r"['’ʹʺ\"]", ""),
]
MAX_DISTANCE = 0.34  # normalised edit distance of skeletons under which two spellings are one name
MIN_LETTERS = 3


def romanise(word: str) -> str:
    return "".join(_ROMAN.get(ch, ch) for ch in fold(word))


def skeleton(latin: str) -> str:
    text = latin.lower()
    for pattern, repl in _SKELETON:
        text = re.sub(pattern, repl, text)
    return re.sub(r"(.)\1+", r"\1", text)  # doubled letters once


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


@lru_cache(maxsize=20_000)
def _skeletons(word: str) -> frozenset[str]:
    """Skeletons of every inflected form of a name's word (Latin words: the word itself)."""
    forms = word_forms(word) if CYRILLIC.search(word) else (fold(word),)
    return frozenset(skeleton(romanise(f)) for f in forms)


def sounds_like(token: str, words: Iterable[str]) -> bool:
    """Whether an English token is a spelling of (a form of) one of `words` — "Michaela" of "Михаила"."""
    mine = skeleton(token)
    if len(mine) < MIN_LETTERS:
        return False
    for word in words:
        for other in _skeletons(word):
            if other[:1] == mine[:1] and _distance(mine, other) <= MAX_DISTANCE * max(len(mine), len(other)):
                return True
    return False


def entry_words(entry: Entry) -> list[str]:
    """Every word of every spelling of an entry (lemma, surface forms, variants), at least three letters long."""
    words = [w for s in (entry.lemma, entry.text, *entry.forms, *entry.variants) for w in TOKEN.findall(s)]
    return list(dict.fromkeys(w for w in words if len(w) >= MIN_LETTERS))


@dataclass(frozen=True)
class Doubt:
    """A segment whose English the product cannot vouch for: which entry, and why (in words)."""

    segment_id: str
    entry_id: str
    reason: str


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?:;\"«(—-"


def align(english: str, spans: Sequence[tuple[int, int, Entry]], mentioned: dict[str, int],
          entries: dict[str, Entry]) -> tuple[list[tuple[int, int, Entry]], list[tuple[str, str]]]:
    """More English spans for the entries the Russian of this segment mentions, and (entry id, reason) doubts.

    `spans` are those the transliteration patterns found already; `mentioned` counts Russian mentions per entry id.
    """
    taken = [(a, b) for a, b, _e in spans]
    found = list(spans)
    for m in TOKEN.finditer(english):
        a, b = m.start(), m.end()
        if any(a < y and x < b for x, y in taken) or not m.group()[:1].isupper():
            continue
        for entry_id in mentioned:
            entry = entries[entry_id]
            if sounds_like(m.group(), entry_words(entry)):
                found.append((a, b, entry))
                taken.append((a, b))
                break
    found.sort(key=lambda s: s[0])
    doubts = []
    for entry_id, count in mentioned.items():
        rendered = _runs([s for s in found if s[2].id == entry_id], english)
        if rendered < count:
            doubts.append((entry_id, f"the Russian names it {count} time(s), the English {rendered} time(s)"))
    for a, b, entry in _merged(found, english):  # a capitalised word glued to a name may be the rest of it
        short = len(TOKEN.findall(english[a:b])) < len(TOKEN.findall(entry.lemma))  # "Petrova" of "Любовь Петрова"
        for m in _neighbours(english, a, b):
            if not any(x <= m.start() < y for x, y in taken) and (short or not _sentence_start(english, m.start())):
                doubts.append((entry.id, f"“{m.group()}” stands next to the name and may be part of it"))
    return _merged(found, english), list(dict.fromkeys(doubts))


def _neighbours(text: str, a: int, b: int) -> list[re.Match[str]]:
    out = []
    before = list(TOKEN.finditer(text[:a]))
    if before and not text[before[-1].end():a].strip() and before[-1].group()[:1].isupper():
        out.append(before[-1])
    after = TOKEN.match(text, b + len(text[b:]) - len(text[b:].lstrip())) if text[b:b + 1] == " " else None
    if after and after.group()[:1].isupper():
        out.append(after)
    return out


def _runs(spans: Sequence[tuple[int, int, Entry]], text: str) -> int:
    """How many renderings the spans make: spans of one entry separated only by spaces are one rendering."""
    return len(_merged(spans, text))


def _merged(spans: Sequence[tuple[int, int, Entry]], text: str) -> list[tuple[int, int, Entry]]:
    out: list[tuple[int, int, Entry]] = []
    for a, b, e in sorted(spans, key=lambda s: s[0]):
        if out and out[-1][2].id == e.id and not text[out[-1][1]:a].strip():
            out[-1] = (out[-1][0], b, e)
        else:
            out.append((a, b, e))
    return out
