"""Build a tiny but real Argos Translate package (.argosmodel) for the tests and the MT benchmark.

No Russian→English Argos package can be downloaded on the build machines, so the tests make one:
a SentencePiece model trained on a few lines of Russian and English, and a 2-layer CTranslate2
Transformer built with `ctranslate2.specs` and random weights, laid out exactly as argostranslate
expects (`metadata.json`, `model/`, `sentencepiece.model`, `README.md`) and zipped under one top-level
folder. It translates nonsense, but it exercises the real loading, tokenising, batching and decoding
code paths. Everything is seeded and the zip has fixed timestamps, so the same call gives the same
bytes (and the same checksum); it takes well under a second.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

# A few lines of Russian (testimony-like vocabulary) and English, enough for a small sub-word model.
CORPUS_RU = [
    "Меня задержали в Грозном в марте две тысячи семнадцатого года.",
    "Полицейские держали нас в подвале несколько дней.",
    "Нас били и требовали назвать имена других людей.",
    "Я не знаю, где сейчас мой брат.",
    "Потом нас отвезли в другое место за городом.",
    "Мне угрожали, что расскажут моей семье.",
    "Сотрудник сказал, что это приказ сверху.",
    "Я смог уехать из Чечни только через месяц.",
    "Пытки продолжались каждый день, иногда ночью.",
    "Мы боялись обращаться в полицию или к врачам.",
    "Зелимхан помог мне добраться до Москвы.",
    "Организация помогла с документами и жильём.",
    "Сейчас я живу в безопасном месте.",
    "Это было очень страшно, я до сих пор плохо сплю.",
    "Они забрали мой телефон и читали переписку.",
    "Нас заставляли стоять у стены часами.",
    "Родственники не знали, где я нахожусь.",
    "Я хочу, чтобы об этом узнали люди.",
]
CORPUS_EN = [
    "I was detained in Grozny in March two thousand seventeen.",
    "The police kept us in a basement for several days.",
    "We were beaten and asked to name other people.",
    "I do not know where my brother is now.",
    "Then we were taken to another place outside the city.",
    "They threatened to tell my family.",
    "An officer said it was an order from above.",
    "I could leave Chechnya only a month later.",
    "The torture went on every day, sometimes at night.",
    "We were afraid to go to the police or to doctors.",
    "Zelimkhan helped me get to Moscow.",
    "The organisation helped with documents and housing.",
    "Now I live in a safe place.",
    "It was very frightening, I still sleep badly.",
    "They took my phone and read my messages.",
    "We were forced to stand against the wall for hours.",
    "My relatives did not know where I was.",
    "I want people to know about this.",
]

# The length clock (see build_transformer): outputs end after ~5-40 tokens, like real translations.
CLOCK_GAIN = 40.0
CLOCK_OFFSET = 7.0
TINY_VERSION = "0.0.1-test"


def train_sentencepiece(vocab_size: int = 500) -> bytes:
    """A unigram SentencePiece model (bytes) trained on the corpus above; byte fallback covers any text."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS_RU + CORPUS_EN),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        byte_fallback=True,  # every character can be encoded, whatever the input
        hard_vocab_limit=False,
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return model.getvalue()


def _vocabulary(sp_model: bytes) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=sp_model)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def build_transformer(vocab: list[str], out_dir: Path, *, layers: int = 2, heads: int = 2, d_model: int = 32,
                      ffn: int = 64, seed: int = 0) -> Path:
    """Save a random-weight CTranslate2 Transformer (shared source/target vocabulary) to `out_dir`."""
    from ctranslate2.specs import transformer_spec

    rng = np.random.default_rng(seed)
    v = len(vocab)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(ln) -> None:
        ln.gamma = np.ones(d_model, np.float32)
        ln.beta = np.zeros(d_model, np.float32)

    def linear(lin, rows: int, cols: int) -> None:
        lin.weight = w(rows, cols)
        lin.bias = np.zeros(rows, np.float32)

    def ffn_layer(spec) -> None:
        norm(spec.layer_norm)
        linear(spec.linear_0, ffn, d_model)
        linear(spec.linear_1, d_model, ffn)

    spec = transformer_spec.TransformerSpec.from_config(layers, heads)
    enc, dec = spec.encoder, spec.decoder
    enc.embeddings[0].weight = w(v, d_model)
    norm(enc.layer_norm)
    for layer in enc.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)  # fused Q, K, V
        linear(layer.self_attention.linear[1], d_model, d_model)
        ffn_layer(layer.ffn)

    # Random weights never choose </s> on their own, so every sentence would decode to the 256-token
    # limit. Give the decoder a length clock instead: residual dimension 0 carries only a ramp
    # (position / 20) from a learned position table (nothing else writes to it), and the </s> logit
    # reads only that dimension. </s> wins after roughly 15-30 tokens, depending on the input.
    dec.embeddings.weight = w(v, d_model)
    dec.embeddings.weight[:, 0] = 0
    positions = w(512, d_model, scale=0.1)
    positions[:, 0] = np.arange(512, dtype=np.float32) / 20
    dec.position_encodings.encodings = positions
    norm(dec.layer_norm)
    dec.layer_norm.gamma[0] = CLOCK_GAIN
    linear(dec.projection, v, d_model)
    dec.projection.weight = w(v, d_model, scale=0.5)
    dec.projection.weight[:, 0] = 0
    eos = vocab.index("</s>")
    dec.projection.weight[eos] = 0
    dec.projection.weight[eos, 0] = 1.0
    dec.projection.bias[eos] = -CLOCK_OFFSET
    for i, piece in enumerate(vocab):  # like a trained model: no raw bytes, no <unk>/<s> in output
        if piece.startswith("<") and piece.endswith(">") and piece != "</s>":
            dec.projection.bias[i] = -20.0
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d_model, d_model)  # Q
        linear(layer.attention.linear[1], 2 * d_model, d_model)  # fused K, V
        linear(layer.attention.linear[2], d_model, d_model)
        ffn_layer(layer.ffn)
        for out in (layer.self_attention.linear[1], layer.attention.linear[2], layer.ffn.linear_1):
            out.weight[0] = 0  # keep the clock dimension clean
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization="int8")  # stored like real Argos packages (converted with int8)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))
    return out_dir


def _metadata(from_code: str, to_code: str) -> dict:
    names = {"ru": "Russian", "en": "English", "de": "German", "fr": "French"}
    return {
        "package_version": TINY_VERSION,
        "argos_version": "1.0",
        "from_code": from_code,
        "from_name": names.get(from_code, from_code),
        "to_code": to_code,
        "to_name": names.get(to_code, to_code),
        "type": "translate",
        "links": [],
    }


def build_package_dir(root: Path, *, from_code: str = "ru", to_code: str = "en", seed: int = 0) -> Path:
    """The unpacked package folder (what the .argosmodel zip holds)."""
    pkg = root / f"translate-{from_code}_{to_code}-{TINY_VERSION.replace('.', '_')}"
    pkg.mkdir(parents=True)
    sp_model = train_sentencepiece()
    (pkg / "sentencepiece.model").write_bytes(sp_model)
    build_transformer(_vocabulary(sp_model), pkg / "model", seed=seed)
    (pkg / "metadata.json").write_text(json.dumps(_metadata(from_code, to_code), indent=2) + "\n")
    (pkg / "README.md").write_text(
        "# Tiny test package\n\nRandom weights: translates nonsense. Built by tests/argos_tiny.py for tests only.\n"
    )
    return pkg


def zip_dir(pkg_dir: Path, out_file: Path, *, extra: dict[str, bytes] | None = None,
            skip: tuple[str, ...] = ()) -> Path:
    """Zip a package folder under its own name, deterministically (sorted entries, fixed timestamps).

    `extra` adds raw entries (arcname -> bytes, e.g. a path-traversal entry); `skip` leaves out files
    whose path relative to the package folder starts with one of the given prefixes.
    """
    with zipfile.ZipFile(out_file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in pkg_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(pkg_dir).as_posix()
            if any(rel.startswith(prefix) for prefix in skip):
                continue
            info = zipfile.ZipInfo(f"{pkg_dir.name}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
        for arcname, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out_file


def build_tiny_package(out_dir: Path, *, from_code: str = "ru", to_code: str = "en", seed: int = 0,
                       skip: tuple[str, ...] = (), extra: dict[str, bytes] | None = None) -> Path:
    """Build `translate-ru_en-tiny.argosmodel` (or the given pair) in `out_dir` and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"translate-{from_code}_{to_code}-tiny.argosmodel"
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        pkg = build_package_dir(Path(work), from_code=from_code, to_code=to_code, seed=seed)
        return zip_dir(pkg, out_dir / name, skip=skip, extra=extra)


if __name__ == "__main__":  # python -m tests.argos_tiny OUT_DIR
    import sys

    print(build_tiny_package(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
