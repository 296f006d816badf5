"""Parquet files: one document per row, read in row batches."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.parquet as pq

from opencorpus import storage
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.jsonl import record_to_document
from opencorpus.sources.records import dead_letter


def read_parquet(spec: SourceSpec, url: str, display: str, date: str) -> Iterator[Document | DeadLetter]:
    """Every row as a Document; the location is file:row (1-based)."""
    row = 0
    try:
        with storage.open_url(url, "rb") as f:
            parquet = pq.ParquetFile(f)
            for batch in parquet.iter_batches(batch_size=1024, columns=_columns(spec, parquet.schema_arrow.names)):
                for record in batch.to_pylist():
                    row += 1
                    yield record_to_document(spec, record, f"{display}:{row}", str(row), date)
    except Exception as e:  # pyarrow raises several types for corrupt files
        yield dead_letter(spec, f"{display}:{row + 1}", "unreadable",
                          f"unreadable Parquet after row {row}: {type(e).__name__}: {e}")


def _columns(spec: SourceSpec, names: list[str]) -> list[str]:
    """The columns a Document takes: others (images, embeddings) would be decoded for nothing."""
    wanted = (spec.text_field, spec.id_field, spec.created_field, spec.url_field)
    return [name for name in dict.fromkeys(wanted) if name and name in names]
