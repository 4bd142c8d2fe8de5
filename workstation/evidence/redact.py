"""Redaction and pseudonymisation: suggestions, the pseudonym table, applying it to text, words and audio.

- `suggest(testimony, glossary)` finds Russian named entities (persons, places, organisations) with natasha
  and every glossary "sensitive" term that occurs, grouped by lemma, for the editor to accept or reject.
- `PseudonymTable` holds the decisions and the pseudonyms (real → "Witness A", "Town 1", "Organisation 1").
  It lives in the vault (`VaultSession.save_extra(case, "redactions", table.to_dict())`) and never in an export.
- `Redactor(table)` applies the accepted entries consistently to Russian and English text and to word lists:
  Russian forms are matched by lemma (pymorphy2 parses every token, so "Ахмеда", "Ахмедом" match "Ахмед"),
  English forms by transliteration patterns built from the Russian stem and its inflected endings (GOST,
  BGN/PCGN, ISO-9, German/French-style and ad-hoc English spellings: "Akhmed", "Ahmed", "Achmed", "Akhmeda"),
  plus any extra spelling the editor adds (exonyms such as "Moscow" cannot be derived from "Москва").
  Both matchers run over both languages: a name left in Cyrillic in the English, or written in Latin in the
  Russian, is still caught.
- `redact_audio(samples, spans)` replaces time spans by a tone or silence.

What it cannot catch (also in docs/EXPORTS.md): names natasha does not recognise and nobody added, nicknames and
descriptions ("his uncle from the next village"), exonyms and translations that are not transliterations unless
added as variants, and names the ASR misheard beyond recognition (the audio fallback silences a whole segment
whose text had a redaction that the word timings could not place).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from workstation.platform.errors import WorkstationError
from workstation.domain.glossary import Glossary
from workstation.domain.testimony import Segment, Testimony, TestimonyMeta, Word

KINDS = ("PER", "LOC", "ORG", "SENSITIVE")
KIND_LABELS = {"PER": "person", "LOC": "place", "ORG": "organisation", "SENSITIVE": "sensitive term"}
DECISIONS = ("pending", "accepted", "rejected")


class RedactionError(WorkstationError):
    """A redaction request that cannot be honoured (unknown suggestion id, empty pseudonym...)."""


# --- morphology ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def _fold(text: str) -> str:
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph():  # pymorphy2 loads its dictionaries once (~0.3 s)
    import pymorphy2

    return pymorphy2.MorphAnalyzer()


@lru_cache(maxsize=100_000)
def lemmas(token: str) -> frozenset[str]:
    """Every normal form pymorphy2 considers for a token, plus the token itself (folded)."""
    folded = _fold(token)
    if not _CYRILLIC.search(folded):
        return frozenset({folded})
    forms = {folded}
    for part in folded.split("-"):  # hyphenated names: "Ахмед-Хана" → also each part
        forms.update(_fold(p.normal_form) for p in _morph().parse(part))
    if "-" in folded:
        forms.update(_fold(p.normal_form) for p in _morph().parse(folded))
    return frozenset(forms)


def _likely_lemma(word: str) -> str:
    """pymorphy2's most likely normal form, keeping the word's capitalisation."""
    if not _CYRILLIC.search(word):
        return word
    normal = _morph().parse(word)[0].normal_form
    return normal.capitalize() if word[:1].isupper() else normal


@lru_cache(maxsize=10_000)
def word_forms(word: str) -> tuple[str, ...]:
    """All inflected forms of a Russian word (every parse's lexeme), folded; the word itself for others."""
    folded = _fold(word)
    if not _CYRILLIC.search(folded):
        return (folded,)
    forms = {folded}
    for parse in _morph().parse(folded)[:4]:
        forms.update(_fold(f.word) for f in parse.lexeme)
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
_ENGLISH_ENDINGS = r"(?:s|es)?(?=(?:['’]s)?(?![^\W_]))"


def _alt(options: Iterable[str]) -> str:
    unique = sorted({o for o in options}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(o) for o in unique) + ")"


def latin_pattern(cyrillic: str) -> str:
    """A regex (no anchors) matching the usual Latin spellings of a Cyrillic string."""
    text, out, i = _fold(cyrillic), [], 0
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


# --- the table ----------------------------------------------------------------------------------


@dataclass
class Suggestion:
    """One thing to consider redacting: all mentions of one lemma of one kind."""

    id: str
    text: str  # a surface form as first seen
    lemma: str
    kind: str  # PER, LOC, ORG, SENSITIVE
    segment_ids: list[str]
    count: int
    forms: list[str] = field(default_factory=list)  # distinct surface forms seen
    variants: list[str] = field(default_factory=list)  # English renderings fixed in the glossary


@dataclass
class Entry:
    """One row of the pseudonym table: a real name (by lemma), its pseudonym and the editor's decision."""

    id: str
    lemma: str
    kind: str
    text: str
    pseudonym: str = ""
    decision: str = "pending"
    forms: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # extra spellings: exonyms, nicknames, misspellings
    segment_ids: list[str] = field(default_factory=list)
    count: int = 0


def suggestion_id(kind: str, lemma: str) -> str:
    """Stable across runs, so decisions survive re-suggesting after edits."""
    digest = hashlib.sha256(f"{kind}\x00{_fold(lemma)}".encode()).hexdigest()[:6]
    return f"{kind[0].lower()}{digest}"


def _required(text: str, message: str) -> str:
    clean = " ".join(text.split())
    if not clean:
        raise RedactionError(message)
    return clean


_DEFAULT_PREFIX = {"PER": "Witness", "LOC": "Town", "ORG": "Organisation", "SENSITIVE": "Redacted"}


def _letters(n: int) -> str:  # 0 → A, 25 → Z, 26 → AA
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class PseudonymTable:
    entries: dict[str, Entry] = field(default_factory=dict)

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "entries": [asdict(e) for e in self.entries.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PseudonymTable:
        if not data:
            return cls()
        return cls({e["id"]: Entry(**e) for e in data.get("entries", [])})

    # -- editing
    def merge(self, suggestions: Iterable[Suggestion]) -> list[Entry]:
        """Add new suggestions as pending entries; refresh counts of known ones. Returns the new entries."""
        added = []
        for s in suggestions:
            entry = self.entries.get(s.id)
            if entry is None:
                entry = Entry(s.id, s.lemma, s.kind, s.text)
                self.entries[s.id] = entry
                added.append(entry)
            entry.forms = sorted(set(entry.forms) | set(s.forms))
            entry.variants += [v for v in s.variants if v not in entry.variants]
            entry.segment_ids, entry.count = list(s.segment_ids), s.count
        return added

    def get(self, entry_id: str) -> Entry:
        try:
            return self.entries[entry_id]
        except KeyError:
            raise RedactionError(
                f"There is no redaction suggestion {entry_id!r}; list them with `workstation redact CASE`."
            ) from None

    def accept(self, entry_id: str, pseudonym: str | None = None) -> Entry:
        entry = self.get(entry_id)
        entry.decision = "accepted"
        if pseudonym is not None:
            self.set_pseudonym(entry_id, pseudonym)
        elif not entry.pseudonym:
            entry.pseudonym = self._shared_pseudonym(entry) or self.next_pseudonym(entry.kind)
        return entry

    def reject(self, entry_id: str) -> Entry:
        entry = self.get(entry_id)
        entry.decision = "rejected"
        return entry

    def set_pseudonym(self, entry_id: str, pseudonym: str) -> Entry:
        name = _required(pseudonym, "A pseudonym cannot be empty.")
        entry = self.get(entry_id)
        real = {_fold(entry.lemma), _fold(entry.text), *(_fold(f) for f in entry.forms)}
        if _fold(name) in real:
            raise RedactionError("The pseudonym must differ from the real name.")
        entry.pseudonym = name
        return entry

    def add_variant(self, entry_id: str, spelling: str) -> Entry:
        spelling = _required(spelling, "A variant spelling cannot be empty.")
        entry = self.get(entry_id)
        if spelling not in entry.variants:
            entry.variants.append(spelling)
        return entry

    def _shared_pseudonym(self, entry: Entry) -> str:
        """"Ахмед" and "Ахмед Кадыров" are most likely one person: reuse the pseudonym already given."""
        if entry.kind != "PER":
            return ""
        mine = {_fold(w) for w in _TOKEN.findall(entry.lemma)}
        for other in self.accepted():
            if other is not entry and other.kind == "PER" and other.pseudonym:
                if mine & {_fold(w) for w in _TOKEN.findall(other.lemma)}:
                    return other.pseudonym
        return ""

    def add(self, text: str, kind: str = "PER", pseudonym: str | None = None) -> Entry:
        """A name the suggestions missed, added by hand: accepted at once."""
        text = _required(text, "Give the name or term to redact.")
        kind = kind.strip().upper()
        if kind not in KINDS:
            raise RedactionError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
        words = _TOKEN.findall(text)
        lemma = " ".join(_likely_lemma(w) for w in words) or text
        entry_id = suggestion_id(kind, lemma)
        self.entries.setdefault(entry_id, Entry(entry_id, lemma, kind, text, forms=[text]))
        return self.accept(entry_id, pseudonym)

    def next_pseudonym(self, kind: str) -> str:
        prefix = _DEFAULT_PREFIX.get(kind, "Redacted")
        taken = {e.pseudonym for e in self.entries.values()}
        for n in range(10_000):
            name = f"{prefix} {_letters(n)}" if kind == "PER" else f"{prefix} {n + 1}"
            if name not in taken:
                return name
        raise RedactionError("Too many pseudonyms of one kind.")

    def accepted(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.decision == "accepted"]

    def pending(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.decision == "pending"]


# --- suggestions --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _natasha():
    from natasha import MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter

    emb = NewsEmbedding()
    return Segmenter(), NewsMorphTagger(emb), NewsNERTagger(emb), MorphVocab()


def _entities(text: str) -> list[tuple[str, str, str]]:
    """(kind, surface text, normalised lemma) for each named entity natasha finds in Russian text."""
    from natasha import Doc

    segmenter, morph_tagger, ner_tagger, morph_vocab = _natasha()
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_morph(morph_tagger)
    doc.tag_ner(ner_tagger)
    out = []
    for span in doc.spans:
        span.normalize(morph_vocab)
        out.append((span.type, span.text, span.normal or span.text))
    return out


def suggest(testimony: Testimony, glossary: Glossary | None = None) -> list[Suggestion]:
    """Named entities in the Russian text plus every glossary-sensitive term that occurs, grouped by lemma."""
    found: dict[str, Suggestion] = {}

    def add(kind: str, surface: str, lemma: str, segment_id: str) -> None:
        sid = suggestion_id(kind, lemma)
        s = found.setdefault(sid, Suggestion(sid, surface, lemma, kind, [], 0, []))
        s.count += 1
        if segment_id not in s.segment_ids:
            s.segment_ids.append(segment_id)
        if surface not in s.forms:
            s.forms.append(surface)

    for seg in testimony.segments:
        if seg.ru.strip():
            for kind, surface, lemma in _entities(seg.ru):
                if kind in ("PER", "LOC", "ORG"):
                    add(kind, surface, lemma, seg.id)
    if glossary is not None:
        for term in glossary.sensitive:
            if not term.strip():
                continue
            probe = Entry(suggestion_id("SENSITIVE", term), term, "SENSITIVE", term, pseudonym="x", decision="accepted")
            redactor = Redactor(PseudonymTable({probe.id: probe}))
            for seg in testimony.segments:
                for lang_text in (seg.ru, seg.en):
                    for start, end, _entry in redactor.find(lang_text):
                        add("SENSITIVE", lang_text[start:end], term, seg.id)
    if glossary is not None:  # "МВД" → "Ministry of Internal Affairs": a rendering no transliteration finds
        fixed = {_fold(ru): en for ru, en in glossary.terms.items()}
        for s in found.values():
            s.variants = sorted({fixed[_fold(f)] for f in (s.lemma, *s.forms) if _fold(f) in fixed})
    return sorted(found.values(), key=lambda s: (KINDS.index(s.kind), -s.count, s.lemma))


# --- applying the table -------------------------------------------------------------------------

Span = tuple[int, int, Entry]  # character (or token) start, end, which entry


class Redactor:
    """The accepted entries of a table, compiled once, applied to many texts."""

    def __init__(self, table: PseudonymTable) -> None:
        self.entries = table.accepted()
        for e in self.entries:
            if not e.pseudonym:
                raise RedactionError(f"Accepted redaction {e.id} has no pseudonym; give it one.")
        # Russian: sequences of lemma sets, longest first; person names also match word by word.
        seqs: list[tuple[tuple[frozenset[str], ...], Entry]] = []
        latin: list[tuple[re.Pattern[str], Entry]] = []
        for e in self.entries:
            spellings = [e.lemma, e.text, *e.forms, *e.variants]
            for spelling in dict.fromkeys(spellings):
                words = _TOKEN.findall(spelling)
                if not words:
                    continue
                seqs.append((tuple(lemmas(w) for w in words), e))
                if e.kind == "PER" and len(words) > 1:
                    seqs.extend(((lemmas(w),), e) for w in words if len(w) >= 3)
                cyr = all(_CYRILLIC.search(w) for w in words)
                patterns = [r"[\s\-]+".join(inflected_latin_pattern(w) if cyr else re.escape(w) for w in words)]
                if cyr and e.kind == "PER" and len(words) > 1:
                    patterns += [inflected_latin_pattern(w) for w in words if len(w) >= 3]
                for p in patterns:
                    # at least three letters, whole words only, English plural/possessive endings allowed
                    latin.append((re.compile(rf"(?<![^\W_])(?=[^\W_]{{3}})(?:{p}){_ENGLISH_ENDINGS}(?![^\W_])", re.IGNORECASE), e))
        seqs.sort(key=lambda item: len(item[0]), reverse=True)
        self._seqs = seqs
        self._latin = latin

    def __bool__(self) -> bool:
        return bool(self.entries)

    def match_tokens(self, tokens: Sequence[str]) -> list[tuple[int, int, Entry]]:
        """Non-overlapping token runs (start, stop) whose lemmas match an entry, longest match first."""
        token_lemmas = [lemmas(t) for t in tokens]
        out, i = [], 0
        while i < len(tokens):
            for seq, entry in self._seqs:
                n = len(seq)
                if i + n <= len(tokens) and all(token_lemmas[i + k] & seq[k] for k in range(n)):
                    out.append((i, i + n, entry))
                    i += n
                    break
            else:
                i += 1
        return out

    def find(self, text: str) -> list[Span]:
        """Character spans to replace in a text, Russian (by lemma) and Latin (by spelling) alike."""
        if not self.entries or not text:
            return []
        tokens = list(_TOKEN.finditer(text))
        spans: list[Span] = [
            (tokens[a].start(), tokens[b - 1].end(), e) for a, b, e in self.match_tokens([t.group() for t in tokens])
        ]
        for pattern, entry in self._latin:
            spans.extend((m.start(), m.end(), entry) for m in pattern.finditer(text))
        # keep the longest of overlapping spans
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        kept: list[Span] = []
        for span in spans:
            if kept and span[0] < kept[-1][1]:
                if span[1] > kept[-1][1]:
                    kept[-1] = (kept[-1][0], span[1], kept[-1][2])
                continue
            kept.append(span)
        return kept

    def text(self, text: str) -> str:
        spans = self.find(text)
        for start, end, entry in reversed(spans):
            text = text[:start] + entry.pseudonym + text[end:]
        return text

    def words(self, words: Sequence[Word]) -> tuple[list[Word], list[tuple[float, float]]]:
        """Redacted words (a matched run becomes one word holding the pseudonym) and the time spans removed."""
        tokens: list[str] = []
        owner: list[int] = []
        for wi, w in enumerate(words):
            for tok in _TOKEN.findall(w.text):
                tokens.append(tok)
                owner.append(wi)
        hit: dict[int, Entry] = {}
        run_start: dict[int, int] = {}
        for a, b, entry in self.match_tokens(tokens):
            first = owner[a]
            for wi in range(owner[a], owner[b - 1] + 1):
                hit[wi], run_start[wi] = entry, first
        for wi, w in enumerate(words):  # Latin spellings inside single words
            latin = [] if wi in hit else self.find_latin(w.text)
            if latin:
                hit[wi], run_start[wi] = latin[0][2], wi
        out: list[Word] = []
        spans: list[tuple[float, float]] = []
        wi = 0
        while wi < len(words):
            if wi not in hit:
                out.append(words[wi])
                wi += 1
                continue
            first = wi
            while wi + 1 < len(words) and run_start.get(wi + 1) == first:
                wi += 1
            lead = " " if words[first].text.startswith(" ") else ""
            trail = re.search(r"[^\w]*$", words[wi].text.rstrip()).group()  # keep "," "." after the name
            out.append(Word(words[first].start, words[wi].end, lead + hit[first].pseudonym + trail, 1.0))
            spans.append((words[first].start, words[wi].end))
            wi += 1
        return out, spans

    def find_latin(self, text: str) -> list[Span]:
        return [(m.start(), m.end(), e) for p, e in self._latin for m in p.finditer(text)]


def apply(text: str, table: PseudonymTable, lang: str = "ru") -> str:
    """Replace every accepted name in `text` by its pseudonym (both matchers run whatever `lang` is)."""
    del lang  # Russian and Latin matchers both run: names cross languages in translations
    return Redactor(table).text(text)


@dataclass
class RedactedTestimony:
    testimony: Testimony
    audio_spans: list[tuple[float, float]]  # seconds to silence or tone out in the recording
    replacements: int  # how many mentions were replaced (a count, never which)
    whole_segments: int  # segments silenced entirely because word timings could not place a name


def redact_testimony(t: Testimony, table: PseudonymTable) -> RedactedTestimony:
    """A copy of the testimony with every accepted entry replaced in text, words, metadata and speaker names."""
    r = Redactor(table)
    segments: list[Segment] = []
    spans: list[tuple[float, float]] = []
    replacements = whole = 0
    for seg in t.segments:
        ru_hits, en_hits = len(r.find(seg.ru)), len(r.find(seg.en))
        words, word_spans = r.words(seg.words)
        if ru_hits > len(word_spans):  # the text names someone the word timings cannot place: silence it all
            spans.append((seg.start, seg.end))
            whole += 1
        else:
            spans.extend(word_spans)
        replacements += ru_hits + en_hits
        segments.append(replace(seg, ru=r.text(seg.ru), en=r.text(seg.en), words=words))
    meta = TestimonyMeta(**{k: r.text(v) if isinstance(v, str) and k != "case_code" else v for k, v in asdict(t.meta).items()})
    redacted = replace(
        t,
        meta=meta,
        segments=segments,
        revisions=[],  # old texts would carry the names; exports only summarise revisions anyway
        speaker_names={k: r.text(v) for k, v in t.speaker_names.items()},
    )
    return RedactedTestimony(redacted, _merge_spans(spans), replacements, whole)


def _merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_audio(
    samples: np.ndarray,
    spans: Sequence[tuple[float, float]],
    *,
    sample_rate: int = 16000,
    mode: str = "tone",
    pad_s: float = 0.12,
    tone_hz: float = 1000.0,
) -> np.ndarray:
    """A copy of mono audio with each span (padded: word timestamps are approximate) replaced by a tone or silence."""
    if mode not in ("tone", "silence"):
        raise RedactionError(f"Audio redaction mode must be 'tone' or 'silence', not {mode!r}.")
    out = np.array(samples, dtype=np.float32, copy=True)
    for start, end in _merge_spans([(max(0.0, s - pad_s), e + pad_s) for s, e in spans]):
        a, b = int(start * sample_rate), min(len(out), int(np.ceil(end * sample_rate)))
        if b <= a:
            continue
        if mode == "silence":
            out[a:b] = 0.0
            continue
        t = np.arange(b - a, dtype=np.float32) / sample_rate
        tone = 0.2 * np.sin(2 * np.pi * tone_hz * t).astype(np.float32)
        fade = min(len(tone) // 2, int(0.005 * sample_rate))  # 5 ms ramps: no clicks
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        out[a:b] = tone
    return out


# --- the table in the vault ---------------------------------------------------------------------

TABLE_RECORD = "redactions"


def load_table(session: Any, case_code: str) -> PseudonymTable:
    return PseudonymTable.from_dict(session.load_extra(case_code, TABLE_RECORD))


def save_table(session: Any, case_code: str, table: PseudonymTable) -> None:
    """Only editors decide redactions (the record itself is readable by whoever reads the testimony)."""
    from workstation.vault.users import Action

    session.require(Action.EXPORT)
    session.save_extra(case_code, TABLE_RECORD, table.to_dict())


def refresh_table(session: Any, case_code: str, testimony: Testimony | None = None) -> tuple[PseudonymTable, list[Entry]]:
    """Re-run the suggestions on the latest text and merge them into the saved table (decisions kept)."""
    t = testimony or session.load(case_code)
    table = load_table(session, case_code)
    added = table.merge(suggest(t, session.load_glossary()))
    if added:
        save_table(session, case_code, table)
    return table, added


def table_for_export(session: Any, case_code: str, testimony: Testimony) -> PseudonymTable:
    """The table to apply, refused while any suggestion (old or new since the last edit) is undecided."""
    table, _added = refresh_table(session, case_code, testimony)
    pending = table.pending()
    if pending:
        raise RedactionError(
            f"{len(pending)} redaction suggestion(s) for {case_code} are still undecided. Accept or reject each "
            f"one first (`workstation redact {case_code}`, or the export page); nothing was exported."
        )
    return table
