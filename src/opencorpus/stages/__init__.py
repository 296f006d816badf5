"""Pure per-document logic, with no Beam import: each stage is testable on a list of Documents.

A stage is a small class with `name` (its recipe key), `setup()` for heavy objects
(called once per worker process) and `process(doc)` yielding the document (changed or not),
a `Removed` or a `DeadLetter`. A stage whose libraries are not thread-safe sets `exclusive =
True`: a process then runs one call of such stages at a time (beam/stage.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from opencorpus.document import DeadLetter, Document, Removed

Outcome = Document | Removed | DeadLetter


class Stage(Protocol):
    name: str

    def setup(self) -> None: ...

    def process(self, doc: Document) -> Iterator[Outcome]: ...
