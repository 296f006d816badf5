"""Deterministic JSON lines in zstd: sorted keys, compact separators, one fixed level, one thread."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Callable, Iterable, Iterator

import zstandard

from opencorpus import storage, streams

ZSTD_LEVEL = 9


def encode_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


@contextlib.contextmanager
def jsonl_zst_writer(url: str) -> Iterator[Callable[[dict[str, Any]], object]]:
    """A function that appends one record to `url`, written as one zstd frame when the block ends."""
    with storage.open_url(url, "wb") as raw, _compressor().stream_writer(raw, closefd=False) as out:
        yield lambda record: out.write(encode_line(record))


def _compressor() -> zstandard.ZstdCompressor:
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0, write_checksum=True)


def write_jsonl_zst(url: str, records: Iterable[dict[str, Any]]) -> int:
    """Write records as one zstd frame; returns how many. Same records -> same bytes."""
    return write_lines_zst(url, (encode_line(record) for record in records))


def write_lines_zst(url: str, lines: Iterable[bytes]) -> int:
    """Write encoded lines (each ending in a newline) as write_jsonl_zst does; returns how many.
    Lines read with read_lines_zst (newline added back) come out as the same bytes."""
    count = 0
    with storage.open_url(url, "wb") as raw, _compressor().stream_writer(raw, closefd=False) as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


def read_lines_zst(url: str) -> Iterator[bytes]:
    """The lines of a file this project wrote, without their newline, not parsed."""
    with storage.open_url(url, "rb") as f:
        yield from streams.iter_lines(f, "zstd")


def read_jsonl_zst(url: str) -> Iterator[dict[str, Any]]:
    return (json.loads(line) for line in read_lines_zst(url))
