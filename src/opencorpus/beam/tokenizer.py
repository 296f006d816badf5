"""BuildTokenizer: a singleton with the tokenizer JSON and its disclosed facts.

A given tokenizer (file or GPT-2 files) was loaded by the driver; a trained one is
trained on the `sample_size` documents with the smallest seeded hash of their id, so the
sample and hence the tokenizer bytes do not depend on runner or arrival order.
"""

from __future__ import annotations

import hashlib
from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.order import describe
from opencorpus.formats.tokens import token_dtype
from opencorpus.stages.tokenize import TokenEncoder, sample_key, tokenizer_bytes, train_tokenizer


def tokenizer_info(json_text: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """What the snapshot discloses about its tokenizer, token files and training order.

    `json` travels to the workers and is left out of stats.json.
    """
    encoder = TokenEncoder(json_text, config["eos"], config["bos"])
    origin = "train" if "train" in config else "path" if "path" in config else "gpt2"
    return {
        "file": layout.TOKENIZER,
        "sha256": hashlib.sha256(json_text.encode("utf-8")).hexdigest(),
        "origin": origin,
        "config": config,
        "eos": config["eos"],
        "eos_id": encoder.eos_id,
        "bos": config["bos"],
        "bos_id": encoder.bos_id,
        "vocab_size": encoder.vocab_size,
        "dtype": token_dtype(encoder.vocab_size).name,
        "formats": config["formats"],
        "order": describe(layout.TOKEN_ORDER, config["order"], seed),
        "json": json_text,
    }


def _train(sample: list[tuple[str, str]], config: dict[str, Any]) -> str:
    texts = [text for _, text in sorted(sample)]
    tok = train_tokenizer(texts, config["train"], config["eos"], config["bos"])
    return tokenizer_bytes(tok).decode("utf-8")


def _write(json_text: str, version_url: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    storage.write_bytes(storage.join(version_url, layout.TOKENIZER), json_text.encode("utf-8"))
    return tokenizer_info(json_text, config, seed)


class BuildTokenizer(beam.PTransform):
    """documents -> singleton tokenizer info (written to tokenizer/tokenizer.json)."""

    def __init__(self, config: dict[str, Any], loaded_json: str | None, seed: int, version_url: str):
        super().__init__()
        self.config = config
        self.loaded_json = loaded_json
        self.seed = seed
        self.version_url = version_url

    def expand(self, docs):
        if self.loaded_json is not None:
            json_text = docs.pipeline | "Loaded" >> beam.Create([self.loaded_json])
        else:
            seed = self.seed
            json_text = (
                docs
                | "SampleKey" >> beam.Map(lambda d: (sample_key(d.id, seed), d.text))
                | "Sample" >> beam.combiners.Top.Smallest(self.config["train"]["sample_size"])
                | "Train" >> beam.Map(_train, self.config)
            )
        return json_text | "Write" >> beam.Map(_write, self.version_url, self.config, self.seed)
