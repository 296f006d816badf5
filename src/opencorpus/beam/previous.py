"""Incremental runs: the previous version's documents join the run, and takedowns stay in force.

A recipe with `previous: VERSION_URL` builds on that version. Its published documents are read
back as carried Documents (`carried=True`): they skip the stages (they went through them
there), meet this run's documents in exact and near dedup, where they always survive and their
records stay as published (stages/dedup.py), so a document already published is not published
again (`already-published` in removed/) and the new version adds only what is new.

Documents taken down from the previous version or from a later takedown of it
(`TakenDown`, gathered by the driver from those versions' removed/) are dropped again, carried
or read anew, as `takedown` records naming the original request.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from opencorpus.beam.stage import REMOVED
from opencorpus.document import Document, Removed
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.snapshot.takedown import REASON as REQUEST
from opencorpus.snapshot.takedown import STAGE as TAKEDOWN

# taken-down hash (original or published text) -> {"request", "reason", "version"}
TakenDown = dict[str, dict[str, Any]]


class _ReadPart(beam.DoFn):
    def __init__(self, version: str, kinds: dict[str, str]):
        self.version, self.kinds = version, kinds

    def process(self, element: tuple[int, str]):
        part, url = element
        for line, record in enumerate(read_jsonl_zst(url), 1):
            yield Document(id=record["id"], text=record["text"], source=record["source"],
                           kind=self.kinds.get(record["source"], "text"), added=record.get("added"),
                           created=record.get("created"), metadata=record["metadata"],
                           location=f"{self.version}/part-{part:05d}:{line}", carried=True)


class CarryPrevious(beam.PTransform):
    """pipeline root -> the previous version's documents, carried (one read per document part)."""

    def __init__(self, version: str, part_urls: list[str], kinds: dict[str, str]):
        super().__init__()
        self.version, self.part_urls, self.kinds = version, part_urls, kinds

    def expand(self, pbegin):
        return (pbegin | "Parts" >> beam.Create(list(enumerate(self.part_urls)))
                | "Spread" >> beam.Reshuffle()
                | "Read" >> beam.ParDo(_ReadPart(self.version, self.kinds)))


def taken_down(doc: Document, taken: TakenDown) -> Removed | None:
    """The takedown record of a document whose text an earlier takedown removed, else None."""
    meta = doc.metadata
    hit = taken.get(meta["sha256"]) or taken.get(meta.get("sha256_published", ""))
    if hit is None:
        return None
    return Removed(id=doc.id, source=doc.source, sha256=meta["sha256"], stage=TAKEDOWN, reason=REQUEST,
                   details={**hit, "sha256_published": meta.get("sha256_published", meta["sha256"])})


class _DropTakenDown(beam.DoFn):
    def __init__(self, taken: TakenDown):
        self.taken = taken

    def process(self, doc: Document):
        removed = taken_down(doc, self.taken)
        yield doc if removed is None else beam.pvalue.TaggedOutput(REMOVED, removed)


class DropTakenDown(beam.PTransform):
    """documents -> (documents, removed): what earlier takedowns removed stays out."""

    def __init__(self, taken: TakenDown):
        super().__init__()
        self.taken = taken

    def expand(self, docs):
        results = docs | beam.ParDo(_DropTakenDown(self.taken)).with_outputs(REMOVED, main="docs")
        return results.docs, results[REMOVED]
