"""Writers: documents + token shards per part, removed/ parts, the dead-letter file.

Every part 0..N-1 is written even when empty, documents are sorted by id inside a part,
and each writer emits facts (counts) for stats.json instead of relying on runner metrics,
so the numbers are the same on every runner.
"""

from __future__ import annotations

import apache_beam as beam

from opencorpus import storage
from opencorpus.document import Document
from opencorpus.formats import layout
from opencorpus.formats.documents import shard_of, shards_for_bytes, write_documents
from opencorpus.formats.jsonl import write_jsonl_zst
from opencorpus.formats.tokens import STREAMS, write_token_shard
from opencorpus.stages.license import NOASSERTION
from opencorpus.stages.tokenize import TokenEncoder, encode_documents

# Side output of WriteDocumentParts: (part, documents, tokens) per token part, for the training order.
TOKEN_PARTS = "token_parts"
# Side output: each published document's id, source, metadata, part and line (no text), for index/.
LOCATED = "located"


def finalize(doc: Document) -> Document:
    """Fill the metadata fields every published document has, whichever stages ran."""
    meta = doc.metadata
    meta.setdefault("sha256_published", meta["sha256"])
    meta.setdefault("license", NOASSERTION)
    meta.setdefault("license_evidence", [])
    meta.setdefault("language", None)
    meta.setdefault("pii", {})
    meta.setdefault("duplicates", [])
    return doc


def document_facts(doc: Document, tokens: int | None):
    """Counts one published document contributes to stats.json."""
    yield ("counts", "output"), 1
    yield ("sources", doc.source, "output"), 1
    yield ("licenses", doc.metadata["license"]), 1
    for entity, n in doc.metadata["pii"].items():
        yield ("pii", entity), n
    if tokens is not None:
        yield ("tokens", "total"), tokens
        yield ("tokens", "documents"), 1
        yield ("tokens", "by_source", doc.source), tokens
        yield ("tokens", "by_license", doc.metadata["license"]), tokens
        if "license_category" in doc.metadata:  # set by a license policy, when one ran
            yield ("tokens", "by_license_category", doc.metadata["license_category"]), tokens


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


class GroupIntoParts(beam.PTransform):
    """records -> (part, [records]) for every part 0..N-1, including empty ones."""

    def __init__(self, shards, key):
        super().__init__()
        self.shards = shards
        self.key = key

    def expand(self, records):
        key = self.key
        keyed = records | "Key" >> beam.Map(lambda r, n: (shard_of(key(r), n), r), n=beam.pvalue.AsSingleton(self.shards))
        every = self.shards | "Every" >> beam.FlatMap(lambda n: [(i, None) for i in range(n)])
        return (
            (keyed, every)
            | "All" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Sort" >> beam.MapTuple(lambda part, rs: (part, sorted((r for r in rs if r is not None), key=key)))
        )


class _WriteDocumentPart(beam.DoFn):
    def __init__(self, version_url: str):
        self.version_url = version_url
        self._encoders: dict[str, TokenEncoder] = {}

    def process(self, element, tokenizer):
        part, docs = element
        docs = [finalize(d) for d in docs]
        write_documents(self.version_url, part, docs)
        for line, doc in enumerate(docs):
            yield beam.pvalue.TaggedOutput(LOCATED, {"id": doc.id, "source": doc.source, "metadata": doc.metadata,
                                                     "part": part, "line": line})
        yield ("files", layout.documents_part(part), "documents"), len(docs)
        tokens: list[int | None] = [None] * len(docs)
        if tokenizer:
            tokens = self._write_tokens(part, docs, tokenizer)
            for fmt in tokenizer["formats"]:
                yield ("files", layout.tokens_part(part, STREAMS[fmt]), "documents"), len(docs)
                yield ("files", layout.tokens_part(part, STREAMS[fmt]), "tokens"), sum(tokens)
            yield beam.pvalue.TaggedOutput(TOKEN_PARTS, (part, len(docs), sum(tokens)))
        for doc, n in zip(docs, tokens):
            yield from document_facts(doc, n)

    def _write_tokens(self, part: int, docs: list[Document], tokenizer: dict) -> list[int]:
        """Encode in batches while streaming to the token files; returns tokens per document."""
        encoder = self._encoders.get(tokenizer["sha256"])
        if encoder is None:
            encoder = self._encoders[tokenizer["sha256"]] = TokenEncoder(tokenizer["json"], tokenizer["eos"], tokenizer["bos"])
        lengths: list[int] = []

        def counted():
            for row in encode_documents(encoder, docs):
                lengths.append(len(row[3]))
                yield row

        write_token_shard(self.version_url, part, counted(), encoder.vocab_size, tokenizer["formats"], tokenizer["file"])
        return lengths


class WriteDocumentParts(beam.PTransform):
    """documents -> facts (main) and TOKEN_PARTS; writes documents/ and (with a tokenizer) tokens/ parts."""

    def __init__(self, version_url: str, shards, tokenizer):
        super().__init__()
        self.version_url = version_url
        self.shards = shards
        self.tokenizer = tokenizer

    def expand(self, docs):
        side = beam.pvalue.AsSingleton(self.tokenizer) if self.tokenizer is not None else None
        write = _WriteDocumentPart(self.version_url)
        return (
            docs
            | "Parts" >> GroupIntoParts(self.shards, key=lambda d: d.id)
            | "Write" >> beam.ParDo(write, side).with_outputs(TOKEN_PARTS, LOCATED, main="facts")
        )


class WriteRemovedParts(beam.PTransform):
    """Removed records -> facts; writes removed/part-NNNNN.jsonl.zst (ids and hashes, never text)."""

    def __init__(self, version_url: str, shards):
        super().__init__()
        self.version_url = version_url
        self.shards = shards

    def expand(self, removed):
        return (
            removed
            | "Parts" >> GroupIntoParts(self.shards, key=lambda r: r.id)
            | "Write" >> beam.FlatMap(self._write)
        )

    def _write(self, element):
        part, records = element
        write_jsonl_zst(storage.join(self.version_url, layout.removed_part(part)), (r.to_record() for r in records))
        yield ("files", layout.removed_part(part), "documents"), len(records)
        for r in records:
            yield ("counts", "removed", r.stage, r.reason), 1


class WriteDeadLetters(beam.PTransform):
    """Dead letters -> facts; writes one sorted dead_letter file (it is expected to stay small)."""

    def __init__(self, version_url: str):
        super().__init__()
        self.version_url = version_url

    def expand(self, dead):
        return (
            dead
            | "All" >> beam.combiners.ToList()
            | "Write" >> beam.FlatMap(self._write)
        )

    def _write(self, letters):
        records = sorted((d.to_record() for d in letters), key=lambda r: (r["location"], r["stage"], r["reason"], r["id"] or ""))
        write_jsonl_zst(storage.join(self.version_url, layout.DEAD_LETTER), records)
        yield ("files", layout.DEAD_LETTER, "documents"), len(records)
        for r in records:
            yield ("counts", "dead_letter", r["stage"], r["reason"]), 1
