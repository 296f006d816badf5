"""WriteStats: facts ((key path), n) from every writer summed into stats.json."""

from __future__ import annotations

import json
from typing import Any, Iterable

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout


def assemble(facts: Iterable[tuple[tuple[str, ...], int]], tokenizer: dict[str, Any] | None) -> dict[str, Any]:
    """Nest summed facts into the stats.json shape (see snapshot/manifest.py)."""
    stats: dict[str, Any] = {
        "counts": {"input": 0, "output": 0, "removed": {}, "dead_letter": {}},
        "pii": {}, "licenses": {}, "sources": {}, "tokens": {"total": 0, "by_source": {}}, "files": {},
    }
    for path, n in facts:
        node = stats
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = node.get(path[-1], 0) + n
    if tokenizer is not None:
        stats["tokenizer"] = {k: v for k, v in tokenizer.items() if k != "json"}
    else:
        del stats["tokens"]
    return stats


def stats_bytes(stats: dict[str, Any]) -> bytes:
    return (json.dumps(stats, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class WriteStats(beam.PTransform):
    def __init__(self, version_url: str, tokenizer):
        super().__init__()
        self.version_url = version_url
        self.tokenizer = tokenizer

    def expand(self, facts):
        summed = facts | "Sum" >> beam.CombinePerKey(sum) | "All" >> beam.combiners.ToList()
        if self.tokenizer is not None:
            return summed | "Write" >> beam.Map(self._write, beam.pvalue.AsSingleton(self.tokenizer))
        return summed | "Write" >> beam.Map(self._write, None)

    def _write(self, facts, tokenizer) -> None:
        storage.write_bytes(storage.join(self.version_url, layout.STATS), stats_bytes(assemble(facts, tokenizer)))
