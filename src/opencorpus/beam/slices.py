"""ProcessSlices: each slice of the shard-key space reads its documents back from the spill,
applies the dedup verdicts and the stages after dedup (PII), and writes one piece per part.

A slice's frames are each in order_key order, so a k-way merge streams them in order: memory
holds the slice's compressed frames and one batch, never the corpus. Slices are contiguous
ranges of the key space, as parts are (formats/documents.py), so a slice's documents fall in
one or two parts and a part is its slices' pieces one after the other.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import apache_beam as beam

from opencorpus import storage
from opencorpus.beam.cputime import charge
from opencorpus.beam.stage import DEAD_LETTER, REMOVED, run_stage, set_up
from opencorpus.document import DeadLetter, Document
from opencorpus.formats.documents import shard_of
from opencorpus.formats.scratch import FrameRef, read_merged, write_frames
from opencorpus.stages import Outcome, Stage
from opencorpus.stages.dedup import Node, Verdict, apply_verdicts, doc_node
from opencorpus.stages.tokenize import sample_key

# Side output: FrameRefs of the tokenizer's training sample (sample key, text), when it is trained.
SAMPLE = "sample"
BATCH = 64  # documents per stage call (the PII stage runs spaCy over a batch at once)
# Input bytes per slice: a slice holds its compressed frames in memory while it merges them.
SLICE_BYTES = 32 << 20
# At least this many slices, so that every worker has some even on a small corpus.
MIN_SLICES = 16


def slices_for_bytes(input_bytes: int) -> int:
    """How many slices a run with this many input bytes (as stored) cuts the key space into."""
    return max(MIN_SLICES, -(-input_bytes // SLICE_BYTES))


@dataclass(frozen=True, order=True)
class Piece:
    """One slice's documents of one part, in a scratch file."""

    slice: int
    frame: FrameRef


class _ProcessSlice(beam.DoFn):
    def __init__(self, stages: list[Stage], scratch_url: str, seed: int):
        self.stages, self.scratch_url, self.seed = stages, scratch_url, seed
        self._setup_cpu: dict[str, float] = {}

    def setup(self) -> None:
        self._setup_cpu = {stage.name: set_up(stage) for stage in self.stages}

    def start_bundle(self) -> None:
        for name, seconds in self._setup_cpu.items():  # setup() runs outside any bundle's metrics
            charge(name, seconds)
        self._setup_cpu = {}

    def process(self, element, shards: int, sample: frozenset | None):
        slice_, joined = element
        verdicts: dict[Node, list[Verdict]] = {}
        for v in joined["verdicts"]:
            verdicts.setdefault(v.node, []).append(v)
        outcomes: list[Outcome] = []  # removed records and dead letters: no text, few
        kept = (d for d in read_merged(joined["frames"]) if apply_verdicts(d, verdicts.get(doc_node(d), ())) is not None)
        docs = self._staged(kept, outcomes)
        sampled: list[tuple[str, str]] = []
        if sample is not None:
            docs = _sampling(docs, sample, self.seed, sampled)
        for part, group in itertools.groupby(docs, key=lambda d: shard_of(d.id, shards)):
            url = storage.join(self.scratch_url, "pieces", f"{slice_:06d}-{part:05d}-{uuid.uuid4().hex}.pickle.zst")
            for frame in write_frames(url, [group]):
                yield part, Piece(slice_, frame)
        if sampled:
            url = storage.join(self.scratch_url, "sample", f"{slice_:06d}-{uuid.uuid4().hex}.pickle.zst")
            for frame in write_frames(url, [sampled]):
                yield beam.pvalue.TaggedOutput(SAMPLE, frame)
        for outcome in outcomes:
            yield beam.pvalue.TaggedOutput(DEAD_LETTER if isinstance(outcome, DeadLetter) else REMOVED, outcome)

    def _staged(self, docs: Iterator[Document], outcomes: list[Outcome]) -> Iterator[Document]:
        """The documents through every stage, in batches, in order; other outcomes set aside."""
        while batch := list(itertools.islice(docs, BATCH)):
            for stage in self.stages:
                results = run_stage(stage, batch)
                batch = [r for r in results if isinstance(r, Document)]
                outcomes.extend(r for r in results if not isinstance(r, Document))
            yield from batch


def _sampling(docs: Iterator[Document], sample: frozenset, seed: int, out: list[tuple[str, Any]]) -> Iterator[Document]:
    for doc in docs:
        if doc.id in sample:
            out.append((sample_key(doc.id, seed), doc.text))
        yield doc


class ProcessSlices(beam.PTransform):
    """((slice, FrameRef) frames, verdicts) -> (part, Piece) pieces, removed, dead letters, sample frames.

    `shards` is the singleton part count; `sample`, when the tokenizer is trained, the singleton
    set of ids whose published text it is trained on.
    """

    def __init__(self, stages: list[Stage], slices: int, scratch_url: str, shards, sample=None, seed: int = 0):
        super().__init__()
        self.stages, self.slices, self.scratch_url = stages, slices, scratch_url
        self.shards, self.sample, self.seed = shards, sample, seed

    def expand(self, inputs):
        frames, verdicts = inputs
        slices = self.slices
        keyed = verdicts | "BySlice" >> beam.Map(lambda v: (shard_of(v.id, slices), v))
        sample = beam.pvalue.AsSingleton(self.sample) if self.sample is not None else None
        results = (
            {"frames": frames, "verdicts": keyed}
            | "Join" >> beam.CoGroupByKey()
            | "Process" >> beam.ParDo(_ProcessSlice(self.stages, self.scratch_url, self.seed),
                                      beam.pvalue.AsSingleton(self.shards), sample)
            .with_outputs(REMOVED, DEAD_LETTER, SAMPLE, main="pieces")
        )
        return results.pieces, results[REMOVED], results[DEAD_LETTER], results[SAMPLE]
