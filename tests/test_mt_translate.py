"""Batched Russian→English translation through the real argostranslate package objects and CTranslate2.

The tiny package has random weights: no test expects a particular English sentence. They check
structure (1:1 alignment, empty in → empty out), batching (few CTranslate2 calls for many sentences),
razdel splitting, determinism, the glossary (renderings present verbatim, inflected forms matched)
and that nothing reaches for the network.
"""

from __future__ import annotations

import math
import threading
import urllib.error

import pytest
import razdel

from workstation.domain.glossary import Glossary
from workstation.platform import offline
from workstation.translation import mt

SENTENCES = [
    "Меня задержали в Грозном в марте.",
    "Полицейские держали нас в подвале несколько дней.",
    "Нас били и требовали назвать имена.",
    "Я не знаю, где сейчас мой брат.",
    "Потом нас отвезли за город.",
    "Мне угрожали, что расскажут семье.",
    "Сотрудник сказал, что это приказ сверху.",
    "Я смог уехать только через месяц.",
    "Мы боялись обращаться к врачам.",
    "Сейчас я живу в безопасном месте.",
    "Они забрали мой телефон.",
    "Нас заставляли стоять у стены часами.",
]


def _segments(n: int) -> list[str]:
    """n segments of 1-3 sentences, deterministic."""
    out = []
    for i in range(n):
        k = 1 + i % 3
        out.append(" ".join(f"{SENTENCES[(i + j) % len(SENTENCES)][:-1]} номер {i}-{j}." for j in range(k)))
    return out


class CountingCT2:
    """Wraps the CTranslate2 translator and records every translate_batch call."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def translate_batch(self, batch, **kwargs):
        self.calls.append(len(batch))
        return self.inner.translate_batch(batch, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def counting(argos_translator, monkeypatch):
    counter = CountingCT2(argos_translator._ct2)
    monkeypatch.setattr(argos_translator, "_ct2", counter)
    return counter


def test_output_is_aligned_one_to_one(argos_translator):
    texts = ["", "Да.", "   ", "Меня задержали. Потом отпустили. Я уехал.", "Первая строка.\nВторая строка.", "…", "Нет"]
    out = argos_translator.translate(texts)
    assert len(out) == len(texts)
    assert out[0] == "" and out[2] == ""
    assert out[5] == "…"  # nothing to translate: passes through
    assert all(o.strip() for i, o in enumerate(out) if i not in (0, 2))
    assert out[4].count("\n") == 1  # lines stay lines
    assert argos_translator.translate([]) == []
    assert argos_translator.translate(["", " \n "]) == ["", ""]


@pytest.mark.slow
def test_all_sentences_of_all_segments_go_through_a_few_batched_calls(argos_translator, counting):
    texts = _segments(90)
    sentences = {s.text for t in texts for s in razdel.sentenize(t)}
    assert len(sentences) == sum(1 + i % 3 for i in range(90)) == 180

    out = argos_translator.translate(texts)

    assert len(out) == len(texts)
    assert sum(counting.calls) == len(sentences)  # each razdel sentence translated exactly once
    assert len(counting.calls) == math.ceil(len(sentences) / argos_translator.units_per_call) == 1

    counting.calls.clear()
    argos_translator.units_per_call = 50  # bounded work per call still means few calls
    try:
        again = argos_translator.translate(texts)
    finally:
        argos_translator.units_per_call = mt.ArgosTranslator.__init__.__kwdefaults__["units_per_call"]
    assert counting.calls == [50, 50, 50, 30]
    # Other batch shapes may break a near-tie differently in int8 arithmetic (a random model has many).
    assert sum(a == b for a, b in zip(again, out, strict=True)) >= 0.9 * len(out)


def test_repeated_sentences_are_translated_once(argos_translator, counting):
    out = argos_translator.translate(["Да.", "Да. Нет.", "Нет.", "Да."])
    assert counting.calls == [2]
    assert out[0] == out[3] and out[1].startswith(out[0])


@pytest.mark.slow
def test_translation_is_deterministic_and_barely_depends_on_the_batch(argos_translator):
    texts = _segments(30)
    first = argos_translator.translate(texts)
    assert argos_translator.translate(texts) == first  # same input, same output
    alone = [argos_translator.translate([t])[0] for t in texts[:10]]
    assert sum(a == b for a, b in zip(alone, first[:10], strict=True)) >= 8  # see the batching test
    # a segment is its sentences translated one by one, joined
    sentences = [s.text for s in razdel.sentenize(texts[2])]
    assert "".join(first[2].split()) == "".join("".join(argos_translator.translate(sentences)).split())


def test_progress_and_cancel(argos_translator):
    argos_translator.units_per_call = 20
    try:
        seen: list[float] = []
        argos_translator.translate(_segments(30), progress=seen.append)
        assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(mt.TranslationCancelled):
            argos_translator.translate(_segments(3), cancel=cancel)
    finally:
        argos_translator.units_per_call = 512


@pytest.mark.slow
def test_glossary_terms_and_kept_names_appear_verbatim_even_when_inflected(argos_translator):
    glossary = Glossary(
        terms={"подвал": "basement", "полицейский": "police officer", "ФСБ России": "Russian FSB"},
        keep=["Зелимхан", "Грозный"],
    )
    texts = [
        "Меня задержали в Грозном.",  # locative of the kept name
        "Зелимхана держали в ПОДВАЛЕ, полицейские его били.",  # genitive name, upper case, plural noun
        "Сотрудники ФСБ России пришли ночью. Потом подвал закрыли.",  # multi-word term, second sentence
        "Я ничего не знаю.",  # no match: no rendering may appear
        "",
    ]
    out = argos_translator.translate(texts, glossary)
    assert len(out) == len(texts)
    assert "Грозный" in out[0]
    assert "Зелимхан" in out[1] and "basement" in out[1] and "police officer" in out[1]
    assert out[2].count("Russian FSB") == 1 and out[2].count("basement") == 1
    assert not any(r in out[3] for r in ("basement", "police officer", "Russian FSB", "Зелимхан", "Грозный"))
    assert out[4] == ""
    # the pieces between the matches were translated, not copied
    assert "задержали" not in out[0] and "держали" not in out[1]
    assert argos_translator.translate(texts, glossary) == out  # deterministic
    assert argos_translator.translate(texts, Glossary()) == argos_translator.translate(texts)


def test_glossary_matcher_cuts_sentences_around_inflected_matches():
    matcher = mt.GlossaryMatcher(Glossary(terms={"пытка": "torture"}, keep=["Ахмед-Хан"]))
    pieces = matcher.split("После пыток Ахмед-Хана увезли.")
    assert pieces == [
        mt.Piece("После", False), mt.Piece("torture", True), mt.Piece("Ахмед-Хан", True), mt.Piece("увезли.", False)
    ]
    assert matcher.split("Пытался уйти.") == [mt.Piece("Пытался уйти.", False)]  # a lookalike is not a match


def test_our_translation_never_uses_argostranslates_sentence_splitter(argos_translator, monkeypatch):
    import argostranslate.sbd as sbd

    def forbidden(*args, **kwargs):
        raise AssertionError("argostranslate's sentence splitter was used")

    monkeypatch.setattr(sbd.MiniSBDSentencizer, "split_sentences", forbidden)
    monkeypatch.setattr(sbd.MiniSBDSentencizer, "lazy_detector", forbidden)
    assert len(argos_translator.translate(_segments(5))) == 5
    assert not offline.blocked_attempts()


def test_argostranslates_default_splitter_tries_the_network_and_the_guard_stops_it(argos_models):
    """argos-translate-lt 1.12 splits sentences with MiniSBD, which downloads an ONNX model at first use."""
    import argostranslate.translate

    offline.clear_attempts()
    with pytest.raises(urllib.error.URLError) as info:  # urllib wraps the guard's error in URLError
        argostranslate.translate.translate("Меня задержали. Потом отпустили.", "ru", "en")
    assert isinstance(info.value.reason, offline.NetworkBlockedError), info.value.reason
    attempts = offline.blocked_attempts()
    assert attempts, "the download attempt was not caught by the network guard"
    assert any("github" in a.target for a in attempts)
    offline.clear_attempts()  # expected here; every other test fails on any attempt


def test_no_package_means_no_translator(no_argos_models):
    assert mt.load_translator() is None


def test_load_translator_is_cached_per_process(argos_models):
    first = mt.load_translator()
    assert mt.load_translator() is first
    assert first.info["name"] == "translate-ru_en"
    assert len(first.info["sha256"]) == 64 and first.info["device"] in ("cpu", "cuda")


def test_an_unpunctuated_run_on_is_cut_into_sentence_sized_parts(argos_translator, counting):
    words = [w.strip(".,") for s in SENTENCES for w in s.split()]
    run_on = " ".join((words * 4)[:150])  # 150 words, no full stop: a merged, unpunctuated segment
    (out,) = argos_translator.translate([run_on])
    assert out.strip()
    assert counting.calls == [3]  # 60 + 60 + 30 words, in one call
    assert mt.chunk_long(run_on) == [" ".join(run_on.split()[i : i + 60]) for i in (0, 60, 120)]


def test_a_device_that_is_not_there_gets_a_clear_message(argos_models):
    import ctranslate2

    from workstation.platform.errors import WorkstationError

    if ctranslate2.get_cuda_device_count() == 0:
        with pytest.raises(WorkstationError, match="No CUDA GPU"):
            mt.load_translator(device="cuda")
    with pytest.raises(WorkstationError, match="Unknown device"):
        mt.load_translator(device="tpu")
    assert mt.load_translator(device="cpu").info["device"] == "cpu"
