"""ProcessSlices: each slice of the shard-key space reads its documents back from the spill,
applies the dedup verdicts and the stages after dedup (PII), and writes one piece per part.

A slice's frames are each in order_key order, so a k-way merge streams them in order: memory
holds the slice's compressed frames and one batch, never the corpus. Slices are contiguous
ranges of the key space, as parts are (formats/documents.py), so a slice's documents fall in
one or two parts and a part is its slices' pieces one after the other.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from opencorpus import storage
from opencorpus.beam.cputime import charged_to
from opencorpus.beam.read import CACHE_METRICS
from opencorpus.beam.stage import DEAD_LETTER, REMOVED, staged
from opencorpus.cache.redactions import RedactionMemo, RedactionPacks, slice_range
from opencorpus.document import DeadLetter, Document
from opencorpus.formats.documents import shard_of
from opencorpus.formats.scratch import FrameRef, read_merged, write_frames
from opencorpus.stages import Outcome, Stage
from opencorpus.stages.dedup import Node, Verdict, apply_verdicts, doc_node
from opencorpus.stages.pii import PiiRedactor
from opencorpus.stages.tokenize import sample_key

# Side output: FrameRefs of the tokenizer's training sample (sample key, text), when it is trained.
SAMPLE = "sample"
# Seconds of work after which a slice writes the PII results it added to the cache.
FLUSH_SECONDS = 10
# Input bytes per slice: a slice holds its compressed frames in memory while it merges them.
SLICE_BYTES = 32 << 20
# At least this many slices. The local runner deals a step's keys to its workers up front, so
# many small slices even out what each worker gets (default recipe, 8 MB, 2 workers: 16 -> 64
# slices took the run from 124.8 to 107.4 s, and a resumed run from 0.37x to 0.25x of a full one).
MIN_SLICES = 64


def slices_for_bytes(input_bytes: int) -> int:
    """How many slices a run with this many input bytes (as stored) cuts the key space into."""
    return max(MIN_SLICES, -(-input_bytes // SLICE_BYTES))


@dataclass(frozen=True, order=True)
class Piece:
    """One slice's documents of one part, in a scratch file."""

    slice: int
    frame: FrameRef


class _ProcessSlice(beam.DoFn):
    def __init__(self, stages: list[Stage], scratch_url: str, seed: int, slices: int, packs: RedactionPacks | None):
        self.stages, self.scratch_url, self.seed = stages, scratch_url, seed
        self.slices, self.packs = slices, packs
        # Stages set themselves up on first use: a slice whose texts are all in the cache needs no model.
        self.pii = next((s for s in stages if isinstance(s, PiiRedactor)), None)
        self.from_cache = Metrics.counter(CACHE_METRICS, "pii_texts_from_cache")
        self.redacted = Metrics.counter(CACHE_METRICS, "pii_texts_redacted")

    def process(self, element, shards: int, sample: frozenset | None):
        slice_, joined = element
        verdicts: dict[Node, list[Verdict]] = {}
        for v in joined["verdicts"]:
            verdicts.setdefault(v.node, []).append(v)
        outcomes: list[Outcome] = []  # removed records and dead letters: no text, few
        judged = (apply_verdicts(d, verdicts.get(doc_node(d), ())) for d in read_merged(joined["frames"]))
        kept = (d for d in judged if d is not None)
        docs = _documents(self._staged(slice_, kept), outcomes)
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

    def _staged(self, slice_: int, docs: Iterator[Document]) -> Iterator[Outcome]:
        """The slice's documents through the stages; with a cache, the PII stage takes the texts
        it redacted before from the packs over this slice's range and adds the rest as it goes."""
        if self.packs is None or self.pii is None:
            yield from staged(self.stages, docs)
            return
        lo, hi = slice_range(slice_, self.slices)
        with charged_to("cache"):
            memo = self.pii.memo = self.packs.memo_for(lo, hi)
        flushed = time.monotonic()
        for outcome in staged(self.stages, docs):
            if time.monotonic() - flushed > FLUSH_SECONDS:  # a run killed now keeps what is done
                self._flush(memo, lo, hi)
                flushed = time.monotonic()
            yield outcome
        self._flush(memo, lo, hi)
        self.from_cache.inc(memo.hits)
        self.pii.memo = None

    def _flush(self, memo: RedactionMemo, lo: int, hi: int) -> None:
        added = memo.take_added()
        self.redacted.inc(len(added))
        if self.packs is not None:
            with charged_to("cache"):
                self.packs.write(lo, hi, added)


def _documents(outcomes: Iterator[Outcome], others: list[Outcome]) -> Iterator[Document]:
    for outcome in outcomes:
        if isinstance(outcome, Document):
            yield outcome
        else:
            others.append(outcome)


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

    def __init__(self, stages: list[Stage], slices: int, scratch_url: str, shards, sample=None, seed: int = 0,
                 packs: RedactionPacks | None = None):
        super().__init__()
        self.stages, self.slices, self.scratch_url = stages, slices, scratch_url
        self.shards, self.sample, self.seed, self.packs = shards, sample, seed, packs

    def expand(self, inputs):
        frames, verdicts = inputs
        slices = self.slices
        keyed = verdicts | "BySlice" >> beam.Map(lambda v: (shard_of(v.id, slices), v))
        sample = beam.pvalue.AsSingleton(self.sample) if self.sample is not None else None
        results = (
            {"frames": frames, "verdicts": keyed}
            | "Join" >> beam.CoGroupByKey()
            | "Process" >> beam.ParDo(_ProcessSlice(self.stages, self.scratch_url, self.seed, slices, self.packs),
                                      beam.pvalue.AsSingleton(self.shards), sample)
            .with_outputs(REMOVED, DEAD_LETTER, SAMPLE, main="pieces")
        )
        return results.pieces, results[REMOVED], results[DEAD_LETTER], results[SAMPLE]
