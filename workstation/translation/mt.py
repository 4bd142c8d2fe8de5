"""Russian→English machine translation with the installed Argos Translate package.

What argostranslate's own `translate()` does, minus its two problems for us:
- its sentence splitter (MiniSBD in argos-translate-lt 1.12) downloads an ONNX model at first use;
  we never construct it and split Russian with razdel instead;
- it translates one paragraph at a time (a call per segment, 32-token batches). We collect every
  sentence of every segment, deduplicate, sort by length and hand them to CTranslate2 in a few large
  `translate_batch` calls, then put the pieces back together: the output is aligned 1:1 with the input.

The package is used through argostranslate's own `Package` object (metadata, its SentencePiece or BPE
tokenizer, target prefix) and the same decoding settings and post-processing as
`argostranslate.translate.apply_packaged_translation` (beam 4, length penalty 0.2, unknowns replaced,
prefix and leading space removed).

Glossary: `terms` (Russian term → fixed English) and `keep` (names never translated) are enforced, not
suggested: a sentence is cut around each match (inflected forms included: words are compared by their
pymorphy2 lemmas, so "в Грозном" matches "Грозный"), the pieces in between are translated and the fixed
rendering is put back in its place. The result holds the rendering verbatim whatever the model does.
Kept names come out as written in the glossary.

Nothing here logs or prints text.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workstation.domain.glossary import Glossary
from workstation.platform.config import load_settings
from workstation.platform.errors import WorkstationError
from workstation.translation.argos_package import (
    ArgosPackageCorruptError,
    ArgosPackageInfo,
    argos_settings,
    installed_ru_en,
)

log = logging.getLogger(__name__)

# argostranslate's decoding settings (settings.beam_size, apply_packaged_translation), kept for equal quality.
BEAM_SIZE = 4
LENGTH_PENALTY = 0.2


class TranslationCancelled(WorkstationError):
    """The caller's cancel event was set while translating."""


# --- glossary matching ------------------------------------------------------------------------------

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_HAS_WORD = re.compile(r"[^\W_]")


def _fold(text: str) -> str:
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph() -> Any:
    # natasha's MorphVocab is pymorphy2 made to work on current Pythons (plain pymorphy2 0.9 is not).
    from natasha import MorphVocab

    return MorphVocab()


@lru_cache(maxsize=50_000)
def word_forms(token: str) -> frozenset[str]:
    """The token (case-folded, ё→е) and, for Russian words, every lemma pymorphy2 considers for it."""
    folded = _fold(token)
    if not _CYRILLIC.search(folded):
        return frozenset({folded})
    return frozenset({folded, *(_fold(p.normal_form) for p in _morph().parse(folded))})


@dataclass(frozen=True)
class Piece:
    text: str
    fixed: bool  # True: a glossary rendering, output verbatim; False: Russian to translate


class GlossaryMatcher:
    """Finds glossary terms and kept names in Russian text, in any inflected form, longest match first."""

    def __init__(self, glossary: Glossary) -> None:
        import razdel

        entries: list[tuple[tuple[frozenset[str], ...], str]] = []
        for source, rendering in [*glossary.terms.items(), *((name, name) for name in glossary.keep)]:
            words = tuple(word_forms(t.text) for t in razdel.tokenize(source.strip()))
            if words and rendering.strip():
                entries.append((words, rendering.strip()))
        self._entries = sorted(entries, key=lambda e: -len(e[0]))  # stable: terms before kept names

    def __bool__(self) -> bool:
        return bool(self._entries)

    def _match_at(self, forms: list[frozenset[str]], i: int) -> tuple[int, str] | None:
        for words, rendering in self._entries:
            n = len(words)
            if i + n <= len(forms) and all(forms[i + k] & words[k] for k in range(n)):
                return n, rendering
        return None

    def split(self, sentence: str) -> list[Piece]:
        """The sentence as Russian pieces to translate and fixed renderings, in order."""
        import razdel

        tokens = list(razdel.tokenize(sentence))
        forms = [word_forms(t.text) for t in tokens]
        pieces: list[Piece] = []
        last = i = 0
        while i < len(tokens):
            match = self._match_at(forms, i) if self._entries else None
            if match is None:
                i += 1
                continue
            n, rendering = match
            pieces.append(Piece(sentence[last : tokens[i].start], False))
            pieces.append(Piece(rendering, True))
            last, i = tokens[i + n - 1].stop, i + n
        pieces.append(Piece(sentence[last:], False))
        return [Piece(p.text.strip(), p.fixed) for p in pieces if p.text.strip()]


# --- the translator ---------------------------------------------------------------------------------

_SPACE_BEFORE = re.compile(r"\s+([,.;:!?…)\]}»”])")
_SPACE_AFTER = re.compile(r"([(\[{«“])\s+")


def _tidy(text: str) -> str:
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text)).strip()


def _resolve_device(device: str) -> str:
    if device == "cpu":
        return device
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "cuda" and gpus == 0:
        raise WorkstationError("No CUDA GPU is available for translation. Set WORKSTATION_DEVICE=cpu (or auto).")
    if device not in ("auto", "cuda"):
        raise WorkstationError(f"Unknown device {device!r} for translation: use auto, cpu or cuda.")
    return "cuda" if gpus > 0 else "cpu"


# A segment's plan: lines → sentences → pieces (see GlossaryMatcher.split).
_Plan = list[list[list[Piece]]]

# Argos models are trained on sentences; an unpunctuated run-on (merged segments, a transcript without
# full stops) is cut into parts of at most this many words, after a comma where there is one.
MAX_WORDS = 60


def chunk_long(text: str, max_words: int = MAX_WORDS) -> list[str]:
    words = text.split()
    if len(words) <= max_words:
        return [text]
    parts: list[str] = []
    while len(words) > max_words:
        window = words[:max_words]
        cut = next((i + 1 for i in range(max_words - 1, max_words // 2 - 1, -1) if window[i][-1] in ",;:—"), max_words)
        parts.append(" ".join(words[:cut]))
        words = words[cut:]
    return parts + ([" ".join(words)] if words else [])


class ArgosTranslator:
    """Translates Russian text to English with one installed Argos package; thread-safe, reusable."""

    def __init__(
        self,
        package: ArgosPackageInfo,
        *,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int | None = None,
        beam_size: int = BEAM_SIZE,
        max_batch_size: int = 64,  # measured best on CPU (tiny model: 16-256 tried; scripts/bench_mt.py)
        units_per_call: int = 512,
    ) -> None:
        import ctranslate2

        argos_settings()  # before argostranslate.package: our folders, no home-folder side effects
        from argostranslate.package import Package

        self.package = package
        self._pkg = Package(package.path)
        self._tokenizer: Any = getattr(self._pkg, "tokenizer", None)  # argostranslate: untyped, absent when damaged
        if self._tokenizer is None:
            raise ArgosPackageCorruptError(
                f"The package in {package.path} has no tokenizer (sentencepiece.model or bpe.model)."
            )
        self.device = _resolve_device(device)
        threads = cpu_threads or load_settings().cpu_threads or os.cpu_count() or 1
        try:
            self._ct2 = ctranslate2.Translator(
                str(package.path / "model"),
                device=self.device,
                compute_type=compute_type,
                inter_threads=1,
                intra_threads=threads if self.device == "cpu" else 0,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ArgosPackageCorruptError(
                f"The Russian→English model in {package.path} does not load ({exc}). Reinstall it with "
                "`workstation models install-argos --from FILE.argosmodel`."
            ) from exc
        self.beam_size = beam_size
        self.max_batch_size = max_batch_size
        self.units_per_call = units_per_call
        self._target_prefix = getattr(self._pkg, "target_prefix", "") or ""

    @property
    def info(self) -> dict[str, str]:
        return {
            "name": self.package.name,
            "version": self.package.version,
            "sha256": self.package.sha256,
            "device": self.device,
            "compute_type": str(self._ct2.compute_type),
        }

    # -- planning: sentences and glossary pieces --

    @staticmethod
    def _plan(text: str, matcher: GlossaryMatcher | None) -> _Plan:
        import razdel

        plan: _Plan = []
        for line in text.split("\n"):
            sentences = []
            for sentence in razdel.sentenize(line):
                pieces = matcher.split(sentence.text) if matcher else [Piece(sentence.text.strip(), False)]
                pieces = [
                    Piece(part, False) if not p.fixed else p
                    for p in pieces
                    if p.text
                    for part in ([p.text] if p.fixed else chunk_long(p.text))
                ]
                if pieces:
                    sentences.append(pieces)
            plan.append(sentences)
        return plan

    # -- decoding --

    def _decode(self, tokens: list[str]) -> str:
        value = self._tokenizer.decode(tokens)
        if self._target_prefix and value.startswith(self._target_prefix):
            value = value[len(self._target_prefix) :]
        return value.strip()

    def translate_units(
        self,
        units: Sequence[str],
        *,
        progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """Translate plain sentences, sorted by length into a few large CTranslate2 calls; aligned 1:1."""
        encoded = [self._tokenizer.encode(u) for u in units]
        order = sorted(range(len(units)), key=lambda i: len(encoded[i]))
        out = [""] * len(units)
        for start in range(0, len(order), self.units_per_call):
            if cancel is not None and cancel.is_set():
                raise TranslationCancelled("Translation was cancelled.")
            chunk = order[start : start + self.units_per_call]
            batch = [encoded[i] for i in chunk]
            results = self._ct2.translate_batch(
                batch,
                target_prefix=[[self._target_prefix]] * len(batch) if self._target_prefix else None,
                replace_unknowns=True,
                max_batch_size=self.max_batch_size,
                batch_type="examples",
                beam_size=self.beam_size,
                num_hypotheses=1,
                length_penalty=LENGTH_PENALTY,
            )
            for i, result in zip(chunk, results, strict=True):
                out[i] = self._decode(result.hypotheses[0])
            if progress is not None:
                progress(min(1.0, (start + len(chunk)) / len(order)))
        return out

    def translate(
        self,
        texts: list[str],
        glossary: Glossary | None = None,
        *,
        progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """English for each Russian text (same length and order; "" for empty input), glossary enforced."""
        matcher = GlossaryMatcher(glossary) if glossary is not None else None
        plans = [self._plan(text or "", matcher) for text in texts]
        # Every piece to translate, once: pieces without a letter or digit pass through as they are.
        units = sorted(
            {
                piece.text
                for plan in plans
                for line in plan
                for sentence in line
                for piece in sentence
                if not piece.fixed and _HAS_WORD.search(piece.text)
            }
        )
        translated = dict(zip(units, self.translate_units(units, progress=progress, cancel=cancel), strict=True))

        def render(piece: Piece) -> str:
            return piece.text if piece.fixed else translated.get(piece.text, piece.text)

        return [
            "\n".join(
                _tidy(" ".join(_tidy(" ".join(render(p) for p in sentence)) for sentence in line))
                for line in plan
            ).strip()
            for plan in plans
        ]


# --- the process-wide instance ----------------------------------------------------------------------

_lock = threading.Lock()
_cached: dict[tuple[Any, ...], ArgosTranslator] = {}


def load_translator(
    *, device: str | None = None, compute_type: str = "auto", cpu_threads: int | None = None
) -> ArgosTranslator | None:
    """The translator for the installed ru→en package (cached per process), or None if none is installed.

    A damaged package raises ArgosPackageCorruptError (a WorkstationError that says how to fix it).
    Device: `device` or WORKSTATION_DEVICE ("auto": CUDA when present, else CPU); CPU threads default to
    the machine's cores.
    """
    package = installed_ru_en()
    if package is None:
        return None
    settings = load_settings()
    device = device or settings.device
    threads = cpu_threads or settings.cpu_threads
    key = (str(package.path), package.sha256, package.installed_at, device, compute_type, threads)
    with _lock:
        translator = _cached.get(key)
        if translator is None:
            _cached.clear()  # a reinstalled or moved package: let the old model go
            translator = _cached[key] = ArgosTranslator(
                package, device=device, compute_type=compute_type, cpu_threads=threads
            )
        return translator


def clear_cache() -> None:
    with _lock:
        _cached.clear()
