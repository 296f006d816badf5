"""ApplyStage: any pure stage (see stages/) as a ParDo with removed and dead-letter outputs."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from opencorpus.beam.cputime import charge, charged_to
from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.stages import Outcome, Stage

log = logging.getLogger(__name__)

REMOVED = "removed"
DEAD_LETTER = "dead_letter"
PROGRESS_EVERY = 5000
# A Beam SDK harness runs bundles on several threads of one process, but the libraries the
# stages share per process are not thread-safe (spaCy's vocabulary, behind Presidio and
# datatrove's word tokenizer, fails with KeyError/AssertionError under concurrent calls). One
# stage call at a time per process; parallelism comes from processes (one worker per core).
_STAGE_CALLS = threading.Lock()


def set_up(stage: Stage) -> float:
    """Build a stage's heavy objects (models, engines); returns the CPU seconds it took."""
    start = time.thread_time()
    with _STAGE_CALLS:
        stage.setup()
    return time.thread_time() - start


def run_stage(stage: Stage, docs: list[Document]) -> list[Outcome]:
    """A stage's outcomes for some documents, in order; its CPU time is charged to its name.

    A stage with `process_batch` sees them all at once (the PII stage runs spaCy over a whole
    batch); if the batch fails, each document is retried alone to find the bad one. An exception
    on one document sends it to the dead letters with the exception's type only: its message
    may quote document text, and dead letters are published.
    """
    with charged_to(stage.name), _STAGE_CALLS:
        if hasattr(stage, "process_batch"):
            with contextlib.suppress(Exception):  # one bad document must not stop the run: find it below
                return list(stage.process_batch(docs))
        return [outcome for doc in docs for outcome in _outcomes(stage, doc)]


def _outcomes(stage: Stage, doc: Document) -> list[Outcome]:
    try:
        return list(stage.process(doc))
    except Exception as e:  # one bad document must not stop the run
        return [_dead_letter(stage.name, doc, e)]


class StageDoFn(beam.DoFn):
    """Runs one stage on one document or (BatchStageDoFn) one batch; heavy objects are built
    once per worker in setup()."""

    def __init__(self, stage: Stage):
        self.stage = stage
        self.seen = 0
        self._setup_cpu: float | None = None

    def setup(self) -> None:
        self._setup_cpu = set_up(self.stage)

    def start_bundle(self) -> None:
        if self._setup_cpu:  # setup() runs outside any bundle, where Beam keeps no metrics
            charge(self.stage.name, self._setup_cpu)
            self._setup_cpu = None

    def process(self, doc: Document):
        self._count(1)
        yield from map(_tagged, run_stage(self.stage, [doc]))

    def _count(self, docs: int) -> None:
        before, self.seen = self.seen, self.seen + docs
        if before // PROGRESS_EVERY != self.seen // PROGRESS_EVERY:
            log.info("%s: %d documents in this worker", self.stage.name, self.seen)


class BatchStageDoFn(StageDoFn):
    """Runs a stage that offers `process_batch(docs)` on batches of documents (see ApplyStage)."""

    def process(self, batch: list[Document]):
        self._count(len(batch))
        yield from map(_tagged, run_stage(self.stage, batch))


def _dead_letter(stage: str, doc: Document, error: Exception) -> DeadLetter:
    log.warning("%s: %s failed on %s: %s", doc.location, stage, doc.id, type(error).__name__)
    return DeadLetter(stage=stage, reason="error", detail=type(error).__name__,
                      location=doc.location, source=doc.source, id=doc.id)


def _tagged(outcome: Outcome):
    if isinstance(outcome, Removed):
        Metrics.counter(outcome.stage, outcome.reason).inc()
        return beam.pvalue.TaggedOutput(REMOVED, outcome)
    if isinstance(outcome, DeadLetter):
        Metrics.counter(outcome.stage, "dead_letter").inc()
        return beam.pvalue.TaggedOutput(DEAD_LETTER, outcome)
    return outcome


class ApplyStage(beam.PTransform):
    """documents -> (documents, removed, dead letters).

    A stage with `process_batch` gets documents in batches (up to `max_batch_size`, fewer
    when a bundle is small): the PII stage runs spaCy over a whole batch at once. Outcomes do
    not depend on how documents are batched.
    """

    def __init__(self, stage: Stage, max_batch_size: int = 64):
        super().__init__(label=stage.name)
        self.stage = stage
        self.max_batch_size = max_batch_size

    def expand(self, docs):
        if hasattr(self.stage, "process_batch"):
            docs = docs | beam.BatchElements(min_batch_size=1, max_batch_size=self.max_batch_size)
            dofn = BatchStageDoFn(self.stage)
        else:
            dofn = StageDoFn(self.stage)
        results = docs | beam.ParDo(dofn).with_outputs(REMOVED, DEAD_LETTER, main="docs")
        return results.docs, results[REMOVED], results[DEAD_LETTER]
