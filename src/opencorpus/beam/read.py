"""ReadSources: every file of every source, read in parallel, split into documents and dead letters."""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from opencorpus.beam.cputime import ThreadCpu, charge
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources import SourceFile, read_source_file
from opencorpus.stages.pii_identifiers import IdentifierRedactor

DEAD_LETTER = "dead_letter"
# Records whose identifiers are redacted in one analyzer call.
REDACT_BATCH = 64


class _ReadFile(beam.DoFn):
    def __init__(self, specs: dict[str, SourceSpec], date: str, pii: dict[str, Any] | None):
        self.specs = specs
        self.date = date
        self.pii = pii

    def setup(self) -> None:
        self.identifiers = IdentifierRedactor(self.pii) if self.pii is not None else None

    def process(self, file: SourceFile):
        outcomes = read_source_file(self.specs[file.source], file, self.date)
        cpu, pii = ThreadCpu(), ThreadCpu()  # the reader's own time, not that of the stages fused after it
        batch: list[Document | DeadLetter] = []
        while True:
            with cpu.measure():
                outcome = next(outcomes, None)
            if outcome is not None:
                batch.append(outcome)
            if len(batch) == REDACT_BATCH or (outcome is None and batch):
                if self.identifiers is not None:
                    with pii.measure():
                        batch = self.identifiers.redact_outcomes(batch)
                yield from map(_tagged, batch)
                batch = []
            if outcome is None:
                break
        charge("ingest", cpu.seconds)
        charge("pii", pii.seconds)


def _tagged(outcome: Document | DeadLetter):
    return beam.pvalue.TaggedOutput(DEAD_LETTER, outcome) if isinstance(outcome, DeadLetter) else outcome


class ReadSources(beam.PTransform):
    """-> (files, documents, dead letters); Reshuffle spreads files over workers."""

    def __init__(self, specs: list[SourceSpec], files: list[SourceFile], date: str, pii: dict[str, Any] | None):
        super().__init__()
        self.specs = {s.name: s for s in specs}
        self.files = files
        self.date = date
        self.pii = pii  # the pii stage's options: record identifiers are redacted as they are read

    def expand(self, pbegin):
        files = pbegin | "Files" >> beam.Create(self.files) | "Spread" >> beam.Reshuffle()
        results = files | "Read" >> beam.ParDo(_ReadFile(self.specs, self.date, self.pii)).with_outputs(DEAD_LETTER, main="docs")
        return files, results.docs, results[DEAD_LETTER]
