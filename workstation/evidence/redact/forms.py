"""Russian word forms and their Latin spellings: what lets one table entry match every mention.

Russian forms are matched by lemma (pymorphy2 parses every token, so "Ахмеда", "Ахмедом" match "Ахмед");
English forms by transliteration patterns built from the Russian stem and its inflected endings (GOST,
BGN/PCGN, ISO-9, German/French-style and ad-hoc English spellings: "Akhmed", "Ahmed", "Achmed", "Akhmeda").
Pure functions (pymorphy2's dictionaries are loaded once, on first use).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

# --- morphology ---------------------------------------------------------------------------------

TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, "ё" as "е": how names are compared."""
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph() -> Any:  # pymorphy2 loads its dictionaries once (~0.3 s): on first use, not on import
    import inspect

    import pymorphy2

    if not hasattr(inspect, "getargspec"):  # pymorphy2 0.9 still calls what Python 3.11 removed
        inspect.getargspec = lambda func: inspect.getfullargspec(func)[:4]  # type: ignore[attr-defined]

    return pymorphy2.MorphAnalyzer()


@lru_cache(maxsize=100_000)
def lemmas(token: str) -> frozenset[str]:
    """Every normal form pymorphy2 considers for a token, plus the token itself (folded)."""
    folded = fold(token)
    if not CYRILLIC.search(folded):
        return frozenset({folded})
    forms = {folded}
    for part in folded.split("-"):  # hyphenated names: "Ахмед-Хана" → also each part
        forms.update(fold(p.normal_form) for p in _morph().parse(part))
    if "-" in folded:
        forms.update(fold(p.normal_form) for p in _morph().parse(folded))
    return frozenset(forms)


def likely_lemma(word: str) -> str:
    """pymorphy2's most likely normal form, keeping the word's capitalisation."""
    if not CYRILLIC.search(word):
        return word
    normal = _morph().parse(word)[0].normal_form
    return normal.capitalize() if word[:1].isupper() else normal


@lru_cache(maxsize=10_000)
def word_forms(word: str) -> tuple[str, ...]:
    """All inflected forms of a Russian word (every parse's lexeme), folded; the word itself for others."""
    folded = fold(word)
    if not CYRILLIC.search(folded):
        return (folded,)
    forms = {folded}
    for parse in _morph().parse(folded)[:4]:
        forms.update(fold(f.word) for f in parse.lexeme)
    return tuple(sorted(forms))


# --- transliteration patterns -------------------------------------------------------------------

# Latin spellings of each Cyrillic letter across GOST 7.79, BGN/PCGN, ISO 9, passport and German/French
# conventions, and what machine translation tends to produce. Regex alternatives, longest first.
_LATIN: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v", "w", "ff", "f"), "г": ("gh", "g", "h"), "д": ("d",),
    "е": ("ye", "je", "ie", "e", "é", "è"), "ё": ("yo", "jo", "io", "e", "ë"),
    "ж": ("zh", "dj", "j", "g", "z", "ž"), "з": ("z", "s"), "и": ("ee", "i", "y"),
    "й": ("y", "i", "j", ""), "к": ("ck", "k", "c", "q"), "л": ("l",), "м": ("m",), "н": ("n",),
    "о": ("o", "a"), "п": ("p",), "р": ("r",), "с": ("ss", "s", "c"), "т": ("t",),
    "у": ("ou", "oo", "u", "w"), "ф": ("ph", "f"), "х": ("kh", "ch", "h", "x", "k"),
    "ц": ("ts", "tz", "tc", "cz", "c", "z"), "ч": ("tsch", "tch", "ch", "cz", "c", "č"),
    "ш": ("sch", "sh", "ch", "š"), "щ": ("shch", "sch", "shh", "sh", "ŝ"),
    "ъ": ("'", "’", '"', "ʺ", ""), "ы": ("yi", "ui", "y", "i"), "ь": ("'", "’", "ʹ", "y", "i", ""),
    "э": ("e", "é", "è"), "ю": ("yu", "iu", "ju", "u"), "я": ("ya", "ia", "ja", "a"),
}
# Letter pairs with spellings of their own.
_PAIRS: dict[str, tuple[str, ...]] = {
    "кс": ("ks", "x", "cs", "ks"), "ий": ("iy", "ii", "ij", "iy", "yi", "y", "i"),
    "ый": ("yy", "yi", "iy", "ij", "y", "i"), "ая": ("aya", "aia", "aja", "aa", "a"),
    "ья": ("ya", "ia", "ja", "'ya", "'a"), "ье": ("ye", "ie", "je", "'e"), "ью": ("yu", "iu", "ju"),
}
# At the start of a word the iotated vowels keep their glide: "Яна" is never "Ana".
_INITIAL: dict[str, tuple[str, ...]] = {
    "е": ("ye", "je", "ie", "e"), "ю": ("yu", "iu", "ju"), "я": ("ya", "ia", "ja"), "ё": ("yo", "jo", "io"),
}
# plural endings are part of the name; a possessive "'s" stays in the text ("Witness A's car")
ENGLISH_ENDINGS = r"(?:s|es)?(?=(?:['’]s)?(?![^\W_]))"


def _alt(options: Iterable[str]) -> str:
    unique = sorted({o for o in options}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(o) for o in unique) + ")"


def latin_pattern(cyrillic: str) -> str:
    """A regex (no anchors) matching the usual Latin spellings of a Cyrillic string."""
    text, out, i = fold(cyrillic), [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _PAIRS:
            out.append(_alt(_PAIRS[pair]))
            i += 2
            continue
        ch = text[i]
        if i == 0 and ch in _INITIAL:
            out.append(_alt(_INITIAL[ch]))
        elif ch in _LATIN:
            options = _LATIN[ch]
            # A doubled letter is often written once ("Алла" → "Ala"), and a single one doubled.
            out.append(_alt(options) + ("?" if i > 0 and text[i - 1] == ch else ""))
        elif ch.isspace() or ch == "-":
            out.append(r"[\s\-]+")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _common_prefix(words: Sequence[str]) -> str:
    prefix = words[0]
    for w in words[1:]:
        while not w.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


def inflected_latin_pattern(word: str) -> str:
    """Latin pattern for every inflected form of a Russian word: the stem's spellings, then any ending's."""
    forms = word_forms(word)
    stem = _common_prefix(list(forms))
    if len(stem) < 3:  # too little stem to be safe: spell every form out
        return "(?:" + "|".join(latin_pattern(f) for f in sorted(forms, key=len, reverse=True)) + ")"
    endings = sorted({f[len(stem):] for f in forms if f != stem}, key=len, reverse=True)
    ending = ("(?:" + "|".join(latin_pattern(e) for e in endings) + ")?") if endings else ""
    return latin_pattern(stem) + ending

