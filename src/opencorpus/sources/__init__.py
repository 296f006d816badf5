"""Readers: which files a source names, and the Documents (or dead letters) in each."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from opencorpus import storage
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.html import read_html
from opencorpus.sources.jsonl import read_jsonl
from opencorpus.sources.parquet import read_parquet
from opencorpus.sources.records import dead_letter
from opencorpus.sources.text import read_text
from opencorpus.sources.warc import read_warc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    """One input file: where to read it, how to name it in messages, its id within a text tree,
    and the root it must really be inside (see storage.input_refusal)."""

    source: str
    url: str
    display: str
    relative: str
    root: str
    size: int  # bytes as stored, as listed: what the run plans its slices by


def source_files(spec: SourceSpec, uri: str, base_dir: str) -> list[SourceFile]:
    """The files of a source in sorted order; `display` is relative to the recipe folder when possible."""
    return [SourceFile(spec.name, m.url, _display(m.url, base_dir), m.relative, m.root, m.size) for m in storage.expand(uri)]


def read_source_file(spec: SourceSpec, file: SourceFile, date: str) -> Iterator[Document | DeadLetter]:
    """The file's outcomes; a file that must not be read is one dead letter, checked here in the
    worker (not at listing) so that it is counted as an input like any other."""
    if refusal := storage.input_refusal(file.url, file.root):
        reason, detail = refusal
        log.warning("%s: skipped: %s", file.display, detail)
        local_id = file.relative if spec.format in ("text", "html") else None
        return iter([dead_letter(spec, file.display, reason, detail, local_id)])
    if spec.format == "text":
        return read_text(spec, file.url, file.display, date, file.relative)
    if spec.format == "html":
        return read_html(spec, file.url, file.display, date, file.relative)
    if spec.format == "warc":
        return read_warc(spec, file.url, file.display, date)
    if spec.format == "parquet":
        return read_parquet(spec, file.url, file.display, date)
    return read_jsonl(spec, file.url, file.display, date)


def _display(url: str, base_dir: str) -> str:
    base = base_dir.rstrip("/") + "/"
    return url[len(base):] if url.startswith(base) else url
