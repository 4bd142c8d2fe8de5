"""Applying the table to text, word lists and a whole testimony.

`Redactor(table)` compiles the accepted entries once. Both matchers run over both languages: Russian by lemma
sequence, Latin by spelling pattern, so a name left in Cyrillic in the English, or written in Latin in the
Russian, is still caught. Any extra spelling the editor adds is matched too (exonyms such as "Moscow" cannot be
derived from "Москва").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from workstation.domain.testimony import Segment, Testimony, TestimonyMeta, Word
from workstation.evidence.redact.align import Doubt, align
from workstation.evidence.redact.audio import merge_spans
from workstation.evidence.redact.forms import CYRILLIC, ENGLISH_ENDINGS, TOKEN, inflected_latin_pattern, lemmas
from workstation.evidence.redact.table import Entry, PseudonymTable, RedactionError

Span = tuple[int, int, Entry]  # character (or token) start, end, which entry
WHOLE_MARK = "[redacted]"  # what a segment redacted whole reads in every export


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
                words = TOKEN.findall(spelling)
                if not words:
                    continue
                seqs.append((tuple(lemmas(w) for w in words), e))
                if e.kind == "PER" and len(words) > 1:
                    seqs.extend(((lemmas(w),), e) for w in words if len(w) >= 3)
                cyr = all(CYRILLIC.search(w) for w in words)
                patterns = [r"[\s\-]+".join(inflected_latin_pattern(w) if cyr else re.escape(w) for w in words)]
                if cyr and e.kind == "PER" and len(words) > 1:
                    patterns += [inflected_latin_pattern(w) for w in words if len(w) >= 3]
                for p in patterns:
                    # at least three letters, whole words only, English plural/possessive endings allowed
                    latin.append((re.compile(rf"(?<![^\W_])(?=[^\W_]{{3}})(?:{p}){ENGLISH_ENDINGS}(?![^\W_])", re.IGNORECASE), e))
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
        tokens = list(TOKEN.finditer(text))
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
        return replace_spans(text, self.find(text))

    def words(self, words: Sequence[Word]) -> tuple[list[Word], list[tuple[float, float]]]:
        """Redacted words (a matched run becomes one word holding the pseudonym) and the time spans removed."""
        tokens: list[str] = []
        owner: list[int] = []
        for wi, w in enumerate(words):
            for tok in TOKEN.findall(w.text):
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
            trail = _trailing_non_word(words[wi].text.rstrip())  # keep "," "." after the name
            out.append(Word(words[first].start, words[wi].end, lead + hit[first].pseudonym + trail, 1.0))
            spans.append((words[first].start, words[wi].end))
            wi += 1
        return out, spans

    def find_latin(self, text: str) -> list[Span]:
        return [(m.start(), m.end(), e) for p, e in self._latin for m in p.finditer(text)]


def replace_spans(text: str, spans: Sequence[Span]) -> str:
    """The text with each (non-overlapping) span replaced by its entry's pseudonym."""
    for start, end, entry in sorted(spans, key=lambda sp: sp[0], reverse=True):
        text = text[:start] + entry.pseudonym + text[end:]
    return text


def _trailing_non_word(text: str) -> str:
    match = re.search(r"[^\w]*$", text)  # always matches (possibly empty)
    return match.group() if match else ""


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
    doubts: list[Doubt] = field(default_factory=list)  # English a person must check (align.py)

    def open_doubts(self, table: PseudonymTable, original: Testimony) -> list[Doubt]:
        """The doubts an editor has not settled for the segment as it is now (`PseudonymTable.confirm`)."""
        def settled(d: Doubt) -> bool:
            seg = original.segment(d.segment_id)
            return table.is_confirmed(d.segment_id, d.entry_id, seg.ru, seg.en)

        return [d for d in self.doubts if not settled(d)]


def redact_testimony(t: Testimony, table: PseudonymTable) -> RedactedTestimony:
    """A copy of the testimony with every accepted entry replaced in text, words, metadata and speaker names.

    The English of a segment is also searched for renderings of the names its Russian mentions that no
    transliteration pattern knows (``align.py``); what cannot be settled is returned as `doubts`.
    """
    r = Redactor(table)
    entries = {e.id: e for e in r.entries}
    segments: list[Segment] = []
    spans: list[tuple[float, float]] = []
    doubts: list[Doubt] = []
    replacements = whole = 0
    for seg in t.segments:
        if seg.id in table.whole:  # an identifying passage: nothing of it leaves, in either language or the audio
            segments.append(replace(seg, ru=WHOLE_MARK if seg.ru else "", en=WHOLE_MARK if seg.en else "", words=[]))
            spans.append((seg.start, seg.end))
            replacements += 1
            continue
        ru_spans = r.find(seg.ru)
        mentioned = Counter(e.id for _a, _b, e in ru_spans)
        en_spans, segment_doubts = align(seg.en, r.find(seg.en), dict(mentioned), entries) if seg.en.strip() \
            else (r.find(seg.en), [])
        doubts += [Doubt(seg.id, entry_id, reason) for entry_id, reason in segment_doubts]
        words, word_spans = r.words(seg.words)
        if len(ru_spans) > len(word_spans):  # the text names someone the word timings cannot place: silence it all
            spans.append((seg.start, seg.end))
            whole += 1
        else:
            spans.extend(word_spans)
        replacements += len(ru_spans) + len(en_spans)
        segments.append(replace(seg, ru=replace_spans(seg.ru, ru_spans), en=replace_spans(seg.en, en_spans), words=words))
    meta = TestimonyMeta(**{k: r.text(v) if isinstance(v, str) and k != "case_code" else v for k, v in asdict(t.meta).items()})
    redacted = replace(
        t,
        meta=meta,
        segments=segments,
        revisions=[],  # old texts would carry the names; exports only summarise revisions anyway
        speaker_names={k: r.text(v) for k, v in t.speaker_names.items()},
    )
    return RedactedTestimony(redacted, merge_spans(spans), replacements, whole, doubts)
