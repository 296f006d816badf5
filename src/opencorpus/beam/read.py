"""ReadSources: every file of every source, read in parallel, through the stages before dedup.

One step per file: read it, redact record identifiers, run the stages before dedup (extract,
license, language, quality), and record the outcomes in the run cache, or take them from there
when an earlier run made them from the same bytes with the same options and code
(cache/files.py). The file's sha256, which keys the cache, is the one the manifest records.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam

from opencorpus.beam.cputime import ThreadCpu, charge, charged_to
from opencorpus.beam.stage import DEAD_LETTER, PROGRESS_EVERY, REMOVED, set_up, staged
from opencorpus.beam.stats import input_digest
from opencorpus.cache.files import FileCache, file_key
from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.heap import keep_long_lived
from opencorpus.recipe import SourceSpec
from opencorpus.sources import SourceFile, read_source_file
from opencorpus.stages import Outcome, Stage
from opencorpus.stages.pii import PiiSettings
from opencorpus.stages.pii_identifiers import IdentifierRedactor

log = logging.getLogger(__name__)

INPUTS = "inputs"  # side output: what the manifest records of each file (stats.input_digest)
# Records whose identifiers are redacted in one analyzer call.
REDACT_BATCH = 64
# Metric counters (namespace CACHE_METRICS) the driver reports: files taken from the cache and read.
CACHE_METRICS = "opencorpus.cache"


@dataclass
class SourceWork:
    """What happens to one source's files before dedup: the stages its documents go through, and
    what else shapes their outcomes besides the file (as JSON: part of the cache key)."""

    spec: SourceSpec
    stages: list[Stage]
    settings: Any


class _ReadFile(beam.DoFn):
    def __init__(self, work: dict[str, SourceWork], date: str, pii: PiiSettings | None, cache_url: str | None):
        self.work, self.date, self.pii, self.cache_url = work, date, pii, cache_url
        self.hits = beam.metrics.Metrics.counter(CACHE_METRICS, "files_from_cache")
        self.misses = beam.metrics.Metrics.counter(CACHE_METRICS, "files_read")

    def setup(self) -> None:
        self.identifiers: IdentifierRedactor | None = None
        self.ready: set[str] = set()  # stages set up in this process: on first use, as a run all from the cache needs none
        self.cache = FileCache(self.cache_url) if self.cache_url is not None else None
        self.seen = 0
        keep_long_lived()  # Beam and the stages' modules, loaded by now, live as long as the worker

    def process(self, file: SourceFile):
        with charged_to("ingest"):
            digest = input_digest(file)
        if digest is None:  # a file the readers refuse: its dead letter says why
            yield from map(_tagged, self._counted(self._computed(file)))
            return
        key = None
        if self.cache is not None:
            work = self.work[file.source]
            key = file_key(digest["sha256"], work.spec, file, self.date, work.settings)
            with charged_to("cache"):
                cached = self.cache.entry(key, file.display)
            if cached is not None:
                self.hits.inc()
                recorded, outcomes = cached
                yield beam.pvalue.TaggedOutput(INPUTS, recorded)
                yield from map(_tagged, self._counted(outcomes, charged="cache"))
                return
        self.misses.inc()
        recorded = self._redacted_path(digest)
        yield beam.pvalue.TaggedOutput(INPUTS, recorded)
        outcomes = self._counted(self._computed(file))
        if key is None or self.cache is None:
            yield from map(_tagged, outcomes)
            return
        with self.cache.recording(key, recorded) as record:
            for outcome in outcomes:
                record(outcome)
                yield _tagged(outcome)

    def _computed(self, file: SourceFile) -> Iterator[Outcome]:
        """The file read, its record identifiers redacted, through the stages of its source."""
        stages = self.work[file.source].stages
        for stage in stages:
            if stage.name not in self.ready:
                charge(stage.name, set_up(stage))
                self.ready.add(stage.name)
        yield from staged(stages, self._read(file))

    def _read(self, file: SourceFile) -> Iterator[Outcome]:
        outcomes = read_source_file(self.work[file.source].spec, file, self.date)
        cpu, pii = ThreadCpu(), ThreadCpu()  # the reader's own time, not that of the stages after it
        batch: list[Document | DeadLetter] = []
        while True:
            with cpu.measure():
                outcome = next(outcomes, None)
            if outcome is not None:
                batch.append(outcome)
            if len(batch) == REDACT_BATCH or (outcome is None and batch):
                if self.pii is not None:
                    with pii.measure():
                        batch = self._identifiers().redact_outcomes(batch)
                yield from batch
                batch = []
            if outcome is None:
                break
        charge("ingest", cpu.seconds)
        charge("pii", pii.seconds)

    def _identifiers(self) -> IdentifierRedactor:
        assert self.pii is not None, "identifiers are redacted only when the recipe redacts PII"
        if self.identifiers is None:
            self.identifiers = IdentifierRedactor(self.pii)
        return self.identifiers

    def _redacted_path(self, digest: dict[str, Any]) -> dict[str, Any]:
        # Input file names are published as record identifiers are: redacted when the recipe redacts PII.
        if self.pii is not None:
            with charged_to("pii"):
                [digest["path"]] = self._identifiers().redact([digest["path"]])
        return digest

    def _counted(self, outcomes: Iterator[Outcome], charged: str | None = None) -> Iterator[Outcome]:
        """The outcomes, `raw` dropped (nothing after these stages reads the HTML), with progress."""
        cpu = ThreadCpu()
        while True:
            with cpu.measure():
                outcome = next(outcomes, None)
            if outcome is None:
                break
            if isinstance(outcome, Document) and outcome.raw is not None:
                outcome.raw = None
            before, self.seen = self.seen, self.seen + 1
            if before // PROGRESS_EVERY != self.seen // PROGRESS_EVERY:
                log.info("read: %d records in this worker", self.seen)
            yield outcome
        if charged is not None:
            charge(charged, cpu.seconds)


def _tagged(outcome: Outcome):
    if isinstance(outcome, Removed):
        return beam.pvalue.TaggedOutput(REMOVED, outcome)
    if isinstance(outcome, DeadLetter):
        return beam.pvalue.TaggedOutput(DEAD_LETTER, outcome)
    return outcome


class ReadSources(beam.PTransform):
    """-> (input digests, documents, removed, dead letters); Reshuffle spreads files over workers.

    `work`: per source name, what its files go through; `pii`: the PII stage's settings (record
    identifiers are redacted as they are read) or None; `cache_url`: the run cache, or None.
    """

    def __init__(self, work: dict[str, SourceWork], files: list[SourceFile], date: str,
                 pii: PiiSettings | None, cache_url: str | None = None):
        super().__init__()
        if missing := sorted({f.source for f in files} - set(work)):
            raise ValueError(f"files of sources the run does not know: {', '.join(missing)}")
        self.work, self.files, self.date, self.pii, self.cache_url = work, files, date, pii, cache_url

    def expand(self, pbegin):
        files = pbegin | "Files" >> beam.Create(self.files) | "Spread" >> beam.Reshuffle()
        results = files | "Read" >> beam.ParDo(_ReadFile(self.work, self.date, self.pii, self.cache_url)
                                               ).with_outputs(INPUTS, REMOVED, DEAD_LETTER, main="docs")
        return results[INPUTS], results.docs, results[REMOVED], results[DEAD_LETTER]
