"""Suggestions: the names natasha finds in the Russian text and the glossary's sensitive terms that occur.

Grouped by lemma with stable ids (``suggestion_id``), so decisions survive re-suggesting after edits.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workstation.domain.glossary import Glossary
from workstation.domain.testimony import Testimony
from workstation.evidence.redact.forms import fold
from workstation.evidence.redact.table import KINDS, Entry, PseudonymTable, Suggestion, suggestion_id
from workstation.evidence.redact.text import Redactor


@lru_cache(maxsize=1)
def _natasha() -> tuple[Any, Any, Any, Any]:  # loaded on first use: ~1 s and 50 MB
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
        fixed = {fold(ru): en for ru, en in glossary.terms.items()}
        for s in found.values():
            s.variants = sorted({fixed[fold(f)] for f in (s.lemma, *s.forms) if fold(f) in fixed})
    return sorted(found.values(), key=lambda s: (KINDS.index(s.kind), -s.count, s.lemma))
