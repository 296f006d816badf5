"""JSON lines, plain, gzip or zstd: one document per line."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from opencorpus import storage, streams
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.records import dead_letter, make_document

COMPRESSION = {"jsonl": None, "jsonl.gz": "gzip", "jsonl.zst": "zstd"}


def read_jsonl(spec: SourceSpec, url: str, display: str, date: str) -> Iterator[Document | DeadLetter]:
    """Every non-blank line of one file as a Document, or a DeadLetter naming file:line and the reason.

    A file that stops being readable (truncated, corrupt) keeps the lines before the break
    and ends with one dead letter there.
    """
    try:
        with storage.open_url(url, "rb") as f:
            for line in streams.numbered_lines(f, COMPRESSION[spec.format], spec.max_document_bytes):
                location = f"{display}:{line.number}"
                if line.too_large:
                    yield dead_letter(spec, location, "too-large",
                                      f"line of {line.size} bytes exceeds max_document_bytes={spec.max_document_bytes}")
                else:
                    yield _record(spec, line.data, location, line.number, date)
    except streams.StreamError as e:
        yield dead_letter(spec, f"{display}:{e.line}", e.reason, f"unreadable from line {e.line} on: {e}")
    except OSError as e:
        yield dead_letter(spec, display, "unreadable", f"unreadable file: {e}")


def _record(spec: SourceSpec, line: bytes, location: str, line_no: int, date: str) -> Document | DeadLetter:
    try:
        record = orjson.loads(line)  # several times json's speed; also rejects invalid UTF-8
    except orjson.JSONDecodeError as e:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return dead_letter(spec, location, "invalid-utf8", f"invalid UTF-8 at byte {bad.start}")
        return dead_letter(spec, location, "malformed-json", f"malformed JSON: {e.msg} at column {e.colno}")
    if not isinstance(record, dict):
        return dead_letter(spec, location, "malformed-json", f"expected a JSON object, got {type(record).__name__}")
    return record_to_document(spec, record, location, str(line_no), date)


def record_to_document(spec: SourceSpec, record: dict, location: str, fallback_id: str, date: str) -> Document | DeadLetter:
    """Map a record's configured fields to a Document (shared by the JSON and Parquet readers)."""
    if spec.text_field not in record:
        return dead_letter(spec, location, "missing-field", f"missing field '{spec.text_field}'")
    local_id = record.get(spec.id_field, fallback_id)
    if not isinstance(local_id, (str, int)) or isinstance(local_id, bool):
        return dead_letter(spec, location, "bad-field",
                           f"field '{spec.id_field}' is {type(local_id).__name__}, expected a string or integer")
    return make_document(
        spec, date, str(local_id), record[spec.text_field], location,
        created=record.get(spec.created_field) if spec.created_field else None,
        url=record.get(spec.url_field) if spec.url_field else None,
    )
