"""WARC and ARC files (gzip or not), read with warcio: one document per HTML response.

Response and resource records whose HTTP status is 2xx and whose content type is HTML become
documents: id = the target URI (a later capture of the same URI in the same file gets
`@<record offset>`), `metadata["url"]` = the target URI, `created` = the WARC-Date. Everything
else is counted and logged per file: request, metadata and warcinfo records, revisits (their
payload is an earlier capture's: the capture it points to is the document), redirects and
other statuses, non-HTML payloads. A record or file warcio cannot read goes to the dead
letters with the file and the byte offset where reading stopped; the run goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader  # type: ignore[import-untyped]

from opencorpus import storage
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.html import html_document
from opencorpus.sources.records import dead_letter

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
PAYLOAD_TYPES = ("response", "resource")
# warcio parses WARC and HTTP headers with unbounded readline(): one header line without an end,
# or millions of short ones, from a few KB of gzip would fill memory (30 MB of "a: b" lines
# took 800 MB). Real header blocks are a few KB.
MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class WarcRecord:
    """What the reader needs of one record; `payload` is read for responses and resources only."""

    offset: int
    rec_type: str
    target_uri: str | None
    date: str | None
    http_status: str | None
    content_type: str | None  # the payload's media type: HTTP Content-Type, else the record's
    charset: str | None  # from the Content-Type's parameters
    payload: bytes | None
    oversized: bool = False  # payload longer than the read limit (only its start was read)


class WarcReadError(Exception):
    """warcio gave up on a file: `offset` is where the unreadable record starts."""

    def __init__(self, offset: int, records: int, cause: Exception):
        # Our own message, else the cause's class only: warcio's quote the record's first line (content).
        super().__init__(str(cause) if isinstance(cause, HeadersTooLong) else type(cause).__name__)
        self.offset = offset
        self.records = records


class HeadersTooLong(ValueError):
    """More than MAX_HEADER_BYTES of header lines in one record."""


class _HeaderCappedReader(DecompressingBufferedReader):
    """warcio's reader, refusing more than MAX_HEADER_BYTES of lines between two reads of a payload."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line_bytes = 0

    def readline(self, length: int | None = None) -> bytes:
        budget = MAX_HEADER_BYTES - self.line_bytes + 1
        line = super().readline(budget if length is None else min(length, budget))
        self.line_bytes += len(line)
        if self.line_bytes > MAX_HEADER_BYTES:
            raise HeadersTooLong(f"headers longer than {MAX_HEADER_BYTES} bytes")
        return line

    def read(self, length: int | None = None) -> bytes:
        self.line_bytes = 0
        return super().read(length)


class _Archive(ArchiveIterator):
    """warcio's ArchiveIterator reading through a _HeaderCappedReader."""

    def __init__(self, fileobj: IO[bytes]):
        super().__init__(fileobj)
        self.reader = _HeaderCappedReader(self.fh)


def iter_records(fileobj: IO[bytes], max_payload: int) -> Iterator[WarcRecord]:
    """Every record of a WARC/ARC stream in order; raises WarcReadError where reading fails."""
    archive = _Archive(fileobj)
    next_offset, count = 0, 0
    try:
        for record in archive:
            payload, oversized = None, False
            if record.rec_type in PAYLOAD_TYPES:
                payload = record.content_stream().read(max_payload + 1)
                oversized = len(payload) > max_payload
            # read after the payload: warcio finds the record's length by reading to its end
            offset = archive.get_record_offset()
            if _cut_short(record):
                next_offset = offset
                raise ValueError("the record ends before its Content-Length: truncated file")
            # a bogus length (an unsplit gzip member) must not point before the record
            next_offset, count = max(offset + archive.get_record_length(), offset), count + 1
            media_type, charset = _content_type(record)
            # a record without WARC-Type has rec_type None: name it, so that it is skipped and counted
            yield WarcRecord(offset, record.rec_type or "untyped", _target_uri(record), _date(record),
                             record.http_headers.get_statuscode() if record.http_headers else None,
                             media_type, charset, payload, oversized)
    except Exception as e:  # warcio, gzip and zlib raise many types for broken archives
        raise WarcReadError(next_offset, count, e) from None


def read_warc(spec: SourceSpec, url: str, display: str, date: str) -> Iterator[Document | DeadLetter]:
    """Documents for the HTML responses of one file, dead letters for what cannot be read."""
    records: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    try:
        with storage.open_url(url, "rb") as f:
            for record in iter_records(f, spec.max_document_bytes):
                records[record.rec_type] += 1
                skip = _skip_reason(record)
                if skip:
                    skipped[skip] += 1
                    continue
                uri, payload = record.target_uri, record.payload
                assert uri and payload is not None  # not skipped: it has a target URI and a payload
                local_id = uri if uri not in seen else f"{uri}@{record.offset}"
                seen.add(uri)
                location = f"{display}@{record.offset}"
                if record.oversized:
                    yield dead_letter(spec, location, "too-large",
                                      f"payload exceeds max_document_bytes={spec.max_document_bytes}", local_id)
                    continue
                yield html_document(spec, date, local_id, payload, location, charset=record.charset,
                                    created=record.date, url=uri)
    except WarcReadError as e:
        log.warning("%s: unreadable at byte %d after %d records: %s", display, e.offset, e.records, e)
        yield dead_letter(spec, f"{display}@{e.offset}", "unreadable",
                          f"unreadable WARC record at byte {e.offset} after {e.records} records: {e}")
    except OSError as e:
        yield dead_letter(spec, display, "unreadable", f"unreadable file: {e}")
    log.info("%s: %d records (%s); not documents: %s", display, sum(records.values()), _summary(records),
             _summary(skipped) or "none")


def _cut_short(record) -> bool:
    """warcio returns a record cut by the end of the file as if it were whole: what its length
    promised and the stream did not deliver is left in the record's LimitReader."""
    if record.format.startswith("warc") and record.length is None:
        return True
    return getattr(record.raw_stream, "limit", 0) > 0


def _summary(counts: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))


def _skip_reason(record: WarcRecord) -> str | None:
    if record.rec_type not in PAYLOAD_TYPES:
        return record.rec_type
    if not record.target_uri:
        return "no-target-uri"
    if record.http_status is not None and not record.http_status.startswith("2"):
        return f"status-{record.http_status}"
    if record.content_type not in HTML_TYPES:
        return "not-html"
    if not record.payload:
        return "empty-payload"
    return None


def _target_uri(record) -> str | None:
    return record.rec_headers.get_header("WARC-Target-URI") or record.rec_headers.get_header("uri")


def _date(record) -> str | None:
    """WARC-Date as written (ISO 8601); an ARC date (YYYYMMDDhhmmss) in the same form."""
    if warc_date := record.rec_headers.get_header("WARC-Date"):
        return warc_date
    arc = record.rec_headers.get_header("archive-date") or ""
    if len(arc) >= 14 and arc[:14].isdigit():
        return f"{arc[:4]}-{arc[4:6]}-{arc[6:8]}T{arc[8:10]}:{arc[10:12]}:{arc[12:14]}Z"
    return arc or None


def _content_type(record) -> tuple[str | None, str | None]:
    """(media type, charset) of the payload: the HTTP Content-Type, else the record's own."""
    http_type = record.http_headers.get_header("Content-Type") if record.http_headers is not None else None
    value = http_type or record.content_type or ""
    media_type, _, params = value.partition(";")
    charset = next((p.split("=", 1)[1].strip().strip('"\'') for p in params.split(";")
                    if p.strip().lower().startswith("charset=")), None)
    return media_type.strip().lower() or None, charset or None
