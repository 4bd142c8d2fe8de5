"""Redaction and pseudonymisation: suggestions, the pseudonym table, applying it to text, words and audio.

- `suggest(testimony, glossary)` (``suggest.py``) finds Russian named entities (persons, places, organisations)
  with natasha and every glossary "sensitive" term that occurs, grouped by lemma, for the editor to accept or
  reject.
- `PseudonymTable` (``table.py``) holds the decisions and the pseudonyms (real → "Witness A", "Town 1",
  "Organisation 1"). It lives in the vault (``services/redactions.py``: the extra record ``"redactions"``) and
  never in an export.
- `Redactor(table)` (``text.py``) applies the accepted entries consistently to Russian and English text and to
  word lists; ``forms.py`` gives it the Russian word forms (pymorphy2 lemmas) and the Latin spellings
  (transliteration patterns), plus any extra spelling the editor adds.
- `redact_audio(samples, spans)` (``audio.py``) replaces time spans by a tone or silence.

What it cannot catch (also in docs/EXPORTS.md): names natasha does not recognise and nobody added, nicknames and
descriptions ("his uncle from the next village"), exonyms and translations that are not transliterations unless
added as variants, and names the ASR misheard beyond recognition (the audio fallback silences a whole segment
whose text had a redaction that the word timings could not place).

Layering inside the package: forms ← table ← align ← text ← suggest; audio (spans) is used by text.
`align.py` finds the English renderings no transliteration pattern knows and returns what stays in doubt.
"""

from __future__ import annotations

from workstation.evidence.redact.align import Doubt, sounds_like
from workstation.evidence.redact.audio import merge_spans, redact_audio
from workstation.evidence.redact.forms import inflected_latin_pattern, latin_pattern, lemmas, word_forms
from workstation.evidence.redact.suggest import suggest
from workstation.evidence.redact.table import (
    DECISIONS,
    KIND_LABELS,
    KINDS,
    Entry,
    PseudonymTable,
    RedactionError,
    Suggestion,
    suggestion_id,
)
from workstation.evidence.redact.text import RedactedTestimony, Redactor, Span, apply, redact_testimony

__all__ = [
    "DECISIONS", "KIND_LABELS", "KINDS", "Doubt", "Entry", "PseudonymTable", "RedactedTestimony", "RedactionError",
    "Redactor", "Span", "Suggestion", "apply", "inflected_latin_pattern", "latin_pattern", "lemmas",
    "merge_spans", "redact_audio", "redact_testimony", "sounds_like", "suggest", "suggestion_id", "word_forms",
]
