"""The lookup index of a snapshot version, written from what was actually published.

Inputs are the located documents `_WriteDocumentPart` emits (id, source, metadata, part,
line: no text) and the removed records; the bytes are formats/index.py's. The output is
(path, storage.Digest) of every file written, for the manifest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.index import (
    INDEXES,
    META,
    Entry,
    document_entries,
    meta_bytes,
    prefix_hex_for,
    removed_entry,
    shard_names,
    write_shard,
)


def _survivor_of(record: dict[str, Any]) -> str | None:
    return record.get("details", {}).get("duplicate_of")


def _copies_of_survivor(element) -> Iterator[tuple[str, Entry]]:
    _, grouped = element
    survivors = list(grouped["survivor"])
    for record in grouped["copies"]:
        yield removed_entry(record, survivors[0] if survivors else None)


class RemovedEntries(beam.PTransform):
    """Removed records -> (index, entry); duplicates joined with their published survivor."""

    def __init__(self, located):
        super().__init__()
        self.located = located

    def expand(self, removed):
        records = removed | "Records" >> beam.Map(lambda r: r.to_record())
        joined = (
            {"survivor": self.located | "ById" >> beam.Map(lambda d: (d["id"], d)),
             "copies": records | "BySurvivor" >> beam.FlatMap(lambda r: [(_survivor_of(r), r)] if _survivor_of(r) else [])}
            | "Join" >> beam.CoGroupByKey()
            | "Survivors" >> beam.FlatMap(_copies_of_survivor)
        )
        alone = records | "Alone" >> beam.FlatMap(lambda r: [] if _survivor_of(r) else [removed_entry(r, None)])
        return (joined, alone) | "Flatten" >> beam.Flatten()


class WriteIndex(beam.PTransform):
    """(located documents, removed records) -> (path, digest) per file; writes index/ of the version."""

    def __init__(self, version_url: str):
        super().__init__()
        self.version_url = version_url

    def expand(self, inputs):
        located, removed = inputs
        entries = (
            (located | "Documents" >> beam.FlatMap(document_entries), removed | "Removed" >> RemovedEntries(located))
            | "Entries" >> beam.Flatten()
        )
        counts = (
            entries
            | "Names" >> beam.Map(lambda e: (e[0], 1))
            | "Count" >> beam.CombinePerKey(sum)
            | "Counts" >> beam.combiners.ToDict()
        )
        meta = counts | "Meta" >> beam.Map(_write_meta, self.version_url)
        keyed = entries | "Key" >> beam.Map(_keyed, counts=beam.pvalue.AsSingleton(counts))
        every = counts | "Every" >> beam.FlatMap(_every_shard)
        shards = (
            (keyed, every)
            | "All" >> beam.Flatten()
            | "Group" >> beam.GroupByKey()
            | "Write" >> beam.MapTuple(self._write)
        )
        return (meta, shards) | "Digests" >> beam.Flatten()

    def _write(self, where: tuple[str, str], entries) -> tuple[str, storage.Digest]:
        index, shard = where
        digest = write_shard(self.version_url, index, shard, (e for e in entries if e is not None))
        return layout.index_shard(index, shard), digest


def _write_meta(counts: dict[str, int], version_url: str) -> tuple[str, storage.Digest]:
    return META, storage.write_hashed(storage.join(version_url, META), meta_bytes(counts))


def _keyed(element: tuple[str, Entry], counts: dict[str, int]):
    index, entry = element
    return (index, entry["key"][:prefix_hex_for(counts[index])]), entry


def _every_shard(counts: dict[str, int]):
    """An empty placeholder for every shard, so empty shards are written too."""
    for index in INDEXES:
        for shard in shard_names(prefix_hex_for(counts.get(index, 0))):
            yield (index, shard), None
