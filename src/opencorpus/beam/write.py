"""Writers: documents + token shards per part, removed/ parts, the dead-letter file.

Every part 0..N-1 is written even when empty, documents are in order_key order inside a part,
and each writer emits facts (counts) for stats.json instead of relying on runner metrics,
so the numbers are the same on every runner, and the digest of every file it wrote (DIGESTS),
hashed from the bytes on their way out, so the manifest need not read the snapshot again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter

import apache_beam as beam
import numpy as np

from opencorpus import storage
from opencorpus.beam.cputime import ThreadCpu, charge, charged_to
from opencorpus.document import Document
from opencorpus.formats import layout
from opencorpus.formats.documents import shard_of, shards_for_bytes
from opencorpus.formats.facts import document_facts
from opencorpus.formats.jsonl import encode_line, jsonl_zst_writer, write_lines_zst
from opencorpus.formats.scratch import read_frame
from opencorpus.formats.tokens import STREAMS, token_file, write_token_shard
from opencorpus.stages.license import NOASSERTION
from opencorpus.stages.tokenize import TokenEncoder, TokenizerError, encode_documents

# Side output of WriteDocumentParts: (part, documents, tokens) per token part, for the training order.
TOKEN_PARTS = "token_parts"
# Side output: each published document's id, source, metadata, part and line (no text), for index/.
LOCATED = "located"
# Side output of every writer: (path in the version, storage.Digest) per file written, for the manifest.
DIGESTS = "digests"


def finalize(doc: Document) -> Document:
    """The document with the metadata fields every published document has, whichever stages ran
    (a new Document: the one given is an element Beam forbids changing)."""
    defaults = {"sha256_published": doc.metadata["sha256"], "license": NOASSERTION, "license_evidence": [],
                "language": None, "pii": {}, "duplicates": []}
    return dataclasses.replace(doc, metadata={**defaults, **doc.metadata})


class ShardCount(beam.PTransform):
    """A singleton: the fixed shard count, or one derived from the total text size."""

    def __init__(self, output: dict):
        super().__init__()
        self.output = output

    def expand(self, docs):
        if "shards" in self.output:
            return docs.pipeline | "Fixed" >> beam.Create([self.output["shards"]])
        return (
            docs
            | "Bytes" >> beam.Map(lambda d: len(d.text.encode("utf-8")))
            | "Total" >> beam.CombineGlobally(sum)
            | "Derive" >> beam.Map(shards_for_bytes, self.output["shard_bytes"])
        )


class EveryPart(beam.PTransform):
    """(part, record) -> (part, [records]) for every part 0..N-1, including empty ones."""

    def __init__(self, shards):
        super().__init__()
        self.shards = shards

    def expand(self, keyed):
        every = self.shards | "Every" >> beam.FlatMap(lambda n: [(i, None) for i in range(n)])
        return (
            (keyed, every)
            | "All" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Drop" >> beam.MapTuple(lambda part, rs: (part, [r for r in rs if r is not None]))
        )


class GroupIntoParts(beam.PTransform):
    """records -> (part, [records sorted by `key`]) for every part, by the shard of `key(record)`."""

    def __init__(self, shards, key):
        super().__init__()
        self.shards = shards
        self.key = key

    def expand(self, records):
        key = self.key
        return (
            records
            | "Key" >> beam.Map(lambda r, n: (shard_of(key(r), n), r), n=beam.pvalue.AsSingleton(self.shards))
            | "Parts" >> EveryPart(self.shards)
            | "Sort" >> beam.MapTuple(lambda part, rs: (part, sorted(rs, key=key)))
        )


class MeasuredEncoder(TokenEncoder):
    """Measures the tokenizer's CPU time in the helper thread that encodes (see encode_documents)."""

    def __init__(self, tokenizer_json: str, eos: str, bos: str | None = None):
        super().__init__(tokenizer_json, eos, bos)
        self.cpu = ThreadCpu()

    @classmethod
    def of_version(cls, version_url: str, tokenizer: dict) -> MeasuredEncoder:
        """The encoder of the tokenizer file the version holds, which must be the one `tokenizer`
        (tokenizer_info) describes."""
        url = storage.join(version_url, tokenizer["file"])
        data = storage.read_bytes(url)
        if hashlib.sha256(data).hexdigest() != tokenizer["sha256"]:
            raise TokenizerError(f"{url}: changed during the run (sha256 is not {tokenizer['sha256']})")
        return cls(data.decode("utf-8"), tokenizer["eos"], tokenizer["bos"])

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        with self.cpu.measure():
            return super().encode_batch(texts)


class _WritePart(beam.DoFn):
    """One part from its slices' pieces, streamed: documents and token files in one pass."""

    def __init__(self, version_url: str):
        self.version_url = version_url
        self._encoders: dict[str, MeasuredEncoder] = {}

    def process(self, element, tokenizer):
        part, pieces = element
        frames = [piece.frame for piece in sorted(pieces)]
        located: list[dict] = []  # per document: what index/ needs (no text)
        characters: list[int] = []  # per document, for stats.json's length histogram
        token_files: dict[str, storage.Digest] = {}
        path = layout.documents_part(part)
        with charged_to("documents"), storage.hashed_writer(storage.join(self.version_url, path)) as out, \
                jsonl_zst_writer(out) as write:
            def published():
                for doc in (finalize(d) for frame in frames for d in read_frame(frame)):
                    write(doc.to_dolma())
                    located.append({"id": doc.id, "source": doc.source, "metadata": doc.metadata,
                                    "part": part, "line": len(located)})
                    characters.append(len(doc.text))
                    yield doc

            if tokenizer:
                lengths, token_files = self._write_tokens(part, published(), tokenizer)
                tokens: list[int | None] = list(lengths)
            else:
                tokens = [None for _ in published()]
        for written in {path: out.digest, **token_files}.items():
            yield beam.pvalue.TaggedOutput(DIGESTS, written)
        facts: Counter = Counter()
        for record, n, chars in zip(located, tokens, characters):
            facts.update(dict(document_facts(record["source"], record["metadata"], n, chars)))
            yield beam.pvalue.TaggedOutput(LOCATED, record)
        facts[("files", path, "documents")] += len(located)
        if tokenizer:
            total = sum(n or 0 for n in tokens)
            for fmt in tokenizer["formats"]:
                facts[("files", token_file(part, STREAMS[fmt]), "documents")] += len(located)
                facts[("files", token_file(part, STREAMS[fmt]), "tokens")] += total
            yield beam.pvalue.TaggedOutput(TOKEN_PARTS, (part, len(located), total))
        yield from sorted(facts.items())

    def _write_tokens(self, part: int, docs, tokenizer: dict) -> tuple[list[int], dict[str, storage.Digest]]:
        """Encode in batches while streaming to the token files; returns tokens per document and
        the token files' digests."""
        encoder = self._encoders.get(tokenizer["sha256"])
        if encoder is None:
            encoder = self._encoders[tokenizer["sha256"]] = MeasuredEncoder.of_version(self.version_url, tokenizer)
        encoder.cpu.seconds = 0.0
        lengths: list[int] = []

        def counted():
            for row in encode_documents(encoder, docs):
                lengths.append(len(row[3]))
                yield row

        written = write_token_shard(self.version_url, part, counted(), encoder.vocab_size, tokenizer["formats"],
                                    tokenizer["file"])
        charge("tokenize", encoder.cpu.seconds)
        return lengths, written["files"]


class WriteDocumentParts(beam.PTransform):
    """(part, Piece) -> facts (main), TOKEN_PARTS, LOCATED and DIGESTS; writes documents/ and
    (with a tokenizer) tokens/ parts, every part 0..N-1 even when empty."""

    def __init__(self, version_url: str, shards, tokenizer):
        super().__init__()
        self.version_url = version_url
        self.shards = shards
        self.tokenizer = tokenizer

    def expand(self, pieces):
        side = beam.pvalue.AsSingleton(self.tokenizer) if self.tokenizer is not None else None
        return (
            pieces
            | "Parts" >> EveryPart(self.shards)
            | "Write" >> beam.ParDo(_WritePart(self.version_url), side).with_outputs(TOKEN_PARTS, LOCATED, DIGESTS,
                                                                                     main="facts")
        )


class WriteRemovedParts(beam.PTransform):
    """Removed records -> facts (main) and DIGESTS; writes removed/part-NNNNN.jsonl.zst (ids and
    hashes, never text)."""

    def __init__(self, version_url: str, shards):
        super().__init__()
        self.version_url = version_url
        self.shards = shards

    def expand(self, removed):
        return (
            removed
            | "Parts" >> GroupIntoParts(self.shards, key=lambda r: r.id)
            | "Write" >> beam.FlatMap(self._write).with_outputs(DIGESTS, main="facts")
        )

    def _write(self, element):
        part, records = element
        path = layout.removed_part(part)
        lines = (encode_line(r.to_record()) for r in records)
        yield beam.pvalue.TaggedOutput(DIGESTS, (path, write_lines_zst(storage.join(self.version_url, path), lines).digest))
        yield ("files", path, "documents"), len(records)
        for r in records:
            yield ("counts", "removed", r.stage, r.reason), 1


class WriteDeadLetters(beam.PTransform):
    """Dead letters -> facts (main) and DIGESTS; writes one sorted dead_letter file (it is
    expected to stay small)."""

    def __init__(self, version_url: str):
        super().__init__()
        self.version_url = version_url

    def expand(self, dead):
        return (
            dead
            | "All" >> beam.combiners.ToList()
            | "Write" >> beam.FlatMap(self._write).with_outputs(DIGESTS, main="facts")
        )

    def _write(self, letters):
        records = sorted((d.to_record() for d in letters), key=lambda r: (r["location"], r["stage"], r["reason"], r["id"] or ""))
        written = write_lines_zst(storage.join(self.version_url, layout.DEAD_LETTER), map(encode_line, records))
        yield beam.pvalue.TaggedOutput(DIGESTS, (layout.DEAD_LETTER, written.digest))
        yield ("files", layout.DEAD_LETTER, "documents"), len(records)
        for r in records:
            yield ("counts", "dead_letter", r["stage"], r["reason"]), 1
