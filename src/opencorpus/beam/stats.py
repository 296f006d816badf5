"""WriteStats: facts ((key path), n) from every writer summed into stats.json. WriteDigests:
the digest every writer reported of each file it wrote, gathered into one file for the driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.sources import SourceFile

# In the run's scratch folder (read before the folder is removed): path -> sha256 and bytes of
# every file the pipeline wrote, for snapshot/manifest.build_manifest. Keys, never text: about
# 130 bytes per file.
DIGESTS_FILE = "digests.json"


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
        stats["tokenizer"] = tokenizer
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
    """facts -> (path, digest) of stats.json, written with the tokenizer's facts and the digests
    of every input file."""

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

    def _write(self, facts, tokenizer, inputs) -> tuple[str, storage.Digest]:
        stats = assemble(facts, tokenizer, inputs, self.previous)
        return layout.STATS, storage.write_hashed(storage.join(self.version_url, layout.STATS), canonical_json(stats))


def digests_bytes(reports: Iterable[tuple[str, storage.Digest]]) -> bytes:
    """The digests file: {path: {"sha256", "bytes"}}. ValueError when two reports of one path
    differ: two writers of one file, and the manifest could not tell whose bytes are there."""
    found: dict[str, storage.Digest] = {}
    for path, digest in reports:
        if found.setdefault(path, digest) != digest:
            raise ValueError(f"{path}: reported written twice with different bytes: {found[path]} and {digest}")
    return canonical_json({path: digest._asdict() for path, digest in found.items()})


def read_digests(scratch_url: str) -> dict[str, storage.Digest]:
    """What WriteDigests wrote in the run's scratch folder."""
    found = json.loads(storage.read_bytes(storage.join(scratch_url, DIGESTS_FILE)))
    return {path: storage.Digest(**digest) for path, digest in found.items()}


class WriteDigests(beam.PTransform):
    """(path, digest) reported by every writer -> the digests file in the run's scratch folder."""

    def __init__(self, scratch_url: str):
        super().__init__()
        self.scratch_url = scratch_url

    def expand(self, reports):
        return reports | "All" >> beam.combiners.ToList() | "Write" >> beam.Map(self._write)

    def _write(self, reports: list[tuple[str, storage.Digest]]) -> None:
        storage.write_bytes(storage.join(self.scratch_url, DIGESTS_FILE), digests_bytes(reports))
