"""ApplyStage: any pure stage (see stages/) as a ParDo with removed and dead-letter outputs."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.stages import Stage

log = logging.getLogger(__name__)

REMOVED = "removed"
DEAD_LETTER = "dead_letter"
PROGRESS_EVERY = 5000


class StageDoFn(beam.DoFn):
    """Runs one stage; heavy objects are built once per worker in setup().

    An exception on one document sends it to the dead letters with the exception's type
    only: its message may quote document text, and dead letters are published.
    """

    def __init__(self, stage: Stage):
        self.stage = stage
        self.seen = 0

    def setup(self) -> None:
        self.stage.setup()

    def process(self, doc: Document):
        self.seen += 1
        if self.seen % PROGRESS_EVERY == 0:
            log.info("%s: %d documents in this worker", self.stage.name, self.seen)
        try:
            outcomes = list(self.stage.process(doc))
        except Exception as e:  # one bad document must not stop the run
            log.warning("%s: %s failed on %s: %s", doc.location, self.stage.name, doc.id, type(e).__name__)
            outcomes = [DeadLetter(stage=self.stage.name, reason="error", detail=type(e).__name__,
                                   location=doc.location, source=doc.source, id=doc.id)]
        for outcome in outcomes:
            if isinstance(outcome, Removed):
                Metrics.counter(outcome.stage, outcome.reason).inc()
                yield beam.pvalue.TaggedOutput(REMOVED, outcome)
            elif isinstance(outcome, DeadLetter):
                Metrics.counter(outcome.stage, "dead_letter").inc()
                yield beam.pvalue.TaggedOutput(DEAD_LETTER, outcome)
            else:
                yield outcome


class ApplyStage(beam.PTransform):
    """documents -> (documents, removed, dead letters)."""

    def __init__(self, stage: Stage):
        super().__init__(label=stage.name)
        self.stage = stage

    def expand(self, docs):
        results = docs | beam.ParDo(StageDoFn(self.stage)).with_outputs(REMOVED, DEAD_LETTER, main="docs")
        return results.docs, results[REMOVED], results[DEAD_LETTER]
