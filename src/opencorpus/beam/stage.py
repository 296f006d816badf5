"""Running pure stages (see stages/) inside a step: in batches, one call of an `exclusive` stage
at a time per process, CPU charged to each stage, one bad document a dead letter; and the names of the side outputs
that steps give removed records and dead letters."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator

from opencorpus.beam.cputime import charged_to
from opencorpus.document import DeadLetter, Document
from opencorpus.stages import Outcome, Stage

log = logging.getLogger(__name__)

REMOVED = "removed"
DEAD_LETTER = "dead_letter"
PROGRESS_EVERY = 5000
BATCH = 64  # documents per stage call (the PII stage runs spaCy over a batch at once)
# A Beam SDK harness runs bundles on several threads of one process, but some libraries the
# stages share per process are not thread-safe (spaCy's vocabulary, behind Presidio and
# datatrove's word tokenizer, fails with KeyError/AssertionError under concurrent calls). The
# stages using them say so (`exclusive`); one call of those at a time per process, the others
# run freely. Parallelism comes from processes (one worker per core) either way.
_EXCLUSIVE_CALLS = threading.Lock()


def _calls_of(stage: Stage) -> contextlib.AbstractContextManager:
    return _EXCLUSIVE_CALLS if getattr(stage, "exclusive", False) else contextlib.nullcontext()


def set_up(stage: Stage) -> float:
    """Build a stage's heavy objects (models, engines); returns the CPU seconds it took."""
    start = time.thread_time()
    with _calls_of(stage):
        stage.setup()
    return time.thread_time() - start


def run_stage(stage: Stage, docs: list[Document]) -> list[Outcome]:
    """A stage's outcomes for some documents, in order; its CPU time is charged to its name.

    A stage with `process_batch` sees them all at once (the PII stage runs spaCy over a whole
    batch); if the batch fails, each document is retried alone to find the bad one. An exception
    on one document sends it to the dead letters with the exception's type only: its message
    may quote document text, and dead letters are published.
    """
    with charged_to(stage.name), _calls_of(stage):
        if hasattr(stage, "process_batch"):
            with contextlib.suppress(Exception):  # one bad document must not stop the run: find it below
                return list(stage.process_batch(docs))
        return [outcome for doc in docs for outcome in _outcomes(stage, doc)]


def staged(stages: list[Stage], outcomes: Iterable[Outcome], batch: int = BATCH) -> Iterator[Outcome]:
    """Outcomes through the stages in turn, `batch` at a time, in order: documents go through
    every stage (a stage with `process_batch` sees the batch at once), each stage giving one
    outcome per document; a carried document (the previous version's, see Document) went through
    them there and keeps its place. Removed records and dead letters pass as they are."""
    outcomes = iter(outcomes)
    while slots := list(itertools.islice(outcomes, batch)):
        for stage in stages:
            todo = {i: o for i, o in enumerate(slots) if isinstance(o, Document) and not o.carried}
            if not todo:
                break
            for i, result in zip(todo, run_stage(stage, list(todo.values()))):
                slots[i] = result
        yield from slots


def _outcomes(stage: Stage, doc: Document) -> list[Outcome]:
    try:
        return list(stage.process(doc))
    except Exception as e:  # one bad document must not stop the run
        return [_dead_letter(stage.name, doc, e)]


def _dead_letter(stage: str, doc: Document, error: Exception) -> DeadLetter:
    log.warning("%s: %s failed on %s: %s", doc.location, stage, doc.id, type(error).__name__)
    return DeadLetter(stage=stage, reason="error", detail=type(error).__name__,
                      location=doc.location, source=doc.source, id=doc.id)
