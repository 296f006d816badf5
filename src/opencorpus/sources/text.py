"""Text trees: one document per file, id = the path relative to the source root."""

from __future__ import annotations

from typing import Iterator

from opencorpus import storage
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.records import dead_letter, make_document


def read_text(spec: SourceSpec, url: str, display: str, date: str, relative: str) -> Iterator[Document | DeadLetter]:
    try:
        with storage.open_url(url, "rb") as f:
            data = f.read(spec.max_document_bytes + 1)
    except OSError as e:
        yield dead_letter(spec, display, "unreadable", f"unreadable file: {e}", relative)
        return
    yield make_document(spec, date, relative, data, display, path=relative)
