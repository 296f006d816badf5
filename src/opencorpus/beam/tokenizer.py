"""TrainTokenizer: a singleton with the trained tokenizer's disclosed facts, its file written.

A given tokenizer (file or GPT-2 files) is loaded by the driver, which writes its file into the
version and passes its facts (`tokenizer_info`) to the graph. A trained one is
trained on the published text of the `sample_size` documents with the smallest seeded hash
of their id (`SampleIds` picks them from keys alone; the slices write their texts to scratch
frames), so the sample and hence the tokenizer bytes do not depend on runner or arrival order.
"""

from __future__ import annotations

import hashlib
from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.beam.cputime import ThreadCpu, charge
from opencorpus.beam.write import DIGESTS
from opencorpus.formats import layout
from opencorpus.formats.order import describe
from opencorpus.formats.scratch import FrameRef, read_frame
from opencorpus.formats.tokens import token_dtype
from opencorpus.stages.tokenize import TokenEncoder, sample_key, tokenizer_bytes, train_tokenizer


def tokenizer_info(json_text: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """What the snapshot discloses about its tokenizer, token files and training order. Workers
    read the tokenizer itself from `file` in the version, checked against `sha256`: its JSON
    (megabytes for a large vocabulary) travels in neither the job's graph nor its side inputs."""
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
    }


def _train(frames: list[FrameRef], config: dict[str, Any]) -> str:
    texts = [text for _, text in sorted(pair for frame in frames for pair in read_frame(frame))]
    cpu = ThreadCpu()  # the trainer works in its own threads; this counts the calling one only
    with cpu.measure():
        tok = train_tokenizer(texts, config["train"], config["eos"], config["bos"])
    charge("tokenizer training", cpu.seconds)
    return tokenizer_bytes(tok).decode("utf-8")


def _survivor_ids(group):
    _, joined = group
    if not any(v.duplicates is None for v in joined["verdicts"]):
        for member in joined["member"]:
            yield member.id


class SampleIds(beam.PTransform):
    """((node, Member), verdicts) -> singleton frozenset: ids of the training sample, chosen
    among the documents dedup keeps."""

    def __init__(self, size: int, seed: int):
        super().__init__()
        self.size, self.seed = size, seed

    def expand(self, inputs):
        members, verdicts = inputs
        seed = self.seed
        return (
            {"member": members, "verdicts": verdicts | "ByNode" >> beam.Map(lambda v: (v.node, v))}
            | "Join" >> beam.CoGroupByKey()
            | "Kept" >> beam.FlatMap(_survivor_ids)
            | "SampleKey" >> beam.Map(lambda doc_id: (sample_key(doc_id, seed), doc_id))
            | "Smallest" >> beam.combiners.Top.Smallest(self.size)
            | "Ids" >> beam.Map(lambda pairs: frozenset(doc_id for _, doc_id in pairs))
        )


def _write(json_text: str, version_url: str, config: dict[str, Any], seed: int):
    digest = storage.write_hashed(storage.join(version_url, layout.TOKENIZER), json_text.encode("utf-8"))
    yield beam.pvalue.TaggedOutput(DIGESTS, (layout.TOKENIZER, digest))
    yield tokenizer_info(json_text, config, seed)


class TrainTokenizer(beam.PTransform):
    """sample frames -> singleton tokenizer info (main) and DIGESTS; writes tokenizer/tokenizer.json."""

    def __init__(self, config: dict[str, Any], seed: int, version_url: str):
        super().__init__()
        self.config = config
        self.seed = seed
        self.version_url = version_url

    def expand(self, sample_frames):
        """sample_frames: the FrameRefs of the sample's (key, text) pairs."""
        return (
            sample_frames
            | "Frames" >> beam.combiners.ToList()
            | "Train" >> beam.Map(_train, self.config)
            | "Write" >> beam.FlatMap(_write, self.version_url, self.config, self.seed).with_outputs(DIGESTS, main="info")
        )
