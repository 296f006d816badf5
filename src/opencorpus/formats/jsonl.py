"""Deterministic JSON lines in zstd: sorted keys, compact separators, one fixed level, one thread."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, NamedTuple, cast

import zstandard

from opencorpus import storage, streams

ZSTD_LEVEL = 9


def encode_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class Written(NamedTuple):
    """A file of lines as written: how many lines, and the digest of its bytes."""

    lines: int
    digest: storage.Digest


@contextlib.contextmanager
def jsonl_zst_writer(out: storage.HashingWriter) -> Iterator[Callable[[dict[str, Any]], object]]:
    """A function that appends one record to `out`, written as one zstd frame when the block
    ends; then `out.digest` is the file's."""
    with _zstd_frame(out) as zst:
        yield lambda record: zst.write(encode_line(record))


def _zstd_frame(out: storage.HashingWriter) -> zstandard.ZstdCompressionWriter:
    """One zstd frame into `out`, finished when the writer closes (`out` stays open)."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0, write_checksum=True)
    # zstandard's stubs ask for IO[bytes]; it calls only write and flush.
    return compressor.stream_writer(cast(IO[bytes], out), closefd=False)


def write_jsonl_zst(url: str, records: Iterable[dict[str, Any]]) -> int:
    """Write records as one zstd frame; returns how many. Same records -> same bytes."""
    return write_lines_zst(url, (encode_line(record) for record in records)).lines


def write_lines_zst(url: str, lines: Iterable[bytes]) -> Written:
    """Write encoded lines (each ending in a newline) as write_jsonl_zst does; returns how many
    and the file's digest. Lines read with read_lines_zst (newline added back) come out as the
    same bytes."""
    count = 0
    with storage.hashed_writer(url) as raw, _zstd_frame(raw) as out:
        for line in lines:
            out.write(line)
            count += 1
    return Written(count, raw.digest)


def read_lines_zst(url: str) -> Iterator[bytes]:
    """The lines of a file this project wrote, without their newline, not parsed."""
    with storage.open_url(url, "rb") as f:
        yield from streams.iter_lines(f, "zstd")


def read_jsonl_zst(url: str) -> Iterator[dict[str, Any]]:
    return (json.loads(line) for line in read_lines_zst(url))
