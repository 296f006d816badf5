"""Text trees: one document per file, id = the path relative to the source root."""

from __future__ import annotations

from collections.abc import Iterator

from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.records import make_document, read_file_capped


def read_text(spec: SourceSpec, url: str, display: str, date: str, relative: str) -> Iterator[Document | DeadLetter]:
    data = read_file_capped(spec, url, display, relative)
    yield data if isinstance(data, DeadLetter) else make_document(spec, date, relative, data, display, path=relative)
