"""Property tests (hypothesis) for the readers: whatever a file holds, reading it yields Documents
and DeadLetters that name the file, and never raises."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from opencorpus import storage, streams
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files

DATE = "2026-11-01"
ROOT = "memory:///reader-properties"  # as fsspec spells its URLs, so that locations are relative
PROPERTY = settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PACK: dict[str, Callable[[bytes], bytes]] = {
    "jsonl": lambda b: b,
    "jsonl.gz": lambda b: gzip.compress(b, mtime=0),
    "jsonl.zst": lambda b: zstandard.ZstdCompressor().compress(b),
}
NAMES = {"jsonl": "x.jsonl", "jsonl.gz": "x.jsonl.gz", "jsonl.zst": "x.jsonl.zst", "parquet": "x.parquet",
         "warc": "x.warc.gz", "html": "page.html", "text": "note.txt"}


def read_bytes(fmt: str, data: bytes, **fields) -> list[Document | DeadLetter]:
    """Outcomes of one file holding `data`, every one checked to be a Document or a DeadLetter naming it."""
    name = NAMES[fmt]
    storage.write_bytes(f"{ROOT}/{name}", data)
    spec = SourceSpec(name="p", uri=name, format=fmt, kind="web" if fmt in ("warc", "html") else "text", **fields)
    out = [o for f in source_files(spec, f"{ROOT}/{name}", ROOT) for o in read_source_file(spec, f, DATE)]
    for outcome in out:
        assert isinstance(outcome, (Document, DeadLetter))
        assert outcome.location.startswith(name), outcome.location
    return out


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """`data` as it is, cut short, with one byte flipped, or with bytes spliced in."""
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return draw(st.sampled_from([
        data,
        data[:at],
        data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:],
        data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:],
    ]))


# ---- any bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(NAMES))
@PROPERTY
@given(raw=st.binary(max_size=2000))
def test_any_bytes_read_without_raising(fmt, raw):
    read_bytes(fmt, raw)


@pytest.mark.parametrize("fmt", ["jsonl.gz", "jsonl.zst"])
@PROPERTY
@given(data=st.data(), raw=st.binary(max_size=2000))
def test_damaged_compressed_files_read_without_raising(fmt, data, raw):
    read_bytes(fmt, data.draw(damaged(PACK[fmt](raw))))


# ---- jsonl: one outcome per non-blank line -------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=5)
records = st.fixed_dictionaries({}, optional={"id": json_values, "text": json_values, "other": json_values})
record_lines = records.map(lambda r: json.dumps(r).encode())
odd_lines = st.sampled_from([b"", b" ", b"\t\r", b"{", b"[]", b'"x"', b'{"text": "\\ud800"}', b'{"id": 1e400, "text": "t"}',
                             b'{"id": 99999999999999999999999, "text": "t"}', b'{"text": "caf\xe9"}', b"\xef\xbb\xbf{}"])
lines = st.lists(record_lines | odd_lines | st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12)


@pytest.mark.parametrize("fmt", sorted(PACK))
@PROPERTY
@given(content=lines, final_newline=st.booleans())
def test_jsonl_gives_one_outcome_per_non_blank_line(fmt, content, final_newline):
    data = b"\n".join(content) + (b"\n" if final_newline and content else b"")
    out = read_bytes(fmt, PACK[fmt](data), max_document_bytes=64)
    expected = [f"{NAMES[fmt]}:{n}" for n, line in enumerate(content, start=1) if line.strip()]
    assert [o.location for o in out] == expected
    assert all(o.reason == "too-large" for o, line in zip(out, (c for c in content if c.strip())) if len(line) > 64)


class Dribble(io.RawIOBase):
    """A stream that hands out at most `step` bytes per read, to put chunk edges anywhere."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.pos = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        piece = self.data[self.pos:self.pos + min(self.step, size if size >= 0 else self.step)]
        self.pos += len(piece)
        return piece


@PROPERTY
@given(content=st.lists(st.sampled_from([b"\n", b" ", b"\r\n", b"\t", b"a", b"xyz", b"{}"]), max_size=40).map(b"".join)
       | st.binary(max_size=200),
       cap=st.integers(0, 6), step=st.integers(1, 9), compression=st.sampled_from([None, "gzip", "zstd"]))
def test_numbered_lines_are_a_plain_split_with_blank_lines_dropped_and_long_ones_counted(content, cap, step, compression):
    expected = [(n, line if len(line) <= cap else b"", len(line))
                for n, line in enumerate(content.split(b"\n"), start=1) if line.strip()]
    packed = {None: content, "gzip": gzip.compress(content, mtime=0),
              "zstd": zstandard.ZstdCompressor().compress(content)}[compression]
    assert list(streams.numbered_lines(Dribble(packed, step), compression, cap)) == expected


# ---- Parquet, WARC, HTML, text: near-valid files --------------------------------------------

cells = st.none() | st.text(max_size=30) | st.integers(-5, 5)


@st.composite
def parquet_files(draw) -> bytes:
    rows = draw(st.integers(0, 20))
    columns = {name: pa.array([draw(kind) for _ in range(rows)])
               for name, kind in draw(st.dictionaries(st.sampled_from(["id", "text", "other"]),
                                                      st.sampled_from([st.text(max_size=30), st.integers(-5, 5),
                                                                       st.none() | st.text(max_size=5)]),
                                                      max_size=3)).items()}
    buf = io.BytesIO()
    pq.write_table(pa.table(columns) if columns else pa.table({"x": pa.array([], pa.int8())}), buf,
                   compression=draw(st.sampled_from(["none", "snappy", "zstd", "gzip"])), row_group_size=draw(st.integers(1, 8)))
    return draw(damaged(buf.getvalue()))


@PROPERTY
@given(data=parquet_files())
def test_parquet_files_read_without_raising(data):
    read_bytes("parquet", data)


@st.composite
def warc_files(draw) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=draw(st.booleans()))
    for n, payload in enumerate(draw(st.lists(st.binary(max_size=300), max_size=3))):
        content_type = draw(st.sampled_from(["text/html", "text/html; charset=latin-1", "text/html; charset=nope",
                                             "application/xhtml+xml", "image/png", ""]))
        status = draw(st.sampled_from(["200 OK", "404 Not Found", "301 Moved", "2"]))
        http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        uri = draw(st.sampled_from(["http://example.com/", "http://example.com/a?b=c", "", "not a uri"]))
        rec_type = draw(st.sampled_from(["response", "resource", "metadata"]))
        fixed = {"WARC-Date": "2026-11-01T00:00:00Z", "WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-00000000000{n}>"}
        writer.write_record(writer.create_warc_record(uri, rec_type, payload=io.BytesIO(payload), warc_headers_dict=fixed,
                                                      http_headers=http if rec_type == "response" else None))
    return draw(damaged(buf.getvalue()))


@PROPERTY
@given(data=warc_files())
def test_warc_files_read_without_raising(data):
    read_bytes("warc", data)


@pytest.mark.parametrize("fmt", ["html", "text"])
@PROPERTY
@given(text=st.text(max_size=200), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "shift_jis"]),
       cap=st.integers(1, 300))
def test_pages_and_text_files_in_any_encoding_read_without_raising(fmt, text, encoding, cap):
    page = f'<html><head><meta charset="{encoding}"></head><body>{text}</body></html>' if fmt == "html" else text
    data = page.encode(encoding, errors="replace")
    [outcome] = read_bytes(fmt, data, max_document_bytes=cap)
    assert isinstance(outcome, Document) or outcome.reason in ("too-large", "invalid-utf8", "binary", "invalid-unicode")
