"""WriteStats: facts ((key path), n) from every writer summed into stats.json."""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.sources import SourceFile


def assemble(facts: Iterable[tuple[tuple[str, ...], int]], tokenizer: dict[str, Any] | None,
             inputs: list[dict[str, Any]], previous: dict[str, str] | None = None) -> dict[str, Any]:
    """Nest summed facts into the stats.json shape (see snapshot/manifest.py); `previous`: the
    version an incremental run built on (its name and manifest digest)."""
    stats: dict[str, Any] = {
        # sha256 too: two names may read the same once redacted (two addresses -> <EMAIL_ADDRESS>).
        "inputs": sorted(inputs, key=lambda i: (i["source"], i["path"], i["sha256"], i["bytes"])),
        "counts": {"input": 0, "output": 0, "removed": {}, "dead_letter": {}},
        "pii": {}, "licenses": {}, "sources": {}, "tokens": {"total": 0, "by_source": {}}, "files": {},
        "documents": {"characters": 0, "by_length": {}},
    }
    for path, n in facts:
        node = stats
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = node.get(path[-1], 0) + n
    for counts in stats["sources"].values():  # a source whose documents were all removed has no output fact
        counts.setdefault("input", 0)
        counts.setdefault("output", 0)
    if tokenizer is not None:
        stats["tokenizer"] = {k: v for k, v in tokenizer.items() if k != "json"}
    else:
        del stats["tokens"]
    if previous is not None:
        stats["previous"] = previous
    return stats


def input_digest(file: SourceFile) -> dict[str, Any] | None:
    """What the manifest records of one input file, so a rebuild can check it has the same bytes;
    None for a file the readers refuse (storage.input_refusal), which is not read here either:
    a FIFO would hang, a link to /dev/zero never end. Its dead letter records it."""
    if storage.input_refusal(file.url, file.root):
        return None
    sha256, size = storage.file_digest(file.url)
    return {"source": file.source, "path": file.display, "sha256": sha256, "bytes": size}


class WriteStats(beam.PTransform):
    """facts -> stats.json, with the tokenizer's facts and the digests of every input file."""

    def __init__(self, version_url: str, tokenizer, inputs, previous: dict[str, str] | None = None):
        super().__init__()
        self.version_url = version_url
        self.tokenizer = tokenizer
        self.inputs = inputs
        self.previous = previous

    def expand(self, facts):
        summed = facts | "Sum" >> beam.CombinePerKey(sum) | "All" >> beam.combiners.ToList()
        tokenizer = beam.pvalue.AsSingleton(self.tokenizer) if self.tokenizer is not None else None
        return summed | "Write" >> beam.Map(self._write, tokenizer, beam.pvalue.AsList(self.inputs))

    def _write(self, facts, tokenizer, inputs) -> None:
        stats = assemble(facts, tokenizer, inputs, self.previous)
        storage.write_bytes(storage.join(self.version_url, layout.STATS), canonical_json(stats))
