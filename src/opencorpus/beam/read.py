"""ReadSources: every file of every source, read in parallel, split into documents and dead letters."""

from __future__ import annotations

import apache_beam as beam

from opencorpus.beam.cputime import ThreadCpu, charge
from opencorpus.document import DeadLetter
from opencorpus.recipe import SourceSpec
from opencorpus.sources import SourceFile, read_source_file

DEAD_LETTER = "dead_letter"


class _ReadFile(beam.DoFn):
    def __init__(self, specs: dict[str, SourceSpec], date: str):
        self.specs = specs
        self.date = date

    def process(self, file: SourceFile):
        outcomes = read_source_file(self.specs[file.source], file, self.date)
        cpu = ThreadCpu()  # the reader's own time, not that of the stages fused after it
        while True:
            with cpu.measure():
                outcome = next(outcomes, None)
            if outcome is None:
                break
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, outcome) if isinstance(outcome, DeadLetter) else outcome
        charge("ingest", cpu.seconds)


class ReadSources(beam.PTransform):
    """-> (files, documents, dead letters); Reshuffle spreads files over workers."""

    def __init__(self, specs: list[SourceSpec], files: list[SourceFile], date: str):
        super().__init__()
        self.specs = {s.name: s for s in specs}
        self.files = files
        self.date = date

    def expand(self, pbegin):
        files = pbegin | "Files" >> beam.Create(self.files) | "Spread" >> beam.Reshuffle()
        results = files | "Read" >> beam.ParDo(_ReadFile(self.specs, self.date)).with_outputs(DEAD_LETTER, main="docs")
        return files, results.docs, results[DEAD_LETTER]
