"""Tokenizer loading, training determinism and encoding (stages/tokenize.py)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest
from tokenizers import ByteLevelBPETokenizer, Tokenizer, pre_tokenizers

from opencorpus import storage
from opencorpus.document import Document
from opencorpus.recipe import RecipeError, parse_recipe
from opencorpus.stages.tokenize import (
    TokenEncoder,
    TokenizerError,
    encode_documents,
    load_tokenizer,
    sample_key,
    select_training_sample,
    tokenizer_bytes,
    train_tokenizer,
)

DATA = Path(__file__).parent / "data"
GPT2 = DATA / "gpt2"
EOS = "<|endoftext|>"
GPT2_CONFIG = {"vocab": "gpt2/encoder.json", "merges": "gpt2/vocab.bpe", "eos": EOS, "bos": None}
TRAIN = {"vocab_size": 400, "min_frequency": 2, "special_tokens": []}
TRICKY = [
    "emoji 🎉 family 👨‍👩‍👧‍👦 flag 🇩🇪",
    "CJK 東京 中文 한국어 日本語のテキスト",
    "combining e\u0301 a\u0308 n\u0303 vs é ä ñ, Zalgo Z\u0351\u0350\u0353",
    "NUL \x00 inside\x00and at end\x00",
    "CRLF line\r\nnext\r\n\r\nlone CR\rend",
    "tabs\tand  double  spaces \u00a0nbsp \u200b zwsp \ufeff bom",
    "RTL עברית العربية",
    "literal <|endoftext|> inside a document",
    "",
    " ",
]


@pytest.fixture(scope="module")
def gpt2() -> Tokenizer:
    return load_tokenizer(GPT2_CONFIG, str(DATA))


@pytest.fixture(scope="module")
def gpt2_encoder(gpt2) -> TokenEncoder:
    return TokenEncoder(tokenizer_bytes(gpt2).decode("utf-8"), EOS)


def corpus(n: int = 300) -> list[str]:
    """A fixed synthetic corpus with many equally frequent pairs (ties for the trainer)."""
    rng = random.Random(7)
    words = ["the", "then", "there", "corpus", "token", "tokens", "licence", "license", "über",
             "東京", "🎉", "a", "an", "and", "x", "xy", "yx", "def", "return", "  ", "\n"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))) for _ in range(n)] + TRICKY


def test_gpt2_reference_encodings(gpt2_encoder):
    cases = [json.loads(line) for line in (GPT2 / "encodings.truth.jsonl").read_text("utf-8").splitlines()]
    assert len(cases) == 9
    encoded = gpt2_encoder.encode_batch([c["text"] for c in cases])
    for case, ids in zip(cases, encoded):
        assert ids.dtype == np.uint32 and ids.tolist() == case["ids"] + [50256], case["text"]
        assert gpt2_encoder.tokenizer.encode(case["text"], add_special_tokens=False).tokens == case["tokens"]
        assert gpt2_encoder.tokenizer.decode(ids[:-1]) == case["text"]


def test_gpt2_hello_world_and_eos_keeps_its_id(gpt2):
    assert gpt2.encode("Hello world").ids == [15496, 995]
    assert gpt2.token_to_id(EOS) == 50256
    assert gpt2.get_vocab_size(with_added_tokens=True) == 50257
    added = json.loads(gpt2.to_str())["added_tokens"]
    assert [(t["id"], t["content"], t["special"]) for t in added] == [(50256, EOS, True)]


def test_gpt2_files_load_like_byte_level_bpe_tokenizer(gpt2):
    reference = ByteLevelBPETokenizer(str(GPT2 / "encoder.json"), str(GPT2 / "vocab.bpe"))
    reference.add_special_tokens([EOS])
    assert gpt2.to_str() == reference._tokenizer.to_str()


def test_gpt2_files_from_a_memory_url():
    base = f"memory://tok-{uuid.uuid4().hex}"
    try:
        for name in ("encoder.json", "vocab.bpe"):
            storage.write_bytes(storage.join(base, name), (GPT2 / name).read_bytes())
        tok = load_tokenizer({"vocab": "encoder.json", "merges": "vocab.bpe", "eos": EOS}, base)
        assert tok.encode("Hello world").ids == [15496, 995]
    finally:
        storage.remove_tree(base)


def test_tokenizer_json_path_adds_missing_bos(tmp_path):
    trained = train_tokenizer(corpus(), TRAIN, EOS, None)
    (tmp_path / "tok.json").write_bytes(tokenizer_bytes(trained))
    size = trained.get_vocab_size(with_added_tokens=True)
    tok = load_tokenizer({"path": "tok.json", "eos": EOS, "bos": "<s>"}, str(tmp_path))
    assert tok.token_to_id(EOS) == 0
    assert tok.token_to_id("<s>") == size
    absolute = load_tokenizer({"path": str(tmp_path / "tok.json"), "eos": EOS, "bos": None}, "/elsewhere")
    assert tokenizer_bytes(absolute) == tokenizer_bytes(trained)


@pytest.mark.parametrize("files, message", [
    ({"path": "missing.json"}, "missing.json: no such tokenizer file"),
    ({"path": "bad.json"}, "bad.json: not a Hugging Face tokenizer.json"),
    ({"vocab": "bad.json", "merges": "merges.txt"}, "bad.json: vocab is not valid JSON"),
    ({"vocab": "list.json", "merges": "merges.txt"}, "list.json: vocab must map"),
    ({"vocab": "vocab.json", "merges": "three.txt"}, "three.txt: line 2: expected a merge"),
    ({"vocab": "vocab.json", "merges": "unknown.txt"}, "not a BPE vocab and merges pair"),
])
def test_files_that_do_not_load_raise_naming_the_file(tmp_path, files, message):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0, "b": 1, "ab": 2}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")
    (tmp_path / "three.txt").write_text("#version: 0.2\na b c\n")
    (tmp_path / "unknown.txt").write_text("a z\n")
    with pytest.raises(TokenizerError, match=message.replace(".", r"\.")):
        load_tokenizer({**files, "eos": EOS}, str(tmp_path))


def test_training_is_deterministic_across_processes(tmp_path):
    """Separate processes, different hash seeds and thread counts: byte-identical tokenizer.json."""
    (tmp_path / "corpus.json").write_text(json.dumps(corpus()), "utf-8")
    script = textwrap.dedent(f"""
        import json, sys
        from opencorpus.stages.tokenize import tokenizer_bytes, train_tokenizer
        texts = json.load(open(sys.argv[1], encoding="utf-8"))
        sys.stdout.buffer.write(tokenizer_bytes(train_tokenizer(texts, {TRAIN!r}, {EOS!r}, "<s>")))
    """)
    outputs = []
    for hash_seed, threads in (("1", "1"), ("2", "2"), ("3", None)):
        env = {k: v for k, v in os.environ.items()
               if k not in ("RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS", "TOKENIZERS_PARALLELISM")}
        env["PYTHONHASHSEED"] = hash_seed
        if threads:
            env["RAYON_NUM_THREADS"] = threads
        run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "corpus.json")],
                             env=env, capture_output=True, check=True)
        outputs.append(run.stdout)
    in_process = tokenizer_bytes(train_tokenizer(corpus(), TRAIN, EOS, "<s>"))
    assert outputs[0] == outputs[1] == outputs[2] == in_process
    assert len(json.loads(in_process)["model"]["merges"]) > 50  # training did learn merges


def test_trained_tokenizer_layout():
    tok = train_tokenizer(corpus(), {**TRAIN, "special_tokens": ["<pad>", EOS]}, EOS, "<s>")
    assert [tok.token_to_id(t) for t in (EOS, "<s>", "<pad>")] == [0, 1, 2]
    assert 256 + 3 < tok.get_vocab_size(with_added_tokens=True) <= TRAIN["vocab_size"]
    added = json.loads(tok.to_str())["added_tokens"]
    assert all(t["special"] for t in added) and len(added) == 3
    assert all(tok.token_to_id(ch) is not None for ch in pre_tokenizers.ByteLevel.alphabet())


def test_tokenizer_bytes_survive_a_reload():
    data = tokenizer_bytes(train_tokenizer(corpus(), TRAIN, EOS, None))
    assert tokenizer_bytes(Tokenizer.from_str(data.decode("utf-8"))) == data


@pytest.mark.parametrize("which", ["gpt2", "trained"])
def test_byte_level_round_trip_on_tricky_text(gpt2, which):
    tok = gpt2 if which == "gpt2" else train_tokenizer(corpus(), TRAIN, EOS, None)
    encoder = TokenEncoder(tokenizer_bytes(tok).decode("utf-8"), EOS)
    for text, ids in zip(TRICKY, encoder.encode_batch(TRICKY)):
        assert ids[-1] == encoder.eos_id
        assert encoder.eos_id not in ids[:-1].tolist(), text  # a literal "<|endoftext|>" stays text
        assert encoder.tokenizer.decode(ids[:-1].tolist()) == text


def test_encoder_appends_eos_and_prepends_bos():
    tok = train_tokenizer(corpus(), TRAIN, EOS, "<s>")
    json_text = tokenizer_bytes(tok).decode("utf-8")
    plain = TokenEncoder(json_text, EOS)
    with_bos = TokenEncoder(json_text, EOS, "<s>")
    assert (plain.eos_id, plain.bos_id, with_bos.bos_id) == (0, None, 1)
    assert [ids.tolist() for ids in plain.encode_batch(["", "the token"])] == [[0], tok.encode("the token").ids + [0]]
    assert [ids.tolist() for ids in with_bos.encode_batch(["the token"])] == [[1] + tok.encode("the token").ids + [0]]
    assert plain.encode_batch([]) == []
    assert plain.vocab_size == tok.get_vocab_size(with_added_tokens=True)


def test_encoder_pickles_as_json_text(gpt2_encoder):
    gpt2_encoder.setup()
    state = pickle.dumps(gpt2_encoder)
    assert len(state) < len(gpt2_encoder.tokenizer_json.encode("utf-8")) + 1000  # no loaded Tokenizer inside
    assert pickle.loads(state).encode_batch(["Hello world"])[0].tolist() == [15496, 995, 50256]


def test_encoder_rejects_unknown_eos(gpt2_encoder):
    with pytest.raises(TokenizerError, match="no token '<eos>'"):
        TokenEncoder(gpt2_encoder.tokenizer_json, "<eos>").setup()


def test_sample_key_is_seeded_sha256():
    assert sample_key("doc-1", 0) == hashlib.sha256(b"0:doc-1").hexdigest()
    assert sample_key("doc-1", 1) != sample_key("doc-1", 0)


def test_select_training_sample_ignores_arrival_order():
    pairs = [(f"doc-{i}", f"text {i}") for i in range(50)]
    chosen = select_training_sample(pairs, 10, seed=3)
    assert select_training_sample(list(reversed(pairs)), 10, seed=3) == chosen
    expected = sorted(pairs, key=lambda p: sample_key(p[0], 3))[:10]
    assert chosen == [text for _, text in expected]
    assert select_training_sample(pairs, 10, seed=4) != chosen
    assert len(select_training_sample(pairs, 500, seed=3)) == 50



def test_encode_documents_streams_rows_in_order_in_batches(gpt2_encoder):
    docs = [Document(id=f"d{i}", text=text, source="s", metadata={"sha256_published": f"{i:064x}"})
            for i, text in enumerate(["Hello world", "", "Hello world"] * 3)]
    rows = list(encode_documents(gpt2_encoder, docs, max_chars=12))  # batches of one or two documents
    assert [r[:3] for r in rows] == [(d.id, "s", d.metadata["sha256_published"]) for d in docs]
    # An empty document still ends with EOS: never zero tokens, so every document is a sequence.
    assert [r[3].tolist() for r in rows[:3]] == [[15496, 995, 50256], [50256], [15496, 995, 50256]]
    assert [r[3].tolist() for r in rows] == [r[3].tolist() for r in encode_documents(gpt2_encoder, docs)]


RECIPE = """\
name: t
date: 2026-11-01
sources: [{{name: s, uri: a.jsonl}}]
tokenizer: {tokenizer}
"""


def test_recipe_token_formats_and_order_defaults():
    tok = parse_recipe(RECIPE.format(tokenizer="{train: {}}")).tokenizer
    assert tok["formats"] == ["megatron"] and tok["order"] == {"unit": "document", "window_tokens": 2048}
    tok = parse_recipe(RECIPE.format(
        tokenizer="{train: {}, formats: [datatrove, megatron], order: {unit: window, window_tokens: 4096}}")).tokenizer
    assert tok["formats"] == ["megatron", "datatrove"] and tok["order"] == {"unit": "window", "window_tokens": 4096}


@pytest.mark.parametrize("tokenizer, message", [
    ("{train: {}, formats: [megatron, nanogpt]}", "tokenizer.formats: unknown format 'nanogpt'"),
    ("{train: {}, formats: []}", "tokenizer.formats: expected a non-empty list"),
    ("{train: {}, formats: megatron}", "tokenizer.formats: expected a non-empty list"),
    ("{train: {}, order: {unit: token}}", "tokenizer.order.unit: expected one of document, window"),
    ("{train: {}, order: {unit: window, window_tokens: 0}}", "tokenizer.order.window_tokens: expected a positive"),
    ("{train: {}, order: {units: window}}", "tokenizer.order: unknown key 'units' (did you mean 'unit'?)"),
    ("{train: {}, eos: null}", "tokenizer.eos: expected a token string (EOS ends every document)"),
    ("{train: {}, bos: 1}", "tokenizer.bos: expected a token string or null"),
])
def test_recipe_token_options_errors_name_the_key(tokenizer, message):
    with pytest.raises(RecipeError, match=re.escape(message)):
        parse_recipe(RECIPE.format(tokenizer=tokenizer))
